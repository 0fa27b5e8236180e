// Package testkit starts tokenemu from Go tests and drives it: in-process with
// Start, or in a Docker container with the container kit
// (github.com/tokenemu/tokenemu/testkit/container), behind the same *Kit.
//
//	kit := testkit.Start(t)
//	cfg := kit.PassportClientCredentials()       // golang.org/x/oauth2/clientcredentials
//	kit.Clock.Advance(24 * time.Hour)            // every Passport token has expired
//
// Every control is a call to the emulator's admin plane (/_emulator), so a kit
// behaves the same whether the emulator runs in the test process or in a
// container.
//
// # Failures
//
// A control fails the test it is bound to (t.Fatalf, at the caller's line)
// when the emulator refuses it. A kit is bound to the test that started it;
// in a subtest, bind it to the subtest with In, so that a failing control
// fails that subtest and the others run on:
//
//	t.Run("expired", func(t *testing.T) {
//		kit := kit.In(t)
//		kit.Expire(token)
//	})
//
// To assert that a control fails, use its form that returns an error, on
// Admin: err := kit.Admin().Expire(ctx, "no-such-token").
//
// When a test the kit is bound to fails, the kit logs the journal's last
// entries (secrets redacted, as always) and the emulator's last log lines.
//
// # The virtual clock and cached tokens
//
// Clients cache tokens against real time. After kit.Clock.Advance(24 *
// time.Hour) an oauth2 client made by cfg.Client(ctx) keeps sending its
// cached token, which the emulator now answers 401, until the token's real
// expiry passes. Use kit.PassportHTTPClient (or kit.TokenSource with an
// oauth2.Transport), which judges a token's expiry on the virtual clock.
package testkit

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/adminclient"
	"github.com/tokenemu/tokenemu/emulator/brass"
	"github.com/tokenemu/tokenemu/emulator/passkit"
	"github.com/tokenemu/tokenemu/emulator/passport"
	"github.com/tokenemu/tokenemu/emulator/teletracker"
	"github.com/tokenemu/tokenemu/scenarios"
	"github.com/tokenemu/tokenemu/testkit/internal/kitopt"
)

// Vendors are the vendor names a kit knows.
const (
	Passport    = passport.Name
	PassKit     = passkit.Name
	Brass       = brass.Name
	TeleTracker = teletracker.Name
)

// Kit is a running emulator and the means to drive it from a test.
type Kit struct {
	// Clock is the emulator's virtual clock.
	Clock *Clock

	tb testing.TB
	c  *core
}

// core is what every Kit of one emulator shares (In makes more of them).
type core struct {
	base, token string
	fixtures    map[string]any // each vendor's fixtures in effect
	vendors     []string       // the vendors' names, sorted
	emu         *emulator.Emulator
	tenant      string // the tenant's id, for a kit of one (NewTenant)
	client      *http.Client
	api         *adminclient.Client // the admin plane, through the generated client
	faults      atomic.Int64
	id          string                                // random, names this kit's FailNext scenarios
	logs        func(context.Context) (string, error) // the emulator's log, or nil

	mu      sync.Mutex
	watched map[testing.TB]bool // tests whose failure prints the journal
	dumped  atomic.Int32        // failures printed so far
}

// Start runs an emulator in the test process on 127.0.0.1 (a free port) and
// stops it when the test ends. A setup failure fails the test.
func Start(tb testing.TB, opts ...Option) *Kit {
	tb.Helper()
	s, err := kitopt.Resolve(opts...)
	if err != nil {
		tb.Fatalf("testkit: %v", err)
	}
	cfg := s.Config
	cfg.Scenarios = append(cfg.Scenarios, s.Scenarios...)
	if cfg.AllowedHosts == nil {
		cfg.AllowedHosts = emulator.LoopbackHosts() // it listens on 127.0.0.1
	}
	var lines *lineRing
	if cfg.Logger == nil {
		lines = &lineRing{max: maxLogLines}
		cfg.Logger = slog.New(slog.NewTextHandler(lines, nil))
	}
	emu, err := emulator.New(cfg)
	if err != nil {
		tb.Fatalf("testkit: start emulator: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("testkit: listen: %v", err)
	}
	srv := emulator.NewHTTPServer(emu.Handler())
	srv.RegisterOnShutdown(emu.EndWaits)
	go func() { _ = srv.Serve(emulator.LimitListener(ln, emulator.DefaultMaxConnections)) }()
	// Registered before the kit's own cleanup (which prints the journal
	// of a failed test), so that it runs after it.
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = emu.Close()
	})
	if lines != nil {
		s.Logs = func(context.Context) (string, error) { return lines.String(), nil }
	}
	k := newKit(tb, "http://"+ln.Addr().String(), cfg, s.Logs)
	k.c.emu = emu
	return k
}

