package emulator_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/brass"
	"github.com/tokenemu/tokenemu/emulator/passport"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
	"github.com/tokenemu/tokenemu/scenarios"
)

// apply activates a built-in (or a document) through the admin plane.
func (e *env) apply(body string) {
	e.t.Helper()
	h := hdr("Content-Type", "application/json")
	if !strings.HasPrefix(strings.TrimSpace(body), "{") && !strings.HasPrefix(strings.TrimSpace(body), "[") {
		h.Set("Content-Type", "application/yaml")
	}
	resp, b := e.do("POST", "/_emulator/scenarios", h, body)
	if resp.StatusCode != http.StatusCreated {
		e.t.Fatalf("apply %s: %d %s", body, resp.StatusCode, b)
	}
}

func (e *env) applyBuiltin(name string) { e.apply(fmt.Sprintf(`{"name":%q}`, name)) }

func reason(resp *http.Response) string { return resp.Header.Get(vendorapi.ReasonHeader) }

// lastEntry returns the newest journal entry of a vendor.
func (e *env) lastEntry(vendor string) emulator.JournalEntry {
	e.t.Helper()
	es := e.emu.Requests(emulator.JournalFilter{Vendor: vendor})
	if len(es) == 0 {
		e.t.Fatalf("no journal entry for %s", vendor)
	}
	return es[len(es)-1]
}

// The acceptance test: a real oauth2 client fails twice, then succeeds.
func TestScenarioPassportTokenEndpointFlaky(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	e.applyBuiltin("passport-token-endpoint-flaky")
	cfg := e.passportConfig(oauth2.AuthStyleInParams)
	for i := 1; i <= 2; i++ {
		_, err := cfg.Token(e.ctx())
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.Response.StatusCode != 503 || re.ErrorCode != "temporarily_unavailable" {
			t.Fatalf("attempt %d: got %v, want a 503 temporarily_unavailable", i, err)
		}
		if got := re.Response.Header.Get(vendorapi.ReasonHeader); got != "scenario:passport-token-endpoint-flaky" {
			t.Errorf("attempt %d: reason %q", i, got)
		}
		if en := e.lastEntry("passport"); en.Status != 503 || en.Scenario != "passport-token-endpoint-flaky" || en.Rule == nil || *en.Rule != 0 {
			t.Errorf("journal: %+v", en)
		}
	}
	tok, err := cfg.Token(e.ctx())
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("third attempt: %v", err)
	}
	// The rule is spent, and says so.
	_, body := e.admin("GET", "/scenarios", "")
	list := decode[struct {
		Active []scenarios.Status `json:"active"`
	}](t, body)
	if len(list.Active) != 1 || !list.Active[0].Rules[0].Spent || *list.Active[0].Rules[0].Remaining != 0 || list.Active[0].Rules[0].Fired != 2 {
		t.Errorf("status after the flaky start: %s", body)
	}
}

func TestScenarioPassportInvalidClient(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	e.applyBuiltin("passport-invalid-client")
	for range 3 {
		_, err := e.passportConfig(oauth2.AuthStyleInHeader).Token(e.ctx())
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.Response.StatusCode != 401 || re.ErrorCode != "invalid_client" {
			t.Fatalf("got %v, want 401 invalid_client", err)
		}
	}
	resp, _ := e.admin("DELETE", "/scenarios/passport-invalid-client", "")
	if resp.StatusCode != 200 {
		t.Fatalf("remove: %d", resp.StatusCode)
	}
	if _, err := e.passportConfig(oauth2.AuthStyleInHeader).Token(e.ctx()); err != nil {
		t.Errorf("after removing the scenario: %v", err)
	}
}

func TestScenarioPassportTokenExpired(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	tok := e.demoToken().AccessToken
	e.applyBuiltin("passport-token-expired")
	resp, body := e.do("GET", "/passport/v1/core/accounts", bearer(tok), "")
	if resp.StatusCode != 401 || reason(resp) != "token_expired" {
		t.Fatalf("first use: %d %s %s", resp.StatusCode, reason(resp), body)
	}
	if en := e.lastEntry("passport"); en.Scenario != "passport-token-expired" {
		t.Errorf("journal: %+v", en)
	}
	// It stays expired; a new token works (the rule is spent).
	if resp, _ := e.do("GET", "/passport/v1/core/accounts", bearer(tok), ""); resp.StatusCode != 401 {
		t.Errorf("second use: %d", resp.StatusCode)
	}
	if resp, _ := e.do("GET", "/passport/v1/core/accounts", bearer(e.demoToken().AccessToken), ""); resp.StatusCode != 200 {
		t.Errorf("new token: %d", resp.StatusCode)
	}
}

