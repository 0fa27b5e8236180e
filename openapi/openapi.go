// Package openapi holds the OpenAPI 3 documents tokenemu is served from: one per
// vendor plus one for the admin plane. They are embedded in the binary, loaded and
// validated at start, and served at /_emulator/openapi/{name}.yaml.
package openapi

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/tokenemu/tokenemu/emulator/vendorapi"
)

//go:embed *.yaml
var files embed.FS

// Names lists the embedded documents by name ("admin", "passport", …), sorted.
func Names() []string {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		// The embedded FS is fixed at build time; ReadDir on "." cannot fail.
		return nil
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".yaml"); ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// Raw returns the YAML text of the named document.
func Raw(name string) ([]byte, error) {
	b, err := files.ReadFile(name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("openapi document %q: %w", name, err)
	}
	return b, nil
}

// Load parses and validates the named document. Each call returns a fresh
// *openapi3.T, so two emulators never share a mutable document.
func Load(ctx context.Context, name string) (*openapi3.T, error) {
	doc, err := parse(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("validate openapi document %q: %w", name, err)
	}
	return doc, nil
}

// parse parses the named document and resolves its references.
func parse(ctx context.Context, name string) (*openapi3.T, error) {
	raw, err := Raw(name)
	if err != nil {
		return nil, err
	}
	loader := openapi3.NewLoader()
	loader.Context = ctx
	doc, err := loader.LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("load openapi document %q: %w", name, err)
	}
	return doc, nil
}

// Document returns the named document as written and parsed (once per
// process; see Shared), for a vendor's Document method.
func Document(name string) (*vendorapi.Document, error) {
	docs, err := shared()
	if err != nil {
		return nil, err
	}
	d, ok := docs[name]
	if !ok {
		return nil, fmt.Errorf("openapi document %q: no such document", name)
	}
	return d, nil
}

// shared holds every document, parsed once per process. The documents load
// in parallel: parsing them is most of a cold start. They are not validated
// here: they are fixed when the binary is built, and TestDocumentsAreValid
// validates every one of them (validating at each start was a sixth of the
// cost of loading them).
var shared = sync.OnceValues(func() (map[string]*vendorapi.Document, error) {
	names := Names()
	docs := make([]*openapi3.T, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() { docs[i], errs[i] = parse(context.Background(), name) })
	}
	wg.Wait()
	out := map[string]*vendorapi.Document{}
	for i, name := range names {
		if errs[i] != nil {
			return nil, errs[i]
		}
		raw, err := Raw(name)
		if err != nil {
			return nil, err
		}
		out[name] = &vendorapi.Document{Name: name, Raw: raw, T: docs[i]}
	}
	return out, nil
})

// Shared returns the named document, parsed once per process
// and shared by every caller: it must be treated as read-only. Parsing the
// five documents costs about 15 ms, which every emulator would otherwise pay
// at start. Routing and request validation only read a document.
func Shared(name string) (*openapi3.T, error) {
	docs, err := shared()
	if err != nil {
		return nil, err
	}
	doc, ok := docs[name]
	if !ok {
		return nil, fmt.Errorf("openapi document %q: no such document", name)
	}
	return doc.T, nil
}
