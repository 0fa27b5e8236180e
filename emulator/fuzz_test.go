package emulator_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/brass"
	"github.com/tokenemu/tokenemu/emulator/passkit"
	"github.com/tokenemu/tokenemu/emulator/passport"
	"github.com/tokenemu/tokenemu/emulator/teletracker"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
)

// The fuzz targets send what the fuzzer makes through the whole handler
// (guard, routing, body limit, OpenAPI validation, authentication, the
// handler) without a network. The invariant is the same for all: no panic, no
// 5xx, and every error in the vendor's JSON shape with a reason header. `go
// test` runs the seeds; `go test -fuzz '^FuzzName$'` explores (.ci/run does,
// briefly, for each target); crashes it finds belong in testdata/fuzz.

// fuzzEmulator is one emulator for a whole fuzz target, with the Brass rate
// limit off so that the fuzzer is not answered 429 for ever.
func fuzzEmulator(f *testing.F) *emulator.Emulator {
	f.Helper()
	emu, err := emulator.New(emulator.Config{Settings: map[string]string{"brass.rate-limit": "0"}})
	if err != nil {
		f.Fatal(err)
	}
	return emu
}

// serveFuzz serves one request and checks the invariant.
func serveFuzz(t *testing.T, emu *emulator.Emulator, vendor, method, path string, header http.Header, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body == "" {
		req.Body = http.NoBody
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	w := httptest.NewRecorder()
	emu.Handler().ServeHTTP(w, req)
	if w.Code >= 500 || emu.InternalErrors() != 0 {
		t.Fatalf("%s %s %v %q: %d %s (internal errors %d)", method, path, header, body, w.Code, w.Body, emu.InternalErrors())
	}
	if w.Code >= 400 {
		var m map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil || !vendorShaped(vendor, m) {
			t.Fatalf("%s %s %v %q: %d body not in %s's shape: %s", method, path, header, body, w.Code, vendor, w.Body)
		}
		if w.Header().Get(vendorapi.ReasonHeader) == "" {
			t.Fatalf("%s %s: %d without %s", method, path, w.Code, vendorapi.ReasonHeader)
		}
	}
	return w
}

// FuzzAuthorizationHeader: any Authorization and Authentication header on a
// protected resource of each vendor.
func FuzzAuthorizationHeader(f *testing.F) {
	emu := fuzzEmulator(f)
	for _, s := range []string{
		"", "Bearer", "Bearer ", "bearer x", "BEARER  abc", "Basic Zm9vOmJhcg==", "Basic !!!", "Integrator Zm9v",
		"Bearer a.b.c", "Bearer ===", "Bearer a b c", "Digest x", " Bearer\tabc ", "Bearer \x00",
		"Bearer " + issueToken(f, emu, "passport", passport.DefaultClientID, ""),
		"Bearer " + issueToken(f, emu, "teletracker", teletracker.DefaultUsername, ""),
		issueToken(f, emu, "passkit", passkit.DefaultUsername, ""),
		"Bearer " + issueToken(f, emu, "brass", brass.DefaultUsername, "pat"),
	} {
		f.Add(uint8(0), s)
		f.Add(uint8(4), s)
	}
	targets := []struct{ vendor, method, path, header string }{
		{"passport", "GET", "/passport/v1/core/accounts", "Authorization"},
		{"passkit", "GET", "/passkit/user/profile", "Authorization"},
		{"brass", "GET", "/brass/banking/accounts", "Authorization"},
		{"teletracker", "GET", "/teletracker/reports/call-data?account_id=1001&date=2026-01-01", "Authorization"},
		{"teletracker", "GET", "/teletracker/reports/call-data?account_id=1001&date=2026-01-01", "Authentication"},
		{"teletracker", "POST", "/teletracker/auth/masquerade", "Authorization"},
		{"passport", "POST", "/passport/v1/iam/oauth/tokens", "Authorization"},
		{"admin", "GET", "/_emulator/clock", "Authorization"},
	}
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		tg := targets[int(which)%len(targets)]
		serveFuzz(t, emu, tg.vendor, tg.method, tg.path, http.Header{tg.header: {value}}, "")
	})
}

