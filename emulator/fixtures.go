package emulator

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"
)

// Fixtures are the emulator's users, clients and accounts, loaded from YAML or
// JSON. A vendor section that is absent keeps that vendor's defaults; a present
// section replaces them.
type Fixtures struct {
	Passport *PassportFixtures `yaml:"passport,omitempty" json:"passport,omitempty"`
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

// withDefaults fills every absent vendor section with its defaults.
func (f Fixtures) withDefaults() Fixtures {
	d := DefaultFixtures()
	if f.Passport == nil {
		f.Passport = d.Passport
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
	return nil
}
