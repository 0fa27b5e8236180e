package emulator

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/tokenemu/tokenemu/emulator/vendorapi"
)

// fastChecked lists "vendor.operation.param" for every path parameter the
// emulator checks itself, with the parameter and the operation's route.
func fastChecked(t testing.TB, e *Emulator) map[string]struct {
	check pathCheck
	op    *operation
	param *openapi3.Parameter
} {
	out := map[string]struct {
		check pathCheck
		op    *operation
		param *openapi3.Parameter
	}{}
	for id, op := range e.ops {
		for _, c := range op.paths.get(op.route).checks {
			var param *openapi3.Parameter
			for _, ref := range slices.Concat(op.route.Operation.Parameters, op.route.PathItem.Parameters) {
				if ref.Value.In == openapi3.ParameterInPath && ref.Value.Name == c.name {
					param = ref.Value
					break
				}
			}
			if param == nil {
				t.Fatalf("%s: checked parameter %q is not in the document", id, c.name)
			}
			out[id+"."+c.name] = struct {
				check pathCheck
				op    *operation
				param *openapi3.Parameter
			}{c, op, param}
		}
	}
	return out
}

// The documents' ids are checked by the emulator, and a parameter it cannot
// judge exactly (an integer) is left to kin-openapi.
func TestPathParametersCheckedWithoutKinOpenAPI(t *testing.T) {
	t.Parallel()
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	checked := fastChecked(t, e)
	for _, want := range []string{
		"passport.getToken.token_id", "passport.revokeToken.token_id", "passkit.getMember.memberId",
	} {
		if _, ok := checked[want]; !ok {
			t.Errorf("%s is not checked by the emulator; checked: %v", want, keys(checked))
		}
	}
	for id := range checked {
		if strings.HasPrefix(id, "brass.") {
			t.Errorf("%s (an integer) is checked by the emulator, want kin-openapi", id)
		}
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// FuzzPathCheck holds the emulator's own check of a path parameter to what it
// promises: every value it accepts, kin-openapi accepts against the document.
// (A value it refuses goes on to kin-openapi, which has the last word.)
func FuzzPathCheck(f *testing.F) {
	e, err := New(Config{})
	if err != nil {
		f.Fatal(err)
	}
	checked := fastChecked(f, e)
	for _, seed := range []string{"", "0f8fad5b-d9cb-469f-a165-70867728950e", "0F8FAD5B-D9CB-469F-A165-70867728950E",
		"0f8fad5b-d9cb-469f-a165-70867728950e\n", "abcdefghijABCDEFGHIJ12", "abcdefghijABCDEFGHIJ1é", "é",
		strings.Repeat("x", 64), strings.Repeat("x", 65), strings.Repeat("é", 64), "a/b", "%2F"} {
		f.Add(seed)
	}
	r := httptest.NewRequest("GET", "/", nil)
	f.Fuzz(func(t *testing.T, v string) {
		for id, c := range checked {
			if !c.check.ok(v) {
				continue
			}
			in := &openapi3filter.RequestValidationInput{Request: r, PathParams: map[string]string{c.param.Name: v}, Route: c.op.route}
			if err := openapi3filter.ValidateParameter(context.Background(), in, c.param); err != nil {
				t.Errorf("%s: the emulator accepts %q, kin-openapi refuses it: %v", id, v, err)
			}
		}
	})
}

// Lengths count runes, as the schema does: "éé" is two long, not four.
func TestPathCheckCountsRunes(t *testing.T) {
	t.Parallel()
	max := uint64(10)
	p := &openapi3.Parameter{Name: "id", In: openapi3.ParameterInPath, Required: true,
		Schema: &openapi3.SchemaRef{Value: &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeString}, MinLength: 3, MaxLength: &max}}}
	c, ok := newPathCheck(p)
	if !ok {
		t.Fatal("a plain string with lengths is not fast-checked")
	}
	for v, want := range map[string]bool{"éé": false, "ééé": true, "abc": true, "ab": false, strings.Repeat("é", 10): true, strings.Repeat("é", 11): false} {
		if got := c.ok(v); got != want {
			t.Errorf("ok(%q) = %v, want %v", v, got, want)
		}
	}
}

// An operation's parameter that overrides one of its path item's stays with
// kin-openapi, which would otherwise check the value against the item's.
func TestPathCheckLeavesOverridesToKinOpenAPI(t *testing.T) {
	t.Parallel()
	str := &openapi3.Parameter{Name: "id", In: openapi3.ParameterInPath, Required: true,
		Schema: &openapi3.SchemaRef{Value: &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeString}, Pattern: "^[a-z]+$"}}}
	integer := &openapi3.Parameter{Name: "id", In: openapi3.ParameterInPath, Required: true,
		Schema: &openapi3.SchemaRef{Value: &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeInteger}}}}
	route := &routers.Route{
		PathItem:  &openapi3.PathItem{Parameters: openapi3.Parameters{{Value: integer}}},
		Operation: &openapi3.Operation{Parameters: openapi3.Parameters{{Value: str}}},
	}
	if checks, rest, _ := fastParams(route); len(checks) != 0 || rest != nil {
		t.Errorf("fastParams took the overriding parameter: %d checks", len(checks))
	}
	// And a template that names a parameter twice gives it the last value
	// everywhere, as the map kin-openapi reads does.
	p := vendorapi.Params{{Name: "id", Value: "BAD!"}, {Name: "id", Value: "good"}}
	if p.Get("id") != p.Map()["id"] {
		t.Errorf("Get %q, Map %q", p.Get("id"), p.Map()["id"])
	}
}
