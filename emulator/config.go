package emulator

import (
	"cmp"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/tokenemu/tokenemu/emulator/store"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
	"github.com/tokenemu/tokenemu/emulator/vendors"
	"github.com/tokenemu/tokenemu/scenarios"
)

// DefaultSeed seeds the fake data when Config.Seed is zero, so that every run
// without a seed produces the same data.
const DefaultSeed int64 = 20240601

// DefaultRetention is how long a revoked or expired token is kept: 7 days.
const DefaultRetention = 7 * 24 * time.Hour

// DefaultMaxBodyBytes is the largest request body the emulator reads: 1 MiB.
const DefaultMaxBodyBytes int64 = 1 << 20

// Config configures an Emulator. The zero value is a working default.
type Config struct {
	// Seed seeds the fake data (accounts, names, amounts). Zero means DefaultSeed.
	Seed int64
	// Vendors are the vendors the emulator serves, each under its
	// document's server URL. Nil means vendors.All(): PassKit, Brass,
	// Passport and TeleTracker. Adding one is one more Definition.
	Vendors []vendorapi.Definition
	// Settings tune the vendors, by "<vendor>.<setting>" (for example
	// "brass.rate-limit": "0" switches Brass's rate limit off): each is
	// also the command line's flag -<vendor>-<setting>, with the same
	// meaning, and `tokenemu -h` lists them. A setting left out has its
	// default.
	Settings map[string]string
	// Fixtures replace the default users, clients and accounts, vendor by
	// vendor: each key is a vendor's name and each value that vendor's
	// fixtures (its package's Fixtures type, or what a fixtures file holds
	// for it). A vendor left out keeps its defaults.
	Fixtures Fixtures
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
	// ClockStart, when set, is where the virtual clock starts (running from
	// there) and where a reset puts it back; otherwise a reset puts it back
	// to real now.
	ClockStart time.Time
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
	// MaxTokens, when not zero, bounds the tokens the store holds (live,
	// and revoked or expired within Retention): an issue past it is
	// answered 429 token_budget in the vendor's shape, after a sweep of
	// the store found nothing to free. Zero means no bound (but see
	// MemoryBudget).
	MaxTokens int
	// MemoryBudget, when not zero, bounds the memory that what grows with
	// use takes, in bytes (at least MinMemoryBudget): a quarter for the
	// journal (JournalBytes, if smaller), a quarter shared by the vendors'
	// own tables (each sizes its bounds from its share: their ids, names
	// and caches), and the rest, less what an idle instance takes, for the
	// tokens at TokenBytes each (MaxTokens, if smaller). A tenant's is
	// TenantLimits.Memory.
	MemoryBudget int64
}

// Memory budgets (Config.MemoryBudget).
const (
	MinMemoryBudget = 1 << 20
	// TokenBytes is what a token is counted at against a memory budget:
	// the memory store keeps one in 178 bytes (measured with 100,000
	// Passport tokens), and its maps grow by doubling.
	TokenBytes = 256
	// instanceBytes is what an idle instance retains (122 KB,
	// BenchmarkNewInstance), rounded up.
	instanceBytes = 256 << 10
)

// vendorBudget is each vendor's share of the memory budget (zero: none).
func (c Config) vendorBudget() int64 {
	if c.MemoryBudget == 0 {
		return 0
	}
	return c.MemoryBudget / 4 / int64(max(1, len(c.vendorNames())))
}

// Validate reports what is wrong with c, as New would: a value out of range,
// a setting no vendor has or a vendor refuses, fixtures a vendor refuses.
// A zero means the same here, in New and on the command line.
func (c Config) Validate() error {
	_, _, err := c.normalize()
	return err
}

// vendorSetup is what New builds one vendor from: its definition, and its
// settings and fixtures as the vendor parsed them.
type vendorSetup struct {
	def      vendorapi.Definition
	config   any
	fixtures any
	// fixturesJSON is the fixtures as JSON, for the state file's fingerprint.
	fixturesJSON []byte
}

// normalize fills defaults and validates; it returns a copy, and each
// vendor's settings and fixtures parsed.
func (c Config) normalize() (Config, []vendorSetup, error) {
	c, err := c.normalizeCore()
	if err != nil {
		return c, nil, err
	}
	setups, err := c.setupVendors()
	return c, setups, err
}

func (c Config) normalizeCore() (Config, error) {
	if c.Seed == 0 {
		c.Seed = DefaultSeed
	}
	if c.Vendors == nil {
		c.Vendors = vendors.All()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Clock == nil {
		c.Clock = NewClock(nil)
	}
	if !c.ClockStart.IsZero() {
		if err := inClockRange(c.ClockStart); err != nil {
			return c, fmt.Errorf("clock start %s: %w", c.ClockStart.Format(time.RFC3339), err)
		}
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
	if c.MaxTokens < 0 {
		return c, fmt.Errorf("config: MaxTokens %d is negative", c.MaxTokens)
	}
	if c.MemoryBudget != 0 {
		if c.MemoryBudget < MinMemoryBudget {
			return c, fmt.Errorf("config: MemoryBudget %d: the least is %d (1 MiB)", c.MemoryBudget, MinMemoryBudget)
		}
		journal := cmp.Or(c.JournalBytes, DefaultJournalBytes)
		c.JournalBytes = min(journal, c.MemoryBudget/4)
		tokens := int((c.MemoryBudget/2 - instanceBytes) / TokenBytes)
		if c.MaxTokens == 0 || c.MaxTokens > tokens {
			c.MaxTokens = tokens
		}
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
	if c.State.Interval > MaxLifetime {
		return c, fmt.Errorf("config: State.Interval %v is more than MaxLifetime (%v, 100 years)", c.State.Interval, MaxLifetime)
	}
	return c, nil
}
