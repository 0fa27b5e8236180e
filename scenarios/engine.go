package scenarios

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// MaxActive bounds how many scenarios an engine holds at once.
const MaxActive = 100

// MaxActiveRules bounds how many rules the active scenarios hold together:
// every request is checked against its vendor's share of them.
const MaxActiveRules = 32

// ErrDuplicate is wrapped by Apply's error when a scenario of that name is active.
var ErrDuplicate = errors.New("a scenario with this name is already active")

// ErrUnknown is returned for a built-in name that does not exist.
var ErrUnknown = errors.New("no built-in scenario with this name")

// Request is what a rule sees of a request. Principal, Kind and Token are
// looked up only when a rule asks for them.
type Request struct {
	Vendor    string
	Operation string
	Method    string
	Path      string
	Header    http.Header
	// Principal returns who the request is made by ("" when unknown).
	Principal func() string
	// Kind returns the kind of token the request presents ("" when none).
	Kind func() string
	// Token returns the token value the request presents ("" when none).
	Token func() string

	segments []string // Path split at "/", once, when a rule with a path first asks
	// The SHA-256 of the token and of credential header values, once each,
	// when a rule that keeps hashes first asks.
	tokenHash    *[sha256.Size]byte
	headerHashes map[string][sha256.Size]byte
}

// Firing is one rule that fired on a request.
type Firing struct {
	Scenario string
	Rule     int
	Action   Action
}

// Engine holds the active scenarios and their counters. It is safe for
// concurrent use; its randomness is seeded, so a run replays.
type Engine struct {
	cat   *Catalog
	order []string // built-in names, sorted

	builtinsOnce sync.Once // loadBuiltins
	builtins     map[string]Scenario
	builtinsErr  error

	// set is the active scenarios, replaced whole (never changed in place)
	// by Apply, Remove, Clear and Restore, which mu serialises. Requests read
	// it without a lock, and count their matches in the rules' atomics.
	set   atomic.Pointer[activeSet]
	mu    sync.Mutex
	rngMu sync.Mutex // the seeded randomness, drawn only by rules with a probability
	rng   *rand.Rand
}

// activeSet is the active scenarios in the order applied, and for each
// vendor the rules that can match its requests, in evaluation order.
type activeSet struct {
	list     []*active
	byVendor map[string][]ruleRef
	rules    int
}

type ruleRef struct {
	a *active
	r *rule
}

func newActiveSet(list []*active, vendors []string) *activeSet {
	s := &activeSet{list: list, byVendor: map[string][]ruleRef{}}
	for _, v := range vendors {
		for _, a := range list {
			for _, r := range a.rules {
				if r.Match.Vendor == "*" || r.Match.Vendor == v {
					s.byVendor[v] = append(s.byVendor[v], ruleRef{a, r})
				}
			}
		}
	}
	for _, a := range list {
		s.rules += len(a.rules)
	}
	return s
}

// active returns the active scenarios (nil when none).
func (e *Engine) activeList() []*active {
	if s := e.set.Load(); s != nil {
		return s.list
	}
	return nil
}

type active struct {
	s       Scenario
	applied time.Time
	rules   []*rule
}

// headerMatch is one header a rule matches. A credential header's value is
// kept only as its SHA-256 (hashed), as a token is.
type headerMatch struct {
	name, value string
	hash        [sha256.Size]byte
	hashed      bool
}

// HashedPrefix starts a header match value given as the hex SHA-256 of the
// value, as saved state writes the value of a credential header.
const HashedPrefix = "sha256:"

// CredentialHeader reports whether a header carries credentials, so that a
// rule's match on its value is kept, listed and saved only as a SHA-256:
// Authorization, Proxy-Authorization, TeleTracker's Authentication, Cookie,
// and any header whose name says token, key, secret, password, auth or session.
func CredentialHeader(name string) bool {
	l := strings.ToLower(name)
	if l == "cookie" {
		return true
	}
	for _, w := range []string{"auth", "token", "key", "secret", "password", "session"} {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}

type rule struct {
	Rule
	index    int
	token    [sha256.Size]byte
	hasToken bool
	headers  []headerMatch // canonical names, for lookups without canonicalising per request
	path     *glob         // match.path compiled; nil when the rule has none
	from, to time.Time
	matched  atomic.Int64
	fired    atomic.Int64
	spent    atomic.Bool
}

// NewEngine returns an engine with no active scenario. The built-ins are
// parsed and checked against the catalog when one is first asked for, not
// here: parsing them was a third of the cost of starting an emulator, and
// most emulators never use one.
func NewEngine(cat *Catalog, seed int64) (*Engine, error) {
	names, err := builtinNames()
	if err != nil {
		return nil, err
	}
	return &Engine{cat: cat, order: names, rng: rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15))}, nil
}