// FuzzJWT: PassKit and Brass JWT verification, with tokens the fuzzer builds
// from a header, claims and a signature.
func FuzzJWT(f *testing.F) {
	emu := fuzzEmulator(f)
	pk := issueToken(f, emu, "passkit", passkit.DefaultUsername, "")
	br := issueToken(f, emu, "brass", brass.DefaultUsername, "user")
	for _, tok := range []string{pk, br} {
		parts := strings.Split(tok, ".")
		f.Add(false, parts[0], parts[1], parts[2])
		f.Add(true, parts[0], parts[1], parts[2])
	}
	enc := base64.RawURLEncoding.EncodeToString
	f.Add(false, enc([]byte(`{"alg":"none"}`)), enc([]byte(`{"uid":"2Xq7BvLmN4pRtY8wZcDf6H"}`)), "")
	f.Add(true, enc([]byte(`{"alg":"HS512","typ":"JWT"}`)), enc([]byte(`{"sub":1,"lvl":"2","exp":"soon"}`)), "sig")
	f.Add(true, enc([]byte(`{"alg":"RS256"}`)), enc([]byte(`[]`)), "!!")
	f.Fuzz(func(t *testing.T, brass bool, head, claims, sig string) {
		tok := head + "." + claims + "." + sig
		if brass {
			serveFuzz(t, emu, "brass", "GET", "/brass/banking/accounts", http.Header{"Authorization": {"Bearer " + tok}}, "")
			return
		}
		serveFuzz(t, emu, "passkit", "GET", "/passkit/user/profile", http.Header{"Authorization": {tok}}, "")
	})
}

// FuzzBrassPAT: values shaped like Brass personal access tokens (N|pat-…),
// used as bearer tokens and revoked by id.
func FuzzBrassPAT(f *testing.F) {
	emu := fuzzEmulator(f)
	f.Add(issueToken(f, emu, "brass", brass.DefaultUsername, "pat"), "1")
	for _, s := range []string{"1|pat-", "|pat-abc", "0|pat-" + strings.Repeat("a", 40), "99999999999999999999|pat-x",
		"-1|pat-" + strings.Repeat("b", 40), "1|", "1|pat-\xff", "1||pat-a"} {
		f.Add(s, "1")
	}
	f.Add("x", "-1")
	f.Add("x", "99999999999999999999")
	f.Add("x", "%2F..%2F")
	user := issueToken(f, emu, "brass", brass.DefaultUsername, "user")
	f.Fuzz(func(t *testing.T, pat, id string) {
		serveFuzz(t, emu, "brass", "GET", "/brass/auth/personal-access-tokens", http.Header{"Authorization": {"Bearer " + pat}}, "")
		path := "/brass/auth/personal-access-tokens/" + url.PathEscape(id)
		serveFuzz(t, emu, "brass", "DELETE", path, http.Header{"Authorization": {"Bearer " + user}}, "")
	})
}

// FuzzOpaqueToken: Passport and TeleTracker opaque token lookup, and
// Passport's token inspection by id.
func FuzzOpaqueToken(f *testing.F) {
	emu := fuzzEmulator(f)
	pp := issueToken(f, emu, "passport", passport.DefaultClientID, "")
	tt := issueToken(f, emu, "teletracker", teletracker.DefaultUsername, "")
	f.Add(pp, "3f2b6c1e-8d4a-4e2b-9c1f-5a6b7c8d9e0f")
	f.Add(tt, "not-a-uuid")
	f.Add(pp[:len(pp)-1], "")
	f.Add(strings.Repeat("A", 4096), "%00")
	f.Fuzz(func(t *testing.T, token, id string) {
		serveFuzz(t, emu, "passport", "GET", "/passport/v1/core/accounts", http.Header{"Authorization": {"Bearer " + token}}, "")
		serveFuzz(t, emu, "teletracker", "POST", "/teletracker/auth/logout", http.Header{"Authorization": {"Bearer " + token}}, "")
		serveFuzz(t, emu, "passport", "GET", "/passport/v1/iam/oauth/tokens/"+url.PathEscape(id),
			http.Header{"Authorization": {"Bearer " + pp}}, "")
	})
}

