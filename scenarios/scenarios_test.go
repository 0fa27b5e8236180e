package scenarios_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/scenarios"
)

var catalog = sync.OnceValues(func() (*scenarios.Catalog, error) {
	return emulator.ScenarioCatalog(nil)
})

func newEngine(t *testing.T) *scenarios.Engine {
	t.Helper()
	cat, err := catalog()
	if err != nil {
		t.Fatal(err)
	}
	e, err := scenarios.NewEngine(cat, 1)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func parseOne(t *testing.T, doc string) scenarios.Scenario {
	t.Helper()
	list, err := scenarios.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if len(list) != 1 {
		t.Fatalf("parsed %d scenarios", len(list))
	}
	return list[0]
}

func TestBuiltinsAreValid(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	want := []string{"brass-otp-rejected", "brass-pat-revoked", "brass-rate-limited", "clock-skew",
		"passkit-jwt-expired", "passkit-longlived-revoked", "passport-invalid-client", "passport-token-endpoint-flaky",
		"passport-token-expired", "slow-login", "teletracker-refresh-expired", "teletracker-refresh-reused", "vendor-outage"}
	if got := e.BuiltinNames(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("built-ins %v, want %v", got, want)
	}
	for _, name := range want {
		s, err := e.Builtin(name, "")
		if err != nil || s.Description == "" {
			t.Errorf("%s: %v %+v", name, err, s)
		}
		if src, err := scenarios.BuiltinSource(name); err != nil || !strings.Contains(string(src), "name: "+name) {
			t.Errorf("source of %s: %v", name, err)
		}
	}
	if _, err := e.Builtin("nope", ""); !errors.Is(err, scenarios.ErrUnknown) || !strings.Contains(err.Error(), "slow-login") {
		t.Errorf("unknown built-in: %v (want ErrUnknown, listing the built-ins)", err)
	}
	if _, err := scenarios.Builtin("nope", ""); !errors.Is(err, scenarios.ErrUnknown) || !strings.Contains(err.Error(), "slow-login") {
		t.Errorf("unknown built-in, package function: %v (want ErrUnknown, listing the built-ins)", err)
	}
	if _, err := scenarios.BuiltinSource("../builtin/slow-login"); !errors.Is(err, scenarios.ErrUnknown) {
		t.Errorf("path in built-in name: %v", err)
	}
	// Narrowing to one vendor.
	s, err := e.Builtin("vendor-outage", "brass")
	if err != nil || len(s.Rules) != 1 || s.Rules[0].Match.Vendor != "brass" {
		t.Errorf("vendor-outage for brass: %v %+v", err, s)
	}
	s, err = e.Builtin("slow-login", "brass")
	if err != nil || len(s.Rules) != 2 {
		t.Errorf("slow-login for brass: %v %+v", err, s)
	}
	if _, err := e.Builtin("passport-invalid-client", "brass"); err == nil {
		t.Error("passport built-in narrowed to brass: no error")
	}
	if _, err := e.Builtin("vendor-outage", "acme"); err == nil {
		t.Error("unknown vendor: no error")
	}
}

func TestParseForms(t *testing.T) {
	t.Parallel()
	yamlDoc := "name: a\nrules:\n  - match: {vendor: passport}\n    action: {status: 503}\n---\nname: b\nrules:\n  - match: {vendor: brass}\n    action: {delay: 1s}\n"
	list, err := scenarios.Parse([]byte(yamlDoc))
	if err != nil || len(list) != 2 || list[1].Rules[0].Action.Delay.D() != time.Second {
		t.Fatalf("multi-document YAML: %v %+v", err, list)
	}
	jsonDoc := `{"name":"c","rules":[{"match":{"vendor":"passkit"},"trigger":{"first":2},"action":{"status":500,"body":{"x":1}}}]}`
	list, err = scenarios.Parse([]byte(jsonDoc))
	if err != nil || len(list) != 1 || list[0].Rules[0].Trigger.First != 2 {
		t.Fatalf("JSON: %v %+v", err, list)
	}
	list, err = scenarios.Parse([]byte(`[` + jsonDoc + `,` + strings.Replace(jsonDoc, `"c"`, `"d"`, 1) + `]`))
	if err != nil || len(list) != 2 || list[1].Name != "d" {
		t.Fatalf("JSON array: %v %+v", err, list)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, doc, want string }{
		{"empty", "  \n", "empty"},
		{"malformed", "name: [a\n", "parse scenario 1"},
		{"unknown field", "name: a\nrulez: []\n", "field rulez not found"},
		{"unknown action field", "name: a\nrules:\n  - match: {vendor: brass}\n    action: {explode: true}\n", "field explode not found"},
		{"number duration", "name: a\nrules:\n  - match: {vendor: brass}\n    action: {delay: 3}\n", "want a duration string"},
		{"bad duration", "name: a\nrules:\n  - match: {vendor: brass}\n    action: {delay: 3 parsecs}\n", `bad duration "3 parsecs"`},
		{"too large", "name: a\n" + strings.Repeat("#", scenarios.MaxDocumentBytes), "the limit is"},
		{"json unknown field", `[{"name":"a","oops":1}]`, "unknown object member"},
		{"empty list", `[]`, "empty list"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := scenarios.Parse([]byte(c.doc))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestValidateErrors(t *testing.T) {
	t.Parallel()
	cat, err := catalog()
	if err != nil {
		t.Fatal(err)
	}
	rule := func(match, trigger, action string) string {
		return "name: s\nrules:\n  - match: " + match + "\n    trigger: " + trigger + "\n    action: " + action + "\n"
	}
	cases := []struct{ name, doc, want string }{
		{"bad name", "name: Bad Name\nrules: [{match: {vendor: brass}, action: {status: 500}}]\n", `scenario "Bad Name": name:`},
		{"no rules", "name: s\nrules: []\n", "at least one rule"},
		{"framing header", rule("{vendor: brass}", "{}", "{status: 500, headers: {transfer-encoding: chunked}}"), "frames the message"},
		{"content length", rule("{vendor: brass}", "{}", "{status: 500, headers: {Content-Length: '5'}}"), "frames the message"},
		{"hop-by-hop header", rule("{vendor: brass}", "{}", "{status: 500, headers: {Connection: close}}"), "frames the message"},
		{"CORS header", rule("{vendor: brass}", "{}", "{status: 500, headers: {Access-Control-Allow-Origin: '*'}}"), "CORS header"},
		{"no vendor", rule("{operation: login}", "{}", "{status: 500}"), `scenario "s": rule 0: match.vendor: required`},
		{"unknown vendor", rule("{vendor: acme}", "{}", "{status: 500}"), `match.vendor: unknown vendor "acme"`},
		{"unknown operation", rule("{vendor: passport, operation: login}", "{}", "{status: 500}"), `match.operation: unknown operationId "login" for passport (known: `},
		{"operation without vendor", rule(`{vendor: "*", operation: login}`, "{}", "{status: 500}"), "needs a vendor"},
		{"method mismatch", rule("{vendor: passport, operation: createToken, method: GET}", "{}", "{status: 500}"), "matches nothing: passport.createToken is POST /passport/v1/iam/oauth/tokens"},
		{"lower-case method", rule("{vendor: passport, method: get}", "{}", "{status: 500}"), "upper-case"},
		{"path matches nothing", rule("{vendor: passport, path: /passport/v2/*}", "{}", "{status: 500}"), "match.path: matches nothing"},
		{"path of other vendor", rule("{vendor: passport, path: /brass/auth/login}", "{}", "{status: 500}"), "matches nothing"},
		{"relative path", rule("{vendor: passport, path: v1/iam}", "{}", "{status: 500}"), "must start with /"},
		{"bad pattern", rule("{vendor: passport, path: '/passport/[v1'}", "{}", "{status: 500}"), "bad pattern"},
		{"kind of other vendor", rule("{vendor: passport, kind: pat}", "{}", "{status: 500}"), "match.kind: matches nothing"},
		{"negative count", rule("{vendor: brass}", "{first: -1}", "{status: 500}"), "rule 0: trigger.first: -1 is negative"},
		{"two counts", rule("{vendor: brass}", "{first: 1, nth: 2}", "{status: 500}"), "at most one of"},
		{"probability", rule("{vendor: brass}", "{probability: 1.5}", "{status: 500}"), "trigger.probability"},
		{"always and first", rule("{vendor: brass}", "{always: true, first: 2}", "{status: 500}"), "trigger.always"},
		{"bad from", rule("{vendor: brass}", "{from: tomorrow}", "{status: 500}"), "trigger.from"},
		{"window backwards", rule("{vendor: brass}", "{from: 10m, to: 5m}", "{status: 500}"), "trigger.to"},
		{"no action", rule("{vendor: brass}", "{}", "{}"), "action: does nothing"},
		{"status 200 without body", rule("{vendor: brass}", "{}", "{status: 200}"), "action.status: 200"},
		{"status 700", rule("{vendor: brass}", "{}", "{status: 700, body: {}}"), "action.status: 700"},
		{"drop with status", rule("{vendor: brass}", "{}", "{drop: true, status: 500}"), "action.drop"},
		{"message without status", rule("{vendor: brass}", "{}", "{delay: 1s, message: hi}"), "action.message: needs a status"},
		{"body and message", rule("{vendor: brass}", "{}", "{status: 500, body: {a: 1}, message: hi}"), "action.body"},
		{"bad header", rule("{vendor: brass}", "{}", "{status: 500, headers: {'a b': c}}"), "action.headers"},
		{"tiny retry", rule("{vendor: brass}", "{}", "{status: 429, retry_after: 10ms}"), "action.retry_after"},
		{"long delay", rule("{vendor: brass}", "{}", "{delay: 2m}"), "action.delay"},
		{"bad expire", rule("{vendor: brass}", "{}", "{expire: everything}"), "action.expire"},
		{"principal of all vendors", rule(`{vendor: "*"}`, "{}", "{revoke: principal}"), "action.revoke"},
		{"expire and revoke", rule("{vendor: brass}", "{}", "{expire: token, revoke: token}"), "not both"},
		{"reject refresh elsewhere", rule("{vendor: teletracker, operation: login}", "{}", "{reject_refresh: reused}"), "action.reject_refresh: matches nothing"},
		{"reject refresh how", rule("{vendor: teletracker, operation: refresh}", "{}", "{reject_refresh: later}"), "reused or expired"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := parseOne(t, c.doc)
			err := cat.Validate(s)
			var se *scenarios.Error
			if !errors.As(err, &se) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want a *scenarios.Error containing %q", err, c.want)
			}
		})
	}
}

func req(vendor, op, method, path string) *scenarios.Request {
	return &scenarios.Request{Vendor: vendor, Operation: op, Method: method, Path: path, Header: http.Header{}}
}

// fires runs n identical requests and returns which (1-based) fired.
func fires(e *scenarios.Engine, r *scenarios.Request, now time.Time, n int) []int {
	var out []int
	for i := 1; i <= n; i++ {
		if len(e.Evaluate(r, now)) > 0 {
			out = append(out, i)
		}
	}
	return out
}

func TestTriggers(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		trigger string
		want    string
	}{
		{"{}", "[1 2 3 4 5 6]"},
		{"{always: true}", "[1 2 3 4 5 6]"},
		{"{first: 2}", "[1 2]"},
		{"{after: 4}", "[5 6]"},
		{"{nth: 3}", "[3]"},
	}
	for _, c := range cases {
		t.Run(c.trigger, func(t *testing.T) {
			t.Parallel()
			e := newEngine(t)
			s := parseOne(t, "name: s\nrules:\n  - match: {vendor: passport, operation: createToken}\n    trigger: "+c.trigger+"\n    action: {status: 503}\n")
			if err := e.Apply(s, now, false); err != nil {
				t.Fatal(err)
			}
			// A request the rule does not match is not counted.
			e.Evaluate(req("passport", "listTokens", "GET", "/passport/v1/iam/oauth/tokens"), now)
			got := fires(e, req("passport", "createToken", "POST", "/passport/v1/iam/oauth/tokens"), now, 6)
			if fmt.Sprint(got) != c.want {
				t.Errorf("fired on %v, want %s", got, c.want)
			}
		})
	}
}

func TestProbabilityIsSeeded(t *testing.T) {
	t.Parallel()
	now := time.Now()
	doc := "name: s\nrules:\n  - match: {vendor: brass}\n    trigger: {probability: 0.3}\n    action: {status: 500}\n"
	run := func() []int {
		e := newEngine(t)
		if err := e.Apply(parseOne(t, doc), now, false); err != nil {
			t.Fatal(err)
		}
		return fires(e, req("brass", "listAccounts", "GET", "/brass/banking/accounts"), now, 1000)
	}
	a, b := run(), run()
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Error("the same seed gave different firings")
	}
	if len(a) < 230 || len(a) > 370 {
		t.Errorf("probability 0.3 fired %d times in 1000", len(a))
	}
}

