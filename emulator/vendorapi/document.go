package vendorapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v4"
)

// Document is an OpenAPI document: its YAML as written (served at
// /_emulator/openapi/<name>.yaml) and parsed (routing and validation only
// read it: it must be treated as read-only).
type Document struct {
	Name string
	Raw  []byte
	T    *openapi3.T

	memo sync.Map // what Memo built
}

// Memo returns what build made of the document under key, building it at
// the first call: data derived from a document, shared by every emulator
// that serves it (a document is parsed once per process), such as the
// emulator's routes, which are then not made again for each instance. Two
// first calls at once may both build; one result is kept. What build
// returns must never be changed.
func (d *Document) Memo(key any, build func() any) any {
	if v, ok := d.memo.Load(key); ok {
		return v
	}
	v, _ := d.memo.LoadOrStore(key, build())
	return v
}

// ParseDocument parses and validates an OpenAPI document. A vendor parses
// its document once per process (sync.OnceValues) and shares it between
// emulators: parsing is most of an emulator's cost to build.
func ParseDocument(name string, raw []byte) (*Document, error) {
	loader := openapi3.NewLoader()
	t, err := loader.LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("load openapi document %q: %w", name, err)
	}
	if err := t.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("validate openapi document %q: %w", name, err)
	}
	return &Document{Name: name, Raw: raw, T: t}, nil
}

// DecodeState decodes a vendor's saved state (Persister.Restore's
// argument), refusing fields it does not know: a state file from another
// build is an error, not state half read.
func DecodeState(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("saved state: %w", err)
	}
	return nil
}

// ParseFixtures is a vendor's Definition.Fixtures: nil raw is defaults();
// otherwise raw decodes into a new F (DecodeFixtures), which validate then
// checks.
func ParseFixtures[F any](raw []byte, defaults func() *F, validate func(*F) error) (any, error) {
	if raw == nil {
		return defaults(), nil
	}
	f := new(F)
	if err := DecodeFixtures(raw, f); err != nil {
		return nil, err
	}
	return f, validate(f)
}

// DecodeFixtures decodes a vendor's section of a fixtures file (YAML or
// JSON) into v; unknown fields are errors.
func DecodeFixtures(raw []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}
