package emulator_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/brass"
	"github.com/tokenemu/tokenemu/emulator/passkit"
	"github.com/tokenemu/tokenemu/emulator/passport"
	"github.com/tokenemu/tokenemu/emulator/teletracker"
)

// recorded is one answer as the secrets test searches it.
type recorded struct {
	what       string // method and path
	text       string // status line, headers and body, but X-Passkit-Token
	freshToken string // X-Passkit-Token
}

// TestSecretsNeverLeak sends known secrets through every vendor's endpoints,
// right and wrong, and searches every output for them: each response's
// headers and body (but the one response that issues a token may hold that
// token), the debug log, the journal, the admin token list and the active
// scenarios. Wrong passwords and unknown tokens must never be echoed either.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	logs := &emulator.SyncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	stateFile := filepath.Join(t.TempDir(), "state.json")
	e := newEnv(t, emulator.Config{Logger: logger, AdminToken: "admin-secret-canary-0b7d",
		State: emulator.StateConfig{File: stateFile, Interval: time.Hour}})
	emu := e.emu
	// Every answer is kept (and, through the harness, checked against its
	// OpenAPI document).
	var out []recorded
	e.spec.record = func(req *http.Request, resp *http.Response, body []byte) {
		var b strings.Builder
		fmt.Fprintf(&b, "%d\n", resp.StatusCode)
		// X-Passkit-Token is a JWT issued to the caller, by design; in the
		// second of a login it is the login's JWT, as at PassKit. It is
		// searched apart.
		h := resp.Header.Clone()
		h.Del("X-Passkit-Token")
		_ = h.Write(&b)
		b.Write(body)
		out = append(out, recorded{what: req.Method + " " + req.URL.Path, text: b.String(),
			freshToken: resp.Header.Get("X-Passkit-Token")})
	}

	const (
		wrongPassword = "canary-wrong-password-51c2"
		unknownToken  = "canaryUnknownToken9d4e0a"
		// A token of the usual length that no vendor issued, pasted into paths.
		unknownOpaque = "canaryUnknownOpaqueTokenOf43Chars0123456789"
		wrongOTP      = "918273"
	)
	// secrets: value → the index of the response allowed to hold it (-1: none).
	secrets := map[string]int{
		wrongPassword: -1, unknownToken: -1, unknownOpaque: -1, wrongOTP: -1, "admin-secret-canary-0b7d": -1,
		passport.DefaultClientSecret: -1, passkit.DefaultPassword: -1,
		brass.DefaultPassword: -1, brass.DefaultAppKey: -1, teletracker.DefaultPassword: -1,
	}
	do := func(method, path string, h http.Header, body string) (int, []byte, int) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, e.srv.URL+path, rd)
		for k, v := range h {
			req.Header[k] = v
		}
		if strings.HasPrefix(path, "/_emulator") && req.Header.Get("Authorization") == "" {
			req.Header.Set("Authorization", "Bearer admin-secret-canary-0b7d")
		}
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b, len(out) - 1
	}
	issued := func(value string, at int) {
		t.Helper()
		if value == "" {
			t.Fatalf("no token issued at response %d: %s", at, out[at].text)
		}
		secrets[value] = at
	}
	js := func(auth string) http.Header {
		h := http.Header{"Content-Type": {"application/json"}}
		if auth != "" {
			h.Set("Authorization", auth)
		}
		return h
	}
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	basic := func(u, p string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p)) }

	// Passport.
	do("POST", "/passport/v1/iam/oauth/tokens", form, url.Values{"grant_type": {"client_credentials"},
		"client_id": {passport.DefaultClientID}, "client_secret": {wrongPassword}}.Encode())
	do("POST", "/passport/v1/iam/oauth/tokens", js(""),
		fmt.Sprintf(`{"grant_type":"client_credentials","client_id":%q,"client_secret":%q}`, passport.DefaultClientID, wrongPassword))
	do("POST", "/passport/v1/iam/oauth/tokens", http.Header{"Content-Type": form["Content-Type"],
		"Authorization": {basic(passport.DefaultClientID, wrongPassword)}}, "grant_type=client_credentials")
	_, b, at := do("POST", "/passport/v1/iam/oauth/tokens", form, url.Values{"grant_type": {"client_credentials"},
		"client_id": {passport.DefaultClientID}, "client_secret": {passport.DefaultClientSecret}}.Encode())
	pp, ppID := field(b, "access_token"), field(b, "token_id")
	issued(pp, at)
	do("GET", "/passport/v1/core/accounts", js("Bearer "+pp), "")
	do("GET", "/passport/v1/core/accounts", js("Bearer "+unknownToken), "")
	do("GET", "/passport/v1/iam/oauth/tokens", js("Bearer "+pp), "")
	do("GET", "/passport/v1/iam/oauth/tokens/"+ppID, js("Bearer "+pp), "")
	do("GET", "/passport/v1/iam/oauth/tokens/3f2b6c1e-8d4a-4e2b-9c1f-5a6b7c8d9e0f", js("Bearer "+pp), "")

	// PassKit.
	do("POST", "/passkit/login", js(""), fmt.Sprintf(`{"username":%q,"password":%q}`, passkit.DefaultUsername, wrongPassword))
	do("POST", "/passkit/login", js(""), fmt.Sprintf(`{"username":%q,"password":%d}`, passkit.DefaultUsername, 918273))
	_, b, at = do("POST", "/passkit/login", js(""), fmt.Sprintf(`{"username":%q,"password":%q}`, passkit.DefaultUsername, passkit.DefaultPassword))
	pk := field(b, "token")
	issued(pk, at)
	lh := js("")
	lh.Set("X-Passkit-Longlived-Token", "true")
	_, b, at = do("POST", "/passkit/login", lh, fmt.Sprintf(`{"username":%q,"password":%q}`, passkit.DefaultUsername, passkit.DefaultPassword))
	pkLong := field(b, "token")
	issued(pkLong, at)
	do("GET", "/passkit/user/profile", js(pk), "")
	do("GET", "/passkit/user/profile", js(pkLong), "")
	do("GET", "/passkit/user/profile", js("Bearer "+unknownToken), "")
	do("POST", "/passkit/user/new", js(""), fmt.Sprintf(`{"username":%q,"password":%q,"companyName":"c","emailAddress":"x@example.test"}`,
		passkit.DefaultUsername, wrongPassword))

	// Brass.
	do("POST", "/brass/auth/login", js("Bearer "+unknownToken), `{"username":"a@b.test","password":"x"}`)
	do("POST", "/brass/auth/login", js("Bearer "+brass.DefaultAppKey), fmt.Sprintf(`{"username":%q,"password":%q}`, brass.DefaultUsername, wrongPassword))
	_, b, at = do("POST", "/brass/auth/login", js("Bearer "+brass.DefaultAppKey), fmt.Sprintf(`{"username":%q,"password":%q}`, brass.DefaultUsername, brass.DefaultPassword))
	temp := field(b, "token")
	issued(temp, at)
	do("POST", "/brass/auth/login/authorise", js("Bearer "+temp), fmt.Sprintf(`{"otp":%q}`, wrongOTP))
	otp, _ := brass.OTP(mustVendor(t, emu, brass.Name), brass.DefaultUsername)
	secrets[otp] = -1
	_, b, at = do("POST", "/brass/auth/login/authorise", js("Bearer "+temp), fmt.Sprintf(`{"otp":%q}`, otp))
	user := field(b, "token")
	issued(user, at)
	_, b, at = do("POST", "/brass/auth/personal-access-tokens", js("Bearer "+user), `{"name":"ci","role":"member"}`)
	pat, patID := field(b, "token"), field(b, "id")
	issued(pat, at)
	do("GET", "/brass/auth/personal-access-tokens", js("Bearer "+pat), "")
	do("GET", "/brass/banking/accounts", js("Bearer "+pat), "")
	do("GET", "/brass/banking/accounts", js("Bearer 1|pat-"+unknownToken), "")
	do("DELETE", "/brass/auth/personal-access-tokens/"+patID, js("Bearer "+user), "")
	do("GET", "/brass/banking/accounts", js("Bearer "+pat), "")

	// TeleTracker.
	do("POST", "/teletracker/auth/login", form, "username=demo%40teletracker.test&password="+wrongPassword)
	_, b, at = do("POST", "/teletracker/auth/login", form, "username=demo%40teletracker.test&password="+url.QueryEscape(teletracker.DefaultPassword))
	tt, ttRefresh := field(b, "token"), field(b, "refreshToken")
	issued(tt, at)
	issued(ttRefresh, at)
	do("GET", "/teletracker/reports/call-data?account_id=1001&date=2026-01-01", http.Header{"Authentication": {"Bearer " + tt}}, "")
	_, b, at = do("POST", "/teletracker/auth/refresh", js(""), fmt.Sprintf(`{"refresh_token":%q}`, ttRefresh))
	tt2, ttRefresh2 := field(b, "token"), field(b, "refreshToken")
	issued(tt2, at)
	issued(ttRefresh2, at)
	do("POST", "/teletracker/auth/refresh", js(""), fmt.Sprintf(`{"refresh_token":%q}`, ttRefresh)) // reused
	do("POST", "/teletracker/auth/refresh", js(""), fmt.Sprintf(`{"refresh_token":%q}`, unknownToken))
	do("POST", "/teletracker/auth/masquerade", js(basic(teletracker.IntegratorUser, wrongPassword)), `{"account_id":1001}`)
	do("POST", "/teletracker/auth/logout", js("Bearer "+tt2), "")

	// The admin plane: wrong admin token, token changes by value, a
	// scenario keyed on a token, and every listing.
	do("GET", "/_emulator/tokens", js("Bearer "+wrongPassword), "")
	do("POST", "/_emulator/tokens/expire", js(""), fmt.Sprintf(`{"token":%q}`, pp))
	do("POST", "/_emulator/tokens/revoke", js(""), fmt.Sprintf(`{"token":%q}`, pkLong))
	do("POST", "/_emulator/tokens/revoke", js(""), fmt.Sprintf(`{"token":%q}`, unknownToken))
	do("POST", "/_emulator/scenarios", js(""), fmt.Sprintf(`{"name":"one-token","rules":[{"match":{"vendor":"passkit","token":%q},"action":{"status":401}}]}`, pk))
	do("GET", "/passkit/user/profile", js(pk), "")
	// A scenario keyed on a credential header keeps only its SHA-256.
	do("POST", "/_emulator/scenarios", js(""), fmt.Sprintf(`{"name":"one-header","rules":[{"match":{"vendor":"passport","header":{"authorization":"Bearer %s"}},"action":{"status":503}}]}`, pp))
	// Secrets pasted into paths: a vendor's path parameter, paths no route
	// matches, the admin plane's parameters. The answers may say the path
	// back to its sender; the journal, the log and the listings must not.
	echoFrom := len(out)
	for _, secret := range []string{pp, pk, pkLong, pat, tt, ttRefresh, unknownOpaque, "admin-secret-canary-0b7d",
		passport.DefaultClientSecret, brass.DefaultAppKey, teletracker.DefaultPassword} {
		do("GET", "/passport/v1/iam/oauth/tokens/"+url.PathEscape(secret), js("Bearer "+pp), "")
		do("GET", "/passport/v1/core/accounts/"+url.PathEscape(secret), js("Bearer "+pp), "")
		do("GET", "/teletracker/no/such/route/"+url.PathEscape(secret), nil, "")
		do("DELETE", "/brass/auth/personal-access-tokens/"+url.PathEscape(secret), js("Bearer "+user), "")
		do("GET", "/nowhere/"+url.PathEscape(secret), nil, "")
		do("DELETE", "/_emulator/scenarios/"+url.PathEscape(secret), js(""), "")
	}
	echoTo := len(out)
	do("GET", "/_emulator/scenarios", nil, "")
	do("GET", "/_emulator/tokens", nil, "")
	do("GET", "/_emulator/journal", nil, "")
	_, b, at = do("POST", "/_emulator/tokens/issue", js(""), `{"vendor":"teletracker","principal":"demo@teletracker.test"}`)
	issued(field(b, "token"), at)
	issued(field(b, "refresh_token"), at)

	if _, err := emu.SaveState(); err != nil {
		t.Fatal(err)
	}
	state, err := os.ReadFile(stateFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(state), "one-header") {
		t.Fatalf("the state file has no scenario: %s", state)
	}
	logText := logs.String()
	if !strings.Contains(logText, `"msg":"request"`) {
		t.Fatalf("the debug log has no request lines: %s", logText)
	}
	for secret, allowedAt := range secrets {
		found := leakFinder(secret)
		for i, r := range out {
			if i != allowedAt && (i < echoFrom || i >= echoTo) && found(r.text) {
				t.Errorf("secret %.12s… appears in the answer to %s (response %d):\n%s", secret, r.what, i, r.text)
			}
			if secret != pk && found(r.freshToken) {
				t.Errorf("secret %.12s… appears in X-Passkit-store.Token of the answer to %s (response %d)", secret, r.what, i)
			}
		}
		if found(logText) {
			t.Errorf("secret %.12s… appears in the log", secret)
		}
		if found(string(state)) {
			t.Errorf("secret %.12s… appears in the state file", secret)
		}
	}
	if len(out) < 40 {
		t.Errorf("only %d responses searched", len(out))
	}
	t.Logf("%d secrets searched for in %d responses, %d bytes of log", len(secrets), len(out), len(logText))
}