func TestWindow(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := parseOne(t, "name: s\nrules:\n  - match: {vendor: brass}\n    trigger: {from: 10m, to: 20m}\n    action: {status: 500}\n")
	if err := e.Apply(s, t0, false); err != nil {
		t.Fatal(err)
	}
	r := req("brass", "listAccounts", "GET", "/brass/banking/accounts")
	for _, c := range []struct {
		at   time.Duration
		fire bool
	}{{5 * time.Minute, false}, {10 * time.Minute, true}, {19 * time.Minute, true}, {20 * time.Minute, false}, {15 * time.Minute, false}} {
		if got := len(e.Evaluate(r, t0.Add(c.at))) > 0; got != c.fire {
			t.Errorf("at +%v: fired %v, want %v", c.at, got, c.fire)
		}
	}
	if st := e.Active(); len(st) != 1 || !st[0].Rules[0].Spent || st[0].Rules[0].Fired != 2 {
		t.Errorf("after the window: %+v", st)
	}
	// Absolute times work too.
	abs := parseOne(t, "name: abs\nrules:\n  - match: {vendor: brass}\n    trigger: {from: '2030-01-02T00:00:00Z'}\n    action: {status: 500}\n")
	if err := e.Apply(abs, t0, false); err != nil {
		t.Fatal(err)
	}
	if len(e.Evaluate(r, t0)) != 0 || len(e.Evaluate(r, t0.Add(24*time.Hour))) != 1 {
		t.Error("absolute window")
	}
}

