package emulator_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/passport"
)

const tokenPath = "/passport/v1/iam/oauth/tokens"

// issue gets a Passport token for a client through the JSON body.
func (e *env) issue(clientID, secret string) passportTokenResp {
	e.t.Helper()
	resp, body := e.do("POST", tokenPath, hdr("Content-Type", "application/json"),
		fmt.Sprintf(`{"client_id":%q,"client_secret":%q,"grant_type":"client_credentials"}`, clientID, secret))
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("issue token for %s: got %d %s", clientID, resp.StatusCode, body)
	}
	return decode[passportTokenResp](e.t, body)
}

func (e *env) demoToken() passportTokenResp {
	return e.issue(passport.DefaultClientID, passport.DefaultClientSecret)
}

func bearer(tok string) http.Header { return hdr("Authorization", "Bearer "+tok) }

type passportStatus struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Details []any  `json:"details"`
}

type passportInfo struct {
	TokenID   string   `json:"token_id"`
	CreatedAt string   `json:"created_at"`
	ExpiresAt string   `json:"expires_at"`
	ClientID  string   `json:"client_id"`
	GrantFlow string   `json:"grant_flow"`
	Scopes    []string `json:"scopes"`
}

type passportList struct {
	PaginationInfo struct {
		FirstRequestTimestamp string `json:"first_request_timestamp"`
		CurrentPage           int    `json:"current_page"`
		TotalPages            int    `json:"total_pages"`
		TotalElements         int    `json:"total_elements"`
	} `json:"pagination_info"`
	Tokens []passportInfo `json:"tokens"`
}

