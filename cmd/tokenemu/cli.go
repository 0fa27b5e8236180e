package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/adminclient"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
	"github.com/tokenemu/tokenemu/emulator/vendors"
)

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// serveOptions are the serve command's settings.
type serveOptions struct {
	addr         string
	allowedHosts []string
	seed         int64
	fixtures     string
	logFormat    string
	logLevel     slog.Level
	adminToken   string
	// settings are the vendors' settings given as flags (-<vendor>-<setting>),
	// by emulator.Config.Settings's key (<vendor>.<setting>).
	settings       map[string]string
	journalSize    int
	maxConns       int
	maxTenants     int
	tenantTTL      time.Duration
	tenantMemory   int64
	tenantAuto     bool
	idleExit       time.Duration
	retention      time.Duration
	journalBytes   int64
	journalWaiters int
	scenarios      []string
	clockAt        time.Time
	cpuProfile     string
	stateFile      string
	stateInterval  time.Duration
	stateFresh     bool
	procs          int
}

// listFlag is a repeatable string flag; from the environment it takes a
// comma-separated list.
type listFlag struct{ v *[]string }

func (l listFlag) String() string {
	if l.v == nil {
		return ""
	}
	return strings.Join(*l.v, ",")
}

func (l listFlag) Set(s string) error {
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l.v = append(*l.v, part)
		}
	}
	return nil
}

// envName is the environment variable that sets a flag: -admin-token → TOKENEMU_ADMIN_TOKEN.
func envName(flagName string) string {
	return "TOKENEMU_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseFlags parses args into fs, then fills every flag not given on the command
// line from its TOKENEMU_* environment variable.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return fillFromEnv(fs, getenv)
}

// fillFromEnv sets every flag of a parsed fs that the command line did not
// give from its TOKENEMU_* environment variable.
func fillFromEnv(fs *flag.FlagSet, getenv func(string) string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = fmt.Errorf("%s=%q: %w", envName(f.Name), v, serr)
			}
		}
	})
	return err
}

// parseServe turns the serve command's arguments and environment into options.
// It is pure: no files are read and nothing is started.
func parseServe(args []string, getenv func(string) string, out io.Writer) (serveOptions, error) {
	var o serveOptions
	fs, level, clockAt := serveFlags(&o)
	fs.SetOutput(io.Discard) // an error is one line, printed by the caller
	if err := parseFlags(fs, args, getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(out)
			fs.Usage()
		}
		return o, err
	}
	return o, o.check(*level, *clockAt)
}

