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
// container. Controls fail the test (t.Fatalf) when the emulator refuses them.
package testkit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/brass"
	"github.com/tokenemu/tokenemu/emulator/passkit"
	"github.com/tokenemu/tokenemu/emulator/passport"
	"github.com/tokenemu/tokenemu/emulator/teletracker"
	"github.com/tokenemu/tokenemu/scenarios"
)

// Vendors are the vendor names a kit knows.
const (
	Passport    = passport.Name
	PassKit     = passkit.Name
	Brass       = brass.Name
	TeleTracker = teletracker.Name
)

// TB is the part of testing.TB a kit uses; *testing.T and *testing.B satisfy it.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Kit is a running emulator and the means to drive it from a test.
type Kit struct {
	// Clock is the emulator's virtual clock.
	Clock *Clock

	tb       TB
	base     string
	token    string
	fixtures map[string]any     // each vendor's fixtures in effect
	emu      *emulator.Emulator // nil outside the test process
	client   *http.Client
	faults   atomic.Int64
}

// Start runs an emulator in the test process on 127.0.0.1 (a free port) and
// stops it when the test ends. A setup failure fails the test.
func Start(tb TB, opts ...Option) *Kit {
	tb.Helper()
	s, err := Resolve(opts...)
	if err != nil {
		tb.Fatalf("testkit: %v", err)
	}
	cfg := s.Config
	cfg.Scenarios = append(cfg.Scenarios, s.Scenarios...)
	if !s.ClockAt.IsZero() {
		if cfg.Clock == nil {
			cfg.Clock = emulator.NewClock(nil)
		}
		if _, err := cfg.Clock.Set(s.ClockAt); err != nil {
			tb.Fatalf("testkit: WithClockAt: %v", err)
		}
	}
	if cfg.AllowedHosts == nil {
		cfg.AllowedHosts = emulator.LoopbackHosts() // it listens on 127.0.0.1
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
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = emu.Close()
	})
	k := newKit(tb, "http://"+ln.Addr().String(), cfg.AdminToken, cfg)
	k.emu = emu
	return k
}

// Connect returns a kit for an emulator that is already running at baseURL
// (started by hand, in docker compose, or by the container kit). opts describe
// how it was started: its admin token (WithConfig) and fixtures, so that the
// credential helpers know the passwords.
func Connect(tb TB, baseURL string, opts ...Option) *Kit {
	tb.Helper()
	s, err := Resolve(opts...)
	if err != nil {
		tb.Fatalf("testkit: %v", err)
	}
	k := newKit(tb, strings.TrimRight(baseURL, "/"), s.Config.AdminToken, s.Config)
	if _, err := k.call(context.Background(), "GET", "/healthz", nil); err != nil {
		tb.Fatalf("testkit: no emulator at %s: %v", baseURL, err)
	}
	return k
}

func newKit(tb TB, base, adminToken string, cfg emulator.Config) *Kit {
	k := &Kit{tb: tb, base: base, token: adminToken, client: &http.Client{Timeout: 90 * time.Second}}
	fx, err := cfg.FixturesInEffect()
	if err != nil {
		tb.Fatalf("testkit: %v", err)
	}
	k.fixtures = fx
	k.Clock = &Clock{k: k}
	return k
}

// URL returns a vendor's base URL: a client's base URL for that vendor
// ("http://127.0.0.1:PORT/passport").
func (k *Kit) URL(vendor string) string { return k.base + "/" + vendor }

// BaseURL returns the emulator's root URL.
func (k *Kit) BaseURL() string { return k.base }

// AdminURL returns the admin plane's URL.
func (k *Kit) AdminURL() string { return k.base + "/_emulator" }

// Emulator returns the in-process emulator, or nil when it runs elsewhere.
func (k *Kit) Emulator() *emulator.Emulator { return k.emu }

// Fixtures returns a vendor's users and clients as the emulator serves
// them: its package's Fixtures type (for example *passport.Fixtures).
func (k *Kit) Fixtures(vendor string) any { return k.fixtures[vendor] }

// adminError is the admin plane's refusal.
type adminError struct {
	Status  int
	Code    string `json:"error"`
	Message string `json:"message"`
}

