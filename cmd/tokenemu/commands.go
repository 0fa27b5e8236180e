package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The command line is built on cobra (github.com/spf13/cobra): commands with
// their own help, "did you mean" for a mistyped command, shell completion
// for bash, zsh, fish and PowerShell, and global flags that go before or
// after the command. Flags keep Go's single-dash spelling (-url) as well as
// the double dash (--url): normalizeArgs rewrites the one into the other.

// globals are the flags of every command that drives a running emulator.
type globals struct {
	url, adminToken string
	tenant          string
	json            bool
	timeout         time.Duration
}

// env is what a command reads from its surroundings, explicit for tests.
type cliEnv struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	setProcs       func(int) int
}

// newRoot builds the command tree.
func newRoot(ctx context.Context, e cliEnv) *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "tokenemu",
		Short: "An in-memory emulator of PassKit, Brass, Passport and TeleTracker API tokens",
		Long: `tokenemu emulates the API token schemes of PassKit, Brass, Passport and TeleTracker in
memory, for tests and manual QA. "tokenemu" alone (or "tokenemu serve") runs it; the other
commands drive a running one through its admin plane (-url, -admin-token), except
"scenarios list|show|validate", "version" and "completion", which need none.

Environment: serve's flags can be set as TOKENEMU_<FLAG> (-admin-token as
TOKENEMU_ADMIN_TOKEN); the global flags as TOKENEMU_URL, TOKENEMU_ADMIN_TOKEN,
TOKENEMU_TENANT, TOKENEMU_JSON and TOKENEMU_TIMEOUT. A command's own flags have no variable, so that
serve's TOKENEMU_STATE never reaches "tokens list -state". A flag on the command line wins.`,
		Version:           versionString(),
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: false},
	}
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetContext(ctx)
	root.SetVersionTemplate("{{.Version}}\n")
	pf := root.PersistentFlags()
	pf.StringVar(&g.url, "url", "http://127.0.0.1:8080", "base URL of the running emulator")
	pf.StringVar(&g.adminToken, "admin-token", "", "the emulator's -admin-token, if it has one")
	pf.StringVar(&g.tenant, "tenant", "", "drive this tenant (its URLs below /t/TENANT) instead of the emulator at the root")
	pf.BoolVar(&g.json, "json", false, "print JSON instead of text")
	pf.DurationVar(&g.timeout, "timeout", 10*time.Second, "how long to wait for an answer")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usagef("%v (%s -h lists the flags)", err, c.CommandPath())
	})

	root.AddCommand(
		newServeCmd(e),
		newHealthcheckCmd(e, g),
		&cobra.Command{
			Use: "version", Short: "Print the version", Args: noArgs,
			RunE: func(*cobra.Command, []string) error { fmt.Fprintln(e.stdout, versionString()); return nil },
		},
	)
	for _, spec := range []adminSpec{clockCommand(), resetCommand(), stateCommand(), scenariosCommand(), tokensCommand(), journalCommand(), passportCommand()} {
		root.AddCommand(adminCmd(e, g, spec))
	}
	return root
}

// noArgs refuses positional arguments as a usage error.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments, not %q", c.CommandPath(), args[0])
	}
	return nil
}

// adminSpec is a command that drives a running emulator.
type adminSpec struct {
	use, short, long string
	words            []string // the first argument's values, for completion
	extra            func(*flag.FlagSet)
	do               func(ctx context.Context, c *adminClient, pos []string) error
}

// adminCmd turns a spec into a command: its own flags, then the global ones,
// which the environment can set.
func adminCmd(e cliEnv, g *globals, s adminSpec) *cobra.Command {
	name, _, _ := strings.Cut(s.use, " ")
	c := &cobra.Command{Use: s.use, Short: s.short, Long: s.long, ValidArgs: s.words, Args: cobra.ArbitraryArgs}
	if s.extra != nil {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		s.extra(fs)
		c.Flags().AddGoFlagSet(fs)
	}
	c.RunE = func(cmd *cobra.Command, pos []string) error {
		if err := globalsFromEnv(cmd, g, e.getenv); err != nil {
			return err
		}
		base := g.url
		if g.tenant != "" {
			base = strings.TrimRight(base, "/") + "/t/" + url.PathEscape(g.tenant)
		}
		client := &adminClient{base: base, token: g.adminToken, json: g.json, timeout: g.timeout, stdout: e.stdout, stderr: e.stderr}
		return s.do(cmd.Context(), client, pos)
	}
	return c
}

// globalsFromEnv fills the global flags the command line did not give from
// their TOKENEMU_* variables.
func globalsFromEnv(cmd *cobra.Command, g *globals, getenv func(string) string) error {
	var err error
	cmd.Root().PersistentFlags().VisitAll(func(f *pflag.Flag) {
		if err != nil || cmd.Flags().Changed(f.Name) {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if serr := f.Value.Set(v); serr != nil {
				err = usagef("%s=%q: %v", envName(f.Name), v, serr)
			}
		}
	})
	return err
}

