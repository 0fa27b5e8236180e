package emulator

import (
	"math"
	"reflect"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"

	"github.com/tokenemu/tokenemu/emulator/vendorapi"
)

// pathCheck is a path parameter the emulator checks itself before kin-openapi
// sees the request: a plain string (a pattern and lengths, nothing else) in the
// simple style, which is what every document's ids are. kin-openapi's check of
// one such value (decode the style, build validation settings, visit the
// schema) cost a parameterized route about a fifth of its time.
//
// The check only ever accepts: a value it accepts, kin-openapi accepts too
// (FuzzPathCheck holds it to that), and a value it refuses is handed to
// kin-openapi, which words the error as it always has.
type pathCheck struct {
	name    string
	pattern *regexp.Regexp // nil: none
	fixed   []byteClass    // pattern as a fixed run of ASCII classes, when it is one
	min     int            // in runes, as the schema counts them
	max     int            // -1: none
}

// ok reports whether v is, for certain, a valid value of the parameter.
func (c *pathCheck) ok(v string) bool {
	if v == "" {
		return false // kin-openapi's "missing", or its "value is required"
	}
	if c.min > 0 || c.max >= 0 {
		n := utf8.RuneCountInString(v) // the schema counts runes, not bytes
		if n < c.min || (c.max >= 0 && n > c.max) {
			return false
		}
	}
	if c.fixed != nil {
		return matchFixed(c.fixed, v)
	}
	return c.pattern == nil || c.pattern.MatchString(v)
}

// byteClass is one byte of a fixed-length pattern: the ASCII bytes it takes,
// a bit each (16 bytes, so that a UUID's 36 cost 576 bytes per instance).
type byteClass [2]uint64

func (c *byteClass) has(b byte) bool { return b < 128 && c[b>>6]&(1<<(b&63)) != 0 }

// fixedClasses turns an anchored pattern that is a run of ASCII literals and
// ASCII character classes repeated a fixed number of times (the shape of
// every id pattern: ^[0-9a-f]{8}-[0-9a-f]{4}…$) into one class per byte, or
// nil for any other pattern. Matching those is a table lookup per byte,
// where the regexp engine cost a parameterized route 6% of its time.
func fixedClasses(pattern string) []byteClass {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	re = re.Simplify()
	if re.Op != syntax.OpConcat || len(re.Sub) < 3 ||
		re.Sub[0].Op != syntax.OpBeginText || re.Sub[len(re.Sub)-1].Op != syntax.OpEndText {
		return nil
	}
	var out []byteClass
	for _, sub := range re.Sub[1 : len(re.Sub)-1] {
		n := 1
		if sub.Op == syntax.OpRepeat && sub.Min == sub.Max && sub.Min > 0 && len(sub.Sub) == 1 {
			n, sub = sub.Min, sub.Sub[0]
		} else if sub.Op == syntax.OpConcat { // Simplify spells a{3} as aaa
			for _, s := range sub.Sub {
				c, ok := asciiClass(s)
				if !ok {
					return nil
				}
				out = append(out, c)
			}
			continue
		}
		switch sub.Op {
		case syntax.OpCharClass, syntax.OpLiteral:
			if sub.Op == syntax.OpLiteral && n != 1 {
				return nil
			}
		default:
			return nil
		}
		if sub.Op == syntax.OpLiteral {
			for _, r := range sub.Rune {
				c, ok := asciiClass(&syntax.Regexp{Op: syntax.OpLiteral, Rune: []rune{r}, Flags: sub.Flags})
				if !ok {
					return nil
				}
				out = append(out, c)
			}
			continue
		}
		c, ok := asciiClass(sub)
		if !ok || len(out)+n > 1024 {
			return nil
		}
		for range n {
			out = append(out, c)
		}
	}
	return out
}

// asciiClass is the bytes a one-character literal or a character class takes;
// false when it is anything else or takes a character outside ASCII.
func asciiClass(re *syntax.Regexp) (byteClass, bool) {
	var ranges []rune
	switch {
	case re.Op == syntax.OpLiteral && len(re.Rune) == 1 && re.Flags&syntax.FoldCase == 0:
		ranges = []rune{re.Rune[0], re.Rune[0]}
	case re.Op == syntax.OpCharClass:
		ranges = re.Rune
	default:
		return byteClass{}, false
	}
	var c byteClass
	for i := 0; i+1 < len(ranges); i += 2 {
		lo, hi := ranges[i], ranges[i+1]
		if lo < 0 || hi >= utf8.RuneSelf {
			return byteClass{}, false
		}
		for r := lo; r <= hi; r++ {
			c[r>>6] |= 1 << (r & 63)
		}
	}
	return c, true
}

