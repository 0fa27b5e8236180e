package emulator_test

import (
	"context"
	"errors"
	"iter"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/brass"
	"github.com/tokenemu/tokenemu/emulator/store"
)

// downStore is a store that fails every operation while down is set, as a
// network store fails when its server cannot be reached.
type downStore struct {
	store.Store
	down atomic.Bool
}

// errUnreachable names an address, which no answer may show.
var errUnreachable = errors.New("dial tcp 10.9.8.7:6379: connect: connection refused")

func (s *downStore) fail() error {
	if s.down.Load() {
		return errUnreachable
	}
	return nil
}

func (s *downStore) Put(ctx context.Context, t store.Token) error {
	if err := s.fail(); err != nil {
		return err
	}
	return s.Store.Put(ctx, t)
}

func (s *downStore) ByHash(ctx context.Context, h store.SecretHash) (store.Token, error) {
	if err := s.fail(); err != nil {
		return store.Token{}, err
	}
	return s.Store.ByHash(ctx, h)
}

func (s *downStore) ByID(ctx context.Context, vendor, id string) (store.Token, error) {
	if err := s.fail(); err != nil {
		return store.Token{}, err
	}
	return s.Store.ByID(ctx, vendor, id)
}

func (s *downStore) List(ctx context.Context, q store.Query) (store.Page, error) {
	if err := s.fail(); err != nil {
		return store.Page{}, err
	}
	return s.Store.List(ctx, q)
}

func (s *downStore) Revoke(ctx context.Context, vendor, id string, at time.Time, reason string) (store.Token, error) {
	if err := s.fail(); err != nil {
		return store.Token{}, err
	}
	return s.Store.Revoke(ctx, vendor, id, at, reason)
}

func (s *downStore) Expire(ctx context.Context, vendor, id string, at time.Time) (store.Token, error) {
	if err := s.fail(); err != nil {
		return store.Token{}, err
	}
	return s.Store.Expire(ctx, vendor, id, at)
}

func (s *downStore) RevokeFamily(ctx context.Context, vendor, family string, at time.Time, reason string) ([]store.Token, error) {
	if err := s.fail(); err != nil {
		return nil, err
	}
	return s.Store.RevokeFamily(ctx, vendor, family, at, reason)
}

func (s *downStore) Sweep(ctx context.Context, before time.Time, budget int) (int, error) {
	if err := s.fail(); err != nil {
		return 0, err
	}
	return s.Store.Sweep(ctx, before, budget)
}

func (s *downStore) Snapshot(ctx context.Context) (iter.Seq2[store.Token, error], error) {
	if err := s.fail(); err != nil {
		return nil, err
	}
	return s.Store.Snapshot(ctx)
}

func (s *downStore) Stats(ctx context.Context) (store.Stats, error) {
	if err := s.fail(); err != nil {
		return store.Stats{}, err
	}
	return s.Store.Stats(ctx)
}

