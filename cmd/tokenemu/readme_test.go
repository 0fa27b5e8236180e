package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The README's snippets are run, every one, so that they cannot rot.
//
// Shell blocks run with bash (set -euo pipefail) from the repository's root,
// with the tokenemu binary first on PATH, TOKEN set to a live Passport token
// and TOKENEMU_URL to an emulator started for them; "127.0.0.1:8080" is
// rewritten to that emulator's address and "curl -s" runs as "curl -sf", so
// that an HTTP error fails the block. A line that runs a server (go run
// ./cmd/tokenemu, ./tokenemu, docker run) runs on a port of its own until
// /_emulator/healthz answers there; a -follow line runs for two seconds; the
// line "go test -race ./..." is this suite itself and is not run again.
//
// Go blocks are compiled and run as tests in a module of their own that
// uses this checkout: a block with a func is a file; a block of statements
// is the body of a test.
//
// Links must lead to a file of the repository.

type snippet struct {
	lang, text string
	line       int
}

func readmeSnippets(t *testing.T) (string, []snippet) {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var out []snippet
	var cur *snippet
	for i, line := range strings.Split(string(b), "\n") {
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &snippet{lang: strings.TrimPrefix(line, "```"), line: i + 1}
		case cur != nil && strings.HasPrefix(line, "```"):
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		}
	}
	if cur != nil {
		t.Fatalf("README.md:%d: a code block is not closed", cur.line)
	}
	return root, out
}

func TestREADMELinks(t *testing.T) {
	t.Parallel()
	root, _ := readmeSnippets(t)
	b, _ := os.ReadFile(filepath.Join(root, "README.md"))
	links := regexp.MustCompile(`\]\(([^)\s]+)\)`).FindAllStringSubmatch(string(b), -1)
	if len(links) == 0 {
		t.Fatal("no links found")
	}
	for _, m := range links {
		target, _, _ := strings.Cut(m[1], "#")
		switch {
		case strings.Contains(target, "://"), strings.HasPrefix(target, "/"), strings.HasPrefix(filepath.Clean(target), ".."):
			t.Errorf("README links outside the repository: %s", m[1])
		case target == "":
		default:
			if _, err := os.Stat(filepath.Join(root, target)); err != nil {
				t.Errorf("README links to %s, which is not in the repository", m[1])
			}
		}
	}
}

func TestREADMEShellSnippets(t *testing.T) {
	t.Parallel()
	root, snippets := readmeSnippets(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "tokenemu")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	base := startForReadme(t, bin)
	token := passportToken(t, base)
	env := append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"TOKEN="+token, "TOKENEMU_URL="+base, "GOFLAGS=")
	addr := strings.TrimPrefix(base, "http://")
	ran := 0
	for _, s := range snippets {
		if s.lang != "sh" {
			continue
		}
		rewrite := func(l string) string {
			return strings.ReplaceAll(strings.ReplaceAll(l, "127.0.0.1:8080", addr), "curl -s ", "curl -sf ")
		}
		lines := logicalLines(s.text)
		if slicesAny(lines, isServer) {
			for _, l := range lines {
				switch {
				case strings.HasPrefix(l, "go test -race ./..."):
					// This suite itself.
				case isServer(l):
					runServer(t, root, env, s.line, l) // on a port of its own
				default:
					runBash(t, root, env, s.line, rewrite(l))
				}
				ran++
			}
			continue
		}
		lines = logicalLines(rewrite(s.text))
		var script []string
		for _, l := range lines {
			if strings.Contains(l, " -follow") {
				// It follows until interrupted: two seconds of it.
				l, _, _ = strings.Cut(l, "#")
				l = "timeout 2 " + l + " || [ $? -eq 124 ]"
			}
			script = append(script, l)
		}
		runBash(t, root, env, s.line, strings.Join(script, "\n"))
		ran++
	}
	if ran < 6 {
		t.Errorf("ran %d shell snippets; the README has more", ran)
	}
}

// logicalLines joins lines continued with a backslash and drops blank ones.
func logicalLines(text string) []string {
	var out []string
	cur := ""
	for _, l := range strings.Split(text, "\n") {
		if strings.HasSuffix(l, "\\") {
			cur += strings.TrimSuffix(l, "\\") + " "
			continue
		}
		if l = cur + l; strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
		cur = ""
	}
	return out
}

func slicesAny(xs []string, f func(string) bool) bool {
	for _, x := range xs {
		if f(x) {
			return true
		}
	}
	return false
}

// isServer reports whether a line runs a server that does not return.
func isServer(l string) bool {
	cmd, _, _ := strings.Cut(l, "#")
	cmd = strings.TrimSpace(cmd)
	return cmd == "go run ./cmd/tokenemu" || cmd == "./tokenemu" || strings.Contains(cmd, "docker run ")
}

func runBash(t *testing.T, root string, env []string, line int, script string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", "set -euo pipefail\n"+script)
	cmd.Dir, cmd.Env = root, env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("README.md:%d: %v\n%s\n--- output:\n%s", line, err, script, out)
	}
}

