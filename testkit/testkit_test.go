package testkit_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/passport"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
	"github.com/tokenemu/tokenemu/scenarios"
	"github.com/tokenemu/tokenemu/testkit"
	"github.com/tokenemu/tokenemu/testkit/internal/kitopt"
)

func status(t *testing.T, method, u string, h http.Header) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get(vendorapi.ReasonHeader)
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

func TestStartOptions(t *testing.T) {
	t.Parallel()
	at := time.Date(2031, 2, 3, 4, 5, 6, 0, time.UTC)
	file := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(file, []byte("name: from-file\nrules: [{match: {vendor: passkit, operation: login}, trigger: {first: 1}, action: {status: 500}}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	custom := scenarios.Scenario{Name: "from-value", Rules: []scenarios.Rule{{
		Match: scenarios.Match{Vendor: "brass", Operation: "login"}, Trigger: scenarios.Trigger{First: 1}, Action: scenarios.Action{Status: 503},
	}}}
	fx := emulator.Fixtures{passport.Name: passport.Fixtures{Clients: []passport.Client{{
		ClientID: "mine", ClientSecret: "my-secret", AccountID: "0b5e0d2c-1111-4222-8333-444455556666", Scopes: passport.Scopes(),
	}}}}
	kit := testkit.Start(t,
		testkit.WithSeed(7),
		testkit.WithFixtures(fx),
		testkit.WithScenario("vendor-outage:teletracker"),
		testkit.WithScenario(file),
		testkit.WithScenario(custom),
		testkit.WithClockAt(at),
		testkit.WithSetting("passport.revoke-status", "204"),
	)
	if kit.Emulator() == nil {
		t.Fatal("in-process kit has no Emulator")
	}
	if now := kit.Clock.Now(); now.Before(at) || now.After(at.Add(time.Minute)) {
		t.Errorf("clock at %v, want about %v", now, at)
	}
	// The fixtures replaced Passport's clients, and the credential helper knows it.
	cfg := kit.PassportClientCredentials()
	if cfg.ClientID != "mine" {
		t.Errorf("client id %q", cfg.ClientID)
	}
	if _, err := cfg.Token(context.Background()); err != nil {
		t.Errorf("token for the fixture client: %v", err)
	}
	var names []string
	for _, s := range kit.Emulator().ActiveScenarios() {
		names = append(names, s.Name)
	}
	if !slices.Equal(names, []string{"vendor-outage", "from-file", "from-value"}) {
		t.Errorf("active scenarios %v", names)
	}
	if code, _ := status(t, "GET", kit.URL("teletracker")+"/reports/call-data", nil); code != 503 {
		t.Errorf("teletracker outage: %d", code)
	}
	if got := fmtArgs(t, testkit.WithSetting("passport.revoke-status", "204")); got != "-passport-revoke-status=204" {
		t.Errorf("args: %s", got)
	}
}

func fmtArgs(t *testing.T, opts ...testkit.Option) string {
	t.Helper()
	s, err := kitopt.Resolve(opts...)
	if err != nil {
		t.Fatal(err)
	}
	args, err := s.Args()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(args, " ")
}

