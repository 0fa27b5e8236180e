package emulator_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/passport"
)

func TestParseFixtures(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in, wantErr string
		clients           int
	}{
		{name: "yaml", in: "passport:\n  clients:\n    - client_id: a\n      client_secret: s\n      account_id: acct\n      scopes: [x]\n", clients: 1},
		{name: "json", in: `{"passport":{"clients":[{"client_id":"a","client_secret":"s","account_id":"acct"},{"client_id":"b","client_secret":"s","account_id":"acct","accounts":5}]}}`, clients: 2},
		{name: "empty", in: "", clients: -1},
		{name: "unknown vendor", in: "passkitt: {}\n", wantErr: "passkitt"},
		{name: "unknown field", in: "passport:\n  clients:\n    - client_id: a\n      secret: s\n", wantErr: "secret"},
		{name: "missing secret", in: "passport:\n  clients:\n    - client_id: a\n      account_id: x\n", wantErr: "client_secret is empty"},
		{name: "missing id", in: "passport:\n  clients:\n    - client_secret: a\n      account_id: x\n", wantErr: "client_id is empty"},
		{name: "missing account", in: "passport:\n  clients:\n    - client_id: a\n      client_secret: s\n", wantErr: "account_id is empty"},
		{name: "duplicate", in: "passport:\n  clients:\n    - {client_id: a, client_secret: s, account_id: x}\n    - {client_id: a, client_secret: t, account_id: x}\n", wantErr: "duplicate client_id"},
		{name: "negative accounts", in: "passport:\n  clients:\n    - {client_id: a, client_secret: s, account_id: x, accounts: -1}\n", wantErr: "accounts must be"},
		{name: "not yaml", in: "passport: [unclosed\n", wantErr: "parse fixtures"},
		{name: "an empty section", in: "teletracker: {}\n", clients: 2},
		{name: "passkit ok", in: "passkit:\n  users:\n    - {username: u, password: p, api_key: k, api_secret: s}\n", clients: -1},
		{name: "passkit no secret", in: "passkit:\n  users:\n    - {username: u, password: p, api_key: k}\n", wantErr: "api_key and api_secret"},
		{name: "passkit dotted key", in: "passkit:\n  users:\n    - {username: u, password: p, api_key: a.b, api_secret: s}\n", wantErr: "dots"},
		{name: "passkit duplicate key", in: "passkit:\n  users:\n    - {username: u, password: p, api_key: k, api_secret: s}\n    - {username: v, password: p, api_key: k, api_secret: s}\n", wantErr: "duplicate api_key"},
		{name: "brass ok", in: "brass:\n  app_keys: [lk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA]\n  users:\n    - {email: a@b.c, password: p, role: rol_6QJ8VcCEgCLtcbz4EO8H1b, totp_secret: JBSWY3DPEHPK3PXP}\n", clients: -1},
		{name: "brass bad app key", in: "brass:\n  app_keys: [lk_short]\n", wantErr: "lk_ and 42"},
		{name: "brass unknown role", in: "brass:\n  users:\n    - {email: a@b.c, password: p, role: king}\n", wantErr: "unknown role"},
		{name: "brass bad totp", in: "brass:\n  users:\n    - {email: a@b.c, password: p, role: owner, totp_secret: \"not base32!\"}\n", wantErr: "base32"},
		{name: "brass duplicate", in: "brass:\n  users:\n    - {email: a, password: p, role: owner}\n    - {email: a, password: p, role: owner}\n", wantErr: "duplicate email"},
		{name: "teletracker ok", in: "teletracker:\n  accounts: [{id: 7, name: A}]\n  users:\n    - {user_id: 1, username: u, password: p, accounts: [7]}\n", clients: -1},
		{name: "teletracker unknown account", in: "teletracker:\n  accounts: [{id: 7, name: A}]\n  users:\n    - {user_id: 1, username: u, password: p, accounts: [8]}\n", wantErr: "account 8 is not in"},
		{name: "teletracker no accounts", in: "teletracker:\n  accounts: [{id: 7, name: A}]\n  users:\n    - {user_id: 1, username: u, password: p, accounts: []}\n", wantErr: "accounts is empty"},
		{name: "teletracker duplicate account", in: "teletracker:\n  accounts: [{id: 7, name: A}, {id: 7, name: B}]\n", wantErr: "unique positive"},
		{name: "teletracker bad user id", in: "teletracker:\n  accounts: [{id: 7, name: A}]\n  users:\n    - {user_id: 0, username: u, password: p, accounts: [7]}\n", wantErr: "user_id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f, err := emulator.ParseFixtures([]byte(c.in))
			if err == nil {
				err = emulator.Config{Fixtures: f}.Validate() // each vendor checks its own section
			}
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			emu, err := emulator.New(emulator.Config{Fixtures: f})
			if err != nil {
				t.Fatal(err)
			}
			clients := emu.Fixtures(passport.Name).(*passport.Fixtures).Clients
			switch {
			case c.clients < 0 && f[passport.Name] != nil:
				t.Errorf("input without a passport section gave one")
			case c.clients >= 0 && len(clients) != c.clients:
				t.Errorf("got %+v, want %d clients", clients, c.clients)
			}
		})
	}
}

func TestLoadFixturesAndDefaults(t *testing.T) {
	t.Parallel()
	if _, err := emulator.LoadFixtures(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("missing file: no error")
	}
	path := filepath.Join(t.TempDir(), "f.yaml")
	if err := os.WriteFile(path, []byte("passport:\n  clients:\n    - {client_id: mine, client_secret: s3cret, account_id: acct-1, scopes: [iam.logout.post]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := emulator.LoadFixtures(path)
	if err != nil {
		t.Fatal(err)
	}
	e, err := emulator.New(emulator.Config{Fixtures: f})
	if err != nil {
		t.Fatal(err)
	}
	got := e.Fixtures(passport.Name).(*passport.Fixtures)
	if len(got.Clients) != 1 || got.Clients[0].ClientID != "mine" {
		t.Errorf("fixtures in effect: %+v", got)
	}
	ids := []string{}
	for _, c := range passport.Clients(mustVendor(t, e, passport.Name)) {
		ids = append(ids, c.ClientID)
	}
	if !slices.Equal(ids, []string{"mine"}) {
		t.Errorf("clients %v: a passport section in the fixtures must replace the default clients", ids)
	}
	bad := emulator.Fixtures{passport.Name: passport.Fixtures{Clients: []passport.Client{{ClientID: "x"}}}}
	if _, err := emulator.New(emulator.Config{Fixtures: bad}); err == nil {
		t.Error("New accepted invalid fixtures")
	}
	if err := (emulator.Config{Fixtures: bad}).Validate(); err == nil {
		t.Error("Validate accepted invalid fixtures")
	}
}
