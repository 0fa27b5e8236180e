package emulator_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/store"
	"github.com/tokenemu/tokenemu/emulator/teletracker"
)

type ttSession struct {
	Success                bool   `json:"success"`
	GUID                   string `json:"guid"`
	Token                  string `json:"token"`
	TokenExpiration        string `json:"tokenExpiration"`
	TokenLifetime          int    `json:"tokenLifetime"`
	RefreshToken           string `json:"refreshToken"`
	RefreshTokenExpiration string `json:"refreshTokenExpiration"`
	AccountID              int64  `json:"account_id"`
	UserID                 int64  `json:"user_id"`
}

type ttCalls struct {
	Success   bool  `json:"success"`
	AccountID int64 `json:"account_id"`
	Data      []struct {
		CallID    int64  `json:"call_id"`
		AccountID int64  `json:"account_id"`
		StartTime string `json:"start_time"`
	} `json:"data"`
}

const ttForm = "application/x-www-form-urlencoded"

func (e *env) ttLogin(extra string) ttSession {
	e.t.Helper()
	resp, body := e.do("POST", "/teletracker/auth/login", hdr("Content-Type", ttForm),
		"username=demo%40teletracker.test&password=teletracker-demo"+extra)
	if resp.StatusCode != 200 {
		e.t.Fatalf("teletracker login: %d %s", resp.StatusCode, body)
	}
	return decode[ttSession](e.t, body)
}

func (e *env) ttRefresh(refresh string) (*http.Response, []byte) {
	e.t.Helper()
	return e.do("POST", "/teletracker/auth/refresh", hdr("Content-Type", "application/json"), fmt.Sprintf(`{"refresh_token":%q}`, refresh))
}

func (e *env) ttCalls(h http.Header, query string) (int, ttCalls) {
	e.t.Helper()
	resp, body := e.do("GET", "/teletracker/reports/call-data"+query, h, "")
	if resp.StatusCode != 200 {
		return resp.StatusCode, ttCalls{}
	}
	return 200, decode[ttCalls](e.t, body)
}

func TestTeleTrackerLoginResponse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	now := e.emu.Clock().Freeze().Truncate(time.Second)
	s := e.ttLogin("")
	if !s.Success || s.TokenLifetime != 3600 || s.AccountID != 1001 || s.UserID != 501 || s.GUID == s.Token {
		t.Errorf("login: %+v", s)
	}
	tokenExp := now.Add(time.Hour)
	if want := tokenExp.Format("2006-01-02T15:04:05") + "+00:00"; s.TokenExpiration != want {
		t.Errorf("tokenExpiration %q, want %q", s.TokenExpiration, want)
	}
	if want := tokenExp.Add(29*24*time.Hour).Format("2006-01-02T15:04:05") + "+00:00"; s.RefreshTokenExpiration != want {
		t.Errorf("refreshTokenExpiration %q, want tokenExpiration + 29 days = %q", s.RefreshTokenExpiration, want)
	}
	// auth_only checks the credentials and opens no session.
	before := storeLen(t, e.emu.Store(), store.Query{Vendor: "teletracker"})
	resp, body := e.do("POST", "/teletracker/auth/login", hdr("Content-Type", "application/json"),
		`{"username":"demo@teletracker.test","password":"teletracker-demo","auth_only":1}`)
	if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != `{"success":true}` {
		t.Errorf("auth_only: %d %s", resp.StatusCode, body)
	}
	if after := storeLen(t, e.emu.Store(), store.Query{Vendor: "teletracker"}); after != before {
		t.Errorf("auth_only created %d tokens", after-before)
	}
	// Multipart works too, and picks the account.
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range map[string]string{"username": "demo@teletracker.test", "password": "teletracker-demo", "account_id": "1002"} {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	mw.Close()
	resp, body = e.do("POST", "/teletracker/auth/login", hdr("Content-Type", mw.FormDataContentType()), b.String())
	if resp.StatusCode != 200 || decode[ttSession](t, body).AccountID != 1002 {
		t.Errorf("multipart login for 1002: %d %s", resp.StatusCode, body)
	}
}

