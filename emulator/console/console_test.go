package console_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/console"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
	"github.com/tokenemu/tokenemu/testkit"
)

// browser starts a headless Chromium for a test (chromedp) and returns its
// context. Without Chromium the test skips, unless CI=true, where it fails:
// the same rule as the container tests.
func browser(t testing.TB) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true and no Chromium on PATH (.ci/run installs Debian's chromium)")
		}
		t.Skip("no Chromium on PATH; the browser tests run in CI")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path),
		chromedp.NoSandbox, chromedp.WindowSize(1280, 800), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute) // a guard: it stops the browser
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	return ctx
}

// fingerprint is the first 12 hex digits of a token's SHA-256, as listings show it.
func fingerprint(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])[:12]
}

// screenshot keeps the page as it is now in the test's artifacts
// (go test -artifacts keeps them; .ci/run does).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(t.ArtifactDir(), name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// passportCall calls a Passport operation with a token and returns the
// status and X-Tokenemu-Reason.
func passportCall(t *testing.T, kit *testkit.Kit, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", kit.URL(testkit.Passport)+"/v1/core/accounts", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("X-Tokenemu-Reason")
}

// A token issued through the vendor's API shows in the console; Expire on its
// row makes the vendor refuse it; advancing the clock with a click moves the
// countdowns; a scenario's request shows in the journal with its name.
func TestConsoleDrivesTheEmulator(t *testing.T) {
	t.Parallel()
	kit := testkit.Start(t)
	ctx := browser(t)
	tok, err := kit.PassportClientCredentials().Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	other := kit.IssueToken(testkit.PassKit, "demo@passkit.test").Token
	row := fmt.Sprintf(`#token-rows tr[data-fingerprint="%s"]`, fingerprint(tok.AccessToken))
	otherRow := fmt.Sprintf(`#token-rows tr[data-fingerprint="%s"]`, fingerprint(other))
	stateIs := func(row, state string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.querySelector('%s td.state')?.textContent === '%s'`, row, state))
	}

	if err := chromedp.Do(ctx,
		chromedp.Navigate(kit.AdminURL()+"/ui"),
		chromedp.WaitVisible(chromedp.CSS(row)),
	); err != nil {
		t.Fatalf("the console does not list the Passport token: %v", err)
	}
	before, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(otherRow+" td.expires")))
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "tokens")

	// Expire, with a click.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(row+` button[aria-label^="Expire"]`)),
		stateIs(row, "expired"),
	); err != nil {
		t.Fatalf("Expire: %v", err)
	}
	if code, reason := passportCall(t, kit, tok.AccessToken); code != 401 || reason != "token_expired" {
		t.Errorf("the vendor after Expire in the console: %d %s, want 401 token_expired", code, reason)
	}

	// Advance the clock by an hour, with a click: the PassKit token's
	// countdown (an hour) runs out.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`button[data-advance="1h"]`)),
		stateIs(otherRow, "expired"),
	); err != nil {
		t.Fatalf("advance: %v", err)
	}
	after, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(otherRow+" td.expires")))
	if err != nil {
		t.Fatal(err)
	}
	if before == after || !strings.HasPrefix(after, "-") {
		t.Errorf("countdown before %q, after an hour %q: want it run out", before, after)
	}
	screenshot(t, ctx, "clock")

	// A built-in scenario, applied with a click; its request, in the journal view.
	apply := `#builtin-rows tr[data-name="passport-token-expired"] button`
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`button.tab[data-view="scenarios"]`)),
		chromedp.WaitVisible(chromedp.CSS(apply)),
		chromedp.Click(chromedp.CSS(apply)),
		chromedp.Poll[chromedp.Void](`[...document.querySelectorAll('#active-rows td')].some(td => td.textContent === 'passport-token-expired')`),
	); err != nil {
		t.Fatalf("applying a built-in in the console: %v", err)
	}
	screenshot(t, ctx, "scenarios")
	if code, _ := passportCall(t, kit, kit.IssueToken(testkit.Passport, "demo-client").Token); code != 401 {
		t.Fatalf("under passport-token-expired: %d", code)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`button.tab[data-view="journal"]`)),
		chromedp.Poll[chromedp.Void](`[...document.querySelectorAll('#journal-rows td')].some(td => td.textContent === 'scenario:passport-token-expired')`),
	); err != nil {
		dbg, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('status').textContent + ' | vendor=' + document.getElementById('j-vendor').value + ' | rows=' + document.querySelectorAll('#journal-rows tr').length`))
		t.Fatalf("the journal view never shows scenario:passport-token-expired: %v (%s)", err, dbg)
	}
	screenshot(t, ctx, "journal")
}

// A page of another origin cannot drive the admin plane from the browser:
// its request is refused (and a browser would not let it read an answer).
func TestConsoleRefusesOtherOrigins(t *testing.T) {
	t.Parallel()
	kit := testkit.Start(t)
	ctx := browser(t)
	kit.Clock.Freeze()
	start := kit.Clock.Now()
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><body><form id="f" method="POST" action="%[1]s/clock/advance" enctype="text/plain">
<input name='{"duration":"24h","x":"' value='"}'></form>
<script>
fetch(%[2]q, {method: 'POST', mode: 'no-cors', body: '{"duration":"24h"}'}).finally(() => { document.title = 'sent'; });
</script></body>`, kit.AdminURL(), kit.AdminURL()+"/clock/advance")
	}))
	t.Cleanup(evil.Close)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(evil.URL),
		chromedp.Poll[chromedp.Void](`document.title === 'sent'`),
		chromedp.Submit(chromedp.CSS(`#f`)),
		chromedp.WaitReady(chromedp.CSS(`body`)),
	); err != nil {
		t.Fatalf("the other origin's page: %v", err)
	}
	if now := kit.Clock.Now(); !now.Equal(start) {
		t.Errorf("a page of another origin moved the clock from %v to %v", start, now)
	}
	// Both attempts reached the emulator and were refused there (a refusal
	// before routing names no operation): the test is not passing because
	// nothing was sent.
	wctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kit.Emulator().WaitForRequests(wctx, emulator.JournalFilter{Vendor: "admin", Status: http.StatusForbidden}, 2) // journaled just after the answers
	refused := 0
	for _, e := range kit.Requests(testkit.Filter{Vendor: "admin"}) {
		if e.Path != "/_emulator/clock/advance" {
			continue
		}
		if e.Status < 400 {
			t.Errorf("a cross-origin clock advance was answered %d", e.Status)
		}
		refused++
	}
	if refused != 2 {
		t.Errorf("%d cross-origin clock advances reached the emulator, want the fetch and the form", refused)
	}
}