// Connect returns a kit for an emulator that is already running at baseURL
// (started by hand, in docker compose, or by the container kit). opts describe
// how it was started: its admin token (WithConfig) and fixtures, so that the
// credential helpers know the passwords.
func Connect(tb testing.TB, baseURL string, opts ...Option) *Kit {
	tb.Helper()
	s, err := kitopt.Resolve(opts...)
	if err != nil {
		tb.Fatalf("testkit: %v", err)
	}
	k := newKit(tb, strings.TrimRight(baseURL, "/"), s.Config, s.Logs)
	if err := k.c.finish(k.c.api.Health(context.Background()))(nil); err != nil {
		tb.Fatalf("testkit: no emulator at %s: %v", baseURL, err)
	}
	return k
}

func newKit(tb testing.TB, base string, cfg emulator.Config, logs func(context.Context) (string, error)) *Kit {
	tb.Helper()
	c := &core{base: base, token: cfg.AdminToken, client: &http.Client{Timeout: 90 * time.Second}, logs: logs,
		watched: map[testing.TB]bool{}, id: fmt.Sprintf("%08x", rand.Uint32())}
	api, err := adminclient.NewClient(base+"/_emulator", adminclient.WithHTTPClient(c.client),
		adminclient.WithRequestEditorFn(adminclient.Auth(cfg.AdminToken)))
	if err != nil {
		tb.Fatalf("testkit: %v", err)
	}
	c.api = api
	fx, err := cfg.FixturesInEffect()
	if err != nil {
		tb.Fatalf("testkit: %v", err)
	}
	c.fixtures = fx
	for name := range fx {
		c.vendors = append(c.vendors, name)
	}
	slices.Sort(c.vendors)
	return c.kit(tb)
}

// kit is a Kit of c bound to tb.
func (c *core) kit(tb testing.TB) *Kit {
	k := &Kit{tb: tb, c: c}
	k.Clock = &Clock{k: k}
	c.watch(tb)
	return k
}

// In returns the kit bound to tb (a subtest): its controls fail tb, and a
// failure of tb prints the journal. It drives the same emulator.
func (k *Kit) In(tb testing.TB) *Kit { return k.c.kit(tb) }

// URL returns a vendor's base URL: a client's base URL for that vendor
// ("http://127.0.0.1:PORT/passport"). An unknown vendor fails the test.
func (k *Kit) URL(vendor string) string {
	k.tb.Helper()
	if !slices.Contains(k.c.vendors, vendor) {
		k.tb.Fatalf("testkit: URL(%q): no such vendor%s; the vendors are %s", vendor, didYouMean(vendor, k.c.vendors), strings.Join(k.c.vendors, ", "))
	}
	return k.c.base + "/" + vendor
}

// BaseURL returns the emulator's root URL.
func (k *Kit) BaseURL() string { return k.c.base }

// AdminURL returns the admin plane's URL.
func (k *Kit) AdminURL() string { return k.c.base + "/_emulator" }

// Emulator returns the in-process emulator, or nil when it runs elsewhere.
func (k *Kit) Emulator() *emulator.Emulator { return k.c.emu }

// Fixtures returns a vendor's users and clients as the emulator serves
// them: its package's Fixtures type (for example *passport.Fixtures).
func (k *Kit) Fixtures(vendor string) any { return k.c.fixtures[vendor] }

// Admin returns the kit's controls in the form that returns an error instead
// of failing the test.
func (k *Kit) Admin() *Admin { return &Admin{c: k.c} }

// check fails the kit's test when err is not nil.
func (k *Kit) check(what string, err error) {
	k.tb.Helper()
	if err != nil {
		k.tb.Fatalf("testkit: %s: %v", what, err)
	}
}

// AdminError is the admin plane's refusal of a control.
type AdminError struct {
	Status  int    // the HTTP status
	Code    string `json:"error"` // e.g. not_found
	Message string `json:"message"`
}

