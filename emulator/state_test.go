package emulator_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/brass"
)

// An emulator restored from another's state file accepts what the first
// accepted and refuses what it refused: tokens of every vendor and kind,
// revocations, used refresh tokens, PATs, accounts made through PassKit's
// /user/new, scenarios with their counters, and the clock's offset.
func TestStateSurvivesARestart(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "state.json")
	cfg := emulator.Config{State: emulator.StateConfig{File: file, Interval: time.Hour}}
	a := newEnv(t, cfg)

	pp, ppRevoked, ppOther := a.demoToken(), a.demoToken(), a.demoToken()
	if resp, body := a.do("DELETE", "/passport/v1/iam/oauth/tokens/"+ppRevoked.TokenID, bearer(ppRevoked.AccessToken), ""); resp.StatusCode != 200 {
		t.Fatalf("revoke: %d %s", resp.StatusCode, body)
	}
	pk, pkLong := a.passkitLogin(false), a.passkitLogin(true)
	resp, body := a.do("POST", "/passkit/user/new", hdr("Content-Type", "application/json"),
		`{"username":"new@passkit.test","password":"new-password","companyName":"New Co","emailAddress":"new@passkit.test"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("user/new: %d %s", resp.StatusCode, body)
	}
	pkNew := decode[map[string]string](t, body)["token"]
	brassJWT := a.brassUser(brass.DefaultUsername)
	pat, patRevoked := a.brassPAT(brassJWT, "kept", "member"), a.brassPAT(brassJWT, "gone", "member")
	if resp, body := a.do("DELETE", fmt.Sprintf("/brass/auth/personal-access-tokens/%d", patRevoked.ID), bearer(brassJWT), ""); resp.StatusCode != 204 {
		t.Fatalf("revoke PAT: %d %s", resp.StatusCode, body)
	}
	s1 := a.ttLogin("")
	if resp, body := a.ttRefresh(s1.RefreshToken); resp.StatusCode != 200 {
		t.Fatalf("refresh: %d %s", resp.StatusCode, body)
	}
	s2 := a.ttLogin("")
	scenario := fmt.Sprintf(`{"name":"one-token","rules":[{"match":{"vendor":"passport","token":%q},"trigger":{"first":3},"action":{"status":503}}]}`, ppOther.AccessToken)
	if resp, body := a.do("POST", "/_emulator/scenarios", hdr("Content-Type", "application/json"), scenario); resp.StatusCode != 201 {
		t.Fatalf("apply: %d %s", resp.StatusCode, body)
	}
	if resp, _ := a.do("GET", "/passport/v1/core/accounts", bearer(ppOther.AccessToken), ""); resp.StatusCode != 503 {
		t.Fatalf("scenario did not fire: %d", resp.StatusCode)
	}
	if _, err := a.emu.Clock().Advance(10 * time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := a.emu.Close(); err != nil {
		t.Fatalf("close (saves): %v", err)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for name, secret := range map[string]string{"passport": pp.AccessToken, "passkit": pk, "long-lived": pkLong, "PAT": pat.Token,
		"refresh": s2.RefreshToken, "password": "new-password", "scenario token": ppOther.AccessToken} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("the state file holds the %s value itself", name)
		}
	}

	b := newEnv(t, cfg)
	if d := time.Until(b.emu.Clock().Now()); d < 10*time.Minute-time.Second || d > 10*time.Minute+5*time.Second {
		t.Errorf("clock offset after restore %v, want 10m", d)
	}
	ok := func(what string, status int, want int) {
		t.Helper()
		if status != want {
			t.Errorf("%s after restore: %d, want %d", what, status, want)
		}
	}
	use := func(path, auth string) int {
		t.Helper()
		resp, _ := b.do("GET", path, hdr("Authorization", auth), "")
		return resp.StatusCode
	}
	ok("passport token", use("/passport/v1/core/accounts", "Bearer "+pp.AccessToken), 200)
	ok("revoked passport token", use("/passport/v1/core/accounts", "Bearer "+ppRevoked.AccessToken), 401)
	ok("passkit JWT", use("/passkit/user/profile", pk), 200)
	ok("passkit long-lived", use("/passkit/user/profile", pkLong), 200)
	ok("JWT of a /user/new account", use("/passkit/user/profile", pkNew), 200)
	resp, _ = b.do("POST", "/passkit/login", hdr("Content-Type", "application/json"), `{"username":"new@passkit.test","password":"new-password"}`)
	ok("login of a /user/new account", resp.StatusCode, 200)
	ok("brass user JWT", use("/brass/banking/accounts", "Bearer "+brassJWT), 200)
	ok("brass PAT", use("/brass/banking/accounts", "Bearer "+pat.Token), 200)
	ok("revoked brass PAT", use("/brass/banking/accounts", "Bearer "+patRevoked.Token), 401)
	resp, body = b.do("GET", "/brass/auth/personal-access-tokens", bearer(brassJWT), "")
	if list := decode[struct{ Data []brassPAT }](t, body).Data; resp.StatusCode != 200 || len(list) != 1 || list[0].Name != "kept" {
		t.Errorf("PATs after restore: %d %s", resp.StatusCode, body)
	}
	resp, _ = b.ttRefresh(s1.RefreshToken)
	ok("used refresh token", resp.StatusCode, 401)
	ok("teletracker token", use("/teletracker/reports/call-data?account_id=1001&date=2026-01-01", "Bearer "+s2.Token), 200)
	resp, _ = b.ttRefresh(s2.RefreshToken)
	ok("unused refresh token", resp.StatusCode, 200)
	// The scenario is back, with one of its three matches spent.
	ok("scenario's token (2nd match)", use("/passport/v1/core/accounts", "Bearer "+ppOther.AccessToken), 503)
	ok("scenario's token (3rd match)", use("/passport/v1/core/accounts", "Bearer "+ppOther.AccessToken), 503)
	ok("scenario's token (spent)", use("/passport/v1/core/accounts", "Bearer "+ppOther.AccessToken), 200)
}

// A file that is not a state file, of another version, or saved with other
// fixtures stops the start with a clear error; Fresh starts fresh instead.
func TestStateFileRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	emu, err := emulator.New(emulator.Config{State: emulator.StateConfig{File: good}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := emu.SaveState(); err != nil {
		t.Fatal(err)
	}
	_ = emu.Close()
	valid, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		content string
		cfg     emulator.Config
		want    string
	}{
		"truncated":     {content: string(valid[:len(valid)/2]), want: "unexpected EOF"},
		"not JSON":      {content: "hello", want: "invalid character"},
		"other format":  {content: `{"format":"x","version":1}`, want: "not a tokenemu state file"},
		"newer version": {content: strings.Replace(string(valid), fmt.Sprintf(`"version":%d`, emulator.StateVersion), `"version":99`, 1), want: "version 99"},
		"other seed":    {content: string(valid), cfg: emulator.Config{Seed: 7}, want: "another -seed or -fixtures"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join(t.TempDir(), "state.json")
			if err := os.WriteFile(file, []byte(c.content), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg := c.cfg
			cfg.State = emulator.StateConfig{File: file}
			_, err := emulator.New(cfg)
			if !errors.Is(err, emulator.ErrStateMismatch) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), file) {
				t.Fatalf("New: %v, want ErrStateMismatch naming the file and saying %q", err, c.want)
			}
			cfg.State.Fresh = true
			emu, err := emulator.New(cfg)
			if err != nil {
				t.Fatalf("New with Fresh: %v", err)
			}
			if err := emu.Close(); err != nil {
				t.Fatal(err)
			}
			// The fresh state overwrote the bad file at Close.
			if _, err := emulator.New(emulator.Config{Seed: cfg.Seed, State: emulator.StateConfig{File: file}}); err != nil {
				t.Errorf("the file Fresh saved does not restore: %v", err)
			}
		})
	}
}