func TestMatchFields(t *testing.T) {
	t.Parallel()
	now := time.Now()
	cases := []struct {
		match string
		req   func(*scenarios.Request)
		want  bool
	}{
		{`{vendor: "*"}`, nil, true},
		{`{vendor: passkit}`, nil, false},
		{`{vendor: brass, method: GET}`, nil, true},
		{`{vendor: brass, method: POST}`, nil, false},
		{`{vendor: brass, path: /brass/banking/*}`, nil, true},
		{`{vendor: brass, path: /brass/**}`, nil, true},
		{`{vendor: brass, path: /brass/auth/**}`, nil, false},
		{`{vendor: brass, path: /brass/banking/payments}`, nil, false},
		{`{vendor: brass, header: {X-Trace: "*"}}`, func(r *scenarios.Request) { r.Header.Set("X-Trace", "1") }, true},
		{`{vendor: brass, header: {X-Trace: "2"}}`, func(r *scenarios.Request) { r.Header.Set("X-Trace", "1") }, false},
		{`{vendor: brass, header: {X-Trace: "*"}}`, nil, false},
		{`{vendor: brass, principal: a@b.test}`, func(r *scenarios.Request) { r.Principal = func() string { return "a@b.test" } }, true},
		{`{vendor: brass, principal: a@b.test}`, func(r *scenarios.Request) { r.Principal = func() string { return "c@b.test" } }, false},
		{`{vendor: brass, principal: a@b.test}`, nil, false},
		{`{vendor: brass, kind: pat}`, func(r *scenarios.Request) { r.Kind = func() string { return "pat" } }, true},
		{`{vendor: brass, kind: pat}`, func(r *scenarios.Request) { r.Kind = func() string { return "jwt" } }, false},
		{`{vendor: brass, token: "1|pat-abc"}`, func(r *scenarios.Request) { r.Token = func() string { return "1|pat-abc" } }, true},
		{`{vendor: brass, token: "1|pat-abc"}`, func(r *scenarios.Request) { r.Token = func() string { return "1|pat-abd" } }, false},
	}
	for i, c := range cases {
		e := newEngine(t)
		if err := e.Apply(parseOne(t, "name: s\nrules:\n  - match: "+c.match+"\n    action: {status: 500}\n"), now, false); err != nil {
			t.Fatalf("case %d %s: %v", i, c.match, err)
		}
		r := req("brass", "listAccounts", "GET", "/brass/banking/accounts")
		if c.req != nil {
			c.req(r)
		}
		if got := len(e.Evaluate(r, now)) > 0; got != c.want {
			t.Errorf("case %d %s: matched %v, want %v", i, c.match, got, c.want)
		}
	}
}