func (e *AdminError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// finish reads the answer to a call of the generated client: a 2xx is
// decoded into out (when not nil), anything else is an *AdminError.
func (c *core) finish(resp *http.Response, err error) func(out any) error {
	return func(out any) error {
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		what := resp.Request.Method + " " + resp.Request.URL.Path
		if resp.StatusCode/100 != 2 {
			ae := &AdminError{Status: resp.StatusCode}
			if json.Unmarshal(b, ae) != nil {
				ae.Message = string(b)
			}
			return fmt.Errorf("%s: %w", what, ae)
		}
		if out != nil {
			if err := json.Unmarshal(b, out); err != nil {
				return fmt.Errorf("%s: decode %s: %w", what, b, err)
			}
		}
		return nil
	}
}

// Clock is the emulator's virtual clock, seen from a test.
type Clock struct{ k *Kit }

// Now returns the virtual time.
func (c *Clock) Now() time.Time {
	c.k.tb.Helper()
	t, err := c.k.Admin().Now(context.Background())
	c.k.check("clock", err)
	return t
}

// Advance moves the clock forward by d and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.k.tb.Helper()
	t, err := c.k.Admin().Advance(context.Background(), d)
	c.k.check("advance the clock", err)
	return t
}

// Set moves the clock to t (forwards or backwards).
func (c *Clock) Set(t time.Time) time.Time {
	c.k.tb.Helper()
	t, err := c.k.Admin().SetClock(context.Background(), t)
	c.k.check("set the clock", err)
	return t
}

// Freeze stops the clock: it then moves only when advanced or set.
func (c *Clock) Freeze() time.Time {
	c.k.tb.Helper()
	t, err := c.k.Admin().Freeze(context.Background())
	c.k.check("freeze the clock", err)
	return t
}

// Resume lets a frozen clock run again from where it stands.
func (c *Clock) Resume() time.Time {
	c.k.tb.Helper()
	t, err := c.k.Admin().Resume(context.Background())
	c.k.check("resume the clock", err)
	return t
}

// Expire makes a token expire now; the next use is answered 401 token_expired.
func (k *Kit) Expire(token string) {
	k.tb.Helper()
	k.check("expire", k.Admin().Expire(context.Background(), token))
}

// Revoke revokes a token; the next use is answered 401 token_revoked.
func (k *Kit) Revoke(token string) {
	k.tb.Helper()
	k.check("revoke", k.Admin().Revoke(context.Background(), token))
}

// Tokens lists the tokens the emulator holds for a vendor ("" for all) and a
// principal ("" for all): metadata and fingerprints, never the tokens.
func (k *Kit) Tokens(vendor, principal string) []emulator.TokenInfo {
	k.tb.Helper()
	ts, err := k.Admin().Tokens(context.Background(), vendor, principal)
	k.check("list tokens", err)
	return ts
}

// Issued is a token issued without the login dance.
type Issued struct {
	Token        string             `json:"token"`
	RefreshToken string             `json:"refresh_token"` // TeleTracker only
	Info         emulator.TokenInfo `json:"token_info"`
}

// IssueOption refines IssueToken.
type IssueOption struct{ apply func(*issueBody) }

type issueBody struct {
	Vendor    string `json:"vendor"`
	Principal string `json:"principal"`
	Lifetime  string `json:"lifetime,omitempty"`
	Kind      string `json:"kind,omitempty"`
	Role      string `json:"role,omitempty"`
	Name      string `json:"name,omitempty"`
	AccountID string `json:"account_id,omitempty"`
}

// Lifetime gives the token this lifetime instead of the vendor's.
func Lifetime(d time.Duration) IssueOption {
	return IssueOption{func(b *issueBody) { b.Lifetime = d.String() }}
}

// Kind picks the kind of token: PassKit "jwt" or "longlived", Brass "user" or "pat".
func Kind(kind string) IssueOption { return IssueOption{func(b *issueBody) { b.Kind = kind }} }

// Role is a Brass PAT's role (a name such as "accountant", or an id).
func Role(role string) IssueOption { return IssueOption{func(b *issueBody) { b.Role = role }} }

// Name is a Brass PAT's name.
func Name(name string) IssueOption { return IssueOption{func(b *issueBody) { b.Name = name }} }

// Account binds a TeleTracker token to this account.
func Account(id int64) IssueOption {
	return IssueOption{func(b *issueBody) { b.AccountID = strconv.FormatInt(id, 10) }}
}

