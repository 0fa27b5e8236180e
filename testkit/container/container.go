// Package container runs tokenemu in a Docker container through
// testcontainers-go and returns the same *testkit.Kit as testkit.Start.
//
//	kit := container.Start(t)                 // builds the image once per test process
//	cfg := kit.PassportClientCredentials()
//
// The image is built from this module's source: a static binary (CGO off,
// GOOS=linux) on FROM scratch (docker/Dockerfile), tagged by the hash of the
// binary and the Dockerfile, so nothing is pulled at any step. It is a module
// of its own so that users of the in-process kit never download
// testcontainers-go.
//
// testcontainers' reaper (Ryuk) removes the containers of a test process
// that dies. Where its image is neither in the engine nor can be pulled (no
// registry at hand), the kit switches it off for the process, logs one line
// saying so, and removes its containers itself: at the end of the test
// (Start) or at Terminate (Run).
package container

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dockercontainer "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/tokenemu/tokenemu/docker"
	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/testkit"
	"github.com/tokenemu/tokenemu/testkit/internal/kitopt"
)

// Repository is the name of the images the kit builds; the tag is a content hash.
const Repository = "tokenemu.invalid/tokenemu"

const port = "8080/tcp"

// Kit is an emulator running in a container, not bound to any test: a
// TestMain starts one with Run and shares it, each test taking a
// *testkit.Kit of it with In, and ends it with Terminate.
//
//	var shared *container.Kit
//
//	func TestMain(m *testing.M) {
//		var err error
//		if shared, err = container.Run(context.Background()); err != nil {
//			log.Fatal(err)
//		}
//		code := m.Run()
//		_ = shared.Terminate(context.Background())
//		os.Exit(code)
//	}
//
//	func TestSomething(t *testing.T) {
//		kit := shared.In(t)
//		kit.Reset() // the container's state is shared: start from a clean one
//	}
type Kit struct {
	ctr  testcontainers.Container
	base string
	opts []testkit.Option
}

// Run starts the emulator in a container with opts (the options of
// testkit.Start). The caller ends it with Terminate.
func Run(ctx context.Context, opts ...testkit.Option) (*Kit, error) {
	return run(ctx, nil, opts...)
}

func run(ctx context.Context, tb testing.TB, opts ...testkit.Option) (*Kit, error) {
	return runWith(ctx, tb, nil, opts...)
}

