package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The release's module proxy serves both modules to a module outside the
// repository, with no replace directive: one that uses only the in-process
// kit (and never downloads testcontainers-go), and one that also shares one
// container across its tests from a TestMain, and whose failing control in
// a subtest fails that subtest alone. The modules are made from HEAD (a
// clean checkout in CI).
func TestOutsideModuleFromTheReleaseProxy(t *testing.T) {
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	// The container user's tests need a Docker engine: as every container
	// test, this one skips without one, unless CI=true.
	if err := exec.Command("docker", "info").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and no Docker engine answers: %v", err)
		}
		t.Skipf("no Docker engine answers (%v); the outside-module proof runs in CI", err)
	}
	root, err := gitOut(".", "rev-parse", "--show-toplevel")
	if err != nil {
		t.Fatal(err)
	}
	commit, err := gitOut(root, "rev-parse", "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	version := lockstepVersion(t, root, commit)
	tmp := t.TempDir()
	proxy := filepath.Join(tmp, "proxy")
	if _, err := Proxy(root, commit, version, proxy); err != nil {
		t.Fatal(err)
	}
	// Everything else comes from the machine's module cache (a proxy
	// layout of its own) or, failing that, its usual proxy. A module cache
	// of the test's own keeps an earlier commit's v0.1.0 out.
	cacheDir := goEnv(t, goTool, "GOMODCACHE")
	env := append(os.Environ(),
		"GOFLAGS=", "GONOSUMDB=github.com/tokenemu", "GOMODCACHE="+filepath.Join(tmp, "modcache"),
		"GOPROXY=file://"+proxy+",file://"+filepath.Join(cacheDir, "cache", "download")+","+goEnv(t, goTool, "GOPROXY"))
	gorun := func(dir string, extra []string, args ...string) ([]byte, error) {
		cmd := exec.Command(goTool, args...)
		cmd.Dir = dir
		cmd.Env = append(env, extra...)
		return cmd.CombinedOutput()
	}
	must := func(dir string, args ...string) {
		t.Helper()
		if out, err := gorun(dir, nil, args...); err != nil {
			t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), filepath.Base(dir), err, out)
		}
	}
	write := func(dir, name, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// An in-process user.
	inproc := filepath.Join(tmp, "inproc")
	write(inproc, "go.mod", "module example.test/inproc\n\ngo 1.26.0\n")
	write(inproc, "kit_test.go", inProcessTest)
	must(inproc, "get", "github.com/tokenemu/tokenemu@"+version)
	must(inproc, "mod", "tidy")
	must(inproc, "test", "-count=1", "./...")

	// A container user: a TestMain shares one container.
	ctr := filepath.Join(tmp, "ctr")
	write(ctr, "go.mod", "module example.test/ctr\n\ngo 1.26.0\n")
	write(ctr, "kit_test.go", inProcessTest)
	write(ctr, "shared/shared_test.go", sharedContainerTest)
	must(ctr, "get", "github.com/tokenemu/tokenemu@"+version, "github.com/tokenemu/tokenemu/testkit/container@"+version)
	must(ctr, "mod", "tidy")
	must(ctr, "test", "-count=1", "./...")
	// Subtests with failing controls fail alone, at the caller's line.
	out, err := gorun(ctr, []string{"SUBTESTS=1"}, "test", "-count=1", "-run", "TestSubtests", "-v", ".")
	if err == nil {
		t.Fatalf("the failing subtest passed:\n%s", out)
	}
	for _, want := range []string{"--- FAIL: TestSubtests/bad", "kit_test.go:30: testkit: revoke:", "--- PASS: TestSubtests/after"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("the subtests' output lacks %q:\n%s", want, out)
		}
	}

	for _, dir := range []string{inproc, ctr} {
		mod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
		if bytes.Contains(mod, []byte("replace")) {
			t.Errorf("%s/go.mod has a replace directive:\n%s", filepath.Base(dir), mod)
		}
	}
	inSum, _ := os.ReadFile(filepath.Join(inproc, "go.sum"))
	ctrSum, _ := os.ReadFile(filepath.Join(ctr, "go.sum"))
	if bytes.Contains(inSum, []byte("testcontainers")) {
		t.Error("the in-process user's go.sum names testcontainers")
	}
	t.Logf("go.sum: in-process user %d lines (%d bytes), container user %d lines (%d bytes)",
		bytes.Count(inSum, []byte("\n")), len(inSum), bytes.Count(ctrSum, []byte("\n")), len(ctrSum))
}

// lockstepVersion is the version the container module requires the root at.
func lockstepVersion(t *testing.T, root, commit string) string {
	t.Helper()
	b, err := gitShow(root, commit, containerDir+"/go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == rootModule {
			return f[1]
		}
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "require" && f[1] == rootModule {
			return f[2]
		}
	}
	t.Fatalf("%s/go.mod does not require %s", containerDir, rootModule)
	return ""
}

func goEnv(t *testing.T, goTool, name string) string {
	t.Helper()
	b, err := exec.Command(goTool, "env", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

const inProcessTest = `package consumer

import (
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/tokenemu/tokenemu/testkit"
)

func TestInProcess(t *testing.T) {
	kit := testkit.Start(t)
	c := kit.HTTPClient(t, testkit.Passport)
	resp, err := c.Get(kit.URL(testkit.Passport) + "/v1/core/accounts")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("accounts: %v %v", resp, err)
	}
	resp.Body.Close()
	kit.Clock.Advance(25 * time.Hour)
}

// Run only by the test that expects it to fail.
func TestSubtests(t *testing.T) {
	if os.Getenv("SUBTESTS") == "" {
		return
	}
	kit := testkit.Start(t)
	t.Run("bad", func(t *testing.T) {
		kit.In(t).Revoke("no-such-token")
		t.Error("not reached")
	})
	t.Run("after", func(t *testing.T) {
		kit.In(t).Clock.Advance(time.Minute)
	})
}
`

const sharedContainerTest = `package shared

import (
	"context"
	"log"
	"os"
	"testing"

	"github.com/tokenemu/tokenemu/testkit"
	"github.com/tokenemu/tokenemu/testkit/container"
)

var shared *container.Kit

func TestMain(m *testing.M) {
	var err error
	if shared, err = container.Run(context.Background(), testkit.WithSeed(3)); err != nil {
		log.Fatal(err)
	}
	code := m.Run()
	if err := shared.Terminate(context.Background()); err != nil {
		log.Print(err)
	}
	os.Exit(code)
}

func TestOne(t *testing.T) {
	kit := shared.In(t)
	kit.Reset()
	if kit.PassKitLogin(t) == "" {
		t.Fatal("no token")
	}
}

func TestTwo(t *testing.T) {
	kit := shared.In(t)
	kit.Reset()
	if n := len(kit.Tokens("", "")); n != 0 {
		t.Fatalf("%d tokens after a reset", n)
	}
}
`
