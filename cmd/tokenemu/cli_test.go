package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

// keepProcs stands in for runtime.GOMAXPROCS in tests that serve in-process:
// it reports two CPUs and sets nothing, so the test binary keeps its own.
func keepProcs(int) int { return 2 }

func TestApplyProcs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		flag        int
		envProcs    string
		runtimeHas  int
		want        int
		wantSetting bool
	}{
		{name: "two CPUs: one", runtimeHas: 2, want: 1, wantSetting: true},
		{name: "one CPU: one", runtimeHas: 1, want: 1, wantSetting: true},
		{name: "eight CPUs: four", runtimeHas: 8, want: 4, wantSetting: true},
		{name: "seven CPUs: three", runtimeHas: 7, want: 3, wantSetting: true},
		{name: "flag", flag: 2, runtimeHas: 2, want: 2, wantSetting: true},
		{name: "flag above the CPUs", flag: 6, runtimeHas: 2, want: 6, wantSetting: true},
		{name: "GOMAXPROCS in the environment is kept", envProcs: "2", runtimeHas: 2, want: 2},
		{name: "flag beats GOMAXPROCS", flag: 1, envProcs: "2", runtimeHas: 2, want: 1, wantSetting: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var set []int
			fake := func(n int) int {
				if n > 0 {
					set = append(set, n)
				}
				return c.runtimeHas
			}
			got := applyProcs(c.flag, env(map[string]string{"GOMAXPROCS": c.envProcs}), fake)
			if got != c.want {
				t.Errorf("applyProcs = %d, want %d", got, c.want)
			}
			if c.wantSetting && (len(set) != 1 || set[0] != c.want) || !c.wantSetting && len(set) != 0 {
				t.Errorf("GOMAXPROCS set to %v, want %d set: %v", set, c.want, c.wantSetting)
			}
		})
	}
}

