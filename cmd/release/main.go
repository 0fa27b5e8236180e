// Command release builds a tokenemu release from a commit: the binaries, the
// container image saved as a tar, the two modules as a Go module proxy
// directory, and a SHA256SUMS file over all of them.
//
//	go run ./cmd/release -version v0.1.0            # into dist/v0.1.0
//	go run ./cmd/release -version v0.1.0 -dry-run   # into a temporary directory, checked, then removed
//
// What it builds, from the commit (HEAD by default; the working tree's
// changes are not in a release):
//   - tokenemu_<version>_<os>_<arch>[.exe] for linux, darwin and windows on
//     amd64 and arm64: CGO off, -trimpath, stripped (-s -w), the version
//     stamped in (tokenemu version prints it, and so does the start banner);
//   - tokenemu_<version>_image_linux_<arch>.tar: the image (FROM scratch,
//     docker/Dockerfile) for the engine's architecture, tagged
//     tokenemu:<version>, as docker save writes it (docker load reads it);
//   - proxy/: github.com/tokenemu/tokenemu and .../testkit/container at the
//     version, laid out as a module proxy (GOPROXY=file://<dir>/proxy), made
//     with golang.org/x/mod/zip from the commit, as the Go module mirror
//     would from the tags;
//   - SHA256SUMS, in sha256sum's format.
//
// The two modules are released in lockstep: the container module's go.mod
// must require the root module at the version being released, or the
// command stops and says so. A real release also wants a clean working tree
// and a version tag on the commit; -dry-run checks neither, and builds into
// a temporary directory that it removes.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	modzip "golang.org/x/mod/zip"
)

const (
	rootModule      = "github.com/tokenemu/tokenemu"
	containerModule = rootModule + "/testkit/container"
	containerDir    = "testkit/container"
)