// matchFixed reports whether v is exactly one byte of each class.
func matchFixed(classes []byteClass, v string) bool {
	if len(v) != len(classes) {
		return false
	}
	for i := range classes {
		if !classes[i].has(v[i]) {
			return false
		}
	}
	return true
}

// fastPaths are an operation's fast-checked path parameters, made at its
// first request rather than with the instance: a regexp or a table per
// parameter cost each instance about 30 KB, for operations most never call.
type fastPaths struct {
	once       sync.Once
	checks     []pathCheck
	rest       *routers.Route // the route without them; nil when there are none
	restParams bool           // rest still has path parameters
}

func (f *fastPaths) get(route *routers.Route) *fastPaths {
	f.once.Do(func() { f.checks, f.rest, f.restParams = fastParams(route) })
	return f
}

// fastParams splits route's path parameters into those pathCheck can judge
// and the rest. It returns the checks and, when there are any, a copy of the
// route without them for kin-openapi (nil when there are none).
func fastParams(route *routers.Route) (checks []pathCheck, rest *routers.Route, restParams bool) {
	drop := func(params openapi3.Parameters) openapi3.Parameters {
		var kept openapi3.Parameters
		for _, ref := range params {
			// A parameter that overrides one of the path item's stays
			// with kin-openapi, which skips the item's only while the
			// operation still lists it.
			overrides := ref.Value != nil && route.PathItem.Parameters.GetByInAndName(ref.Value.In, ref.Value.Name) != nil
			if c, ok := newPathCheck(ref.Value); ok && !overrides {
				checks = append(checks, c)
				continue
			}
			kept = append(kept, ref)
		}
		return kept
	}
	opParams := drop(route.Operation.Parameters)
	// A path item's parameter that the operation overrides is the
	// operation's: kin-openapi skips it, and so does this.
	var itemParams openapi3.Parameters
	for _, ref := range route.PathItem.Parameters {
		p := ref.Value
		if route.Operation.Parameters.GetByInAndName(p.In, p.Name) != nil {
			itemParams = append(itemParams, ref)
			continue
		}
		if c, ok := newPathCheck(p); ok {
			checks = append(checks, c)
			continue
		}
		itemParams = append(itemParams, ref)
	}
	if len(checks) == 0 {
		return nil, nil, false
	}
	for _, ref := range slices.Concat(opParams, itemParams) {
		restParams = restParams || ref.Value.In == openapi3.ParameterInPath
	}
	op := *route.Operation
	op.Parameters = opParams
	item := *route.PathItem
	item.Parameters = itemParams
	r := *route
	r.Operation, r.PathItem = &op, &item
	return checks, &r, restParams
}

// newPathCheck builds the check of p when p is a path parameter pathCheck can
// judge exactly: type string, simple style, and no keyword but pattern,
// minLength and maxLength.
func newPathCheck(p *openapi3.Parameter) (pathCheck, bool) {
	if p == nil || p.In != openapi3.ParameterInPath || p.Schema == nil || p.Schema.Value == nil ||
		len(p.Content) > 0 || (p.Style != "" && p.Style != openapi3.SerializationSimple) || p.Explode != nil {
		return pathCheck{}, false
	}
	s := p.Schema.Value
	if !s.Type.Is(openapi3.TypeString) {
		return pathCheck{}, false
	}
	// Everything else must be unset: anything a later kin-openapi adds, too.
	bare := *s
	bare.Type, bare.Pattern, bare.MinLength, bare.MaxLength = nil, "", 0, nil
	bare.Description, bare.Title, bare.Example, bare.Extensions, bare.Origin = "", "", nil, nil, nil
	if !reflect.DeepEqual(bare, openapi3.Schema{}) {
		return pathCheck{}, false
	}
	if s.MinLength > math.MaxInt32 || (s.MaxLength != nil && *s.MaxLength > math.MaxInt32) {
		return pathCheck{}, false
	}
	c := pathCheck{name: p.Name, min: int(s.MinLength), max: -1}
	if s.MaxLength != nil {
		c.max = int(*s.MaxLength)
	}
	if s.Pattern != "" {
		// kin-openapi rewrites \uXXXX before compiling; leave those to it.
		if strings.Contains(s.Pattern, `\u`) {
			return pathCheck{}, false
		}
		// A fixed run of classes needs no regexp (whose program costs an
		// instance kilobytes per parameter).
		if c.fixed = fixedClasses(s.Pattern); c.fixed == nil {
			re, err := regexp.Compile(s.Pattern)
			if err != nil {
				return pathCheck{}, false
			}
			c.pattern = re
		}
	}
	return c, true
}

// checkPathParams reports whether every fast-checked parameter is, for
// certain, valid in params.
func checkPathParams(checks []pathCheck, params vendorapi.Params) bool {
	return !slices.ContainsFunc(checks, func(c pathCheck) bool { return !c.ok(params.Get(c.name)) })
}