// The acceptance flow: a session kept alive for 90 virtual days by
// refreshing every 20 days; a refresh after 30 idle days fails; reuse fails.
func TestTeleTrackerRefreshLifetime(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	e.emu.Clock().Freeze()
	s := e.ttLogin("")
	guids := map[string]bool{s.GUID: true}
	for day := 20; day <= 100; day += 20 {
		if _, err := e.emu.Clock().Advance(20 * 24 * time.Hour); err != nil {
			t.Fatal(err)
		}
		resp, body := e.ttRefresh(s.RefreshToken)
		if resp.StatusCode != 200 {
			t.Fatalf("refresh on day %d: %d %s", day, resp.StatusCode, body)
		}
		next := decode[ttSession](t, body)
		if next.Token == s.Token || next.RefreshToken == s.RefreshToken || guids[next.GUID] || next.AccountID != s.AccountID {
			t.Fatalf("day %d: refresh did not rotate: %+v", day, next)
		}
		guids[next.GUID] = true
		if code, _ := e.ttCalls(bearer(next.Token), ""); code != 200 {
			t.Fatalf("day %d: new token: %d", day, code)
		}
		s = next
	}
	// The last old refresh token again: single-use.
	resp, body := e.ttRefresh(s.RefreshToken)
	if resp.StatusCode != 200 {
		t.Fatalf("refresh: %d %s", resp.StatusCode, body)
	}
	resp, body = e.ttRefresh(s.RefreshToken)
	if resp.StatusCode != 401 || resp.Header.Get("X-Tokenemu-Reason") != "refresh_reused" || !strings.Contains(string(body), `"success":false`) {
		t.Errorf("reused refresh token: %d %s %v", resp.StatusCode, body, resp.Header)
	}
	// 30 idle days: past tokenExpiration + 29 days.
	idle := e.ttLogin("")
	if _, err := e.emu.Clock().Advance(30 * 24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	if resp, body = e.ttRefresh(idle.RefreshToken); resp.StatusCode != 401 || resp.Header.Get("X-Tokenemu-Reason") != "refresh_expired" {
		t.Errorf("refresh after 30 idle days: %d %s", resp.StatusCode, body)
	}
	if code, _ := e.ttCalls(bearer(idle.Token), ""); code != 401 {
		t.Errorf("access token after 30 days: %d, want 401", code)
	}
}

func TestTeleTrackerAccessTokenExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	e.emu.Clock().Freeze()
	s := e.ttLogin("")
	if _, err := e.emu.Clock().Advance(3599 * time.Second); err != nil {
		t.Fatal(err)
	}
	if code, _ := e.ttCalls(bearer(s.Token), ""); code != 200 {
		t.Fatalf("at 3599 s: %d", code)
	}
	if _, err := e.emu.Clock().Advance(time.Second); err != nil {
		t.Fatal(err)
	}
	resp, body := e.do("GET", "/teletracker/reports/call-data", bearer(s.Token), "")
	if resp.StatusCode != 401 || resp.Header.Get("X-Tokenemu-Reason") != "token_expired" ||
		!strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("at 3600 s: %d %s %v", resp.StatusCode, body, resp.Header)
	}
}

