package emulator

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/tokenemu/tokenemu/emulator/store"
	"github.com/tokenemu/tokenemu/scenarios"
)

// DefaultSeed seeds the fake data when Config.Seed is zero, so that every run
// without a seed produces the same data.
const DefaultSeed int64 = 20240601

// DefaultBrassMaxPATs is how many personal access tokens the emulator keeps
// by default.
const DefaultBrassMaxPATs = 1_000_000

// DefaultPassKitMaxUsers is how many accounts /user/new may make by default.
const DefaultPassKitMaxUsers = 1000

// DefaultRetention is how long a revoked or expired token is kept: 7 days.
const DefaultRetention = 7 * 24 * time.Hour

// DefaultMaxBodyBytes is the largest request body the emulator reads: 1 MiB.
const DefaultMaxBodyBytes int64 = 1 << 20

// Config configures an Emulator. The zero value is a working default.
type Config struct {
	// Seed seeds the fake data (accounts, names, amounts). Zero means DefaultSeed.
	Seed int64
	// Fixtures replaces the default users and clients, vendor by vendor. Nil
	// means DefaultFixtures.
	Fixtures *Fixtures
	// AdminToken, when set, protects /_emulator/* (except healthz): requests must
	// carry Authorization: Bearer <AdminToken>.
	AdminToken string
	// AllowedHosts, when not empty, are the only names the Host header may
	// carry (with any port), besides IP addresses, which no DNS answer can
	// rebind; any other gets a 403 in the vendor's shape, so that a web page
	// whose name resolves to the emulator (DNS rebinding) cannot drive it.
	// The CLI sets localhost (and 127.0.0.1, ::1) and -allowed-hosts unless
	// it runs with an admin token on an address that is not loopback. Empty
	// allows every Host.
	AllowedHosts []string
	// Logger receives the emulator's logs. Nil discards them.
	Logger *slog.Logger
	// Clock is the virtual clock. Nil means a new clock at real now.
	Clock *Clock
	// Store keeps the tokens. Nil means a new in-memory store.
	Store store.Store
	// MaxBodyBytes limits request bodies (413 beyond). Zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxHeaderBytes limits the request line and headers (431 in the vendor's
	// shape beyond). Zero means DefaultMaxHeaderBytes.
	MaxHeaderBytes int
	// Scenarios are active from the start, and again (with fresh counters)
	// after every Reset.
	Scenarios []scenarios.Scenario
	// Retention is how long a revoked or expired token is kept after it was
	// revoked or expired, on the virtual clock, so that it is refused as
	// revoked or expired (with the vendor's own answer) rather than unknown;
	// then it is swept. Zero means DefaultRetention; at most MaxLifetime.
	Retention time.Duration
	// JournalSize is how many requests the journal keeps. Zero means DefaultJournalSize.
	JournalSize int
	// JournalBytes bounds the memory the journal's entries take (paths and
	// fields are cut at MaxJournalPath and MaxJournalField); the oldest go
	// first. Zero means DefaultJournalBytes.
	JournalBytes int64
	// JournalWaiters is how many journal long polls may wait at once; one
	// more is answered 429. Zero means DefaultJournalWaiters.
	JournalWaiters int
	// State makes the state durable in a file (StateConfig).
	State StateConfig
	// Passport tunes the Passport emulation.
	Passport PassportConfig
	// PassKit tunes the PassKit emulation.
	PassKit PassKitConfig
	// TeleTracker tunes the TeleTracker emulation.
	TeleTracker TeleTrackerConfig
	// Brass tunes the Brass emulation.
	Brass BrassConfig
}

// BrassConfig tunes the Brass emulation.
type BrassConfig struct {
	// TemporaryTokenLifetime is the life of the temporary JWT from login. Zero
	// means 10 minutes.
	TemporaryTokenLifetime time.Duration
	// RateLimit is the number of requests a user may make a minute (Brass
	// documents 60). Zero means 60; negative switches the limit off.
	RateLimit int
	// MaxPATs bounds the personal access tokens the emulator keeps (they
	// never expire, and a revoked one's name and role are kept to list it);
	// one more is a 409 limit_reached. Zero means DefaultBrassMaxPATs.
	MaxPATs int
}

// PassKitConfig tunes the PassKit emulation.
type PassKitConfig struct {
	// MaxUsers bounds the accounts POST /user/new may make (one more is a
	// 409 limit_reached). Zero means DefaultPassKitMaxUsers.
	MaxUsers int
	// Leeway is the clock skew allowed when checking a JWT's exp, nbf and iat
	// (golang-jwt's leeway). Zero: a JWT issued one second in the future is refused.
	Leeway time.Duration
}

// TeleTrackerConfig tunes the TeleTracker emulation.
type TeleTrackerConfig struct {
	// RefreshLifetime is how long a refresh token outlives its access token:
	// refreshTokenExpiration = tokenExpiration + RefreshLifetime. Zero means
	// 29 days, as in the vendor's examples.
	RefreshLifetime time.Duration
	// RevokeFamilyOnReuse revokes the whole session (every token issued from the
	// same login) when a used refresh token is presented again (RFC 9700 §4.14.2).
	RevokeFamilyOnReuse bool
	// RevokeAccessOnRefresh revokes the access token issued with a refresh token
	// when that refresh token is used.
	RevokeAccessOnRefresh bool
}