func TestScenarioPassKit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	e.emu.Clock().Freeze()
	jwtTok, longLived := e.passkitLogin(false), e.passkitLogin(true)
	e.applyBuiltin("passkit-jwt-expired")
	e.applyBuiltin("passkit-longlived-revoked")
	profile := func(tok string) *http.Response {
		resp, _ := e.do("GET", "/passkit/user/profile", hdr("Authorization", tok), "")
		return resp
	}
	if resp := profile(jwtTok); resp.StatusCode != 401 || reason(resp) != "token_expired" {
		t.Errorf("JWT: %d %s", resp.StatusCode, reason(resp))
	}
	if resp := profile(longLived); resp.StatusCode != 401 || reason(resp) != "token_revoked" {
		t.Errorf("long-lived: %d %s", resp.StatusCode, reason(resp))
	}
	e.emu.Clock().Advance(time.Second) // a new JWT, not the same claims again
	if resp := profile(e.passkitLogin(false)); resp.StatusCode != 200 {
		t.Errorf("new JWT: %d", resp.StatusCode)
	}
	if resp := profile(e.passkitLogin(true)); resp.StatusCode != 200 {
		t.Errorf("new long-lived token: %d", resp.StatusCode)
	}
}

func TestScenarioBrass(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	user := e.brassUser(brass.DefaultUsername)
	pat := e.brassPAT(user, "job", "owner").Token

	t.Run("pat revoked", func(t *testing.T) {
		e.applyBuiltin("brass-pat-revoked")
		// A user JWT is not what the rule matches.
		if resp, _ := e.do("GET", "/brass/banking/accounts", bearer(user), ""); resp.StatusCode != 200 {
			t.Errorf("user JWT: %d", resp.StatusCode)
		}
		resp, _ := e.do("GET", "/brass/banking/accounts", bearer(pat), "")
		if resp.StatusCode != 401 || reason(resp) != "token_revoked" {
			t.Errorf("PAT: %d %s", resp.StatusCode, reason(resp))
		}
		// The PAT list no longer shows it.
		_, body := e.do("GET", "/brass/auth/personal-access-tokens", bearer(user), "")
		if strings.Contains(string(body), `"job"`) {
			t.Errorf("revoked PAT still listed: %s", body)
		}
	})
	t.Run("otp rejected", func(t *testing.T) {
		e.applyBuiltin("brass-otp-rejected")
		temp := e.brassTemp(brass.DefaultUsername)
		otp := e.brassOTP(brass.DefaultUsername)
		resp, body := e.do("POST", "/brass/auth/login/authorise", jsonHdr(temp), fmt.Sprintf(`{"otp":%q}`, otp))
		be := decode[brassErr](t, body)
		if resp.StatusCode != 422 || reason(resp) != "scenario:brass-otp-rejected" || be.Error.Source["pointer"] != "/otp" || be.Error.Status != 422 {
			t.Errorf("right OTP under the scenario: %d %s %s", resp.StatusCode, reason(resp), body)
		}
		// The retry with the same OTP works.
		if resp, body := e.do("POST", "/brass/auth/login/authorise", jsonHdr(temp), fmt.Sprintf(`{"otp":%q}`, otp)); resp.StatusCode != 200 {
			t.Errorf("retry: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("rate limited", func(t *testing.T) {
		e.applyBuiltin("brass-rate-limited")
		resp, body := e.do("GET", "/brass/banking/accounts", bearer(user), "")
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "60" || resp.Header.Get("X-RateLimit-Remaining") != "0" ||
			reason(resp) != "scenario:brass-rate-limited" {
			t.Errorf("rate limited: %d %v %s", resp.StatusCode, resp.Header, body)
		}
		if resp, _ := e.do("GET", "/brass/banking/accounts", bearer(user), ""); resp.StatusCode != 200 {
			t.Errorf("after: %d", resp.StatusCode)
		}
	})
}

type brassErr struct {
	Error struct {
		Status      int               `json:"status"`
		Title       string            `json:"title"`
		Description string            `json:"description"`
		Source      map[string]string `json:"source"`
	} `json:"error"`
}

func TestScenarioTeleTrackerRefresh(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ builtin, reason string }{
		{"teletracker-refresh-reused", "refresh_reused"},
		{"teletracker-refresh-expired", "refresh_expired"},
	} {
		t.Run(c.builtin, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, emulator.Config{})
			s := e.ttLogin("")
			e.applyBuiltin(c.builtin)
			resp, body := e.ttRefresh(s.RefreshToken)
			if resp.StatusCode != 401 || reason(resp) != c.reason {
				t.Fatalf("refresh: %d %s %s", resp.StatusCode, reason(resp), body)
			}
			if en := e.lastEntry("teletracker"); en.Scenario != c.builtin || en.Operation != "refresh" {
				t.Errorf("journal: %+v", en)
			}
			// A new session refreshes normally.
			if resp, body := e.ttRefresh(e.ttLogin("").RefreshToken); resp.StatusCode != 200 {
				t.Errorf("new session: %d %s", resp.StatusCode, body)
			}
		})
	}
}