// The console's answers forbid framing and inline script, and the whole
// console stays small.
func TestConsoleHeadersAndWeight(t *testing.T) {
	t.Parallel()
	kit := testkit.Start(t)
	for _, path := range []string{"/ui", "/ui/app.js", "/ui/app.css"} {
		resp, err := http.Get(kit.AdminURL() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Security-Policy") != console.SecurityPolicy ||
			resp.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(console.SecurityPolicy, "frame-ancestors 'none'") ||
			strings.Contains(console.SecurityPolicy, "unsafe-inline") {
			t.Errorf("%s: %d, CSP %q, X-Frame-Options %q", path, resp.StatusCode, resp.Header.Get("Content-Security-Policy"), resp.Header.Get("X-Frame-Options"))
		}
	}
	if resp, _ := http.Get(kit.AdminURL() + "/ui/nothing.js"); resp == nil || resp.StatusCode != 404 {
		t.Errorf("an unknown console file: %v, want 404", resp)
	}
	if n := console.Size(); n > 150<<10 {
		t.Errorf("the console weighs %d bytes, want at most 150 KB", n)
	}
	t.Logf("the console weighs %d bytes (page, script, style)", console.Size())
}

// A scenario document with a mistake shows the emulator's word on it (the
// rule and the field); a good one is applied and can be removed; the
// default credentials are listed with copy buttons.
func TestConsoleScenarioDocumentsAndCredentials(t *testing.T) {
	t.Parallel()
	kit := testkit.Start(t)
	ctx := browser(t)
	bad := "name: mine\nrules:\n  - match: {vendor: passkit, operation: logn}\n    action: {status: 503}\n"
	good := "name: mine\nrules:\n  - match: {vendor: passkit, operation: login}\n    trigger: {first: 2}\n    action: {status: 503}\n"
	if err := chromedp.Do(ctx,
		chromedp.Navigate(kit.AdminURL()+"/ui"),
		chromedp.Click(chromedp.CSS(`button.tab[data-view="scenarios"]`)),
		chromedp.SendKeys(chromedp.CSS(`#yaml-text`), bad),
		chromedp.Click(chromedp.CSS(`#yaml-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#yaml-error`)),
	); err != nil {
		t.Fatal(err)
	}
	msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#yaml-error`)))
	if err != nil || !strings.Contains(msg, "rule 0") || !strings.Contains(msg, "match.operation") || !strings.Contains(msg, "logn") {
		t.Errorf("the error shown for a bad document: %q %v", msg, err)
	}
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#yaml-text`), good),
		chromedp.Click(chromedp.CSS(`#yaml-form button[type="submit"]`)),
		chromedp.Poll[chromedp.Void](`[...document.querySelectorAll('#active-rows td')].some(td => td.textContent === 'mine')`),
	); err != nil {
		t.Fatalf("a good document: %v", err)
	}
	if names := activeNames(kit); len(names) != 1 || names[0] != "mine" {
		t.Errorf("active after applying from the console: %v", names)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`button[aria-label="Remove scenario mine"]`)),
		chromedp.Poll[chromedp.Void](`[...document.querySelectorAll('#active-rows td')].some(td => td.textContent === 'no active scenario')`),
		chromedp.Click(chromedp.CSS(`button.tab[data-view="more"]`)),
		chromedp.Poll[chromedp.Void](`[...document.querySelectorAll('#credentials code')].some(c => c.textContent.includes('client_id demo-client'))`),
	); err != nil {
		t.Fatalf("remove, then the credentials: %v", err)
	}
	screenshot(t, ctx, "credentials")
	if names := activeNames(kit); len(names) != 0 {
		t.Errorf("active after Remove: %v", names)
	}
}

