package emulator_test

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"

	"github.com/tokenemu/tokenemu/emulator"
)

// Some answers are encoded once and written from then on (a Brass world's
// accounts, a Passport entity's accounts, a PassKit user's profile). Each
// emulator must still answer with its own data, every time the same, and a
// user made after the start must get a profile of its own.
func TestEncodedOnceAnswersAreEachEmulatorsOwn(t *testing.T) {
	t.Parallel()
	answers := func(e *env) map[string][]byte {
		out := map[string][]byte{}
		get := func(name, path string, h http.Header) {
			for range 2 {
				resp, body := e.do("GET", path, h, "")
				if resp.StatusCode != 200 {
					t.Fatalf("%s: %d %s", name, resp.StatusCode, body)
				}
				if prev, ok := out[name]; ok && !bytes.Equal(prev, body) {
					t.Errorf("%s changed between two requests:\n%s\n%s", name, prev, body)
				}
				out[name] = body
			}
		}
		get("passport", "/passport/v1/core/accounts", bearer(e.demoToken().AccessToken))
		get("brass", "/brass/banking/accounts", bearer(e.brassUser("demo@brass.test")))
		get("passkit", "/passkit/user/profile", hdr("Authorization", e.passkitLogin(false)))
		return out
	}
	a := newEnv(t, emulator.Config{})
	b := newEnv(t, emulator.Config{Seed: 7})
	fromA, fromB := answers(a), answers(b)
	for name, body := range fromA {
		if bytes.Equal(body, fromB[name]) {
			t.Errorf("%s: two emulators with different seeds gave the same answer %s", name, body)
		}
	}

	// A PassKit user made through the API gets its own profile.
	resp, body := a.do("POST", "/passkit/user/new", hdr("Content-Type", "application/json"),
		`{"username":"new@passkit.test","password":"pw-123456","companyName":"New Ltd","emailAddress":"new@passkit.test"}`)
	if resp.StatusCode != 200 && resp.StatusCode != 201 {
		t.Fatalf("create user: %d %s", resp.StatusCode, body)
	}
	resp, body = a.do("POST", "/passkit/login", hdr("Content-Type", "application/json"), `{"username":"new@passkit.test","password":"pw-123456"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	tok := decode[map[string]string](t, body)["token"]
	for range 2 {
		_, body = a.do("GET", "/passkit/user/profile", hdr("Authorization", tok), "")
		p := decode[map[string]string](t, body)
		if got := fmt.Sprint(p["username"], " ", p["companyName"]); got != "new@passkit.test New Ltd" {
			t.Errorf("new user's profile: %s", body)
		}
	}
}