// loadBuiltins parses every built-in and validates it against the catalog,
// once per engine.
func (e *Engine) loadBuiltins() (map[string]Scenario, error) {
	e.builtinsOnce.Do(func() {
		list, err := Builtins()
		if err != nil {
			e.builtinsErr = err
			return
		}
		m := make(map[string]Scenario, len(list))
		for _, s := range list {
			// An emulator that serves some vendors only offers the built-ins
			// with rules for them, narrowed to them.
			if s = e.cat.servedPart(s); len(s.Rules) == 0 {
				continue
			}
			if err := e.cat.Validate(s); err != nil {
				e.builtinsErr = fmt.Errorf("built-in: %w", err)
				return
			}
			m[s.Name] = s
		}
		e.builtins = m
	})
	return e.builtins, e.builtinsErr
}

// Catalog returns the catalog the engine validates against.
func (e *Engine) Catalog() *Catalog { return e.cat }

// Builtin returns the built-in scenario of that name, narrowed to vendor when
// it is set (see the package function Builtin).
func (e *Engine) Builtin(name, vendor string) (Scenario, error) {
	builtins, err := e.loadBuiltins()
	if err != nil {
		return Scenario{}, err
	}
	s, ok := builtins[name]
	if !ok {
		return Scenario{}, unknownBuiltin(name, e.BuiltinNames())
	}
	if vendor == "" {
		return s, nil // validated when loaded
	}
	if s, err = narrow(s, vendor); err != nil {
		return Scenario{}, err
	}
	// Narrowed to a vendor, a rule for every vendor names that one: it must be served.
	return s, e.cat.Validate(s)
}

// BuiltinNames lists the built-ins this engine offers (those with rules for
// the catalog's vendors), sorted.
func (e *Engine) BuiltinNames() []string {
	builtins, err := e.loadBuiltins()
	if err != nil {
		return nil
	}
	var out []string
	for _, name := range e.order {
		if _, ok := builtins[name]; ok {
			out = append(out, name)
		}
	}
	return out
}

// Apply validates s and makes it active from now. A scenario of the same name
// is an error (IsDuplicate) unless replace is set.
func (e *Engine) Apply(s Scenario, now time.Time, replace bool) error {
	return e.ApplyAll([]Scenario{s}, now, replace)
}

// ApplyAll validates every scenario and makes them all active, or none of
// them: a problem with one leaves the active scenarios as they were.
func (e *Engine) ApplyAll(list []Scenario, now time.Time, replace bool) error {
	compiled, err := e.compileAll(list, func(int) time.Time { return now })
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	next := slices.Clone(e.activeList())
	index := map[string]int{}
	for i, a := range next {
		index[a.s.Name] = i
	}
	added := 0
	for _, a := range compiled {
		if _, dup := index[a.s.Name]; dup {
			if !replace {
				return &Error{Scenario: a.s.Name, Rule: -1, Field: "name", Msg: ErrDuplicate.Error() + " (remove it first, or replace it)"}
			}
		} else {
			added++
		}
	}
	if len(next)+added > MaxActive {
		return &Error{Scenario: compiled[0].s.Name, Rule: -1, Msg: fmt.Sprintf("%d scenarios would be active; the limit is %d", len(next)+added, MaxActive)}
	}
	for _, a := range compiled {
		if i, dup := index[a.s.Name]; dup {
			next[i] = a
		} else {
			next = append(next, a)
		}
	}
	return e.publish(compiled[0].s.Name, next)
}

// publish makes list the active scenarios, unless their rules would pass
// MaxActiveRules. The caller holds mu.
func (e *Engine) publish(name string, list []*active) error {
	set := newActiveSet(list, e.cat.names)
	if set.rules > MaxActiveRules {
		return &Error{Scenario: name, Rule: -1, Field: "rules",
			Msg: fmt.Sprintf("%d rules would be active; the limit is %d in all scenarios together", set.rules, MaxActiveRules)}
	}
	if len(list) == 0 {
		set = nil
	}
	e.set.Store(set)
	return nil
}

