package container_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/testkit"
	"github.com/tokenemu/tokenemu/testkit/container"
)

// modes are the ways to start a kit; every conformance test runs in each: an
// emulator of its own in the process or in a container, or a tenant of the
// one the process shares, in the process or in a container.
var modes = []struct {
	name   string
	start  func(testing.TB, ...testkit.Option) *testkit.Kit
	shared bool
}{
	{"in-process", func(tb testing.TB, opts ...testkit.Option) *testkit.Kit { return testkit.Start(tb, opts...) }, false},
	{"container", container.Start, false},
	{"shared-in-process", testkit.Shared, true},
	{"shared-container", container.Shared, true},
}

func forEachMode(t *testing.T, test func(t *testing.T, kit *testkit.Kit)) {
	t.Helper()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			test(t, m.start(t))
		})
	}
}

// call sends a request and returns the status and the X-Tokenemu-Reason.
func call(t *testing.T, method, u string, h http.Header, ctype, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if h != nil {
		req.Header = h
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("X-Tokenemu-Reason")
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

func expect(t *testing.T, what string, code int, reason string, wantCode int, wantReason string) {
	t.Helper()
	if code != wantCode || reason != wantReason {
		t.Errorf("%s: got %d %q, want %d %q", what, code, reason, wantCode, wantReason)
	}
}

// waitJournal waits for a journal entry of a request already answered (the
// journal records it just after the answer).
func waitJournal(t *testing.T, kit *testkit.Kit, f testkit.Filter) {
	t.Helper()
	f.After = testkit.Beginning()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := kit.WaitForRequest(ctx, f); err != nil {
		t.Errorf("journal has no %+v: %v", f, err)
	}
}

func TestConformancePassport(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, kit *testkit.Kit) {
		accounts := kit.URL(testkit.Passport) + "/v1/core/accounts"
		kit.Clock.Freeze()
		tok, err := kit.PassportClientCredentials().Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		code, reason := call(t, "GET", accounts, bearer(tok.AccessToken), "", "")
		expect(t, "fresh token", code, reason, 200, "")
		kit.Clock.Advance(24*time.Hour - time.Second)
		code, reason = call(t, "GET", accounts, bearer(tok.AccessToken), "", "")
		expect(t, "one second before expiry", code, reason, 200, "")
		kit.Clock.Advance(time.Second)
		code, reason = call(t, "GET", accounts, bearer(tok.AccessToken), "", "")
		expect(t, "at expiry", code, reason, 401, "token_expired")

		other := kit.IssueToken(testkit.Passport, "demo-client")
		kit.Revoke(other.Token)
		code, reason = call(t, "GET", accounts, bearer(other.Token), "", "")
		expect(t, "revoked", code, reason, 401, "token_revoked")

		kit.ApplyBuiltin("passport-token-endpoint-flaky")
		cfg := kit.PassportClientCredentials()
		for i := range 3 {
			_, err := cfg.Token(context.Background())
			if (err == nil) != (i == 2) {
				t.Errorf("flaky token endpoint, attempt %d: %v", i+1, err)
			}
		}
		waitJournal(t, kit, testkit.Filter{Vendor: testkit.Passport, Operation: "createToken", Status: 503})
		if n := len(kit.Requests(testkit.Filter{Vendor: testkit.Passport, Status: 503})); n != 2 {
			t.Errorf("journal: %d 503s, want 2", n)
		}
	})
}

func TestConformancePassKit(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, kit *testkit.Kit) {
		profile := kit.URL(testkit.PassKit) + "/user/profile"
		kit.Clock.Freeze()
		jwt := kit.PassKitLogin(t)
		code, reason := call(t, "GET", profile, http.Header{"Authorization": {jwt}}, "", "")
		expect(t, "JWT", code, reason, 200, "")
		kit.Clock.Advance(time.Hour)
		code, reason = call(t, "GET", profile, http.Header{"Authorization": {jwt}}, "", "")
		expect(t, "JWT after an hour", code, reason, 401, "token_expired")

		long := kit.PassKitLongLived(t)
		kit.Clock.Advance(365 * 24 * time.Hour)
		code, reason = call(t, "GET", profile, http.Header{"Authorization": {long}}, "", "")
		expect(t, "long-lived a year on", code, reason, 200, "")
		kit.Revoke(long)
		code, reason = call(t, "GET", profile, http.Header{"Authorization": {long}}, "", "")
		expect(t, "revoked long-lived", code, reason, 401, "token_revoked")

		kit.FailNext(testkit.PassKit, "login", 503)
		code, reason = call(t, "POST", kit.URL(testkit.PassKit)+"/login", nil, "application/json", `{"username":"demo@passkit.test","password":"passkit-demo"}`)
		if code != 503 || !strings.HasPrefix(reason, "scenario:fail-next-") {
			t.Errorf("FailNext: %d %s", code, reason)
		}
		waitJournal(t, kit, testkit.Filter{Vendor: testkit.PassKit, Operation: "login", Status: 503})
	})
}