// FuzzTeleTrackerBody: the login, refresh and masquerade bodies as JSON,
// form and multipart, with any content type.
func FuzzTeleTrackerBody(f *testing.F) {
	emu := fuzzEmulator(f)
	login := `{"username":"` + teletracker.DefaultUsername + `","password":"` + teletracker.DefaultPassword + `"}`
	mp := "--b\r\nContent-Disposition: form-data; name=\"refresh_token\"\r\n\r\nabc\r\n--b--\r\n"
	for _, c := range [][2]string{
		{"application/json", login},
		{"application/json", `{"username":1}`},
		{"application/json", `{"refresh_token":null}`},
		{"application/x-www-form-urlencoded", "username=a&password=b&account_id=1001"},
		{"application/x-www-form-urlencoded", "refresh_token=%zz"},
		{"multipart/form-data; boundary=b", mp},
		{"multipart/form-data", mp},
		{"multipart/form-data; boundary=", "--\r\n"},
		{"text/plain", "hello"},
		{"", ""},
	} {
		for op := range uint8(3) {
			f.Add(op, c[0], c[1])
		}
	}
	paths := []string{"/teletracker/auth/login", "/teletracker/auth/refresh", "/teletracker/auth/masquerade"}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(teletracker.IntegratorUser+":"+teletracker.DefaultPassword))
	f.Fuzz(func(t *testing.T, op uint8, contentType, body string) {
		path := paths[int(op)%len(paths)]
		h := http.Header{"Content-Type": {contentType}}
		if strings.HasSuffix(path, "masquerade") {
			h.Set("Authorization", basic)
		}
		serveFuzz(t, emu, "teletracker", "POST", path, h, body)
	})
}

// FuzzTokenEndpoint: each vendor's issuing call with any content type, body
// and credentials.
func FuzzTokenEndpoint(f *testing.F) {
	emu := fuzzEmulator(f)
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(passport.DefaultClientID+":"+passport.DefaultClientSecret))
	seeds := []struct {
		which     uint8
		ct, auth  string
		body      string
		longLived bool
	}{
		{0, "application/x-www-form-urlencoded", basic, "grant_type=client_credentials", false},
		{0, "application/x-www-form-urlencoded", "", "grant_type=client_credentials&client_id=demo-client&client_secret=demo-secret&scope=a+b", false},
		{0, "application/json", basic, `{"grant_type":"client_credentials"}`, false},
		{0, "application/x-www-form-urlencoded", "Basic %%%", "grant_type=password", false},
		{1, "application/json", "", `{"username":"` + passkit.DefaultUsername + `","password":"` + passkit.DefaultPassword + `"}`, true},
		{1, "application/json", "", `{"username":"","password":null}`, false},
		{2, "application/json", "Bearer " + brass.DefaultAppKey, `{"username":"` + brass.DefaultUsername + `","password":"` + brass.DefaultPassword + `"}`, false},
		{3, "application/json", "", `{"otp":"123456"}`, false},
		{4, "application/json", "", `{"name":"ci","role":"viewer"}`, false},
		{5, "application/json", "", `{"username":"` + teletracker.DefaultUsername + `","password":"x"}`, false},
	}
	for _, s := range seeds {
		f.Add(s.which, s.ct, s.auth, s.body, s.longLived)
	}
	type endpoint struct{ vendor, path, auth string }
	endpoints := []endpoint{
		{"passport", "/passport/v1/iam/oauth/tokens", ""},
		{"passkit", "/passkit/login", ""},
		{"brass", "/brass/auth/login", ""},
		{"brass", "/brass/auth/login/authorise", "temporary"},
		{"brass", "/brass/auth/personal-access-tokens", "user"},
		{"teletracker", "/teletracker/auth/login", ""},
	}
	user := issueToken(f, emu, "brass", brass.DefaultUsername, "user")
	f.Fuzz(func(t *testing.T, which uint8, contentType, auth, body string, longLived bool) {
		ep := endpoints[int(which)%len(endpoints)]
		h := http.Header{"Content-Type": {contentType}}
		switch {
		case ep.auth == "user":
			auth = "Bearer " + user
		case ep.auth == "temporary" && auth == "":
			auth = "Bearer " + brassTemporary(t, emu)
		}
		if auth != "" {
			h.Set("Authorization", auth)
		}
		if longLived {
			h.Set("X-Passkit-Longlived-Token", "true")
		}
		serveFuzz(t, emu, ep.vendor, "POST", ep.path, h, body)
	})
}

// brassTemporary logs in to Brass for a temporary token.
func brassTemporary(t *testing.T, emu *emulator.Emulator) string {
	t.Helper()
	w := serveFuzz(t, emu, "brass", "POST", "/brass/auth/login", http.Header{
		"Authorization": {"Bearer " + brass.DefaultAppKey}, "Content-Type": {"application/json"}},
		`{"username":"`+brass.DefaultUsername+`","password":"`+brass.DefaultPassword+`"}`)
	var out struct{ Token string }
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || out.Token == "" {
		t.Fatalf("brass login: %d %s", w.Code, w.Body)
	}
	return out.Token
}
