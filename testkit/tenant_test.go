package testkit_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/passport"
	"github.com/tokenemu/tokenemu/testkit"
	"github.com/tokenemu/tokenemu/testkit/internal/kitopt"
)

// Shared kits are tenants of one emulator: what one test does, another does
// not see, and neither reaches the other's admin plane; a kit's options
// reach its tenant alone.
func TestSharedKitsAreIsolated(t *testing.T) {
	t.Parallel()
	at := time.Date(2032, 1, 2, 3, 4, 5, 0, time.UTC)
	fx := emulator.Fixtures{passport.Name: passport.Fixtures{Clients: []passport.Client{{
		ClientID: "mine", ClientSecret: "my-secret", AccountID: "0b5e0d2c-1111-4222-8333-444455556666", Scopes: passport.Scopes(),
	}}}}
	a := testkit.Shared(t, testkit.WithClockAt(at), testkit.WithFixtures(fx), testkit.WithScenario("vendor-outage:brass"),
		testkit.WithSetting("passport.revoke-status", "204"))
	b := testkit.Shared(t)
	if a.BaseURL() == b.BaseURL() || !strings.Contains(a.BaseURL(), "/t/") {
		t.Fatalf("base URLs %s and %s", a.BaseURL(), b.BaseURL())
	}
	if a.Emulator() == nil || a.Emulator() == b.Emulator() {
		t.Error("in the process, each shared kit has its own tenant's emulator")
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		a.Clock.Freeze()
		a.Clock.Advance(48 * time.Hour)
		a.IssueToken(testkit.Passport, "mine")
	})
	wg.Go(func() {
		for range 5 {
			b.IssueToken(testkit.Passport, "demo-client")
		}
	})
	wg.Wait()
	if got := a.Clock.Now(); got.Sub(at) < 48*time.Hour || got.Sub(at) > 49*time.Hour {
		t.Errorf("a's clock %v, want about %v", got, at.Add(48*time.Hour))
	}
	if d := time.Until(b.Clock.Now()); d > time.Hour || d < -time.Hour {
		t.Errorf("b's clock moved with a's: %v from real now", d)
	}
	if n, m := len(a.Tokens(testkit.Passport, "")), len(b.Tokens(testkit.Passport, "")); n != 1 || m != 5 {
		t.Errorf("tokens: a %d, b %d; want 1 and 5", n, m)
	}
	if code, _ := status(t, "GET", a.URL(testkit.Brass)+"/banking/accounts", nil); code != 503 {
		t.Errorf("a's brass outage: %d", code)
	}
	if code, _ := status(t, "GET", b.URL(testkit.Brass)+"/banking/accounts", nil); code != 401 {
		t.Errorf("b's brass (no outage, no token): %d, want 401", code)
	}
	// Knowing a's URL is not enough: a kit without a's token is refused.
	stranger := testkit.Connect(t, a.BaseURL())
	var ae *testkit.AdminError
	if _, err := stranger.Admin().Advance(context.Background(), time.Hour); !errors.As(err, &ae) || ae.Code != "tenant_token_required" {
		t.Errorf("a kit without a's token moved a's clock: %v", err)
	}
	if err := a.Admin().Reset(context.Background()); err != nil {
		t.Errorf("a's own reset: %v", err)
	}
}

// A shared kit's tenant is gone when its test ends.
func TestSharedKitTenantEndsWithItsTest(t *testing.T) {
	t.Parallel()
	var base string
	t.Run("inner", func(t *testing.T) {
		base = testkit.Shared(t).BaseURL()
	})
	if code, reason := status(t, "GET", base+"/_emulator/healthz", nil); code != http.StatusNotFound || reason != "no_such_tenant" {
		t.Errorf("the tenant after its test: %d %s, want 404 no_such_tenant", code, reason)
	}
}

// A shared kit takes the options of one tenant; those of a whole emulator
// are refused, by name.
func TestTenantSpecFromOptions(t *testing.T) {
	t.Parallel()
	s, err := kitopt.Resolve(testkit.WithSeed(5), testkit.WithScenario("vendor-outage:brass"),
		testkit.WithSetting("brass.rate-limit", "0"), testkit.WithClockAt(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)),
		testkit.WithFixtures(emulator.Fixtures{passport.Name: passport.Fixtures{Clients: []passport.Client{{ClientID: "c", ClientSecret: "s", AccountID: "0b5e0d2c-1111-4222-8333-444455556666"}}}}))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := s.TenantSpec()
	if err != nil {
		t.Fatal(err)
	}
	if !spec.Token || spec.Seed != 5 || spec.Settings["brass.rate-limit"] != "0" || spec.Clock.Year() != 2030 ||
		len(spec.Scenarios) != 1 || !strings.Contains(string(spec.Fixtures), `"client_id":"c"`) {
		t.Errorf("spec %+v, fixtures %s", spec, spec.Fixtures)
	}
	s, _ = kitopt.Resolve(testkit.WithConfig(func(c *emulator.Config) { c.AdminToken = "x"; c.JournalSize = 5 }))
	if _, err := s.TenantSpec(); err == nil || !strings.Contains(err.Error(), "Config.AdminToken") || !strings.Contains(err.Error(), "Config.JournalSize") {
		t.Errorf("whole-emulator options: %v", err)
	}
}

// NewTenant on an emulator without an admin token: the tenant is made with
// a token of its own, which also deletes it when the test ends.
func TestNewTenantWithoutAnAdminToken(t *testing.T) {
	t.Parallel()
	root, err := emulator.New(emulator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := emulator.NewTenants(root, emulator.Config{}, emulator.TenantLimits{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ts.Handler())
	t.Cleanup(func() { srv.Close(); _ = ts.Close() })
	t.Run("inner", func(t *testing.T) {
		kit := testkit.NewTenant(t, srv.URL, "")
		kit.Clock.Advance(time.Hour)
		if n := len(ts.List()); n != 1 {
			t.Errorf("%d tenants, want 1", n)
		}
	})
	if n := len(ts.List()); n != 0 {
		t.Errorf("%d tenants after the test, want its tenant deleted", n)
	}
}