// While the store cannot answer, every vendor answers 503
// store_unavailable in its own shape: never "token unknown" (the client
// would throw a good token away), never a revoked token let through, never
// a logout that says it worked, and never the store's own error text.
func TestStoreFailureIsA503InEachVendorsShape(t *testing.T) {
	t.Parallel()
	ds := &downStore{Store: store.NewMemory()}
	e := newEnv(t, emulator.Config{Store: ds, Settings: map[string]string{"brass.rate-limit": "0"}})
	passportTok := e.demoToken().AccessToken
	passkitJWT, passkitLL := e.passkitLogin(false), e.passkitLogin(true)
	brassUser := e.brassUser(brass.DefaultUsername)
	brassPAT := e.brassPAT(brassUser, "ci", "owner").Token
	tt := e.ttLogin("")
	// A revoked PassKit JWT must stay refused while its record cannot be read.
	if resp, body := e.admin("POST", "/tokens/revoke", `{"token":"`+passkitJWT+`"}`); resp.StatusCode != 200 {
		t.Fatalf("revoke: %d %s", resp.StatusCode, body)
	}

	ds.down.Store(true)
	cases := []struct {
		name, method, path string
		header             http.Header
		body               string
		shape              string // a key the vendor's error body has
	}{
		{"passport bearer", "GET", "/passport/v1/core/accounts", bearer(passportTok), "", `"code":14`},
		{"passport token endpoint", "POST", "/passport/v1/iam/oauth/tokens", hdr("Content-Type", "application/json"),
			`{"client_id":"demo-client","client_secret":"demo-secret","grant_type":"client_credentials"}`, `"error":"temporarily_unavailable"`},
		{"passkit revoked jwt", "GET", "/passkit/user/profile", hdr("Authorization", passkitJWT), "", `"error":`},
		{"passkit long-lived", "GET", "/passkit/user/profile", hdr("Authorization", passkitLL), "", `"error":`},
		{"brass user jwt", "GET", "/brass/banking/accounts", bearer(brassUser), "", `"title":"Service Unavailable"`},
		{"brass pat", "GET", "/brass/banking/accounts", bearer(brassPAT), "", `"title":"Service Unavailable"`},
		{"teletracker bearer", "GET", "/teletracker/reports/call-data", bearer(tt.Token), "", `"success":false`},
		{"teletracker refresh", "POST", "/teletracker/auth/refresh", hdr("Content-Type", "application/json"),
			`{"refresh_token":"` + tt.RefreshToken + `"}`, `"success":false`},
		{"admin listing", "GET", "/_emulator/tokens", nil, "", `"error":"store_unavailable"`},
		{"admin expire by value", "POST", "/_emulator/tokens/expire", hdr("Content-Type", "application/json"),
			`{"token":"` + passportTok + `"}`, `"error":"store_unavailable"`},
		{"admin revoke a pat by value", "POST", "/_emulator/tokens/revoke", hdr("Content-Type", "application/json"),
			`{"token":"` + brassPAT + `"}`, `"error":"store_unavailable"`},
	}
	for _, c := range cases {
		resp, body := e.do(c.method, c.path, c.header, c.body)
		if resp.StatusCode != http.StatusServiceUnavailable || reason(resp) != "store_unavailable" || !strings.Contains(string(body), c.shape) {
			t.Errorf("%s: %d %q %s; want 503 store_unavailable with %s", c.name, resp.StatusCode, reason(resp), body, c.shape)
		}
		if strings.Contains(string(body), "10.9.8.7") {
			t.Errorf("%s: the answer shows the store's address: %s", c.name, body)
		}
	}
	if resp, _ := e.do("POST", "/passport/v1/iam/oauth/tokens", hdr("Content-Type", "application/json"),
		`{"client_id":"demo-client","client_secret":"demo-secret","grant_type":"client_credentials"}`); resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Pragma") != "no-cache" {
		t.Errorf("token endpoint 503: Cache-Control %q, Pragma %q", resp.Header.Get("Cache-Control"), resp.Header.Get("Pragma"))
	}
	// Logout cannot say it worked while the session stays live.
	resp, body := e.do("POST", "/teletracker/auth/logout", hdr("Authorization", "Bearer "+tt.Token, "Content-Type", "application/json"), "{}")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("teletracker logout while the store is down: %d %s", resp.StatusCode, body)
	}

	ds.down.Store(false)
	if resp, _ := e.do("GET", "/passport/v1/core/accounts", bearer(passportTok), ""); resp.StatusCode != 200 {
		t.Errorf("the token after the store came back: %d, want 200 (it was never thrown away)", resp.StatusCode)
	}
	if resp, _ := e.do("GET", "/passkit/user/profile", hdr("Authorization", passkitJWT), ""); resp.StatusCode != 401 {
		t.Errorf("the revoked PassKit JWT after the store came back: %d, want 401", resp.StatusCode)
	}
}
