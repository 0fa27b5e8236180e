// Package brass emulates Brass's token scheme: an app key
// (Authorization: Bearer lk_…) and a user's password give a temporary JWT;
// the 6-digit OTP emailed to the user (here: GET /_emulator/brass/otp, or a
// TOTP authenticator code) turns it into a 60-minute user JWT; and personal
// access tokens, shown once as "<id>|pat-<40>", never expire, can be
// revoked, and carry the permissions of their role that their creator has.
//
// Where Brass's documentation is silent the emulation decides, and its
// OpenAPI document's info.description (served at
// /_emulator/openapi/brass.yaml) says what it decided.
package brass

import (
	"encoding/base32"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tokenemu/tokenemu/emulator/store"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
	"github.com/tokenemu/tokenemu/openapi"
)

// Name is the vendor's name, its path prefix (/brass) and its document's name.
const Name = brassVendor

// Definition registers Brass with an emulator.
func Definition() vendorapi.Definition {
	return vendorapi.Definition{
		Name:     brassVendor,
		Document: func() (*vendorapi.Document, error) { return openapi.Document(brassVendor) },
		Kinds:    []store.Kind{store.KindTemporary, store.KindJWT, store.KindPAT},
		Settings: []vendorapi.Setting{
			{Name: "temporary-lifetime", Default: "10m0s", Usage: "lifetime of the temporary JWT from login"},
			{Name: "rate-limit", Default: "60", Usage: "requests a user may make a minute (Brass documents 60); 0 switches the limit off"},
			{Name: "max-pats", Default: fmt.Sprint(DefaultMaxPATs), Usage: "personal access tokens the emulator keeps; one more gets 409"},
		},
		Configure: func(values map[string]string) (any, error) {
			s := vendorapi.Settings{Values: values}
			c := Config{
				TemporaryTokenLifetime: s.PositiveDuration("temporary-lifetime", 10*time.Minute),
				RateLimit:              s.Int("rate-limit", 60, 0, 1_000_000),
				MaxPATs:                s.Int("max-pats", DefaultMaxPATs, 1, 100_000_000),
			}
			return c, s.Err
		},
		Fixtures: ParseFixtures,
		New:      newBrass,
		Example:  vendorapi.Example{Principal: DefaultUsername, Method: "GET", Path: "/banking/accounts"},
	}
}

// DefaultMaxPATs is how many personal access tokens the emulator keeps by default.
const DefaultMaxPATs = 1_000_000

// Config is Brass's settings (Definition's Configure makes it).
type Config struct {
	// TemporaryTokenLifetime is the life of the temporary JWT from login.
	TemporaryTokenLifetime time.Duration
	// RateLimit is the number of requests a user may make a minute; 0
	// switches the limit off.
	RateLimit int
	// MaxPATs bounds the personal access tokens the emulator keeps (they
	// never expire, and a revoked one's name and role are kept to list it);
	// one more is a 409 limit_reached.
	MaxPATs int
}

// Fixtures are Brass's app keys and users.
type Fixtures struct {
	AppKeys []string `yaml:"app_keys" json:"app_keys"`
	Users   []User   `yaml:"users" json:"users"`
}

// User is a user of the business, with one role. TOTPSecret (base32) lets
// the user authorise with an authenticator-app code as well as the emailed OTP.
type User struct {
	Email      string `yaml:"email" json:"email"`
	Password   string `yaml:"password" json:"password"`
	Role       string `yaml:"role" json:"role"`
	TOTPSecret string `yaml:"totp_secret,omitempty" json:"totp_secret,omitempty"`
}

// The default app key and users, printed at start.
const (
	DefaultAppKey      = "lk_tokenemuDemoAppKey000000000000000000000000"
	DefaultUsername    = "demo@brass.test"
	PayablesUsername   = "payables@brass.test"
	DefaultPassword    = "brass-demo"
	DefaultTOTPSecret  = "JBSWY3DPEHPK3PXP"
	PayablesTOTPSecret = "KRUGS4ZANFZSAYJAORSXG5BAONSWG4TF"
)

// DefaultFixtures returns Brass's built-in app key and users.
func DefaultFixtures() *Fixtures {
	return &Fixtures{
		AppKeys: []string{DefaultAppKey},
		Users: []User{
			{Email: DefaultUsername, Password: DefaultPassword, Role: "owner", TOTPSecret: DefaultTOTPSecret},
			{Email: PayablesUsername, Password: DefaultPassword, Role: "payable_admin", TOTPSecret: PayablesTOTPSecret},
		},
	}
}

// ParseFixtures reads Brass's section of a fixtures file (nil: the
// defaults). Unknown fields are errors.
func ParseFixtures(raw []byte) (any, error) {
	return vendorapi.ParseFixtures(raw, DefaultFixtures, (*Fixtures).validate)
}

func (f *Fixtures) validate() error {
	for i, k := range f.AppKeys {
		if !brassAppKeyRE.MatchString(k) {
			return fmt.Errorf("app_keys[%d]: want lk_ and 42 letters or digits", i)
		}
	}
	seen := map[string]bool{}
	for i, u := range f.Users {
		where := fmt.Sprintf("users[%d] (%s)", i, u.Email)
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
	return nil
}

// Secrets are the fixtures' app keys, passwords and TOTP secrets, which the
// journal never shows.
func (b *brass) Secrets() []string {
	out := slices.Clone(b.fx.AppKeys)
	for _, u := range b.fx.Users {
		out = append(out, u.Password, u.TOTPSecret)
	}
	return out
}

// OTP returns the last OTP Brass "emailed" to a user of v (an emulator's
// Brass, from Emulator.Vendor) by login.
func OTP(v vendorapi.Vendor, username string) (string, bool) {
	b, ok := v.(*brass)
	if !ok {
		return "", false
	}
	return b.OTP(username)
}

// AdminHandlers is Brass's operation on the admin plane: the OTP lookup,
// the emulator's stand-in for the user's mailbox.
func (b *brass) AdminHandlers() map[string]vendorapi.Handler {
	return map[string]vendorapi.Handler{"getBrassOTP": b.getOTP}
}

// savedBrass holds the JWT key (so that JWTs issued before a restart still
// verify), PAT metadata, the PAT counter and the payments.
type savedBrass struct {
	Key      []byte          `json:"key"`
	PATs     []savedBrassPAT `json:"pats"`
	NextPAT  int64           `json:"next_pat"`
	Payments []brassPayment  `json:"payments"`
}

type savedBrassPAT struct {
	TokenID  string    `json:"token_id"`
	Name     string    `json:"name"`
	Role     string    `json:"role"`
	Created  time.Time `json:"created"`
	LastUsed time.Time `json:"last_used,omitzero"`
}

// Banner lists the app keys and users, for the start banner.
func (b *brass) Banner(base string) []string {
	var out []string
	for _, k := range b.fx.AppKeys {
		out = append(out, "app key "+vendorapi.Shown(k, DefaultAppKey))
	}
	for _, u := range b.fx.Users {
		out = append(out, fmt.Sprintf("user %s  password %s  role %s  (OTP: GET %s/_emulator/brass/otp?username=%s)", u.Email,
			vendorapi.Shown(u.Password, DefaultPassword), u.Role, base, u.Email))
	}
	return out
}
