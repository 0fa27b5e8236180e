// Package teletracker emulates TeleTracker's token scheme: POST /auth/login
// with a username and password answers a one-hour token and a refresh
// token; POST /auth/refresh trades a refresh token, once, for a new pair;
// an integrator may masquerade as an account it is allowed, which replaces
// its session; every call names the account it acts for.
//
// Where TeleTracker's documentation is silent the emulation decides, and
// its OpenAPI document's info.description (served at
// /_emulator/openapi/teletracker.yaml) says what it decided; what a test may
// want stricter than the vendor is a setting (revoke-family-on-reuse,
// revoke-access-on-refresh).
package teletracker

import (
	"fmt"
	"net/http"
	"time"

	"github.com/tokenemu/tokenemu/emulator/store"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
	"github.com/tokenemu/tokenemu/openapi"
)

// Name is the vendor's name, its path prefix (/teletracker) and its document's name.
const Name = teletrackerVendor

// Definition registers TeleTracker with an emulator.
func Definition() vendorapi.Definition {
	return vendorapi.Definition{
		Name:             teletrackerVendor,
		Document:         func() (*vendorapi.Document, error) { return openapi.Document(teletrackerVendor) },
		Kinds:            []store.Kind{store.KindAccess, store.KindRefresh},
		RefreshOperation: "refresh",
		Settings: []vendorapi.Setting{
			{Name: "refresh-lifetime", Default: "696h0m0s", Usage: "how long a refresh token outlives its access token (29 days, as in the vendor's examples)"},
			{Name: "revoke-family-on-reuse", Default: "false", Usage: "revoke the whole session when a used refresh token is presented again (RFC 9700 §4.14.2)"},
			{Name: "revoke-access-on-refresh", Default: "false", Usage: "revoke the old access token when its refresh token is used"},
		},
		Configure: func(values map[string]string) (any, error) {
			s := vendorapi.Settings{Values: values}
			c := Config{
				RefreshLifetime:       s.PositiveDuration("refresh-lifetime", 29*24*time.Hour),
				RevokeFamilyOnReuse:   s.Bool("revoke-family-on-reuse", false),
				RevokeAccessOnRefresh: s.Bool("revoke-access-on-refresh", false),
			}
			return c, s.Err
		},
		Fixtures: ParseFixtures,
		New:      newTeleTracker,
		Example:  vendorapi.Example{Principal: DefaultUsername, Method: "GET", Path: "/reports/call-data"},
	}
}

// Config is TeleTracker's settings (Definition's Configure makes it).
type Config struct {
	// RefreshLifetime is how long a refresh token outlives its access
	// token: refreshTokenExpiration = tokenExpiration + RefreshLifetime.
	RefreshLifetime time.Duration
	// RevokeFamilyOnReuse revokes the whole session (every token issued
	// from the same login) when a used refresh token is presented again.
	RevokeFamilyOnReuse bool
	// RevokeAccessOnRefresh revokes the access token issued with a refresh
	// token when that refresh token is used.
	RevokeAccessOnRefresh bool
}

// Fixtures are TeleTracker's accounts and users.
type Fixtures struct {
	Accounts []Account `yaml:"accounts" json:"accounts"`
	Users    []User    `yaml:"users" json:"users"`
}

// Account is a call-tracking account.
type Account struct {
	ID   int64  `yaml:"id" json:"id"`
	Name string `yaml:"name" json:"name"`
}

// User is a user with access to one or more accounts; the first is their
// home account. An integrator has no home account: the accounts are an
// allow-list, and every request must name one.
type User struct {
	UserID     int64   `yaml:"user_id" json:"user_id"`
	Username   string  `yaml:"username" json:"username"`
	Password   string  `yaml:"password" json:"password"`
	Accounts   []int64 `yaml:"accounts" json:"accounts"`
	Integrator bool    `yaml:"integrator,omitempty" json:"integrator,omitempty"`
}

// The default users and accounts, printed at start.
const (
	DefaultUsername  = "demo@teletracker.test"
	DefaultPassword  = "teletracker-demo"
	IntegratorUser   = "integrator@teletracker.test"
	DefaultAccountID = 1001
	SecondAccountID  = 1002
)

// DefaultFixtures returns TeleTracker's built-in accounts and users.
func DefaultFixtures() *Fixtures {
	return &Fixtures{
		Accounts: []Account{
			{ID: DefaultAccountID, Name: "Demo Plumbing Co"},
			{ID: SecondAccountID, Name: "Demo Roofing Co"},
		},
		Users: []User{
			{UserID: 501, Username: DefaultUsername, Password: DefaultPassword,
				Accounts: []int64{DefaultAccountID, SecondAccountID}},
			{UserID: 502, Username: IntegratorUser, Password: DefaultPassword,
				Accounts: []int64{DefaultAccountID, SecondAccountID}, Integrator: true},
		},
	}
}

// ParseFixtures reads TeleTracker's section of a fixtures file (nil: the
// defaults). Unknown fields are errors.
func ParseFixtures(raw []byte) (any, error) {
	return vendorapi.ParseFixtures(raw, DefaultFixtures, (*Fixtures).validate)
}

func (f *Fixtures) validate() error {
	accounts := map[int64]bool{}
	for i, a := range f.Accounts {
		if a.ID <= 0 || accounts[a.ID] {
			return fmt.Errorf("accounts[%d]: id must be a unique positive integer", i)
		}
		accounts[a.ID] = true
	}
	users, ids := map[string]bool{}, map[int64]bool{}
	for i, u := range f.Users {
		where := fmt.Sprintf("users[%d] (%s)", i, u.Username)
		switch {
		case u.Username == "" || u.Password == "":
			return fmt.Errorf("%s: username and password must be set", where)
		case u.UserID <= 0 || ids[u.UserID]:
			return fmt.Errorf("%s: user_id must be a unique positive integer", where)
		case users[u.Username]:
			return fmt.Errorf("%s: duplicate username", where)
		case len(u.Accounts) == 0:
			return fmt.Errorf("%s: accounts is empty", where)
		}
		for _, a := range u.Accounts {
			if !accounts[a] {
				return fmt.Errorf("%s: account %d is not in accounts", where, a)
			}
		}
		users[u.Username], ids[u.UserID] = true, true
	}
	return nil
}

// Secrets are the fixtures' passwords, which the journal never shows.
func (tt *teletracker) Secrets() []string {
	var out []string
	for _, u := range tt.fx.Users {
		out = append(out, u.Password)
	}
	return out
}

// Presented is the token a request presents, for scenarios: the refresh
// token of a refresh, else the Authorization (or Authentication) header's
// Bearer or bare token.
func (tt *teletracker) Presented(r *http.Request, rc *vendorapi.Request) string {
	if rc.Operation == "refresh" {
		return vendorapi.BodyFields(r, rc.Body)["refresh_token"]
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		h = r.Header.Get("Authentication")
	}
	if c := vendorapi.ParseAuthorization(h); c.Present && (c.Scheme == "bearer" || c.Scheme == "") {
		return c.Value
	}
	return ""
}

// Banner lists the users, for the start banner.
func (tt *teletracker) Banner(base string) []string {
	var out []string
	for _, u := range tt.fx.Users {
		kind := "user"
		if u.Integrator {
			kind = "integrator"
		}
		out = append(out, fmt.Sprintf("%s %s  password %s  accounts %v", kind, u.Username, vendorapi.Shown(u.Password, DefaultPassword), u.Accounts))
	}
	return out
}
