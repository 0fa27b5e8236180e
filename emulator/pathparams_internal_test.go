package emulator

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
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
		for _, c := range op.pathChecks {
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