func TestPassportListGetRevoke(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	e.emu.Clock().Freeze()
	var toks []passportTokenResp
	for range 3 {
		toks = append(toks, e.demoToken())
		if _, err := e.emu.Clock().Advance(time.Second); err != nil {
			t.Fatal(err)
		}
	}
	other := e.issue(passport.LimitedClientID, passport.LimitedClientSecret)
	auth := bearer(toks[0].AccessToken)

	// List: only this account's live tokens, oldest first, two per page.
	resp, body := e.do("GET", tokenPath+"?page_params.page_size=2&page_params.page_number=1", auth, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list: %d %s", resp.StatusCode, body)
	}
	l := decode[passportList](t, body)
	if l.PaginationInfo.TotalElements != 3 || l.PaginationInfo.TotalPages != 2 || len(l.Tokens) != 2 {
		t.Fatalf("list page 1: %+v", l)
	}
	if l.Tokens[0].TokenID != toks[0].TokenID || l.Tokens[1].TokenID != toks[1].TokenID {
		t.Errorf("list order: got %s, %s", l.Tokens[0].TokenID, l.Tokens[1].TokenID)
	}
	if strings.Contains(string(body), toks[0].AccessToken) || strings.Contains(string(body), "access_token") {
		t.Errorf("list leaks token values: %s", body)
	}
	resp, body = e.do("GET", tokenPath+"?page_params.page_size=2&page_params.page_number=2&order_params.order_direction=DESC", auth, "")
	if l = decode[passportList](t, body); resp.StatusCode != 200 || len(l.Tokens) != 1 || l.Tokens[0].TokenID != toks[0].TokenID {
		t.Errorf("list page 2 DESC: %d %s", resp.StatusCode, body)
	}
	// A timestamp before the later tokens pins the page set.
	first := toks[0].CreatedAt
	ft, _ := time.Parse(time.RFC3339, first)
	resp, body = e.do("GET", fmt.Sprintf("%s?page_params.first_request_timestamp.seconds=%d&page_params.first_request_timestamp.nanos=%d",
		tokenPath, ft.Unix(), ft.Nanosecond()), auth, "")
	if l = decode[passportList](t, body); resp.StatusCode != 200 || l.PaginationInfo.TotalElements != 1 {
		t.Errorf("list with first_request_timestamp: %d %s", resp.StatusCode, body)
	}
	resp, body = e.do("GET", tokenPath+"?grant_flow=GRANT_FLOW_PASSWORD", auth, "")
	if l = decode[passportList](t, body); resp.StatusCode != 200 || l.PaginationInfo.TotalElements != 0 {
		t.Errorf("list filtered by another grant flow: %s", body)
	}

	// Get: metadata, never the token.
	resp, body = e.do("GET", tokenPath+"/"+toks[1].TokenID, auth, "")
	info := decode[passportInfo](t, body)
	if resp.StatusCode != 200 || info.TokenID != toks[1].TokenID || info.ClientID != "demo-client" ||
		info.GrantFlow != "GRANT_FLOW_CLIENT_CREDENTIALS" || strings.Contains(string(body), toks[1].AccessToken) {
		t.Errorf("get: %d %s", resp.StatusCode, body)
	}
	created, _ := time.Parse(time.RFC3339, info.CreatedAt)
	expires, _ := time.Parse(time.RFC3339, info.ExpiresAt)
	if expires.Sub(created) != 24*time.Hour {
		t.Errorf("expires_at - created_at = %v, want 24h", expires.Sub(created))
	}
	// Another account's token: 403.
	if resp, body = e.do("GET", tokenPath+"/"+other.TokenID, auth, ""); resp.StatusCode != http.StatusForbidden {
		t.Errorf("get another account's token: %d %s, want 403", resp.StatusCode, body)
	}

	// Revoke with the id in path and body: 200, empty body.
	resp, body = e.do("DELETE", tokenPath+"/"+toks[1].TokenID, hdr("Authorization", "Bearer "+toks[0].AccessToken, "Content-Type", "application/json"),
		fmt.Sprintf(`{"token_id":%q}`, toks[1].TokenID))
	if resp.StatusCode != http.StatusOK || len(body) != 0 {
		t.Fatalf("revoke: %d %q, want 200 and no body", resp.StatusCode, body)
	}
	// The revoked token is refused with token_revoked.
	resp, _ = e.do("GET", "/passport/v1/core/accounts", bearer(toks[1].AccessToken), "")
	if resp.StatusCode != 401 || resp.Header.Get("X-Tokenemu-Reason") != "token_revoked" ||
		!strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("revoked token: %d %v", resp.StatusCode, resp.Header)
	}
	// Again: 409. Unknown: 404. Gone from get and list.
	if resp, body = e.do("DELETE", tokenPath+"/"+toks[1].TokenID, auth, ""); resp.StatusCode != http.StatusConflict {
		t.Errorf("revoke twice: %d %s, want 409", resp.StatusCode, body)
	}
	if resp, body = e.do("DELETE", tokenPath+"/00000000-0000-4000-8000-000000000000", auth, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("revoke unknown: %d %s, want 404", resp.StatusCode, body)
	}
	if resp, _ = e.do("GET", tokenPath+"/"+toks[1].TokenID, auth, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("get revoked: %d, want 404", resp.StatusCode)
	}
	if resp, body = e.do("GET", tokenPath, auth, ""); resp.StatusCode != 200 || decode[passportList](t, body).PaginationInfo.TotalElements != 2 {
		t.Errorf("list after revoke: %d %s", resp.StatusCode, body)
	}

	// Logout revokes the presented token.
	if resp, body = e.do("POST", "/passport/v1/iam/logout", bearer(toks[2].AccessToken), ""); resp.StatusCode != 200 {
		t.Fatalf("logout: %d %s", resp.StatusCode, body)
	}
	if resp, _ = e.do("GET", "/passport/v1/core/accounts", bearer(toks[2].AccessToken), ""); resp.StatusCode != 401 {
		t.Errorf("after logout: %d, want 401", resp.StatusCode)
	}
}

func TestPassportExpiredTokenCannotBeRevoked(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	e.emu.Clock().Freeze()
	old := e.demoToken()
	if _, err := e.emu.Clock().Advance(25 * time.Hour); err != nil {
		t.Fatal(err)
	}
	fresh := e.demoToken()
	resp, body := e.do("DELETE", tokenPath+"/"+old.TokenID, bearer(fresh.AccessToken), "")
	if resp.StatusCode != http.StatusConflict || resp.Header.Get("X-Tokenemu-Reason") != "token_expired" {
		t.Errorf("revoke expired: %d %s, want 409 token_expired", resp.StatusCode, body)
	}
}

func TestPassportAccounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	tok := e.demoToken()
	resp, body := e.do("GET", "/passport/v1/core/accounts", bearer(tok.AccessToken), "")
	list := decode[struct {
		Accounts []struct {
			AccountID       string `json:"account_id"`
			EntityAccountID string `json:"entity_account_id"`
		} `json:"accounts"`
	}](t, body)
	if resp.StatusCode != 200 || len(list.Accounts) != 3 {
		t.Fatalf("accounts: %d %s", resp.StatusCode, body)
	}
	id := list.Accounts[1].AccountID
	if resp, body = e.do("GET", "/passport/v1/core/accounts/"+id, bearer(tok.AccessToken), ""); resp.StatusCode != 200 ||
		!strings.Contains(string(body), id) {
		t.Errorf("account %s: %d %s", id, resp.StatusCode, body)
	}
	if resp, _ = e.do("GET", "/passport/v1/core/accounts/"+strings.ToUpper(id), bearer(tok.AccessToken), ""); resp.StatusCode != 200 {
		t.Errorf("account id in upper case: %d, want 200", resp.StatusCode)
	}
	// The limited client lists accounts but may not read one (scope paas.core.accounts.get).
	lim := e.issue(passport.LimitedClientID, passport.LimitedClientSecret)
	if resp, _ = e.do("GET", "/passport/v1/core/accounts", bearer(lim.AccessToken), ""); resp.StatusCode != 200 {
		t.Errorf("limited list: %d", resp.StatusCode)
	}
	resp, body = e.do("GET", "/passport/v1/core/accounts/"+id, bearer(lim.AccessToken), "")
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("X-Tokenemu-Reason") != "insufficient_scope" {
		t.Errorf("missing scope: %d %s, want 401 insufficient_scope", resp.StatusCode, body)
	}
	if got, want := resp.Header.Get("WWW-Authenticate"), `Bearer realm="passport", error="insufficient_scope", scope="paas.core.accounts.get"`; got != want {
		t.Errorf("WWW-Authenticate = %q, want %q", got, want)
	}

	// Same seed, same data; another seed, other data.
	again := newEnv(t, emulator.Config{})
	_, body2 := again.do("GET", "/passport/v1/core/accounts", bearer(again.demoToken().AccessToken), "")
	other := newEnv(t, emulator.Config{Seed: 7})
	_, body3 := other.do("GET", "/passport/v1/core/accounts", bearer(other.demoToken().AccessToken), "")
	if string(body2) != string(body) && string(body2) == "" {
		t.Error("empty body")
	}
	_, bodyFirst := e.do("GET", "/passport/v1/core/accounts", bearer(tok.AccessToken), "")
	if string(bodyFirst) != string(body2) {
		t.Errorf("same seed gave different accounts:\n%s\n%s", bodyFirst, body2)
	}
	if string(body3) == string(body2) {
		t.Error("seed 7 gave the same accounts as the default seed")
	}
}

func TestPassportConfigSwitches(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{Settings: map[string]string{"passport.revoke-status": "204", "passport.scope-status": "403"}})
	tok := e.demoToken()
	resp, body := e.do("DELETE", tokenPath+"/"+tok.TokenID, bearer(e.demoToken().AccessToken), "")
	if resp.StatusCode != http.StatusNoContent || len(body) != 0 {
		t.Errorf("revoke with RevokeStatus 204: %d %q", resp.StatusCode, body)
	}
	lim := e.issue(passport.LimitedClientID, passport.LimitedClientSecret)
	resp, body = e.do("GET", tokenPath, bearer(lim.AccessToken), "")
	if resp.StatusCode != http.StatusForbidden || decode[passportStatus](t, body).Code != 7 ||
		!strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
		t.Errorf("missing scope with ScopeErrorStatus 403: %d %s %v", resp.StatusCode, body, resp.Header)
	}
	if _, err := emulator.New(emulator.Config{Settings: map[string]string{"passport.revoke-status": "201"}}); err == nil {
		t.Error("RevokeStatus 201 accepted")
	}
	if _, err := emulator.New(emulator.Config{Settings: map[string]string{"passport.scope-status": "400"}}); err == nil {
		t.Error("ScopeErrorStatus 400 accepted")
	}
}

