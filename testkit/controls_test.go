package testkit_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/testkit"
)

// Every control has a form that returns the emulator's refusal.
func TestAdminReturnsErrors(t *testing.T) {
	t.Parallel()
	kit := testkit.Start(t)
	ctx := context.Background()
	err := kit.Admin().Expire(ctx, "no-such-token")
	var ae *testkit.AdminError
	if !errors.As(err, &ae) || ae.Status != http.StatusNotFound {
		t.Errorf("Expire of an unknown token: %v, want a 404 AdminError", err)
	}
	if _, err := kit.Admin().Advance(ctx, -time.Hour); err == nil {
		t.Error("advancing the clock backwards: no error")
	}
	if _, err := kit.Admin().IssueToken(ctx, "pasport", "demo-client"); !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
		t.Errorf("IssueToken for an unknown vendor: %v, want a 400", err)
	}
	if err := kit.Admin().ApplyBuiltin(ctx, "no-such-scenario"); err == nil {
		t.Error("an unknown built-in: no error")
	}
	iss, err := kit.Admin().IssueToken(ctx, testkit.Brass, "demo@brass.test", testkit.Kind("pat"), testkit.Name("ci"), testkit.Role("accountant"))
	if err != nil || iss.Info.Kind != "pat" {
		t.Fatalf("IssueToken: %+v %v", iss, err)
	}
	if err := kit.Admin().Revoke(ctx, iss.Token); err != nil {
		t.Errorf("Revoke: %v", err)
	}
	if ts, err := kit.Admin().Tokens(ctx, testkit.Brass, "demo@brass.test"); err != nil || len(ts) != 1 || ts[0].State != "revoked" {
		t.Errorf("Tokens after Revoke: %+v %v", ts, err)
	}
	if err := kit.Admin().RemoveScenario(ctx, "not-active"); !errors.As(err, &ae) || ae.Status != http.StatusNotFound {
		t.Errorf("RemoveScenario of an inactive scenario: %v, want a 404", err)
	}
}

// WaitForRequest waits for a request made after the call, not one the
// journal already holds; a cursor taken before an action catches the
// action's request even when the wait starts after it.
func TestWaitForRequestWaitsForANewOne(t *testing.T) {
	t.Parallel()
	kit := testkit.Start(t)
	login := func() {
		t.Helper()
		if kit.PassKitLogin(t) == "" {
			t.Fatal("no token")
		}
	}
	login()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	f := testkit.Filter{Vendor: testkit.PassKit, Operation: "login"}
	if e, err := kit.WaitForRequest(ctx, f); err == nil {
		t.Errorf("WaitForRequest returned the old entry #%d, want a wait for a new one", e.Seq)
	}
	cursor := kit.Cursor()
	login()
	f.After = cursor
	e, err := kit.WaitForRequest(context.Background(), f)
	if err != nil || e.Seq <= 1 {
		t.Errorf("WaitForRequest after a cursor: #%d %v, want the second login", e.Seq, err)
	}
	// Twice "the next login": the second waits for a second login.
	next := make(chan emulator.JournalEntry)
	cursor = kit.Cursor()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		e, _ := kit.WaitForRequest(ctx, testkit.Filter{Vendor: testkit.PassKit, Operation: "login", After: cursor})
		next <- e
	}()
	login()
	if got := <-next; got.Seq <= e.Seq {
		t.Errorf("the second wait returned #%d, not a login after #%d", got.Seq, e.Seq)
	}
}