func TestApplyRemoveAndStatus(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	now := time.Now()
	if !e.Empty() {
		t.Fatal("new engine is not empty")
	}
	s, _ := e.Builtin("passport-token-endpoint-flaky", "")
	if err := e.Apply(s, now, false); err != nil {
		t.Fatal(err)
	}
	if err := e.Apply(s, now, false); !scenarios.IsDuplicate(err) {
		t.Errorf("second apply: %v", err)
	}
	r := req("passport", "createToken", "POST", "/passport/v1/iam/oauth/tokens")
	e.Evaluate(r, now)
	st := e.Active()
	if len(st) != 1 || *st[0].Rules[0].Remaining != 1 || st[0].Rules[0].Fired != 1 || st[0].Rules[0].Spent {
		t.Errorf("after one match: %+v", st)
	}
	// Replacing re-arms the counters.
	if err := e.Apply(s, now, true); err != nil {
		t.Fatal(err)
	}
	if st := e.Active(); *st[0].Rules[0].Remaining != 2 {
		t.Errorf("after replace: %+v", st)
	}
	// A token in a match is never shown.
	tok := parseOne(t, "name: tok\nrules:\n  - match: {vendor: brass, token: secret-value}\n    action: {status: 500}\n")
	if err := e.Apply(tok, now, false); err != nil {
		t.Fatal(err)
	}
	for _, st := range e.Active() {
		if st.Name == "tok" && st.Rules[0].Match.Token != "(redacted)" {
			t.Errorf("token shown: %+v", st.Rules[0].Match)
		}
	}
	if !e.Remove("tok") || e.Remove("tok") {
		t.Error("remove")
	}
	// Once uses fresh counters and keeps nothing.
	if got := e.Once(s, r, now); len(got) != 1 || got[0].Action.Status != 503 {
		t.Errorf("once: %+v", got)
	}
	if st := e.Active(); st[0].Rules[0].Matched != 0 {
		t.Errorf("once changed the active counters: %+v", st)
	}
	e.Clear()
	if !e.Empty() || len(e.Evaluate(r, now)) != 0 {
		t.Error("clear")
	}
}

