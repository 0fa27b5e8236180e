package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/tokenemu/tokenemu/emulator"
)

// TestMain lets a test start this test binary as the tokenemu command, so
// that it can be killed like the real one.
func TestMain(m *testing.M) {
	if os.Getenv("TOKENEMU_TEST_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// process is tokenemu running as a child process.
type process struct {
	cmd    *exec.Cmd
	base   string
	stderr *strings.Builder // read once it has exited
}

func startProcess(t *testing.T, args ...string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "-addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), "TOKENEMU_TEST_RUN_MAIN=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &strings.Builder{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			return &process{cmd: cmd, base: m[1], stderr: stderr}
		}
	}
	_ = cmd.Wait()
	t.Fatalf("tokenemu did not start: %s", stderr.String())
	return nil
}

func (p *process) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil { // SIGKILL: no shutdown, no last save
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
}

func (p *process) call(t *testing.T, method, path, auth, contentType, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, p.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// issued is a token value and the request that must accept it.
type issued struct {
	vendor, value, path, auth string
	hashed                    string // what the store hashes, when not value
}

func (i issued) sha() string {
	if i.hashed != "" {
		return sha(i.hashed)
	}
	return sha(i.value)
}

// saves reads how many times the process has saved its state file.
func (p *process) saves(t *testing.T) float64 {
	t.Helper()
	st, m := p.call(t, "GET", "/_emulator/state", "", "", "")
	if st != 200 {
		t.Fatalf("state: %d %v", st, m)
	}
	return m["state_file"].(map[string]any)["saves"].(float64)
}

func (p *process) passport(t *testing.T) issued {
	t.Helper()
	st, m := p.call(t, "POST", "/passport/v1/iam/oauth/tokens", "", "application/x-www-form-urlencoded",
		url.Values{"grant_type": {"client_credentials"}, "client_id": {"demo-client"}, "client_secret": {"demo-secret"}}.Encode())
	if st != 200 {
		t.Fatalf("passport token: %d %v", st, m)
	}
	v := m["access_token"].(string)
	return issued{vendor: "passport", value: v, path: "/passport/v1/core/accounts", auth: "Bearer " + v}
}

// savedHashes reads the state file and returns the token hashes in it. The
// file must be whole: valid JSON of the current format.
func savedHashes(t *testing.T, file string) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Format  string
		Version int
		Tokens  []struct{ SHA256 string }
	}
	if err := json.Unmarshal(raw, &st); err != nil || st.Format != "tokenemu-state" || st.Version != emulator.StateVersion {
		t.Fatalf("state file is not whole (%d bytes): %v", len(raw), err)
	}
	out := map[string]bool{}
	for _, tk := range st.Tokens {
		out[tk.SHA256] = true
	}
	return out
}

func sha(v string) string { s := sha256.Sum256([]byte(v)); return hex.EncodeToString(s[:]) }

