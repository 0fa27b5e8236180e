package testkit_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The container kit is a module of its own (testkit/container) so that users
// of the in-process kit never download testcontainers-go. go test ./... does
// not descend into a nested module, so this test runs its tests (the
// conformance suite in both modes) as part of the root module's.
func TestContainerModule(t *testing.T) {
	t.Parallel()
	goTool := goCommand(t)
	cmd := exec.Command(goTool, "test", "-race", "-count=1", "./...")
	cmd.Dir = "container"
	// No TESTCONTAINERS_RYUK_DISABLED: the kit finds out that the reaper
	// cannot be pulled here, and says so.
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go test in testkit/container: %v\n%s", err, out)
	}
	t.Logf("testkit/container:\n%s", out)
}

// A module that imports only testkit builds without testcontainers-go (it is
// not even in its go.sum), and its subtests fail alone.
func TestInProcessKitLeavesTestcontainersOut(t *testing.T) {
	t.Parallel()
	goTool := goCommand(t)
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.test/consumer\n\ngo 1.26.0\n\nrequire github.com/tokenemu/tokenemu v0.0.0\n\nreplace github.com/tokenemu/tokenemu => "+root+"\n")
	write("consumer_test.go", `package consumer

import (
	"testing"

	"github.com/tokenemu/tokenemu/testkit"
)

func TestKit(t *testing.T) {
	kit := testkit.Start(t)
	if kit.PassKitLogin(t) == "" {
		t.Fatal("no token")
	}
}
`)
	write("subtests_test.go", `package consumer

import (
	"os"
	"testing"
	"time"

	"github.com/tokenemu/tokenemu/testkit"
)

// Run only by the test that expects it to fail.
func TestSubtests(t *testing.T) {
	if os.Getenv("SUBTESTS") == "" {
		return
	}
	kit := testkit.Start(t)
	t.Run("bad", func(t *testing.T) {
		kit.In(t).Expire("no-such-token")
		t.Error("not reached")
	})
	t.Run("after", func(t *testing.T) {
		kit.In(t).Clock.Advance(time.Minute)
	})
}
`)
	run := func(env string, args ...string) ([]byte, error) {
		cmd := exec.Command(goTool, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", env)
		return cmd.CombinedOutput()
	}
	for _, args := range [][]string{{"mod", "tidy"}, {"test", "-count=1", "./..."}} {
		if out, err := run("", args...); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// A control that fails in a subtest fails that subtest, at its line,
	// prints the journal, and the next subtest runs.
	out, err := run("SUBTESTS=1", "test", "-count=1", "-run", "TestSubtests", "-v", "./...")
	if err == nil {
		t.Fatalf("the failing subtest passed:\n%s", out)
	}
	for _, want := range []string{"--- FAIL: TestSubtests/bad", "subtests_test.go:18: testkit: expire: POST /_emulator/tokens/expire: 404",
		"--- PASS: TestSubtests/after", "the emulator's journal, last entries", "/_emulator/tokens/expire → 404"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the subtests' output lacks %q:\n%s", want, out)
		}
	}
	for _, bad := range []string{"panic", "not reached"} {
		if strings.Contains(string(out), bad) {
			t.Errorf("the subtests' output says %q:\n%s", bad, out)
		}
	}
	sum, err := os.ReadFile(filepath.Join(dir, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(sum), "testcontainers") || strings.Contains(string(sum), "moby") {
		t.Errorf("the consumer's go.sum names testcontainers or moby:\n%s", sum)
	}
}

func goCommand(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	return p
}