// platforms are the binaries' targets.
func platforms() [][2]string {
	return [][2]string{
		{"linux", "amd64"}, {"linux", "arm64"},
		{"darwin", "amd64"}, {"darwin", "arm64"},
		{"windows", "amd64"}, {"windows", "arm64"},
	}
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

type options struct {
	version, out, rev string
	dryRun, image     bool
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("release", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.version, "version", "", "the version to release, e.g. v0.1.0 (required)")
	fs.StringVar(&o.out, "out", "", "the directory to build into (default dist/<version>)")
	fs.StringVar(&o.rev, "rev", "HEAD", "the commit to release")
	fs.BoolVar(&o.dryRun, "dry-run", false, "build into a temporary directory, check everything, remove it; no clean tree or tag needed")
	fs.BoolVar(&o.image, "image", true, "build the container image and save it as a tar (needs a Docker engine)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if !semver.IsValid(o.version) || semver.Canonical(o.version) != o.version {
		fmt.Fprintf(stderr, "release: -version %q: want a canonical semantic version such as v0.1.0\n", o.version)
		return 2
	}
	if err := release(o, stdout); err != nil {
		fmt.Fprintf(stderr, "release: %v\n", err)
		return 1
	}
	return 0
}

func release(o options, stdout io.Writer) error {
	root, err := gitOut(".", "rev-parse", "--show-toplevel")
	if err != nil {
		return fmt.Errorf("run it inside the repository: %w", err)
	}
	commit, err := gitOut(root, "rev-parse", o.rev+"^{commit}")
	if err != nil {
		return err
	}
	if err := checkLockstep(root, commit, o.version); err != nil {
		return err
	}
	if !o.dryRun {
		if dirty, _ := gitOut(root, "status", "--porcelain"); dirty != "" {
			return errors.New("the working tree has changes; commit them, or use -dry-run")
		}
		tags, _ := gitOut(root, "tag", "--points-at", commit)
		for _, want := range []string{o.version, containerDir + "/" + o.version} {
			if !slices.Contains(strings.Fields(tags), want) {
				return fmt.Errorf("the commit has no tag %s (a release tags %s and %s/%s)", want, o.version, containerDir, o.version)
			}
		}
	}
	out := o.out
	if o.dryRun {
		if out, err = os.MkdirTemp("", "tokenemu-release-"); err != nil {
			return err
		}
		defer os.RemoveAll(out)
	} else if out == "" {
		out = filepath.Join(root, "dist", o.version)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	// The binaries and the image are built from the commit's tree, not the
	// working tree.
	src, err := os.MkdirTemp("", "tokenemu-src-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(src)
	if err := exportTree(root, commit, src); err != nil {
		return err
	}
	start := time.Now()
	var files []string
	for _, p := range platforms() {
		name := fmt.Sprintf("tokenemu_%s_%s_%s", o.version, p[0], p[1])
		if p[0] == "windows" {
			name += ".exe"
		}
		if err := build(src, filepath.Join(out, name), p[0], p[1], o.version); err != nil {
			return err
		}
		files = append(files, name)
		fmt.Fprintf(stdout, "built %s\n", name)
	}
	if slices.Contains(platforms(), [2]string{runtime.GOOS, runtime.GOARCH}) {
		host := filepath.Join(out, fmt.Sprintf("tokenemu_%s_%s_%s", o.version, runtime.GOOS, runtime.GOARCH))
		if runtime.GOOS == "windows" {
			host += ".exe"
		}
		if got, err := exec.Command(host, "version").Output(); err != nil || !strings.HasPrefix(string(got), o.version+" ") {
			return fmt.Errorf("%s version printed %q (%v), want %s first", filepath.Base(host), got, err, o.version)
		}
	}
	if o.image {
		name, err := saveImage(src, out, o.version)
		if err != nil {
			return err
		}
		files = append(files, name)
		fmt.Fprintf(stdout, "saved %s\n", name)
	}
	zips, err := Proxy(root, commit, o.version, filepath.Join(out, "proxy"))
	if err != nil {
		return err
	}
	files = append(files, zips...)
	for _, z := range zips {
		fmt.Fprintf(stdout, "wrote %s\n", z)
	}
	if err := writeSums(out, files); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote SHA256SUMS (%d files) in %s\n", len(files), time.Since(start).Round(time.Second))
	if o.dryRun {
		fmt.Fprintf(stdout, "dry run: %s of %s checked and removed\n", o.version, commit[:12])
	} else {
		fmt.Fprintf(stdout, "release %s of %s in %s\n", o.version, commit[:12], out)
	}
	return nil
}

// checkLockstep checks that the container module requires the root module at
// version, in the commit.
func checkLockstep(root, commit, version string) error {
	b, err := gitShow(root, commit, containerDir+"/go.mod")
	if err != nil {
		return err
	}
	f, err := modfile.Parse(containerDir+"/go.mod", b, nil)
	if err != nil {
		return err
	}
	for _, r := range f.Replace {
		return fmt.Errorf("%s/go.mod replaces %s: a dependent would not see it (use the go.work)", containerDir, r.Old.Path)
	}
	for _, r := range f.Require {
		if r.Mod.Path == rootModule {
			if r.Mod.Version != version {
				return fmt.Errorf("%s/go.mod requires %s %s, not %s: the modules are released in lockstep; bump it first", containerDir, rootModule, r.Mod.Version, version)
			}
			return nil
		}
	}
	return fmt.Errorf("%s/go.mod does not require %s", containerDir, rootModule)
}

// build cross-compiles the emulator.
func build(src, out, goos, goarch, version string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false",
		"-ldflags", "-s -w -X main.version="+version, "-o", out, "./cmd/tokenemu")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch, "GOWORK=off", "GOFLAGS=-mod=readonly")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build for %s/%s: %v\n%s", goos, goarch, err, b)
	}
	return nil
}

