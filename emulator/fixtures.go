package emulator

import (
	"bytes"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v4"
)

// Fixtures are the emulator's users, clients and accounts, loaded from YAML or
// JSON. A vendor section that is absent keeps that vendor's defaults; a present
// section replaces them.
type Fixtures struct {
	Passport    *PassportFixtures    `yaml:"passport,omitempty" json:"passport,omitempty"`
	PassKit     *PassKitFixtures     `yaml:"passkit,omitempty" json:"passkit,omitempty"`
	TeleTracker *TeleTrackerFixtures `yaml:"teletracker,omitempty" json:"teletracker,omitempty"`
	Brass       *BrassFixtures       `yaml:"brass,omitempty" json:"brass,omitempty"`
}

// BrassFixtures are Brass's app keys and users.
type BrassFixtures struct {
	AppKeys []string    `yaml:"app_keys" json:"app_keys"`
	Users   []BrassUser `yaml:"users" json:"users"`
}

// BrassUser is a user of the business, with one role. TOTPSecret (base32) lets
// the user authorise with an authenticator-app code as well as the emailed OTP.
type BrassUser struct {
	Email      string `yaml:"email" json:"email"`
	Password   string `yaml:"password" json:"password"`
	Role       string `yaml:"role" json:"role"`
	TOTPSecret string `yaml:"totp_secret,omitempty" json:"totp_secret,omitempty"`
}

// PassKitFixtures are PassKit's users.
type PassKitFixtures struct {
	Users []PassKitUser `yaml:"users" json:"users"`
}

// PassKitUser is a PassKit account: its login, and the REST credentials (API key
// and secret) its JWTs are signed with.
type PassKitUser struct {
	Username    string `yaml:"username" json:"username"`
	Password    string `yaml:"password" json:"password"`
	Email       string `yaml:"email,omitempty" json:"email,omitempty"`
	CompanyName string `yaml:"company_name,omitempty" json:"company_name,omitempty"`
	APIKey      string `yaml:"api_key" json:"api_key"`
	APISecret   string `yaml:"api_secret" json:"api_secret"`
	Members     int    `yaml:"members,omitempty" json:"members,omitempty"` // fake members (default 5)
}

// TeleTrackerFixtures are TeleTracker's accounts and users.
type TeleTrackerFixtures struct {
	Accounts []TeleTrackerAccount `yaml:"accounts" json:"accounts"`
	Users    []TeleTrackerUser    `yaml:"users" json:"users"`
}

// TeleTrackerAccount is a call-tracking account.
type TeleTrackerAccount struct {
	ID   int64  `yaml:"id" json:"id"`
	Name string `yaml:"name" json:"name"`
}

// TeleTrackerUser is a user with access to one or more accounts; the first is
// their home account. An integrator has no home account: the accounts are an
// allow-list, and every request must name one.
type TeleTrackerUser struct {
	UserID     int64   `yaml:"user_id" json:"user_id"`
	Username   string  `yaml:"username" json:"username"`
	Password   string  `yaml:"password" json:"password"`
	Accounts   []int64 `yaml:"accounts" json:"accounts"`
	Integrator bool    `yaml:"integrator,omitempty" json:"integrator,omitempty"`
}

// PassportFixtures are Passport's OAuth2 clients.
type PassportFixtures struct {
	Clients []PassportClient `yaml:"clients" json:"clients"`
}

// PassportClient is one client-credentials client: its secret, the entity
// account it belongs to, and the scopes and roles its tokens carry.
type PassportClient struct {
	ClientID     string   `yaml:"client_id" json:"client_id"`
	ClientSecret string   `yaml:"client_secret" json:"client_secret"`
	AccountID    string   `yaml:"account_id" json:"account_id"`
	Scopes       []string `yaml:"scopes" json:"scopes"`
	Roles        []string `yaml:"roles" json:"roles"`
	// Accounts is how many fake bank accounts the entity has (default 3).
	Accounts int `yaml:"accounts,omitempty" json:"accounts,omitempty"`
}

