package scenarios

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/textproto"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// framingHeaders are the headers a rule may not set: they frame the message
// (Content-Length, Transfer-Encoding, Trailer) or are hop-by-hop (RFC 9110
// §7.6.1), and a wrong one corrupts the connection for the next request.
var framingHeaders = []string{"Connection", "Content-Length", "Keep-Alive", "Proxy-Connection", "Te",
	"Trailer", "Transfer-Encoding", "Upgrade", "Proxy-Authenticate", "Proxy-Authorization"}

// Catalog is what validation checks rules against: the vendors an emulator
// serves, each with its prefix and operations (from its OpenAPI document),
// the kinds of token it issues and its refresh operation.
type Catalog struct {
	names   []string // in the order the emulator lists them
	vendors map[string]*vendorCatalog
}

type vendorCatalog struct {
	prefix  string
	ops     map[string]opInfo // by operationId
	kinds   []string
	refresh string // the operationId whose request presents a refresh token
}

// CatalogVendor is one vendor as a Catalog knows it.
type CatalogVendor struct {
	Name string
	Doc  *openapi3.T
	// Kinds are the kinds of token the vendor issues (a rule's match.kind).
	Kinds []string
	// RefreshOperation is the operationId of the vendor's refresh call, if
	// it has one: a rule's reject_refresh acts on the refresh token it presents.
	RefreshOperation string
}

type opInfo struct {
	method string
	path   string // the document's path template, prefix included
}

// NewCatalog builds a catalog of the given vendors.
func NewCatalog(vendors []CatalogVendor) (*Catalog, error) {
	c := &Catalog{vendors: map[string]*vendorCatalog{}}
	for _, v := range vendors {
		doc := v.Doc
		switch {
		case doc == nil || len(doc.Servers) != 1:
			return nil, fmt.Errorf("catalog: vendor %q: want a document with one server URL", v.Name)
		case c.vendors[v.Name] != nil || v.Name == "*":
			return nil, fmt.Errorf("catalog: vendor %q given twice, or named *", v.Name)
		}
		vc := &vendorCatalog{prefix: doc.Servers[0].URL, ops: map[string]opInfo{}, kinds: v.Kinds, refresh: v.RefreshOperation}
		for p, item := range doc.Paths.Map() {
			for method, op := range item.Operations() {
				vc.ops[op.OperationID] = opInfo{method: method, path: vc.prefix + p}
			}
		}
		c.vendors[v.Name] = vc
		c.names = append(c.names, v.Name)
	}
	return c, nil
}

// Vendors lists the catalog's vendors, in order.
func (c *Catalog) Vendors() []string { return slices.Clone(c.names) }