// newHealthcheckCmd exits 0 when the emulator at -url answers its health
// check; it waits 2 s unless -timeout says otherwise.
func newHealthcheckCmd(e cliEnv, g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "healthcheck [-url URL] [-timeout D]", Short: "Exit 0 when the emulator at -url answers /_emulator/healthz (2 s at most by default)",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := globalsFromEnv(cmd, g, e.getenv); err != nil {
				return err
			}
			timeout := g.timeout
			if !cmd.Flags().Changed("timeout") && e.getenv("TOKENEMU_TIMEOUT") == "" {
				timeout = 2 * time.Second
			}
			if code := runHealthcheck(cmd.Context(), g.url, timeout, e.stdout, e.stderr); code != exitOK {
				return exitCode(code)
			}
			return nil
		},
	}
}

// exitCode is an error that has been reported already and says how to exit.
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit %d", int(c)) }

// run is the whole program, with its inputs made explicit for tests. setProcs
// is runtime.GOMAXPROCS in the binary: serve reads and sets how many CPUs run
// Go code through it, so that tests serving in-process can pass a stand-in
// and leave the test binary's own setting alone.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string, setProcs func(int) int) int {
	root := newRoot(ctx, cliEnv{stdout: stdout, stderr: stderr, getenv: getenv, setProcs: setProcs})
	norm, err := normalizeArgs(root, args)
	if err == nil {
		root.SetArgs(norm)
		err = root.Execute()
	}
	var code exitCode
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &code):
		return int(code)
	case errors.As(err, &ue), strings.HasPrefix(err.Error(), "unknown command"), strings.HasPrefix(err.Error(), "unknown flag"),
		strings.Contains(err.Error(), "arg(s)"):
		fmt.Fprintf(stderr, "tokenemu: %v\n", strings.TrimRight(err.Error(), "\n"))
		return exitUsage
	default:
		fmt.Fprintf(stderr, "tokenemu: %v\n", err)
		return exitFail
	}
}

// normalizeArgs makes args what cobra reads: -name (Go's spelling) becomes
// --name for every flag the tree knows; an argument that starts with "-",
// names no flag and is as long as a token is a token (base64url tokens may
// start with "-"), moved after "--"; and a command line with no command runs
// serve.
func normalizeArgs(root *cobra.Command, args []string) ([]string, error) {
	takes := map[string]bool{"help": false, "h": false, "version": false} // flag → takes a value
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, fs := range []*pflag.FlagSet{c.Flags(), c.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) { takes[f.Name] = f.NoOptDefVal == "" })
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	var out, tokens []string
	command := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			out = append(out, args[i:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			if command == "" {
				command = a
			}
			out = append(out, a)
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if _, known := takes[name]; !known {
			// A negative number or duration (clock advance -1h), or a
			// token: a positional that starts with "-".
			if (len(a) >= 20 && !hasValue) || (len(a) > 1 && a[1] >= '0' && a[1] <= '9') {
				tokens = append(tokens, a)
				continue
			}
			if len(name) > 1 {
				where := cmp.Or(command, "serve")
				return nil, usagef("unknown flag: %s (tokenemu %s -h lists the flags)", a, where)
			}
		}
		if !strings.HasPrefix(a, "--") && len(name) > 1 {
			a = "-" + a
		}
		out = append(out, a)
		if takes[name] && !hasValue && i+1 < len(args) {
			i++
			out = append(out, args[i])
		}
	}
	if len(tokens) > 0 {
		if !slices.Contains(out, "--") {
			out = append(out, "--")
		}
		out = append(out, tokens...)
	}
	// No command: serve, unless the line only asks for help or the version
	// (tokenemu -h); serve's own flags with -h are serve's help.
	onlyAsks := len(out) > 0 && !slices.ContainsFunc(out, func(a string) bool {
		return !slices.Contains([]string{"--help", "-h", "--version", "-v"}, a)
	})
	if command == "" && !onlyAsks {
		out = append([]string{"serve"}, out...)
	}
	return out, nil
}

// newServeCmd runs the emulator. Its flags are Go flags, parsed by serve
// itself (they are many, generated from the vendors' settings, and each has
// a TOKENEMU_* variable); they are also on the command so that completion
// and normalizeArgs know them.
func newServeCmd(e cliEnv) *cobra.Command {
	c := &cobra.Command{
		Use:                "serve [flags]",
		Short:              "Run the emulator (the default command)",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if code := runServe(cmd.Context(), args, e.stdout, e.stderr, e.getenv, e.setProcs); code != exitOK {
				return exitCode(code)
			}
			return nil
		},
	}
	var o serveOptions
	fs, _, _ := serveFlags(&o)
	c.Flags().AddGoFlagSet(fs)
	return c
}
