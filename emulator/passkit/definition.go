// Package passkit emulates PassKit's token scheme: POST /login answers a
// 60-minute HS256 JWT signed with the account's API secret, or, with the
// header x-passkit-longlived-token: true, a permanent opaque token. The
// JWT's claims are exactly uid (the API key), iat and exp, so that a client
// may also sign its own with its REST credentials, as PassKit allows.
//
// Where PassKit's documentation is silent the emulation decides, and its
// OpenAPI document's info.description (served at
// /_emulator/openapi/passkit.yaml) says what it decided.
package passkit

import (
	"bytes"
	"fmt"
	"time"

	"github.com/tokenemu/tokenemu/emulator/store"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
	"github.com/tokenemu/tokenemu/openapi"
)

// Name is the vendor's name, its path prefix (/passkit) and its document's name.
const Name = passkitVendor

// Definition registers PassKit with an emulator.
func Definition() vendorapi.Definition {
	return vendorapi.Definition{
		Name:     passkitVendor,
		Document: func() (*vendorapi.Document, error) { return openapi.Document(passkitVendor) },
		Kinds:    []store.Kind{store.KindJWT, store.KindLongLived},
		Settings: []vendorapi.Setting{
			{Name: "leeway", Default: "0s", Usage: "clock skew allowed on a JWT's exp, nbf and iat (e.g. 30s)"},
			{Name: "max-users", Default: fmt.Sprint(DefaultMaxUsers), Usage: "accounts POST /user/new may make; one more gets 409"},
		},
		Configure: func(values map[string]string) (any, error) {
			s := vendorapi.Settings{Values: values}
			c := Config{Leeway: s.Duration("leeway", 0), MaxUsers: s.Int("max-users", DefaultMaxUsers, 1, 1_000_000)}
			return c, s.Err
		},
		Fixtures: ParseFixtures,
		New:      newPassKit,
		Example:  vendorapi.Example{Principal: DefaultUsername, Method: "GET", Path: "/user/profile"},
	}
}

// DefaultMaxUsers is how many accounts /user/new may make by default.
const DefaultMaxUsers = 1000

// Config is PassKit's settings (Definition's Configure makes it).
type Config struct {
	// Leeway is the clock skew allowed when checking a JWT's exp, nbf and
	// iat (golang-jwt's leeway). Zero: a JWT issued one second in the
	// future is refused.
	Leeway time.Duration
	// MaxUsers bounds the accounts POST /user/new may make (one more is a
	// 409 limit_reached).
	MaxUsers int
}

// Fixtures are PassKit's users.
type Fixtures struct {
	Users []User `yaml:"users" json:"users"`
}

// User is a PassKit account: its login, and the REST credentials (API key
// and secret) its JWTs are signed with.
type User struct {
	Username    string `yaml:"username" json:"username"`
	Password    string `yaml:"password" json:"password"`
	Email       string `yaml:"email,omitempty" json:"email,omitempty"`
	CompanyName string `yaml:"company_name,omitempty" json:"company_name,omitempty"`
	APIKey      string `yaml:"api_key" json:"api_key"`
	APISecret   string `yaml:"api_secret" json:"api_secret"`
	Members     int    `yaml:"members,omitempty" json:"members,omitempty"` // fake members (default 5)
}

// The default account, printed at start.
const (
	DefaultUsername  = "demo@passkit.test"
	DefaultPassword  = "passkit-demo"
	DefaultAPIKey    = "2Xq7BvLmN4pRtY8wZcDf6H"
	DefaultAPISecret = "pk-demo-secret-7f3a9c1e5b2d8f4a6c0e9b7d3f1a5c8e"
)

// DefaultFixtures returns PassKit's built-in users.
func DefaultFixtures() *Fixtures {
	return &Fixtures{Users: []User{{
		Username:    DefaultUsername,
		Password:    DefaultPassword,
		Email:       DefaultUsername,
		CompanyName: "Demo Passes Ltd",
		APIKey:      DefaultAPIKey,
		APISecret:   DefaultAPISecret,
	}}}
}

// ParseFixtures reads PassKit's section of a fixtures file (nil: the
// defaults). Unknown fields are errors.
func ParseFixtures(raw []byte) (any, error) {
	return vendorapi.ParseFixtures(raw, DefaultFixtures, (*Fixtures).validate)
}

func (f *Fixtures) validate() error {
	users, keys := map[string]bool{}, map[string]bool{}
	for i, u := range f.Users {
		where := fmt.Sprintf("users[%d] (%s)", i, u.Username)
		switch {
		case u.Username == "" || u.Password == "":
			return fmt.Errorf("%s: username and password must be set", where)
		case u.APIKey == "" || u.APISecret == "":
			return fmt.Errorf("%s: api_key and api_secret must be set", where)
		case bytes.ContainsRune([]byte(u.APIKey), '.'):
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
	return nil
}

// Secrets are the fixtures' passwords and API secrets, which the journal
// never shows.
func (p *passkit) Secrets() []string {
	var out []string
	for _, u := range p.fx.Users {
		out = append(out, u.Password, u.APISecret)
	}
	return out
}

// savedPassKit holds the accounts made through /user/new (the fixtures'
// accounts come from the fixtures) and every member.
type savedPassKit struct {
	Users   []savedPassKitUser   `json:"users"`
	Members []savedPassKitMember `json:"members"`
}

type savedPassKitUser struct {
	ID        string    `json:"id"`
	Username  string    `json:"username"`
	Email     string    `json:"email"`
	Company   string    `json:"company"`
	Password  string    `json:"password_sha256"`
	APIKey    string    `json:"api_key"`
	APISecret string    `json:"api_secret"` // an HMAC key, kept as is in memory too
	Created   time.Time `json:"created"`
}

type savedPassKitMember struct {
	passkitMember
	Owner string `json:"owner"`
}

// Banner lists the users, for the start banner.
func (p *passkit) Banner(base string) []string {
	var out []string
	for _, u := range p.fx.Users {
		out = append(out, fmt.Sprintf("username %s  password %s  (API key %s)", u.Username, vendorapi.Shown(u.Password, DefaultPassword), u.APIKey))
	}
	return out
}