func TestScenarioVendorOutage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	e.apply(`{"name":"vendor-outage","vendor":"brass"}`)
	resp, body := e.do("POST", "/brass/auth/login", jsonHdr(appKey), `{"username":"demo@brass.test","password":"brass-demo"}`)
	be := decode[brassErr](t, body)
	if resp.StatusCode != 503 || be.Error.Status != 503 || resp.Header.Get("Retry-After") != "30" {
		t.Errorf("brass during its outage: %d %s", resp.StatusCode, body)
	}
	// Unknown routes are not operations: the outage covers operations only.
	if tok := e.demoToken(); tok.AccessToken == "" {
		t.Error("passport is down too")
	}
	// Without a vendor, all four are down, each in its own shape.
	e2 := newEnv(t, emulator.Config{})
	e2.applyBuiltin("vendor-outage")
	checks := []struct {
		method, path string
		h            http.Header
		body, want   string
	}{
		{"POST", tokenPath, hdr("Content-Type", "application/json"), `{"client_id":"a","client_secret":"b","grant_type":"client_credentials"}`, `"error":"temporarily_unavailable"`},
		{"GET", "/passport/v1/core/accounts", nil, "", `"code":14`},
		{"POST", "/passkit/login", hdr("Content-Type", "application/json"), `{"username":"a","password":"b"}`, `{"error":"service unavailable"}`},
		{"GET", "/teletracker/reports/call-data", nil, "", `"success":false`},
		{"GET", "/brass/banking/accounts", nil, "", `"title":"Service Unavailable"`},
	}
	for _, c := range checks {
		resp, body := e2.do(c.method, c.path, c.h, c.body)
		if resp.StatusCode != 503 || !strings.Contains(string(body), c.want) || reason(resp) != "scenario:vendor-outage" {
			t.Errorf("%s %s: %d %s", c.method, c.path, resp.StatusCode, body)
		}
	}
	// The admin plane is never affected.
	if resp, _ := e2.do("GET", "/_emulator/clock", nil, ""); resp.StatusCode != 200 {
		t.Errorf("admin during an outage: %d", resp.StatusCode)
	}
}

func TestScenarioClockSkew(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	e.emu.Clock().Freeze()
	before := e.emu.Clock().Now()
	e.applyBuiltin("clock-skew")
	tok := e.passkitLogin(false)
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, claims); err != nil {
		t.Fatal(err)
	}
	iat, _ := claims.GetIssuedAt()
	if want := before.Add(5 * time.Minute).Truncate(time.Second); !iat.Equal(want) {
		t.Errorf("iat %v, want %v: 5 minutes after the clock before the scenario", iat.Time, want)
	}
	// Only the first request skews.
	e.passkitLogin(false)
	if got := e.emu.Clock().Now().Sub(before); got != 5*time.Minute {
		t.Errorf("clock moved %v, want 5m", got)
	}
}

func TestScenarioSlowLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	e.applyBuiltin("slow-login")
	// Only logins are slow.
	start := time.Now()
	if resp, _ := e.do("GET", "/passport/v1/core/accounts", nil, ""); resp.StatusCode != 401 {
		t.Fatalf("accounts: %d", resp.StatusCode)
	}
	if d := time.Since(start); d >= 3*time.Second {
		t.Errorf("a non-login request took %v", d)
	}
	start = time.Now()
	s := e.ttLogin("")
	if d := time.Since(start); d < 3*time.Second || s.Token == "" {
		t.Errorf("TeleTracker login took %v, want at least 3s", d)
	}
	if en := e.lastEntry("teletracker"); en.LatencyMS < 3000 || en.Scenario != "slow-login" || *en.Rule != 4 {
		t.Errorf("journal: %+v", en)
	}
}

// A request that carries X-Tokenemu-Scenario gets that built-in alone.
func TestScenarioPerRequestOverride(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	h := hdr("Content-Type", "application/json", emulator.ScenarioHeader, "passport-token-endpoint-flaky")
	body := fmt.Sprintf(`{"client_id":%q,"client_secret":%q,"grant_type":"client_credentials"}`, passport.DefaultClientID, passport.DefaultClientSecret)
	for range 3 { // every request with the header is "the first"
		if resp, b := e.do("POST", tokenPath, h, body); resp.StatusCode != 503 || reason(resp) != "scenario:passport-token-endpoint-flaky" {
			t.Errorf("with the header: %d %s", resp.StatusCode, b)
		}
	}
	if resp, _ := e.do("POST", tokenPath, hdr("Content-Type", "application/json"), body); resp.StatusCode != 200 {
		t.Errorf("without the header: %d", resp.StatusCode)
	}
	if len(e.emu.ActiveScenarios()) != 0 {
		t.Error("the override left an active scenario")
	}
	// A built-in for another operation does nothing to this one.
	h.Set(emulator.ScenarioHeader, "brass-otp-rejected")
	if resp, _ := e.do("POST", tokenPath, h, body); resp.StatusCode != 200 {
		t.Errorf("unrelated built-in: %d", resp.StatusCode)
	}
	// An unknown name is a 400 in the vendor's shape.
	h.Set(emulator.ScenarioHeader, "no-such-thing")
	resp, b := e.do("POST", tokenPath, h, body)
	if resp.StatusCode != 400 || reason(resp) != "scenario_unknown" || !strings.Contains(string(b), "invalid_request") {
		t.Errorf("unknown name: %d %s %s", resp.StatusCode, reason(resp), b)
	}
}

func TestScenarioCustomRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	tok := e.demoToken().AccessToken
	e.apply(`
name: custom
description: third call fails, principal revoked on accounts, custom body
rules:
  - match: {vendor: passport, operation: getAccount}
    trigger: {nth: 2}
    action:
      status: 418
      body: {teapot: true}
      headers: {X-Custom: "yes"}
  - match: {vendor: teletracker, operation: getCallData, principal: demo@teletracker.test}
    action: {revoke: principal}
`)
	_, body := e.do("GET", "/passport/v1/core/accounts", bearer(tok), "")
	id := decode[struct {
		Accounts []struct {
			ID string `json:"account_id"`
		} `json:"accounts"`
	}](t, body).Accounts[0].ID
	plain := &http.Client{}
	get := func() (*http.Response, string) {
		req, _ := http.NewRequest("GET", e.srv.URL+"/passport/v1/core/accounts/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := plain.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if resp, _ := get(); resp.StatusCode != 200 {
		t.Errorf("first get: %d", resp.StatusCode)
	}
	if resp, b := get(); resp.StatusCode != 418 || strings.TrimSpace(b) != `{"teapot":true}` || resp.Header.Get("X-Custom") != "yes" ||
		reason(resp) != "scenario:custom" {
		t.Errorf("second get: %d %s %v", resp.StatusCode, b, resp.Header)
	}
	if resp, _ := get(); resp.StatusCode != 200 {
		t.Errorf("third get: %d", resp.StatusCode)
	}

	s1, s2 := e.ttLogin(""), e.ttLogin("")
	if code, _ := e.ttCalls(bearer(s1.Token), ""); code != 401 {
		t.Errorf("call data under revoke principal: %d", code)
	}
	if code, _ := e.ttCalls(bearer(s2.Token), ""); code != 401 {
		t.Errorf("the principal's other session: %d", code)
	}
}

