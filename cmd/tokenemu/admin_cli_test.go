package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/passport"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
)

// qa is a running emulator and a way to run CLI commands against it.
type qa struct {
	t   *testing.T
	emu *emulator.Emulator
	url string
}

func newQA(t *testing.T, cfg emulator.Config) *qa {
	t.Helper()
	emu, err := emulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu.Handler())
	t.Cleanup(srv.Close)
	return &qa{t: t, emu: emu, url: srv.URL}
}

// cli runs tokenemu with -url set and returns the exit code, stdout and stderr.
func (q *qa) cli(args ...string) (int, string, string) {
	q.t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut, env(map[string]string{"TOKENEMU_URL": q.url}), keepProcs)
	return code, out.String(), errOut.String()
}

func (q *qa) must(args ...string) string {
	q.t.Helper()
	code, out, errOut := q.cli(args...)
	if code != exitOK {
		q.t.Fatalf("tokenemu %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// The README's QA walk-through: issue a token, use it, expire it with the
// CLI, and see the vendor reject it.
func TestCLIExpireATokenInARunningEmulator(t *testing.T) {
	t.Parallel()
	q := newQA(t, emulator.Config{})
	tok := strings.TrimSpace(q.must("tokens", "issue", "-vendor", "passport", "-principal", "demo-client"))
	use := func() (int, string) {
		req, _ := http.NewRequest("GET", q.url+"/passport/v1/core/accounts", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get(vendorapi.ReasonHeader)
	}
	if code, _ := use(); code != 200 {
		t.Fatalf("fresh token: %d", code)
	}
	list := q.must("tokens", "list", "-vendor", "passport")
	if !strings.Contains(list, "demo-client") || !strings.Contains(list, "active") || strings.Contains(list, tok) {
		t.Errorf("tokens list:\n%s", list)
	}
	out := q.must("tokens", "expire", tok)
	if !strings.Contains(out, "expired 1 token(s)") || !strings.Contains(out, "expired") {
		t.Errorf("expire:\n%s", out)
	}
	if code, reason := use(); code != 401 || reason != "token_expired" {
		t.Errorf("after expire: %d %s", code, reason)
	}
	// The clock way: a fresh token dies 24 hours later.
	tok = strings.TrimSpace(q.must("tokens", "issue", "-vendor", "passport", "-principal", "demo-client"))
	q.must("clock", "freeze")
	if out := q.must("clock", "advance", "24h"); !strings.Contains(out, "(frozen)") {
		t.Errorf("clock advance: %s", out)
	}
	if code, reason := use(); code != 401 || reason != "token_expired" {
		t.Errorf("after 24h: %d %s", code, reason)
	}
	journal := q.must("journal", "-vendor", "passport")
	if !strings.Contains(journal, "listAccounts") || !strings.Contains(journal, "token_expired") || strings.Contains(journal, tok) {
		t.Errorf("journal:\n%s", journal)
	}
}

func TestCLIScenarioCommands(t *testing.T) {
	t.Parallel()
	q := newQA(t, emulator.Config{})
	if out := q.must("scenarios", "active"); !strings.Contains(out, "no active scenario") {
		t.Errorf("empty list: %s", out)
	}
	if out := q.must("scenarios", "apply", "passport-token-endpoint-flaky"); out != "applied passport-token-endpoint-flaky (1 rule)\n" {
		t.Errorf("apply: %q", out)
	}
	if out := q.must("scenarios", "apply", "vendor-outage:brass"); !strings.Contains(out, "applied vendor-outage") {
		t.Errorf("apply with a vendor: %q", out)
	}
	file := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(file, []byte("name: mine\nrules:\n  - match: {vendor: passkit, operation: login}\n    action: {status: 500}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	q.must("scenarios", "apply", file)
	out := q.must("scenarios", "active")
	for _, want := range []string{"passport-token-endpoint-flaky", "passport.createToken", "brass", "mine", "passkit.login"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	// The JSON form is the admin plane's answer.
	var active struct {
		Active []struct{ Name string } `json:"active"`
	}
	if err := json.Unmarshal([]byte(q.must("scenarios", "active", "-json")), &active); err != nil || len(active.Active) != 3 {
		t.Errorf("list -json: %v %+v", err, active)
	}
	// A duplicate is refused with the emulator's message, exit 1.
	code, _, errOut := q.cli("scenarios", "apply", "mine", "-replace=false")
	if code != exitFail || !strings.Contains(errOut, "neither a file nor a built-in") {
		t.Errorf("unknown name: %d %s", code, errOut)
	}
	code, _, errOut = q.cli("scenarios", "apply", file)
	if code != exitFail || !strings.Contains(errOut, "already active") {
		t.Errorf("duplicate: %d %s", code, errOut)
	}
	q.must("scenarios", "apply", file, "-replace")
	q.must("scenarios", "remove", "mine")
	if code, _, errOut := q.cli("scenarios", "remove", "mine"); code != exitFail || !strings.Contains(errOut, `no active scenario "mine"`) {
		t.Errorf("clear twice: %d %s", code, errOut)
	}
	q.must("scenarios", "clear")
	if n := len(q.emu.ActiveScenarios()); n != 0 {
		t.Errorf("%d active after clear", n)
	}
}

func TestCLITokensAndJournalJSON(t *testing.T) {
	t.Parallel()
	q := newQA(t, emulator.Config{})
	out := q.must("tokens", "issue", "-vendor", "teletracker", "-principal", "demo@teletracker.test", "-lifetime", "5m")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("teletracker issue prints the token and the refresh token: %q", out)
	}
	pat := strings.TrimSpace(q.must("tokens", "issue", "-vendor", "brass", "-principal", "demo@brass.test", "-kind", "pat", "-role", "accountant"))
	if !strings.Contains(pat, "|pat-") {
		t.Errorf("PAT: %q", pat)
	}
	if out := q.must("tokens", "revoke", "-vendor", "teletracker", "-principal", "demo@teletracker.test"); !strings.Contains(out, "revoked 2 token(s)") {
		t.Errorf("revoke principal: %s", out)
	}
	// tokens list -json prints one token per line, page after page.
	jsonLines := strings.Split(strings.TrimSpace(q.must("tokens", "list", "-state", "revoked", "-json")), "\n")
	for _, l := range jsonLines {
		var ti emulator.TokenInfo
		if err := json.Unmarshal([]byte(l), &ti); err != nil || ti.State != "revoked" {
			t.Errorf("list -json line %q: %v", l, err)
		}
	}
	if len(jsonLines) != 2 {
		t.Errorf("list -json: %d lines, want 2", len(jsonLines))
	}
	for range 2500 {
		if _, err := q.emu.IssueToken(context.Background(), vendorapi.IssueRequest{Vendor: "passport", Principal: passport.DefaultClientID}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(q.must("tokens", "list", "-vendor", "passport", "-json")), "\n") {
		var ti emulator.TokenInfo
		if err := json.Unmarshal([]byte(l), &ti); err != nil || seen[ti.ID] {
			t.Fatalf("list -json over three pages: %v, or %s twice", err, ti.ID)
		}
		seen[ti.ID] = true
	}
	if len(seen) < 2500 {
		t.Errorf("list -json over three pages: %d tokens, want at least 2500", len(seen))
	}
	// journal -json prints one entry per line.
	q.must("clock", "freeze")
	out = q.must("journal", "-json", "-vendor", "admin", "-operation", "freezeClock")
	var en emulator.JournalEntry
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &en); err != nil || en.Operation != "freezeClock" {
		t.Errorf("journal -json: %v %q", err, out)
	}
}

func TestCLIJournalFollow(t *testing.T) {
	t.Parallel()
	q := newQA(t, emulator.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &notifyWriter{ch: make(chan struct{}, 1)}
	done := make(chan int, 1)
	go func() {
		var errOut bytes.Buffer
		done <- run(ctx, []string{"journal", "-follow", "-vendor", "passkit"}, w, &errOut, env(map[string]string{"TOKENEMU_URL": q.url}), keepProcs)
	}()
	// A login while the follower waits shows up in its output.
	req, _ := http.NewRequest("POST", q.url+"/passkit/login", strings.NewReader(`{"username":"demo@passkit.test","password":"passkit-demo"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	deadline := time.After(20 * time.Second)
	for !strings.Contains(w.String(), "login") {
		select {
		case <-deadline:
			t.Fatalf("follower output: %q", w.String())
		case <-w.ch:
		}
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("follow ended with %d", code)
	}
}

func TestCLIOffline(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	run0 := func(args ...string) int {
		out.Reset()
		errOut.Reset()
		return run(context.Background(), args, &out, &errOut, env(nil), keepProcs)
	}
	if run0("scenarios", "list") != exitOK || strings.Count(out.String(), "\n") != 13 || !strings.Contains(out.String(), "slow-login") {
		t.Errorf("scenarios list:\n%s", out.String())
	}
	if run0("scenarios", "show", "clock-skew") != exitOK || !strings.Contains(out.String(), "skew: 5m") {
		t.Errorf("scenarios show:\n%s", out.String())
	}
	if run0("scenarios", "show", "nope") != exitFail || !strings.Contains(errOut.String(), "no built-in scenario") {
		t.Errorf("show unknown: %s", errOut.String())
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(good, []byte("name: g\nrules:\n  - match: {vendor: brass, operation: login}\n    trigger: {first: 2}\n    action: {status: 503}\n"), 0o600)
	_ = os.WriteFile(bad, []byte("name: b\nrules:\n  - match: {vendor: brass, operation: logn}\n    action: {status: 503}\n"), 0o600)
	if run0("scenarios", "validate", good) != exitOK || !strings.Contains(out.String(), "ok: g (1 rule)") {
		t.Errorf("validate good: %s %s", out.String(), errOut.String())
	}
	if run0("scenarios", "validate", good, bad) != exitFail || !strings.Contains(errOut.String(), `bad.yaml: scenario "b": rule 0: match.operation: unknown operationId "logn"`) {
		t.Errorf("validate bad: %s", errOut.String())
	}
	if run0("scenarios", "frobnicate") != exitUsage {
		t.Error("unknown scenarios command")
	}
	// Against nothing: one line, exit 1.
	for _, args := range [][]string{{"clock"}, {"tokens", "list"}, {"journal"}, {"scenarios", "apply", "slow-login"}, {"reset"}} {
		out.Reset()
		errOut.Reset()
		code := run(context.Background(), args, &out, &errOut, env(map[string]string{"TOKENEMU_URL": "http://" + closedAddr(t)}), keepProcs)
		if code != exitFail || strings.Count(errOut.String(), "\n") != 1 || !strings.Contains(errOut.String(), "no emulator answering at") {
			t.Errorf("%v against nothing: %d %q", args, code, errOut.String())
		}
	}
	// Usage errors are exit 2.
	for _, args := range [][]string{{"clock", "advance", "soon"}, {"clock", "set", "tomorrow"}, {"clock", "rewind"},
		{"tokens", "expire"}, {"tokens", "issue", "-vendor", "passport"}, {"journal", "extra"}, {"tokens", "-nope"}} {
		if code := run0(args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, exitUsage, errOut.String())
		}
	}
}

func TestServeScenarioFlag(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "s.yaml")
	_ = os.WriteFile(file, []byte("name: a\nrules: [{match: {vendor: brass}, action: {status: 500}}]\n---\nname: b\nrules: [{match: {vendor: passkit}, action: {status: 500}}]\n"), 0o600)
	o, err := parseServe([]string{"-scenario", "slow-login", "-scenario", file}, env(map[string]string{"TOKENEMU_SCENARIO": "x"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	list, err := loadScenarios(o.scenarios)
	if err != nil || len(list) != 3 || list[0].Name != "slow-login" || list[2].Name != "b" {
		t.Fatalf("loaded %v %+v", err, list)
	}
	o, _ = parseServe(nil, env(map[string]string{"TOKENEMU_SCENARIO": "clock-skew, vendor-outage:passkit"}), &bytes.Buffer{})
	list, err = loadScenarios(o.scenarios)
	if err != nil || len(list) != 2 || list[1].Rules[0].Match.Vendor != "passkit" {
		t.Fatalf("from the environment: %v %+v", err, list)
	}
	for arg, want := range map[string]string{
		"no-such":            "neither a file nor a built-in",
		"vendor-outage:acme": `unknown vendor "acme"`,
		filepath.Dir(file):   "neither a file",
		writeTemp(t, "x: 1"): "field x not found",
	} {
		if _, err := loadScenarios([]string{arg}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error containing %q", arg, err, want)
		}
	}
	// An invalid scenario stops start-up with exit 2.
	var errOut bytes.Buffer
	bad := writeTemp(t, "name: bad\nrules:\n  - match: {vendor: brass, operation: nope}\n    action: {status: 500}\n")
	if code := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-scenario", bad}, &bytes.Buffer{}, &errOut, env(nil), keepProcs); code != exitUsage ||
		!strings.Contains(errOut.String(), `unknown operationId "nope"`) {
		t.Errorf("invalid -scenario: %d %s", code, errOut.String())
	}
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "f.yaml")
	if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// notifyWriter collects output and signals each write.
type notifyWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
	ch  chan struct{}
}

func (w *notifyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.buf.Write(p)
	w.mu.Unlock()
	select {
	case w.ch <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (w *notifyWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// A server that never answers is a timeout, said as one; an answer too large
// to read whole is an error, never printed cut with exit 0.
func TestCLITimeoutAndOversizedAnswer(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })
	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"tokens":[`))
		chunk := bytes.Repeat([]byte(`{"id":"x"},`), 1<<16)
		for written := 0; written <= maxAnswer; written += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		_, _ = w.Write([]byte(`{}]}`))
	}))
	t.Cleanup(huge.Close)
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"tokens", "list", "-json", "-timeout", "200ms"}, &out, &errOut,
		env(map[string]string{"TOKENEMU_URL": slow.URL}), keepProcs)
	if code != exitFail || !strings.Contains(errOut.String(), "timed out after 200ms") || strings.Contains(errOut.String(), "no emulator answering") {
		t.Errorf("slow server: exit %d, %q", code, errOut.String())
	}
	out.Reset()
	errOut.Reset()
	code = run(context.Background(), []string{"tokens", "list", "-json"}, &out, &errOut,
		env(map[string]string{"TOKENEMU_URL": huge.URL}), keepProcs)
	if code != exitFail || !strings.Contains(errOut.String(), "larger than 64 MiB") || out.Len() != 0 {
		t.Errorf("huge answer: exit %d, %d bytes out, %q", code, out.Len(), errOut.String())
	}
}

// QA adds a Passport client and rotates its secret from the CLI.
func TestCLIPassportClients(t *testing.T) {
	t.Parallel()
	q := newQA(t, emulator.Config{})
	out := q.must("passport", "clients", "create", "-client-id", "qa-client", "-secret", "qa-secret-1", "-scopes", "paas.core.accounts.list.get")
	if !strings.Contains(out, "client_id qa-client") || !strings.Contains(out, "client_secret qa-secret-1") {
		t.Errorf("create:\n%s", out)
	}
	out = q.must("passport", "clients", "rotate", "qa-client", "-json")
	var rotated passport.ClientInfo
	if err := json.Unmarshal([]byte(out), &rotated); err != nil || rotated.ClientSecret == "" || rotated.ClientSecret == "qa-secret-1" {
		t.Errorf("rotate: %v %s", err, out)
	}
	if out = q.must("passport", "clients", "list"); !strings.Contains(out, "qa-client") || strings.Contains(out, rotated.ClientSecret) {
		t.Errorf("list:\n%s", out)
	}
	if code, _, errOut := q.cli("passport", "clients", "rotate", "nobody"); code != exitFail || !strings.Contains(errOut, "no client with this client_id") {
		t.Errorf("rotate an unknown client: %d %s", code, errOut)
	}
	if code, _, _ := q.cli("passport", "frobnicate"); code != exitUsage {
		t.Errorf("passport frobnicate: exit %d", code)
	}
}

// An opaque token is base64url and may start with "-": it is the token, not
// a flag. (One in 64 did, which made the CLI tests flaky.)
func TestCLITokenStartingWithADash(t *testing.T) {
	t.Parallel()
	q := newQA(t, emulator.Config{})
	for range 5000 { // each starts with "-" at 1 in 64: all 5,000 missing it is 1 in 10^34
		res, err := q.emu.IssueToken(context.Background(), vendorapi.IssueRequest{Vendor: "passport", Principal: passport.DefaultClientID})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(res.Token, "-") {
			continue
		}
		if out := q.must("tokens", "expire", res.Token); !strings.Contains(out, "expired") {
			t.Errorf("expire %s: %s", res.Token, out)
		}
		return
	}
	t.Fatal("no token of 5,000 started with a dash")
}