// The journal filters by principal, reason and scenario.
func TestFilterByPrincipalReasonScenario(t *testing.T) {
	t.Parallel()
	kit := testkit.Start(t)
	tok := kit.IssueToken(testkit.PassKit, "demo@passkit.test").Token
	kit.Expire(tok)
	req, _ := http.NewRequest("GET", kit.URL(testkit.PassKit)+"/user/profile", nil)
	req.Header.Set("Authorization", tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp, err := kit.HTTPClient(t, testkit.PassKit).Get(kit.URL(testkit.PassKit) + "/user/profile"); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	kit.FailNext(testkit.PassKit, "login", 503)
	http.Post(kit.URL(testkit.PassKit)+"/login", "application/json", strings.NewReader(`{"username":"demo@passkit.test","password":"passkit-demo"}`)) //nolint:errcheck // the journal is what counts
	if es := kit.Requests(testkit.Filter{Reason: "token_expired"}); len(es) != 1 || es[0].Operation != "getProfile" {
		t.Errorf("by reason: %+v", es)
	}
	// The refused request is the principal's too: its token was known.
	if es := kit.Requests(testkit.Filter{Principal: "demo@passkit.test", Vendor: testkit.PassKit}); len(es) != 2 || es[0].Status != 401 || es[0].Fingerprint == "" || es[1].Status != 200 {
		t.Errorf("by principal: %+v", es)
	}
	failed := kit.Requests(testkit.Filter{Status: 503})
	if len(failed) != 1 || !strings.HasPrefix(failed[0].Scenario, "fail-next-1-") {
		t.Fatalf("the FailNext request: %+v", failed)
	}
	if es := kit.Requests(testkit.Filter{Scenario: failed[0].Scenario}); len(es) != 1 || es[0].Status != 503 {
		t.Errorf("by scenario: %+v", es)
	}
	// Another kit on the same emulator names its FailNext apart.
	other := testkit.Connect(t, kit.BaseURL())
	kit.FailNext(testkit.PassKit, "login", 503)
	other.FailNext(testkit.PassKit, "login", 503)
}

// Reset puts the clock back where WithClockAt started it, not at real now.
func TestResetKeepsTheClockStart(t *testing.T) {
	t.Parallel()
	at := time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC)
	kit := testkit.Start(t, testkit.WithClockAt(at))
	kit.Clock.Advance(72 * time.Hour)
	kit.Reset()
	if now := kit.Clock.Now(); now.Before(at) || now.After(at.Add(time.Minute)) {
		t.Errorf("after Reset the clock shows %v, want about %v", now, at)
	}
}

// Token times are times; a misspelt vendor fails clearly.
func TestTypedTokenInfoAndVendorNames(t *testing.T) {
	t.Parallel()
	kit := testkit.Start(t)
	iss := kit.IssueToken(testkit.Passport, "demo-client", testkit.Lifetime(5*time.Minute))
	if iss.Info.ExpiresAt == nil || iss.Info.ExpiresAt.Sub(iss.Info.IssuedAt) != 5*time.Minute {
		t.Errorf("issued %v, expires %v: want 5 minutes apart", iss.Info.IssuedAt, iss.Info.ExpiresAt)
	}
	tb := &fatalTB{}
	done := make(chan struct{})
	go func() { defer close(done); kit.In(tb).URL("pasport") }()
	<-done
	if !strings.Contains(tb.msg, `did you mean "passport"`) {
		t.Errorf("URL(\"pasport\"): Fatalf %q", tb.msg)
	}
	if cfg := kit.PassportClientCredentials("demo-client"); cfg.ClientID != "demo-client" {
		t.Errorf("named client: %q", cfg.ClientID)
	}
	tb = &fatalTB{}
	done = make(chan struct{})
	go func() { defer close(done); kit.In(tb).PassportClientCredentials("nobody") }()
	<-done
	if !strings.Contains(tb.msg, `"nobody"`) {
		t.Errorf("unknown Passport client: Fatalf %q", tb.msg)
	}
}