func TestTeleTrackerRefreshOptions(t *testing.T) {
	t.Parallel()
	t.Run("defaults keep the old access token and the family", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, emulator.Config{})
		s := e.ttLogin("")
		resp, body := e.ttRefresh(s.RefreshToken)
		next := decode[ttSession](t, body)
		if resp.StatusCode != 200 {
			t.Fatal(resp.StatusCode)
		}
		if code, _ := e.ttCalls(bearer(s.Token), ""); code != 200 {
			t.Errorf("old access token after refresh: %d, want 200 (its own expiry rules)", code)
		}
		e.ttRefresh(s.RefreshToken) // reuse
		if code, _ := e.ttCalls(bearer(next.Token), ""); code != 200 {
			t.Errorf("new token after a reuse, family revocation off: %d", code)
		}
	})
	t.Run("revoke access on refresh", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, emulator.Config{Settings: map[string]string{"teletracker.revoke-access-on-refresh": "true"}})
		s := e.ttLogin("")
		if resp, _ := e.ttRefresh(s.RefreshToken); resp.StatusCode != 200 {
			t.Fatal(resp.StatusCode)
		}
		if code, _ := e.ttCalls(bearer(s.Token), ""); code != 401 {
			t.Errorf("old access token: %d, want 401", code)
		}
	})
	t.Run("revoke the family on reuse", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, emulator.Config{Settings: map[string]string{"teletracker.revoke-family-on-reuse": "true"}})
		s := e.ttLogin("")
		other := e.ttLogin("")
		_, body := e.ttRefresh(s.RefreshToken)
		next := decode[ttSession](t, body)
		if resp, _ := e.ttRefresh(s.RefreshToken); resp.StatusCode != 401 {
			t.Fatalf("reuse: %d", resp.StatusCode)
		}
		if code, _ := e.ttCalls(bearer(next.Token), ""); code != 401 {
			t.Errorf("new access token after reuse: %d, want 401", code)
		}
		if resp, _ := e.ttRefresh(next.RefreshToken); resp.StatusCode != 401 {
			t.Errorf("new refresh token after reuse: %d, want 401", resp.StatusCode)
		}
		if code, _ := e.ttCalls(bearer(other.Token), ""); code != 200 {
			t.Errorf("another session: %d, want 200", code)
		}
	})
	t.Run("custom refresh lifetime", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, emulator.Config{Settings: map[string]string{"teletracker.refresh-lifetime": "48h"}})
		e.emu.Clock().Freeze()
		s := e.ttLogin("")
		if _, err := e.emu.Clock().Advance(49*time.Hour - time.Second); err != nil {
			t.Fatal(err)
		}
		if resp, _ := e.ttRefresh(s.RefreshToken); resp.StatusCode != 200 {
			t.Errorf("just inside 1 h + 48 h: %d", resp.StatusCode)
		}
	})
}

func TestTeleTrackerConcurrentRefreshHasOneWinner(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	for round := range 5 {
		s := e.ttLogin("")
		var wg sync.WaitGroup
		codes := make([]int, 8)
		for i := range codes {
			wg.Go(func() {
				resp, _ := e.ttRefresh(s.RefreshToken)
				codes[i] = resp.StatusCode
			})
		}
		wg.Wait()
		ok := 0
		for _, c := range codes {
			if c == 200 {
				ok++
			} else if c != 401 {
				t.Errorf("round %d: status %d", round, c)
			}
		}
		if ok != 1 {
			t.Errorf("round %d: %d of 8 concurrent refreshes succeeded, want exactly 1 (%v)", round, ok, codes)
		}
	}
}

// Masquerade moves the session to another account; /reports/call-data follows.
func TestTeleTrackerMasquerade(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	s := e.ttLogin("")
	code, calls := e.ttCalls(bearer(s.Token), "?start_date=2025-01-01&end_date=2025-01-31")
	if code != 200 || calls.AccountID != 1001 || len(calls.Data) == 0 {
		t.Fatalf("calls before: %d %+v", code, calls)
	}
	if code, _ := e.ttCalls(bearer(s.Token), "?account_id=1002"); code != 403 {
		t.Errorf("another account with a bound token: %d, want 403", code)
	}
	resp, body := e.do("POST", "/teletracker/auth/masquerade", hdr("Authorization", "Bearer "+s.Token, "Content-Type", ttForm), "account_id=1002")
	if resp.StatusCode != 200 {
		t.Fatalf("masquerade: %d %s", resp.StatusCode, body)
	}
	m := decode[ttSession](t, body)
	if m.AccountID != 1002 || m.Token == s.Token {
		t.Errorf("masquerade answer: %+v", m)
	}
	code, after := e.ttCalls(hdr("Authentication", "Bearer "+m.Token), "?start_date=2025-01-01&end_date=2025-01-31")
	if code != 200 || after.AccountID != 1002 || len(after.Data) == 0 || after.Data[0].AccountID != 1002 {
		t.Fatalf("calls after masquerade: %d %+v", code, after)
	}
	// The old pair is revoked.
	if code, _ := e.ttCalls(bearer(s.Token), ""); code != 401 {
		t.Errorf("old token after masquerade: %d, want 401", code)
	}
	if resp, _ := e.ttRefresh(s.RefreshToken); resp.StatusCode != 401 || resp.Header.Get("X-Tokenemu-Reason") != "refresh_revoked" {
		t.Errorf("old refresh token after masquerade: %d %s", resp.StatusCode, resp.Header.Get("X-Tokenemu-Reason"))
	}
	// An account the user cannot use.
	resp, body = e.do("POST", "/teletracker/auth/masquerade", hdr("Authorization", "Bearer "+m.Token, "Content-Type", "application/json"), `{"account_id":9999}`)
	if resp.StatusCode != 403 {
		t.Errorf("masquerade into 9999: %d %s", resp.StatusCode, body)
	}
	// Logout ends the session and its refresh token.
	if resp, body = e.do("POST", "/teletracker/auth/logout", bearer(m.Token), ""); resp.StatusCode != 200 {
		t.Fatalf("logout: %d %s", resp.StatusCode, body)
	}
	if code, _ := e.ttCalls(bearer(m.Token), ""); code != 401 {
		t.Errorf("after logout: %d", code)
	}
	if resp, _ := e.ttRefresh(m.RefreshToken); resp.StatusCode != 401 {
		t.Errorf("refresh after logout: %d", resp.StatusCode)
	}
}

