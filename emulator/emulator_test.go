package emulator

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/tokenemu/tokenemu/emulator/store"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
	"github.com/tokenemu/tokenemu/emulator/vendors"
	"github.com/tokenemu/tokenemu/openapi"
)

// Every operation of every document has a handler, and every handler an
// operation: New fails otherwise, and this checks both directions explicitly.
func TestOperationsAndHandlersMatch(t *testing.T) {
	t.Parallel()
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	var fromDocs []string
	for _, v := range append([]vendorapi.Vendor{e.admin}, e.vendors...) {
		doc, err := openapi.Load(context.Background(), v.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range doc.Paths.Map() {
			for _, op := range item.Operations() {
				fromDocs = append(fromDocs, v.Name()+"."+op.OperationID)
			}
		}
		for id := range v.Handlers() {
			if !slices.Contains(e.operationIDs(), v.Name()+"."+id) {
				t.Errorf("handler %s.%s has no operation", v.Name(), id)
			}
		}
	}
	slices.Sort(fromDocs)
	if got := e.operationIDs(); !slices.Equal(got, fromDocs) {
		t.Errorf("bound operations %v, documents have %v", got, fromDocs)
	}
	// Every embedded document belongs to a vendor or the admin plane.
	for _, name := range openapi.Names() {
		if _, ok := e.documents[name]; !ok {
			t.Errorf("document %q is served by no vendor", name)
		}
	}
}

// mismatched is a vendor with one handler too many or too few.
type mismatched struct {
	vendorapi.Vendor
	change func(map[string]vendorapi.Handler)
}

func (m mismatched) Handlers() map[string]vendorapi.Handler {
	h := m.Vendor.Handlers()
	m.change(h)
	return h
}

func (m mismatched) AdminHandlers() map[string]vendorapi.Handler {
	return m.Vendor.(vendorapi.AdminOperator).AdminHandlers()
}

func TestBuildRouterRejectsMismatch(t *testing.T) {
	t.Parallel()
	for name, change := range map[string]func(map[string]vendorapi.Handler){
		"extra handler":   func(h map[string]vendorapi.Handler) { h["noSuchOperation"] = h["logout"] },
		"missing handler": func(h map[string]vendorapi.Handler) { delete(h, "logout") },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e, err := New(Config{})
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range e.vendors {
				if v.Name() == "passport" {
					e.vendors[i] = mismatched{v, change}
				}
			}
			e.prefixes = nil
			err = e.buildRouter(context.Background())
			if err == nil || !strings.Contains(err.Error(), "logout") && !strings.Contains(err.Error(), "noSuchOperation") {
				t.Errorf("buildRouter: got %v, want an error naming the operation", err)
			}
		})
	}
}

// Two emulators in one process share nothing.
func TestEmulatorsAreIsolated(t *testing.T) {
	t.Parallel()
	a, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"client_id":"demo-client","client_secret":"demo-secret","grant_type":"client_credentials"}`
	req := httptest.NewRequest("POST", "/passport/v1/iam/oauth/tokens", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	a.Handler().ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Fatalf("issue: %d %s", w.Code, w.Body)
	}
	if n := listLen(t, a.Store()); n != 1 {
		t.Errorf("a has %d tokens, want 1", n)
	}
	if n := listLen(t, b.Store()); n != 0 {
		t.Errorf("b has %d tokens, want 0", n)
	}
	a.Clock().Freeze()
	if _, err := a.Clock().Advance(1000000); err != nil {
		t.Fatal(err)
	}
	if b.Clock().Frozen() {
		t.Error("freezing a's clock froze b's")
	}
}

func listLen(t *testing.T, s store.Store) int {
	t.Helper()
	p, err := s.List(t.Context(), store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	return p.Total
}

// An emulator may serve some vendors only: the admin operations of the
// others answer 404, and nothing else names them.
func TestSomeVendorsOnly(t *testing.T) {
	t.Parallel()
	for _, d := range vendors.All() {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			e, err := New(Config{Vendors: []vendorapi.Definition{d}})
			if err != nil {
				t.Fatal(err)
			}
			if got := e.VendorNames(); !slices.Equal(got, []string{d.Name}) {
				t.Fatalf("vendors %v", got)
			}
			for _, path := range []string{"/_emulator/passport/clients", "/_emulator/brass/otp?username=x"} {
				w := httptest.NewRecorder()
				e.Handler().ServeHTTP(w, httptest.NewRequest("GET", path, nil))
				served := strings.HasPrefix(path, "/_emulator/"+d.Name+"/")
				if !served && (w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "does not serve")) {
					t.Errorf("%s without its vendor: %d %s", path, w.Code, w.Body)
				}
				if served && w.Code == http.StatusNotFound && strings.Contains(w.Body.String(), "does not serve") {
					t.Errorf("%s with its vendor: %d %s", path, w.Code, w.Body)
				}
			}
			for _, other := range vendors.Names() {
				w := httptest.NewRecorder()
				e.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/"+other+"/x", nil))
				if other != d.Name && w.Code != http.StatusNotFound {
					t.Errorf("/%s/x: %d, want 404", other, w.Code)
				}
			}
		})
	}
}