func TestParseServe(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		args    []string
		env     map[string]string
		want    func(serveOptions) bool
		wantErr string
	}{
		{name: "defaults", want: func(o serveOptions) bool {
			return o.addr == "127.0.0.1:8080" && o.seed != 0 && o.logFormat == "text" && o.logLevel == slog.LevelInfo &&
				o.adminToken == "" && o.fixtures == "" && len(o.settings) == 0 &&
				o.journalSize == 10_000 && o.procs == 0
		}},
		{name: "procs", args: []string{"-procs", "3"}, want: func(o serveOptions) bool { return o.procs == 3 }},
		{name: "procs from environment", env: map[string]string{"TOKENEMU_PROCS": "2"}, want: func(o serveOptions) bool { return o.procs == 2 }},
		{name: "negative procs", args: []string{"-procs", "-1"}, wantErr: "-procs -1"},
		{name: "vendor options", args: []string{"-passkit-leeway", "30s", "-teletracker-refresh-lifetime", "48h", "-teletracker-revoke-family-on-reuse", "-teletracker-revoke-access-on-refresh"},
			want: func(o serveOptions) bool {
				return maps.Equal(o.settings, map[string]string{"passkit.leeway": "30s", "teletracker.refresh-lifetime": "48h",
					"teletracker.revoke-family-on-reuse": "true", "teletracker.revoke-access-on-refresh": "true"})
			}},
		{name: "bool from environment", env: map[string]string{"TOKENEMU_TELETRACKER_REVOKE_FAMILY_ON_REUSE": "true"},
			want: func(o serveOptions) bool { return o.settings["teletracker.revoke-family-on-reuse"] == "true" }},
		{name: "brass options", args: []string{"-brass-temporary-lifetime", "2m", "-brass-rate-limit", "0"},
			want: func(o serveOptions) bool {
				return o.settings["brass.temporary-lifetime"] == "2m" && o.settings["brass.rate-limit"] == "0"
			}},
		{name: "journal size", args: []string{"-journal-size", "50"}, want: func(o serveOptions) bool { return o.journalSize == 50 }},
		{name: "clock", args: []string{"-clock", "2030-01-02T03:04:05Z"}, want: func(o serveOptions) bool {
			return o.clockAt.Equal(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
		}},
		{name: "bad clock", args: []string{"-clock", "tomorrow"}, wantErr: "-clock"},
		{name: "state", args: []string{"-state", "s.json", "-state-interval", "1s", "-state-fresh"}, want: func(o serveOptions) bool {
			return o.stateFile == "s.json" && o.stateInterval == time.Second && o.stateFresh
		}},
		{name: "state from environment", env: map[string]string{"TOKENEMU_STATE": "/data/s.json"}, want: func(o serveOptions) bool {
			return o.stateFile == "/data/s.json" && o.stateInterval == 5*time.Second && !o.stateFresh
		}},
		{name: "zero state interval", args: []string{"-state-interval", "0s"}, wantErr: "-state-interval 0s"},
		{name: "zero journal size", args: []string{"-journal-size", "0"}, wantErr: "-journal-size 0"},
		{name: "negative brass limit", args: []string{"-brass-rate-limit", "-5"}, wantErr: `brass.rate-limit="-5": want an integer from 0`},
		{name: "negative leeway", args: []string{"-passkit-leeway", "-1s"}, wantErr: `passkit.leeway="-1s": want a duration`},
		{name: "zero temporary lifetime", args: []string{"-brass-temporary-lifetime", "0s"}, wantErr: `brass.temporary-lifetime="0s": want more than 0s`},
		{name: "zero max users", args: []string{"-passkit-max-users", "0"}, wantErr: `passkit.max-users="0": want an integer from 1`},
		{name: "zero refresh lifetime", args: []string{"-teletracker-refresh-lifetime", "0s"}, wantErr: `teletracker.refresh-lifetime="0s": want more than 0s`},
		{name: "not a bool", args: []string{"-teletracker-revoke-family-on-reuse=maybe"}, wantErr: "true or false"},
		{name: "flags", args: []string{"-addr", ":9", "-seed", "42", "-fixtures", "f.yaml", "-log-format", "json", "-log-level", "debug", "-admin-token", "t", "-passport-revoke-status", "204", "-passport-scope-status", "403"},
			want: func(o serveOptions) bool {
				return o.addr == ":9" && o.seed == 42 && o.fixtures == "f.yaml" && o.logFormat == "json" && o.logLevel == slog.LevelDebug &&
					o.adminToken == "t" && o.settings["passport.revoke-status"] == "204" && o.settings["passport.scope-status"] == "403"
			}},
		{name: "environment", env: map[string]string{"TOKENEMU_ADDR": "127.0.0.1:0", "TOKENEMU_SEED": "7", "TOKENEMU_ADMIN_TOKEN": "x", "TOKENEMU_LOG_FORMAT": "json", "TOKENEMU_PASSPORT_REVOKE_STATUS": "204"},
			want: func(o serveOptions) bool {
				return o.addr == "127.0.0.1:0" && o.seed == 7 && o.adminToken == "x" && o.logFormat == "json" && o.settings["passport.revoke-status"] == "204"
			}},
		{name: "flag beats environment", args: []string{"-seed", "9"}, env: map[string]string{"TOKENEMU_SEED": "7"},
			want: func(o serveOptions) bool { return o.seed == 9 }},
		{name: "unknown flag", args: []string{"-nope"}, wantErr: "not defined"},
		{name: "stray argument", args: []string{"extra"}, wantErr: `unexpected argument "extra"`},
		{name: "bad seed", args: []string{"-seed", "x"}, wantErr: "invalid value"},
		{name: "zero seed", args: []string{"-seed", "0"}, wantErr: "0 is not a seed"},
		{name: "bad env seed", env: map[string]string{"TOKENEMU_SEED": "x"}, wantErr: "TOKENEMU_SEED"},
		{name: "bad log format", args: []string{"-log-format", "xml"}, wantErr: "text or json"},
		{name: "bad log level", args: []string{"-log-level", "loud"}, wantErr: "-log-level"},
		{name: "bad addr", args: []string{"-addr", "8080"}, wantErr: "-addr"},
		{name: "bad revoke status", args: []string{"-passport-revoke-status", "201"}, wantErr: "one of [200 204]"},
		{name: "bad scope status", args: []string{"-passport-scope-status", "400"}, wantErr: "one of [401 403]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			o, err := parseServe(c.args, env(c.env), io.Discard)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !c.want(o) {
				t.Errorf("got %+v", o)
			}
		})
	}
}