// Default credentials, documented in the README and printed at start.
const (
	DefaultPassportClientID     = "demo-client"
	DefaultPassportClientSecret = "demo-secret"
	DefaultPassportAccountID    = "7d3c9a52-4a1e-4f0b-9a35-2f7c1d8e6b10"
	LimitedPassportClientID     = "limited-client"
	LimitedPassportClientSecret = "limited-secret"
	LimitedPassportAccountID    = "c2a8e4f1-93b7-4d5e-8a61-0f4b2d9c7e35"

	DefaultPassKitUsername  = "demo@passkit.test"
	DefaultPassKitPassword  = "passkit-demo"
	DefaultPassKitAPIKey    = "2Xq7BvLmN4pRtY8wZcDf6H"
	DefaultPassKitAPISecret = "pk-demo-secret-7f3a9c1e5b2d8f4a6c0e9b7d3f1a5c8e"

	DefaultTeleTrackerUsername  = "demo@teletracker.test"
	DefaultTeleTrackerPassword  = "teletracker-demo"
	IntegratorTeleTrackerUser   = "integrator@teletracker.test"
	DefaultTeleTrackerAccountID = 1001
	SecondTeleTrackerAccountID  = 1002

	DefaultBrassAppKey      = "lk_tokenemuDemoAppKey000000000000000000000000"
	DefaultBrassUsername    = "demo@brass.test"
	PayablesBrassUsername   = "payables@brass.test"
	DefaultBrassPassword    = "brass-demo"
	DefaultBrassTOTPSecret  = "JBSWY3DPEHPK3PXP"
	PayablesBrassTOTPSecret = "KRUGS4ZANFZSAYJAORSXG5BAONSWG4TF"
)

// PassportScopes are the scopes every Passport endpoint of the emulator needs;
// the default client has all of them.
func PassportScopes() []string {
	return []string{
		"iam.oauth.tokens.list.get",
		"iam.oauth.tokens.get",
		"iam.oauth.tokens.delete",
		"iam.logout.post",
		"paas.core.accounts.list.get",
		"paas.core.accounts.get",
	}
}

// DefaultFixtures returns the built-in fixtures.
func DefaultFixtures() Fixtures {
	return Fixtures{
		Passport: &PassportFixtures{Clients: []PassportClient{
			{
				ClientID:     DefaultPassportClientID,
				ClientSecret: DefaultPassportClientSecret,
				AccountID:    DefaultPassportAccountID,
				Scopes:       PassportScopes(),
				Roles:        []string{"entity.client_credentials"},
			},
			{
				ClientID:     LimitedPassportClientID,
				ClientSecret: LimitedPassportClientSecret,
				AccountID:    LimitedPassportAccountID,
				Scopes:       []string{"paas.core.accounts.list.get"},
				Roles:        []string{"entity.client_credentials"},
			},
		}},
		PassKit: &PassKitFixtures{Users: []PassKitUser{{
			Username:    DefaultPassKitUsername,
			Password:    DefaultPassKitPassword,
			Email:       DefaultPassKitUsername,
			CompanyName: "Demo Passes Ltd",
			APIKey:      DefaultPassKitAPIKey,
			APISecret:   DefaultPassKitAPISecret,
		}}},
		Brass: &BrassFixtures{
			AppKeys: []string{DefaultBrassAppKey},
			Users: []BrassUser{
				{Email: DefaultBrassUsername, Password: DefaultBrassPassword, Role: "owner", TOTPSecret: DefaultBrassTOTPSecret},
				{Email: PayablesBrassUsername, Password: DefaultBrassPassword, Role: "payable_admin", TOTPSecret: PayablesBrassTOTPSecret},
			},
		},
		TeleTracker: &TeleTrackerFixtures{
			Accounts: []TeleTrackerAccount{
				{ID: DefaultTeleTrackerAccountID, Name: "Demo Plumbing Co"},
				{ID: SecondTeleTrackerAccountID, Name: "Demo Roofing Co"},
			},
			Users: []TeleTrackerUser{
				{UserID: 501, Username: DefaultTeleTrackerUsername, Password: DefaultTeleTrackerPassword,
					Accounts: []int64{DefaultTeleTrackerAccountID, SecondTeleTrackerAccountID}},
				{UserID: 502, Username: IntegratorTeleTrackerUser, Password: DefaultTeleTrackerPassword,
					Accounts: []int64{DefaultTeleTrackerAccountID, SecondTeleTrackerAccountID}, Integrator: true},
			},
		},
	}
}

// ParseFixtures reads fixtures from YAML or JSON. Unknown fields are errors.
func ParseFixtures(data []byte) (Fixtures, error) {
	var f Fixtures
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return Fixtures{}, fmt.Errorf("parse fixtures: %w", err)
	}
	if err := f.validate(); err != nil {
		return Fixtures{}, err
	}
	return f, nil
}