func (e *adminError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// call sends one admin request (body nil, or a value sent as JSON) and returns
// the answer's body.
func (k *Kit) call(ctx context.Context, method, path string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, k.base+"/_emulator"+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil || method != http.MethodGet {
		// The admin plane takes a change only when it says JSON (a
		// defence against cross-site requests), body or not.
		req.Header.Set("Content-Type", "application/json")
	}
	if k.token != "" {
		req.Header.Set("Authorization", "Bearer "+k.token)
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		ae := &adminError{Status: resp.StatusCode}
		if json.Unmarshal(b, ae) != nil {
			ae.Message = string(b)
		}
		return nil, ae
	}
	return b, nil
}

// must runs an admin call and decodes its answer into out (when not nil),
// failing the test on any error.
func (k *Kit) must(method, path string, body, out any) {
	k.tb.Helper()
	b, err := k.call(context.Background(), method, path, body)
	if err != nil {
		k.tb.Fatalf("testkit: %s /_emulator%s: %v", method, path, err)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			k.tb.Fatalf("testkit: %s /_emulator%s: decode %s: %v", method, path, b, err)
		}
	}
}

// Clock is the emulator's virtual clock, seen from a test.
type Clock struct{ k *Kit }

type clockBody struct {
	Now    time.Time `json:"now"`
	Frozen bool      `json:"frozen"`
}

func (c *Clock) do(method, path string, body any) time.Time {
	c.k.tb.Helper()
	var out clockBody
	c.k.must(method, "/clock"+path, body, &out)
	return out.Now
}

// Now returns the virtual time.
func (c *Clock) Now() time.Time { c.k.tb.Helper(); return c.do("GET", "", nil) }

// Advance moves the clock forward by d and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.k.tb.Helper()
	return c.do("POST", "/advance", map[string]string{"duration": d.String()})
}

// Set moves the clock to t (forwards or backwards).
func (c *Clock) Set(t time.Time) time.Time {
	c.k.tb.Helper()
	return c.do("POST", "/set", map[string]string{"time": t.UTC().Format(time.RFC3339Nano)})
}

// Freeze stops the clock: it then moves only when advanced or set.
func (c *Clock) Freeze() time.Time { c.k.tb.Helper(); return c.do("POST", "/freeze", nil) }

// Resume lets a frozen clock run again from where it stands.
func (c *Clock) Resume() time.Time { c.k.tb.Helper(); return c.do("POST", "/resume", nil) }

type tokenList struct {
	Tokens []emulator.TokenInfo `json:"tokens"`
	Next   string               `json:"next"`
}

// Expire makes a token expire now; the next use is answered 401 token_expired.
func (k *Kit) Expire(token string) {
	k.tb.Helper()
	k.must("POST", "/tokens/expire", emulator.TokenSelector{Token: token}, nil)
}

// Revoke revokes a token; the next use is answered 401 token_revoked.
func (k *Kit) Revoke(token string) {
	k.tb.Helper()
	k.must("POST", "/tokens/revoke", emulator.TokenSelector{Token: token}, nil)
}

// Tokens lists the tokens the emulator holds for a vendor ("" for all) and a
// principal ("" for all): metadata and fingerprints, never the tokens.
func (k *Kit) Tokens(vendor, principal string) []emulator.TokenInfo {
	k.tb.Helper()
	q := url.Values{}
	if vendor != "" {
		q.Set("vendor", vendor)
	}
	if principal != "" {
		q.Set("principal", principal)
	}
	q.Set("limit", strconv.Itoa(emulator.MaxTokenPage))
	var all []emulator.TokenInfo
	for {
		var page tokenList
		k.must("GET", "/tokens?"+q.Encode(), nil, &page)
		all = append(all, page.Tokens...)
		if page.Next == "" {
			return all
		}
		q.Set("after", page.Next)
	}
}

// Issued is a token issued without the login dance.
type Issued struct {
	Token        string             `json:"token"`
	RefreshToken string             `json:"refresh_token"` // TeleTracker only
	Info         emulator.TokenInfo `json:"token_info"`
}

// IssueOption refines IssueToken.
type IssueOption func(map[string]string)

// Lifetime gives the token this lifetime instead of the vendor's.
func Lifetime(d time.Duration) IssueOption {
	return func(m map[string]string) { m["lifetime"] = d.String() }
}

// Kind picks the kind of token: PassKit "jwt" or "longlived", Brass "user" or "pat".
func Kind(kind string) IssueOption { return func(m map[string]string) { m["kind"] = kind } }

// Role is a Brass PAT's role.
func Role(role string) IssueOption { return func(m map[string]string) { m["role"] = role } }

// Account binds a TeleTracker token to this account.
func Account(id int64) IssueOption {
	return func(m map[string]string) { m["account_id"] = strconv.FormatInt(id, 10) }
}

