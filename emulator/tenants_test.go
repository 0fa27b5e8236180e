package emulator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/store"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
)

// tenantServer serves a root emulator and its tenants.
func tenantServer(t *testing.T, limits emulator.TenantLimits) (*emulator.Tenants, string) {
	t.Helper()
	root, err := emulator.New(emulator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := emulator.NewTenants(root, emulator.Config{}, limits)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ts.Handler())
	t.Cleanup(func() { srv.Close(); _ = ts.Close() })
	return ts, srv.URL
}

// durableTenants serves a root emulator that keeps its state (and its
// tenants') in file, and its tenants; the caller closes them.
func durableTenants(t *testing.T, file string) (*emulator.Tenants, string) {
	t.Helper()
	root, err := emulator.New(emulator.Config{State: emulator.StateConfig{File: file}})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := emulator.NewTenants(root, emulator.Config{}, emulator.TenantLimits{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ts.Handler())
	t.Cleanup(srv.Close)
	return ts, srv.URL
}

func call(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	return callAs(t, method, url, "", body)
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
			// What alpha does must take, or beta's seeing none of it
			// would prove nothing.
			want := func(code int, what string, got int, body string) {
				if got != code {
					t.Errorf("%s: %d %s, want %d", what, got, body, code)
				}
			}
			if id == "alpha" {
				for range 20 {
					code, body := call(t, "POST", tb+"/passport/v1/iam/oauth/tokens", `{"client_id":"demo-client","client_secret":"demo-secret","grant_type":"client_credentials"}`)
					want(200, "alpha's issue", code, body)
				}
				code, body := call(t, "POST", tb+"/_emulator/clock/advance", `{"duration":"48h"}`)
				want(200, "alpha's clock", code, body)
				code, body = call(t, "POST", tb+"/_emulator/scenarios", `{"name":"slow-login"}`)
				want(201, "alpha's scenario", code, body)
			} else {
				for range 20 {
					code, body := call(t, "GET", tb+"/_emulator/tokens", "")
					want(200, "beta's listing", code, body)
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
	if d := time.Until(alpha.Clock().Now()); d < 47*time.Hour {
		t.Errorf("alpha's clock is %v ahead, want 48h", d)
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
		{"POST", "/t/one/_emulator/state/save", ``, 409, "the state file of the emulator at the root"},
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
	ts, err := emulator.NewTenants(root, emulator.Config{}, emulator.TenantLimits{Max: 100_000})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ts.Close() })
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := ts.Create(emulator.TenantSpec{ID: fmt.Sprintf("t%d", i)}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func callAs(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if method != "GET" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err) // not Fatal: it is called from goroutines too
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A tenant created with a token of its own takes that token (or the
// emulator's admin token) on its admin plane, and no other: tests sharing
// one emulator cannot touch each other's tenant. Its vendors answer as
// ever.
func TestTenantTokenGuardsItsTenantAlone(t *testing.T) {
	t.Parallel()
	for _, rootToken := range []string{"", "root-admin-token-0123456789"} {
		t.Run(fmt.Sprintf("admin-token=%v", rootToken != ""), func(t *testing.T) {
			t.Parallel()
			root, err := emulator.New(emulator.Config{AdminToken: rootToken})
			if err != nil {
				t.Fatal(err)
			}
			ts, err := emulator.NewTenants(root, emulator.Config{AdminToken: rootToken}, emulator.TenantLimits{})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(ts.Handler())
			t.Cleanup(func() { srv.Close(); _ = ts.Close() })
			base := srv.URL
			tokens := map[string]string{}
			for _, id := range []string{"a", "b"} {
				code, body := callAs(t, "POST", base+"/_emulator/tenants", rootToken, fmt.Sprintf(`{"id":%q,"token":true}`, id))
				var info emulator.TenantInfo
				if code != 201 || json.Unmarshal([]byte(body), &info) != nil || !strings.HasPrefix(info.Token, "tnt_") || !info.Protected {
					t.Fatalf("create %s: %d %s", id, code, body)
				}
				tokens[id] = info.Token
			}
			code, body := callAs(t, "GET", base+"/_emulator/tenants", rootToken, "")
			if code != 200 || strings.Contains(body, "tnt_") || strings.Count(body, `"protected":true`) != 2 {
				t.Errorf("list: %d %s", code, body)
			}
			clock := base + "/t/a/_emulator/clock"
			for _, c := range []struct {
				name, token string
				code        int
			}{
				{"none", "", 401},
				{"the other tenant's", tokens["b"], 401},
				{"its own", tokens["a"], 200},
				{"the admin token", rootToken, map[bool]int{true: 401, false: 200}[rootToken == ""]},
			} {
				code, body := callAs(t, "GET", clock, c.token, "")
				if code != c.code || (code == 401 && !strings.Contains(body, "tenant_token_required")) {
					t.Errorf("%s token: %d %s, want %d", c.name, code, body, c.code)
				}
			}
			if rootToken != "" {
				if code, _ := callAs(t, "GET", base+"/_emulator/clock", tokens["a"], ""); code != 401 {
					t.Errorf("a tenant's token on the root's admin plane: %d, want 401", code)
				}
			}
			if code, body := call(t, "POST", base+"/t/a/passport/v1/iam/oauth/tokens", `{"client_id":"demo-client","client_secret":"demo-secret","grant_type":"client_credentials"}`); code != 200 {
				t.Errorf("the protected tenant's vendor: %d %s", code, body)
			}
			// Without the admin token, deleting it takes its own token.
			if rootToken == "" {
				for _, tok := range []string{"", tokens["b"]} {
					if code, body := callAs(t, "DELETE", base+"/_emulator/tenants/a", tok, ""); code != 401 || !strings.Contains(body, "tenant_token_required") {
						t.Errorf("delete with %q: %d %s", tok, code, body)
					}
				}
			}
			if code, body := callAs(t, "DELETE", base+"/_emulator/tenants/a", map[bool]string{true: rootToken, false: tokens["a"]}[rootToken != ""], ""); code != 200 {
				t.Errorf("delete: %d %s", code, body)
			}
			// Its token is never journaled, even in a path.
			callAs(t, "GET", base+"/t/b/passport/v1/iam/oauth/tokens/"+tokens["b"], "", "")
			if _, body := callAs(t, "GET", base+"/t/b/_emulator/journal", tokens["b"], ""); strings.Contains(body, tokens["b"]) || !strings.Contains(body, "{secret:") {
				t.Errorf("the tenant's journal holds its token: %s", body)
			}
		})
	}
}

// A tenant's memory budget bounds its tokens: past it, an issue is answered
// 429 token_budget in the vendor's shape, and the other tenants and the
// root issue as ever; a reset makes room again.
func TestTenantMemoryBudget(t *testing.T) {
	t.Parallel()
	ts, base := tenantServer(t, emulator.TenantLimits{Memory: emulator.MinTenantMemory})
	for _, id := range []string{"full", "other"} {
		if _, err := ts.Create(emulator.TenantSpec{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	full := ts.Tenant("full")
	const want = (emulator.MinTenantMemory/2 - 256<<10) / emulator.TokenBytes
	issued := 0
	for ; issued <= want; issued++ {
		_, err := full.IssueToken(t.Context(), vendorapi.IssueRequest{Vendor: "passport", Principal: "demo-client"})
		if err != nil {
			break
		}
	}
	if issued != want {
		t.Errorf("the budget took %d tokens, want %d", issued, want)
	}
	login := `{"client_id":"demo-client","client_secret":"demo-secret","grant_type":"client_credentials"}`
	code, body := call(t, "POST", base+"/t/full/passport/v1/iam/oauth/tokens", login)
	if code != 429 || !strings.Contains(body, `"error_description":"this emulator holds 1024 tokens, the most its memory budget allows`) {
		t.Errorf("past the budget: %d %s, want 429 token_budget", code, body)
	}
	for _, where := range []string{"/t/other", ""} {
		if code, body := call(t, "POST", base+where+"/passport/v1/iam/oauth/tokens", login); code != 200 {
			t.Errorf("%q beside a full tenant: %d %s", where, code, body)
		}
	}
	if code, body := call(t, "GET", base+"/t/full/_emulator/state", ""); code != 200 || !strings.Contains(body, fmt.Sprintf(`"tokens":%d`, want)) {
		t.Errorf("the full tenant's state: %d %s", code, body)
	}
	call(t, "POST", base+"/t/full/_emulator/reset", "")
	if code, body := call(t, "POST", base+"/t/full/passport/v1/iam/oauth/tokens", login); code != 200 {
		t.Errorf("after a reset: %d %s", code, body)
	}
}

// With AutoCreate, the first request to an unknown tenant makes it; an id
// that could not be one is still a 404.
func TestTenantAutoCreate(t *testing.T) {
	t.Parallel()
	ts, base := tenantServer(t, emulator.TenantLimits{AutoCreate: true, Max: 1})
	if code, body := call(t, "GET", base+"/t/fresh/_emulator/clock", ""); code != 200 {
		t.Fatalf("first use: %d %s", code, body)
	}
	if ts.Tenant("fresh") == nil {
		t.Error("no tenant made")
	}
	for path, want := range map[string]string{"/t/Bad_Id/_emulator/clock": "no_such_tenant", "/t/second/_emulator/clock": "too_many_tenants"} {
		if code, body := call(t, "GET", base+path, ""); code/100 != 4 || !strings.Contains(body, want) {
			t.Errorf("%s: %d %s, want %s", path, code, body, want)
		}
	}
}

// -state keeps every tenant: its tokens, clock, scenarios, own token and
// what it was made from, and no token's value.
func TestTenantsSurviveARestart(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "state.json")
	start := func() (*emulator.Tenants, string) { return durableTenants(t, file) }
	ts, base := start()
	_, body := call(t, "POST", base+"/_emulator/tenants", `{"id":"kept","seed":99,"clock":"2031-05-01T00:00:00Z","token":true,"scenarios":[{"name":"down","rules":[{"match":{"vendor":"brass"},"action":{"status":503}}]}]}`)
	var info emulator.TenantInfo
	if err := json.Unmarshal([]byte(body), &info); err != nil || info.Token == "" {
		t.Fatalf("create: %s", body)
	}
	_, body = call(t, "POST", base+"/t/kept/passport/v1/iam/oauth/tokens", `{"client_id":"demo-client","client_secret":"demo-secret","grant_type":"client_credentials"}`)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if json.Unmarshal([]byte(body), &tok) != nil || tok.AccessToken == "" {
		t.Fatalf("issue: %s", body)
	}
	if code, _ := callAs(t, "POST", base+"/t/kept/_emulator/clock/freeze", info.Token, ""); code != 200 {
		t.Fatal("freeze", code)
	}
	_, clockBefore := callAs(t, "GET", base+"/t/kept/_emulator/clock", info.Token, "")
	if _, err := ts.Create(emulator.TenantSpec{ID: "plain"}); err != nil {
		t.Fatal(err)
	}
	if err := ts.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), info.Token) || strings.Contains(string(raw), tok.AccessToken) || !strings.Contains(string(raw), `"kept"`) {
		t.Fatalf("the state file holds a secret, or not the tenant")
	}

	ts, base = start()
	t.Cleanup(func() { _ = ts.Close() })
	if got := len(ts.List()); got != 2 {
		t.Errorf("%d tenants after the restart, want 2", got)
	}
	if code, _ := call(t, "GET", base+"/t/kept/_emulator/clock", ""); code != 401 {
		t.Errorf("the restored tenant's admin plane without its token: %d, want 401", code)
	}
	if _, clock := callAs(t, "GET", base+"/t/kept/_emulator/clock", info.Token, ""); clock != clockBefore {
		t.Errorf("clock %s, want %s", clock, clockBefore)
	}
	if _, body := callAs(t, "GET", base+"/t/kept/_emulator/scenarios", info.Token, ""); !strings.Contains(body, `"down"`) {
		t.Errorf("scenarios: %s", body)
	}
	code, body := callAs(t, "GET", base+"/t/kept/passport/v1/iam/oauth/tokens", tok.AccessToken, "")
	if code != 200 {
		t.Errorf("the restored token: %d %s", code, body)
	}
	if code, _ := callAs(t, "GET", base+"/passport/v1/iam/oauth/tokens", tok.AccessToken, ""); code != 401 {
		t.Errorf("the tenant's token at the root: %d, want 401", code)
	}
}

// Isolation is total: tenants driven side by side (under -race) see nothing
// of each other: not requests, clock moves, scenarios (their counters, nor
// the draws of a seeded probability), resets, token expiry and revocation,
// journal entries, nor what a state save keeps of each.
func TestTenantIsolationIsTotal(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "state.json")
	start := func() (*emulator.Tenants, string) { return durableTenants(t, file) }
	ts, base := start()
	flaky := `{"name":"coin","rules":[{"match":{"vendor":"passport","operation":"createToken"},"trigger":{"probability":0.5},"action":{"status":503}}]}`
	for _, id := range []string{"heavy", "light", "reference"} {
		if code, body := call(t, "POST", base+"/_emulator/tenants", fmt.Sprintf(`{"id":%q,"seed":42,"scenarios":[%s]}`, id, flaky)); code != 201 {
			t.Fatalf("create %s: %d %s", id, code, body)
		}
	}
	if _, err := ts.Create(emulator.TenantSpec{ID: "noisy"}); err != nil {
		t.Fatal(err)
	}
	login := `{"client_id":"demo-client","client_secret":"demo-secret","grant_type":"client_credentials"}`
	issue := func(id string) (int, string) {
		code, body := call(t, "POST", base+"/t/"+id+"/passport/v1/iam/oauth/tokens", login)
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		_ = json.Unmarshal([]byte(body), &tok)
		return code, tok.AccessToken
	}
	outcomes := func(id string, n int) []int {
		var got []int
		for range n {
			code, _ := issue(id)
			got = append(got, code)
		}
		return got
	}
	var heavy, light []int
	var wg sync.WaitGroup
	wg.Go(func() {
		heavy = outcomes("heavy", 40)
		call(t, "POST", base+"/t/heavy/_emulator/clock/advance", `{"duration":"1h"}`)
	})
	wg.Go(func() { light = outcomes("light", 10) })
	wg.Go(func() {
		for range 10 {
			_, tok := issue("noisy")
			call(t, "POST", base+"/t/noisy/_emulator/tokens/revoke", fmt.Sprintf(`{"token":%q}`, tok))
		}
		_, tok := issue("noisy")
		call(t, "POST", base+"/t/noisy/_emulator/tokens/expire", fmt.Sprintf(`{"token":%q}`, tok))
		call(t, "POST", base+"/t/noisy/_emulator/clock/advance", `{"duration":"720h"}`)
		call(t, "POST", base+"/t/noisy/_emulator/scenarios", `{"name":"vendor-outage"}`)
		call(t, "POST", base+"/t/noisy/_emulator/reset", "")
		issue("noisy")
	})
	wg.Go(func() {
		for range 20 {
			issue("") // the root, alongside
		}
	})
	wg.Wait()

	// The seeded draws: each tenant draws from its own, whatever its
	// neighbours draw meanwhile.
	reference := outcomes("reference", 40)
	if !slices.Equal(heavy, reference) || !slices.Equal(light, reference[:10]) {
		t.Errorf("seeded outcomes differ:\nheavy     %v\nlight     %v\nreference %v", heavy, light, reference)
	}
	if !slices.Contains(reference, 503) || !slices.Contains(reference, 200) {
		t.Errorf("probability 0.5 gave %v", reference)
	}
	for id, want := range map[string]int64{"heavy": 40, "light": 10, "reference": 40} {
		st := ts.Tenant(id).ActiveScenarios()
		if len(st) != 1 || st[0].Rules[0].Matched != want {
			t.Errorf("%s's scenario counters: %+v, want %d matched", id, st, want)
		}
	}
	if st := ts.Tenant("noisy").ActiveScenarios(); len(st) != 0 {
		t.Errorf("noisy's scenarios after its reset: %+v", st)
	}
	ok := func(codes []int) int {
		return len(slices.DeleteFunc(slices.Clone(codes), func(c int) bool { return c != 200 }))
	}
	for id, want := range map[string]int{"heavy": ok(heavy), "light": ok(light), "noisy": 1} {
		emu := ts.Tenant(id)
		toks, err := emu.Tokens(t.Context(), store.Query{})
		if err != nil {
			t.Fatal(err)
		}
		if len(toks) != want {
			t.Errorf("%s holds %d tokens, want %d", id, len(toks), want)
		}
		for _, tk := range toks {
			if tk.State != "active" {
				t.Errorf("%s's token %s is %s: another tenant's revocation or expiry reached it", id, tk.ID, tk.State)
			}
		}
		if n := len(emu.Requests(emulator.JournalFilter{Vendor: "passport"})); id != "noisy" && n != len(map[string][]int{"heavy": heavy, "light": light}[id]) {
			t.Errorf("%s's journal has %d passport requests", id, n)
		}
	}
	if n := len(ts.Tenant("noisy").Requests(emulator.JournalFilter{})); n != 2 {
		t.Errorf("noisy's journal after its reset has %d entries, want 2 (the reset, recorded as it ends, and the issue after it)", n)
	}
	heavyClock, lightClock := ts.Tenant("heavy").Clock().Now(), ts.Tenant("light").Clock().Now()
	if d := heavyClock.Sub(lightClock); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("heavy is %v ahead of light, want 1h", d)
	}
	if d := time.Until(ts.Tenant("noisy").Clock().Now()); d > time.Minute || d < -time.Minute {
		t.Errorf("noisy's clock after its reset: %v from real now", d)
	}

	// A save keeps each tenant's own, and a restart gives each its own back.
	counts := map[string]int{}
	for _, info := range ts.List() {
		toks, _ := ts.Tenant(info.ID).Tokens(t.Context(), store.Query{})
		counts[info.ID] = len(toks)
	}
	if err := ts.Close(); err != nil {
		t.Fatal(err)
	}
	ts, _ = start()
	t.Cleanup(func() { _ = ts.Close() })
	for id, want := range counts {
		toks, _ := ts.Tenant(id).Tokens(t.Context(), store.Query{})
		if len(toks) != want {
			t.Errorf("after a restart %s holds %d tokens, want %d", id, len(toks), want)
		}
	}
	if st := ts.Tenant("heavy").ActiveScenarios(); len(st) != 1 || st[0].Rules[0].Matched != 40 {
		t.Errorf("heavy's scenario counters after a restart: %+v", st)
	}
	if d := ts.Tenant("heavy").Clock().Now().Sub(ts.Tenant("light").Clock().Now()); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("after a restart heavy is %v ahead of light, want 1h", d)
	}
}

// BenchmarkIdleTenants: the heap that 1,000 idle tenants keep, each made
// with the defaults and having served one request, after a collection
// (MB/1000-tenants).
func BenchmarkIdleTenants(b *testing.B) {
	const n = 1000
	var kept uint64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		root, err := emulator.New(emulator.Config{})
		if err != nil {
			b.Fatal(err)
		}
		ts, err := emulator.NewTenants(root, emulator.Config{}, emulator.TenantLimits{})
		if err != nil {
			b.Fatal(err)
		}
		h := ts.Handler()
		for i := range n {
			id := fmt.Sprintf("idle-%d", i)
			if _, err := ts.Create(emulator.TenantSpec{ID: id}); err != nil {
				b.Fatal(err)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/t/"+id+"/_emulator/clock", nil))
			if rec.Code != 200 {
				b.Fatalf("tenant %s: %d", id, rec.Code)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		kept += after.HeapAlloc - before.HeapAlloc
		runtime.KeepAlive(h)
		if err := ts.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(kept)/float64(b.N)/1e6, "MB/1000-tenants")
}

// BenchmarkTenantPrefix: Passport's W2 call at the root and in a tenant
// (below /t/bench), through Tenants' handler without a network: the
// difference is what the prefix costs.
func BenchmarkTenantPrefix(b *testing.B) {
	root, err := emulator.New(emulator.Config{})
	if err != nil {
		b.Fatal(err)
	}
	ts, err := emulator.NewTenants(root, emulator.Config{}, emulator.TenantLimits{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ts.Close() })
	if _, err := ts.Create(emulator.TenantSpec{ID: "bench"}); err != nil {
		b.Fatal(err)
	}
	h := ts.Handler()
	for _, c := range []struct {
		name, prefix string
		emu          *emulator.Emulator
	}{{"root", "", root}, {"tenant", "/t/bench", ts.Tenant("bench")}} {
		res, err := c.emu.IssueToken(context.Background(), vendorapi.IssueRequest{Vendor: "passport", Principal: "demo-client"})
		if err != nil {
			b.Fatal(err)
		}
		header := http.Header{"Authorization": {"Bearer " + res.Token}}
		b.Run(c.name, func(b *testing.B) { benchRequest(b, h, "GET", c.prefix+"/passport/v1/core/accounts", header, "", 200) })
	}
}

// A state file's tenants that cannot be made fail the restore, and leave the
// file as it was; with Fresh, those are left out and the others made.
func TestTenantRestoreFailures(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	root, err := emulator.New(emulator.Config{State: emulator.StateConfig{File: good}})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := emulator.NewTenants(root, emulator.Config{}, emulator.TenantLimits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b"} {
		if _, err := ts.Create(emulator.TenantSpec{ID: id, Token: true}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ts.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		edit   func(tenants []map[string]any) []map[string]any
		limits emulator.TenantLimits
		want   string // in the error; "" for none
		fresh  int    // tenants made with Fresh
	}{
		{"more than Max", nil, emulator.TenantLimits{Max: 1}, "more than -max-tenants", 1},
		{"bad id", func(ts []map[string]any) []map[string]any { ts[0]["id"] = "../x"; return ts }, emulator.TenantLimits{}, "tenant id", 1},
		{"twice", func(ts []map[string]any) []map[string]any { ts[1]["id"] = ts[0]["id"]; return ts }, emulator.TenantLimits{}, "twice", 1},
		{"bad token hash", func(ts []map[string]any) []map[string]any { ts[0]["token_sha256"] = "zz"; return ts }, emulator.TenantLimits{}, "token_sha256", 1},
		{"no state", func(ts []map[string]any) []map[string]any { ts[0]["state"] = "x"; return ts }, emulator.TenantLimits{}, "tenant a", 1},
		{"bad settings", func(ts []map[string]any) []map[string]any {
			ts[0]["settings"] = map[string]any{"brass.no-such": "1"}
			return ts
		}, emulator.TenantLimits{}, "tenant a", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var doc map[string]any
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			var tenants []map[string]any
			b, _ := json.Marshal(doc["tenants"])
			_ = json.Unmarshal(b, &tenants)
			if c.edit != nil {
				tenants = c.edit(tenants)
			}
			doc["tenants"] = tenants
			file := filepath.Join(t.TempDir(), "state.json")
			b, _ = json.Marshal(doc)
			if err := os.WriteFile(file, b, 0o600); err != nil {
				t.Fatal(err)
			}
			for _, fresh := range []bool{false, true} {
				root, err := emulator.New(emulator.Config{State: emulator.StateConfig{File: file, Fresh: fresh}})
				if err != nil {
					t.Fatal(err)
				}
				ts, err := emulator.NewTenants(root, emulator.Config{}, c.limits)
				if !fresh {
					if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, emulator.ErrStateMismatch) && c.name != "no state" && c.name != "bad settings" {
						t.Errorf("restore: %v, want an error with %q", err, c.want)
					}
					_ = root.Close()
					if after, _ := os.ReadFile(file); !bytes.Equal(after, b) {
						t.Error("a failed restore changed the state file")
					}
					continue
				}
				if err != nil {
					t.Fatalf("with Fresh: %v", err)
				}
				if n := len(ts.List()); n != c.fresh {
					t.Errorf("with Fresh, %d tenants made, want %d", n, c.fresh)
				}
				_ = ts.Close()
			}
		})
	}

	// An emulator whose state file holds tenants but that makes none (a Go
	// user's, without NewTenants) keeps them in the file.
	root, err = emulator.New(emulator.Config{State: emulator.StateConfig{File: good}})
	if err != nil {
		t.Fatal(err)
	}
	if err := root.Close(); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(good); !strings.Contains(string(after), `"id":"a"`) || !strings.Contains(string(after), `"id":"b"`) {
		t.Errorf("the tenants were dropped from the file: %s", after)
	}
}

// Deleting a tenant ends its journal's long polls at once; a tenant's
// template cannot give it another admin token than the root's; a create
// after Close is refused; a create's token is not cached.
func TestTenantEdges(t *testing.T) {
	t.Parallel()
	root, err := emulator.New(emulator.Config{AdminToken: "root-admin-token-0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := emulator.NewTenants(root, emulator.Config{}, emulator.TenantLimits{AutoCreate: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ts.Handler())
	t.Cleanup(srv.Close)
	const admin = "root-admin-token-0123456789"
	req, _ := http.NewRequest("POST", srv.URL+"/_emulator/tenants", strings.NewReader(`{"id":"lp","token":true}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("create with a token: %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	// The template's own admin token is not the tenants': the root's is.
	if code, _ := callAs(t, "GET", srv.URL+"/t/lp/_emulator/clock", "", ""); code != 401 {
		t.Errorf("a tenant without any token: %d, want 401", code)
	}
	// Auto-create: with the root's admin token only, and not from a Host the
	// emulator refuses.
	if code, _ := callAs(t, "GET", srv.URL+"/t/auto/_emulator/healthz", "", ""); code != 404 {
		t.Errorf("auto-create without the admin token: %d, want 404", code)
	}
	foreign, _ := http.NewRequest("GET", srv.URL+"/t/auto/_emulator/healthz", nil)
	foreign.Header.Set("Authorization", "Bearer "+admin)
	foreign.Header.Set("Origin", "http://evil.example")
	if resp, err := http.DefaultClient.Do(foreign); err == nil {
		resp.Body.Close()
	}
	if ts.Tenant("auto") != nil {
		t.Error("a cross-origin request made a tenant")
	}
	if code, _ := callAs(t, "GET", srv.URL+"/t/auto/_emulator/healthz", admin, ""); code != 200 {
		t.Errorf("auto-create with the admin token: %d", code)
	}

	done := make(chan int, 1)
	go func() {
		code, _ := callAs(t, "GET", srv.URL+"/t/lp/_emulator/journal?since=1000&wait=30s", admin, "")
		done <- code
	}()
	// Wait until the poll waits (an event: the tenant's state says so).
	for {
		_, body := callAs(t, "GET", srv.URL+"/t/lp/_emulator/state", admin, "")
		if strings.Contains(body, `"waiters":1`) {
			break
		}
		runtime.Gosched()
	}
	if err := ts.Delete("lp"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Error("a long poll of a deleted tenant still waits")
	}
	if err := ts.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Create(emulator.TenantSpec{ID: "late"}); err == nil {
		t.Error("a create after Close made a tenant")
	}
}

// A tenant's path that wants cleaning is redirected within the tenant,
// never to the root's.
func TestTenantPathCleaningStaysInTheTenant(t *testing.T) {
	t.Parallel()
	ts, base := tenantServer(t, emulator.TenantLimits{})
	if _, err := ts.Create(emulator.TenantSpec{ID: "a"}); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for path, want := range map[string]string{
		"/t/a//_emulator/clock":              "/t/a/_emulator/clock",
		"/t/a/./_emulator/clock?x=1":         "/t/a/_emulator/clock?x=1",
		"/t/a/../b/_emulator/clock":          "/t/a/b/_emulator/clock",
		"/t/a/passport/../../_emulator/x/":   "/t/a/_emulator/x/",
		"/t/a//passport/v1/iam/oauth/tokens": "/t/a/passport/v1/iam/oauth/tokens",
	} {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.URL.Opaque = path[:strings.IndexByte(path+"?", '?')] // as sent, not cleaned by the client
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != want {
			t.Errorf("%s: %d to %q, want 301 to %q", path, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
}

// A tenant's memory budget bounds its vendors' own tables too: past their
// share, Brass refuses more logins waiting for an OTP (until their
// temporary tokens expire) and more idempotency keys, while the root, with
// no budget, goes on.
func TestTenantBudgetBoundsVendorTables(t *testing.T) {
	t.Parallel()
	ts, base := tenantServer(t, emulator.TenantLimits{Memory: emulator.MinTenantMemory})
	if _, err := ts.Create(emulator.TenantSpec{ID: "small", Settings: map[string]string{"brass.rate-limit": "0"}}); err != nil {
		t.Fatal(err)
	}
	login := func(where, key string) (int, string) {
		req, _ := http.NewRequest("POST", base+where+"/brass/auth/login", strings.NewReader(`{"username":"demo@brass.test","password":"brass-demo"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer lk_tokenemuDemoAppKey000000000000000000000000")
		if key != "" {
			req.Header.Set("x-idempotency-key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	refusedAt := 0
	for i := range 1000 {
		if code, body := login("/t/small", ""); code != 200 {
			if code != 409 || !strings.Contains(body, "waiting for their OTP") {
				t.Fatalf("login %d: %d %s", i, code, body)
			}
			refusedAt = i
			break
		}
	}
	if refusedAt == 0 || refusedAt >= 1000 {
		t.Fatalf("the tenant's pending OTPs were never bounded")
	}
	// A refused login issued no temporary token.
	if code, body := call(t, "GET", base+"/t/small/_emulator/state", ""); code != 200 || !strings.Contains(body, fmt.Sprintf(`"tokens":%d,`, refusedAt)) {
		t.Errorf("after %d logins and a refusal: %s", refusedAt, body)
	}
	call(t, "POST", base+"/t/small/_emulator/clock/advance", `{"duration":"1h"}`)
	if code, body := login("/t/small", ""); code != 200 {
		t.Errorf("a login once the temporary tokens expired: %d %s", code, body)
	}
	for i := range refusedAt + 1 {
		if code, _ := login("", ""); code != 200 {
			t.Fatalf("the root's login %d: %d", i, code)
		}
	}
	keysAt := 0
	for i := range 1000 {
		if code, body := login("/t/small", fmt.Sprintf("key-%d", i)); code == 409 && strings.Contains(body, "idempotency keys") {
			keysAt = i
			break
		}
	}
	if keysAt == 0 {
		t.Error("the tenant's idempotency keys were never bounded")
	}
	t.Logf("a 1 MiB tenant holds %d pending OTPs and %d idempotency keys", refusedAt, keysAt)
}

// What a tenant is asked to hold from its start, or to add later, is
// measured against its budget too: fixtures that would make too much, and
// scenarios past an eighth of it, are refused; an account whose token the
// budget refuses is not made.
func TestTenantBudgetRefusesWhatWouldNotFit(t *testing.T) {
	t.Parallel()
	ts, base := tenantServer(t, emulator.TenantLimits{Memory: emulator.MinTenantMemory})
	var users []string
	for i := range 200 {
		users = append(users, fmt.Sprintf(`{"username":"u%d","password":"p","api_key":"k%d","api_secret":"s","members":1000}`, i, i))
	}
	code, body := call(t, "POST", base+"/_emulator/tenants", `{"id":"big","fixtures":{"passkit":{"users":[`+strings.Join(users, ",")+`]}}}`)
	if code != 400 || !strings.Contains(body, "memory budget") {
		t.Errorf("fixtures of 200,000 members in a 1 MiB tenant: %d %s", code, body)
	}
	if _, err := ts.Create(emulator.TenantSpec{ID: "small"}); err != nil {
		t.Fatal(err)
	}
	desc := strings.Repeat("d", 100_000)
	for i := range 3 {
		code, body = call(t, "POST", base+"/t/small/_emulator/scenarios", fmt.Sprintf(`{"name":"s%d","description":%q,"rules":[{"match":{"vendor":"brass"},"action":{"status":503}}]}`, i, desc))
	}
	if code != 409 || !strings.Contains(body, "scenarios_too_large") {
		t.Errorf("300 KB of scenarios in a 1 MiB tenant: %d %s", code, body)
	}
	// Replacing one active scenario counts it once.
	if code, body := call(t, "POST", base+"/t/small/_emulator/scenarios?replace=true", fmt.Sprintf(`{"name":"s0","description":%q,"rules":[{"match":{"vendor":"brass"},"action":{"status":502}}]}`, desc)); code != 201 {
		t.Errorf("replacing a scenario of the same size: %d %s", code, body)
	}
	small := ts.Tenant("small")
	for {
		if _, err := small.IssueToken(t.Context(), vendorapi.IssueRequest{Vendor: "passport", Principal: "demo-client"}); err != nil {
			break
		}
	}
	for range 2 {
		code, body = call(t, "POST", base+"/t/small/passkit/user/new", `{"username":"newbie","password":"pw","companyName":"c","emailAddress":"n@example.com"}`)
		if code != 429 {
			t.Errorf("an account past the token budget: %d %s, want 429 each time (no account left behind)", code, body)
		}
	}
}