func TestRunExitCodes(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	badFixtures := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(badFixtures, []byte("passport: {clients: [{client_id: a}]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"unknown command", []string{"fly"}, exitUsage, "", `unknown command "fly"`},
		{"bad flag", []string{"-nope"}, exitUsage, "", "unknown flag: -nope"},
		{"serve bad flag", []string{"serve", "-seed", "x"}, exitUsage, "", "invalid value"},
		{"unreadable fixtures", []string{"-fixtures", missing}, exitUsage, "", "read fixtures"},
		{"invalid fixtures", []string{"-fixtures", badFixtures}, exitUsage, "", "client_secret is empty"},
		{"version", []string{"version"}, exitOK, "go1.", ""},
		{"help", []string{"help"}, exitOK, "Usage:", ""},
		{"serve help", []string{"serve", "-h"}, exitOK, "-admin-token", ""},
		{"help lists the commands", []string{"-h"}, exitOK, "tokens", ""},
		{"healthcheck nothing there", []string{"healthcheck", "-url", "http://" + closedAddr(t)}, exitFail, "", "no emulator answering"},
		{"healthcheck bad flag", []string{"healthcheck", "-x"}, exitUsage, "", "unknown shorthand flag: 'x'"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			code := run(context.Background(), c.args, &out, &errOut, env(nil), keepProcs)
			if code != c.code {
				t.Errorf("exit %d, want %d; stderr %q", code, c.code, errOut.String())
			}
			if !strings.Contains(out.String(), c.stdout) {
				t.Errorf("stdout %q, want it to contain %q", out.String(), c.stdout)
			}
			if !strings.Contains(errOut.String(), c.stderr) {
				t.Errorf("stderr %q, want it to contain %q", errOut.String(), c.stderr)
			}
			if c.code == exitUsage && strings.Count(strings.TrimSpace(errOut.String()), "\n") > 0 && !strings.Contains(errOut.String(), "Usage") {
				t.Errorf("stderr is not one line: %q", errOut.String())
			}
		})
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// bannerWriter collects output and reports the base URL once the banner is out.
type bannerWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	once sync.Once
	url  chan string
}

var listeningRE = regexp.MustCompile(`listening on (http://\S+)`)

func (w *bannerWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if m := listeningRE.FindStringSubmatch(w.buf.String()); m != nil {
		w.once.Do(func() { w.url <- m[1] })
	}
	return len(p), nil
}

func (w *bannerWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func TestServeHealthcheckShutdown(t *testing.T) {
	t.Parallel()
	srv := serveInProcess(t, []string{"serve", "-addr", "127.0.0.1:0"}, env(map[string]string{"TOKENEMU_ADMIN_TOKEN": "x"}))
	for _, want := range []string{"/passport", "demo-client", "demo-secret", "limited-client", "/_emulator",
		"/passkit", "demo@passkit.test", "passkit-demo", "/teletracker", "demo@teletracker.test", "teletracker-demo", "integrator@teletracker.test",
		"/brass", "lk_tokenemuDemoAppKey000000000000000000000000", "demo@brass.test", "payables@brass.test", "brass-demo",
		"(GOMAXPROCS 1)"} { // keepProcs reports two CPUs; the default takes half
		if !strings.Contains(srv.out.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, srv.out.String())
		}
	}
	var hcOut, hcErr bytes.Buffer
	if code := run(context.Background(), []string{"healthcheck", "-url", srv.base}, &hcOut, &hcErr, env(nil), keepProcs); code != exitOK {
		t.Errorf("healthcheck: exit %d, %s", code, hcErr.String())
	}
	if code := run(context.Background(), []string{"healthcheck"}, &hcOut, &hcErr, env(map[string]string{"TOKENEMU_URL": srv.base}), keepProcs); code != exitOK {
		t.Errorf("healthcheck with TOKENEMU_URL: exit %d, %s", code, hcErr.String())
	}
	if code := srv.stop(); code != exitOK {
		t.Errorf("serve after cancel: exit %d, stderr %s", code, srv.errOut.String())
	}
}

func TestServeWarnsOnPublicAddressWithoutAdminToken(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		addr string
		want bool
	}{{"127.0.0.1:0", false}, {"[::1]:0", false}, {"localhost:0", false}, {"0.0.0.0:0", true}} {
		o := serveOptions{addr: c.addr}
		if got := !o.isLoopback(); got != c.want {
			t.Errorf("%s: warn=%v, want %v", c.addr, got, c.want)
		}
	}
	// And the warning is logged at start.
	srv := serveInProcess(t, []string{"serve", "-addr", "0.0.0.0:0"}, env(nil))
	srv.stop()
	if !strings.Contains(srv.errOut.String(), "non-loopback address without -admin-token") {
		t.Errorf("no warning for 0.0.0.0 without -admin-token:\n%s", srv.errOut.String())
	}
}