func TestTeleTrackerBasicAndIntegrator(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	basic := hdr("Authorization", "Basic "+b64("demo@teletracker.test:teletracker-demo"))
	integ := hdr("Authorization", "Integrator "+b64("integrator@teletracker.test:teletracker-demo"))
	cases := []struct {
		name   string
		h      http.Header
		query  string
		status int
		acct   int64
	}{
		{"basic, home account", basic, "", 200, 1001},
		{"basic, other account", basic, "?account_id=1002", 200, 1002},
		{"basic, foreign account", basic, "?account_id=4242", 403, 0},
		{"basic, wrong password", hdr("Authorization", "Basic "+b64("demo@teletracker.test:nope")), "", 401, 0},
		{"basic, garbled", hdr("Authorization", "Basic %%%"), "", 401, 0},
		{"integrator with account", integ, "?account_id=1002", 200, 1002},
		{"integrator without account", integ, "", 400, 0},
		{"integrator on an allow-listed account only", integ, "?account_id=4242", 403, 0},
		{"integrator credentials as Basic", hdr("Authorization", "Basic "+b64("integrator@teletracker.test:teletracker-demo")), "", 401, 0},
		{"user credentials as Integrator", hdr("Authorization", "Integrator "+b64("demo@teletracker.test:teletracker-demo")), "?account_id=1001", 401, 0},
	}
	for _, c := range cases {
		code, calls := e.ttCalls(c.h, c.query)
		if code != c.status || (code == 200 && calls.AccountID != c.acct) {
			t.Errorf("%s: %d account %d, want %d account %d", c.name, code, calls.AccountID, c.status, c.acct)
		}
	}
	resp, body := e.do("GET", "/teletracker/reports/call-data", integ, "")
	if er := decode[map[string]any](t, body); resp.StatusCode != 400 || fmt.Sprint(er["missing"]) != "[account_id]" {
		t.Errorf("integrator without account_id: %d %s", resp.StatusCode, body)
	}
}

