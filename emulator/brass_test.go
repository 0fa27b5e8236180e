package emulator_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/brass"
)

const appKey = brass.DefaultAppKey

type brassTok struct {
	Token string `json:"token"`
	Data  struct {
		Token string `json:"token"`
	} `json:"data"`
}

type brassErrBody struct {
	Error struct {
		Status      int               `json:"status"`
		Title       string            `json:"title"`
		Description string            `json:"description"`
		Source      map[string]string `json:"source"`
	} `json:"error"`
}

type brassPAT struct {
	ID          int64    `json:"id"`
	Name        string   `json:"name"`
	Token       string   `json:"token"`
	Permissions []string `json:"permissions"`
	LastUsedAt  *string  `json:"last_used_at"`
	Role        struct {
		Data struct{ ID, Name string } `json:"data"`
	} `json:"role"`
}

func jsonHdr(auth string) http.Header {
	return hdr("Authorization", "Bearer "+auth, "Content-Type", "application/json")
}

// brassTemp logs in with the app key and returns the temporary JWT.
func (e *env) brassTemp(user string) string {
	e.t.Helper()
	resp, body := e.do("POST", "/brass/auth/login", jsonHdr(appKey), fmt.Sprintf(`{"username":%q,"password":"brass-demo"}`, user))
	if resp.StatusCode != 200 {
		e.t.Fatalf("brass login %s: %d %s", user, resp.StatusCode, body)
	}
	tok := decode[brassTok](e.t, body)
	if tok.Token == "" || tok.Token != tok.Data.Token {
		e.t.Fatalf("login token placement: %s", body)
	}
	return tok.Token
}

func (e *env) brassOTP(user string) string {
	e.t.Helper()
	resp, body := e.do("GET", "/_emulator/brass/otp?username="+user, nil, "")
	if resp.StatusCode != 200 {
		e.t.Fatalf("otp for %s: %d %s", user, resp.StatusCode, body)
	}
	return decode[map[string]string](e.t, body)["otp"]
}

func (e *env) brassUser(user string) string {
	e.t.Helper()
	temp := e.brassTemp(user)
	resp, body := e.do("POST", "/brass/auth/login/authorise", jsonHdr(temp), fmt.Sprintf(`{"otp":%q}`, e.brassOTP(user)))
	if resp.StatusCode != 200 {
		e.t.Fatalf("authorise %s: %d %s", user, resp.StatusCode, body)
	}
	return decode[brassTok](e.t, body).Token
}

func (e *env) brassPAT(auth, name, role string) brassPAT {
	e.t.Helper()
	resp, body := e.do("POST", "/brass/auth/personal-access-tokens", jsonHdr(auth), fmt.Sprintf(`{"name":%q,"role":%q}`, name, role))
	if resp.StatusCode != 201 {
		e.t.Fatalf("create PAT %s/%s: %d %s", name, role, resp.StatusCode, body)
	}
	return decode[struct{ Data brassPAT }](e.t, body).Data
}

func TestBrassLoginFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	e.emu.Clock().Freeze()
	temp := e.brassTemp(brass.DefaultUsername)
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(temp, claims); err != nil {
		t.Fatal(err)
	}
	if claims["lvl"] != float64(1) || claims["exp"].(float64)-claims["iat"].(float64) != 600 {
		t.Errorf("temporary JWT claims %v: want lvl 1 and 10 minutes", claims)
	}
	// The temporary JWT works nowhere but authorise.
	resp, body := e.do("GET", "/brass/banking/accounts", bearer(temp), "")
	if resp.StatusCode != 401 || resp.Header.Get("X-Tokenemu-Reason") != "token_not_accepted" {
		t.Errorf("temporary JWT on accounts: %d %s", resp.StatusCode, body)
	}
	resp, body = e.do("POST", "/brass/auth/login/authorise", jsonHdr(temp), fmt.Sprintf(`{"otp":%q}`, e.brassOTP(brass.DefaultUsername)))
	if resp.StatusCode != 200 {
		t.Fatalf("authorise: %d %s", resp.StatusCode, body)
	}
	user := decode[brassTok](t, body).Token
	claims = jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(user, claims); err != nil {
		t.Fatal(err)
	}
	if claims["lvl"] != float64(2) || claims["exp"].(float64)-claims["iat"].(float64) != 3600 {
		t.Errorf("user JWT claims %v: want lvl 2 and exp = iat + 3600", claims)
	}
	// Single use.
	resp, _ = e.do("POST", "/brass/auth/login/authorise", jsonHdr(temp), `{"otp":"000000"}`)
	if resp.StatusCode != 401 || resp.Header.Get("X-Tokenemu-Reason") != "token_revoked" {
		t.Errorf("temporary JWT again: %d %s", resp.StatusCode, resp.Header.Get("X-Tokenemu-Reason"))
	}
	// The user JWT is refused at authorise, and works elsewhere until 3600 s.
	if resp, _ = e.do("POST", "/brass/auth/login/authorise", jsonHdr(user), `{"otp":"000000"}`); resp.StatusCode != 401 {
		t.Errorf("user JWT at authorise: %d, want 401", resp.StatusCode)
	}
	iat := time.Unix(int64(claims["iat"].(float64)), 0)
	e.emu.Clock().Set(iat.Add(3599 * time.Second))
	if resp, body = e.do("GET", "/brass/banking/accounts", bearer(user), ""); resp.StatusCode != 200 {
		t.Fatalf("user JWT at 3599 s: %d %s", resp.StatusCode, body)
	}
	e.emu.Clock().Set(iat.Add(3600 * time.Second))
	resp, body = e.do("GET", "/brass/banking/accounts", bearer(user), "")
	if resp.StatusCode != 401 || resp.Header.Get("X-Tokenemu-Reason") != "token_expired" || decode[brassErrBody](t, body).Error.Status != 401 {
		t.Errorf("user JWT at 3600 s: %d %s", resp.StatusCode, body)
	}
	// A user JWT (or PAT) also logs in, like the app key (auth levels).
	e.emu.Clock().Set(iat)
	if resp, body = e.do("POST", "/brass/auth/login", jsonHdr(user), `{"username":"demo@brass.test","password":"brass-demo"}`); resp.StatusCode != 200 {
		t.Errorf("login with a user JWT: %d %s", resp.StatusCode, body)
	}
}