// SIGINT/SIGTERM (here: the context) lets a request in flight finish: a login
// held by a scenario's delay still gets its token after shutdown begins.
func TestServeShutdownLetsRequestsFinish(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "slow.yaml")
	scenario := "name: slow\nrules:\n  - match: {vendor: passkit, operation: login}\n    action: {delay: 1s}\n"
	if err := os.WriteFile(file, []byte(scenario), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := serveInProcess(t, []string{"serve", "-addr", "127.0.0.1:0", "-scenario", file}, env(nil))
	type result struct {
		status int
		body   string
		err    error
	}
	login := make(chan result, 1)
	go func() {
		resp, err := http.Post(srv.base+"/passkit/login", "application/json",
			strings.NewReader(`{"username":"demo@passkit.test","password":"passkit-demo"}`))
		if err != nil {
			login <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		login <- result{resp.StatusCode, string(b), err}
	}()
	// The rule counts the login as it starts its delay: then it is in flight.
	waitUntilAnswerHolds(t, srv.base+"/_emulator/scenarios", `"matched":1`)
	srv.cancel()
	r := <-login
	if r.err != nil || r.status != 200 || !strings.Contains(r.body, `"token"`) {
		t.Errorf("login in flight at shutdown: %d %q %v, want its token", r.status, r.body, r.err)
	}
	if code := <-srv.done; code != exitOK {
		t.Errorf("serve after cancel: exit %d, stderr %s", code, srv.errOut.String())
	}
}

// On loopback the emulator answers only its own names and -allowed-hosts
// (DNS rebinding); elsewhere every name.
func TestAllowedHosts(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		want []string
	}{
		{nil, []string{"localhost", "127.0.0.1", "::1"}},
		{[]string{"-addr", "localhost:0", "-allowed-hosts", "emu.test,other.test"}, []string{"localhost", "127.0.0.1", "::1", "emu.test", "other.test"}},
		{[]string{"-addr", "[::1]:0", "-allowed-hosts", "a.test", "-allowed-hosts", "b.test"}, []string{"localhost", "127.0.0.1", "::1", "a.test", "b.test"}},
		{[]string{"-addr", "0.0.0.0:8080", "-admin-token", "x"}, nil},
		{[]string{"-addr", "0.0.0.0:8080"}, []string{"localhost", "127.0.0.1", "::1"}}, // a container, published on loopback
		{[]string{"-addr", "0.0.0.0:8080", "-allowed-hosts", "tokenemu"}, []string{"localhost", "127.0.0.1", "::1", "tokenemu"}},
	} {
		o, err := parseServe(c.args, env(nil), io.Discard)
		if err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if got := o.hostsAllowed(); !slices.Equal(got, c.want) {
			t.Errorf("%v: got %v, want %v", c.args, got, c.want)
		}
	}
}

