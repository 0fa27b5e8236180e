package emulator_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/passkit"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
)

func (e *env) passkitLogin(longLived bool) string {
	e.t.Helper()
	h := hdr("Content-Type", "application/json")
	if longLived {
		h.Set("X-PassKit-LongLived-Token", "TRUE")
	}
	resp, body := e.do("POST", "/passkit/login", h, `{"username":"demo@passkit.test","password":"passkit-demo"}`)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("passkit login: %d %s", resp.StatusCode, body)
	}
	return decode[map[string]string](e.t, body)["token"]
}

func TestPassKitJWTExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	e.emu.Clock().Freeze()
	tok := e.passkitLogin(false)

	// A real JWT library reads the documented header and claims.
	parsed, err := jwt.ParseWithClaims(tok, jwt.MapClaims{}, func(*jwt.Token) (any, error) {
		return []byte(passkit.DefaultAPISecret), nil
	}, jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(e.emu.Clock().Now))
	if err != nil {
		t.Fatalf("jwt.Parse with the API secret: %v", err)
	}
	claims := parsed.Claims.(jwt.MapClaims)
	if parsed.Header["typ"] != "JWT" || claims["uid"] != passkit.DefaultAPIKey || len(claims) != 3 {
		t.Errorf("header %v claims %v: want typ JWT and exactly uid, iat, exp", parsed.Header, claims)
	}
	// Two logins in one (frozen) second get the same JWT, as at PassKit.
	if other := e.passkitLogin(false); other != tok {
		t.Error("two logins in one second got different JWTs")
	}
	// The next second, the next JWT (the signed one is remembered per second).
	if _, err := e.emu.Clock().Advance(time.Second); err != nil {
		t.Fatal(err)
	}
	if next := e.passkitLogin(false); next == tok {
		t.Error("a login a second later got the same JWT")
	}
	if exp, iat := claims["exp"].(float64), claims["iat"].(float64); exp-iat != 3600 {
		t.Errorf("exp - iat = %v, want 3600", exp-iat)
	}
	// The same second, another lifetime (the admin plane's): another JWT, and
	// the login after it still gets the 60-minute one.
	next := e.passkitLogin(false)
	short, err := e.emu.IssueToken(context.Background(), vendorapi.IssueRequest{Vendor: "passkit", Principal: passkit.DefaultUsername, Lifetime: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if short.Token == next || short.Record.ExpiresAt.Sub(short.Record.IssuedAt) != 5*time.Minute {
		t.Errorf("a 5-minute JWT in the same second as a login: same JWT %v, lifetime %v",
			short.Token == next, short.Record.ExpiresAt.Sub(short.Record.IssuedAt))
	}
	if again := e.passkitLogin(false); again != next {
		t.Error("a login after a 5-minute JWT in the same second got another JWT than the login before it")
	}

	// Raw Authorization (PassKit's quickstarts) and Bearer both work.
	for _, h := range []string{tok, "Bearer " + tok} {
		if resp, body := e.do("GET", "/passkit/user/profile", hdr("Authorization", h), ""); resp.StatusCode != 200 {
			t.Fatalf("profile with %q: %d %s", h[:10], resp.StatusCode, body)
		}
	}
	e.emu.Clock().Set(time.Unix(int64(claims["iat"].(float64)), 0).Add(3599 * time.Second))
	if resp, body := e.do("GET", "/passkit/user/profile", hdr("Authorization", tok), ""); resp.StatusCode != 200 {
		t.Fatalf("at 3599 s: %d %s", resp.StatusCode, body)
	}
	if _, err := e.emu.Clock().Advance(time.Second); err != nil {
		t.Fatal(err)
	}
	resp, body := e.do("GET", "/passkit/user/profile", hdr("Authorization", tok), "")
	if resp.StatusCode != 401 || resp.Header.Get("X-Tokenemu-Reason") != "token_expired" ||
		!strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), `Bearer realm="passkit"`) || decode[map[string]string](t, body)["error"] == "" {
		t.Errorf("at 3600 s: %d %s %v", resp.StatusCode, body, resp.Header)
	}
	if resp.Header.Get("X-Passkit-Token") != "" {
		t.Error("a rejected request got an X-Passkit-Token")
	}
}

func TestPassKitLongLivedToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	e.emu.Clock().Freeze()
	first := e.passkitLogin(true)
	second := e.passkitLogin(true)
	if first == second {
		t.Fatal("two long-lived logins gave the same token")
	}
	if _, err := jwt.Parse(first, func(*jwt.Token) (any, error) { return []byte("x"), nil }); err == nil {
		t.Errorf("jwt.Parse accepted the long-lived token %q", first)
	}
	if len(first) < 43 {
		t.Errorf("long-lived token %q is shorter than 256 bits of base64url", first)
	}
	if _, err := e.emu.Clock().Advance(10 * 365 * 24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{first, second} {
		resp, body := e.do("GET", "/passkit/user/profile", bearer(tok), "")
		if resp.StatusCode != 200 {
			t.Fatalf("long-lived after 10 years: %d %s", resp.StatusCode, body)
		}
		// The refreshed JWT is itself valid.
		fresh := resp.Header.Get("X-Passkit-Token")
		if resp, body := e.do("GET", "/passkit/user/profile", hdr("Authorization", fresh), ""); resp.StatusCode != 200 {
			t.Errorf("X-Passkit-store.Token %q: %d %s", fresh, resp.StatusCode, body)
		}
	}
	// Only the value "true" (any case) asks for a long-lived token.
	resp, body := e.do("POST", "/passkit/login", hdr("Content-Type", "application/json", "x-passkit-longlived-token", "yes"),
		`{"username":"demo@passkit.test","password":"passkit-demo"}`)
	if tok := decode[map[string]string](t, body)["token"]; resp.StatusCode != 200 || strings.Count(tok, ".") != 2 {
		t.Errorf("header value yes: %d %s, want a JWT", resp.StatusCode, body)
	}
}

func TestPassKitSelfMintedJWT(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	resp, body := e.do("GET", "/passkit/pk/user/restCredentials", hdr("Authorization", e.passkitLogin(false)), "")
	if resp.StatusCode != 200 {
		t.Fatalf("restCredentials: %d %s", resp.StatusCode, body)
	}
	creds := decode[map[string]string](t, body)
	now := e.emu.Clock().Now()
	mint := func(lifetime time.Duration, extra jwt.MapClaims) string {
		claims := jwt.MapClaims{"uid": creds["apiKey"], "iat": now.Unix(), "exp": now.Add(lifetime).Unix()}
		for k, v := range extra {
			claims[k] = v
		}
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(creds["apiSecret"]))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// PassKit's jwt.sh default (60 s), a third-party client's 6000 s with "web": true, and a day.
	for _, tok := range []string{mint(60*time.Second, nil), mint(6000*time.Second, jwt.MapClaims{"web": true}), mint(24*time.Hour, nil)} {
		resp, body := e.do("POST", "/passkit/members/member", hdr("Authorization", tok, "Content-Type", "application/json"),
			`{"programId":"p1","tierId":"gold","person":{"forename":"Ada","surname":"Lovelace"}}`)
		if resp.StatusCode != 200 {
			t.Fatalf("member with a self-minted JWT: %d %s", resp.StatusCode, body)
		}
		id := decode[map[string]string](t, body)["id"]
		resp, body = e.do("GET", "/passkit/members/member/id/"+id, hdr("Authorization", tok), "")
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"forename":"Ada"`) {
			t.Errorf("read member %s: %d %s", id, resp.StatusCode, body)
		}
	}
	// Accepted until its own exp.
	short := mint(60*time.Second, nil)
	if _, err := e.emu.Clock().Advance(61 * time.Second); err != nil {
		t.Fatal(err)
	}
	if resp, _ := e.do("GET", "/passkit/user/profile", hdr("Authorization", short), ""); resp.StatusCode != 401 {
		t.Errorf("self-minted JWT past its exp: %d, want 401", resp.StatusCode)
	}
}

func TestPassKitIssuedAtLeeway(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		leeway time.Duration
		want   int
	}{{0, 401}, {5 * time.Second, 200}} {
		e := newEnv(t, emulator.Config{Settings: map[string]string{"passkit.leeway": c.leeway.String()}})
		e.emu.Clock().Freeze()
		now := e.emu.Clock().Now()
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"uid": passkit.DefaultAPIKey, "iat": now.Add(3 * time.Second).Unix(), "exp": now.Add(time.Hour).Unix(),
		}).SignedString([]byte(passkit.DefaultAPISecret))
		if err != nil {
			t.Fatal(err)
		}
		resp, body := e.do("GET", "/passkit/user/profile", hdr("Authorization", s), "")
		if resp.StatusCode != c.want {
			t.Errorf("leeway %v, iat 3 s ahead: %d %s, want %d", c.leeway, resp.StatusCode, body, c.want)
		}
		if c.want == 401 && resp.Header.Get("X-Tokenemu-Reason") != "token_not_yet_valid" {
			t.Errorf("reason %q, want token_not_yet_valid", resp.Header.Get("X-Tokenemu-Reason"))
		}
	}
}

func TestPassKitUsersAndMembers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	body := `{"username":"new@passkit.test","password":"pw","companyName":"New Co","emailAddress":"new@passkit.test"}`
	resp, b := e.do("POST", "/passkit/user/new", hdr("Content-Type", "application/json"), body)
	if resp.StatusCode != 200 {
		t.Fatalf("user/new: %d %s", resp.StatusCode, b)
	}
	tok := decode[map[string]string](t, b)["token"]
	resp, b = e.do("GET", "/passkit/user/profile", hdr("Authorization", tok), "")
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"companyName":"New Co"`) {
		t.Errorf("new user's profile: %d %s", resp.StatusCode, b)
	}
	if resp, b = e.do("POST", "/passkit/user/new", hdr("Content-Type", "application/json"), body); resp.StatusCode != 409 {
		t.Errorf("user/new twice: %d %s, want 409", resp.StatusCode, b)
	}
	// The new user logs in and cannot read the demo user's members.
	resp, b = e.do("POST", "/passkit/members/member", hdr("Authorization", e.passkitLogin(false), "Content-Type", "application/json"), `{"programId":"p","tierId":"t"}`)
	id := decode[map[string]string](t, b)["id"]
	if resp.StatusCode != 200 || len(id) != 22 {
		t.Fatalf("create member: %d %s", resp.StatusCode, b)
	}
	if resp, _ = e.do("GET", "/passkit/members/member/id/"+id, hdr("Authorization", tok), ""); resp.StatusCode != 404 {
		t.Errorf("another account's member: %d, want 404", resp.StatusCode)
	}
}

func TestPassKitBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	e.emu.Clock().Freeze()
	now := e.emu.Clock().Now()
	secret := []byte(passkit.DefaultAPISecret)
	sign := func(m jwt.SigningMethod, key any, claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(m, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := jwt.MapClaims{"uid": passkit.DefaultAPIKey, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	without := func(k string) jwt.MapClaims {
		c := jwt.MapClaims{}
		for kk, v := range good {
			if kk != k {
				c[kk] = v
			}
		}
		return c
	}
	noneTok := sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, good)
	hs512 := sign(jwt.SigningMethodHS512, secret, good)
	validJWT := sign(jwt.SigningMethodHS256, secret, good)
	longLived := e.passkitLogin(true)
	b64 := base64.RawURLEncoding.EncodeToString

	type tc struct {
		name, method, path string
		header             http.Header
		body               string
		status             int
		reason             string
	}
	jsonCT := "application/json"
	cases := []tc{
		{"bad base64 JWT", "GET", "/passkit/user/profile", hdr("Authorization", "a$b.c$d.e$f"), "", 401, "token_invalid"},
		{"JWT with JSON garbage", "GET", "/passkit/user/profile", hdr("Authorization", b64([]byte("{"))+"."+b64([]byte("x"))+".sig"), "", 401, "token_invalid"},
		{"alg none", "GET", "/passkit/user/profile", hdr("Authorization", noneTok), "", 401, "token_invalid"},
		{"HS512", "GET", "/passkit/user/profile", hdr("Authorization", hs512), "", 401, "token_invalid"},
		{"wrong key", "GET", "/passkit/user/profile", hdr("Authorization", sign(jwt.SigningMethodHS256, []byte("wrong"), good)), "", 401, "token_invalid"},
		{"missing exp", "GET", "/passkit/user/profile", hdr("Authorization", sign(jwt.SigningMethodHS256, secret, without("exp"))), "", 401, "token_invalid"},
		{"missing uid", "GET", "/passkit/user/profile", hdr("Authorization", sign(jwt.SigningMethodHS256, secret, without("uid"))), "", 401, "token_invalid"},
		{"unknown uid", "GET", "/passkit/user/profile", hdr("Authorization", sign(jwt.SigningMethodHS256, secret, jwt.MapClaims{"uid": "nobody", "exp": now.Add(time.Hour).Unix()})), "", 401, "token_unknown"},
		{"tampered signature", "GET", "/passkit/user/profile", hdr("Authorization", flip(validJWT)), "", 401, "token_invalid"},
		{"long-lived one character off", "GET", "/passkit/user/profile", bearer(flip(longLived)), "", 401, "token_unknown"},
		{"no Authorization", "GET", "/passkit/user/profile", nil, "", 401, "token_missing"},
		{"Basic scheme", "GET", "/passkit/user/profile", hdr("Authorization", "Basic eDp5"), "", 401, "token_missing"},
		{"Bearer alone", "GET", "/passkit/user/profile", hdr("Authorization", "Bearer"), "", 400, "authorization_malformed"},
		{"login missing password", "POST", "/passkit/login", hdr("Content-Type", jsonCT), `{"username":"demo@passkit.test"}`, 400, "invalid_request"},
		{"login missing username", "POST", "/passkit/login", hdr("Content-Type", jsonCT), `{"password":"x"}`, 400, "invalid_request"},
		{"login wrong types", "POST", "/passkit/login", hdr("Content-Type", jsonCT), `{"username":1,"password":true}`, 400, "invalid_request"},
		{"login malformed JSON", "POST", "/passkit/login", hdr("Content-Type", jsonCT), `{"username":`, 400, "invalid_request"},
		{"login empty body", "POST", "/passkit/login", hdr("Content-Type", jsonCT), ``, 400, "invalid_request"},
		{"login form body", "POST", "/passkit/login", hdr("Content-Type", "application/x-www-form-urlencoded"), `username=a&password=b`, 415, "unsupported_media_type"},
		{"login wrong password", "POST", "/passkit/login", hdr("Content-Type", jsonCT), `{"username":"demo@passkit.test","password":"nope"}`, 401, "invalid_credentials"},
		{"login unknown user", "POST", "/passkit/login", hdr("Content-Type", jsonCT), `{"username":"ghost","password":"passkit-demo"}`, 401, "invalid_credentials"},
		{"user/new missing email", "POST", "/passkit/user/new", hdr("Content-Type", jsonCT), `{"username":"a","password":"b"}`, 400, "invalid_request"},
		{"member missing tierId", "POST", "/passkit/members/member", hdr("Authorization", validJWT, "Content-Type", jsonCT), `{"programId":"p"}`, 400, "invalid_request"},
		{"member points wrong type", "POST", "/passkit/members/member", hdr("Authorization", validJWT, "Content-Type", jsonCT), `{"programId":"p","tierId":"t","points":"many"}`, 400, "invalid_request"},
		{"member id wrong format", "GET", "/passkit/members/member/id/short", hdr("Authorization", validJWT), "", 400, "invalid_request"},
		{"member unknown", "GET", "/passkit/members/member/id/AAAAAAAAAAAAAAAAAAAAAA", hdr("Authorization", validJWT), "", 404, "not_found"},
		{"unknown route", "GET", "/passkit/nope", nil, "", 404, "route_not_found"},
		{"wrong method", "GET", "/passkit/login", nil, "", 405, "method_not_allowed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			resp, body := e.do(c.method, c.path, c.header, c.body)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, c.status, body)
			}
			if msg := decode[map[string]string](t, body)["error"]; msg == "" || len(decode[map[string]any](t, body)) != 1 {
				t.Errorf("body %s, want {\"error\":\"<message>\"}", body)
			}
			if got := resp.Header.Get("X-Tokenemu-Reason"); got != c.reason {
				t.Errorf("X-Tokenemu-Reason %q, want %q", got, c.reason)
			}
			if c.status == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), `Bearer realm="passkit"`) {
				t.Errorf("401 without a passkit Bearer challenge: %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

// A login never hands out a JWT the admin plane has killed: when this
// second's JWT is expired or revoked, iat moves back a second (still exactly
// uid, iat, exp, with exp = iat + 3600), and so does X-Passkit-Token's.
func TestPassKitLoginAfterTheSecondsJWTDied(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	now := e.emu.Clock().Freeze().Truncate(time.Second)
	first := e.passkitLogin(false)
	if resp, body := e.admin("POST", "/tokens/expire", fmt.Sprintf(`{"token":%q}`, first)); resp.StatusCode != 200 {
		t.Fatalf("expire: %d %s", resp.StatusCode, body)
	}
	second := e.passkitLogin(false)
	if resp, body := e.admin("POST", "/tokens/revoke", fmt.Sprintf(`{"token":%q}`, second)); resp.StatusCode != 200 {
		t.Fatalf("revoke: %d %s", resp.StatusCode, body)
	}
	third := e.passkitLogin(false)
	for i, tok := range []string{first, second, third} {
		claims := jwt.MapClaims{}
		if _, _, err := jwt.NewParser().ParseUnverified(tok, claims); err != nil {
			t.Fatal(err)
		}
		iat, exp := int64(claims["iat"].(float64)), int64(claims["exp"].(float64))
		if len(claims) != 3 || iat != now.Unix()-int64(i) || exp != iat+3600 {
			t.Errorf("login %d: claims %v, want uid, iat = now - %d s, exp = iat + 3600", i+1, claims, i)
		}
	}
	for _, dead := range []string{first, second} {
		if resp, _ := e.do("GET", "/passkit/user/profile", hdr("Authorization", dead), ""); resp.StatusCode != 401 {
			t.Errorf("a killed JWT: %d, want 401", resp.StatusCode)
		}
	}
	resp, _ := e.do("GET", "/passkit/user/profile", hdr("Authorization", third), "")
	if resp.StatusCode != 200 {
		t.Fatalf("the new login's JWT: %d, want 200", resp.StatusCode)
	}
	fresh := resp.Header.Get("X-Passkit-Token")
	if fresh == first || fresh == second {
		t.Error("X-Passkit-store.Token handed out a killed JWT")
	}
	if resp, _ := e.do("GET", "/passkit/user/profile", hdr("Authorization", fresh), ""); resp.StatusCode != 200 {
		t.Errorf("X-Passkit-Token: %d, want 200", resp.StatusCode)
	}
}