func TestScenarioDrop(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	e.apply("name: drop\nrules:\n  - match: {vendor: passkit, operation: login}\n    trigger: {first: 1}\n    action: {drop: true}\n")
	req, _ := http.NewRequest("POST", e.srv.URL+"/passkit/login", strings.NewReader(`{"username":"demo@passkit.test","password":"passkit-demo"}`))
	req.Header.Set("Content-Type", "application/json")
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	_, err := (&http.Client{Transport: tr}).Do(req)
	if err == nil {
		t.Fatal("a dropped connection answered")
	}
	// The journal entry is written as the handler returns, which may be after
	// the client saw the connection close.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if es := e.emu.WaitForRequests(ctx, emulator.JournalFilter{Vendor: "passkit"}, 1); len(es) != 1 || es[0].Status != 0 || es[0].Scenario != "drop" {
		t.Errorf("journal: %+v", es)
	}
	if tok := e.passkitLogin(false); tok == "" {
		t.Error("login after the drop")
	}
}

func TestScenarioAdmin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	_, body := e.admin("GET", "/scenarios", "")
	list := decode[struct {
		Builtins []emulator.BuiltinInfo `json:"builtins"`
		Active   []scenarios.Status     `json:"active"`
	}](t, body)
	if len(list.Builtins) != 13 || len(list.Active) != 0 {
		t.Fatalf("list: %s", body)
	}
	for _, b := range list.Builtins {
		if b.Name == "" || b.Description == "" {
			t.Errorf("built-in without a name or description (it failed to load): %+v", b)
		}
	}
	// A YAML document with two scenarios, then a JSON array.
	e.apply("name: a\nrules: [{match: {vendor: brass}, action: {status: 500}}]\n---\nname: b\nrules: [{match: {vendor: passkit}, action: {status: 500}}]\n")
	e.apply(`[{"name":"c","rules":[{"match":{"vendor":"passport"},"action":{"status":500}}]}]`)
	if got := len(e.emu.ActiveScenarios()); got != 3 {
		t.Fatalf("%d active", got)
	}
	resp, _ := e.admin("DELETE", "/scenarios/b", "")
	if resp.StatusCode != 200 || len(e.emu.ActiveScenarios()) != 2 {
		t.Errorf("remove b: %d", resp.StatusCode)
	}
	if resp, body := e.admin("DELETE", "/scenarios/b", ""); resp.StatusCode != 404 {
		t.Errorf("remove b again: %d %s", resp.StatusCode, body)
	}
	// replace=true re-arms an active scenario.
	h := hdr("Content-Type", "application/json")
	if resp, body := e.do("POST", "/_emulator/scenarios?replace=true", h, `{"name":"c","rules":[{"match":{"vendor":"passport"},"action":{"status":502}}]}`); resp.StatusCode != 201 {
		t.Errorf("replace: %d %s", resp.StatusCode, body)
	}
	resp, _ = e.admin("DELETE", "/scenarios", "")
	if resp.StatusCode != 200 || len(e.emu.ActiveScenarios()) != 0 {
		t.Errorf("clear: %d", resp.StatusCode)
	}
}

func TestScenarioBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	e.applyBuiltin("slow-login")
	big := "name: big\ndescription: " + strings.Repeat("x", 1<<20-40) + "\nrules: []\n"
	cases := []struct {
		name, ctype, body string
		status            int
		code, msg         string
	}{
		{"malformed yaml", "application/yaml", "name: [a\n", 400, "invalid_scenario", "parse scenario 1"},
		{"1 MiB scenario", "application/yaml", big, 400, "invalid_scenario", "the limit is"},
		{"over the body limit", "application/yaml", big + strings.Repeat("#", 100), 413, "body_too_large", ""},
		{"matches nothing", "application/yaml", "name: x\nrules:\n  - match: {vendor: passport, path: /passport/nowhere}\n    action: {status: 500}\n", 400, "invalid_scenario", `scenario "x": rule 0: match.path: matches nothing`},
		{"negative count", "application/yaml", "name: x\nrules:\n  - match: {vendor: brass}\n    trigger: {first: -2}\n    action: {status: 500}\n", 400, "invalid_scenario", "rule 0: trigger.first: -2 is negative"},
		{"unknown action", "application/yaml", "name: x\nrules:\n  - match: {vendor: brass}\n    action: {explode: true}\n", 400, "invalid_scenario", "field explode not found"},
		{"unknown operation", "application/json", `{"name":"x","rules":[{"match":{"vendor":"brass","operation":"fly"},"action":{"status":500}}]}`, 400, "invalid_scenario", `unknown operationId "fly"`},
		{"duplicate name", "application/json", `{"name":"slow-login"}`, 400, "duplicate_scenario", "already active"},
		{"duplicate in one document", "application/yaml", "name: d\nrules: [{match: {vendor: brass}, action: {status: 500}}]\n---\nname: d\nrules: [{match: {vendor: brass}, action: {status: 500}}]\n", 400, "invalid_scenario", "twice"},
		{"unknown built-in", "application/json", `{"name":"no-such-thing"}`, 400, "unknown_scenario", "built-ins: brass-otp-rejected"},
		{"bad vendor for built-in", "application/json", `{"name":"vendor-outage","vendor":"acme"}`, 400, "invalid_scenario", `unknown vendor "acme"`},
		{"bad duration", "application/yaml", "name: x\nrules:\n  - match: {vendor: brass}\n    action: {delay: soon}\n", 400, "invalid_scenario", `bad duration "soon"`},
		{"empty", "application/yaml", "", 400, "", ""},
		{"wrong content type", "text/csv", "a,b", 415, "", ""},
	}
	for _, c := range cases {
		resp, body := e.do("POST", "/_emulator/scenarios", hdr("Content-Type", c.ctype), c.body)
		m := decode[map[string]string](t, body)
		if resp.StatusCode != c.status || !strings.Contains(m["error"], c.code) || !strings.Contains(m["message"], c.msg) {
			t.Errorf("%s: got %d %.300s, want %d %s %q", c.name, resp.StatusCode, body, c.status, c.code, c.msg)
		}
	}
	// Nothing changed: slow-login alone is still active, and the emulator serves.
	if act := e.emu.ActiveScenarios(); len(act) != 1 || act[0].Name != "slow-login" {
		t.Errorf("active after bad input: %+v", act)
	}
	if resp, _ := e.do("GET", "/_emulator/healthz", nil, ""); resp.StatusCode != 200 {
		t.Error("healthz after bad input")
	}
}

// Config.Scenarios are active from the start and come back, re-armed, after a reset.
func TestScenarioFromConfigSurvivesReset(t *testing.T) {
	t.Parallel()
	cat, err := emulator.ScenarioCatalog(nil)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := scenarios.NewEngine(cat, 1)
	if err != nil {
		t.Fatal(err)
	}
	flaky, _ := eng.Builtin("passport-token-endpoint-flaky", "")
	e := newEnv(t, emulator.Config{Scenarios: []scenarios.Scenario{flaky}})
	body := fmt.Sprintf(`{"client_id":%q,"client_secret":%q,"grant_type":"client_credentials"}`, passport.DefaultClientID, passport.DefaultClientSecret)
	codes := func() []int {
		var out []int
		for range 3 {
			resp, _ := e.do("POST", tokenPath, hdr("Content-Type", "application/json"), body)
			out = append(out, resp.StatusCode)
		}
		return out
	}
	if got := fmt.Sprint(codes()); got != "[503 503 200]" {
		t.Errorf("from start: %s", got)
	}
	e.applyBuiltin("vendor-outage")
	if resp, _ := e.admin("POST", "/reset", ""); resp.StatusCode != 200 {
		t.Fatal("reset")
	}
	if got := fmt.Sprint(codes()); got != "[503 503 200]" {
		t.Errorf("after reset: %s", got)
	}
	// A bad start-up scenario is an error from New.
	bad := flaky
	bad.Rules = nil
	if _, err := emulator.New(emulator.Config{Scenarios: []scenarios.Scenario{bad}}); err == nil {
		t.Error("New accepted an invalid scenario")
	}
}
