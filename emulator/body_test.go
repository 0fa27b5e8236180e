package emulator_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/brass"
	"github.com/tokenemu/tokenemu/emulator/passkit"
	"github.com/tokenemu/tokenemu/emulator/passport"
	"github.com/tokenemu/tokenemu/emulator/teletracker"
)

// A key spelt in other case is not the key, and a repeated key is refused:
// the body decoder and the OpenAPI validator must read one body the same way.
// Before, encoding/json matched CLIENT_SECRET to client_secret and let the
// last one win, so a wrong secret followed by the right one in other case
// logged in.
func TestBodyKeysAreExact(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{Settings: map[string]string{"brass.rate-limit": "0"}})
	brassApp := "Bearer " + brass.DefaultAppKey
	cases := []struct {
		name, path, auth             string
		good, caseVariant, duplicate string
	}{
		{"passport", tokenPath, "",
			fmt.Sprintf(`{"client_id":%q,"client_secret":%q,"grant_type":"client_credentials"}`, passport.DefaultClientID, passport.DefaultClientSecret),
			fmt.Sprintf(`{"client_id":%q,"client_secret":"wrong","grant_type":"client_credentials","CLIENT_SECRET":%q}`, passport.DefaultClientID, passport.DefaultClientSecret),
			fmt.Sprintf(`{"client_id":%q,"client_secret":"wrong","grant_type":"client_credentials","client_secret":%q}`, passport.DefaultClientID, passport.DefaultClientSecret)},
		{"passkit", "/passkit/login", "",
			fmt.Sprintf(`{"username":%q,"password":%q}`, passkit.DefaultUsername, passkit.DefaultPassword),
			fmt.Sprintf(`{"username":%q,"password":"wrong","Password":%q}`, passkit.DefaultUsername, passkit.DefaultPassword),
			fmt.Sprintf(`{"username":%q,"password":"wrong","password":%q}`, passkit.DefaultUsername, passkit.DefaultPassword)},
		{"brass", "/brass/auth/login", brassApp,
			fmt.Sprintf(`{"username":%q,"password":%q}`, brass.DefaultUsername, brass.DefaultPassword),
			fmt.Sprintf(`{"username":%q,"password":"wrong","PASSWORD":%q}`, brass.DefaultUsername, brass.DefaultPassword),
			fmt.Sprintf(`{"username":%q,"password":"wrong","password":%q}`, brass.DefaultUsername, brass.DefaultPassword)},
		{"teletracker", "/teletracker/auth/login", "",
			fmt.Sprintf(`{"username":%q,"password":%q}`, teletracker.DefaultUsername, teletracker.DefaultPassword),
			fmt.Sprintf(`{"username":%q,"password":"wrong","Password":%q}`, teletracker.DefaultUsername, teletracker.DefaultPassword),
			fmt.Sprintf(`{"username":%q,"password":"wrong","password":%q}`, teletracker.DefaultUsername, teletracker.DefaultPassword)},
		{"admin", "/_emulator/clock/advance", "", `{"seconds":1}`, `{"SECONDS":1}`, `{"seconds":1,"seconds":2}`},
	}
	for _, c := range cases {
		h := hdr("Content-Type", "application/json")
		if c.auth != "" {
			h.Set("Authorization", c.auth)
		}
		if resp, b := e.do("POST", c.path, h, c.good); resp.StatusCode/100 != 2 {
			t.Errorf("%s: the good body got %d %s", c.name, resp.StatusCode, b)
		}
		if resp, b := e.do("POST", c.path, h, c.caseVariant); resp.StatusCode/100 != 4 {
			t.Errorf("%s: a key in other case got %d %s, want a 4xx", c.name, resp.StatusCode, b)
		}
		resp, b := e.do("POST", c.path, h, c.duplicate)
		if resp.StatusCode != http.StatusBadRequest || reason(resp) != "invalid_request" {
			t.Errorf("%s: a repeated key got %d %s %s, want a 400 invalid_request", c.name, resp.StatusCode, reason(resp), b)
		}
	}
}
