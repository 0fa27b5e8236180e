package emulator

import (
	"errors"
	"net/http"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/tokenemu/tokenemu/emulator/vendorapi"
)

// FuzzBodyDecoder checks that the check made before the OpenAPI validator
// (checkBody) and the decoder the handlers use (decodeJSON) accept the same
// JSON bodies, and that an accepted body gives a field exactly the value of
// the key spelt exactly as the field, however the body spells other keys.
func FuzzBodyDecoder(f *testing.F) {
	for _, seed := range []string{
		`{"client_secret":"a"}`,
		`{"client_secret":"a","CLIENT_SECRET":"b"}`,
		`{"client_secret":"a","client_secret":"b"}`,
		`{"Client_Secret":"b"}`,
		`{"client_secret":"a"} {}`,
		`{"a":{"b":1,"b":2}}`,
		`[1,2,3]`,
		`{"client_secret":"\ud800"}`,
		"{\"client_secret\":\"\xff\"}",
		`{"client_secret":1}`,
		``,
		`{`,
	} {
		f.Add([]byte(seed))
	}
	r, _ := http.NewRequest(http.MethodPost, "/", nil)
	r.Header.Set("Content-Type", "application/json")
	f.Fuzz(func(t *testing.T, body []byte) {
		var generic any
		decodeErr := vendorapi.DecodeJSON(body, &generic)
		checkErr := checkBody(r, body)
		// Whatever the decoder takes, checkBody takes; whatever checkBody
		// takes, the decoder takes, but for a number beyond float64: valid
		// JSON that no any can hold, the decoder's 400 for a type (as a
		// field's wrong type is), not a disagreement about the text.
		overflow := false
		if se, ok := errors.AsType[*jsonv2.SemanticError](jsonv2.Unmarshal(body, new(any))); ok && se.JSONKind == '0' {
			overflow = true
		}
		if len(body) > 0 && decodeErr == nil && checkErr != nil {
			t.Fatalf("%q: the decoder takes it, checkBody says %v", body, checkErr)
		}
		if len(body) > 0 && decodeErr != nil && checkErr == nil && !overflow {
			t.Fatalf("%q: checkBody takes it, the decoder says %v", body, decodeErr)
		}
		for _, err := range []error{decodeErr, checkErr} {
			if we, ok := vendorapi.AsWire(err); err != nil && (!ok || we.Status != http.StatusBadRequest || we.Message == "") {
				t.Fatalf("%q: %#v is not a 400 with a message", body, err)
			}
		}
		var typed struct {
			Secret *string `json:"client_secret"`
		}
		if decodeErr != nil || vendorapi.DecodeJSON(body, &typed) != nil {
			return
		}
		m, ok := generic.(map[string]any)
		if !ok {
			return
		}
		v, has := m["client_secret"]
		s, isString := v.(string)
		switch {
		case has && isString && (typed.Secret == nil || *typed.Secret != s):
			t.Fatalf("%q: the field is %v, the key's value %q", body, typed.Secret, s)
		case !has && typed.Secret != nil:
			t.Fatalf("%q: the field is %q, yet no key is spelt client_secret", body, *typed.Secret)
		}
	})
}