// IsDuplicate reports whether err is Apply's duplicate-name error.
func IsDuplicate(err error) bool {
	var se *Error
	return errors.As(err, &se) && se.Field == "name" && strings.HasPrefix(se.Msg, ErrDuplicate.Error())
}

// compileAll validates and compiles list, scenario i applied at appliedAt(i);
// a name given twice is an error.
func (e *Engine) compileAll(list []Scenario, appliedAt func(i int) time.Time) ([]*active, error) {
	compiled := make([]*active, 0, len(list))
	seen := map[string]bool{}
	for i, s := range list {
		if err := e.cat.Validate(s); err != nil {
			return nil, err
		}
		if seen[s.Name] {
			return nil, &Error{Scenario: s.Name, Rule: -1, Field: "name", Msg: "the document names this scenario twice"}
		}
		seen[s.Name] = true
		a, err := compile(s, appliedAt(i))
		if err != nil {
			return nil, err
		}
		compiled = append(compiled, a)
	}
	return compiled, nil
}

// compile makes s active from now. The active scenario keeps no secret a
// rule names: a token, and the value of a credential header, are kept as
// their SHA-256 (in the rule, and in the scenario it lists and saves).
func compile(s Scenario, now time.Time) (*active, error) {
	s.Rules = slices.Clone(s.Rules) // hashed below: the caller's copy stays as it was
	a := &active{s: s, applied: now}
	for i, r := range s.Rules {
		cr := &rule{Rule: r, index: i}
		if r.Match.Token != "" {
			cr.token, cr.hasToken = sha256.Sum256([]byte(r.Match.Token)), true
		}
		if b, err := hex.DecodeString(r.Match.TokenSHA256); err == nil && len(b) == sha256.Size {
			copy(cr.token[:], b)
			cr.hasToken = true
		}
		m := &s.Rules[i].Match
		if cr.hasToken {
			m.Token, m.TokenSHA256 = "", hex.EncodeToString(cr.token[:])
		}
		if len(r.Match.Header) > 0 {
			m.Header = make(map[string]string, len(r.Match.Header))
		}
		for name, value := range r.Match.Header {
			hm := headerMatch{name: textproto.CanonicalMIMEHeaderKey(name), value: value}
			if value != "*" && CredentialHeader(name) {
				if h, ok := strings.CutPrefix(value, HashedPrefix); ok {
					if b, err := hex.DecodeString(h); err == nil && len(b) == sha256.Size {
						copy(hm.hash[:], b)
						hm.hashed = true
					}
				}
				if !hm.hashed {
					hm.hash, hm.hashed = sha256.Sum256([]byte(value)), true
				}
				hm.value = HashedPrefix + hex.EncodeToString(hm.hash[:])
			}
			m.Header[name] = hm.value
			cr.headers = append(cr.headers, hm)
		}
		if r.Match.Path != "" {
			g, err := compileGlob(r.Match.Path)
			if err != nil {
				return nil, &Error{Scenario: s.Name, Rule: i, Field: "match.path", Msg: err.Error()}
			}
			cr.path = g
		}
		cr.Rule = s.Rules[i]
		var err error
		if cr.from, err = parseWhen(r.Trigger.From, now); err != nil {
			return nil, &Error{Scenario: s.Name, Rule: i, Field: "trigger.from", Msg: err.Error()}
		}
		if cr.to, err = parseWhen(r.Trigger.To, now); err != nil {
			return nil, &Error{Scenario: s.Name, Rule: i, Field: "trigger.to", Msg: err.Error()}
		}
		if !cr.from.IsZero() && !cr.to.IsZero() && !cr.to.After(cr.from) {
			return nil, &Error{Scenario: s.Name, Rule: i, Field: "trigger.to", Msg: "the window ends before it starts"}
		}
		a.rules = append(a.rules, cr)
	}
	return a, nil
}

// Remove deactivates the named scenario and reports whether it was active.
func (e *Engine) Remove(name string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	list := e.activeList()
	for i, a := range list {
		if a.s.Name == name {
			_ = e.publish(name, slices.Delete(slices.Clone(list), i, i+1)) // fewer rules: never over the limit
			return true
		}
	}
	return false
}

// Clear deactivates every scenario.
func (e *Engine) Clear() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.set.Store(nil)
}