func TestTeleTrackerCallData(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	tok := bearer(e.ttLogin("").Token)
	_, a := e.ttCalls(tok, "?start_date=2025-03-01&end_date=2025-03-10")
	_, b := e.ttCalls(tok, "?start_date=2025-03-01&end_date=2025-03-10")
	if len(a.Data) == 0 || fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("the same range twice differs or is empty: %d vs %d calls", len(a.Data), len(b.Data))
	}
	for i := 1; i < len(a.Data); i++ {
		if a.Data[i].StartTime < a.Data[i-1].StartTime {
			t.Errorf("calls out of order at %d", i)
		}
	}
	_, sub := e.ttCalls(tok, "?start_date=2025-03-05&end_date=2025-03-05")
	for _, c := range sub.Data {
		if !strings.HasPrefix(c.StartTime, "2025-03-05T") {
			t.Errorf("call %d on %s outside 2025-03-05", c.CallID, c.StartTime)
		}
	}
	other := newEnv(t, emulator.Config{Seed: 99})
	_, c := other.ttCalls(bearer(other.ttLogin("").Token), "?start_date=2025-03-01&end_date=2025-03-10")
	if fmt.Sprint(a) == fmt.Sprint(c) {
		t.Error("another seed gave the same calls")
	}
	// No call from the future.
	e.emu.Clock().Set(time.Date(2025, 3, 5, 0, 0, 0, 0, time.UTC))
	tok = bearer(e.ttLogin("").Token)
	if _, fut := e.ttCalls(tok, "?start_date=2025-03-05&end_date=2025-03-06"); len(fut.Data) != 0 {
		t.Errorf("%d calls after the virtual now", len(fut.Data))
	}
}

// The encoded call reports are cached; as the virtual clock moves within a
// day, back as well as forward, each answer must still be what an emulator
// that never answered before gives at the same time.
func TestTeleTrackerCallDataFollowsTheClock(t *testing.T) {
	t.Parallel()
	const query = "?start_date=2025-03-03&end_date=2025-03-12"
	report := func(e *env, at time.Time) (ttCalls, []byte) {
		e.t.Helper()
		e.emu.Clock().Set(at)
		resp, body := e.do("GET", "/teletracker/reports/call-data"+query, bearer(e.ttLogin("").Token), "")
		if resp.StatusCode != 200 {
			t.Fatalf("call-data at %s: %d %s", at, resp.StatusCode, body)
		}
		if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(body)) {
			t.Errorf("Content-Length %q for %d bytes", cl, len(body))
		}
		return decode[ttCalls](t, body), body
	}
	e := newEnv(t, emulator.Config{})
	// A day of the range with at least two calls: the clock stops between them.
	all, _ := report(e, time.Date(2025, 3, 13, 0, 0, 0, 0, time.UTC))
	byDay := map[string][]string{}
	var day string
	for _, c := range all.Data {
		d := c.StartTime[:10]
		byDay[d] = append(byDay[d], c.StartTime)
		if len(byDay[d]) == 2 && day == "" {
			day = d
		}
	}
	if day == "" {
		t.Fatalf("no day of %s has two calls: %d calls", query, len(all.Data))
	}
	first, err := time.Parse("2006-01-02T15:04:05-07:00", byDay[day][0])
	if err != nil {
		t.Fatal(err)
	}
	second, _ := time.Parse("2006-01-02T15:04:05-07:00", byDay[day][1])
	midnight := first.Truncate(24 * time.Hour)
	times := []time.Time{
		midnight.Add(time.Hour), // before the day's first call
		first,                   // the first call has started (a call at now counts)
		second.Add(-time.Second),
		midnight.Add(23 * time.Hour), // every call of the day
		first,                        // back again
		midnight.Add(time.Hour),
	}
	counts := make([]int, len(times))
	for i, at := range times {
		got, body := report(e, at)
		counts[i] = len(got.Data)
		fresh, want := report(newEnv(t, emulator.Config{}), at)
		if string(body) != string(want) {
			t.Errorf("at %s: %d calls in %d bytes, a fresh emulator answers %d calls in %d bytes", at, len(got.Data), len(body), len(fresh.Data), len(want))
		}
	}
	if counts[0] >= counts[1] || counts[1] != counts[2] || counts[2] >= counts[3] || counts[4] != counts[1] || counts[5] != counts[0] {
		t.Errorf("calls at %v: %v; want fewer before the first call, one more from it, all by the end of the day, and the same again going back", times, counts)
	}
}

func TestTeleTrackerBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	s := e.ttLogin("")
	jsonCT := "application/json"
	cases := []struct {
		name, method, path string
		header             http.Header
		body               string
		status             int
		reason             string
		missing            string
	}{
		{"login missing both", "POST", "/teletracker/auth/login", hdr("Content-Type", jsonCT), `{}`, 400, "missing_fields", "[username password]"},
		{"login empty body", "POST", "/teletracker/auth/login", hdr("Content-Type", ttForm), ``, 400, "missing_fields", "[username password]"},
		{"login missing password", "POST", "/teletracker/auth/login", hdr("Content-Type", ttForm), `username=a`, 400, "missing_fields", "[password]"},
		{"login account_id not a number", "POST", "/teletracker/auth/login", hdr("Content-Type", ttForm), `username=a&password=b&account_id=abc`, 400, "invalid_request", ""},
		{"login account_id as JSON string", "POST", "/teletracker/auth/login", hdr("Content-Type", jsonCT), `{"username":"a","password":"b","account_id":"1001"}`, 400, "invalid_request", ""},
		{"login auth_only 2", "POST", "/teletracker/auth/login", hdr("Content-Type", ttForm), `username=a&password=b&auth_only=2`, 400, "invalid_request", ""},
		{"login malformed JSON", "POST", "/teletracker/auth/login", hdr("Content-Type", jsonCT), `{"username"`, 400, "invalid_request", ""},
		{"login text/plain", "POST", "/teletracker/auth/login", hdr("Content-Type", "text/plain"), `username=a`, 415, "unsupported_media_type", ""},
		{"login wrong password", "POST", "/teletracker/auth/login", hdr("Content-Type", ttForm), `username=demo%40teletracker.test&password=x`, 401, "invalid_credentials", ""},
		{"login foreign account", "POST", "/teletracker/auth/login", hdr("Content-Type", ttForm), `username=demo%40teletracker.test&password=teletracker-demo&account_id=77`, 403, "account_forbidden", ""},
		{"integrator login without account", "POST", "/teletracker/auth/login", hdr("Content-Type", ttForm), `username=integrator%40teletracker.test&password=teletracker-demo`, 400, "missing_fields", "[account_id]"},
		{"refresh token in the wrong field", "POST", "/teletracker/auth/refresh", hdr("Content-Type", jsonCT), `{"refreshToken":"` + s.RefreshToken + `"}`, 400, "missing_fields", "[refresh_token]"},
		{"refresh with the access token", "POST", "/teletracker/auth/refresh", hdr("Content-Type", jsonCT), `{"refresh_token":"` + s.Token + `"}`, 401, "refresh_unknown", ""},
		{"refresh token not a UUID", "POST", "/teletracker/auth/refresh", hdr("Content-Type", jsonCT), `{"refresh_token":"nope"}`, 401, "refresh_unknown", ""},
		{"refresh token wrong type", "POST", "/teletracker/auth/refresh", hdr("Content-Type", jsonCT), `{"refresh_token":42}`, 400, "invalid_request", ""},
		{"bearer is the refresh token", "GET", "/teletracker/reports/call-data", bearer(s.RefreshToken), "", 401, "token_unknown", ""},
		{"bearer UUID wrong format", "GET", "/teletracker/reports/call-data", bearer("c04c7ff7-5fa1-48fb"), "", 401, "token_unknown", ""},
		{"bearer with spaces", "GET", "/teletracker/reports/call-data", hdr("Authorization", "Bearer a b"), "", 400, "authorization_malformed", ""},
		{"no credentials", "GET", "/teletracker/reports/call-data", nil, "", 401, "token_missing", ""},
		{"bad date", "GET", "/teletracker/reports/call-data?start_date=2025-13-45", bearer(s.Token), "", 400, "invalid_request", ""},
		{"date wrong format", "GET", "/teletracker/reports/call-data?start_date=yesterday", bearer(s.Token), "", 400, "invalid_request", ""},
		{"range reversed", "GET", "/teletracker/reports/call-data?start_date=2025-02-01&end_date=2025-01-01", bearer(s.Token), "", 400, "invalid_request", ""},
		{"range too long", "GET", "/teletracker/reports/call-data?start_date=2024-01-01&end_date=2025-01-01", bearer(s.Token), "", 400, "invalid_request", ""},
		{"account_id zero", "GET", "/teletracker/reports/call-data?account_id=0", bearer(s.Token), "", 400, "invalid_request", ""},
		{"masquerade missing account", "POST", "/teletracker/auth/masquerade", hdr("Authorization", "Bearer "+s.Token, "Content-Type", jsonCT), `{}`, 400, "missing_fields", "[account_id]"},
		{"masquerade without a session", "POST", "/teletracker/auth/masquerade", hdr("Content-Type", jsonCT), `{"account_id":1002}`, 401, "token_missing", ""},
		{"logout with Basic", "POST", "/teletracker/auth/logout", hdr("Authorization", "Basic ZGVtbzp4"), "", 401, "token_missing", ""},
		{"unknown route", "GET", "/teletracker/nope", nil, "", 404, "route_not_found", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			resp, body := e.do(c.method, c.path, c.header, c.body)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, c.status, body)
			}
			er := decode[map[string]any](t, body)
			if er["success"] != false || er["message"] == "" {
				t.Errorf("body %s, want {\"success\":false,\"message\":…}", body)
			}
			if c.missing != "" && fmt.Sprint(er["missing"]) != c.missing {
				t.Errorf("missing %v, want %s", er["missing"], c.missing)
			}
			if got := resp.Header.Get("X-Tokenemu-Reason"); got != c.reason {
				t.Errorf("X-Tokenemu-Reason %q, want %q", got, c.reason)
			}
			if c.status == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