// LoadFixtures reads a fixtures file (YAML or JSON).
func LoadFixtures(path string) (Fixtures, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Fixtures{}, fmt.Errorf("read fixtures: %w", err)
	}
	f, err := ParseFixtures(data)
	if err != nil {
		return Fixtures{}, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// WithDefaults returns f with every vendor section it leaves out taken from
// DefaultFixtures: the fixtures an emulator given f serves.
func (f Fixtures) WithDefaults() Fixtures {
	d := DefaultFixtures()
	if f.Passport == nil {
		f.Passport = d.Passport
	}
	if f.PassKit == nil {
		f.PassKit = d.PassKit
	}
	if f.TeleTracker == nil {
		f.TeleTracker = d.TeleTracker
	}
	if f.Brass == nil {
		f.Brass = d.Brass
	}
	return f
}

func (f Fixtures) validate() error {
	if p := f.Passport; p != nil {
		seen := make(map[string]bool, len(p.Clients))
		for i, c := range p.Clients {
			switch {
			case c.ClientID == "":
				return fmt.Errorf("fixtures: passport.clients[%d]: client_id is empty", i)
			case c.ClientSecret == "":
				return fmt.Errorf("fixtures: passport.clients[%d] (%s): client_secret is empty", i, c.ClientID)
			case c.AccountID == "":
				return fmt.Errorf("fixtures: passport.clients[%d] (%s): account_id is empty", i, c.ClientID)
			case c.Accounts < 0 || c.Accounts > 1000:
				return fmt.Errorf("fixtures: passport.clients[%d] (%s): accounts must be 0 to 1000", i, c.ClientID)
			case seen[c.ClientID]:
				return fmt.Errorf("fixtures: passport.clients[%d]: duplicate client_id %q", i, c.ClientID)
			}
			seen[c.ClientID] = true
		}
	}
	if p := f.PassKit; p != nil {
		users, keys := map[string]bool{}, map[string]bool{}
		for i, u := range p.Users {
			where := fmt.Sprintf("fixtures: passkit.users[%d] (%s)", i, u.Username)
			switch {
			case u.Username == "" || u.Password == "":
				return fmt.Errorf("%s: username and password must be set", where)
			case u.APIKey == "" || u.APISecret == "":
				return fmt.Errorf("%s: api_key and api_secret must be set", where)
			case strings.Count(u.APIKey, ".") > 0:
				return fmt.Errorf("%s: api_key must not contain dots", where)
			case u.Members < 0 || u.Members > 1000:
				return fmt.Errorf("%s: members must be 0 to 1000", where)
			case users[u.Username]:
				return fmt.Errorf("%s: duplicate username", where)
			case keys[u.APIKey]:
				return fmt.Errorf("%s: duplicate api_key", where)
			}
			users[u.Username], keys[u.APIKey] = true, true
		}
	}
	if b := f.Brass; b != nil {
		for i, k := range b.AppKeys {
			if !brassAppKeyRE.MatchString(k) {
				return fmt.Errorf("fixtures: brass.app_keys[%d]: want lk_ and 42 letters or digits", i)
			}
		}
		seen := map[string]bool{}
		for i, u := range b.Users {
			where := fmt.Sprintf("fixtures: brass.users[%d] (%s)", i, u.Email)
			switch {
			case u.Email == "" || u.Password == "":
				return fmt.Errorf("%s: email and password must be set", where)
			case seen[u.Email]:
				return fmt.Errorf("%s: duplicate email", where)
			case brassRoleByName(u.Role) == nil:
				return fmt.Errorf("%s: unknown role %q (want one of %s)", where, u.Role, strings.Join(brassRoleNames(), ", "))
			}
			if u.TOTPSecret != "" {
				if _, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.TrimRight(strings.ToUpper(u.TOTPSecret), "=")); err != nil {
					return fmt.Errorf("%s: totp_secret is not base32", where)
				}
			}
			seen[u.Email] = true
		}
	}
	if tt := f.TeleTracker; tt != nil {
		accounts := map[int64]bool{}
		for i, a := range tt.Accounts {
			if a.ID <= 0 || accounts[a.ID] {
				return fmt.Errorf("fixtures: teletracker.accounts[%d]: id must be a unique positive integer", i)
			}
			accounts[a.ID] = true
		}
		users, ids := map[string]bool{}, map[int64]bool{}
		for i, u := range tt.Users {
			where := fmt.Sprintf("fixtures: teletracker.users[%d] (%s)", i, u.Username)
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
					return fmt.Errorf("%s: account %d is not in teletracker.accounts", where, a)
				}
			}
			users[u.Username], ids[u.UserID] = true, true
		}
	}
	return nil
}