// runWith is run with more of serve's flags, and the container removed by
// the engine once it stops (autoRemove, when extra is set).
func runWith(ctx context.Context, tb testing.TB, extra []string, opts ...testkit.Option) (*Kit, error) {
	reaperCheck(ctx)
	s, err := kitopt.Resolve(opts...)
	if err != nil {
		return nil, err
	}
	args, err := s.Args()
	if err != nil {
		return nil, err
	}
	args = append(args, extra...)
	var files []testcontainers.ContainerFile
	if s.Config.Fixtures != nil {
		b, err := s.Config.Fixtures.YAML()
		if err != nil {
			return nil, fmt.Errorf("fixtures: %w", err)
		}
		files = append(files, testcontainers.ContainerFile{Reader: bytes.NewReader(b), ContainerFilePath: "/etc/tokenemu/fixtures.yaml", FileMode: 0o644})
		args = append(args, "-fixtures=/etc/tokenemu/fixtures.yaml")
	}
	all := append(append([]any(nil), anySlice(s.Config.Scenarios)...), anySlice(s.Scenarios)...)
	if len(all) > 0 {
		b, err := json.Marshal(all)
		if err != nil {
			return nil, fmt.Errorf("scenarios: %w", err)
		}
		files = append(files, testcontainers.ContainerFile{Reader: bytes.NewReader(b), ContainerFilePath: "/etc/tokenemu/scenarios.json", FileMode: 0o644})
		args = append(args, "-scenario=/etc/tokenemu/scenarios.json")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	image := s.Image
	if image == "" {
		if image, err = Image(ctx); err != nil {
			return nil, err
		}
	}
	health := &healthWait{timeout: 60 * time.Second}
	var logger tclog.Logger = quiet{}
	if tb != nil {
		logger = tclog.TestLogger(tb) // to the test's log, not stderr
	}
	runOpts := []testcontainers.ContainerCustomizer{
		testcontainers.WithExposedPorts(port),
		testcontainers.WithCmd(append([]string{"serve"}, args...)...),
		testcontainers.WithFiles(files...),
		testcontainers.WithWaitStrategy(health),
		testcontainers.WithLogger(logger),
	}
	if extra != nil {
		// Removed by the engine once it exits (-idle-exit); and without the
		// image's health check, whose requests would keep it from ever
		// being idle.
		runOpts = append(runOpts,
			testcontainers.WithHostConfigModifier(func(hc *dockercontainer.HostConfig) { hc.AutoRemove = true }),
			testcontainers.WithConfigModifier(func(c *dockercontainer.Config) {
				c.Healthcheck = &dockercontainer.HealthConfig{Test: []string{"NONE"}}
			}))
	}
	ctr, err := testcontainers.Run(ctx, image, runOpts...)
	k := &Kit{ctr: ctr, base: health.endpoint, opts: opts}
	if tb != nil {
		testcontainers.CleanupContainer(tb, ctr)
	}
	if err != nil {
		if tb == nil && ctr != nil {
			_ = ctr.Terminate(context.Background())
		}
		return nil, fmt.Errorf("start %s: %w%s", image, err, ryukHint(err))
	}
	return k, nil
}

// In returns a kit of this container bound to tb: its controls fail tb, and
// a failure of tb prints the journal and the container's last log lines.
func (k *Kit) In(tb testing.TB) *testkit.Kit {
	tb.Helper()
	return testkit.Connect(tb, k.base, append(slices.Clip(k.opts), kitopt.WithLogs(k.Logs))...)
}

// BaseURL returns the emulator's root URL.
func (k *Kit) BaseURL() string { return k.base }

// Logs returns what the emulator has logged so far.
func (k *Kit) Logs(ctx context.Context) (string, error) {
	rc, err := k.ctr.Logs(ctx)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return string(b), err
}

// Terminate stops and removes the container.
func (k *Kit) Terminate(ctx context.Context) error { return k.ctr.Terminate(ctx) }

// Start runs the emulator in a container with opts (the options of
// testkit.Start) and removes the container when the test ends. A setup
// failure fails the test; without Docker it skips, unless CI=true.
func Start(tb testing.TB, opts ...testkit.Option) *testkit.Kit {
	tb.Helper()
	RequireDocker(tb)
	k, err := run(context.Background(), tb, opts...)
	if err != nil {
		tb.Fatalf("testkit/container: %v", err)
	}
	return k.In(tb)
}

// Shared returns a kit of a tenant of its own on the one container that
// every Shared of the test process shares: the container is started by the
// first, and each test gets a whole emulator (clock, tokens, fixtures, seed,
// scenarios, journal) of its own below /t/{id}, made in about a millisecond,
// deleted when the test ends. The tenant has an admin token of its own, which
// the kit uses: no other test can move its clock or touch its tokens through
// the admin plane. Without Docker it skips, unless CI=true.
//
//	func TestCheckout(t *testing.T) {
//		t.Parallel()
//		kit := container.Shared(t) // one container for the whole package
//		kit.Clock.Advance(time.Hour)
//	}
//
// The options are testkit.Shared's (those of one tenant; WithImage is not
// one). The container outlives no test process: the process pings it, and it
// exits (-idle-exit) and is removed a few minutes after the last ping,
// reaper or none.
func Shared(tb testing.TB, opts ...testkit.Option) *testkit.Kit {
	tb.Helper()
	RequireDocker(tb)
	if s, err := kitopt.Resolve(opts...); err == nil && s.Image != "" {
		tb.Fatal("testkit/container: Shared's container is built from source; for an image of your own, Run it and call testkit.NewTenant")
	}
	h, err := sharedContainer()
	if err != nil {
		tb.Fatalf("testkit/container: shared container: %v", err)
	}
	return testkit.NewTenant(tb, h.kit.base, h.token, append(slices.Clip(opts), kitopt.WithLogs(h.kit.Logs))...)
}

// sharedIdleExit is how long the shared container lives after its test
// process's last request (its pings come every sharedPing).
const (
	sharedIdleExit = 3 * time.Minute
	sharedPing     = 20 * time.Second
)

type sharedHost struct {
	kit   *Kit
	token string // its admin token: only Shared knows it
}

// sharedContainer is Shared's container, started once per test process: the
// one piece of state the package keeps for the whole process (with the
// image it builds), as sharing one container is what Shared is for.
var sharedContainer = sync.OnceValues(func() (*sharedHost, error) {
	var b [24]byte
	_, _ = rand.Read(b[:])
	token := "shared-" + hex.EncodeToString(b[:])
	k, err := runIdle(sharedIdleExit, token, "-max-tenants="+strconv.Itoa(testkit.SharedMaxTenants))
	if err != nil {
		return nil, err
	}
	go func() {
		client := &http.Client{Timeout: 10 * time.Second}
		for range time.Tick(sharedPing) {
			if resp, err := client.Get(k.base + "/_emulator/healthz"); err == nil {
				_ = resp.Body.Close()
			}
		}
	}()
	return &sharedHost{kit: k, token: token}, nil
})

// runIdle starts a container that exits once nothing has been asked of it for
// idle, and is then removed by the engine.
func runIdle(idle time.Duration, adminToken string, extra ...string) (*Kit, error) {
	return runWith(context.Background(), nil, append([]string{"-idle-exit=" + idle.String()}, extra...),
		testkit.WithConfig(func(c *emulator.Config) { c.AdminToken = adminToken }))
}

// healthWait is ready when /_emulator/healthz answers 200 on the mapped port,
// and remembers where. It tries the host testcontainers names and 127.0.0.1:
// when the test itself runs in a container whose Docker engine shares its
// network namespace, testcontainers guesses the gateway, which is wrong.
type healthWait struct {
	timeout  time.Duration
	endpoint string
}

func (w *healthWait) WaitUntilReady(ctx context.Context, target wait.StrategyTarget) error {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	var hosts []string
	if h, err := target.Host(ctx); err == nil {
		hosts = append(hosts, h)
	}
	if !slices.Contains(hosts, "127.0.0.1") && !slices.Contains(hosts, "localhost") {
		hosts = append(hosts, "127.0.0.1")
	}
	client := &http.Client{Timeout: 500 * time.Millisecond}
	for {
		mapped, err := target.MappedPort(ctx, port)
		if err == nil && mapped.Num() != 0 {
			for _, h := range hosts {
				base := "http://" + net.JoinHostPort(h, mapped.Port())
				resp, err := client.Get(base + "/_emulator/healthz")
				if err != nil {
					continue
				}
				_ = resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					w.endpoint = base
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no answer from /_emulator/healthz on %v: %w", hosts, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func anySlice[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

func ryukHint(err error) string {
	if strings.Contains(strings.ToLower(err.Error()), "ryuk") || strings.Contains(err.Error(), "reaper") {
		return " (the reaper image cannot be pulled? set TESTCONTAINERS_RYUK_DISABLED=true)"
	}
	return ""
}

// RequireDocker skips the test when no Docker engine answers, or fails it
// when the CI variable is "true": in CI, container tests must run.
func RequireDocker(tb testing.TB) {
	tb.Helper()
	if err := dockerHealth(); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("testkit/container: CI=true and no Docker engine answers: %v", err)
		}
		tb.Skipf("testkit/container: no Docker engine answers (%v); container tests skip outside CI", err)
	}
}

// dockerHealth is checked once per process: the engine does not come and go
// during a test run.
var dockerHealth = sync.OnceValue(func() (err error) {
	reaperCheck(context.Background())
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("docker provider: %v", r)
		}
	}()
	p, err := testcontainers.NewDockerProvider(testcontainers.WithLogger(quiet{}))
	if err != nil {
		return err
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return p.Health(ctx)
})

// built caches the image built from source: one build per test process. A
// failed build is not kept: the next kit tries again.
var built struct {
	mu    sync.Mutex
	image string
}

// Image builds the emulator image from source, once per process, and
// returns its name ("tokenemu.invalid/tokenemu:<hash>"). An image with that
// name already in the engine is reused.
func Image(ctx context.Context) (string, error) {
	built.mu.Lock()
	defer built.mu.Unlock()
	if built.image != "" {
		return built.image, nil
	}
	image, _, err := BuildImage(ctx, io.Discard)
	if err != nil {
		return "", err
	}
	built.image = image
	return image, nil
}

// BuildTimings says how long BuildImage's steps took.
type BuildTimings struct {
	Binary, Image time.Duration
	Reused        bool
}

// BuildImage builds the binary and the image now (no per-process cache) and
// says how long each step took. An image with the same content hash already
// in the engine is reused.
func BuildImage(ctx context.Context, log io.Writer) (string, BuildTimings, error) {
	reaperCheck(ctx)
	var tm BuildTimings
	p, err := testcontainers.NewDockerProvider(testcontainers.WithLogger(quiet{}))
	if err != nil {
		return "", tm, fmt.Errorf("docker: %w", err)
	}
	defer p.Close()
	info, err := p.Client().Info(ctx, client.InfoOptions{})
	if err != nil {
		return "", tm, fmt.Errorf("docker info: %w", err)
	}
	arch := map[string]string{"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}[info.Info.Architecture]
	if arch == "" {
		return "", tm, fmt.Errorf("docker engine architecture %q is not one the kit builds for", info.Info.Architecture)
	}

	start := time.Now()
	dir, err := os.MkdirTemp("", "tokenemu-image-")
	if err != nil {
		return "", tm, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "tokenemu")
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", tm, errors.New("the go command is not on PATH: the container kit builds the emulator from source")
	}
	args, err := buildArgs(ctx, goTool, dir)
	if err != nil {
		return "", tm, err
	}
	cmd := exec.CommandContext(ctx, goTool, append(append([]string{"build", "-trimpath", "-o", bin}, args...), "github.com/tokenemu/tokenemu/cmd/tokenemu")...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", tm, fmt.Errorf("go build: %v\n%s", err, out)
	}
	tm.Binary = time.Since(start)

	start = time.Now()
	binary, err := os.ReadFile(bin)
	if err != nil {
		return "", tm, err
	}
	dockerfile := docker.Dockerfile()
	h := sha256.New()
	h.Write(dockerfile)
	h.Write(binary)
	tag := hex.EncodeToString(h.Sum(nil))[:16]
	name := Repository + ":" + tag
	if _, err := p.Client().ImageInspect(ctx, name); err == nil {
		tm.Reused = true
		tm.Image = time.Since(start)
		return name, tm, nil
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{"Dockerfile", 0o644, dockerfile}, {"tokenemu", 0o755, binary}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data))}); err != nil {
			return "", tm, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return "", tm, err
		}
	}
	if err := tw.Close(); err != nil {
		return "", tm, err
	}
	_, err = p.BuildImage(ctx, &testcontainers.ContainerRequest{FromDockerfile: testcontainers.FromDockerfile{
		ContextArchive: bytes.NewReader(buf.Bytes()),
		Repo:           Repository,
		Tag:            tag,
		KeepImage:      true,
		BuildLogWriter: log,
	}})
	if err != nil {
		return "", tm, fmt.Errorf("docker build: %w", err)
	}
	tm.Image = time.Since(start)
	return name, tm, nil
}