// Empty reports whether no scenario is active (without taking the lock).
func (e *Engine) Empty() bool { return e.set.Load() == nil }

// Status is an active scenario with its counters.
type Status struct {
	Name        string       `json:"name"`
	Description string       `json:"description,omitempty"`
	AppliedAt   string       `json:"applied_at"`
	Rules       []RuleStatus `json:"rules"`
}

// RuleStatus is one rule of an active scenario and how it has fired.
type RuleStatus struct {
	Index   int     `json:"index"`
	Match   Match   `json:"match"`
	Trigger Trigger `json:"trigger"`
	Action  Action  `json:"action"`
	Matched int64   `json:"matched"`
	Fired   int64   `json:"fired"`
	// Remaining is how many more matches the rule fires on (first), or waits
	// for (nth); nil when it is not counted.
	Remaining *int64 `json:"remaining"`
	Spent     bool   `json:"spent"`
}

// Active lists the active scenarios, in the order they were applied.
func (e *Engine) Active() []Status {
	list := e.activeList()
	out := make([]Status, 0, len(list))
	for _, a := range list {
		st := Status{Name: a.s.Name, Description: a.s.Description, AppliedAt: a.applied.Format(time.RFC3339Nano)}
		for _, r := range a.rules {
			rs := RuleStatus{Index: r.index, Match: r.Match, Trigger: r.Trigger, Action: r.Action,
				Matched: r.matched.Load(), Fired: r.fired.Load(), Spent: r.spent.Load()}
			if r.hasToken {
				rs.Match.Token, rs.Match.TokenSHA256 = "(redacted)", ""
			}
			if len(r.Match.Header) > 0 {
				rs.Match.Header = maps.Clone(r.Match.Header)
				for name, v := range rs.Match.Header {
					if strings.HasPrefix(v, HashedPrefix) && CredentialHeader(name) {
						rs.Match.Header[name] = "(redacted)"
					}
				}
			}
			var n int64 = -1
			switch {
			case r.Trigger.First > 0:
				n = max(0, int64(r.Trigger.First)-rs.Matched)
			case r.Trigger.Nth > 0:
				n = max(0, int64(r.Trigger.Nth)-rs.Matched)
			}
			if n >= 0 {
				rs.Remaining = &n
			}
			st.Rules = append(st.Rules, rs)
		}
		out = append(out, st)
	}
	return out
}

// Evaluate counts req against every active rule of its vendor and returns
// the rules that fire, in order (scenarios in the order applied, rules in
// file order). It takes no lock: the active set is read whole, and each
// rule's counters are atomics.
func (e *Engine) Evaluate(req *Request, now time.Time) []Firing {
	set := e.set.Load()
	if set == nil {
		return nil
	}
	var out []Firing
	for _, ref := range set.byVendor[req.Vendor] {
		out = e.evaluate(ref.a, ref.r, req, now, out)
	}
	return out
}

// Once evaluates s against req alone, with fresh counters, as if req were the
// scenario's first match: the per-request override. Nothing is kept.
func (e *Engine) Once(s Scenario, req *Request, now time.Time) []Firing {
	a, err := compile(s, now)
	if err != nil {
		return nil
	}
	var out []Firing
	for _, r := range a.rules {
		out = e.evaluate(a, r, req, now, out)
	}
	return out
}

func (e *Engine) evaluate(a *active, r *rule, req *Request, now time.Time, out []Firing) []Firing {
	if r.spent.Load() {
		return out
	}
	if !r.to.IsZero() && !now.Before(r.to) {
		r.spent.Store(true)
		return out
	}
	if !r.from.IsZero() && now.Before(r.from) {
		return out
	}
	if !r.matches(req) {
		return out
	}
	m, t := r.matched.Add(1), r.Trigger
	fire := true
	switch {
	case t.First > 0:
		fire = m <= int64(t.First)
		if m >= int64(t.First) {
			r.spent.Store(true)
		}
	case t.After > 0:
		fire = m > int64(t.After)
	case t.Nth > 0:
		fire = m == int64(t.Nth)
		if m >= int64(t.Nth) {
			r.spent.Store(true)
		}
	}
	if fire && t.Probability != nil {
		e.rngMu.Lock()
		fire = e.rng.Float64() < *t.Probability
		e.rngMu.Unlock()
	}
	if fire {
		r.fired.Add(1)
		out = append(out, Firing{Scenario: a.s.Name, Rule: r.index, Action: r.Action})
	}
	return out
}