func activeNames(kit *testkit.Kit) []string {
	var names []string
	for _, s := range kit.Emulator().ActiveScenarios() {
		names = append(names, s.Name)
	}
	return names
}

// BenchmarkConsoleRender times the console from navigation to a full first
// page of tokens and the journal's newest entries, with 100,000 tokens in
// the store and 10,000 requests in the journal (go test -bench
// ConsoleRender ./emulator/console, with Chromium).
func BenchmarkConsoleRender(b *testing.B) {
	kit := testkit.Start(b, testkit.WithSetting("brass.rate-limit", "0"))
	emu := kit.Emulator()
	ctx := context.Background()
	for i := range 100_000 {
		if _, err := emu.IssueToken(ctx, vendorapi.IssueRequest{Vendor: "passport", Principal: "demo-client"}); err != nil {
			b.Fatalf("token %d: %v", i, err)
		}
	}
	tok := kit.IssueToken(testkit.PassKit, "demo@passkit.test").Token
	client := &http.Client{}
	for range 10_000 {
		req, _ := http.NewRequest("GET", kit.URL(testkit.PassKit)+"/user/profile", nil)
		req.Header.Set("Authorization", tok)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
	bctx := browser(b)
	for b.Loop() {
		start := time.Now()
		if err := chromedp.Do(bctx,
			chromedp.Navigate(kit.AdminURL()+"/ui"),
			chromedp.Poll[chromedp.Void](`document.querySelectorAll('#token-rows tr').length === 100 && document.querySelectorAll('#journal-rows tr.entry').length === 500`),
		); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms-to-render")
	}
}

// With -admin-token the console asks for the token, keeps it in the tab
// (sessionStorage, sent as a header, never in a URL) and then works; and the
// page reads at a phone's width without the page itself scrolling sideways.
func TestConsoleWithAnAdminTokenAndANarrowWindow(t *testing.T) {
	t.Parallel()
	kit := testkit.Start(t, testkit.WithConfig(func(c *emulator.Config) { c.AdminToken = "console-s3cret" }))
	ctx := browser(t)
	kit.IssueToken(testkit.Passport, "demo-client")
	if err := chromedp.Do(ctx,
		chromedp.EmulateViewport(420, 800),
		chromedp.Navigate(kit.AdminURL()+"/ui"),
		chromedp.WaitVisible(chromedp.CSS(`#auth`)),
		chromedp.SendKeys(chromedp.CSS(`#admin-token`), "console-s3cret"),
		chromedp.Click(chromedp.CSS(`#auth-form button[type="submit"]`)),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('#token-rows tr[data-id]').length === 1`),
	); err != nil {
		t.Fatalf("the console with an admin token: %v", err)
	}
	screenshot(t, ctx, "narrow")
	stored, err := chromedp.Run(ctx, chromedp.Evaluate[string](`sessionStorage.getItem('tokenemu-admin-token')`))
	if err != nil || stored != "console-s3cret" {
		t.Errorf("the token in sessionStorage: %q %v", stored, err)
	}
	wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
	if err != nil || wide {
		t.Errorf("at 420 px the page scrolls sideways (%v)", err)
	}
	for _, e := range kit.Requests(testkit.Filter{Vendor: "admin"}) {
		if strings.Contains(e.Path, "s3cret") {
			t.Errorf("the admin token went in a URL: %s", e.Path)
		}
	}
}

// With tenants, the console offers a switcher; choosing a tenant opens its
// console, which shows that tenant's tokens and not the root's.
func TestConsoleTenantSwitcher(t *testing.T) {
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
	if _, err := ts.Create(emulator.TenantSpec{ID: "team-a"}); err != nil {
		t.Fatal(err)
	}
	rootTok, err := root.IssueToken(context.Background(), vendorapi.IssueRequest{Vendor: "passkit", Principal: "demo@passkit.test"})
	if err != nil {
		t.Fatal(err)
	}
	tenantTok, err := ts.Tenant("team-a").IssueToken(context.Background(), vendorapi.IssueRequest{Vendor: "passport", Principal: "demo-client"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := browser(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/_emulator/ui"),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#token-rows tr[data-fingerprint="%s"]`, fingerprint(rootTok.Token)))),
		chromedp.WaitReady(chromedp.CSS(`#tenant option[value="team-a"]`)),
		// Choosing team-a opens /t/team-a/_emulator/ui (location.assign, which
		// chromedp cannot follow from inside the page's change handler).
		chromedp.Navigate(srv.URL+"/t/team-a/_emulator/ui"),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#token-rows tr[data-fingerprint="%s"]`, fingerprint(tenantTok.Token)))),
		chromedp.Poll[chromedp.Void](`document.getElementById('tenant').value === 'team-a'`),
	); err != nil {
		t.Fatalf("switching to a tenant: %v", err)
	}
	screenshot(t, ctx, "tenant")
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#token-rows tr[data-id]').length`))
	if err != nil || n != 1 {
		t.Errorf("the tenant's console lists %d tokens (%v), want its one", n, err)
	}

	// A tenant with a token of its own asks for it, keeps it for that
	// tenant alone, and the others' pages go on without it.
	info, err := ts.Create(emulator.TenantSpec{ID: "team-b", Token: true})
	if err != nil {
		t.Fatal(err)
	}
	bTok, err := ts.Tenant("team-b").IssueToken(context.Background(), vendorapi.IssueRequest{Vendor: "brass", Principal: "payables@brass.test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/t/team-b/_emulator/ui"),
		chromedp.WaitVisible(chromedp.CSS(`#admin-token`)),
		chromedp.SendKeys(chromedp.CSS(`#admin-token`), info.Token),
		chromedp.Click(chromedp.CSS(`#auth-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#token-rows tr[data-fingerprint="%s"]`, fingerprint(bTok.Token)))),
		chromedp.Navigate(srv.URL+"/t/team-a/_emulator/ui"),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#token-rows tr[data-fingerprint="%s"]`, fingerprint(tenantTok.Token)))),
	); err != nil {
		t.Fatalf("a tenant with a token of its own: %v", err)
	}
	stored, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[sessionStorage.getItem('tokenemu-admin-token@team-b'), sessionStorage.getItem('tokenemu-admin-token')]`))
	if err != nil || len(stored) != 2 || stored[0] != info.Token || stored[1] != "" {
		t.Errorf("stored tokens %q (%v): want team-b's under its own key, none for the root", stored, err)
	}
}