// buildArgs are the go build flags that build the emulator from the test's
// module. That module's go.sum holds the sums of the packages its tests
// import, not of the command's own dependencies (the CLI library), so in a
// module of its own the build reads a copy of go.mod and go.sum (-modfile)
// and may add the missing sums to the copy (-mod=mod), leaving the user's
// files alone. In a workspace (this repository's go.work) the workspace has
// them all, and -modfile is not allowed there.
func buildArgs(ctx context.Context, goTool, tmp string) ([]string, error) {
	out, err := exec.CommandContext(ctx, goTool, "env", "GOWORK", "GOMOD").Output()
	if err != nil {
		return nil, fmt.Errorf("go env: %w", err)
	}
	// One line each, in order; GOWORK's is empty outside a workspace.
	lines := strings.Split(string(out), "\n")
	if len(lines) < 2 {
		return nil, fmt.Errorf("go env GOWORK GOMOD printed %q", out)
	}
	gowork, gomod := strings.TrimSpace(lines[0]), strings.TrimSpace(lines[1])
	if gowork != "" && gowork != "off" || gomod == "" || gomod == os.DevNull {
		return nil, nil
	}
	for _, name := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(filepath.Dir(gomod), name))
		if errors.Is(err, os.ErrNotExist) && name == "go.sum" {
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
			return nil, err
		}
	}
	return []string{"-mod=mod", "-modfile=" + filepath.Join(tmp, "go.mod")}, nil
}

// quiet drops testcontainers' chatter where no test log is at hand.
type quiet struct{}

func (quiet) Printf(string, ...any) {}