func (r *rule) matches(req *Request) bool {
	m := &r.Match // not copied: a rule is checked on every request of its vendor
	if m.Vendor != "*" && m.Vendor != req.Vendor {
		return false
	}
	if m.Operation != "" && m.Operation != req.Operation {
		return false
	}
	if m.Method != "" && m.Method != req.Method {
		return false
	}
	if r.path != nil {
		if req.segments == nil {
			req.segments = strings.Split(req.Path, "/")
		}
		if !r.path.matchSegments(req.segments) {
			return false
		}
	}
	for _, h := range r.headers {
		got := req.Header[h.name]
		switch {
		case len(got) == 0:
			return false
		case h.hashed:
			if !req.containsHash(got, h.hash) {
				return false
			}
		case h.value != "*" && !contains(got, h.value):
			return false
		}
	}
	if m.Principal != "" && (req.Principal == nil || req.Principal() != m.Principal) {
		return false
	}
	if m.Kind != "" && (req.Kind == nil || req.Kind() != m.Kind) {
		return false
	}
	if r.hasToken {
		if req.Token == nil {
			return false
		}
		if req.tokenHash == nil {
			h := sha256.Sum256([]byte(req.Token()))
			req.tokenHash = &h
		}
		if subtle.ConstantTimeCompare(req.tokenHash[:], r.token[:]) != 1 {
			return false
		}
	}
	return true
}

// containsHash reports whether one of a header's values has the SHA-256
// want; each value is hashed once per request, however many rules ask.
func (req *Request) containsHash(list []string, want [sha256.Size]byte) bool {
	for _, v := range list {
		got, ok := req.headerHashes[v]
		if !ok {
			got = sha256.Sum256([]byte(v))
			if req.headerHashes == nil {
				req.headerHashes = map[string][sha256.Size]byte{}
			}
			req.headerHashes[v] = got
		}
		if subtle.ConstantTimeCompare(got[:], want[:]) == 1 {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Saved is an active scenario as saved state keeps it: the scenario (with
// any token replaced by its SHA-256), when it was applied, and its rules'
// counters.
type Saved struct {
	Scenario  Scenario    `json:"scenario"`
	AppliedAt time.Time   `json:"applied_at"`
	Rules     []SavedRule `json:"rules"`
}

// SavedRule is one rule's counters.
type SavedRule struct {
	Matched int64 `json:"matched"`
	Fired   int64 `json:"fired"`
	Spent   bool  `json:"spent"`
}

// Save returns the active scenarios with their counters, in the order applied.
// Tokens and credential header values are there as their SHA-256 (compile
// kept nothing else), so that no secret is written.
func (e *Engine) Save() []Saved {
	list := e.activeList()
	out := make([]Saved, 0, len(list))
	for _, a := range list {
		sv := Saved{Scenario: a.s, AppliedAt: a.applied}
		for _, r := range a.rules {
			sv.Rules = append(sv.Rules, SavedRule{Matched: r.matched.Load(), Fired: r.fired.Load(), Spent: r.spent.Load()})
		}
		out = append(out, sv)
	}
	return out
}

// Restore replaces the active scenarios with saved ones, counters included.
// Every scenario is validated; a problem leaves the engine as it was.
func (e *Engine) Restore(list []Saved) error {
	plain := make([]Scenario, len(list))
	for i, sv := range list {
		plain[i] = sv.Scenario
	}
	compiled, err := e.compileAll(plain, func(i int) time.Time { return list[i].AppliedAt })
	if err != nil {
		return err
	}
	for i, a := range compiled {
		sv := list[i]
		if len(sv.Rules) != len(a.rules) {
			return &Error{Scenario: sv.Scenario.Name, Rule: -1, Field: "rules",
				Msg: fmt.Sprintf("%d rule counters for %d rules", len(sv.Rules), len(a.rules))}
		}
		for j, r := range a.rules {
			r.matched.Store(sv.Rules[j].Matched)
			r.fired.Store(sv.Rules[j].Fired)
			r.spent.Store(sv.Rules[j].Spent)
		}
	}
	if len(compiled) > MaxActive {
		return fmt.Errorf("%d saved scenarios; the limit is %d", len(compiled), MaxActive)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.publish("(saved state)", compiled)
}