func TestBrassTOTPAndAttempts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	e.emu.Clock().Set(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	e.emu.Clock().Freeze()
	opts := totp.ValidateOpts{Period: 30, Skew: 1, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	code := func(at time.Time) string {
		c, err := totp.GenerateCodeCustom(brass.DefaultTOTPSecret, at, opts)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	now := e.emu.Clock().Now()
	for _, c := range []struct {
		name string
		at   time.Time
		want int
	}{{"now", now, 200}, {"one step back", now.Add(-30 * time.Second), 200}, {"one step ahead", now.Add(30 * time.Second), 200}, {"two steps back", now.Add(-61 * time.Second), 422}} {
		temp := e.brassTemp(brass.DefaultUsername)
		resp, body := e.do("POST", "/brass/auth/login/authorise", jsonHdr(temp), fmt.Sprintf(`{"otp":%q}`, code(c.at)))
		if resp.StatusCode != c.want {
			t.Errorf("TOTP %s: %d %s, want %d", c.name, resp.StatusCode, body, c.want)
		}
	}
	// Five wrong OTPs consume the temporary token.
	temp := e.brassTemp(brass.DefaultUsername)
	good := e.brassOTP(brass.DefaultUsername)
	wrong := "000000"
	if good == wrong || code(now) == wrong {
		wrong = "111111"
	}
	for i := 1; i <= 5; i++ {
		resp, body := e.do("POST", "/brass/auth/login/authorise", jsonHdr(temp), fmt.Sprintf(`{"otp":%q}`, wrong))
		if be := decode[brassErrBody](t, body); resp.StatusCode != 422 || be.Error.Source["pointer"] != "/otp" {
			t.Errorf("wrong OTP %d: %d %s", i, resp.StatusCode, body)
		}
	}
	resp, body := e.do("POST", "/brass/auth/login/authorise", jsonHdr(temp), fmt.Sprintf(`{"otp":%q}`, good))
	if resp.StatusCode != 401 || resp.Header.Get("X-Tokenemu-Reason") != "token_revoked" {
		t.Errorf("right OTP after 5 wrong: %d %s, want 401", resp.StatusCode, body)
	}
}

func TestBrassPATLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	e.emu.Clock().Freeze()
	user := e.brassUser(brass.DefaultUsername)
	pat := e.brassPAT(user, "ci", "owner")
	parts := strings.SplitN(pat.Token, "|", 2)
	if parts[0] != strconv.FormatInt(pat.ID, 10) || !strings.HasPrefix(parts[1], "pat-") || len(parts[1]) != 44 {
		t.Errorf("PAT %q, want %d|pat-<40>", pat.Token, pat.ID)
	}
	if pat.Role.Data.Name != "owner" || pat.Role.Data.ID != "rol_7h8f07GPpE17GGgrBA2vmN" || pat.LastUsedAt != nil {
		t.Errorf("PAT body %+v", pat)
	}
	if resp, body := e.do("GET", "/brass/banking/payments", bearer(pat.Token), ""); resp.StatusCode != 200 {
		t.Fatalf("use PAT: %d %s", resp.StatusCode, body)
	}
	// Listed without its token.
	resp, body := e.do("GET", "/brass/auth/personal-access-tokens", bearer(user), "")
	if resp.StatusCode != 200 || strings.Contains(string(body), parts[1]) || strings.Contains(string(body), `"token"`) {
		t.Errorf("list: %d %s", resp.StatusCode, body)
	}
	listed := decode[struct{ Data []brassPAT }](t, body).Data
	if len(listed) != 1 || listed[0].ID != pat.ID || listed[0].LastUsedAt == nil {
		t.Errorf("list: %+v, want the PAT with last_used_at set", listed)
	}
	// Ten virtual years later, still valid.
	if _, err := e.emu.Clock().Advance(10 * 365 * 24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	if resp, body = e.do("GET", "/brass/banking/accounts", bearer(pat.Token), ""); resp.StatusCode != 200 {
		t.Fatalf("PAT after 10 years: %d %s", resp.StatusCode, body)
	}
	// Revoked by itself (its owner), then refused.
	if resp, body = e.do("DELETE", fmt.Sprintf("/brass/auth/personal-access-tokens/%d", pat.ID), bearer(pat.Token), ""); resp.StatusCode != 204 {
		t.Fatalf("revoke: %d %s", resp.StatusCode, body)
	}
	resp, body = e.do("GET", "/brass/banking/accounts", bearer(pat.Token), "")
	if resp.StatusCode != 401 || resp.Header.Get("X-Tokenemu-Reason") != "token_revoked" {
		t.Errorf("revoked PAT: %d %s", resp.StatusCode, body)
	}
	if resp, _ = e.do("DELETE", fmt.Sprintf("/brass/auth/personal-access-tokens/%d", pat.ID), bearer(e.brassUser(brass.DefaultUsername)), ""); resp.StatusCode != 404 {
		t.Errorf("revoke twice: %d, want 404", resp.StatusCode)
	}
}

func TestBrassPermissions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	owner := e.brassUser(brass.DefaultUsername)
	payables := e.brassUser(brass.PayablesUsername)
	ownerPAT := e.brassPAT(owner, "owner's", "member")

	// A payable_admin assigning owner gets only the payable_admin permissions.
	p := e.brassPAT(payables, "escalation attempt", "rol_7h8f07GPpE17GGgrBA2vmN")
	if strings.Join(p.Permissions, ",") != "accounts.read,payments.read,payments.create" {
		t.Errorf("owner PAT by a payable_admin: permissions %v", p.Permissions)
	}
	pay := `{"amount":150000,"recipient":{"account_number":"0123456789","bank_code":"058","name":"Vendor"}}`
	if resp, body := e.do("POST", "/brass/banking/payments", jsonHdr(p.Token), pay); resp.StatusCode != 201 {
		t.Errorf("payment with the payable PAT: %d %s", resp.StatusCode, body)
	}
	// Owner-only: revoking another user's PAT needs tokens.manage.
	resp, body := e.do("DELETE", fmt.Sprintf("/brass/auth/personal-access-tokens/%d", ownerPAT.ID), bearer(p.Token), "")
	if resp.StatusCode != 403 || decode[brassErrBody](t, body).Error.Title != "Forbidden" {
		t.Errorf("owner-only action with the capped PAT: %d %s, want 403", resp.StatusCode, body)
	}
	// A PAT creates a PAT: never more than the creating PAT.
	member := e.brassPAT(owner, "member", "member")
	child := e.brassPAT(member.Token, "child", "owner")
	if strings.Join(child.Permissions, ",") != "accounts.read" {
		t.Errorf("PAT made by a member PAT: %v, want [accounts.read]", child.Permissions)
	}
	if resp, _ := e.do("GET", "/brass/banking/accounts", bearer(child.Token), ""); resp.StatusCode != 200 {
		t.Errorf("child reads accounts: %d", resp.StatusCode)
	}
	resp, body = e.do("GET", "/brass/banking/payments", bearer(child.Token), "")
	if resp.StatusCode != 403 || resp.Header.Get("X-Tokenemu-Reason") != "insufficient_permission" {
		t.Errorf("child reads payments: %d %s, want 403", resp.StatusCode, body)
	}
	// The owner may revoke anyone's PAT.
	if resp, body = e.do("DELETE", fmt.Sprintf("/brass/auth/personal-access-tokens/%d", p.ID), bearer(owner), ""); resp.StatusCode != 204 {
		t.Errorf("owner revokes the payable PAT: %d %s", resp.StatusCode, body)
	}
	// The app key alone reaches no user endpoint.
	if resp, _ = e.do("GET", "/brass/banking/accounts", bearer(appKey), ""); resp.StatusCode != 401 {
		t.Errorf("app key on accounts: %d, want 401", resp.StatusCode)
	}
}

func TestBrassRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	e.emu.Clock().Freeze()
	user := e.brassUser(brass.DefaultUsername) // authorise counted 1
	for i := 2; i <= 60; i++ {
		resp, body := e.do("GET", "/brass/banking/accounts", bearer(user), "")
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, body)
		}
		if got := resp.Header.Get("X-RateLimit-Remaining"); got != strconv.Itoa(60-i) {
			t.Fatalf("request %d: remaining %s", i, got)
		}
	}
	resp, body := e.do("GET", "/brass/banking/accounts", bearer(user), "")
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "60" || resp.Header.Get("X-RateLimit-Limit") != "60" ||
		resp.Header.Get("X-RateLimit-Remaining") != "0" || decode[brassErrBody](t, body).Error.Status != 429 {
		t.Fatalf("61st request: %d %s %v", resp.StatusCode, body, resp.Header)
	}
	if _, err := e.emu.Clock().Advance(59 * time.Second); err != nil {
		t.Fatal(err)
	}
	if resp, _ = e.do("GET", "/brass/banking/accounts", bearer(user), ""); resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("after 59 s: %d Retry-After %s", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if _, err := e.emu.Clock().Advance(time.Second); err != nil {
		t.Fatal(err)
	}
	if resp, _ = e.do("GET", "/brass/banking/accounts", bearer(user), ""); resp.StatusCode != 200 || resp.Header.Get("X-RateLimit-Remaining") != "59" {
		t.Errorf("after 60 s: %d remaining %s", resp.StatusCode, resp.Header.Get("X-RateLimit-Remaining"))
	}
	// Another user is not limited; the limit can be switched off.
	if resp, _ = e.do("GET", "/brass/banking/accounts", bearer(e.brassUser(brass.PayablesUsername)), ""); resp.StatusCode != 200 {
		t.Errorf("another user: %d", resp.StatusCode)
	}
	off := newEnv(t, emulator.Config{Settings: map[string]string{"brass.rate-limit": "0"}})
	u := off.brassUser(brass.DefaultUsername)
	for range 70 {
		if resp, _ = off.do("GET", "/brass/banking/accounts", bearer(u), ""); resp.StatusCode != 200 {
			t.Fatalf("limit off: %d", resp.StatusCode)
		}
	}
}

