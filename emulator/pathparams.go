package emulator

import (
	"math"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
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
	min     int            // in runes, as the schema counts them
	max     int            // -1: none
}

// ok reports whether v is, for certain, a valid value of the parameter.
func (c *pathCheck) ok(v string) bool {
	if v == "" {
		return false // kin-openapi's "missing", or its "value is required"
	}
	if c.min > 0 || c.max >= 0 {
		n := len(v)
		if c.min > n || c.max < n { // more bytes than runes: count them
			n = utf8.RuneCountInString(v)
		}
		if n < c.min || (c.max >= 0 && n > c.max) {
			return false
		}
	}
	return c.pattern == nil || c.pattern.MatchString(v)
}

// fastParams splits route's path parameters into those pathCheck can judge
// and the rest. It returns the checks and, when there are any, a copy of the
// route without them for kin-openapi (nil when there are none).
func fastParams(route *routers.Route) ([]pathCheck, *routers.Route) {
	var checks []pathCheck
	drop := func(params openapi3.Parameters) openapi3.Parameters {
		var kept openapi3.Parameters
		for _, ref := range params {
			if c, ok := newPathCheck(ref.Value); ok {
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
		return nil, nil
	}
	op := *route.Operation
	op.Parameters = opParams
	item := *route.PathItem
	item.Parameters = itemParams
	rest := *route
	rest.Operation, rest.PathItem = &op, &item
	return checks, &rest
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
		re, err := regexp.Compile(s.Pattern)
		if err != nil {
			return pathCheck{}, false
		}
		c.pattern = re
	}
	return c, true
}

// checkPathParams reports whether every fast-checked parameter is, for
// certain, valid in params.
func checkPathParams(checks []pathCheck, params map[string]string) bool {
	return !slices.ContainsFunc(checks, func(c pathCheck) bool { return !c.ok(params[c.name]) })
}