func TestEngineConcurrent(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	now := time.Now()
	s := parseOne(t, "name: s\nrules:\n  - match: {vendor: brass}\n    trigger: {first: 50}\n    action: {status: 500}\n")
	if err := e.Apply(s, now, false); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for range 8 {
		wg.Go(func() {
			n := len(fires(e, req("brass", "listAccounts", "GET", "/brass/banking/accounts"), now, 100))
			mu.Lock()
			total += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if total != 50 {
		t.Errorf("first: 50 fired %d times across goroutines", total)
	}
}

// FuzzParse: any bytes as a scenario file. Parse and Validate may refuse them
// but must not panic, and a scenario they accept must survive a round trip
// through JSON.
func FuzzParse(f *testing.F) {
	list, err := scenarios.Builtins()
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range list {
		raw, err := scenarios.BuiltinSource(s.Name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	for _, s := range []string{
		"", "---\n---\n", "[]", `[{"name":"x","rules":[{"action":{"status":503}}]}]`,
		"name: a\nrules:\n  - match: {path: \"/**/x/**\"}\n    trigger: {probability: 2}\n    action: {delay: 99h}\n",
		"name: a\nrules: &r [*r]\n", "name: [1,2]\n", "rules:\n  - action: {status: 99999999999999999999}\n",
		"name: a\nrules:\n  - trigger: {from: \"-5m\", to: tomorrow}\n    action: {status: 500, headers: {\"\\n\": x}}\n",
	} {
		f.Add([]byte(s))
	}
	cat, err := catalog()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		list, err := scenarios.Parse(data)
		if err != nil {
			return
		}
		for _, s := range list {
			if cat.Validate(s) != nil {
				continue
			}
			b, err := json.Marshal(s)
			if err != nil {
				t.Fatalf("a valid scenario does not marshal: %v", err)
			}
			back, err := scenarios.Parse(b)
			if err != nil || len(back) != 1 {
				t.Fatalf("a valid scenario does not parse back from %s: %v", b, err)
			}
			if err := cat.Validate(back[0]); err != nil {
				t.Fatalf("a valid scenario is invalid after a round trip through %s: %v", b, err)
			}
		}
	})
}

// Saved scenarios come back with their counters, and a token rule keeps
// matching by the token's SHA-256 without the token being saved.
func TestSaveAndRestore(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	e := newEngine(t)
	s := parseOne(t, "name: two\nrules:\n  - match: {vendor: passport, token: secret-token}\n    trigger: {first: 2}\n    action: {status: 503}\n")
	if err := e.Apply(s, now, false); err != nil {
		t.Fatal(err)
	}
	r := req("passport", "listAccounts", "GET", "/passport/v1/core/accounts")
	r.Token = func() string { return "secret-token" }
	if got := e.Evaluate(r, now); len(got) != 1 {
		t.Fatalf("first match: %d firings", len(got))
	}
	saved := e.Save()
	if b, _ := json.Marshal(saved); strings.Contains(string(b), "secret-token") || saved[0].Rules[0].Matched != 1 {
		t.Fatalf("saved %s", b)
	}

	back := newEngine(t)
	if err := back.Restore(saved); err != nil {
		t.Fatal(err)
	}
	if got := back.Evaluate(r, now); len(got) != 1 {
		t.Errorf("second match after restore: %d firings, want 1", len(got))
	}
	if got := back.Evaluate(r, now); len(got) != 0 {
		t.Errorf("third match after restore: %d firings, want 0 (spent)", len(got))
	}

	bad := append(saved[:1:1], saved[0])
	if err := back.Restore(bad); err == nil {
		t.Error("a name saved twice restored")
	}
	short := []scenarios.Saved{{Scenario: saved[0].Scenario, AppliedAt: now}}
	if err := back.Restore(short); err == nil || !strings.Contains(err.Error(), "rule counters") {
		t.Errorf("counters missing: %v", err)
	}
}

func TestPerRequest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		action scenarios.Action
		global bool
	}{
		{scenarios.Action{Status: 503}, false},
		{scenarios.Action{Drop: true}, false},
		{scenarios.Action{Delay: scenarios.Duration(time.Second)}, false},
		{scenarios.Action{Expire: "token"}, false},
		{scenarios.Action{Revoke: "token"}, false},
		{scenarios.Action{RejectRefresh: "reused"}, false},
		{scenarios.Action{Skew: scenarios.Duration(time.Minute)}, true},
		{scenarios.Action{Expire: "principal"}, true},
		{scenarios.Action{Revoke: "principal"}, true},
	} {
		s := scenarios.Scenario{Name: "x", Rules: []scenarios.Rule{{Match: scenarios.Match{Vendor: "*"}}, {Match: scenarios.Match{Vendor: "*"}, Action: tc.action}}}
		err := s.PerRequest()
		if got := err != nil; got != tc.global {
			t.Errorf("%+v: PerRequest() = %v, want an error: %v", tc.action, err, tc.global)
		}
		if err != nil && !strings.Contains(err.Error(), "rule 1") {
			t.Errorf("%+v: %v does not name the rule", tc.action, err)
		}
	}
}

// A credential header's value is kept, listed and saved only as its SHA-256,
// and still matches after a restore; other headers stay readable.
func TestCredentialHeadersAreHashed(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	e := newEngine(t)
	s := parseOne(t, "name: h\nrules:\n  - match: {vendor: passport, header: {authorization: Bearer s3cret-value, X-Client: mobile}}\n    action: {status: 503}\n")
	if err := e.Apply(s, now, false); err != nil {
		t.Fatal(err)
	}
	if s.Rules[0].Match.Header["authorization"] != "Bearer s3cret-value" {
		t.Error("Apply changed the caller's scenario")
	}
	r := req("passport", "listAccounts", "GET", "/passport/v1/core/accounts")
	r.Header = http.Header{"Authorization": {"Bearer s3cret-value"}, "X-Client": {"mobile"}}
	wrong := req("passport", "listAccounts", "GET", "/passport/v1/core/accounts")
	wrong.Header = http.Header{"Authorization": {"Bearer other"}, "X-Client": {"mobile"}}
	if got := e.Evaluate(r, now); len(got) != 1 {
		t.Fatalf("the right header: %d firings", len(got))
	}
	if got := e.Evaluate(wrong, now); len(got) != 0 {
		t.Fatalf("another value: %d firings", len(got))
	}
	listed, _ := json.Marshal(e.Active())
	saved, _ := json.Marshal(e.Save())
	for what, b := range map[string][]byte{"listing": listed, "saved state": saved} {
		if strings.Contains(string(b), "s3cret") || !strings.Contains(string(b), "mobile") {
			t.Errorf("%s: %s", what, b)
		}
	}
	if !strings.Contains(string(listed), `"(redacted)"`) || !strings.Contains(string(saved), scenarios.HashedPrefix) {
		t.Errorf("listing %s\nsaved %s", listed, saved)
	}
	back := newEngine(t)
	if err := back.Restore(e.Save()); err != nil {
		t.Fatal(err)
	}
	if got := back.Evaluate(r, now); len(got) != 1 {
		t.Errorf("after restore: %d firings", len(got))
	}
	if got := back.Evaluate(wrong, now); len(got) != 0 {
		t.Errorf("after restore, another value: %d firings", len(got))
	}
}

// YAML aliases cannot make a small document large: the expanded size is
// counted on the tree, before anything is expanded.
func TestParseRefusesAliasBombs(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("name: bomb\ndescription: x\nx0: &a0 \"" + strings.Repeat("y", 1000) + "\"\n")
	for i := 1; i < 12; i++ {
		fmt.Fprintf(&b, "x%d: &a%d [", i, i)
		for j := range 10 {
			if j > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]\n")
	}
	b.WriteString("rules: [{match: {vendor: brass}, action: {status: 503}}]\n")
	if b.Len() > 48<<10 {
		t.Fatalf("the document is %d bytes", b.Len())
	}
	_, err := scenarios.Parse([]byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "expands to more than") {
		t.Errorf("alias bomb of %d bytes: %v", b.Len(), err)
	}
	// A few aliases in an ordinary document are fine.
	ok := "name: fine\nrules:\n  - match: &m {vendor: brass}\n    action: {status: 503}\n  - match: *m\n    action: {status: 500}\n"
	if list, err := scenarios.Parse([]byte(ok)); err != nil || len(list[0].Rules) != 2 || list[0].Rules[1].Match.Vendor != "brass" {
		t.Errorf("ordinary aliases: %v %v", list, err)
	}
}

// The active scenarios hold at most MaxActiveRules rules together; the one
// that would pass it is refused whole.
func TestMaxActiveRules(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	now := time.Now()
	many := func(name string, n int) scenarios.Scenario {
		s := scenarios.Scenario{Name: name}
		for range n {
			s.Rules = append(s.Rules, scenarios.Rule{Match: scenarios.Match{Vendor: "brass"}, Action: scenarios.Action{Status: 503}})
		}
		return s
	}
	const each = 8
	for i := range scenarios.MaxActiveRules / each {
		if err := e.Apply(many(fmt.Sprintf("s%d", i), each), now, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Apply(many("last", 1), now, false); err == nil || !strings.Contains(err.Error(), "rules would be active") {
		t.Errorf("one rule too many: %v", err)
	}
	if err := e.Apply(many("s0", each), now, true); err != nil {
		t.Errorf("replacing a scenario by one as large: %v", err)
	}
	if n := len(e.Active()); n != scenarios.MaxActiveRules/each {
		t.Errorf("%d active", n)
	}
}

// A JSON list of scenarios is read as every JSON body is: a key in other
// case is unknown, a key given twice is an error.
func TestParseJSONKeysAreExact(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{
		`[{"name":"a","NAME":"b","rules":[{"match":{"vendor":"brass"},"action":{"status":503}}]}]`,
		`[{"name":"a","name":"b","rules":[{"match":{"vendor":"brass"},"action":{"status":503}}]}]`,
		`[{"name":"a","rules":[{"match":{"vendor":"brass"},"action":{"status":503}}]}] []`,
	} {
		if list, err := scenarios.Parse([]byte(doc)); err == nil {
			t.Errorf("%s: parsed as %+v", doc, list)
		}
	}
}
