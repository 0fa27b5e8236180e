package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/adminclient"
	"github.com/tokenemu/tokenemu/emulator/passport"
	"github.com/tokenemu/tokenemu/scenarios"
)

// maxAnswer is the largest admin answer the CLI reads; a larger one is an
// error, never a cut answer printed as if whole.
const maxAnswer = 64 << 20

// timedOut reports whether a request failed because its time ran out.
func timedOut(ctx context.Context, err error) bool {
	var ne net.Error
	// Only the call's own deadline: an interrupt (the parent cancelled) is
	// no timeout.
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// errNotRunning is an admin command's error when nothing answers at -url.
var errNotRunning = errors.New("no emulator answering")

// cliError is an error already phrased for the user.
type cliError struct{ msg string }

func (e *cliError) Error() string { return e.msg }

// adminClient talks to a running emulator's /_emulator plane.
type adminClient struct {
	base    string
	token   string
	json    bool
	timeout time.Duration
	stdout  io.Writer
	stderr  io.Writer
	client  *http.Client
}

// api is the generated client of the admin plane (package adminclient).
type api = adminclient.Client

// call runs one call of the generated admin client, named what ("GET
// /clock") in messages, within -timeout, and returns the body of a 2xx
// answer; any other answer becomes an error carrying the emulator's message.
func (c *adminClient) call(ctx context.Context, what string, do func(ctx context.Context, a *api) (*http.Response, error)) ([]byte, error) {
	if c.client == nil {
		c.client = &http.Client{}
	}
	base := strings.TrimRight(c.base, "/")
	a, err := adminclient.NewClient(base+"/_emulator", adminclient.WithHTTPClient(c.client),
		adminclient.WithRequestEditorFn(adminclient.Auth(c.token)))
	if err != nil {
		return nil, &cliError{fmt.Sprintf("bad -url %q: %v", c.base, err)}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	resp, err := do(ctx, a)
	if err != nil {
		var ue *url.Error
		if !errors.As(err, &ue) || ue.Op == "parse" {
			return nil, &cliError{fmt.Sprintf("bad -url %q: %v", c.base, err)} // the request could not be made
		}
		if timedOut(ctx, err) {
			return nil, &cliError{fmt.Sprintf("%s timed out after %v without an answer from %s (-timeout sets the wait)", what, c.timeout, base)}
		}
		return nil, fmt.Errorf("%w at %s (start one with: tokenemu serve)", errNotRunning, base)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		if timedOut(ctx, err) {
			return nil, &cliError{fmt.Sprintf("%s timed out after %v reading the answer from %s (-timeout sets the wait)", what, c.timeout, base)}
		}
		return nil, fmt.Errorf("read answer from %s: %w", base, err)
	}
	if len(b) > maxAnswer {
		return nil, &cliError{fmt.Sprintf("%s: the answer is larger than %d MiB; narrow it (filters, -limit)", what, maxAnswer>>20)}
	}
	if resp.StatusCode/100 != 2 {
		var e struct{ Error, Message string }
		if json.Unmarshal(b, &e) == nil && e.Message != "" {
			hint := ""
			if resp.StatusCode == http.StatusUnauthorized {
				hint = "; the CLI sends the token given as -admin-token or TOKENEMU_ADMIN_TOKEN"
			}
			return nil, &cliError{fmt.Sprintf("%s (%d %s)%s", e.Message, resp.StatusCode, e.Error, hint)}
		}
		return nil, &cliError{fmt.Sprintf("%s answered %s", what, resp.Status)}
	}
	return b, nil
}

// jsonBody is v as a request body.
func jsonBody(v any) (io.Reader, error) {
	b, err := json.Marshal(v)
	return bytes.NewReader(b), err
}

func ptr[T any](v T) *T { return &v }

// opt is s, or nil when s is empty (a parameter left out).
func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// printJSON writes an answer as indented JSON.
func (c *adminClient) printJSON(b []byte) {
	var buf bytes.Buffer
	if json.Indent(&buf, bytes.TrimSpace(b), "", "  ") != nil {
		buf.Reset()
		buf.Write(bytes.TrimSpace(b))
	}
	buf.WriteByte('\n')
	_, _ = c.stdout.Write(buf.Bytes())
}

// rules is "1 rule" or "n rules".
func rules(n int) string {
	if n == 1 {
		return "1 rule"
	}
	return fmt.Sprintf("%d rules", n)
}

// answer prints an admin call's answer: as the emulator's JSON with -json,
// otherwise decoded into a T and written by text.
func answer[T any](c *adminClient, b []byte, err error, text func(T)) error {
	if err != nil {
		return err
	}
	if c.json {
		c.printJSON(b)
		return nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("unexpected answer from the emulator: %w", err)
	}
	text(v)
	return nil
}

// usageError is a command line the command cannot run.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// ---- clock ----

func clockCommand() adminSpec {
	return adminSpec{use: "clock [get | advance DURATION | set TIME | freeze | resume]", short: "Show or move the virtual clock",
		words: []string{"get", "advance", "set", "freeze", "resume"}, do: func(ctx context.Context, c *adminClient, pos []string) error {
			sub := "get"
			if len(pos) > 0 {
				sub = pos[0]
			}
			var (
				b   []byte
				err error
			)
			switch {
			case sub == "get" && len(pos) <= 1:
				b, err = c.call(ctx, "GET /clock", func(ctx context.Context, a *api) (*http.Response, error) { return a.GetClock(ctx) })
			case (sub == "advance" || sub == "set") && len(pos) == 1:
				return usagef("clock %s needs a %s", sub, map[string]string{"advance": "DURATION (61m, 24h, 30s)", "set": "TIME (2030-01-01T00:00:00Z)"}[sub])
			case sub == "advance" && len(pos) == 2:
				if _, perr := time.ParseDuration(pos[1]); perr != nil {
					return usagef("advance %q: want a Go duration such as 61m, 24h or 30s", pos[1])
				}
				b, err = c.call(ctx, "POST /clock/advance", func(ctx context.Context, a *api) (*http.Response, error) {
					return a.AdvanceClock(ctx, adminclient.AdvanceClockJSONRequestBody{Duration: &pos[1]})
				})
			case sub == "set" && len(pos) == 2:
				at, perr := time.Parse(time.RFC3339, pos[1])
				if perr != nil {
					return usagef("set %q: want an RFC 3339 time such as 2030-01-01T00:00:00Z", pos[1])
				}
				b, err = c.call(ctx, "POST /clock/set", func(ctx context.Context, a *api) (*http.Response, error) {
					return a.SetClock(ctx, adminclient.SetClockJSONRequestBody{Time: at})
				})
			case (sub == "freeze" || sub == "resume") && len(pos) == 1:
				b, err = c.call(ctx, "POST /clock/"+sub, func(ctx context.Context, a *api) (*http.Response, error) {
					if sub == "freeze" {
						return a.FreezeClock(ctx)
					}
					return a.ResumeClock(ctx)
				})
			default:
				return usagef("unknown clock command %q", strings.Join(pos, " "))
			}
			return answer(c, b, err, func(clk struct {
				Now    string `json:"now"`
				Frozen bool   `json:"frozen"`
			}) {
				state := "running"
				if clk.Frozen {
					state = "frozen"
				}
				fmt.Fprintf(c.stdout, "%s (%s)\n", clk.Now, state)
			})
		}}
}

// ---- reset ----

func resetCommand() adminSpec {
	return adminSpec{use: "reset", short: "Forget every token, reload the fixtures, put the clock back, empty the journal", do: func(ctx context.Context, c *adminClient, pos []string) error {
		if len(pos) > 0 {
			return usagef("reset takes no arguments")
		}
		b, err := c.call(ctx, "POST /reset", func(ctx context.Context, a *api) (*http.Response, error) { return a.Reset(ctx) })
		return answer(c, b, err, func(struct{}) {
			fmt.Fprintln(c.stdout, "reset: every token gone, fixtures reloaded, clock back at its start (-clock, or real now), journal empty, start-up scenarios re-armed")
		})
	}}
}

func stateCommand() adminSpec {
	return adminSpec{use: "state save", short: "Save the -state file now", words: []string{"save"}, do: func(ctx context.Context, c *adminClient, pos []string) error {
		if len(pos) != 1 || pos[0] != "save" {
			return usagef("usage: tokenemu state save")
		}
		b, err := c.call(ctx, "POST /state/save", func(ctx context.Context, a *api) (*http.Response, error) { return a.SaveState(ctx) })
		return answer(c, b, err, func(out struct {
			File  string `json:"file"`
			Bytes int64  `json:"bytes"`
		}) {
			fmt.Fprintf(c.stdout, "saved %s (%d bytes)\n", out.File, out.Bytes)
		})
	}}
}

// ---- passport clients ----

func passportCommand() adminSpec {
	const u = "passport clients [list | create [-client-id ID] [-secret S] [-account-id UUID] [-scopes A,B] | rotate CLIENT_ID [-secret S]]"
	var id, secret, account string
	var scopes []string
	extra := func(fs *flag.FlagSet) {
		fs.StringVar(&id, "client-id", "", "create: the client_id (default random)")
		fs.StringVar(&secret, "secret", "", "create, rotate: the client_secret (default random; printed once)")
		fs.StringVar(&account, "account-id", "", "create: the entity account id, a UUID (default a new entity)")
		fs.Var(listFlag{&scopes}, "scopes", "create: the client's `scopes`, comma-separated (default every Passport scope)")
	}
	return adminSpec{use: u, short: "List, create and rotate Passport clients", words: []string{"clients"}, extra: extra, do: func(ctx context.Context, c *adminClient, pos []string) error {
		if len(pos) == 0 || pos[0] != "clients" {
			return usagef("usage: tokenemu %s", u)
		}
		pos = pos[1:]
		printClient := func(cl passport.ClientInfo) {
			fmt.Fprintf(c.stdout, "client_id %s  account %s  scopes %s\n", cl.ClientID, cl.AccountID, strings.Join(cl.Scopes, " "))
			if cl.ClientSecret != "" {
				fmt.Fprintf(c.stdout, "client_secret %s  (shown this once)\n", cl.ClientSecret)
			}
		}
		switch {
		case len(pos) == 0 || (len(pos) == 1 && pos[0] == "list"):
			b, err := c.call(ctx, "GET /passport/clients", func(ctx context.Context, a *api) (*http.Response, error) { return a.ListPassportClients(ctx) })
			return answer(c, b, err, func(out struct {
				Clients []passport.ClientInfo `json:"clients"`
			}) {
				for _, cl := range out.Clients {
					printClient(cl)
				}
			})
		case len(pos) == 1 && pos[0] == "create":
			b, err := c.call(ctx, "POST /passport/clients", func(ctx context.Context, a *api) (*http.Response, error) {
				body, err := jsonBody(passport.ClientSpec{ClientID: id, ClientSecret: secret, AccountID: account, Scopes: scopes})
				if err != nil {
					return nil, err
				}
				return a.CreatePassportClientWithBody(ctx, "application/json", body)
			})
			return answer(c, b, err, printClient)
		case len(pos) == 2 && pos[0] == "rotate":
			b, err := c.call(ctx, "POST /passport/clients/{client_id}/secret", func(ctx context.Context, a *api) (*http.Response, error) {
				return a.RotatePassportSecret(ctx, pos[1], adminclient.RotatePassportSecretJSONRequestBody{ClientSecret: opt(secret)})
			})
			return answer(c, b, err, printClient)
		}
		return usagef("usage: tokenemu %s", u)
	}}
}

// ---- scenario (against a running emulator) ----

// scenarioArg reads a scenario argument: a file, or a built-in name with an
// optional ":vendor" ("vendor-outage:brass").
func scenarioArg(arg string) (file []byte, builtin string, vendor string, err error) {
	if st, serr := os.Stat(arg); serr == nil && !st.IsDir() {
		if st.Size() > scenarios.MaxDocumentBytes {
			return nil, "", "", fmt.Errorf("%s is %d bytes; a scenario document may have %d", arg, st.Size(), scenarios.MaxDocumentBytes)
		}
		b, rerr := os.ReadFile(arg)
		return b, "", "", rerr
	}
	name, vendor, _ := strings.Cut(arg, ":")
	if _, berr := scenarios.Builtin(name, vendor); berr != nil {
		if errors.Is(berr, scenarios.ErrUnknown) {
			return nil, "", "", fmt.Errorf("%q is neither a file nor a built-in scenario (tokenemu scenarios list shows them)", arg)
		}
		return nil, "", "", berr
	}
	return nil, name, vendor, nil
}

// loadScenarios reads -scenario arguments into scenarios (for serve).
func loadScenarios(args []string) ([]scenarios.Scenario, error) {
	var out []scenarios.Scenario
	for _, a := range args {
		file, name, vendor, err := scenarioArg(a)
		if err != nil {
			return nil, fmt.Errorf("-scenario: %w", err)
		}
		if file != nil {
			list, err := scenarios.Parse(file)
			if err != nil {
				return nil, fmt.Errorf("-scenario %s: %w", a, err)
			}
			out = append(out, list...)
			continue
		}
		s, err := scenarios.Builtin(name, vendor)
		if err == nil {
			err = validateScenario(s)
		}
		if err != nil {
			return nil, fmt.Errorf("-scenario %s: %w", a, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func scenariosCommand() adminSpec {
	var vendor string
	var replace bool
	extra := func(fs *flag.FlagSet) {
		fs.StringVar(&vendor, "vendor", "", "apply: narrow a built-in to this vendor (as NAME:VENDOR does)")
		fs.BoolVar(&replace, "replace", false, "apply: replace an active scenario of the same name (re-arming its counters)")
	}
	return adminSpec{
		use:   "scenarios [list | show NAME | validate FILE... | active | apply NAME[:VENDOR]|FILE | remove NAME | clear]",
		short: "Built-in scenarios and scenario files (offline); the active ones of a running emulator",
		long: `Built-in scenarios and scenario files; the active scenarios of a running emulator.

list, show and validate need no emulator: they read the built-in library and files.
active, apply, remove and clear drive a running emulator (-url, -admin-token).`,
		words: []string{"list", "show", "validate", "active", "apply", "remove", "clear"},
		extra: extra,
		do: func(ctx context.Context, c *adminClient, pos []string) error {
			if len(pos) == 0 {
				pos = []string{"list"}
			}
			switch {
			case pos[0] == "list" && len(pos) == 1:
				return listBuiltins(c)
			case pos[0] == "show" && len(pos) == 2:
				return showBuiltin(c, pos[1])
			case pos[0] == "validate" && len(pos) >= 2:
				return validateFiles(c, pos[1:])
			case pos[0] == "active" && len(pos) == 1:
				b, err := c.call(ctx, "GET /scenarios", func(ctx context.Context, a *api) (*http.Response, error) { return a.ListScenarios(ctx) })
				return answer(c, b, err, func(out struct {
					Active []scenarios.Status `json:"active"`
				}) {
					printActive(c.stdout, out.Active)
				})
			case pos[0] == "apply" && len(pos) == 2:
				file, name, v, err := scenarioArg(pos[1])
				if err != nil {
					return err
				}
				params := &adminclient.ApplyScenariosParams{}
				if replace {
					params.Replace = ptr(true)
				}
				if file != nil && vendor != "" {
					return usagef("-vendor narrows a built-in, not a file")
				}
				b, err := c.call(ctx, "POST /scenarios", func(ctx context.Context, a *api) (*http.Response, error) {
					if file != nil {
						return a.ApplyScenariosWithBody(ctx, params, "application/yaml", bytes.NewReader(file))
					}
					body, err := jsonBody(builtinBody{Name: name, Vendor: cmp.Or(v, vendor)})
					if err != nil {
						return nil, err
					}
					return a.ApplyScenariosWithBody(ctx, params, "application/json", body)
				})
				return answer(c, b, err, func(out struct {
					Applied []scenarios.Status `json:"applied"`
				}) {
					for _, s := range out.Applied {
						fmt.Fprintf(c.stdout, "applied %s (%s)\n", s.Name, rules(len(s.Rules)))
					}
				})
			case (pos[0] == "remove" && len(pos) == 2) || (pos[0] == "clear" && len(pos) == 1):
				what := "every scenario"
				if len(pos) == 2 {
					what = pos[1]
				}
				b, err := c.call(ctx, "DELETE /scenarios", func(ctx context.Context, a *api) (*http.Response, error) {
					if len(pos) == 2 {
						return a.RemoveScenario(ctx, pos[1])
					}
					return a.ClearScenarios(ctx)
				})
				return answer(c, b, err, func(struct{}) { fmt.Fprintf(c.stdout, "removed %s\n", what) })
			}
			return usagef("unknown scenarios command %q", strings.Join(pos, " "))
		},
	}
}

// listBuiltins prints the built-in library: a table, or JSON with -json.
func listBuiltins(c *adminClient) error {
	list, err := scenarios.Builtins()
	if err != nil {
		return err
	}
	if c.json {
		type item struct {
			Name        string `json:"name"`
			Description string `json:"description"`
		}
		out := make([]item, len(list))
		for i, s := range list {
			out[i] = item{s.Name, s.Description}
		}
		return printValue(c, out)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%s\n", s.Name, s.Description)
	}
	return tw.Flush()
}

// showBuiltin prints a built-in's YAML, or the scenario as JSON with -json.
func showBuiltin(c *adminClient, name string) error {
	if c.json {
		s, err := scenarios.Builtin(name, "")
		if err != nil {
			return err
		}
		return printValue(c, s)
	}
	b, err := scenarios.BuiltinSource(name)
	if err != nil {
		return err
	}
	_, err = c.stdout.Write(b)
	return err
}

// validateFiles checks scenario files as a running emulator would.
func validateFiles(c *adminClient, files []string) error {
	cat, err := emulator.ScenarioCatalog(nil)
	if err != nil {
		return err
	}
	type result struct {
		File      string   `json:"file"`
		OK        bool     `json:"ok"`
		Scenarios []string `json:"scenarios,omitempty"`
		Error     string   `json:"error,omitempty"`
	}
	var results []result
	failed := 0
	for _, file := range files {
		names, err := validateFile(cat, file)
		r := result{File: file, OK: err == nil, Scenarios: names}
		if err != nil {
			r.Error = err.Error()
			failed++
		}
		results = append(results, r)
		if !c.json {
			if err != nil {
				fmt.Fprintf(c.stderr, "%s: %v\n", file, err)
			} else {
				fmt.Fprintf(c.stdout, "%s: ok: %s\n", file, strings.Join(names, ", "))
			}
		}
	}
	if c.json {
		if err := printValue(c, results); err != nil {
			return err
		}
	}
	if failed > 0 {
		return &cliError{fmt.Sprintf("%d of %d files are not valid", failed, len(files))}
	}
	return nil
}

// printValue writes v as indented JSON.
func printValue(c *adminClient, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	c.printJSON(b)
	return nil
}

type builtinBody struct {
	Name   string `json:"name"`
	Vendor string `json:"vendor,omitempty"`
}

func printActive(w io.Writer, active []scenarios.Status) {
	if len(active) == 0 {
		fmt.Fprintln(w, "no active scenario")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tRULE\tMATCH\tMATCHED\tFIRED\tREMAINING\tSPENT")
	for _, s := range active {
		for _, r := range s.Rules {
			remaining := "-"
			if r.Remaining != nil {
				remaining = strconv.FormatInt(*r.Remaining, 10)
			}
			m := r.Match.Vendor
			if r.Match.Operation != "" {
				m += "." + r.Match.Operation
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%s\t%v\n", s.Name, r.Index, m, r.Matched, r.Fired, remaining, r.Spent)
		}
	}
	_ = tw.Flush()
}

func validateFile(cat *scenarios.Catalog, file string) ([]string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	list, err := scenarios.Parse(b)
	if err != nil {
		return nil, err
	}
	var names []string
	seen := map[string]bool{}
	for _, s := range list {
		if err := cat.Validate(s); err != nil {
			return nil, err
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("scenario %q appears twice", s.Name)
		}
		seen[s.Name] = true
		names = append(names, fmt.Sprintf("%s (%s)", s.Name, rules(len(s.Rules))))
	}
	return names, nil
}

// ---- tokens ----

func tokensCommand() adminSpec {
	var vendor, principal, kind, state, lifetime, role, name, account string
	extra := func(fs *flag.FlagSet) {
		fs.StringVar(&vendor, "vendor", "", "passport, passkit, brass or teletracker")
		fs.StringVar(&principal, "principal", "", "a client id, username or email")
		fs.StringVar(&kind, "kind", "", "list: access, jwt, longlived, refresh, temporary or pat; issue: jwt, longlived, user or pat")
		fs.StringVar(&state, "state", "", "list: active, expired or revoked")
		fs.StringVar(&lifetime, "lifetime", "", "issue: the token's lifetime (Go duration); default the vendor's")
		fs.StringVar(&role, "role", "", "issue: the Brass PAT's role")
		fs.StringVar(&name, "name", "", "issue: the Brass PAT's name")
		fs.StringVar(&account, "account-id", "", "issue: the TeleTracker account")
	}
	return adminSpec{use: "tokens [list | expire TOKEN | revoke TOKEN | issue] [-vendor V] [-principal P]", short: "List, expire, revoke and issue tokens",
		words: []string{"list", "expire", "revoke", "issue"}, extra: extra, do: func(ctx context.Context, c *adminClient, pos []string) error {
			if len(pos) == 0 {
				pos = []string{"list"}
			}
			var (
				b   []byte
				err error
			)
			switch {
			case pos[0] == "list" && len(pos) == 1:
				p := &adminclient.ListTokensParams{Principal: opt(principal)}
				if vendor != "" {
					p.Vendor = ptr(adminclient.Vendor(vendor))
				}
				if kind != "" {
					p.Kind = ptr(adminclient.ListTokensParamsKind(kind))
				}
				if state != "" {
					p.State = ptr(adminclient.ListTokensParamsState(state))
				}
				return listTokenPages(ctx, c, p)
			case (pos[0] == "expire" || pos[0] == "revoke") && len(pos) <= 2:
				sel := emulator.TokenSelector{Vendor: vendor, Principal: principal}
				if len(pos) == 2 {
					sel.Token = pos[1]
				} else if vendor == "" || principal == "" {
					return usagef("%s needs a TOKEN, or -vendor and -principal", pos[0])
				}
				b, err = c.call(ctx, "POST /tokens/"+pos[0], func(ctx context.Context, a *api) (*http.Response, error) {
					body, err := jsonBody(sel)
					if err != nil {
						return nil, err
					}
					if pos[0] == "expire" {
						return a.ExpireTokensWithBody(ctx, "application/json", body)
					}
					return a.RevokeTokensWithBody(ctx, "application/json", body)
				})
			case pos[0] == "issue" && len(pos) == 1:
				if vendor == "" || principal == "" {
					return usagef("issue needs -vendor and -principal")
				}
				body := map[string]string{"vendor": vendor, "principal": principal}
				for k, v := range map[string]string{"kind": kind, "lifetime": lifetime, "role": role, "name": name, "account_id": account} {
					if v != "" {
						body[k] = v
					}
				}
				b, err = c.call(ctx, "POST /tokens/issue", func(ctx context.Context, a *api) (*http.Response, error) {
					rd, err := jsonBody(body)
					if err != nil {
						return nil, err
					}
					return a.IssueTokenWithBody(ctx, "application/json", rd)
				})
				return answer(c, b, err, func(out struct {
					Token        string `json:"token"`
					RefreshToken string `json:"refresh_token"`
				}) {
					fmt.Fprintln(c.stdout, out.Token)
					if out.RefreshToken != "" {
						fmt.Fprintln(c.stdout, out.RefreshToken)
					}
				})
			default:
				return usagef("unknown tokens command %q", strings.Join(pos, " "))
			}
			return answer(c, b, err, func(out struct {
				Tokens []emulator.TokenInfo `json:"tokens"`
			}) {
				switch pos[0] {
				case "expire":
					fmt.Fprintf(c.stdout, "expired %d token(s)\n", len(out.Tokens))
				case "revoke":
					fmt.Fprintf(c.stdout, "revoked %d token(s)\n", len(out.Tokens))
				}
				printTokens(c.stdout, out.Tokens)
			})
		}}
}

// listTokenPages prints the tokens page by page as they arrive, however many
// there are: with -json one token a line (JSON Lines), else a table a page.
func listTokenPages(ctx context.Context, c *adminClient, p *adminclient.ListTokensParams) error {
	p.Limit = ptr(emulator.MaxTokenPage)
	printed := 0
	for {
		b, err := c.call(ctx, "GET /tokens", func(ctx context.Context, a *api) (*http.Response, error) { return a.ListTokens(ctx, p) })
		if err != nil {
			return err
		}
		var page struct {
			Tokens []json.RawMessage `json:"tokens"`
			Next   string            `json:"next"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			return fmt.Errorf("unexpected answer from the emulator: %w", err)
		}
		if c.json {
			for _, raw := range page.Tokens {
				fmt.Fprintf(c.stdout, "%s\n", raw)
			}
		} else if len(page.Tokens) > 0 || printed == 0 {
			infos := make([]emulator.TokenInfo, len(page.Tokens))
			for i, raw := range page.Tokens {
				if err := json.Unmarshal(raw, &infos[i]); err != nil {
					return fmt.Errorf("unexpected answer from the emulator: %w", err)
				}
			}
			printTokens(c.stdout, infos)
		}
		printed += len(page.Tokens)
		if page.Next == "" {
			return nil
		}
		p.After = ptr(page.Next)
	}
}

func printTokens(w io.Writer, ts []emulator.TokenInfo) {
	if len(ts) == 0 {
		fmt.Fprintln(w, "no tokens")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VENDOR\tKIND\tPRINCIPAL\tSTATE\tEXPIRES\tFINGERPRINT\tID")
	for _, t := range ts {
		exp := "never"
		if t.ExpiresAt != nil {
			exp = t.ExpiresAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Vendor, t.Kind, t.Principal, t.State, exp, t.Fingerprint, t.ID)
	}
	_ = tw.Flush()
}

// ---- journal ----

func journalCommand() adminSpec {
	var vendor, operation, principal, reason, scenario string
	var status int
	var follow bool
	extra := func(fs *flag.FlagSet) {
		fs.StringVar(&vendor, "vendor", "", "only this vendor (or admin)")
		fs.StringVar(&operation, "operation", "", "only this operationId")
		fs.IntVar(&status, "status", 0, "only this status")
		fs.StringVar(&principal, "principal", "", "only requests made by this client id, username or email")
		fs.StringVar(&reason, "reason", "", "only this X-Tokenemu-Reason (token_expired, scenario:NAME, …)")
		fs.StringVar(&scenario, "scenario", "", "only requests a rule of this scenario acted on")
		fs.BoolVar(&follow, "follow", false, "keep printing new requests until interrupted")
	}
	return adminSpec{use: "journal [-vendor V] [-operation ID] [-status N] [-principal P] [-reason R] [-scenario S] [-follow]", short: "Print the requests the emulator answered, or follow them",
		extra: extra, do: func(ctx context.Context, c *adminClient, pos []string) error {
			if len(pos) > 0 {
				return usagef("journal takes no arguments")
			}
			p := &adminclient.GetJournalParams{Operation: opt(operation), Principal: opt(principal), Reason: opt(reason), Scenario: opt(scenario)}
			if vendor != "" {
				p.Vendor = ptr(adminclient.GetJournalParamsVendor(vendor))
			}
			if status != 0 {
				p.Status = &status
			}
			// Page by page, each printed as it arrives: the journal answers at
			// most 1000 entries at a time, and -follow waits for the next ones.
			p.Limit = ptr(emulator.MaxJournalPage)
			var since int64
			header := !c.json
			printed := false
			for {
				if since > 0 {
					p.Since = ptr(strconv.FormatInt(since, 10))
				}
				if follow {
					p.Wait = ptr("25s")
					c.timeout = 35 * time.Second
				}
				b, err := c.call(ctx, "GET /journal", func(ctx context.Context, a *api) (*http.Response, error) { return a.GetJournal(ctx, p) })
				if err != nil {
					if follow && ctx.Err() != nil {
						return nil // interrupted
					}
					return err
				}
				var out struct {
					Entries []json.RawMessage `json:"entries"`
					Next    int64             `json:"next"`
					More    bool              `json:"more"`
				}
				if err := json.Unmarshal(b, &out); err != nil {
					return err
				}
				since = max(since, out.Next)
				for _, raw := range out.Entries {
					var en emulator.JournalEntry
					if err := json.Unmarshal(raw, &en); err != nil {
						return err
					}
					printed = true
					if c.json {
						fmt.Fprintf(c.stdout, "%s\n", raw) // one entry per line
						continue
					}
					if header {
						fmt.Fprintf(c.stdout, "%-6s %-24s %-11s %-26s %-6s %-6s %-26s %-14s %s\n",
							"SEQ", "TIME", "VENDOR", "OPERATION", "STATUS", "MS", "PRINCIPAL", "TOKEN", "REASON")
						header = false
					}
					fmt.Fprintln(c.stdout, journalLine(en))
				}
				if !follow && out.More {
					continue
				}
				if !follow {
					if !c.json && !printed {
						fmt.Fprintln(c.stdout, "no requests")
					}
					return nil
				}
				if ctx.Err() != nil {
					return nil
				}
			}
		}}
}

func journalLine(en emulator.JournalEntry) string {
	ts := en.Time.Format("2006-01-02T15:04:05.000Z07:00")
	op := en.Operation
	if op == "" {
		op = en.Method + " " + en.Path
	}
	reason := en.Reason
	if en.Scenario != "" && !strings.HasPrefix(reason, "scenario:") {
		reason = strings.TrimSpace(reason + " (scenario " + en.Scenario + ")")
	}
	status := strconv.Itoa(en.Status)
	if en.Status == 0 {
		status = "drop"
	}
	return fmt.Sprintf("%-6d %-24s %-11s %-26s %-6s %-6.1f %-26s %-14s %s",
		en.Seq, ts, en.Vendor, op, status, en.LatencyMS, cmp.Or(en.Principal, "-"), cmp.Or(en.Fingerprint, "-"), reason)
}

// validateScenario checks s against every vendor tokenemu emulates, as a
// running emulator would.
func validateScenario(s scenarios.Scenario) error {
	cat, err := emulator.ScenarioCatalog(nil)
	if err != nil {
		return err
	}
	return cat.Validate(s)
}