func TestSettingsArgs(t *testing.T) {
	t.Parallel()
	got := fmtArgs(t, testkit.WithSeed(3), testkit.WithClockAt(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)),
		testkit.WithConfig(func(c *emulator.Config) {
			c.AdminToken = "tok"
			c.JournalSize = 50
			c.Settings = map[string]string{"passport.scope-status": "403", "passkit.leeway": "1s", "teletracker.refresh-lifetime": "1h",
				"teletracker.revoke-family-on-reuse": "true", "teletracker.revoke-access-on-refresh": "true",
				"brass.temporary-lifetime": "1m", "brass.rate-limit": "0"}
		}))
	want := "-seed=3 -admin-token=tok -journal-size=50 -brass-rate-limit=0 -brass-temporary-lifetime=1m -passkit-leeway=1s -passport-scope-status=403 " +
		"-teletracker-refresh-lifetime=1h -teletracker-revoke-access-on-refresh=true -teletracker-revoke-family-on-reuse=true -clock=2030-01-01T00:00:00Z"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	s, _ := kitopt.Resolve(testkit.WithConfig(func(c *emulator.Config) { c.Clock = emulator.NewClock(nil) }))
	if _, err := s.Args(); err == nil {
		t.Error("a Go clock cannot go to a container")
	}
	for name, set := range map[string]func(*emulator.Config){
		"MaxHeaderBytes": func(c *emulator.Config) { c.MaxHeaderBytes = 1 << 10 },
		"State":          func(c *emulator.Config) { c.State.File = "state.json" },
	} {
		s, _ := kitopt.Resolve(testkit.WithConfig(set))
		if _, err := s.Args(); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("Config.%s for a container: %v, want an error naming it", name, err)
		}
	}
	if _, err := kitopt.Resolve(testkit.WithScenario("no-such-built-in")); err == nil {
		t.Error("unknown built-in accepted")
	}
	if _, err := kitopt.Resolve(testkit.WithFixturesFile(filepath.Join(t.TempDir(), "missing.yaml"))); err == nil {
		t.Error("missing fixtures file accepted")
	}
}

