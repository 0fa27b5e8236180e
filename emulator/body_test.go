package emulator_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/tokenemu/tokenemu/emulator"
)

// A key spelt in other case is not the key, and a repeated key is refused:
// the body decoder and the OpenAPI validator must read one body the same way.
// Before, encoding/json matched CLIENT_SECRET to client_secret and let the
// last one win, so a wrong secret followed by the right one in other case
// logged in.
func TestBodyKeysAreExact(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{Brass: emulator.BrassConfig{RateLimit: -1}})
	brassApp := "Bearer " + emulator.DefaultBrassAppKey
	cases := []struct {
		name, path, auth             string
		good, caseVariant, duplicate string
	}{
		{"passport", tokenPath, "",
			fmt.Sprintf(`{"client_id":%q,"client_secret":%q,"grant_type":"client_credentials"}`, emulator.DefaultPassportClientID, emulator.DefaultPassportClientSecret),
			fmt.Sprintf(`{"client_id":%q,"client_secret":"wrong","grant_type":"client_credentials","CLIENT_SECRET":%q}`, emulator.DefaultPassportClientID, emulator.DefaultPassportClientSecret),
			fmt.Sprintf(`{"client_id":%q,"client_secret":"wrong","grant_type":"client_credentials","client_secret":%q}`, emulator.DefaultPassportClientID, emulator.DefaultPassportClientSecret)},
		{"passkit", "/passkit/login", "",
			fmt.Sprintf(`{"username":%q,"password":%q}`, emulator.DefaultPassKitUsername, emulator.DefaultPassKitPassword),
			fmt.Sprintf(`{"username":%q,"password":"wrong","Password":%q}`, emulator.DefaultPassKitUsername, emulator.DefaultPassKitPassword),
			fmt.Sprintf(`{"username":%q,"password":"wrong","password":%q}`, emulator.DefaultPassKitUsername, emulator.DefaultPassKitPassword)},
		{"brass", "/brass/auth/login", brassApp,
			fmt.Sprintf(`{"username":%q,"password":%q}`, emulator.DefaultBrassUsername, emulator.DefaultBrassPassword),
			fmt.Sprintf(`{"username":%q,"password":"wrong","PASSWORD":%q}`, emulator.DefaultBrassUsername, emulator.DefaultBrassPassword),
			fmt.Sprintf(`{"username":%q,"password":"wrong","password":%q}`, emulator.DefaultBrassUsername, emulator.DefaultBrassPassword)},
		{"teletracker", "/teletracker/auth/login", "",
			fmt.Sprintf(`{"username":%q,"password":%q}`, emulator.DefaultTeleTrackerUsername, emulator.DefaultTeleTrackerPassword),
			fmt.Sprintf(`{"username":%q,"password":"wrong","Password":%q}`, emulator.DefaultTeleTrackerUsername, emulator.DefaultTeleTrackerPassword),
			fmt.Sprintf(`{"username":%q,"password":"wrong","password":%q}`, emulator.DefaultTeleTrackerUsername, emulator.DefaultTeleTrackerPassword)},
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