// HTTPClient authenticates every request to a vendor.
func TestHTTPClientPerVendor(t *testing.T) {
	t.Parallel()
	kit := testkit.Start(t)
	for vendor, path := range map[string]string{
		testkit.Passport: "/v1/core/accounts", testkit.PassKit: "/user/profile",
		testkit.Brass: "/banking/accounts", testkit.TeleTracker: "/reports/call-data",
	} {
		resp, err := kit.HTTPClient(t, vendor).Get(kit.URL(vendor) + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s %s: %d %s", vendor, path, resp.StatusCode, b)
		}
	}
}

// An oauth2 client that follows the virtual clock gets a new token once the
// clock has moved past its token's expiry; the plain oauth2 client keeps the
// expired one (the trap the kit documents).
func TestPassportClientFollowsTheVirtualClock(t *testing.T) {
	t.Parallel()
	kit := testkit.Start(t)
	ctx := context.Background()
	cfg := kit.PassportClientCredentials()
	get := func(c *http.Client) (int, string) {
		t.Helper()
		resp, err := c.Get(kit.URL(testkit.Passport) + "/v1/core/accounts")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("X-Tokenemu-Reason")
	}
	virtual, plain := kit.PassportHTTPClient(ctx, cfg), cfg.Client(ctx)
	if code, _ := get(virtual); code != 200 {
		t.Fatalf("first call: %d", code)
	}
	if code, _ := get(plain); code != 200 {
		t.Fatalf("first call, plain client: %d", code)
	}
	kit.Clock.Advance(25 * time.Hour) // Passport tokens live 24 hours
	if code, reason := get(plain); code != 401 || reason != "token_expired" {
		t.Errorf("plain oauth2 client after 25 h: %d %s, want its cached token refused", code, reason)
	}
	if code, reason := get(virtual); code != 200 {
		t.Errorf("virtual-clock client after 25 h: %d %s, want a new token", code, reason)
	}
	if n := len(kit.Requests(testkit.Filter{Vendor: testkit.Passport, Operation: "createToken"})); n != 3 {
		t.Errorf("%d token requests, want 3 (one per client, one renewal)", n)
	}
}

// The Brass rate limit's 429 says what to do when the clock is frozen.
func TestBrassRateLimitWithAFrozenClock(t *testing.T) {
	t.Parallel()
	kit := testkit.Start(t)
	kit.Clock.Freeze()
	c := kit.HTTPClient(t, testkit.Brass)
	var last *http.Response
	for range 61 {
		resp, err := c.Get(kit.URL(testkit.Brass) + "/banking/accounts")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		last = resp
		if resp.StatusCode == 429 {
			if !strings.Contains(string(b), "frozen") || !strings.Contains(string(b), "clock/advance") {
				t.Errorf("429 with a frozen clock: %s, want it to say how to clear it", b)
			}
			break
		}
	}
	if last.StatusCode != 429 {
		t.Fatalf("61 requests in a frozen minute: last %d, want 429", last.StatusCode)
	}
	kit.Clock.Advance(time.Minute)
	resp, err := c.Get(kit.URL(testkit.Brass) + "/banking/accounts")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("after advancing a minute: %d, want 200", resp.StatusCode)
	}
}

// A cursor taken before the first request (the journal empty) still means
// "after this point", not "from the moment of the wait".
func TestWaitForRequestAfterACursorOfAnEmptyJournal(t *testing.T) {
	t.Parallel()
	kit := testkit.Start(t)
	cursor := kit.Cursor()
	kit.PassKitLogin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e, err := kit.WaitForRequest(ctx, testkit.Filter{Vendor: testkit.PassKit, Operation: "login", After: cursor})
	if err != nil || e.Seq != 1 {
		t.Errorf("WaitForRequest after the cursor of an empty journal: #%d %v, want the login #1", e.Seq, err)
	}
	// Beginning takes an entry that is already there.
	if e, err := kit.WaitForRequest(ctx, testkit.Filter{Vendor: testkit.PassKit, After: testkit.Beginning()}); err != nil || e.Seq != 1 {
		t.Errorf("WaitForRequest from the beginning: #%d %v", e.Seq, err)
	}
}