func TestKitControls(t *testing.T) {
	t.Parallel()
	kit := testkit.Start(t, testkit.WithConfig(func(c *emulator.Config) { c.AdminToken = "admin-secret" }))
	// The admin plane wants the token; the kit sends it.
	if code, _ := status(t, "GET", kit.AdminURL()+"/clock", nil); code != 401 {
		t.Errorf("admin without token: %d", code)
	}
	kit.Clock.Freeze()
	start := kit.Clock.Now()
	if got := kit.Clock.Advance(time.Hour); !got.Equal(start.Add(time.Hour)) {
		t.Errorf("advance: %v", got)
	}
	if got := kit.Clock.Set(start); !got.Equal(start) {
		t.Errorf("set: %v", got)
	}
	kit.Clock.Resume()

	iss := kit.IssueToken(testkit.TeleTracker, "demo@teletracker.test", testkit.Lifetime(time.Minute), testkit.Account(1002))
	if iss.Token == "" || iss.RefreshToken == "" || iss.Info.AccountID != "1002" {
		t.Errorf("issued: %+v", iss)
	}
	if n := len(kit.Tokens(testkit.TeleTracker, "demo@teletracker.test")); n != 2 {
		t.Errorf("%d teletracker tokens", n)
	}
	pat := kit.IssueToken(testkit.Brass, "demo@brass.test", testkit.Kind("pat"), testkit.Role("accountant"))
	if code, _ := status(t, "GET", kit.URL("brass")+"/banking/accounts", bearer(pat.Token)); code != 200 {
		t.Errorf("issued PAT: %d", code)
	}

	kit.FailNext(testkit.PassKit, "login", 502)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan emulator.JournalEntry, 1)
	cursor := kit.Cursor() // the goroutine may ask after the request is made
	go func() {
		e, err := kit.WaitForRequest(ctx, testkit.Filter{Vendor: "passkit", Status: 502, After: cursor})
		if err != nil {
			t.Errorf("WaitForRequest: %v", err)
		}
		got <- e
	}()
	resp, err := http.Post(kit.URL("passkit")+"/login", "application/json", strings.NewReader(`{"username":"demo@passkit.test","password":"passkit-demo"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 502 {
		t.Errorf("FailNext: %d", resp.StatusCode)
	}
	if e := <-got; e.Operation != "login" || !strings.HasPrefix(e.Scenario, "fail-next-") {
		t.Errorf("waited for %+v", e)
	}
	if tok := kit.PassKitLogin(t); tok == "" {
		t.Error("login after FailNext")
	}
	// A wait that nothing satisfies ends with the context.
	short, cancelShort := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancelShort()
	if _, err := kit.WaitForRequest(short, testkit.Filter{Vendor: "brass", Status: 418}); err == nil {
		t.Error("WaitForRequest without a match returned no error")
	}

	kit.ApplyBuiltin("brass-rate-limited")
	kit.RemoveScenario("brass-rate-limited")
	kit.ApplyBuiltin("vendor-outage", "passkit")
	kit.ClearScenarios()
	kit.Reset()
	if n := len(kit.Tokens("", "")); n != 0 {
		t.Errorf("%d tokens after reset", n)
	}
	if n := len(kit.Requests(testkit.Filter{Vendor: "passkit"})); n != 0 {
		t.Errorf("%d journal entries after reset", n)
	}
}

// Two kits in one process share nothing.
func TestKitsAreIsolated(t *testing.T) {
	t.Parallel()
	a, b := testkit.Start(t), testkit.Start(t)
	tok := a.PassKitLogin(t)
	a.Clock.Advance(2 * time.Hour)
	if code, _ := status(t, "GET", a.URL("passkit")+"/user/profile", http.Header{"Authorization": {tok}}); code != 401 {
		t.Errorf("a after 2h: %d", code)
	}
	if d := time.Until(b.Clock.Now()); d > time.Minute {
		t.Errorf("b's clock moved with a's: %v ahead", d)
	}
	if n := len(b.Tokens("", "")); n != 0 {
		t.Errorf("b holds %d of a's tokens", n)
	}
}

func TestConnect(t *testing.T) {
	t.Parallel()
	kit := testkit.Start(t)
	other := testkit.Connect(t, kit.BaseURL())
	if other.Emulator() != nil {
		t.Error("a connected kit has no in-process emulator")
	}
	tok, _ := other.TeleTrackerLogin(t, "")
	if n := len(kit.Tokens(testkit.TeleTracker, "")); n != 2 || tok == "" {
		t.Errorf("tokens seen through the first kit: %d", n)
	}
}

// BenchmarkStart measures an in-process kit from nothing to a healthy server.
func BenchmarkStart(b *testing.B) {
	for b.Loop() {
		kit := testkit.Start(b)
		resp, err := http.Get(kit.AdminURL() + "/healthz")
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("healthz: %v", err)
		}
		resp.Body.Close()
	}
}

// fatalTB records a Fatalf and stops the goroutine, as testing.T does.
type fatalTB struct {
	testing.TB // nil: only the methods below are called
	msg        string
}

func (f *fatalTB) Helper()        {}
func (f *fatalTB) Cleanup(func()) {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// A user the fixtures do not have fails the test with the vendor and name.
func TestCredentialsForAnUnknownUser(t *testing.T) {
	t.Parallel()
	kit := testkit.Start(t)
	for vendor, call := range map[string]func(testing.TB){
		"Brass":       func(tb testing.TB) { kit.BrassUserJWT(tb, "nobody@example.test") },
		"TeleTracker": func(tb testing.TB) { kit.TeleTrackerLogin(tb, "nobody@example.test") },
	} {
		tb := &fatalTB{}
		done := make(chan struct{})
		go func() { defer close(done); call(tb) }()
		<-done
		if want := fmt.Sprintf("no %s user %q", vendor, "nobody@example.test"); !strings.Contains(tb.msg, want) {
			t.Errorf("%s: Fatalf %q, want it to say %q", vendor, tb.msg, want)
		}
	}
}

// A test adds a Passport client, logs in with it, rotates its secret and
// sees the old secret refused while the old token still works.
func TestKitPassportClients(t *testing.T) {
	t.Parallel()
	kit := testkit.Start(t)
	c := kit.CreatePassportClient(passport.ClientSpec{})
	tok, err := kit.PassportClient(c).Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fresh := kit.RotatePassportSecret(c.ClientID)
	if fresh == "" || fresh == c.ClientSecret {
		t.Fatalf("rotated secret %q", fresh)
	}
	if _, err := kit.PassportClient(c).Token(context.Background()); err == nil {
		t.Error("the old secret still works")
	}
	c.ClientSecret = fresh
	if _, err := kit.PassportClient(c).Token(context.Background()); err != nil {
		t.Errorf("the new secret: %v", err)
	}
	if code, _ := status(t, "GET", kit.URL(testkit.Passport)+"/v1/core/accounts", http.Header{"Authorization": {"Bearer " + tok.AccessToken}}); code != 200 {
		t.Errorf("the token issued before the rotation: %d", code)
	}
}