// leakFinder reports whether a text holds secret, as it is or JSON-escaped.
// A secret of digits alone (an OTP) counts only as a whole number, so that
// the digits of a timestamp are not taken for it.
func leakFinder(secret string) func(string) bool {
	forms := []string{secret}
	if esc, _ := json.Marshal(secret); string(esc[1:len(esc)-1]) != secret {
		forms = append(forms, string(esc[1:len(esc)-1]))
	}
	if strings.Trim(secret, "0123456789") == "" {
		re := regexp.MustCompile(`(^|[^0-9])` + secret + `([^0-9]|$)`)
		return re.MatchString
	}
	return func(text string) bool {
		for _, f := range forms {
			if strings.Contains(text, f) {
				return true
			}
		}
		return false
	}
}

// A client secret set through the admin plane stays redacted after the
// state is restored into another emulator, which never saw it in clear.
func TestRotatedSecretStaysRedactedAfterARestore(t *testing.T) {
	t.Parallel()
	a, err := emulator.New(emulator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	const secret = "rotated-secret-0123" // shorter than a secret guessed by its length alone
	if _, err := passport.CreateClient(mustVendor(t, a, passport.Name), passport.ClientSpec{ClientID: "qa", ClientSecret: secret}); err != nil {
		t.Fatal(err)
	}
	var saved bytes.Buffer
	if err := a.WriteState(&saved); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(saved.String(), secret) {
		t.Fatal("the state file holds the secret")
	}
	b := newEnv(t, emulator.Config{})
	if err := b.emu.ReadState(&saved); err != nil {
		t.Fatal(err)
	}
	b.do("GET", "/passport/v1/iam/oauth/tokens/"+secret, bearer(b.demoToken().AccessToken), "")
	for _, en := range b.emu.Requests(emulator.JournalFilter{Vendor: passport.Name}) {
		if strings.Contains(en.Path, secret) {
			t.Errorf("the journal shows a restored client's secret: %s", en.Path)
		}
	}
}