// runServer runs a server line on a free port until its health check answers.
func runServer(t *testing.T, root string, env []string, line int, l string) {
	t.Helper()
	if strings.Contains(l, "docker ") && !dockerAnswers() {
		if os.Getenv("CI") == "true" {
			t.Errorf("README.md:%d: CI=true and no Docker engine answers", line)
		}
		return // outside CI, without Docker, the Docker snippet cannot run
	}
	port := freePort(t)
	l = strings.ReplaceAll(l, "127.0.0.1:8080:8080", fmt.Sprintf("127.0.0.1:%d:8080", port))
	cmd := exec.Command("bash", "-c", l)
	cmd.Dir = root
	cmd.Env = append(env, fmt.Sprintf("TOKENEMU_ADDR=127.0.0.1:%d", port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) // the group: go run's child, docker's client
		<-exited
		// The server itself (go run's child, the container) lets go of
		// the port on its own time: wait for that, so the next one can
		// have it.
		for range 200 {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err != nil {
				return
			}
			c.Close()
			time.Sleep(50 * time.Millisecond)
		}
	}()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/_emulator/healthz", port))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-exited:
			t.Errorf("README.md:%d: %s exited before it answered /_emulator/healthz:\n%s", line, l, out.String())
			return
		case <-time.After(50 * time.Millisecond): // polling a server that is starting
		}
	}
	t.Errorf("README.md:%d: %s never answered /_emulator/healthz:\n%s", line, l, out.String())
}

func dockerAnswers() bool { return exec.Command("docker", "info").Run() == nil }

// freePort is a free port below the ephemeral range (32768 and up on Linux):
// polling a port of that range that nothing listens on yet can connect the
// poll's socket to itself (TCP simultaneous open), which then holds the port
// the server was to listen on.
func freePort(t *testing.T) int {
	t.Helper()
	for range 100 {
		port := 20000 + rand.IntN(12000)
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			ln.Close()
			return port
		}
	}
	t.Fatal("no free port from 20000 to 32000")
	return 0
}

// startForReadme runs the binary on a free port for the snippets and returns its URL.
func startForReadme(t *testing.T, bin string) string {
	t.Helper()
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	re := regexp.MustCompile(`listening on (http://[0-9.:]+)`)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			go func() {
				for sc.Scan() { // drain the rest of the banner
				}
			}()
			return m[1]
		}
	}
	t.Fatal("the emulator printed no banner")
	return ""
}

func passportToken(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Post(base+"/passport/v1/iam/oauth/tokens", "application/json",
		strings.NewReader(`{"client_id":"demo-client","client_secret":"demo-secret","grant_type":"client_credentials"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	m := regexp.MustCompile(`"access_token":"([^"]+)"`).FindStringSubmatch(b.String())
	if m == nil {
		t.Fatalf("no Passport token: %s", b.String())
	}
	return m[1]
}

func TestREADMEGoSnippets(t *testing.T) {
	t.Parallel()
	root, snippets := readmeSnippets(t)
	dir := t.TempDir()
	var files, bodies []string
	for _, s := range snippets {
		if s.lang != "go" {
			continue
		}
		if strings.Contains(s.text, "\nfunc ") {
			files = append(files, s.text)
		} else {
			bodies = append(bodies, s.text)
		}
	}
	if len(files)+len(bodies) < 2 {
		t.Fatalf("found %d Go snippets, want the README's 2 or more", len(files)+len(bodies))
	}
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", fmt.Sprintf("module example.test/readme\n\ngo 1.26.0\n\nrequire (\n\tgithub.com/tokenemu/tokenemu v0.1.0\n\tgithub.com/tokenemu/tokenemu/testkit/container v0.1.0\n)\n\nreplace (\n\tgithub.com/tokenemu/tokenemu => %s\n\tgithub.com/tokenemu/tokenemu/testkit/container => %s\n)\n",
		root, filepath.Join(root, "testkit", "container")))
	// What every snippet may use without importing it itself.
	const header = "package readme\n\nimport (\n\t\"net/http\"\n\t\"testing\"\n\t\"time\"\n\n\t\"github.com/tokenemu/tokenemu/testkit\"\n\t%s\n)\n\nvar _, _, _ = http.MethodGet, time.Second, testkit.Passport\n\n"
	for i, f := range files {
		imports, rest := splitImports(f)
		write(fmt.Sprintf("file%d_test.go", i), fmt.Sprintf(header, imports)+rest)
	}
	for i, b := range bodies {
		imports, rest := splitImports(b)
		write(fmt.Sprintf("body%d_test.go", i), fmt.Sprintf(header, imports)+fmt.Sprintf("func TestReadmeBody%d(t *testing.T) {\n%s}\n", i, rest))
	}
	for _, args := range [][]string{{"mod", "tidy"}, {"test", "-count=1", "."}} {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s on the README's Go snippets: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// splitImports takes a snippet's import lines out (the testkit import, which
// the header has, dropped) and returns them and the rest.
func splitImports(s string) (string, string) {
	var imports, rest []string
	for _, l := range strings.Split(s, "\n") {
		if p, ok := strings.CutPrefix(l, "import "); ok {
			if p != `"github.com/tokenemu/tokenemu/testkit"` {
				imports = append(imports, p)
			}
			continue
		}
		rest = append(rest, l)
	}
	return strings.Join(imports, "\n\t"), strings.Join(rest, "\n")
}