// GET and DELETE take their parameters from a body as well as from the query
// string, as TeleTracker documents: form, JSON or multipart. Before, a form body's
// account_id was ignored and the user's first account answered.
func TestTeleTrackerGetTakesBodyParameters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("demo@teletracker.test:teletracker-demo"))
	for _, c := range []struct{ ct, body string }{
		{ttForm, "account_id=1002"},
		{"application/json", `{"account_id":1002}`},
		{"application/json", `{"account_id":"1002"}`},
	} {
		resp, body := e.do("GET", "/teletracker/reports/call-data", hdr("Authorization", basic, "Content-Type", c.ct), c.body)
		if resp.StatusCode != 200 || decode[ttCalls](t, body).AccountID != 1002 {
			t.Errorf("%s %s: %d %s, want account 1002's calls", c.ct, c.body, resp.StatusCode, body)
		}
	}
	// The body's parameters are validated as the query's are.
	resp, body := e.do("GET", "/teletracker/reports/call-data", hdr("Authorization", basic, "Content-Type", ttForm), "account_id=x")
	if resp.StatusCode != 400 {
		t.Errorf("account_id=x in the body: %d %s", resp.StatusCode, body)
	}
	// One parameter in both places is refused.
	resp, body = e.do("GET", "/teletracker/reports/call-data?account_id=1001", hdr("Authorization", basic, "Content-Type", ttForm), "account_id=1002")
	if resp.StatusCode != 400 || !strings.Contains(string(body), "both in the query string and in the body") {
		t.Errorf("account_id in both: %d %s", resp.StatusCode, body)
	}
	// An account the user cannot use is refused from the body as from the query.
	resp, _ = e.do("GET", "/teletracker/reports/call-data", hdr("Authorization", basic, "Content-Type", ttForm), "account_id=9999")
	if resp.StatusCode != 403 {
		t.Errorf("account_id=9999 in the body: %d", resp.StatusCode)
	}
}

// A multipart body refuses a repeated key, as JSON and form bodies do: the
// first value won, so a right password followed by a wrong one logged in.
func TestTeleTrackerMultipartRepeatedKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	var b strings.Builder
	mw := multipart.NewWriter(&b)
	for _, kv := range [][2]string{{"username", teletracker.DefaultUsername}, {"password", teletracker.DefaultPassword}, {"password", "wrong"}} {
		_ = mw.WriteField(kv[0], kv[1])
	}
	_ = mw.Close()
	resp, body := e.do("POST", "/teletracker/auth/login", hdr("Content-Type", mw.FormDataContentType()), b.String())
	if resp.StatusCode != 400 || !strings.Contains(string(body), "more than once") {
		t.Errorf("multipart with password twice: %d %s", resp.StatusCode, body)
	}
}
