package emulator_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/passport"
)

func (e *env) passportConfig(style oauth2.AuthStyle) *clientcredentials.Config {
	return &clientcredentials.Config{
		ClientID:     passport.DefaultClientID,
		ClientSecret: passport.DefaultClientSecret,
		TokenURL:     e.srv.URL + "/passport/v1/iam/oauth/tokens",
		AuthStyle:    style,
	}
}

func (e *env) ctx() context.Context {
	return context.WithValue(context.Background(), oauth2.HTTPClient, e.client)
}

// The acceptance flow: a real oauth2 client gets a token from a listening
// server, uses it, still succeeds 86399 s later, and gets 401 invalid_token 1 s after.
func TestPassportClientCredentialsExpiry(t *testing.T) {
	t.Parallel()
	for _, style := range []struct {
		name  string
		style oauth2.AuthStyle
	}{{"basic", oauth2.AuthStyleInHeader}, {"form", oauth2.AuthStyleInParams}} {
		t.Run(style.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, emulator.Config{})
			e.emu.Clock().Freeze()
			tok, err := e.passportConfig(style.style).Token(e.ctx())
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			if tok.RefreshToken != "" {
				t.Errorf("got a refresh token %q, want none (RFC 6749 §4.4.3)", tok.RefreshToken)
			}
			if got := tok.Extra("expires_in"); got != float64(86400) {
				t.Errorf("expires_in = %v, want 86400", got)
			}
			auth := hdr("Authorization", "Bearer "+tok.AccessToken)

			resp, body := e.do("GET", "/passport/v1/core/accounts", auth, "")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("accounts: got %d %s, want 200", resp.StatusCode, body)
			}
			if _, err := e.emu.Clock().Advance(86399 * time.Second); err != nil {
				t.Fatal(err)
			}
			if resp, body = e.do("GET", "/passport/v1/core/accounts", auth, ""); resp.StatusCode != http.StatusOK {
				t.Fatalf("at 86399 s: got %d %s, want 200", resp.StatusCode, body)
			}
			if _, err := e.emu.Clock().Advance(time.Second); err != nil {
				t.Fatal(err)
			}
			resp, body = e.do("GET", "/passport/v1/core/accounts", auth, "")
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("at 86400 s: got %d %s, want 401", resp.StatusCode, body)
			}
			wantChallenge := `Bearer realm="passport", error="invalid_token", error_description="the access token has expired"`
			if got := resp.Header.Get("WWW-Authenticate"); got != wantChallenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, wantChallenge)
			}
			if got := resp.Header.Get("X-Tokenemu-Reason"); got != "token_expired" {
				t.Errorf("X-Tokenemu-Reason = %q, want token_expired", got)
			}
			st := decode[map[string]any](t, body)
			if st["code"] != float64(16) {
				t.Errorf("code = %v, want 16 (UNAUTHENTICATED)", st["code"])
			}
			if e.spec.checked.Load() < 3 {
				t.Errorf("only %d responses were checked against the spec", e.spec.checked.Load())
			}
		})
	}
}

func TestPassportTokenResponse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	now := e.emu.Clock().Freeze()
	resp, body := e.do("POST", "/passport/v1/iam/oauth/tokens", hdr("Content-Type", "application/json"),
		`{"client_id":"demo-client","client_secret":"demo-secret","grant_type":"client_credentials"}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	if got := resp.Header.Get("Pragma"); got != "no-cache" {
		t.Errorf("Pragma = %q, want no-cache", got)
	}
	tr := decode[passportTokenResp](t, body)
	if tr.TokenType != "Bearer" || tr.ExpiresIn != 86400 || tr.AccountID != passport.DefaultAccountID {
		t.Errorf("token_type %q expires_in %d account_id %q", tr.TokenType, tr.ExpiresIn, tr.AccountID)
	}
	if len(tr.AccessToken) < 43 || strings.Count(tr.AccessToken, ".") != 0 {
		t.Errorf("access_token %q: want ≥ 43 base64url characters (256 bits), no dots", tr.AccessToken)
	}
	if want := now.Format("2006-01-02T15:04:05.000Z07:00"); tr.CreatedAt != want {
		t.Errorf("created_at = %q, want %q", tr.CreatedAt, want)
	}
	if len(tr.Scopes) != len(passport.Scopes()) || len(tr.Roles) != 1 {
		t.Errorf("scopes %v roles %v", tr.Scopes, tr.Roles)
	}
	if strings.Contains(string(body), "refresh_token") || strings.Contains(string(body), `"scope"`) {
		t.Errorf("body has refresh_token or an OAuth scope string: %s", body)
	}
}

type passportTokenResp struct {
	AccessToken string   `json:"access_token"`
	TokenType   string   `json:"token_type"`
	ExpiresIn   int      `json:"expires_in"`
	TokenID     string   `json:"token_id"`
	Scopes      []string `json:"scopes"`
	Roles       []string `json:"roles"`
	AccountID   string   `json:"account_id"`
	CreatedAt   string   `json:"created_at"`
}