func TestPassportSpanish(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	cases := []struct {
		accept, wantLang, wantText string
	}{
		{"es", "es", "el token de acceso no es válido"},
		{"es-CO,es;q=0.9,en;q=0.5", "es", "el token de acceso no es válido"},
		{"en-US,en;q=0.9,es;q=0.8", "en", "the access token is not valid"},
		{"fr", "en", "the access token is not valid"},
		{"", "en", "the access token is not valid"},
		{";;;garbage", "en", "the access token is not valid"},
	}
	for _, c := range cases {
		resp, body := e.do("GET", "/passport/v1/core/accounts", hdr("Authorization", "Bearer unknown", "Accept-Language", c.accept), "")
		if got := resp.Header.Get("Content-Language"); got != c.wantLang {
			t.Errorf("Accept-Language %q: Content-Language %q, want %q", c.accept, got, c.wantLang)
		}
		if got := decode[passportStatus](t, body).Message; got != c.wantText {
			t.Errorf("Accept-Language %q: message %q, want %q", c.accept, got, c.wantText)
		}
	}
	resp, body := e.do("POST", tokenPath, hdr("Content-Type", "application/json", "Accept-Language", "es"),
		`{"client_id":"demo-client","client_secret":"wrong","grant_type":"client_credentials"}`)
	if resp.StatusCode != 401 || !strings.Contains(string(body), "la autenticación del cliente falló") {
		t.Errorf("token endpoint in Spanish: %d %s", resp.StatusCode, body)
	}
}

