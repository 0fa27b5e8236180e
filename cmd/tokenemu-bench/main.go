// Command tokenemu-bench is tokenemu's load benchmark: it builds and starts
// the tokenemu binary and a bare net/http baseline (the same paths, answering
// with the emulator's own answers byte for byte: no validation, no state, no
// JSON work) as separate processes on loopback, drives
// each with wrk, and prints one table with the ratio to the baseline measured
// in the same run. Any non-2xx answer or socket error fails the run.
//
//	go run ./cmd/tokenemu-bench            # 10 s per measurement after a 2 s warm-up
//	go run ./cmd/tokenemu-bench -quick     # 3 s after 1 s
//
// It needs wrk (apt-get install -y wrk).
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tokenemu/tokenemu/emulator/brass"
	"github.com/tokenemu/tokenemu/emulator/passkit"
	"github.com/tokenemu/tokenemu/emulator/passport"
	"github.com/tokenemu/tokenemu/emulator/teletracker"
	"github.com/tokenemu/tokenemu/emulator/vendors"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "baseline" {
		os.Exit(runBaseline(os.Args[2:]))
	}
	os.Exit(run(os.Args[1:]))
}

type options struct {
	duration, warmup time.Duration
	connections      int
	threads          int
	only             string
	readme           string
	startups         int
	procs            int
	rounds           int
}

func run(args []string) int {
	fs := flag.NewFlagSet("tokenemu-bench", flag.ContinueOnError)
	var o options
	quick := fs.Bool("quick", false, "one round of 3 s measurements after 1 s warm-ups")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "length of each measurement")
	fs.IntVar(&o.rounds, "rounds", 3, "measurements of each server per workload, alternating which goes first; the median ratio is shown")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "length of the warm-up before each measurement")
	fs.IntVar(&o.connections, "connections", 32, "wrk connections")
	fs.IntVar(&o.threads, "threads", 2, "wrk threads")
	fs.StringVar(&o.readme, "readme", "", "also write the results into this file, between its <!-- bench:begin --> and <!-- bench:end --> lines (cmd/tokenemu-bench/README.md)")
	fs.StringVar(&o.only, "only", "", "run only the workloads whose name contains this (e.g. passport, W2)")
	fs.IntVar(&o.procs, "procs", max(1, runtime.GOMAXPROCS(0)/2), "GOMAXPROCS of both servers (the default is tokenemu's own: half of the CPUs, at least 1)")
	fs.IntVar(&o.startups, "startups", 21, "how many times to start the binary for the start-up time (the median is shown)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.procs < 1 || o.startups < 1 || o.rounds < 1 || o.rounds%2 == 0 {
		fmt.Fprintln(os.Stderr, "tokenemu-bench: -procs and -startups must be at least 1, and -rounds an odd number (it has a median)")
		return 2
	}
	if *quick {
		o.duration, o.warmup, o.rounds = 3*time.Second, time.Second, 1
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		fmt.Fprintln(os.Stderr, "tokenemu-bench: wrk is not on PATH (install it: apt-get install -y wrk)")
		return 1
	}
	if err := bench(o); err != nil {
		fmt.Fprintf(os.Stderr, "tokenemu-bench: %v\n", err)
		return 1
	}
	return 0
}

// server is a started process and its base URL.
type server struct {
	cmd  *exec.Cmd
	base string
}

var listeningRE = regexp.MustCompile(`listening on (http://[0-9.:]+)`)

// start runs a server command, with env added to the environment, and waits
// for its "listening on" line.
func start(env []string, name string, args ...string) (*server, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil && !sent {
				found <- m[1]
				sent = true
			}
		}
	}()
	select {
	case base := <-found:
		return &server{cmd: cmd, base: base}, nil
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("%s did not say where it listens", name)
	}
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
	}
}

// workload is one request wrk repeats.
type workload struct {
	vendor, kind, what string
	method, path       string
	header             map[string]string
	body               string
	want               int // the status every answer must have
}