func TestConformanceBrass(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, kit *testkit.Kit) {
		accounts := kit.URL(testkit.Brass) + "/banking/accounts"
		kit.Clock.Freeze()
		user := kit.BrassUserJWT(t, "payables@brass.test")
		code, reason := call(t, "GET", accounts, bearer(user), "", "")
		expect(t, "user JWT", code, reason, 200, "")
		kit.Clock.Advance(time.Hour)
		code, reason = call(t, "GET", accounts, bearer(user), "", "")
		expect(t, "user JWT after an hour", code, reason, 401, "token_expired")

		pat := kit.BrassPAT(t, "accountant")
		code, reason = call(t, "GET", accounts, bearer(pat), "", "")
		expect(t, "PAT", code, reason, 200, "")
		kit.ApplyBuiltin("brass-pat-revoked")
		code, reason = call(t, "GET", accounts, bearer(pat), "", "")
		expect(t, "PAT under brass-pat-revoked", code, reason, 401, "token_revoked")
		waitJournal(t, kit, testkit.Filter{Vendor: testkit.Brass, Operation: "listAccounts", Status: 401})
		kit.Reset()
		pat2 := kit.BrassPAT(t, "owner")
		code, reason = call(t, "GET", accounts, bearer(pat2), "", "")
		expect(t, "new PAT after reset", code, reason, 200, "")
		kit.Revoke(pat2)
		code, reason = call(t, "GET", accounts, bearer(pat2), "", "")
		expect(t, "PAT revoked by the kit", code, reason, 401, "token_revoked")
	})
}

func TestConformanceTeleTracker(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, kit *testkit.Kit) {
		calls := kit.URL(testkit.TeleTracker) + "/reports/call-data"
		refresh := kit.URL(testkit.TeleTracker) + "/auth/refresh"
		form := "application/x-www-form-urlencoded"
		kit.Clock.Freeze()
		tok, rt := kit.TeleTrackerLogin(t, "")
		code, reason := call(t, "GET", calls, bearer(tok), "", "")
		expect(t, "token", code, reason, 200, "")
		kit.Clock.Advance(time.Hour)
		code, reason = call(t, "GET", calls, bearer(tok), "", "")
		expect(t, "token after an hour", code, reason, 401, "token_expired")
		code, reason = call(t, "POST", refresh, nil, form, url.Values{"refresh_token": {rt}}.Encode())
		expect(t, "refresh", code, reason, 200, "")
		code, reason = call(t, "POST", refresh, nil, form, url.Values{"refresh_token": {rt}}.Encode())
		expect(t, "refresh reused", code, reason, 401, "refresh_reused")

		_, rt2 := kit.TeleTrackerLogin(t, "")
		kit.ApplyBuiltin("teletracker-refresh-expired")
		code, reason = call(t, "POST", refresh, nil, form, url.Values{"refresh_token": {rt2}}.Encode())
		expect(t, "refresh under teletracker-refresh-expired", code, reason, 401, "refresh_expired")
		waitJournal(t, kit, testkit.Filter{Vendor: testkit.TeleTracker, Operation: "refresh", Status: 401})

		tok3, _ := kit.TeleTrackerLogin(t, "")
		kit.Expire(tok3)
		code, reason = call(t, "GET", calls, bearer(tok3), "", "")
		expect(t, "expired by the kit", code, reason, 401, "token_expired")
		tok4, _ := kit.TeleTrackerLogin(t, "")
		kit.Revoke(tok4)
		code, reason = call(t, "GET", calls, bearer(tok4), "", "")
		expect(t, "revoked by the kit", code, reason, 401, "token_revoked")
	})
}

// Options reach a container the same way they reach an in-process emulator.
func TestConformanceOptions(t *testing.T) {
	t.Parallel()
	at := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			opts := []testkit.Option{testkit.WithClockAt(at), testkit.WithScenario("vendor-outage:brass")}
			if !m.shared { // a tenant has a token of its own
				opts = append(opts, testkit.WithConfig(func(c *emulator.Config) { c.AdminToken = "admin-secret" }))
			}
			kit := m.start(t, opts...)
			if now := kit.Clock.Now(); now.Before(at) || now.After(at.Add(time.Minute)) {
				t.Errorf("clock %v, want about %v", now, at)
			}
			code, _ := call(t, "GET", kit.URL(testkit.Brass)+"/banking/accounts", nil, "", "")
			if code != 503 {
				t.Errorf("brass outage from the start: %d", code)
			}
			code, _ = call(t, "GET", kit.AdminURL()+"/clock", nil, "", "")
			if code != 401 {
				t.Errorf("admin without the admin token: %d", code)
			}
		})
	}
}
