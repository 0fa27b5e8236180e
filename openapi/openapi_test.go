package openapi_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/tokenemu/tokenemu/openapi"
)

// The documents are validated here rather than at each start (see Shared):
// a document that fails kin-openapi's validation fails the build's tests.
func TestDocumentsAreValid(t *testing.T) {
	t.Parallel()
	names := openapi.Names()
	if want := []string{"admin", "brass", "passkit", "passport", "teletracker"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("Names() = %v, want %v", names, want)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// The document every emulator is served from.
			doc, err := openapi.Shared(name)
			if err != nil {
				t.Fatal(err)
			}
			if err := doc.Validate(context.Background()); err != nil {
				t.Fatalf("%s does not validate: %v", name, err)
			}
			if len(doc.Paths.Map()) == 0 {
				t.Fatalf("%s has no path", name)
			}
		})
	}
}

func TestUnknownDocument(t *testing.T) {
	t.Parallel()
	if _, err := openapi.Shared("acme"); err == nil {
		t.Fatal("Shared(acme): want an error")
	}
	if _, err := openapi.Load(context.Background(), "acme"); err == nil {
		t.Fatal("Load(acme): want an error")
	}
}