// serveFlags defines serve's flags on a new flag set, into o.
func serveFlags(o *serveOptions) (fs *flag.FlagSet, level, clockAt *string) {
	fs = flag.NewFlagSet("tokenemu serve", flag.ContinueOnError)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address (host:port; port 0 picks a free port)")
	fs.Int64Var(&o.seed, "seed", emulator.DefaultSeed, "seed of the fake data; the same seed gives the same data")
	fs.StringVar(&o.fixtures, "fixtures", "", "YAML or JSON file of users, clients and accounts (replaces the defaults, vendor by vendor)")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	level = fs.String("log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&o.adminToken, "admin-token", "", "when set, /_emulator/* (except healthz) needs Authorization: Bearer <token>")
	fs.Var(listFlag{&o.allowedHosts}, "allowed-hosts", "a Host name answered besides localhost and IP addresses (any other gets 403: DNS rebinding), e.g. a compose service name; without -admin-token on a non-loopback address too; repeatable or comma-separated")
	fs.DurationVar(&o.retention, "retention", emulator.DefaultRetention, "how long a revoked or expired token is kept (and refused as such, not as unknown) before it is swept, on the virtual clock")
	vendorFlags(fs, o)
	fs.IntVar(&o.maxConns, "max-connections", emulator.DefaultMaxConnections, "connections held open at once (each may hold a request body of up to 1 MiB); more wait to be accepted")
	fs.IntVar(&o.maxTenants, "max-tenants", emulator.DefaultMaxTenants, "tenants at once (POST /_emulator/tenants; each a whole emulator below /t/{id}); one more gets 409")
	fs.DurationVar(&o.tenantTTL, "tenant-ttl", emulator.DefaultTenantTTL, "how long a tenant may go unused (real time) before it is deleted")
	fs.Int64Var(&o.tenantMemory, "tenant-memory", emulator.DefaultTenantMemory, "each tenant's memory budget in bytes: a quarter for its journal, a quarter for its vendors' tables, the rest for its tokens (256 bytes each); an issue past it gets 429 token_budget")
	fs.DurationVar(&o.idleExit, "idle-exit", 0, "exit (0) when no request has come for this long, real time (a container its test process pings, which outlives that process otherwise); 0 never")
	fs.BoolVar(&o.tenantAuto, "tenant-auto", false, "create a tenant, with the defaults, at the first request to /t/{id}/… for an id that does not exist (instead of a 404): with -admin-token, only a request that carries it; without, anyone who reaches the port, up to -max-tenants")
	fs.IntVar(&o.journalSize, "journal-size", emulator.DefaultJournalSize, "requests the journal keeps (GET /_emulator/journal); the oldest go first")
	fs.Int64Var(&o.journalBytes, "journal-bytes", emulator.DefaultJournalBytes, "memory the journal's entries may take, in bytes; the oldest go first")
	fs.IntVar(&o.journalWaiters, "journal-waiters", emulator.DefaultJournalWaiters, "journal long polls (wait=) that may wait at once; one more gets 429")
	clockAt = fs.String("clock", "", "start the virtual clock at this RFC 3339 time (it runs from there, and a reset puts it back there)")
	fs.StringVar(&o.stateFile, "state", "", "keep the state (tokens, PATs, refresh tokens, accounts made through the APIs, scenarios, clock) in this file: restored at start, saved atomically every -state-interval and at shutdown")
	fs.DurationVar(&o.stateInterval, "state-interval", emulator.DefaultStateInterval, "how often -state is saved (when something was served since the last save)")
	fs.BoolVar(&o.stateFresh, "state-fresh", false, "start with fresh state when the -state file cannot be restored (corrupt, another version, another -seed or -fixtures); it is overwritten")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile (go tool pprof) to this file until shutdown")
	fs.IntVar(&o.procs, "procs", 0, "how many CPUs run the emulator (GOMAXPROCS); 0: half of those available, at least 1, unless GOMAXPROCS is set in the environment")
	fs.Var(listFlag{&o.scenarios}, "scenario", "activate a scenario at start: a YAML/JSON file or a built-in name (NAME or NAME:VENDOR); repeatable")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: tokenemu [serve] [flags]\n\nRuns the emulator. Each flag can also be set as TOKENEMU_<NAME> in the environment\n(-admin-token as TOKENEMU_ADMIN_TOKEN); \"tokenemu -h\" lists the other commands.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	return fs, level, clockAt
}

// check validates the parsed options.
func (o *serveOptions) check(level, clockAt string) error {
	if o.seed == 0 {
		return errors.New("-seed: 0 is not a seed (it would make every run different); pick any other number")
	}
	if o.logFormat != "text" && o.logFormat != "json" {
		return fmt.Errorf("-log-format %q: want text or json", o.logFormat)
	}
	if err := o.logLevel.UnmarshalText([]byte(level)); err != nil {
		return fmt.Errorf("-log-level %q: want debug, info, warn or error", level)
	}
	if _, _, err := net.SplitHostPort(o.addr); err != nil {
		return fmt.Errorf("-addr %q: %w", o.addr, err)
	}
	if o.maxConns < 1 || o.maxConns > 1_000_000 {
		return fmt.Errorf("-max-connections %d: want 1 to 1000000", o.maxConns)
	}
	if o.retention <= 0 || o.retention > emulator.MaxLifetime {
		return fmt.Errorf("-retention %v: want 1s to %v (100 years)", o.retention, emulator.MaxLifetime)
	}
	if clockAt != "" {
		t, err := time.Parse(time.RFC3339, clockAt)
		if err != nil {
			return fmt.Errorf("-clock %q: want an RFC 3339 time such as 2030-01-01T00:00:00Z", clockAt)
		}
		o.clockAt = t
	}
	for name, bad := range map[string]bool{"-max-tenants": o.maxTenants < 1, "-tenant-ttl": o.tenantTTL <= 0, "-tenant-memory": o.tenantMemory <= 0} {
		if bad {
			return fmt.Errorf("%s must be positive", name)
		}
	}
	if err := o.tenantLimits().Validate(); err != nil {
		return err
	}
	if o.idleExit < 0 || (o.idleExit > 0 && o.idleExit < time.Second) {
		return fmt.Errorf("-idle-exit %v: want 0 (never) or at least 1s", o.idleExit)
	}

	if o.journalSize < 1 || o.journalSize > 10_000_000 {
		return fmt.Errorf("-journal-size %d: want 1 to 10000000", o.journalSize)
	}
	if o.journalBytes < 64<<10 || o.journalBytes > 16<<30 {
		return fmt.Errorf("-journal-bytes %d: want 65536 (64 KiB) to 17179869184 (16 GiB)", o.journalBytes)
	}
	if o.journalWaiters < 1 || o.journalWaiters > 10_000 {
		return fmt.Errorf("-journal-waiters %d: want 1 to 10000", o.journalWaiters)
	}
	if o.stateInterval <= 0 {
		return fmt.Errorf("-state-interval %v: must be positive", o.stateInterval)
	}
	if o.procs < 0 || o.procs > 4096 {
		return fmt.Errorf("-procs %d: want 1 to 4096, or 0 for half of the CPUs", o.procs)
	}
	// The vendors' settings are checked as New checks them: one
	// Config.Validate, so that a value means the same on both sides.
	if err := (emulator.Config{Settings: o.settings}).Validate(); err != nil {
		return err
	}
	return nil
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string, setProcs func(int) int) (code int) {
	o, err := parseServe(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "tokenemu serve: %v (tokenemu serve -h lists the flags)\n", err)
		return exitUsage
	}
	cfg := emulator.Config{
		AllowedHosts:   o.hostsAllowed(),
		Seed:           o.seed,
		AdminToken:     o.adminToken,
		JournalSize:    o.journalSize,
		JournalBytes:   o.journalBytes,
		JournalWaiters: o.journalWaiters,
		State:          emulator.StateConfig{File: o.stateFile, Interval: o.stateInterval, Fresh: o.stateFresh},
		Logger:         newLogger(stderr, o.logFormat, o.logLevel),
		Retention:      o.retention,
		Settings:       o.settings,
	}
	if o.fixtures != "" {
		f, err := emulator.LoadFixtures(o.fixtures)
		if err != nil {
			fmt.Fprintf(stderr, "tokenemu: %v\n", err)
			return exitUsage
		}
		cfg.Fixtures = f
	}
	cfg.ClockStart = o.clockAt
	if cfg.Scenarios, err = loadScenarios(o.scenarios); err != nil {
		fmt.Fprintf(stderr, "tokenemu: %v\n", err)
		return exitUsage
	}
	// Building the emulator allocates about 20 MB that is garbage at once
	// (parsed YAML); collecting it while it is built only slows the start.
	gc := debug.SetGCPercent(-1)
	emu, err := emulator.New(cfg)
	debug.SetGCPercent(gc)
	if errors.Is(err, emulator.ErrStateMismatch) {
		fmt.Fprintf(stderr, "tokenemu: %v\n(-state-fresh starts with fresh state instead and overwrites the file)\n", err)
		return exitUsage
	}
	if err != nil {
		fmt.Fprintf(stderr, "tokenemu: %v\n", err)
		return exitUsage
	}
	// The tenants, those of the state file among them, before anything
	// is served; when they cannot be made, the file is left as it is.
	tenants, err := emulator.NewTenants(emu, cfg, o.tenantLimits())
	if err != nil {
		_ = emu.Close()
		if errors.Is(err, emulator.ErrStateMismatch) {
			fmt.Fprintf(stderr, "tokenemu: state file %s: %v\n(-state-fresh starts with fresh state instead and overwrites the file)\n", o.stateFile, err)
		} else {
			fmt.Fprintf(stderr, "tokenemu: %v\n", err)
		}
		return exitUsage
	}
	defer func() {
		// Close saves the state one last time, after the server has drained.
		// If that save fails, what was served is lost: the exit says so.
		if err := emu.Close(); err != nil {
			fmt.Fprintf(stderr, "tokenemu: the final save failed; the state since the last good save is lost: %v\n", err)
			if code == exitOK {
				code = exitFail
			}
		}
	}()

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		fmt.Fprintf(stderr, "tokenemu: listen: %v\n", err)
		return exitFail
	}
	base := "http://" + ln.Addr().String()
	procs := applyProcs(o.procs, getenv, setProcs)
	printBanner(stdout, base, procs, emu)
	if !o.isLoopback() && o.adminToken == "" {
		cfg.Logger.Warn("listening on a non-loopback address without -admin-token: anyone who can reach it can control the emulator", "addr", o.addr)
	}
	if o.adminToken != "" && len(o.adminToken) < 16 {
		cfg.Logger.Warn("the -admin-token is shorter than 16 characters: a client can guess it (the admin plane does not slow guesses down)")
	}

	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "tokenemu: -cpuprofile: %v\n", err)
			return exitUsage
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "tokenemu: -cpuprofile: %v\n", err)
			return exitUsage
		}
		defer pprof.StopCPUProfile()
	}
	handler := tenants.Handler()
	if o.idleExit > 0 {
		var idle context.CancelFunc
		ctx, idle = context.WithCancel(ctx)
		defer idle()
		handler = exitWhenIdle(ctx, handler, o.idleExit, func() {
			cfg.Logger.Info("no request for -idle-exit: exiting", "idle_exit", o.idleExit.String())
			idle()
		})
	}
	srv := emulator.NewHTTPServer(handler)
	srv.RegisterOnShutdown(tenants.EndWaits) // an idle long poll must not hold the shutdown up
	srv.ErrorLog = slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(emulator.LimitListener(ln, o.maxConns)) }()
	select {
	case err := <-serveErr:
		fmt.Fprintf(stderr, "tokenemu: serve: %v\n", err)
		return exitFail
	case <-ctx.Done():
	}
	cfg.Logger.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		fmt.Fprintf(stderr, "tokenemu: shutdown: %v\n", err)
		return exitFail
	}
	return exitOK
}

// tenantLimits are the tenants' flags.
func (o *serveOptions) tenantLimits() emulator.TenantLimits {
	return emulator.TenantLimits{Max: o.maxTenants, IdleTTL: o.tenantTTL, Memory: o.tenantMemory, AutoCreate: o.tenantAuto}
}

// exitWhenIdle serves h and calls exit once no request has been in flight
// for idle (real time), checking a few times per idle period, until ctx
// ends. A request in flight (a long poll) is not idleness.
func exitWhenIdle(ctx context.Context, h http.Handler, idle time.Duration, exit func()) http.Handler {
	var last, inFlight atomic.Int64
	last.Store(time.Now().UnixNano())
	go func() {
		tick := time.NewTicker(max(idle/8, 100*time.Millisecond))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				if inFlight.Load() == 0 && now.Sub(time.Unix(0, last.Load())) >= idle {
					exit()
					return
				}
			}
		}
	}()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inFlight.Add(1)
		defer func() {
			last.Store(time.Now().UnixNano())
			inFlight.Add(-1)
		}()
		h.ServeHTTP(w, r)
	})
}

// applyProcs sets how many CPUs run Go code and returns that number. An
// emulator always shares its machine with whatever drives it (a test suite, a
// load generator, a container's neighbours), so by default it takes half of
// the CPUs Go would use, at least one: on two cores, a server that takes both
// takes turns on them with its client, and the turns become the latency tail
// (README, Performance). -procs N takes N; GOMAXPROCS in the environment, when
// -procs is not given, is left as the runtime applied it.
func applyProcs(flagProcs int, getenv func(string) string, setProcs func(int) int) int {
	procs := setProcs(0) // reads: the runtime's default, or GOMAXPROCS from the environment
	switch {
	case flagProcs > 0:
		procs = flagProcs
	case getenv("GOMAXPROCS") != "":
		return procs
	default:
		procs = max(1, procs/2)
	}
	setProcs(procs)
	return procs
}

// vendorFlags defines a flag -<vendor>-<setting> for each setting of each
// vendor of the registry (package vendors), which sets o.settings's
// "<vendor>.<setting>". The vendor checks the value (Config.Validate).
func vendorFlags(fs *flag.FlagSet, o *serveOptions) {
	o.settings = map[string]string{}
	for _, d := range vendors.All() {
		for _, s := range d.Settings {
			f := settingFlag{settings: o.settings, key: d.Name + "." + s.Name, def: s.Default}
			fs.Var(f, d.Name+"-"+s.Name, d.Name+": "+s.Usage)
		}
	}
}

// settingFlag is a vendor's setting as a flag.
type settingFlag struct {
	settings map[string]string
	key      string
	def      string
}

func (f settingFlag) String() string {
	if f.settings == nil { // flag's zero value, for PrintDefaults
		return ""
	}
	if v, ok := f.settings[f.key]; ok {
		return v
	}
	return f.def
}

func (f settingFlag) Set(v string) error {
	f.settings[f.key] = v
	return nil
}

// IsBoolFlag lets a setting that is true or false be given as -name alone.
func (f settingFlag) IsBoolFlag() bool { return f.def == "true" || f.def == "false" }

// hostsAllowed is Config.AllowedHosts: localhost and -allowed-hosts (and
// any IP address). A container listens on 0.0.0.0 but is most often
// published on the host's loopback, where a web page can rebind a name to
// it just the same; only with -admin-token, which such a page cannot send,
// does a server on another address answer every name (nil).
func (o serveOptions) hostsAllowed() []string {
	if !o.isLoopback() && o.adminToken != "" {
		return nil
	}
	return append(emulator.LoopbackHosts(), o.allowedHosts...)
}

func (o serveOptions) isLoopback() bool {
	host, _, _ := net.SplitHostPort(o.addr)
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func newLogger(w io.Writer, format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// printBanner tells the user where each vendor is and how to log in. It writes
// the banner in one Write so that it never interleaves with log lines.
func printBanner(out io.Writer, base string, procs int, emu *emulator.Emulator) {
	w := &strings.Builder{}
	defer func() { _, _ = io.WriteString(out, w.String()) }()
	fmt.Fprintf(w, "tokenemu %s listening on %s (GOMAXPROCS %d)\n\n", versionString(), base, procs)
	for _, name := range emu.VendorNames() {
		fmt.Fprintf(w, "  %-12s %s/%s\n", name, base, name)
		v, _ := emu.Vendor(name)
		if b, ok := v.(vendorapi.Bannerer); ok {
			for _, line := range b.Banner(base) {
				fmt.Fprintf(w, "  %-12s %s\n", "", line)
			}
		}
	}
	fmt.Fprintf(w, "  admin        %s/_emulator  (OpenAPI documents at %s/_emulator/openapi/{name}.yaml)\n", base, base)
	fmt.Fprintf(w, "  console      %s/_emulator/ui\n", base)
	fmt.Fprintf(w, "  tenants      POST %s/_emulator/tenants, then the same URLs below %s/t/{id}\n\n", base, base)
}

// version is stamped by the release build (-ldflags "-X main.version=v1.2.3");
// otherwise the module's version, or (devel), is shown.
var version string

func versionString() string {
	v := "(devel)"
	bi, ok := debug.ReadBuildInfo()
	switch {
	case version != "":
		v = version
	case ok && bi.Main.Version != "":
		v = bi.Main.Version
	}
	if ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " " + s.Value[:12]
			}
		}
	}
	return v + " " + runtime.Version()
}

// runHealthcheck asks the emulator at url for its health (the image's
// HEALTHCHECK runs it).
func runHealthcheck(ctx context.Context, url string, timeout time.Duration, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	api, err := adminclient.NewClient(strings.TrimRight(url, "/") + "/_emulator")
	if err != nil {
		fmt.Fprintf(stderr, "tokenemu healthcheck: %v\n", err)
		return exitUsage
	}
	resp, err := api.Health(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "tokenemu healthcheck: no emulator answering at %s: %v\n", url, err)
		return exitFail
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "tokenemu healthcheck: %s answered %s\n", url, resp.Status)
		return exitFail
	}
	fmt.Fprintln(stdout, "ok")
	return exitOK
}