// TestStateSurvivesSIGKILL kills tokenemu with SIGKILL while it issues tokens
// and saves its state every 10 ms, three times over, and restarts it each
// time: the file is always whole, and every token in it (every token issued
// before the last save) is accepted by the restarted process, while revoked
// ones stay refused.
func TestStateSurvivesSIGKILL(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "state.json")
	args := []string{"-state", file, "-state-interval", "10ms"}
	p := startProcess(t, args...)

	// One token of each kind, and a revoked one, saved explicitly.
	var all []issued
	all = append(all, p.passport(t))
	revoked := p.passport(t)
	if st, m := p.call(t, "POST", "/_emulator/tokens/revoke", "", "application/json", fmt.Sprintf(`{"token":%q}`, revoked.value)); st != 200 {
		t.Fatalf("revoke: %d %v", st, m)
	}
	for _, c := range []struct{ vendor, principal, kind, path, scheme string }{
		{"passkit", "demo@passkit.test", "jwt", "/passkit/user/profile", ""},
		{"passkit", "demo@passkit.test", "longlived", "/passkit/user/profile", ""},
		{"brass", "demo@brass.test", "user", "/brass/banking/accounts", "Bearer "},
		{"brass", "demo@brass.test", "pat", "/brass/banking/accounts", "Bearer "},
		{"teletracker", "demo@teletracker.test", "", "/teletracker/reports/call-data?account_id=1001&date=2026-01-01", "Bearer "},
	} {
		body := fmt.Sprintf(`{"vendor":%q,"principal":%q,"kind":%q}`, c.vendor, c.principal, c.kind)
		if c.kind == "" {
			body = fmt.Sprintf(`{"vendor":%q,"principal":%q}`, c.vendor, c.principal)
		}
		st, m := p.call(t, "POST", "/_emulator/tokens/issue", "", "application/json", body)
		if st != 201 && st != 200 {
			t.Fatalf("issue %s %s: %d %v", c.vendor, c.kind, st, m)
		}
		v := m["token"].(string)
		all = append(all, issued{vendor: c.vendor, value: v, path: c.path, auth: c.scheme + v})
		if c.kind == "pat" {
			// The store keeps the SHA-256 of the part after "N|": so does
			// the state file. (Hashing the whole value left this token out,
			// and the test passed only when a timed save caught a login.)
			_, secret, _ := strings.Cut(v, "|")
			all[len(all)-1].hashed = secret
		}
	}
	var out, errOut strings.Builder
	if code := run(t.Context(), []string{"state", "save", "-url", p.base}, &out, &errOut, env(nil), keepProcs); code != exitOK ||
		!strings.Contains(out.String(), "saved "+file) {
		t.Fatalf("tokenemu state save: exit %d, %q %q", code, out.String(), errOut.String())
	}

	for round := range 3 {
		// Issue while the saver runs; wait for two more saves, so that one
		// began after the last login (an event, not a duration); then kill
		// without warning.
		for range 150 {
			all = append(all, p.passport(t))
		}
		for done, now := p.saves(t), p.saves(t); now < done+2; now = p.saves(t) {
			runtime.Gosched()
		}
		p.kill(t)
		saved := savedHashes(t, file)
		p = startProcess(t, args...)
		accepted := 0
		for _, tok := range all {
			if !saved[tok.sha()] {
				continue // issued after the last save: lost with the kill
			}
			if st, m := p.call(t, "GET", tok.path, tok.auth, "", ""); st != 200 {
				t.Fatalf("round %d: saved %s token refused after restart: %d %v", round, tok.vendor, st, m)
			}
			accepted++
		}
		if accepted < 6+150*(round+1) {
			t.Fatalf("round %d: only %d saved tokens, want every one issued before the last save", round, accepted)
		}
		if st, _ := p.call(t, "GET", revoked.path, revoked.auth, "", ""); st != 401 {
			t.Fatalf("round %d: revoked token after restart: %d", round, st)
		}
		t.Logf("round %d: %d of %d tokens were saved before the kill and all were accepted after it", round, accepted, len(all))
	}
	// A graceful stop saves one last time and leaves no temporary file.
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("graceful stop: %v\n%s", err, p.stderr)
	}
	savedHashes(t, file)
	if matches, _ := filepath.Glob(file + ".tmp-*"); len(matches) > 0 {
		t.Errorf("temporary files left: %v", matches)
	}
}