// A journal long poll waiting when shutdown begins returns at once, and the
// server exits 0: before, it held the shutdown for its 10 s and exited 1.
func TestServeShutdownEndsLongPolls(t *testing.T) {
	t.Parallel()
	srv := serveInProcess(t, []string{"serve", "-addr", "127.0.0.1:0"}, env(nil))
	polled := make(chan error, 1)
	go func() {
		resp, err := http.Get(srv.base + "/_emulator/journal?vendor=brass&wait=60s")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		polled <- err
	}()
	// The poll is waiting once the state says so.
	waitUntilAnswerHolds(t, srv.base+"/_emulator/state", `"waiters":1`)
	srv.cancel()
	if err := <-polled; err != nil {
		t.Errorf("the long poll: %v", err)
	}
	if code := <-srv.done; code != exitOK {
		t.Errorf("serve after cancel: exit %d, stderr %s", code, srv.errOut.String())
	}
}

// waitUntilAnswerHolds asks url until its answer holds want: it waits for an
// event the emulator reports, and gives up (failing the test) only after a
// minute, so that a broken emulator fails rather than hangs the suite.
func waitUntilAnswerHolds(t *testing.T, url, want string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never held %s: %s", url, want, b)
		}
		runtime.Gosched()
	}
}

// served is tokenemu serve running in the test process.
type served struct {
	base   string
	out    *bannerWriter
	errOut *bytes.Buffer // read once serve has returned
	cancel context.CancelFunc
	done   chan int
}

// serveInProcess runs tokenemu serve with args until the test stops it, and
// returns once its banner says where it listens.
func serveInProcess(t *testing.T, args []string, getenv func(string) string) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{out: &bannerWriter{url: make(chan string, 1)}, errOut: &bytes.Buffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() { s.done <- run(ctx, args, s.out, s.errOut, getenv, keepProcs) }()
	select {
	case s.base = <-s.out.url:
	case code := <-s.done:
		t.Fatalf("serve exited early with %d: %s", code, s.errOut.String())
	}
	t.Cleanup(cancel)
	return s
}

// stop interrupts serve and returns its exit code.
func (s *served) stop() int {
	s.cancel()
	return <-s.done
}

// -idle-exit ends serve, with 0, once nothing has been asked of it for that
// long; a request in flight (a long poll longer than that) is answered in
// full first.
func TestServeIdleExit(t *testing.T) {
	t.Parallel()
	s := serveInProcess(t, []string{"serve", "-addr", "127.0.0.1:0", "-idle-exit", "1s"}, env(nil))
	begin := time.Now()
	resp, err := http.Get(s.base + "/_emulator/journal?since=1000&wait=3s")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if held := time.Since(begin); resp.StatusCode != 200 || held < 3*time.Second {
		t.Errorf("a long poll of 3s under -idle-exit 1s: %d after %v", resp.StatusCode, held)
	}
	select {
	case code := <-s.done:
		if code != exitOK || !strings.Contains(s.errOut.String(), "no request for -idle-exit") {
			t.Errorf("exit %d: %s", code, s.errOut.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("serve with -idle-exit=1s still runs after a minute of nothing")
	}
}

// A tenant's flags: -tenant-memory bounds it, -tenant-auto makes one at
// first use; out-of-range values are refused with the flag's name.
func TestServeTenantFlags(t *testing.T) {
	t.Parallel()
	s := serveInProcess(t, []string{"serve", "-addr", "127.0.0.1:0", "-tenant-auto", "-tenant-memory", "1048576"}, env(nil))
	resp, err := http.Get(s.base + "/t/made-at-first-use/_emulator/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("-tenant-auto: %d", resp.StatusCode)
	}
	waitUntilAnswerHolds(t, s.base+"/_emulator/tenants", `"made-at-first-use"`)
	// A quarter of the budget is the tenant's journal.
	waitUntilAnswerHolds(t, s.base+"/t/made-at-first-use/_emulator/state", `"max_bytes":262144`)
	for _, bad := range []string{"-tenant-memory=1000", "-idle-exit=1ms", "-idle-exit=-1s"} {
		code, _, errOut := runWith(nil, "serve", bad)
		flagName, _, _ := strings.Cut(bad, "=")
		if code != exitUsage || !strings.Contains(errOut, flagName) {
			t.Errorf("%s: %d %s", bad, code, errOut)
		}
	}
}
