package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenemu/tokenemu/emulator"
)

// runWith runs tokenemu with an environment and returns the exit code, stdout and stderr.
func runWith(vars map[string]string, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut, env(vars), keepProcs)
	return code, out.String(), errOut.String()
}

// Global flags go before or after the command, with one dash or two.
func TestCLIGlobalFlagsAnywhere(t *testing.T) {
	t.Parallel()
	q := newQA(t, emulator.Config{AdminToken: "s3cret"})
	q.emu.Clock().Freeze()
	for _, args := range [][]string{
		{"-url", q.url, "-admin-token", "s3cret", "tokens", "list"},
		{"tokens", "list", "-url", q.url, "--admin-token=s3cret"},
		{"--url=" + q.url, "tokens", "-admin-token", "s3cret", "list", "-json"},
		{"-json", "-url", q.url, "-admin-token=s3cret", "clock"},
	} {
		if code, out, errOut := runWith(nil, args...); code != exitOK {
			t.Errorf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
	}
}

// The environment is scoped: serve's TOKENEMU_STATE does not become
// "tokens list -state", while the global TOKENEMU_URL and
// TOKENEMU_ADMIN_TOKEN reach every command.
func TestCLIEnvironmentIsScoped(t *testing.T) {
	t.Parallel()
	q := newQA(t, emulator.Config{AdminToken: "s3cret"})
	vars := map[string]string{"TOKENEMU_URL": q.url, "TOKENEMU_ADMIN_TOKEN": "s3cret", "TOKENEMU_STATE": "/var/lib/tokenemu/state.json"}
	runWith(vars, "tokens", "issue", "-vendor", "passport", "-principal", "demo-client")
	code, out, errOut := runWith(vars, "tokens", "list")
	if code != exitOK || !strings.Contains(out, "demo-client") {
		t.Errorf("tokens list with TOKENEMU_STATE set: exit %d\n%s%s", code, out, errOut)
	}
	vars["TOKENEMU_JSON"] = "true"
	if code, out, _ := runWith(vars, "clock"); code != exitOK || !json.Valid([]byte(out)) {
		t.Errorf("TOKENEMU_JSON: exit %d %q", code, out)
	}
}

// Mistakes: a mistyped command gets "did you mean"; a bad flag is one line
// and a hint; both exit 2.
func TestCLIMistakes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"tokns"}, []string{`unknown command "tokns"`, "Did you mean this?", "tokens"}},
		{[]string{"scenario", "list"}, []string{"Did you mean this?", "scenarios"}},
		{[]string{"tokens", "-nope"}, []string{"unknown flag: -nope", "tokenemu tokens -h lists the flags"}},
		{[]string{"tokens", "list", "--nope=1"}, []string{"unknown flag: --nope=1", "tokenemu tokens -h lists the flags"}},
		{[]string{"-bogus", "tokens", "list"}, []string{"unknown flag: -bogus", "tokenemu serve -h lists the flags"}},
		{[]string{"clock", "advance"}, []string{"clock advance needs a DURATION"}},
		{[]string{"clock", "-url"}, []string{"flag needs an argument", "tokenemu clock -h"}},
		{[]string{"-nope"}, []string{"unknown flag: -nope", "tokenemu serve -h lists the flags"}},
		{[]string{"version", "extra"}, []string{"takes no arguments"}},
	} {
		code, out, errOut := runWith(nil, c.args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d", c.args, code, exitUsage)
		}
		for _, w := range c.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%v: stderr %q lacks %q", c.args, errOut, w)
			}
		}
		if lines := strings.Count(strings.TrimSpace(errOut), "\n") + 1; lines > 4 || out != "" {
			t.Errorf("%v: %d lines on stderr, stdout %q; want a short message only", c.args, lines, out)
		}
	}
}

// Each command has its own help, and the shells get completion scripts.
func TestCLIHelpAndCompletion(t *testing.T) {
	t.Parallel()
	for args, want := range map[string][]string{
		"-h":                   {"tokens", "scenarios", "completion", "serve"},
		"tokens -h":            {"--vendor", "--principal", "--url", "List, expire, revoke and issue tokens"},
		"scenarios -h":         {"active", "validate", "--replace"},
		"serve -h":             {"-addr", "-brass-rate-limit", "TOKENEMU_<NAME>"},
		"completion bash":      {"bash completion"},
		"completion zsh":       {"compdef"},
		"completion fish":      {"complete -c tokenemu"},
		"help journal":         {"--follow"},
		"__complete tokens ''": {"list", "expire", "issue"},
	} {
		code, out, errOut := runWith(nil, strings.Fields(strings.ReplaceAll(args, "''", " "))...)
		if args == "__complete tokens ''" {
			code, out, errOut = runWith(nil, "__complete", "tokens", "")
		}
		if code != exitOK {
			t.Errorf("%s: exit %d %s", args, code, errOut)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: stdout lacks %q:\n%s", args, w, out)
			}
		}
	}
}

// -json works on the offline scenarios commands too.
func TestCLIScenariosJSON(t *testing.T) {
	t.Parallel()
	code, out, errOut := runWith(nil, "scenarios", "list", "-json")
	var list []struct{ Name, Description string }
	if code != exitOK || json.Unmarshal([]byte(out), &list) != nil || len(list) < 10 {
		t.Errorf("scenarios list -json: exit %d %q %s", code, out, errOut)
	}
	code, out, _ = runWith(nil, "scenarios", "show", "clock-skew", "--json")
	var s struct{ Name string }
	if code != exitOK || json.Unmarshal([]byte(out), &s) != nil || s.Name != "clock-skew" {
		t.Errorf("scenarios show -json: exit %d %q", code, out)
	}
	file := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(file, []byte("name: b\nrules:\n  - match: {vendor: brass, operation: logn}\n    action: {status: 503}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runWith(nil, "scenarios", "validate", file, "-json")
	var results []struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if code != exitFail || json.Unmarshal([]byte(out), &results) != nil || len(results) != 1 || results[0].OK || !strings.Contains(results[0].Error, "logn") {
		t.Errorf("scenarios validate -json: exit %d %q", code, out)
	}
}

// -tenant points every admin command at one tenant.
func TestCLITenant(t *testing.T) {
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
	vars := map[string]string{"TOKENEMU_URL": srv.URL}
	if code, out, errOut := runWith(vars, "tokens", "issue", "-tenant", "team-a", "-vendor", "passport", "-principal", "demo-client"); code != exitOK || out == "" {
		t.Fatalf("issue in a tenant: %d %s %s", code, out, errOut)
	}
	vars["TOKENEMU_TENANT"] = "team-a"
	if _, out, _ := runWith(vars, "tokens", "list"); !strings.Contains(out, "demo-client") {
		t.Errorf("the tenant's tokens: %s", out)
	}
	delete(vars, "TOKENEMU_TENANT")
	if _, out, _ := runWith(vars, "tokens", "list"); !strings.Contains(out, "no tokens") {
		t.Errorf("the root's tokens: %s", out)
	}
	if code, _, errOut := runWith(vars, "clock", "-tenant", "nobody"); code != exitFail || !strings.Contains(errOut, "no tenant") {
		t.Errorf("an unknown tenant: %d %s", code, errOut)
	}
}