// Every wrong request gets a Passport-shaped JSON error and the right 4xx.
func TestPassportBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	tok := e.demoToken()
	basic := func(id, secret string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
	}
	type tc struct {
		name        string
		method      string
		path        string
		header      http.Header
		body        string
		status      int
		oauth       string // token endpoint: RFC 6749 error code
		code        int    // elsewhere: gRPC code
		reason      string
		challenge   string // expected WWW-Authenticate (exact); "" means absent
		anyChalenge bool
	}
	json := "application/json"
	form := "application/x-www-form-urlencoded"
	good := `"client_id":"demo-client","client_secret":"demo-secret"`
	big := `{"grant_type":"client_credentials","pad":"` + strings.Repeat("x", 1<<20) + `"}`
	cases := []tc{
		{name: "malformed JSON", method: "POST", path: tokenPath, header: hdr("Content-Type", json), body: `{"grant_type":`, status: 400, oauth: "invalid_request"},
		{name: "JSON array", method: "POST", path: tokenPath, header: hdr("Content-Type", json), body: `[]`, status: 400, oauth: "invalid_request"},
		{name: "wrong content type", method: "POST", path: tokenPath, header: hdr("Content-Type", "text/plain"), body: `grant_type=client_credentials`, status: 400, oauth: "invalid_request"},
		{name: "no content type", method: "POST", path: tokenPath, body: `{}`, status: 400, oauth: "invalid_request"},
		{name: "empty body", method: "POST", path: tokenPath, header: hdr("Content-Type", json), status: 400, oauth: "invalid_request"},
		{name: "missing grant_type", method: "POST", path: tokenPath, header: hdr("Content-Type", json), body: `{` + good + `}`, status: 400, oauth: "invalid_request"},
		{name: "wrong grant_type", method: "POST", path: tokenPath, header: hdr("Content-Type", json), body: `{` + good + `,"grant_type":"password"}`, status: 400, oauth: "unsupported_grant_type"},
		{name: "wrong grant_type form", method: "POST", path: tokenPath, header: hdr("Content-Type", form), body: `grant_type=authorization_code&client_id=demo-client&client_secret=demo-secret`, status: 400, oauth: "unsupported_grant_type"},
		{name: "grant_type wrong type", method: "POST", path: tokenPath, header: hdr("Content-Type", json), body: `{` + good + `,"grant_type":7}`, status: 400, oauth: "invalid_request"},
		{name: "client_id wrong type", method: "POST", path: tokenPath, header: hdr("Content-Type", json), body: `{"client_id":1,"client_secret":"x","grant_type":"client_credentials"}`, status: 400, oauth: "invalid_request"},
		{name: "missing client_id", method: "POST", path: tokenPath, header: hdr("Content-Type", json), body: `{"client_secret":"demo-secret","grant_type":"client_credentials"}`, status: 400, oauth: "invalid_request"},
		{name: "missing client_secret", method: "POST", path: tokenPath, header: hdr("Content-Type", json), body: `{"client_id":"demo-client","grant_type":"client_credentials"}`, status: 400, oauth: "invalid_request"},
		{name: "repeated form parameter", method: "POST", path: tokenPath, header: hdr("Content-Type", form), body: `grant_type=client_credentials&client_id=demo-client&client_id=demo-client&client_secret=demo-secret`, status: 400, oauth: "invalid_request"},
		{name: "bad secret", method: "POST", path: tokenPath, header: hdr("Content-Type", json), body: `{"client_id":"demo-client","client_secret":"nope","grant_type":"client_credentials"}`, status: 401, oauth: "invalid_client"},
		{name: "unknown client", method: "POST", path: tokenPath, header: hdr("Content-Type", json), body: `{"client_id":"ghost","client_secret":"demo-secret","grant_type":"client_credentials"}`, status: 401, oauth: "invalid_client"},
		{name: "bad secret via Basic", method: "POST", path: tokenPath, header: hdr("Content-Type", form, "Authorization", basic("demo-client", "nope")), body: `grant_type=client_credentials`, status: 401, oauth: "invalid_client", challenge: `Basic realm="passport"`},
		{name: "garbled Basic", method: "POST", path: tokenPath, header: hdr("Content-Type", form, "Authorization", "Basic !!!"), body: `grant_type=client_credentials`, status: 401, oauth: "invalid_client", challenge: `Basic realm="passport"`},
		{name: "Basic and body secret", method: "POST", path: tokenPath, header: hdr("Content-Type", json, "Authorization", basic("demo-client", "demo-secret")), body: `{` + good + `,"grant_type":"client_credentials"}`, status: 400, oauth: "invalid_request"},
		{name: "body over 1 MiB", method: "POST", path: tokenPath, header: hdr("Content-Type", json), body: big, status: 413, oauth: "invalid_request"},

		{name: "no Authorization", method: "GET", path: tokenPath, status: 401, code: 16, reason: "token_missing", challenge: `Bearer realm="passport"`},
		{name: "empty Authorization", method: "GET", path: tokenPath, header: hdr("Authorization", ""), status: 401, code: 16, reason: "token_missing", challenge: `Bearer realm="passport"`},
		{name: "Basic on a bearer endpoint", method: "GET", path: tokenPath, header: hdr("Authorization", basic("a", "b")), status: 401, code: 16, reason: "token_missing", challenge: `Bearer realm="passport"`},
		{name: "Bearer without token", method: "GET", path: tokenPath, header: hdr("Authorization", "Bearer"), status: 400, code: 3, reason: "authorization_malformed", anyChalenge: true},
		{name: "Bearer with spaces inside", method: "GET", path: tokenPath, header: hdr("Authorization", "Bearer a b"), status: 400, code: 3, reason: "authorization_malformed", anyChalenge: true},
		{name: "Bearer with bad characters", method: "GET", path: tokenPath, header: hdr("Authorization", "Bearer {tok}"), status: 400, code: 3, reason: "authorization_malformed", anyChalenge: true},
		{name: "oversized token", method: "GET", path: tokenPath, header: hdr("Authorization", "Bearer "+strings.Repeat("A", 32<<10)), status: 401, code: 16, reason: "token_unknown", anyChalenge: true},
		{name: "token one character off", method: "GET", path: tokenPath, header: bearer(flip(tok.AccessToken)), status: 401, code: 16, reason: "token_unknown", anyChalenge: true},
		{name: "unknown token_id", method: "GET", path: tokenPath + "/00000000-0000-4000-8000-000000000000", header: bearer(tok.AccessToken), status: 404, code: 5},
		{name: "token_id not a UUID", method: "GET", path: tokenPath + "/not-a-uuid", header: bearer(tok.AccessToken), status: 400, code: 3},
		{name: "revoke token_id not a UUID", method: "DELETE", path: tokenPath + "/123", header: bearer(tok.AccessToken), status: 400, code: 3},
		{name: "revoke body id differs", method: "DELETE", path: tokenPath + "/" + tok.TokenID, header: hdr("Authorization", "Bearer "+tok.AccessToken, "Content-Type", json), body: `{"token_id":"00000000-0000-4000-8000-000000000000"}`, status: 400, code: 3},
		{name: "revoke body extra field", method: "DELETE", path: tokenPath + "/" + tok.TokenID, header: hdr("Authorization", "Bearer "+tok.AccessToken, "Content-Type", json), body: `{"token_id":"` + tok.TokenID + `","x":1}`, status: 400, code: 3},
		{name: "revoke body malformed", method: "DELETE", path: tokenPath + "/" + tok.TokenID, header: hdr("Authorization", "Bearer "+tok.AccessToken, "Content-Type", json), body: `{"token_id":`, status: 400, code: 3},
		{name: "revoke body wrong content type", method: "DELETE", path: tokenPath + "/" + tok.TokenID, header: hdr("Authorization", "Bearer "+tok.AccessToken, "Content-Type", "text/xml"), body: `<x/>`, status: 415, code: 3},
		{name: "page size too large", method: "GET", path: tokenPath + "?page_params.page_size=1000", header: bearer(tok.AccessToken), status: 400, code: 3},
		{name: "page size not a number", method: "GET", path: tokenPath + "?page_params.page_size=ten", header: bearer(tok.AccessToken), status: 400, code: 3},
		{name: "unknown order direction", method: "GET", path: tokenPath + "?order_params.order_direction=UP", header: bearer(tok.AccessToken), status: 400, code: 3},
		{name: "unknown route", method: "GET", path: "/passport/v1/nope", status: 404, code: 5, reason: "route_not_found"},
		{name: "wrong method", method: "PUT", path: tokenPath, status: 405, code: 12, reason: "method_not_allowed"},
		{name: "wrong method on a one-method path", method: "GET", path: "/passport/v1/iam/logout", status: 405, code: 12, reason: "method_not_allowed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			resp, body := e.do(c.method, c.path, c.header, c.body)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, c.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			if c.oauth != "" {
				oe := decode[struct {
					Error       string `json:"error"`
					Description string `json:"error_description"`
				}](t, body)
				if oe.Error != c.oauth || oe.Description == "" {
					t.Errorf("body %s, want error %q with a description", body, c.oauth)
				}
				if resp.Header.Get("Cache-Control") != "no-store" {
					t.Errorf("token endpoint error without Cache-Control: no-store")
				}
			} else {
				st := decode[passportStatus](t, body)
				if st.Code != c.code || st.Message == "" || st.Details == nil {
					t.Errorf("body %s, want code %d, a message and details []", body, c.code)
				}
			}
			if c.reason != "" {
				if got := resp.Header.Get("X-Tokenemu-Reason"); got != c.reason {
					t.Errorf("X-Tokenemu-Reason %q, want %q", got, c.reason)
				}
			} else if resp.Header.Get("X-Tokenemu-Reason") == "" {
				t.Error("no X-Tokenemu-Reason")
			}
			got := resp.Header.Get("WWW-Authenticate")
			switch {
			case c.anyChalenge:
				if !strings.HasPrefix(got, `Bearer realm="passport", error=`) {
					t.Errorf("WWW-Authenticate %q, want a Bearer challenge with an error", got)
				}
			case got != c.challenge:
				t.Errorf("WWW-Authenticate %q, want %q", got, c.challenge)
			}
		})
	}
}

// flip changes the last character of s.
// flip changes the second-to-last character: the last character of an
// unpadded base64url signature may carry only padding bits, so changing it
// need not change the signature.
func flip(s string) string {
	i := len(s) - 2
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

func TestPassportBearerSchemeIsCaseInsensitive(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	tok := e.demoToken()
	for _, h := range []string{"bearer " + tok.AccessToken, "BEARER " + tok.AccessToken, "  Bearer   " + tok.AccessToken + "  "} {
		if resp, body := e.do("GET", "/passport/v1/core/accounts", hdr("Authorization", h), ""); resp.StatusCode != 200 {
			t.Errorf("Authorization %q: %d %s", h, resp.StatusCode, body)
		}
	}
}
