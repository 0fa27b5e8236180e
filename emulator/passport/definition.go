// Package passport emulates Passport's OAuth 2.0 client-credentials
// tokens: POST /v1/iam/oauth/tokens answers an opaque access token that
// lives 24 hours, which the client can list, inspect and revoke; errors of
// the token endpoint follow RFC 6749 §5.2 and every other error is a
// gRPC-gateway status, in English or Spanish (Accept-Language).
//
// Where Passport's documentation is silent or contradicts itself the
// emulation decides, and its OpenAPI document's info.description (served at
// /_emulator/openapi/passport.yaml) says what it decided; the two choices a
// test may want the other way round are settings (revoke-status,
// scope-status).
package passport

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/tokenemu/tokenemu/emulator/store"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
	"github.com/tokenemu/tokenemu/openapi"
)

// Name is the vendor's name, its path prefix (/passport) and its document's name.
const Name = passportVendor

// Definition registers Passport with an emulator.
func Definition() vendorapi.Definition {
	return vendorapi.Definition{
		Name:     passportVendor,
		Document: func() (*vendorapi.Document, error) { return openapi.Document(passportVendor) },
		Kinds:    []store.Kind{store.KindAccess},
		Settings: []vendorapi.Setting{
			{Name: "revoke-status", Default: "200", Usage: "success status of DELETE /v1/iam/oauth/tokens/{id}, 200 or 204"},
			{Name: "scope-status", Default: "401", Usage: "status for a token that lacks a scope, 401 (as documented) or 403"},
		},
		Configure: func(values map[string]string) (any, error) {
			s := vendorapi.Settings{Values: values}
			c := Config{
				RevokeStatus:     s.OneOf("revoke-status", http.StatusOK, http.StatusOK, http.StatusNoContent),
				ScopeErrorStatus: s.OneOf("scope-status", http.StatusUnauthorized, http.StatusUnauthorized, http.StatusForbidden),
			}
			return c, s.Err
		},
		Fixtures: ParseFixtures,
		New:      newPassport,
		Example:  vendorapi.Example{Principal: DefaultClientID, Method: "GET", Path: "/v1/core/accounts"},
	}
}

// Config tunes the points where Passport's documentation contradicts itself
// or the RFCs (Definition's Configure makes it).
type Config struct {
	// RevokeStatus is the success status of DELETE /v1/iam/oauth/tokens/{id}:
	// 200 (the revoke page, default) or 204 (the general endpoint page).
	RevokeStatus int
	// ScopeErrorStatus is the status for a valid token that lacks a scope:
	// 401 (as Passport documents, default) or 403 insufficient_scope (RFC
	// 6750 §3.1).
	ScopeErrorStatus int
}

// Fixtures are Passport's OAuth2 clients.
type Fixtures struct {
	Clients []Client `yaml:"clients" json:"clients"`
}

// Client is one client-credentials client: its secret, the entity account
// it belongs to, and the scopes and roles its tokens carry.
type Client struct {
	ClientID     string   `yaml:"client_id" json:"client_id"`
	ClientSecret string   `yaml:"client_secret" json:"client_secret"`
	AccountID    string   `yaml:"account_id" json:"account_id"`
	Scopes       []string `yaml:"scopes" json:"scopes"`
	Roles        []string `yaml:"roles" json:"roles"`
	// Accounts is how many fake bank accounts the entity has (default 3).
	Accounts int `yaml:"accounts,omitempty" json:"accounts,omitempty"`
}

// The default clients, printed at start: one with every scope, one with a
// single scope.
const (
	DefaultClientID     = "demo-client"
	DefaultClientSecret = "demo-secret"
	DefaultAccountID    = "7d3c9a52-4a1e-4f0b-9a35-2f7c1d8e6b10"
	LimitedClientID     = "limited-client"
	LimitedClientSecret = "limited-secret"
	LimitedAccountID    = "c2a8e4f1-93b7-4d5e-8a61-0f4b2d9c7e35"
)

// Scopes are the scopes every Passport endpoint of the emulator needs; the
// default client has all of them.
func Scopes() []string {
	return []string{
		"iam.oauth.tokens.list.get",
		"iam.oauth.tokens.get",
		"iam.oauth.tokens.delete",
		"iam.logout.post",
		"paas.core.accounts.list.get",
		"paas.core.accounts.get",
	}
}

// DefaultFixtures returns Passport's built-in clients.
func DefaultFixtures() *Fixtures {
	return &Fixtures{Clients: []Client{
		{
			ClientID:     DefaultClientID,
			ClientSecret: DefaultClientSecret,
			AccountID:    DefaultAccountID,
			Scopes:       Scopes(),
			Roles:        []string{"entity.client_credentials"},
		},
		{
			ClientID:     LimitedClientID,
			ClientSecret: LimitedClientSecret,
			AccountID:    LimitedAccountID,
			Scopes:       []string{"paas.core.accounts.list.get"},
			Roles:        []string{"entity.client_credentials"},
		},
	}}
}

// ParseFixtures reads Passport's section of a fixtures file (nil: the
// defaults). Unknown fields are errors.
func ParseFixtures(raw []byte) (any, error) {
	return vendorapi.ParseFixtures(raw, DefaultFixtures, (*Fixtures).validate)
}

func (f *Fixtures) validate() error {
	seen := make(map[string]bool, len(f.Clients))
	for i, c := range f.Clients {
		switch {
		case c.ClientID == "":
			return fmt.Errorf("clients[%d]: client_id is empty", i)
		case c.ClientSecret == "":
			return fmt.Errorf("clients[%d] (%s): client_secret is empty", i, c.ClientID)
		case c.AccountID == "":
			return fmt.Errorf("clients[%d] (%s): account_id is empty", i, c.ClientID)
		case c.Accounts < 0 || c.Accounts > 1000:
			return fmt.Errorf("clients[%d] (%s): accounts must be 0 to 1000", i, c.ClientID)
		case seen[c.ClientID]:
			return fmt.Errorf("clients[%d]: duplicate client_id %q", i, c.ClientID)
		}
		seen[c.ClientID] = true
	}
	return nil
}

// Secrets are the fixtures' client secrets, which the journal never shows.
func (p *passport) Secrets() []string {
	var out []string
	for _, c := range p.fx.Clients {
		out = append(out, c.ClientSecret)
	}
	return out
}

// Banner lists the clients, for the start banner.
func (p *passport) Banner(base string) []string {
	var out []string
	for _, c := range p.fx.Clients {
		secret := "(from the fixtures file)"
		for _, d := range DefaultFixtures().Clients {
			if d.ClientID == c.ClientID {
				secret = vendorapi.Shown(c.ClientSecret, d.ClientSecret)
			}
		}
		out = append(out, fmt.Sprintf("client_id %s  client_secret %s  scopes %s", c.ClientID, secret, strings.Join(c.Scopes, " ")))
	}
	return out
}