// PassportConfig tunes the points where Passport's documentation contradicts
// itself or the RFCs.
type PassportConfig struct {
	// RevokeStatus is the success status of DELETE /v1/iam/oauth/tokens/{id}:
	// 200 (the revoke page, default) or 204 (the general endpoint page).
	RevokeStatus int
	// ScopeErrorStatus is the status for a valid token that lacks a scope: 401
	// (as Passport documents, default) or 403 insufficient_scope (RFC 6750 §3.1).
	ScopeErrorStatus int
}

// normalize fills defaults and validates; it returns a copy.
func (c Config) normalize() (Config, error) {
	if c.Seed == 0 {
		c.Seed = DefaultSeed
	}
	f := DefaultFixtures()
	if c.Fixtures != nil {
		if err := c.Fixtures.validate(); err != nil {
			return c, err
		}
		f = c.Fixtures.WithDefaults()
	}
	c.Fixtures = &f
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Clock == nil {
		c.Clock = NewClock(nil)
	}
	if c.Store == nil {
		c.Store = store.NewMemory()
	}
	switch {
	case c.MaxBodyBytes == 0:
		c.MaxBodyBytes = DefaultMaxBodyBytes
	case c.MaxBodyBytes < 0:
		return c, fmt.Errorf("config: MaxBodyBytes %d is negative", c.MaxBodyBytes)
	}
	switch {
	case c.MaxHeaderBytes == 0:
		c.MaxHeaderBytes = DefaultMaxHeaderBytes
	case c.MaxHeaderBytes < 0 || c.MaxHeaderBytes > ServerMaxHeaderBytes:
		return c, fmt.Errorf("config: MaxHeaderBytes %d: want 1 to %d", c.MaxHeaderBytes, ServerMaxHeaderBytes)
	}
	switch {
	case c.State.Interval == 0:
		c.State.Interval = DefaultStateInterval
	case c.State.Interval < 0:
		return c, fmt.Errorf("config: State.Interval %v is negative", c.State.Interval)
	}
	switch {
	case c.JournalSize == 0:
		c.JournalSize = DefaultJournalSize
	case c.JournalSize < 0:
		return c, fmt.Errorf("config: JournalSize %d is negative", c.JournalSize)
	}
	switch {
	case c.Brass.MaxPATs == 0:
		c.Brass.MaxPATs = DefaultBrassMaxPATs
	case c.Brass.MaxPATs < 0:
		return c, fmt.Errorf("config: Brass.MaxPATs %d is negative", c.Brass.MaxPATs)
	}
	switch {
	case c.PassKit.MaxUsers == 0:
		c.PassKit.MaxUsers = DefaultPassKitMaxUsers
	case c.PassKit.MaxUsers < 0:
		return c, fmt.Errorf("config: PassKit.MaxUsers %d is negative", c.PassKit.MaxUsers)
	}
	switch {
	case c.Retention == 0:
		c.Retention = DefaultRetention
	case c.Retention < 0 || c.Retention > MaxLifetime:
		return c, fmt.Errorf("config: Retention %v: want 1ns to %v (100 years)", c.Retention, MaxLifetime)
	}
	switch {
	case c.JournalBytes == 0:
		c.JournalBytes = DefaultJournalBytes
	case c.JournalBytes < 0:
		return c, fmt.Errorf("config: JournalBytes %d is negative", c.JournalBytes)
	}
	switch {
	case c.JournalWaiters == 0:
		c.JournalWaiters = DefaultJournalWaiters
	case c.JournalWaiters < 0:
		return c, fmt.Errorf("config: JournalWaiters %d is negative", c.JournalWaiters)
	}
	for name, d := range map[string]time.Duration{"PassKit.Leeway": c.PassKit.Leeway, "TeleTracker.RefreshLifetime": c.TeleTracker.RefreshLifetime,
		"Brass.TemporaryTokenLifetime": c.Brass.TemporaryTokenLifetime, "State.Interval": c.State.Interval} {
		if d > MaxLifetime {
			return c, fmt.Errorf("config: %s %v is more than MaxLifetime (%v, 100 years)", name, d, MaxLifetime)
		}
	}
	switch {
	case c.PassKit.Leeway < 0:
		return c, fmt.Errorf("config: PassKit.Leeway %v is negative", c.PassKit.Leeway)
	case c.TeleTracker.RefreshLifetime < 0:
		return c, fmt.Errorf("config: TeleTracker.RefreshLifetime %v is negative", c.TeleTracker.RefreshLifetime)
	case c.TeleTracker.RefreshLifetime == 0:
		c.TeleTracker.RefreshLifetime = 29 * 24 * time.Hour
	}
	switch {
	case c.Brass.TemporaryTokenLifetime < 0:
		return c, fmt.Errorf("config: Brass.TemporaryTokenLifetime %v is negative", c.Brass.TemporaryTokenLifetime)
	case c.Brass.TemporaryTokenLifetime == 0:
		c.Brass.TemporaryTokenLifetime = 10 * time.Minute
	}
	if c.Brass.RateLimit == 0 {
		c.Brass.RateLimit = 60
	}
	switch c.Passport.RevokeStatus {
	case 0:
		c.Passport.RevokeStatus = http.StatusOK
	case http.StatusOK, http.StatusNoContent:
	default:
		return c, fmt.Errorf("config: Passport.RevokeStatus must be 200 or 204, not %d", c.Passport.RevokeStatus)
	}
	switch c.Passport.ScopeErrorStatus {
	case 0:
		c.Passport.ScopeErrorStatus = http.StatusUnauthorized
	case http.StatusUnauthorized, http.StatusForbidden:
	default:
		return c, fmt.Errorf("config: Passport.ScopeErrorStatus must be 401 or 403, not %d", c.Passport.ScopeErrorStatus)
	}
	return c, nil
}