// Operations lists a vendor's operationIds, sorted.
func (c *Catalog) Operations(vendor string) []string {
	vc := c.vendors[vendor]
	if vc == nil {
		return nil
	}
	out := make([]string, 0, len(vc.ops))
	for id := range vc.ops {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

var (
	nameRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)
	methodRE = regexp.MustCompile(`^[A-Z]{3,7}$`)
)

// MaxDuration bounds a rule's skew, retry_after and relative trigger times:
// 100 years, the emulator's MaxLifetime, so that every time computed from the
// clock stays within what Go's nanosecond times can hold.
const MaxDuration = 100 * 365 * 24 * time.Hour

// maxRules bounds a scenario's rules.
const maxRules = MaxActiveRules

// Validate checks a scenario against the catalog and returns the first
// problem as an *Error that names the rule and field.
func (c *Catalog) Validate(s Scenario) error {
	fail := func(rule int, field, format string, args ...any) error {
		return &Error{Scenario: s.Name, Rule: rule, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	if !nameRE.MatchString(s.Name) {
		return fail(-1, "name", "want 1 to 64 lower-case letters, digits and dashes, starting with a letter or digit")
	}
	if len(s.Rules) == 0 {
		return fail(-1, "rules", "a scenario needs at least one rule")
	}
	if len(s.Rules) > maxRules {
		return fail(-1, "rules", "%d rules; at most %d", len(s.Rules), maxRules)
	}
	for i, r := range s.Rules {
		if err := c.validateMatch(r.Match); err != nil {
			return fail(i, strings.TrimSuffix("match."+err.field, "."), "%s", err.msg)
		}
		if err := validateTrigger(r.Trigger); err != nil {
			return fail(i, strings.TrimSuffix("trigger."+err.field, "."), "%s", err.msg)
		}
		if err := c.validateAction(r.Match, r.Action); err != nil {
			return fail(i, strings.TrimSuffix("action."+err.field, "."), "%s", err.msg)
		}
	}
	return nil
}

type fieldErr struct{ field, msg string }

func ferr(field, format string, args ...any) *fieldErr {
	return &fieldErr{field, fmt.Sprintf(format, args...)}
}

func (c *Catalog) validateMatch(m Match) *fieldErr {
	if m.Vendor == "" {
		return ferr("vendor", `required: one of %s, or "*" for all`, strings.Join(c.names, ", "))
	}
	var vc *vendorCatalog
	if m.Vendor != "*" {
		if vc = c.vendors[m.Vendor]; vc == nil {
			return ferr("vendor", "unknown vendor %q: want one of %s, or \"*\"", m.Vendor, strings.Join(c.names, ", "))
		}
	}
	if m.TokenSHA256 != "" {
		if m.Token != "" {
			return ferr("token_sha256", "give token or token_sha256, not both")
		}
		if b, err := hex.DecodeString(m.TokenSHA256); err != nil || len(b) != sha256.Size {
			return ferr("token_sha256", "want 64 hex digits (the SHA-256 of the token's value)")
		}
	}
	if m.Method != "" && !methodRE.MatchString(m.Method) {
		return ferr("method", "%q is not an upper-case HTTP method", m.Method)
	}
	var op *opInfo
	if m.Operation != "" {
		if vc == nil {
			return ferr("operation", "an operation needs a vendor (not \"*\")")
		}
		o, ok := vc.ops[m.Operation]
		if !ok {
			return ferr("operation", "unknown operationId %q for %s (known: %s)", m.Operation, m.Vendor, strings.Join(c.Operations(m.Vendor), ", "))
		}
		op = &o
		if m.Method != "" && m.Method != o.method {
			return ferr("method", "matches nothing: %s.%s is %s %s, not %s", m.Vendor, m.Operation, o.method, o.path, m.Method)
		}
	}
	if m.Path != "" {
		if !strings.HasPrefix(m.Path, "/") {
			return ferr("path", "%q must start with /", m.Path)
		}
		if _, err := compileGlob(m.Path); err != nil {
			return ferr("path", "bad pattern %.64q: %v", m.Path, err)
		}
		// The pattern must be able to match one of the routes it could reach.
		var templates []opInfo
		switch {
		case op != nil:
			templates = []opInfo{*op}
		case vc != nil:
			for _, o := range vc.ops {
				templates = append(templates, o)
			}
		default:
			for _, v := range c.vendors {
				for _, o := range v.ops {
					templates = append(templates, o)
				}
			}
		}
		if !slices.ContainsFunc(templates, func(o opInfo) bool {
			return (m.Method == "" || m.Method == o.method) && patternCanMatch(m.Path, o.path)
		}) {
			return ferr("path", "matches nothing: no %s route fits %q", cmp.Or(m.Vendor, "*"), m.Path)
		}
	}
	if m.Kind != "" {
		var kinds []string
		for _, name := range c.names {
			if m.Vendor == "*" || m.Vendor == name {
				for _, k := range c.vendors[name].kinds {
					if !slices.Contains(kinds, k) {
						kinds = append(kinds, k)
					}
				}
			}
		}
		if !slices.Contains(kinds, m.Kind) {
			return ferr("kind", "matches nothing: %s tokens are %s, not %q", m.Vendor, strings.Join(kinds, ", "), m.Kind)
		}
	}
	for name, v := range m.Header {
		if name == "" || v == "" {
			return ferr("header", "header names and values must not be empty (use \"*\" for any value)")
		}
	}
	return nil
}

// patternCanMatch reports whether some request path could match both the
// pattern and the document's template ({param} segments match any segment).
func patternCanMatch(pattern, template string) bool {
	deep := strings.HasSuffix(pattern, "/**")
	pattern = strings.TrimSuffix(pattern, "/**")
	ps, ts := strings.Split(pattern, "/"), strings.Split(template, "/")
	if deep {
		if len(ts) < len(ps) {
			return false
		}
		ts = ts[:len(ps)]
	} else if len(ps) != len(ts) {
		return false
	}
	for i := range ps {
		if strings.HasPrefix(ts[i], "{") {
			continue
		}
		if seg, err := compileSeg(ps[i]); err != nil || !seg.match(ts[i]) {
			return false
		}
	}
	return true
}

func validateTrigger(t Trigger) *fieldErr {
	counts := 0
	for _, c := range []struct {
		name string
		n    int
	}{{"first", t.First}, {"after", t.After}, {"nth", t.Nth}} {
		if c.n < 0 {
			return ferr(c.name, "%d is negative", c.n)
		}
		if c.n > 0 {
			counts++
		}
	}
	if counts > 1 {
		return ferr("first", "give at most one of first, after and nth")
	}
	if t.Always && (counts > 0 || t.Probability != nil || t.From != "" || t.To != "") {
		return ferr("always", "always fires on every match: leave out the other trigger fields")
	}
	if p := t.Probability; p != nil && (math.IsNaN(*p) || *p <= 0 || *p > 1) {
		return ferr("probability", "%v: want more than 0 and at most 1", *p)
	}
	from, err := parseWhen(t.From, time.Time{})
	if err != nil {
		return ferr("from", "%v", err)
	}
	to, err := parseWhen(t.To, time.Time{})
	if err != nil {
		return ferr("to", "%v", err)
	}
	// Both relative or both absolute can be compared now.
	if t.From != "" && t.To != "" && isRelative(t.From) == isRelative(t.To) && !to.After(from) {
		return ferr("to", "%q is not after from %q", t.To, t.From)
	}
	return nil
}

func isRelative(s string) bool {
	_, err := time.ParseDuration(s)
	return err == nil
}

// parseWhen reads a trigger time: RFC 3339, or a duration after base.
func parseWhen(s string, base time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 || d > MaxDuration {
			return time.Time{}, fmt.Errorf("%q: want 0s to %v (100 years)", s, MaxDuration)
		}
		return base.Add(d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: want an RFC 3339 time or a duration after the scenario is applied (\"10m\")", s)
	}
	return t, nil
}

func (c *Catalog) validateAction(m Match, a Action) *fieldErr {
	effects := a.Expire != "" || a.Revoke != "" || a.RejectRefresh != "" || a.Skew != 0
	if !a.Fault() && a.Delay == 0 && !effects {
		return ferr("", "does nothing: give status, drop, delay, expire, revoke, reject_refresh or skew")
	}
	if a.Status != 0 {
		if a.Body == nil && (a.Status < 400 || a.Status > 599) {
			return ferr("status", "%d: a vendor-shaped error needs 400 to 599 (give a body for other statuses)", a.Status)
		}
		if a.Status < 200 || a.Status > 599 {
			return ferr("status", "%d: want 200 to 599", a.Status)
		}
	}
	if a.Drop && a.Status != 0 {
		return ferr("drop", "a dropped connection has no status")
	}
	if a.Status == 0 {
		for field, set := range map[string]bool{"error": a.Error != "", "message": a.Message != "", "body": a.Body != nil,
			"headers": len(a.Headers) > 0, "retry_after": a.RetryAfter != 0} {
			if set {
				return ferr(field, "needs a status")
			}
		}
	}
	if a.Body != nil && (a.Error != "" || a.Message != "") {
		return ferr("body", "a custom body replaces error and message: give one or the other")
	}
	for name := range a.Headers {
		if name == "" || strings.ContainsAny(name, " :\r\n") {
			return ferr("headers", "%q is not a header name", name)
		}
		if v := a.Headers[name]; strings.ContainsAny(v, "\r\n") {
			return ferr("headers", "the value of %s holds a line break", name)
		}
		if slices.Contains(framingHeaders, textproto.CanonicalMIMEHeaderKey(name)) {
			return ferr("headers", "%s frames the message or the connection, which the server sets itself", name)
		}
		if strings.HasPrefix(strings.ToLower(name), "access-control-") {
			return ferr("headers", "%s is a CORS header: the emulator grants no origin anything", name)
		}
	}
	if a.RetryAfter < 0 || (a.RetryAfter > 0 && a.RetryAfter.D() < time.Second) || a.RetryAfter.D() > MaxDuration {
		return ferr("retry_after", "%v: want 1s to %v (100 years)", a.RetryAfter, MaxDuration)
	}
	if a.Delay < 0 || a.Delay.D() > MaxDelay {
		return ferr("delay", "%v: want 0 to %v", a.Delay, MaxDelay)
	}
	for field, v := range map[string]string{"expire": a.Expire, "revoke": a.Revoke} {
		if v != "" && v != "token" && v != "principal" {
			return ferr(field, "%q: want token or principal", v)
		}
		if v == "principal" && m.Vendor == "*" {
			return ferr(field, "principal needs one vendor (not \"*\")")
		}
	}
	if a.Expire != "" && a.Revoke != "" {
		return ferr("revoke", "give expire or revoke, not both")
	}
	if a.RejectRefresh != "" {
		if a.RejectRefresh != "reused" && a.RejectRefresh != "expired" {
			return ferr("reject_refresh", "%q: want reused or expired", a.RejectRefresh)
		}
		if vc := c.vendors[m.Vendor]; vc == nil || vc.refresh == "" || m.Operation != vc.refresh {
			var with []string
			for _, name := range c.names {
				if r := c.vendors[name].refresh; r != "" {
					with = append(with, "vendor "+name+", operation "+r)
				}
			}
			return ferr("reject_refresh", "matches nothing: only a rule matching a refresh call sees a refresh token (%s)", strings.Join(with, "; "))
		}
	}
	if a.Skew.D().Abs() > MaxDuration {
		return ferr("skew", "%v: at most %v either way (100 years)", a.Skew, MaxDuration)
	}
	return nil
}

// MaxDelay is the longest delay an action may add. The server's write timeout
// allows for it.
const MaxDelay = 60 * time.Second

// servedPart is s with only the rules for the catalog's vendors (or "*").
func (c *Catalog) servedPart(s Scenario) Scenario {
	out := s
	out.Rules = nil
	for _, r := range s.Rules {
		if r.Match.Vendor == "*" || c.vendors[r.Match.Vendor] != nil {
			out.Rules = append(out.Rules, r)
		}
	}
	return out
}