func TestBrassIdempotency(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	e.emu.Clock().Freeze()
	user := e.brassUser(brass.DefaultUsername)
	pay := `{"amount":100,"recipient":{"account_number":"0123456789","bank_code":"058"}}`
	h := jsonHdr(user)
	h.Set("x-idempotency-key", "pay-1")
	if resp, body := e.do("POST", "/brass/banking/payments", h, pay); resp.StatusCode != 201 {
		t.Fatalf("first: %d %s", resp.StatusCode, body)
	}
	resp, body := e.do("POST", "/brass/banking/payments", h, pay)
	if be := decode[brassErrBody](t, body); resp.StatusCode != 409 || be.Error.Source["header"] != "x-idempotency-key" {
		t.Errorf("reused key: %d %s", resp.StatusCode, body)
	}
	// A first call that failed still burns its key.
	h2 := jsonHdr(user)
	h2.Set("x-idempotency-key", "pat-1")
	if resp, _ = e.do("POST", "/brass/auth/personal-access-tokens", h2, `{"name":"x","role":"nope"}`); resp.StatusCode != 422 {
		t.Fatalf("failing first call: %d", resp.StatusCode)
	}
	if resp, _ = e.do("POST", "/brass/auth/personal-access-tokens", h2, `{"name":"x","role":"owner"}`); resp.StatusCode != 409 {
		t.Errorf("key of a failed call: %d, want 409", resp.StatusCode)
	}
	// Keys expire after 7 days.
	if _, err := e.emu.Clock().Advance(7 * 24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	h.Set("Authorization", "Bearer "+e.brassUser(brass.DefaultUsername))
	if resp, body = e.do("POST", "/brass/banking/payments", h, pay); resp.StatusCode != 201 {
		t.Errorf("key after 7 days: %d %s", resp.StatusCode, body)
	}
}

func TestBrassBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{Settings: map[string]string{"brass.rate-limit": "0"}})
	user := e.brassUser(brass.DefaultUsername)
	pat := e.brassPAT(user, "p", "owner")
	id, secret, _ := strings.Cut(pat.Token, "|")
	expired := newEnv(t, emulator.Config{})
	expiredTemp := expired.brassTemp(brass.DefaultUsername)
	if _, err := expired.emu.Clock().Advance(11 * time.Minute); err != nil {
		t.Fatal(err)
	}
	login := `{"username":"demo@brass.test","password":"brass-demo"}`
	type tc struct {
		name, method, path string
		header             http.Header
		body               string
		status             int
		reason             string
		pointer            string
	}
	cases := []tc{
		{"wrong app key", "POST", "/brass/auth/login", jsonHdr("lk_" + strings.Repeat("x", 42)), login, 401, "token_unknown", ""},
		{"no Authorization", "POST", "/brass/auth/login", hdr("Content-Type", "application/json"), login, 401, "token_missing", ""},
		{"app key without Bearer", "POST", "/brass/auth/login", hdr("Authorization", appKey, "Content-Type", "application/json"), login, 401, "token_missing", ""},
		{"wrong password", "POST", "/brass/auth/login", jsonHdr(appKey), `{"username":"demo@brass.test","password":"x"}`, 401, "invalid_credentials", ""},
		{"login missing password", "POST", "/brass/auth/login", jsonHdr(appKey), `{"username":"demo@brass.test"}`, 422, "invalid_request", "/password"},
		{"login missing both", "POST", "/brass/auth/login", jsonHdr(appKey), `{}`, 422, "invalid_request", "/username"},
		{"login malformed JSON", "POST", "/brass/auth/login", jsonHdr(appKey), `{"username"`, 400, "invalid_request", ""},
		{"login wrong type", "POST", "/brass/auth/login", jsonHdr(appKey), `{"username":1,"password":"x"}`, 422, "invalid_request", "/username"},
		{"OTP 5 digits", "POST", "/brass/auth/login/authorise", jsonHdr(e.brassTemp(brass.DefaultUsername)), `{"otp":"12345"}`, 422, "invalid_request", "/otp"},
		{"OTP 7 digits", "POST", "/brass/auth/login/authorise", jsonHdr(e.brassTemp(brass.DefaultUsername)), `{"otp":"1234567"}`, 422, "invalid_request", "/otp"},
		{"OTP letters", "POST", "/brass/auth/login/authorise", jsonHdr(e.brassTemp(brass.DefaultUsername)), `{"otp":"12a456"}`, 422, "invalid_request", "/otp"},
		{"OTP missing", "POST", "/brass/auth/login/authorise", jsonHdr(e.brassTemp(brass.DefaultUsername)), `{}`, 422, "invalid_request", "/otp"},
		{"OTP as number", "POST", "/brass/auth/login/authorise", jsonHdr(e.brassTemp(brass.DefaultUsername)), `{"otp":123456}`, 422, "invalid_request", "/otp"},
		{"PAT at authorise", "POST", "/brass/auth/login/authorise", jsonHdr(pat.Token), `{"otp":"123456"}`, 401, "token_not_accepted", ""},
		{"PAT with wrong id prefix", "GET", "/brass/banking/accounts", bearer("999|" + secret), "", 401, "token_unknown", ""},
		{"PAT with a changed character", "GET", "/brass/banking/accounts", bearer(flip(pat.Token)), "", 401, "token_unknown", ""},
		{"PAT with non-numeric id", "GET", "/brass/banking/accounts", bearer("x" + id + "|" + secret), "", 401, "token_invalid", ""},
		{"PAT without pat- prefix", "GET", "/brass/banking/accounts", bearer(id + "|" + strings.TrimPrefix(secret, "pat-") + "xxxx"), "", 401, "token_invalid", ""},
		{"PAT too short", "GET", "/brass/banking/accounts", bearer(pat.Token[:len(pat.Token)-1]), "", 401, "token_invalid", ""},
		{"JWT signed elsewhere", "GET", "/brass/banking/accounts", bearer(expiredTemp), "", 401, "token_invalid", ""},
		{"garbage token", "GET", "/brass/banking/accounts", bearer("hello"), "", 401, "token_unknown", ""},
		{"unknown role", "POST", "/brass/auth/personal-access-tokens", jsonHdr(user), `{"name":"x","role":"emperor"}`, 422, "invalid_request", "/role"},
		{"empty name", "POST", "/brass/auth/personal-access-tokens", jsonHdr(user), `{"name":"","role":"owner"}`, 422, "invalid_request", "/name"},
		{"blank name", "POST", "/brass/auth/personal-access-tokens", jsonHdr(user), `{"name":"   ","role":"owner"}`, 422, "invalid_request", "/name"},
		{"PAT missing role", "POST", "/brass/auth/personal-access-tokens", jsonHdr(user), `{"name":"x"}`, 422, "invalid_request", "/role"},
		{"revoke id not a number", "DELETE", "/brass/auth/personal-access-tokens/abc", bearer(user), "", 422, "invalid_request", ""},
		{"revoke unknown id", "DELETE", "/brass/auth/personal-access-tokens/424242", bearer(user), "", 404, "not_found", ""},
		{"payment missing recipient", "POST", "/brass/banking/payments", jsonHdr(user), `{"amount":1}`, 422, "invalid_request", "/recipient"},
		{"payment bad account number", "POST", "/brass/banking/payments", jsonHdr(user), `{"amount":1,"recipient":{"account_number":"12","bank_code":"058"}}`, 422, "invalid_request", "/recipient/account_number"},
		{"payment negative amount", "POST", "/brass/banking/payments", jsonHdr(user), `{"amount":-5,"recipient":{"account_number":"0123456789","bank_code":"058"}}`, 422, "invalid_request", "/amount"},
		{"payment wrong content type", "POST", "/brass/banking/payments", hdr("Authorization", "Bearer "+user, "Content-Type", "text/plain"), `x`, 415, "unsupported_media_type", ""},
		{"unknown route", "GET", "/brass/nope", nil, "", 404, "route_not_found", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			resp, body := e.do(c.method, c.path, c.header, c.body)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, c.status, body)
			}
			be := decode[brassErrBody](t, body)
			if be.Error.Status != c.status || be.Error.Title != http.StatusText(c.status) || be.Error.Description == "" || be.Error.Source == nil {
				t.Errorf("body %s: want {\"error\":{status,title,description,source}}", body)
			}
			if c.pointer != "" && be.Error.Source["pointer"] != c.pointer {
				t.Errorf("source %v, want pointer %s", be.Error.Source, c.pointer)
			}
			if got := resp.Header.Get("X-Tokenemu-Reason"); got != c.reason {
				t.Errorf("X-Tokenemu-Reason %q, want %q", got, c.reason)
			}
			if c.status == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), `Bearer realm="brass"`) {
				t.Errorf("WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
	resp, body := expired.do("POST", "/brass/auth/login/authorise", jsonHdr(expiredTemp), `{"otp":"123456"}`)
	if resp.StatusCode != 401 || resp.Header.Get("X-Tokenemu-Reason") != "token_expired" || decode[brassErrBody](t, body).Error.Status != 401 {
		t.Errorf("expired temporary JWT: %d %s", resp.StatusCode, body)
	}
	if resp, _ := e.do("GET", "/_emulator/brass/otp?username=nobody@brass.test", nil, ""); resp.StatusCode != 404 {
		t.Errorf("otp for an unknown user: %d, want 404", resp.StatusCode)
	}
}

// Brass accounts for a request after authenticating it and before validating
// its body (B27, B28): a key first used by a request the validator refused is
// used up, a request in the cool-down gets 429 whatever its body, and refused
// requests count against the limit and carry its headers.
func TestBrassAccountsBeforeValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	e.emu.Clock().Freeze()
	user := e.brassUser(brass.DefaultUsername) // authorise counted 1
	h := jsonHdr(user)
	h.Set("x-idempotency-key", "bad-first")
	resp, body := e.do("POST", "/brass/banking/payments", h, `{"amount":"lots"}`) // 2
	if resp.StatusCode != 422 || resp.Header.Get("X-RateLimit-Remaining") != "58" {
		t.Fatalf("invalid body: %d remaining %q %s", resp.StatusCode, resp.Header.Get("X-RateLimit-Remaining"), body)
	}
	pay := `{"amount":100,"recipient":{"account_number":"0123456789","bank_code":"058"}}`
	if resp, body = e.do("POST", "/brass/banking/payments", h, pay); resp.StatusCode != 409 { // 3
		t.Errorf("the key of a request refused by validation, reused: %d %s, want 409", resp.StatusCode, body)
	}
	for i := 4; i <= 60; i++ {
		if resp, body = e.do("POST", "/brass/banking/payments", jsonHdr(user), `{}`); resp.StatusCode != 422 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, body)
		}
	}
	for _, b := range []string{`{}`, pay} {
		resp, body = e.do("POST", "/brass/banking/payments", jsonHdr(user), b)
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || resp.Header.Get("X-RateLimit-Remaining") != "0" {
			t.Errorf("in the cool-down, body %s: %d %s", b, resp.StatusCode, body)
		}
	}
}

