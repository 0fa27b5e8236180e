package scenarios

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"go.yaml.in/yaml/v4"
)

// MaxDocumentBytes is the largest scenario document Parse accepts.
const MaxDocumentBytes = 256 << 10

// MaxExpandedBytes is the most a scenario document may hold once its YAML
// aliases are expanded (each node counted as its text and 16 bytes more).
const MaxExpandedBytes = 1 << 20

// expandedSize is what n would take with every alias expanded, each node
// counted once per place it appears; memo keeps the size of each node seen.
// It stops counting past MaxExpandedBytes, so that it ends fast however
// deep the aliases nest.
func expandedSize(n *yaml.Node, memo map[*yaml.Node]int) int {
	if n == nil {
		return 0
	}
	if v, ok := memo[n]; ok {
		return v
	}
	memo[n] = MaxExpandedBytes + 1 // an alias to a node being counted: a cycle
	size := 16 + len(n.Value)
	if n.Kind == yaml.AliasNode {
		size += expandedSize(n.Alias, memo)
	}
	for _, c := range n.Content {
		if size += expandedSize(c, memo); size > MaxExpandedBytes {
			break
		}
	}
	size = min(size, MaxExpandedBytes+1)
	memo[n] = size
	return size
}

// Scenario is a named list of rules.
type Scenario struct {
	Name        string `json:"name" yaml:"name"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	Rules       []Rule `json:"rules" yaml:"rules"`
}

// Rule is one match, trigger and action.
type Rule struct {
	Match   Match   `json:"match" yaml:"match"`
	Trigger Trigger `json:"trigger,omitzero" yaml:"trigger,omitempty"`
	Action  Action  `json:"action" yaml:"action"`
}

// Match selects requests. Every field given must hold; a rule must name at
// least its vendor ("*" for every vendor).
type Match struct {
	// Vendor is passport, passkit, brass, teletracker, or "*" for all four.
	Vendor string `json:"vendor" yaml:"vendor"`
	// Operation is an operationId of the vendor's OpenAPI document.
	Operation string `json:"operation,omitempty" yaml:"operation,omitempty"`
	// Method is an HTTP method.
	Method string `json:"method,omitempty" yaml:"method,omitempty"`
	// Path is a pattern on the whole request path, prefix included, in
	// path.Match syntax ("/passport/v1/core/accounts/*"); a trailing "/**"
	// matches everything below.
	Path string `json:"path,omitempty" yaml:"path,omitempty"`
	// Principal is the client id, username or email the request is made by:
	// the owner of the token it presents, or the one its credentials name.
	Principal string `json:"principal,omitempty" yaml:"principal,omitempty"`
	// Kind is the kind of token the request presents: access, jwt,
	// longlived, refresh, temporary or pat.
	Kind string `json:"kind,omitempty" yaml:"kind,omitempty"`
	// Token is one token's value: the rule matches only requests presenting it.
	Token string `json:"token,omitempty" yaml:"token,omitempty"`
	// TokenSHA256 is, instead of Token, the hex SHA-256 of the token's value,
	// for files that must not hold the token itself (saved state does this).
	TokenSHA256 string `json:"token_sha256,omitempty" yaml:"token_sha256,omitempty"`
	// Header maps header names to values; "*" means present with any value.
	Header map[string]string `json:"header,omitempty" yaml:"header,omitempty"`
}

// Trigger decides which matches a rule fires on. The zero Trigger fires on
// every match. First, After and Nth count matches (requests the rule's match
// selected inside its time window); Probability then fires on that share of
// them, from the engine's seeded randomness.
type Trigger struct {
	Always      bool     `json:"always,omitempty" yaml:"always,omitempty"`
	First       int      `json:"first,omitempty" yaml:"first,omitempty"` // the first N matches, then spent
	After       int      `json:"after,omitempty" yaml:"after,omitempty"` // every match after the first N
	Nth         int      `json:"nth,omitempty" yaml:"nth,omitempty"`     // the Nth match only, then spent
	Probability *float64 `json:"probability,omitempty" yaml:"probability,omitempty"`
	// From and To bound the rule in virtual time: an RFC 3339 time, or a
	// duration after the scenario is applied ("10m"). The rule is spent at To.
	From string `json:"from,omitempty" yaml:"from,omitempty"`
	To   string `json:"to,omitempty" yaml:"to,omitempty"`
}

// Action is what a firing rule does. Faults (Status, Drop) end the request;
// Delay holds it first; the effects (Expire, Revoke, RejectRefresh, Skew) act
// on the emulator's state before the request goes on (so the request itself
// sees them).
type Action struct {
	// Status answers the request with this status and the vendor's error body.
	Status int `json:"status,omitempty" yaml:"status,omitempty"`
	// Error is the vendor's error code where it has one (Passport's OAuth
	// "invalid_client"); the default suits the status.
	Error string `json:"error,omitempty" yaml:"error,omitempty"`
	// Message replaces the default error message.
	Message string `json:"message,omitempty" yaml:"message,omitempty"`
	// Body replaces the vendor-shaped body with this JSON value.
	Body any `json:"body,omitempty" yaml:"body,omitempty"`
	// Headers are added to the response.
	Headers map[string]string `json:"headers,omitempty" yaml:"headers,omitempty"`
	// RetryAfter sets Retry-After (whole seconds).
	RetryAfter Duration `json:"retry_after,omitempty" yaml:"retry_after,omitempty"`
	// Delay holds the request this long (real time) before anything else.
	Delay Duration `json:"delay,omitempty" yaml:"delay,omitempty"`
	// Drop closes the connection without an answer.
	Drop bool `json:"drop,omitempty" yaml:"drop,omitempty"`
	// Expire makes "token" (the one the request presents) or "principal" (all
	// of its owner's live tokens at this vendor) expire now.
	Expire string `json:"expire,omitempty" yaml:"expire,omitempty"`
	// Revoke revokes "token" or "principal" in the same way.
	Revoke string `json:"revoke,omitempty" yaml:"revoke,omitempty"`
	// RejectRefresh makes the refresh token this TeleTracker refresh presents
	// count as "reused" (already rotated) or "expired", so the vendor rejects it.
	RejectRefresh string `json:"reject_refresh,omitempty" yaml:"reject_refresh,omitempty"`
	// Skew moves the virtual clock by this much (negative moves it back).
	Skew Duration `json:"skew,omitempty" yaml:"skew,omitempty"`
}

// Fault reports whether the action ends the request.
func (a Action) Fault() bool { return a.Status != 0 || a.Drop }

// GlobalEffect says what the action changes beyond the one request it fires
// on, or "" when it changes nothing else: a fault, a delay, a dropped
// connection and an effect on the request's own token (expire, revoke or
// reject_refresh of "token") stay within the request; a clock skew and an
// effect on a principal's tokens do not.
func (a Action) GlobalEffect() string {
	switch {
	case a.Skew != 0:
		return "skew moves the emulator's clock"
	case a.Expire == "principal":
		return "expire: principal expires every live token of the principal"
	case a.Revoke == "principal":
		return "revoke: principal revokes every live token of the principal"
	}
	return ""
}

// PerRequest reports whether the scenario can apply to one request alone (the
// X-Tokenemu-Scenario header): none of its rules has a GlobalEffect. The
// error names the first rule that has one.
func (s Scenario) PerRequest() error {
	for i, r := range s.Rules {
		if g := r.Action.GlobalEffect(); g != "" {
			return &Error{Scenario: s.Name, Rule: i, Field: "action",
				Msg: g + ", which reaches beyond one request: apply the scenario through the admin plane instead"}
		}
	}
	return nil
}

// Duration is a time.Duration written as a Go duration string ("3s", "61m").
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration string such as \"3s\", got %s", b)
	}
	return d.parse(s)
}

// MarshalYAML writes d as a duration string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML reads a duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!int" || n.Tag == "!!float" {
		return fmt.Errorf("line %d: want a duration string such as \"3s\", got %q", n.Line, n.Value)
	}
	return d.parse(n.Value)
}

func (d *Duration) parse(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("bad duration %q: want a Go duration such as 3s, 500ms or 61m", s)
	}
	*d = Duration(v)
	return nil
}

// Error is a validation error that names the scenario, the rule and the field.
type Error struct {
	Scenario string
	Rule     int // index in Rules; -1 for the scenario itself
	Field    string
	Msg      string
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "scenario %q", e.Scenario)
	if e.Rule >= 0 {
		fmt.Fprintf(&b, ": rule %d", e.Rule)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": %s", e.Field)
	}
	fmt.Fprintf(&b, ": %s", e.Msg)
	return b.String()
}

// Parse reads one or more scenarios from YAML (several documents separated by
// "---") or JSON (one object, or an array of objects). Unknown fields are
// errors. Parse checks the form; Validate checks the content.
func Parse(data []byte) ([]Scenario, error) {
	if len(data) > MaxDocumentBytes {
		return nil, fmt.Errorf("scenario document is %d bytes; the limit is %d", len(data), MaxDocumentBytes)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("scenario document is empty")
	}
	if trimmed[0] == '[' {
		// JSON v2, as for every request body: keys match exactly, a key
		// given twice and anything after the list are errors.
		var list []Scenario
		if err := jsonv2.Unmarshal(trimmed, &list, jsonv2.RejectUnknownMembers(true)); err != nil {
			return nil, fmt.Errorf("parse scenarios: %w", err)
		}
		if len(list) == 0 {
			return nil, errors.New("scenario document holds an empty list")
		}
		return list, nil
	}
	// Each document is read as a tree first: an alias is a reference to an
	// anchored node there, and the size it would expand to is counted before
	// anything is expanded (a 48 KB document of nested aliases expanded to
	// about 50 MB).
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []Scenario
	expanded := 0
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("parse scenario %d: %w", len(out)+1, err)
		}
		if expanded += expandedSize(&n, map[*yaml.Node]int{}); expanded > MaxExpandedBytes {
			return nil, fmt.Errorf("scenario document expands to more than %d bytes through its aliases; the limit is %d", expanded, MaxExpandedBytes)
		}
		var s Scenario
		if err := n.Load(&s, yaml.WithKnownFields()); err != nil {
			return nil, fmt.Errorf("parse scenario %d: %w", len(out)+1, err)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, errors.New("scenario document holds no scenario")
	}
	return out, nil
}