// A state file that does not fit stops the start with exit 2 and a message
// that names the file and the way out; -state-fresh starts fresh.
func TestServeRefusesABadStateFile(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(file, []byte(`{"format":"tokenemu-state","version":99}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut strings.Builder
	code := run(t.Context(), []string{"serve", "-addr", "127.0.0.1:0", "-state", file}, &out, &errOut, env(nil), keepProcs)
	if code != exitUsage || !strings.Contains(errOut.String(), file) || !strings.Contains(errOut.String(), "version 99") ||
		!strings.Contains(errOut.String(), "-state-fresh") {
		t.Errorf("exit %d, stderr %q; want 2 naming the file, the version and -state-fresh", code, errOut.String())
	}
	p := startProcess(t, "-state", file, "-state-fresh")
	if st, _ := p.call(t, "GET", "/_emulator/healthz", "", "", ""); st != 200 {
		t.Errorf("with -state-fresh: healthz %d", st)
	}
	// Without -state, a save is refused.
	q := startProcess(t)
	out.Reset()
	errOut.Reset()
	if code := run(t.Context(), []string{"state", "save", "-url", q.base}, &out, &errOut, env(nil), keepProcs); code != exitFail ||
		!strings.Contains(errOut.String(), "no state file") {
		t.Errorf("state save without -state: exit %d, %q", code, errOut.String())
	}
}

// mountTmpfs mounts a tmpfs of the given size with the given options on a
// new directory, and unmounts it when the test ends. Mounting needs root; CI
// runs as root, so there a failure to mount fails the test.
func mountTmpfs(t *testing.T, opts string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("mount tmpfs (%s): %v %s", opts, err, out)
		}
		t.Skipf("a small filesystem cannot be mounted here (mount needs root): %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
	return dir
}

// A full disk: the save fails, healthz says degraded, the state endpoint
// counts the failure, and a stop whose final save fails exits non-zero.
// Before, healthz stayed 200 and the process exited 0, losing the tokens.
func TestStateOnAFullDisk(t *testing.T) {
	t.Parallel()
	dir := mountTmpfs(t, "size=64k")
	file := filepath.Join(dir, "state.json")
	p := startProcess(t, "-state", file, "-state-interval", "1h")
	if st, m := p.call(t, "POST", "/_emulator/state/save", "", "application/json", ""); st != 200 {
		t.Fatalf("first save: %d %v", st, m)
	}
	for range 400 { // about 200 KB of state: more than the disk holds
		p.passport(t)
	}
	if st, m := p.call(t, "POST", "/_emulator/state/save", "", "application/json", ""); st != 500 || m["error"] != "save_failed" {
		t.Errorf("save on a full disk: %d %v, want 500 save_failed", st, m)
	}
	if st, m := p.call(t, "GET", "/_emulator/healthz", "", "", ""); st != 503 || m["status"] != "degraded" || !strings.Contains(fmt.Sprint(m["error"]), "no space") {
		t.Errorf("healthz after a failed save: %d %v, want 503 degraded", st, m)
	}
	if st, m := p.call(t, "GET", "/_emulator/state", "", "", ""); st != 200 {
		t.Errorf("state: %d %v", st, m)
	} else if sf := m["state_file"].(map[string]any); sf["failures"].(float64) < 1 || sf["saves"].(float64) != 1 || sf["last_error"] == nil {
		t.Errorf("state_file: %v", sf)
	}
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := p.cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitFail {
		t.Errorf("stop with a failing final save: %v, want exit %d", err, exitFail)
	}
	if matches, _ := filepath.Glob(file + ".tmp-*"); len(matches) > 0 {
		t.Errorf("temporary files left: %v", matches)
	}
}

// A directory that takes no file stops the start, before anything is
// served: the first save would fail.
func TestStateInAReadOnlyDirectory(t *testing.T) {
	t.Parallel()
	dir := mountTmpfs(t, "size=64k,ro")
	var out, errOut strings.Builder
	code := run(t.Context(), []string{"serve", "-addr", "127.0.0.1:0", "-state", filepath.Join(dir, "state.json")}, &out, &errOut, env(nil), keepProcs)
	if code != exitUsage || !strings.Contains(errOut.String(), "cannot be written") {
		t.Errorf("exit %d, %q; want 2 saying the directory cannot be written", code, errOut.String())
	}
}

// Two processes on one state file: the second is refused at start with exit
// 2. Before, they overwrote each other (50 tokens became 3).
func TestStateFileIsLocked(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "state.json")
	p := startProcess(t, "-state", file)
	var out, errOut strings.Builder
	code := run(t.Context(), []string{"serve", "-addr", "127.0.0.1:0", "-state", file}, &out, &errOut, env(nil), keepProcs)
	if code != exitUsage || !strings.Contains(errOut.String(), "in use by another tokenemu") {
		t.Errorf("second instance: exit %d, %q", code, errOut.String())
	}
	// Once the first stops, the file is free.
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	q := startProcess(t, "-state", file)
	if st, _ := q.call(t, "GET", "/_emulator/healthz", "", "", ""); st != 200 {
		t.Errorf("after the first stopped: healthz %d", st)
	}
}

// A symlinked -state path stays a link: the saves replace the file it names.
func TestStateFollowsASymlink(t *testing.T) {
	t.Parallel()
	real, links := t.TempDir(), t.TempDir()
	target := filepath.Join(real, "state.json")
	link := filepath.Join(links, "state.json")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	p := startProcess(t, "-state", link)
	tok := p.passport(t)
	if st, m := p.call(t, "POST", "/_emulator/state/save", "", "application/json", ""); st != 200 || m["file"] != target {
		t.Errorf("save: %d %v, want the link's target", st, m)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the -state path is no longer a link: %v %v", fi, err)
	}
	if !savedHashes(t, target)[sha(tok.value)] {
		t.Error("the link's target does not hold the token")
	}
}

// A state file whose tenants cannot all be made stops the start with exit 2,
// a message with the way out, and the file as it was: saving it without
// them would lose them.
func TestServeKeepsAStateFileItsTenantsDoNotFit(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "state.json")
	root, err := emulator.New(emulator.Config{State: emulator.StateConfig{File: file}})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := emulator.NewTenants(root, emulator.Config{}, emulator.TenantLimits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"one", "two"} {
		if _, err := ts.Create(emulator.TenantSpec{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ts.Close(); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runWith(nil, "serve", "-addr", "127.0.0.1:0", "-state", file, "-max-tenants", "1")
	if code != exitUsage || !strings.Contains(errOut, "more than -max-tenants") || !strings.Contains(errOut, "-state-fresh") || strings.Contains(out, "listening on") {
		t.Errorf("exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	if after, _ := os.ReadFile(file); !bytes.Equal(after, before) {
		t.Errorf("the state file changed: %d bytes, then %d", len(before), len(after))
	}
}