// saveImage builds the image for the engine's architecture and saves it.
func saveImage(src, out, version string) (string, error) {
	arch, err := exec.Command("docker", "version", "--format", "{{.Server.Arch}}").Output()
	if err != nil {
		return "", fmt.Errorf("no Docker engine answers (-image=false builds without the image): %v", err)
	}
	goarch := strings.TrimSpace(string(arch))
	ctx, err := os.MkdirTemp("", "tokenemu-image-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(ctx)
	if err := build(src, filepath.Join(ctx, "tokenemu"), "linux", goarch, version); err != nil {
		return "", err
	}
	df, err := os.ReadFile(filepath.Join(src, "docker", "Dockerfile"))
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(ctx, "Dockerfile"), df, 0o644); err != nil {
		return "", err
	}
	tag := "tokenemu:" + version
	if b, err := exec.Command("docker", "build", "-q", "-t", tag, ctx).CombinedOutput(); err != nil {
		return "", fmt.Errorf("docker build: %v\n%s", err, b)
	}
	name := fmt.Sprintf("tokenemu_%s_image_linux_%s.tar", version, goarch)
	if b, err := exec.Command("docker", "save", "-o", filepath.Join(out, name), tag).CombinedOutput(); err != nil {
		return "", fmt.Errorf("docker save: %v\n%s", err, b)
	}
	return name, nil
}

// Proxy writes both modules at version, from commit, into dir laid out as a
// Go module proxy, and returns the zips' paths relative to dir's parent.
func Proxy(root, commit, version, dir string) ([]string, error) {
	info, err := gitOut(root, "show", "-s", "--format=%cI", commit)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range []struct{ path, subdir string }{{rootModule, ""}, {containerModule, containerDir}} {
		mv := module.Version{Path: m.path, Version: version}
		esc, err := module.EscapePath(m.path)
		if err != nil {
			return nil, err
		}
		at := filepath.Join(dir, filepath.FromSlash(esc), "@v")
		if err := os.MkdirAll(at, 0o755); err != nil {
			return nil, err
		}
		var zip bytes.Buffer
		if err := modzip.CreateFromVCS(&zip, mv, root, commit, m.subdir); err != nil {
			return nil, fmt.Errorf("zip %s: %w", m.path, err)
		}
		gomod, err := gitShow(root, commit, filepath.ToSlash(filepath.Join(m.subdir, "go.mod")))
		if err != nil {
			return nil, err
		}
		when, err := time.Parse(time.RFC3339, info)
		if err != nil {
			return nil, err
		}
		infoJSON, _ := json.Marshal(map[string]any{"Version": version, "Time": when.UTC()})
		for name, b := range map[string][]byte{
			version + ".zip": zip.Bytes(), version + ".mod": gomod, version + ".info": infoJSON, "list": []byte(version + "\n"),
		} {
			if err := os.WriteFile(filepath.Join(at, name), b, 0o644); err != nil {
				return nil, err
			}
		}
		rel, err := filepath.Rel(filepath.Dir(dir), filepath.Join(at, version+".zip"))
		if err != nil {
			return nil, err
		}
		out = append(out, filepath.ToSlash(rel))
	}
	return out, nil
}

// writeSums writes SHA256SUMS for files (relative to dir).
func writeSums(dir string, files []string) error {
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		fmt.Fprintf(&b, "%s  %s\n", hex.EncodeToString(sum[:]), f)
	}
	return os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte(b.String()), 0o644)
}

// exportTree writes commit's files into dir (git archive, unpacked with tar).
func exportTree(root, commit, dir string) error {
	archive := exec.Command("git", "-C", root, "archive", "--format=tar", commit)
	untar := exec.Command("tar", "-x", "-C", dir)
	pipe, err := archive.StdoutPipe()
	if err != nil {
		return err
	}
	untar.Stdin = pipe
	var errs bytes.Buffer
	archive.Stderr, untar.Stderr = &errs, &errs
	if err := untar.Start(); err != nil {
		return err
	}
	if err := archive.Run(); err != nil {
		return fmt.Errorf("git archive: %v %s", err, errs.String())
	}
	if err := untar.Wait(); err != nil {
		return fmt.Errorf("tar: %v %s", err, errs.String())
	}
	return nil
}

func gitOut(dir string, args ...string) (string, error) {
	b, err := exec.Command("git", append([]string{"-C", dir}, args...)...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(ee.Stderr))
		}
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(b)), nil
}

// gitShow returns a file of commit, byte for byte.
func gitShow(root, commit, path string) ([]byte, error) {
	b, err := exec.Command("git", "-C", root, "show", commit+":"+path).Output()
	if err != nil {
		return nil, fmt.Errorf("git show %s:%s: %w", commit, path, err)
	}
	return b, nil
}