// IssueToken issues a token for a principal (a Passport client id, a PassKit
// or TeleTracker username, a Brass email) without logging in.
func (k *Kit) IssueToken(vendor, principal string, opts ...IssueOption) Issued {
	k.tb.Helper()
	out, err := k.Admin().IssueToken(context.Background(), vendor, principal, opts...)
	k.check("issue a token", err)
	return out
}

// Apply activates a scenario.
func (k *Kit) Apply(s scenarios.Scenario) {
	k.tb.Helper()
	k.check("apply a scenario", k.Admin().Apply(context.Background(), s))
}

// ApplyBuiltin activates a built-in scenario; a vendor ("brass") narrows it
// to that vendor.
func (k *Kit) ApplyBuiltin(name string, vendor ...string) {
	k.tb.Helper()
	k.check("apply a built-in scenario", k.Admin().ApplyBuiltin(context.Background(), name, vendor...))
}

// RemoveScenario deactivates one scenario.
func (k *Kit) RemoveScenario(name string) {
	k.tb.Helper()
	k.check("remove a scenario", k.Admin().RemoveScenario(context.Background(), name))
}

// ClearScenarios deactivates every scenario.
func (k *Kit) ClearScenarios() {
	k.tb.Helper()
	k.check("clear the scenarios", k.Admin().ClearScenarios(context.Background()))
}

// FailNext makes the next request to one operation of a vendor fail with
// status, in the vendor's error shape. Its scenario is named
// fail-next-<n>-<random>, so that kits sharing an emulator never collide;
// the journal entry's Scenario says which.
func (k *Kit) FailNext(vendor, operationID string, status int) {
	k.tb.Helper()
	k.check("fail the next request", k.Admin().FailNext(context.Background(), vendor, operationID, status))
}

// Filter selects journal entries; zero fields match everything.
type Filter struct {
	Vendor    string
	Operation string
	Status    int
	// Principal: the client id, username or email that made the request.
	Principal string
	// Reason: the answer's X-Tokenemu-Reason, e.g. token_expired.
	Reason string
	// Scenario: a scenario one of whose rules acted on the request.
	Scenario string
	// After is a point in the journal (Kit.Cursor, or Beginning): only
	// entries after it. Left zero, Requests starts at the oldest entry the
	// journal keeps and WaitForRequest at the moment of its call.
	After Cursor
}

// Cursor is a point in the journal: the number of the newest entry when
// Kit.Cursor was called. The zero Cursor is no point (see Filter.After).
type Cursor struct {
	seq int64
	set bool
}

// Beginning is the point before the first entry: WaitForRequest with it
// returns an entry made before the call too.
func Beginning() Cursor { return Cursor{set: true} }

type journalBody struct {
	Entries []emulator.JournalEntry `json:"entries"`
	Next    int64                   `json:"next"`
	More    bool                    `json:"more"`
}

// Requests returns the journal entries that match f, oldest first (every
// page of them).
func (k *Kit) Requests(f Filter) []emulator.JournalEntry {
	k.tb.Helper()
	es, err := k.Admin().Requests(context.Background(), f)
	k.check("read the journal", err)
	return es
}

// Cursor returns the journal's point now: a Filter.After that selects only
// the requests made after this call.
func (k *Kit) Cursor() Cursor {
	k.tb.Helper()
	c, err := k.Admin().Cursor(context.Background())
	k.check("read the journal", err)
	return c
}

// WaitForRequest returns the first journal entry that matches f and was made
// after f.After (left zero, after this call), waiting for one until ctx ends.
// To wait for a request that an action of the test makes, take the Cursor
// before the action and pass it as After.
func (k *Kit) WaitForRequest(ctx context.Context, f Filter) (emulator.JournalEntry, error) {
	return k.Admin().WaitForRequest(ctx, f)
}

// Reset forgets every token, reloads the fixtures, puts the clock back to its
// start (WithClockAt, or real now), empties the journal and restores the
// start-up scenarios.
func (k *Kit) Reset() {
	k.tb.Helper()
	k.check("reset", k.Admin().Reset(context.Background()))
}

// didYouMean is ` (did you mean "x"?)` for the known name closest to name,
// when one is close enough.
func didYouMean(name string, known []string) string {
	best, dist := "", 3
	for _, k := range known {
		if d := levenshtein(strings.ToLower(name), k); d < dist {
			best, dist = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
