package emulator_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenemu/tokenemu/emulator"
)

// tenantServer serves a root emulator and its tenants.
func tenantServer(t *testing.T, limits emulator.TenantLimits) (*emulator.Tenants, string) {
	t.Helper()
	root, err := emulator.New(emulator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ts := emulator.NewTenants(root, emulator.Config{}, limits)
	srv := httptest.NewServer(ts.Handler())
	t.Cleanup(func() { srv.Close(); ts.Close(); _ = root.Close() })
	return ts, srv.URL
}

func call(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if method != "GET" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Nothing one tenant does is visible in another, or at the root: tokens,
// clock moves, scenarios, resets, journal entries; run side by side under
// -race.
func TestTenantsAreIsolated(t *testing.T) {
	t.Parallel()
	ts, base := tenantServer(t, emulator.TenantLimits{})
	for _, id := range []string{"alpha", "beta"} {
		if code, body := call(t, "POST", base+"/_emulator/tenants", fmt.Sprintf(`{"id":%q}`, id)); code != 201 || !strings.Contains(body, base+"/t/"+id) {
			t.Fatalf("create %s: %d %s", id, code, body)
		}
	}
	var wg sync.WaitGroup
	for _, id := range []string{"alpha", "beta"} {
		wg.Go(func() {
			tb := base + "/t/" + id
			if id == "alpha" {
				for range 20 {
					call(t, "POST", tb+"/passport/v1/iam/oauth/tokens", `{"client_id":"demo-client","client_secret":"demo-secret","grant_type":"client_credentials"}`)
				}
				call(t, "POST", tb+"/_emulator/clock/advance", `{"duration":"48h"}`)
				call(t, "POST", tb+"/_emulator/scenarios", `{"name":"slow-login"}`)
			} else {
				for range 20 {
					call(t, "GET", tb+"/_emulator/tokens", "")
				}
			}
		})
	}
	wg.Wait()
	alpha, beta := ts.Tenant("alpha"), ts.Tenant("beta")
	if n := len(alpha.Requests(emulator.JournalFilter{Vendor: "passport"})); n != 20 {
		t.Errorf("alpha's journal has %d passport requests, want 20", n)
	}
	if n := len(beta.Requests(emulator.JournalFilter{Vendor: "passport"})); n != 0 {
		t.Errorf("beta's journal has %d of alpha's requests", n)
	}
	if code, body := call(t, "GET", base+"/t/beta/_emulator/tokens", ""); code != 200 || !strings.Contains(body, `"tokens":[]`) {
		t.Errorf("beta's tokens: %d %s", code, body)
	}
	if code, body := call(t, "GET", base+"/_emulator/tokens", ""); code != 200 || !strings.Contains(body, `"tokens":[]`) {
		t.Errorf("the root's tokens: %d %s", code, body)
	}
	if d := time.Until(beta.Clock().Now()); d > time.Minute {
		t.Errorf("beta's clock moved with alpha's: %v ahead", d)
	}
	if len(beta.ActiveScenarios()) != 0 || len(alpha.ActiveScenarios()) != 1 {
		t.Errorf("scenarios: alpha %d, beta %d", len(alpha.ActiveScenarios()), len(beta.ActiveScenarios()))
	}
	// A reset of alpha leaves beta's journal alone.
	call(t, "POST", base+"/t/alpha/_emulator/reset", "")
	if n := len(beta.Requests(emulator.JournalFilter{})); n == 0 {
		t.Error("alpha's reset emptied beta's journal")
	}
}

// The tenants' lifecycle and bounds, each refusal in the admin plane's shape.
func TestTenantLifecycleAndLimits(t *testing.T) {
	t.Parallel()
	_, base := tenantServer(t, emulator.TenantLimits{Max: 2})
	if code, body := call(t, "POST", base+"/_emulator/tenants", `{"id":"one","seed":7,"clock":"2030-01-01T00:00:00Z"}`); code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	code, body := call(t, "POST", base+"/_emulator/tenants", ``)
	var random struct{ ID string }
	if code != 201 || json.Unmarshal([]byte(body), &random) != nil || random.ID == "" {
		t.Fatalf("create with a random id: %d %s", code, body)
	}
	if code, body := call(t, "GET", base+"/t/one/_emulator/clock", ""); code != 200 || !strings.Contains(body, "2030-01-01T") {
		t.Errorf("the tenant's clock start: %d %s", code, body)
	}
	for _, c := range []struct {
		method, path, body string
		code               int
		reason             string
	}{
		{"POST", "/_emulator/tenants", `{"id":"three"}`, 409, "too_many_tenants"},
		{"POST", "/_emulator/tenants", `{"id":"one"}`, 409, "tenant_exists"},
		{"POST", "/_emulator/tenants", `{"id":"Bad Id"}`, 400, ""},
		{"GET", "/t/nobody/passport/v1/core/accounts", ``, 404, "no_such_tenant"},
		{"GET", "/t/one/_emulator/tenants", ``, 404, "not_found"},
		{"DELETE", "/_emulator/tenants/nobody", ``, 404, "no_such_tenant"},
	} {
		code, body := call(t, c.method, base+c.path, c.body)
		if code != c.code || !strings.Contains(body, c.reason) || !json.Valid([]byte(body)) {
			t.Errorf("%s %s: %d %s, want %d %s", c.method, c.path, code, body, c.code, c.reason)
		}
	}
	if code, _ := call(t, "DELETE", base+"/_emulator/tenants/one", ""); code != 200 {
		t.Errorf("delete: %d", code)
	}
	if code, _ := call(t, "GET", base+"/t/one/_emulator/clock", ""); code != 404 {
		t.Errorf("a deleted tenant answers %d, want 404", code)
	}
	if code, body := call(t, "GET", base+"/_emulator/tenants", ""); code != 200 || strings.Contains(body, `"one"`) || !strings.Contains(body, random.ID) {
		t.Errorf("list: %d %s", code, body)
	}
}

// A tenant unused for its TTL is gone.
func TestIdleTenantsExpire(t *testing.T) {
	t.Parallel()
	_, base := tenantServer(t, emulator.TenantLimits{IdleTTL: time.Nanosecond})
	if code, _ := call(t, "POST", base+"/_emulator/tenants", `{"id":"brief"}`); code != 201 {
		t.Fatal(code)
	}
	if code, _ := call(t, "GET", base+"/t/brief/_emulator/clock", ""); code != 404 {
		t.Errorf("an idle tenant past its TTL answers %d, want 404", code)
	}
}

// BenchmarkCreateTenant: one tenant created (an instance, registered).
func BenchmarkCreateTenant(b *testing.B) {
	root, err := emulator.New(emulator.Config{})
	if err != nil {
		b.Fatal(err)
	}
	ts := emulator.NewTenants(root, emulator.Config{}, emulator.TenantLimits{Max: 100_000})
	b.Cleanup(ts.Close)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := ts.Create(emulator.TenantSpec{ID: fmt.Sprintf("t%d", i)}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