func (w workload) name() string { return w.vendor + " " + w.kind }

// issued is a token from tokenemu's admin plane and its public id.
type issued struct{ token, id string }

// issue gets a token from tokenemu's admin plane.
func issue(base, vendor, principal, kind string) (issued, error) {
	req := map[string]string{"vendor": vendor, "principal": principal}
	if kind != "" {
		req["kind"] = kind
	}
	b, _ := json.Marshal(req)
	resp, err := http.Post(base+"/_emulator/tokens/issue", "application/json", bytes.NewReader(b))
	if err != nil {
		return issued{}, err
	}
	defer resp.Body.Close()
	var out struct {
		Token string `json:"token"`
		Info  struct {
			ID string `json:"id"`
		} `json:"token_info"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Token == "" {
		return issued{}, fmt.Errorf("issue a %s token: %s %v", vendor, resp.Status, err)
	}
	return issued{out.Token, out.Info.ID}, nil
}

// workloads are W1, each vendor's issuing call, and W2, an authenticated
// GET: each registered vendor's Example call (vendorapi.Example), and one
// call on a route with a path parameter, which is routed differently from
// the parameterless ones.
func workloads(base string) ([]workload, error) {
	tokens := map[string]issued{}
	var w2 []workload
	for _, d := range vendors.All() {
		tok, err := issue(base, d.Name, d.Example.Principal, d.Example.Kind)
		if err != nil {
			return nil, err
		}
		tokens[d.Name] = tok
		doc, err := d.Document()
		if err != nil {
			return nil, err
		}
		w2 = append(w2, workload{d.Name, "W2", d.Example.Method + " " + d.Example.Path, d.Example.Method,
			doc.T.Servers[0].URL + d.Example.Path, map[string]string{"Authorization": "Bearer " + tok.token}, "", 200})
	}
	jsonCT := map[string]string{"Content-Type": "application/json"}
	with := func(h map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range h {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	pp := tokens[passport.Name]
	w1 := []workload{
		{passport.Name, "W1", "client-credentials token", "POST", "/passport/v1/iam/oauth/tokens", jsonCT,
			`{"client_id":"demo-client","client_secret":"demo-secret","grant_type":"client_credentials"}`, 200},
		{passkit.Name, "W1", "login (HS256 JWT)", "POST", "/passkit/login", jsonCT,
			`{"username":"demo@passkit.test","password":"passkit-demo"}`, 200},
		{brass.Name, "W1", "create a PAT", "POST", "/brass/auth/personal-access-tokens",
			with(jsonCT, "Authorization", "Bearer "+tokens[brass.Name].token), `{"name":"bench","role":"accountant"}`, 201},
		{teletracker.Name, "W1", "login (token + refresh)", "POST", "/teletracker/auth/login",
			map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "username=demo%40teletracker.test&password=teletracker-demo", 200},
	}
	param := workload{passport.Name, "W2", "GET /v1/iam/oauth/tokens/{token_id}", "GET", "/passport/v1/iam/oauth/tokens/" + pp.id,
		map[string]string{"Authorization": "Bearer " + pp.token}, "", 200}
	// Passport's W2 again, in a tenant: what the prefix /t/{id} costs.
	tenant, err := benchTenant(base)
	if err != nil {
		return nil, err
	}
	tt, err := issue(base+tenant, passport.Name, "demo-client", "")
	if err != nil {
		return nil, err
	}
	inTenant := w2[slices.IndexFunc(w2, func(w workload) bool { return w.vendor == passport.Name })]
	inTenant.path = tenant + inTenant.path
	inTenant.what += " in a tenant"
	inTenant.header = map[string]string{"Authorization": "Bearer " + tt.token}
	return append(append(append(w1, w2...), param), inTenant), nil
}

// benchTenant makes (or, made already, resets) the tenant the bench runs a
// workload in, and returns its prefix.
func benchTenant(base string) (string, error) {
	resp, err := http.Post(base+"/_emulator/tenants", "application/json", strings.NewReader(`{"id":"bench"}`))
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusConflict {
		return "", fmt.Errorf("create the bench's tenant: %s", resp.Status)
	}
	if resp, err = http.Post(base+"/t/bench/_emulator/reset", "application/json", nil); err != nil {
		return "", err
	}
	resp.Body.Close()
	return "/t/bench", nil
}

// row is one workload's line of the table.
type row struct {
	w         workload
	emu, base result    // the round whose ratio is the median
	ratios    []float64 // every round's, in the order they ran
}

// result is one wrk measurement.
type result struct {
	rps      float64
	p50, p99 time.Duration
	requests int64
	errors   int64
}

var (
	rpsRE      = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	pctRE      = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
	non2xxRE   = regexp.MustCompile(`Non-2xx or 3xx responses:\s+([0-9]+)`)
	socketRE   = regexp.MustCompile(`Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)`)
	requestsRE = regexp.MustCompile(`([0-9]+) requests in`)
)

func parseWrk(out string) (result, error) {
	var r result
	m := rpsRE.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no Requests/sec in wrk's output:\n%s", out)
	}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	for _, p := range pctRE.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(p[2], 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[p[3]]
		d := time.Duration(v * float64(unit))
		if p[1] == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	if m := requestsRE.FindStringSubmatch(out); m != nil {
		r.requests, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := non2xxRE.FindStringSubmatch(out); m != nil {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		r.errors += n
	}
	if m := socketRE.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.ParseInt(s, 10, 64)
			r.errors += n
		}
	}
	return r, nil
}

// luaScript makes wrk send w's request.
func luaScript(w workload) string {
	var b strings.Builder
	fmt.Fprintf(&b, "wrk.method = %q\n", w.method)
	if w.body != "" {
		fmt.Fprintf(&b, "wrk.body = %q\n", w.body)
	}
	for k, v := range w.header {
		fmt.Fprintf(&b, "wrk.headers[%q] = %q\n", k, v)
	}
	return b.String()
}

func wrk(o options, dir, base string, w workload, d time.Duration) (result, error) {
	script := filepath.Join(dir, strings.ReplaceAll(w.name(), " ", "-")+".lua")
	if err := os.WriteFile(script, []byte(luaScript(w)), 0o600); err != nil {
		return result{}, err
	}
	secs := max(1, int(d.Round(time.Second)/time.Second))
	cmd := exec.Command("wrk", "-t", strconv.Itoa(o.threads), "-c", strconv.Itoa(o.connections),
		"-d", strconv.Itoa(secs)+"s", "--latency", "-s", script, base+w.path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	return parseWrk(string(out))
}

// check sends w once and makes sure the server answers it as expected; it
// returns the answer's body.
func check(base string, w workload) ([]byte, error) {
	req, err := http.NewRequestWithContext(context.Background(), w.method, base+w.path, strings.NewReader(w.body))
	if err != nil {
		return nil, err
	}
	for k, v := range w.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != w.want {
		return nil, fmt.Errorf("%s: %s %s answered %d, want %d: %s", w.name(), w.method, w.path, resp.StatusCode, w.want, b)
	}
	return b, nil
}

func bench(o options) error {
	dir, err := os.MkdirTemp("", "tokenemu-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "tokenemu")
	fmt.Fprintln(os.Stderr, "building tokenemu…")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/tokenemu")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/tokenemu (run from the repository's root): %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	startTime, rss, err := startup(bin, o.startups)
	if err != nil {
		return err
	}

	procs := strconv.Itoa(o.procs)
	emu, err := start(nil, bin, "-addr", "127.0.0.1:0", "-brass-rate-limit", "0", "-brass-max-pats", "100000000", "-log-level", "error", "-procs", procs)
	if err != nil {
		return err
	}
	defer emu.stop()
	ws, err := workloads(emu.base)
	if err != nil {
		return err
	}
	// The baseline answers each workload with the emulator's own answer.
	answers := map[string]canned{}
	for _, w := range ws {
		b, err := check(emu.base, w)
		if err != nil {
			return err
		}
		answers[w.method+" "+w.path] = canned{Status: w.want, Body: bytes.TrimSpace(b)}
	}
	answersFile := filepath.Join(dir, "answers.json")
	if b, err := json.Marshal(answers); err != nil {
		return err
	} else if err := os.WriteFile(answersFile, b, 0o600); err != nil {
		return err
	}
	base, err := start([]string{"GOMAXPROCS=" + procs}, self, "baseline", "-addr", "127.0.0.1:0", "-responses", answersFile)
	if err != nil {
		return err
	}
	defer base.stop()
	var rows []row
	failed := false
	for i, w := range ws {
		if o.only != "" && !strings.Contains(w.name(), o.only) {
			continue
		}
		// Each workload starts from a fresh emulator state: tokens issued by
		// the workloads before it would otherwise pile up in its heap.
		if resp, err := http.Post(emu.base+"/_emulator/reset", "application/json", nil); err != nil {
			return err
		} else {
			resp.Body.Close()
		}
		fresh, err := workloads(emu.base)
		if err != nil {
			return err
		}
		r := row{w: w}
		// The host's speed drifts over seconds (other tenants of the
		// machine), so each server is measured in several rounds, the
		// order alternating, and the round with the median ratio is shown.
		type pair struct{ emu, base result }
		var rounds []pair
		servers := []struct {
			srv *server
			w   workload
		}{{emu, fresh[i]}, {base, w}}
		for _, s := range servers {
			if _, err := check(s.srv.base, s.w); err != nil {
				return err
			}
			if o.warmup > 0 {
				if _, err := wrk(o, dir, s.srv.base, s.w, o.warmup); err != nil {
					return err
				}
			}
		}
		for round := range o.rounds {
			var p pair
			order := []int{0, 1}
			if round%2 == 1 {
				order = []int{1, 0}
			}
			for _, k := range order {
				s := servers[k]
				fmt.Fprintf(os.Stderr, "%s on %s (round %d of %d)…\n", s.w.name(), s.srv.base, round+1, o.rounds)
				res, err := wrk(o, dir, s.srv.base, s.w, o.duration)
				if err != nil {
					return err
				}
				if res.errors > 0 {
					failed = true
				}
				if k == 0 {
					p.emu = res
				} else {
					p.base = res
				}
			}
			rounds = append(rounds, p)
		}
		for _, p := range rounds { // in the order they ran
			r.ratios = append(r.ratios, p.emu.rps/p.base.rps)
			r.emu.errors += p.emu.errors
		}
		slices.SortFunc(rounds, func(a, b pair) int { return cmp.Compare(a.emu.rps/a.base.rps, b.emu.rps/b.base.rps) })
		mid := rounds[len(rounds)/2]
		errs := r.emu.errors
		r.emu, r.base = mid.emu, mid.base
		r.emu.errors = errs
		rows = append(rows, r)
	}

	var out strings.Builder
	fmt.Fprintf(&out, "tokenemu load benchmark, %s: %s, %d CPUs, %s/%s, %s; GOMAXPROCS %d for both servers; wrk -t%d -c%d; %d round(s) of %v per server and workload, after a %v warm-up; the round with the median ratio shown\n\n",
		time.Now().UTC().Format("2006-01-02"), cpuModel(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(),
		o.procs, o.threads, o.connections, o.rounds, o.duration, o.warmup)
	fmt.Fprintln(&out, "| vendor | workload | tokenemu req/s | p50 | p99 | errors (all rounds) | baseline req/s | baseline p99 | ratio | every round, in order |")
	fmt.Fprintln(&out, "|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, r := range rows {
		every := make([]string, len(r.ratios))
		for i, x := range r.ratios {
			every[i] = fmt.Sprintf("%.2f", x)
		}
		fmt.Fprintf(&out, "| %s | %s %s | %.0f | %s | %s | %d | %.0f | %s | %.2f | %s |\n", r.w.vendor, r.w.kind, r.w.what,
			r.emu.rps, ms(r.emu.p50), ms(r.emu.p99), r.emu.errors, r.base.rps, ms(r.base.p99), r.emu.rps/r.base.rps, strings.Join(every, " "))
	}
	if cost, ok := tenantCost(rows); ok {
		fmt.Fprintf(&out, "\nTenant prefix: Passport's W2 in a tenant (/t/bench/…) at %.2f of its ratio at the root: it costs %.1f%% of W2's throughput.\n", 1-cost, 100*cost)
	}
	fmt.Fprintf(&out, "\nStart-up: binary exec to a 200 from /_emulator/healthz, median of %d: %.1f ms. Idle RSS after start and 10 requests: %.1f MiB.\n",
		o.startups, float64(startTime.Microseconds())/1000, float64(rss)/(1<<20))
	fmt.Print(out.String())
	if o.readme != "" {
		if err := writeBetween(o.readme, out.String()); err != nil {
			return err
		}
	}
	if failed {
		return errors.New("some requests failed (non-2xx answers or socket errors): see the errors column")
	}
	return nil
}

// tenantCost is what the tenant prefix costs Passport's W2: one less the
// ratio of its ratio in a tenant to its ratio at the root (each to the
// baseline measured beside it, so the host's drift cancels).
func tenantCost(rows []row) (float64, bool) {
	var root, tenant float64
	for _, r := range rows {
		w, x := r.w, r.emu.rps/r.base.rps
		switch {
		case w.vendor != passport.Name || w.kind != "W2" || strings.Contains(w.what, "{"):
		case strings.HasPrefix(w.path, "/t/"):
			tenant = x
		default:
			root = x
		}
	}
	if root == 0 || tenant == 0 {
		return 0, false
	}
	return 1 - tenant/root, true
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// startup starts the binary n times and returns the median time from exec to
// a 200 from /_emulator/healthz, and the idle RSS of the last one (after a
// few requests and a second of rest).
func startup(bin string, n int) (time.Duration, int64, error) {
	var times []time.Duration
	var rss int64
	client := &http.Client{Timeout: time.Second}
	for i := range n {
		// start waits for the banner's first line (printed once the port is
		// open) before the first request: polling a closed port every
		// 200 µs took CPU from the start it was timing, on a 2-core machine.
		begin := time.Now()
		s, err := start(nil, bin, "-addr", "127.0.0.1:0", "-log-level", "error")
		if err != nil {
			return 0, 0, err
		}
		for {
			resp, err := client.Get(s.base + "/_emulator/healthz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			if time.Since(begin) > 10*time.Second {
				_ = s.cmd.Process.Kill()
				return 0, 0, errors.New("the emulator did not become healthy in 10 s")
			}
			time.Sleep(200 * time.Microsecond)
		}
		times = append(times, time.Since(begin))
		if i == n-1 {
			for range 10 {
				if resp, err := client.Get(s.base + "/passport/v1/core/accounts"); err == nil {
					resp.Body.Close()
				}
			}
			time.Sleep(time.Second)
			rss = vmRSS(s.cmd.Process.Pid)
		}
		s.stop()
	}
	slices.Sort(times)
	return times[len(times)/2], rss, nil
}

// vmRSS reads a process's resident set in bytes (Linux).
func vmRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// The lines of a file between which the bench writes its latest results.
const (
	beginMark = "<!-- bench:begin -->"
	endMark   = "<!-- bench:end -->"
)

// writeBetween replaces what file holds between beginMark and endMark.
func writeBetween(file, text string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	s := string(b)
	i, j := strings.Index(s, beginMark), strings.Index(s, endMark)
	if i < 0 || j < i {
		return fmt.Errorf("%s: no %s … %s lines to write between", file, beginMark, endMark)
	}
	s = s[:i+len(beginMark)] + "\n" + text + s[j:]
	return os.WriteFile(file, []byte(s), 0o644)
}
