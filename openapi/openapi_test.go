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
			doc, err := openapi.Load(context.Background(), name)
			if err != nil {
				t.Fatal(err)
			}
			shared, err := openapi.Shared(name)
			if err != nil {
				t.Fatal(err)
			}
			if err := shared.Validate(context.Background()); err != nil {
				t.Fatalf("the shared document does not validate: %v", err)
			}
			if len(shared.Paths.Map()) != len(doc.Paths.Map()) || len(shared.Paths.Map()) == 0 {
				t.Fatalf("shared document has %d paths, loaded one %d", len(shared.Paths.Map()), len(doc.Paths.Map()))
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