// IssueToken issues a token for a principal (a Passport client id, a PassKit
// or TeleTracker username, a Brass email) without logging in.
func (k *Kit) IssueToken(vendor, principal string, opts ...IssueOption) Issued {
	k.tb.Helper()
	body := map[string]string{"vendor": vendor, "principal": principal}
	for _, o := range opts {
		o(body)
	}
	var out Issued
	k.must("POST", "/tokens/issue", body, &out)
	return out
}

// Apply activates a scenario.
func (k *Kit) Apply(s scenarios.Scenario) {
	k.tb.Helper()
	k.must("POST", "/scenarios", s, nil)
}

// ApplyBuiltin activates a built-in scenario; a vendor ("brass") narrows it
// to that vendor.
func (k *Kit) ApplyBuiltin(name string, vendor ...string) {
	k.tb.Helper()
	body := map[string]string{"name": name}
	if len(vendor) > 0 {
		body["vendor"] = vendor[0]
	}
	k.must("POST", "/scenarios", body, nil)
}

// RemoveScenario deactivates one scenario.
func (k *Kit) RemoveScenario(name string) {
	k.tb.Helper()
	k.must("DELETE", "/scenarios/"+url.PathEscape(name), nil, nil)
}

// ClearScenarios deactivates every scenario.
func (k *Kit) ClearScenarios() {
	k.tb.Helper()
	k.must("DELETE", "/scenarios", nil, nil)
}

// FailNext makes the next request to one operation of a vendor fail with
// status, in the vendor's error shape.
func (k *Kit) FailNext(vendor, operationID string, status int) {
	k.tb.Helper()
	k.Apply(scenarios.Scenario{
		Name:        fmt.Sprintf("fail-next-%d", k.faults.Add(1)),
		Description: fmt.Sprintf("%s.%s answers %d once", vendor, operationID, status),
		Rules: []scenarios.Rule{{
			Match:   scenarios.Match{Vendor: vendor, Operation: operationID},
			Trigger: scenarios.Trigger{First: 1},
			Action:  scenarios.Action{Status: status},
		}},
	})
}

// Filter selects journal entries; zero fields match everything.
type Filter struct {
	Vendor    string
	Operation string
	Status    int
	// Since is a journal sequence number: only entries after it.
	Since int64
}

func (f Filter) query() url.Values {
	q := url.Values{}
	if f.Vendor != "" {
		q.Set("vendor", f.Vendor)
	}
	if f.Operation != "" {
		q.Set("operation", f.Operation)
	}
	if f.Status != 0 {
		q.Set("status", strconv.Itoa(f.Status))
	}
	if f.Since != 0 {
		q.Set("since", strconv.FormatInt(f.Since, 10))
	}
	return q
}

type journalBody struct {
	Entries []emulator.JournalEntry `json:"entries"`
	Next    int64                   `json:"next"`
	More    bool                    `json:"more"`
}

// Requests returns the journal entries that match f, oldest first (every
// page of them).
func (k *Kit) Requests(f Filter) []emulator.JournalEntry {
	k.tb.Helper()
	q := f.query()
	q.Set("limit", strconv.Itoa(emulator.MaxJournalPage))
	var all []emulator.JournalEntry
	for {
		var page journalBody
		k.must("GET", "/journal?"+q.Encode(), nil, &page)
		all = append(all, page.Entries...)
		if !page.More {
			return all
		}
		q.Set("since", strconv.FormatInt(page.Next, 10))
	}
}

// WaitForRequest returns the first journal entry that matches f, waiting for
// one to arrive until ctx ends.
func (k *Kit) WaitForRequest(ctx context.Context, f Filter) (emulator.JournalEntry, error) {
	for {
		wait := 30 * time.Second
		if dl, ok := ctx.Deadline(); ok {
			wait = min(wait, time.Until(dl))
		}
		if wait <= 0 {
			// The deadline has passed, though ctx may not say so yet.
			return emulator.JournalEntry{}, context.DeadlineExceeded
		}
		q := f.query()
		q.Set("wait", wait.Round(time.Millisecond).String())
		b, err := k.call(ctx, "GET", "/journal?"+q.Encode(), nil)
		if err != nil {
			if ctx.Err() != nil {
				return emulator.JournalEntry{}, ctx.Err()
			}
			return emulator.JournalEntry{}, err
		}
		var out journalBody
		if err := json.Unmarshal(b, &out); err != nil {
			return emulator.JournalEntry{}, err
		}
		if len(out.Entries) > 0 {
			return out.Entries[0], nil
		}
	}
}

// Reset forgets every token, reloads the fixtures, puts the clock back to real
// now, empties the journal and restores the start-up scenarios.
func (k *Kit) Reset() {
	k.tb.Helper()
	k.must("POST", "/reset", nil, nil)
}