// A body refused before validation (malformed JSON, a repeated key, not
// UTF-8) still uses up its idempotency key and counts against the limit.
func TestBrassAccountsMalformedBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	e.emu.Clock().Freeze()
	user := e.brassUser(brass.DefaultUsername) // authorise counted 1
	h := jsonHdr(user)
	h.Set("x-idempotency-key", "malformed-first")
	resp, _ := e.do("POST", "/brass/banking/payments", h, `{"amount":1,}`) // 2
	if resp.StatusCode != 400 || resp.Header.Get("X-RateLimit-Remaining") != "58" {
		t.Fatalf("malformed body: %d remaining %q", resp.StatusCode, resp.Header.Get("X-RateLimit-Remaining"))
	}
	pay := `{"amount":100,"recipient":{"account_number":"0123456789","bank_code":"058"}}`
	if resp, body := e.do("POST", "/brass/banking/payments", h, pay); resp.StatusCode != 409 { // 3
		t.Errorf("the key of a malformed request, reused: %d %s", resp.StatusCode, body)
	}
	for i := 4; i <= 60; i++ {
		if resp, _ := e.do("POST", "/brass/banking/payments", jsonHdr(user), `{"a":1,"a":2}`); resp.StatusCode != 400 {
			t.Fatalf("request %d: %d", i, resp.StatusCode)
		}
	}
	if resp, _ := e.do("POST", "/brass/banking/payments", jsonHdr(user), `{"a":`); resp.StatusCode != 429 {
		t.Errorf("malformed in the cool-down: %d, want 429", resp.StatusCode)
	}
}
