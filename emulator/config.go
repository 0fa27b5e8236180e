package emulator

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
)

// DefaultSeed seeds the fake data when Config.Seed is zero, so that every run
// without a seed produces the same data.
const DefaultSeed int64 = 20240601

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
	// Logger receives the emulator's logs. Nil discards them.
	Logger *slog.Logger
	// Clock is the virtual clock. Nil means a new clock at real now.
	Clock *Clock
	// Store keeps the tokens. Nil means a new in-memory store.
	Store Store
	// MaxBodyBytes limits request bodies (413 beyond). Zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Passport tunes the Passport emulation.
	Passport PassportConfig
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
		f = c.Fixtures.withDefaults()
	}
	c.Fixtures = &f
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Clock == nil {
		c.Clock = NewClock(nil)
	}
	if c.Store == nil {
		c.Store = NewMemoryStore()
	}
	switch {
	case c.MaxBodyBytes == 0:
		c.MaxBodyBytes = DefaultMaxBodyBytes
	case c.MaxBodyBytes < 0:
		return c, fmt.Errorf("config: MaxBodyBytes %d is negative", c.MaxBodyBytes)
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
