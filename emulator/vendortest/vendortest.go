// Package vendortest holds the suites every vendor runs, whatever it is:
// a vendor added to tokenemu runs them with one call and no edit outside
// its package.
//
//	func TestAcme(t *testing.T) {
//		vendortest.Run(t, append(vendors.All(), acme.Definition()))
//	}
//
// Each suite uses a vendor only through its Definition: its Example (a
// principal the admin plane issues a token for, and a call that answers
// 200 to it), its document, and the admin plane. They are: expire and
// revoke through the admin plane; the per-request scenario override;
// state save and restore; secrets kept out of the journal and the token
// listing; a walk of the document's operations with bad input; and a
// short concurrent soak. Every answer is validated against the vendor's
// (or the admin plane's) OpenAPI document, every error must be JSON with
// a 4xx status and an X-Tokenemu-Reason, and no request may reach the
// emulator's 500 for a bug.
package vendortest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
)

// Run runs every suite over every vendor of defs, each in an emulator
// that serves all of defs. The suites run in parallel.
func Run(t *testing.T, defs []vendorapi.Definition) {
	suites := map[string]func(*testing.T, *harness){
		"expire and revoke":      expireAndRevoke,
		"per-request scenario":   perRequestScenario,
		"state save and restore": stateSaveRestore,
		"secrets":                secrets,
		"bad input":              badInput,
		"soak":                   soak,
	}
	for _, d := range defs {
		if d.Example.Path == "" || d.Example.Principal == "" {
			t.Errorf("vendor %s: its Definition has no Example, which the suites use it by", d.Name)
			continue
		}
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			for name, suite := range suites {
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					suite(t, newHarness(t, defs, d))
				})
			}
		})
	}
}

// harness is one emulator behind a real listening server, with a client
// whose every answer is validated against the documents.
type harness struct {
	t       *testing.T
	defs    []vendorapi.Definition
	d       vendorapi.Definition
	emu     *emulator.Emulator
	srv     *httptest.Server
	prefix  string // the vendor's path prefix
	routes  map[string]routers.Router
	mu      sync.Mutex
	seen    []string   // every answer's body, for the secrets suite
	issueMu sync.Mutex // one issue at a time (issue)
}

func newHarness(t *testing.T, defs []vendorapi.Definition, d vendorapi.Definition) *harness {
	t.Helper()
	h := &harness{t: t, defs: defs, d: d, routes: map[string]routers.Router{}}
	h.emu = h.newEmulator()
	h.srv = httptest.NewServer(h.emu.Handler())
	t.Cleanup(h.srv.Close)
	docs := map[string]*openapi3.T{}
	for _, def := range defs {
		doc, err := def.Document()
		if err != nil {
			t.Fatal(err)
		}
		docs[doc.T.Servers[0].URL] = doc.T
		if def.Name == d.Name {
			h.prefix = doc.T.Servers[0].URL
		}
	}
	// The admin document as this emulator serves it: its vendor lists name
	// the vendors it serves.
	status, _, raw := h.doUnchecked("GET", "/_emulator/openapi/admin.yaml")
	if status != 200 {
		t.Fatalf("GET the admin document: %d", status)
	}
	admin, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatal(err)
	}
	docs[admin.Servers[0].URL] = admin
	for prefix, doc := range docs {
		r, err := gorillamux.NewRouter(doc)
		if err != nil {
			t.Fatal(err)
		}
		h.routes[prefix] = r
	}
	return h
}

// newEmulator makes an emulator of h's vendors that fails the test when a
// request reaches its 500 for a bug.
func (h *harness) newEmulator() *emulator.Emulator {
	h.t.Helper()
	emu, err := emulator.New(emulator.Config{Vendors: h.defs})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() {
		_ = emu.Close()
		if n := emu.InternalErrors(); n != 0 {
			h.t.Errorf("%d requests were answered 500 by a bug (see the log)", n)
		}
	})
	return emu
}

// doUnchecked sends a GET before the documents to check answers against
// are loaded.
func (h *harness) doUnchecked(method, path string) (int, string, []byte) {
	h.t.Helper()
	resp, err := http.Get(h.srv.URL + path)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get(vendorapi.ReasonHeader), b
}

// do sends a request to the harness's server and returns the status, the
// X-Tokenemu-Reason and the body, after validating the answer.
func (h *harness) do(method, path string, header http.Header, body string) (int, string, []byte) {
	h.t.Helper()
	return h.doAt(h.srv.URL, method, path, header, body)
}

func (h *harness) doAt(base, method, path string, header http.Header, body string) (int, string, []byte) {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		h.t.Fatal(err)
	}
	h.mu.Lock()
	h.seen = append(h.seen, string(b))
	h.mu.Unlock()
	h.validate(req, resp, b)
	return resp.StatusCode, resp.Header.Get(vendorapi.ReasonHeader), b
}

// validate checks an answer against the document of the operation the
// request matched; every error answer must be JSON with a 4xx (or the 503
// of a scenario the request named) and a reason.
func (h *harness) validate(req *http.Request, resp *http.Response, body []byte) {
	h.t.Helper()
	if resp.StatusCode >= 500 && !(resp.StatusCode == http.StatusServiceUnavailable && req.Header.Get("X-Tokenemu-Scenario") != "") {
		h.t.Errorf("%s %s → %d: %s", req.Method, req.URL.Path, resp.StatusCode, body)
	}
	if resp.StatusCode >= 400 {
		if !json.Valid(body) || resp.Header.Get(vendorapi.ReasonHeader) == "" {
			h.t.Errorf("%s %s → %d: want a JSON body and %s, got %q %q", req.Method, req.URL.Path, resp.StatusCode,
				vendorapi.ReasonHeader, resp.Header.Get(vendorapi.ReasonHeader), body)
		}
	}
	for prefix, r := range h.routes {
		if !strings.HasPrefix(req.URL.Path, prefix+"/") {
			continue
		}
		route, params, err := r.FindRoute(req)
		if err != nil {
			return // an unknown route: checked for its shape above
		}
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
			Status:                 resp.StatusCode,
			Header:                 resp.Header,
			Body:                   io.NopCloser(bytes.NewReader(body)),
			Options:                &openapi3filter.Options{IncludeResponseStatus: true},
		}
		if err := openapi3filter.ValidateResponse(req.Context(), in); err != nil {
			h.t.Errorf("%s %s → %d does not match its OpenAPI document: %v\nbody: %s", req.Method, req.URL.Path, resp.StatusCode, err, body)
		}
	}
}

// admin calls the admin plane with a JSON body and decodes its answer.
func (h *harness) admin(method, path, body string, out any) int {
	h.t.Helper()
	header := http.Header{}
	if body != "" {
		header.Set("Content-Type", "application/json")
	}
	status, _, b := h.do(method, "/_emulator"+path, header, body)
	if out != nil && status < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			h.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return status
}

// issue returns a token of the vendor's Example, through the admin plane,
// and moves the clock a second on: a vendor whose tokens say only whose
// they are and when they were issued (PassKit's JWTs) gives two issues in
// one second the same token, and the suites need tokens of their own.
func (h *harness) issue() string {
	h.t.Helper()
	h.issueMu.Lock()
	defer h.issueMu.Unlock()
	defer h.admin("POST", "/clock/advance", `{"seconds":1}`, nil)
	var out struct {
		Token string `json:"token"`
	}
	req := map[string]string{"vendor": h.d.Name, "principal": h.d.Example.Principal}
	if h.d.Example.Kind != "" {
		req["kind"] = h.d.Example.Kind
	}
	body, _ := json.Marshal(req)
	status, _, b := h.do("POST", "/_emulator/tokens/issue", http.Header{"Content-Type": {"application/json"}}, string(body))
	if err := json.Unmarshal(b, &out); status != 200 || err != nil || out.Token == "" {
		h.t.Fatalf("issue a %s token for %s: %d %s", h.d.Name, h.d.Example.Principal, status, b)
	}
	return out.Token
}

// use makes the Example's call with token and returns its status and reason.
func (h *harness) use(token string) (int, string) {
	h.t.Helper()
	status, reason, _ := h.do(h.d.Example.Method, h.prefix+h.d.Example.Path, bearer(token), "")
	return status, reason
}

func bearer(token string) http.Header { return http.Header{"Authorization": {"Bearer " + token}} }

func selector(token string) string {
	b, _ := json.Marshal(map[string]string{"token": token})
	return string(b)
}

func expireAndRevoke(t *testing.T, h *harness) {
	for _, c := range []struct{ action, reason string }{{"expire", "token_expired"}, {"revoke", "token_revoked"}} {
		tok := h.issue()
		if status, reason := h.use(tok); status != 200 {
			t.Fatalf("a fresh token: %d %s", status, reason)
		}
		var out struct {
			Tokens []struct{ State string } `json:"tokens"`
		}
		if status := h.admin("POST", "/tokens/"+c.action, selector(tok), &out); status != 200 || len(out.Tokens) != 1 {
			t.Fatalf("%s: %d %+v", c.action, status, out)
		}
		if status, reason := h.use(tok); status != http.StatusUnauthorized || reason != c.reason {
			t.Errorf("after %s: %d %q, want 401 %s", c.action, status, reason, c.reason)
		}
	}
}

func perRequestScenario(t *testing.T, h *harness) {
	tok := h.issue()
	header := bearer(tok)
	header.Set("X-Tokenemu-Scenario", "vendor-outage")
	status, reason, _ := h.do(h.d.Example.Method, h.prefix+h.d.Example.Path, header, "")
	if status != http.StatusServiceUnavailable || reason != "scenario:vendor-outage" {
		t.Errorf("with the header: %d %q, want 503 scenario:vendor-outage in the vendor's shape", status, reason)
	}
	if status, reason := h.use(tok); status != 200 {
		t.Errorf("the next request, without the header: %d %q; the override must not stay", status, reason)
	}
	header.Set("X-Tokenemu-Scenario", "no-such-scenario")
	if status, _, _ := h.do(h.d.Example.Method, h.prefix+h.d.Example.Path, header, ""); status != http.StatusBadRequest {
		t.Errorf("an unknown scenario in the header: %d, want 400", status)
	}
}

func stateSaveRestore(t *testing.T, h *harness) {
	live, revoked := h.issue(), h.issue()
	if status := h.admin("POST", "/tokens/revoke", selector(revoked), nil); status != 200 {
		t.Fatalf("revoke: %d", status)
	}
	var saved bytes.Buffer
	if err := h.emu.WriteState(&saved); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{live, revoked} {
		if strings.Contains(saved.String(), tok) {
			t.Fatal("the state holds a token's value")
		}
	}
	back := h.newEmulator()
	if err := back.ReadState(&saved); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(back.Handler())
	defer srv.Close()
	path := h.prefix + h.d.Example.Path
	if status, reason, _ := h.doAt(srv.URL, h.d.Example.Method, path, bearer(live), ""); status != 200 {
		t.Errorf("a live token after the restore: %d %q", status, reason)
	}
	if status, reason, _ := h.doAt(srv.URL, h.d.Example.Method, path, bearer(revoked), ""); status != http.StatusUnauthorized || reason != "token_revoked" {
		t.Errorf("a revoked token after the restore: %d %q, want 401 token_revoked", status, reason)
	}
}

func secrets(t *testing.T, h *harness) {
	tok := h.issue()
	h.use(tok)
	h.do("GET", h.prefix+"/no-such-route/"+tok, nil, "")
	h.do("GET", h.prefix+h.d.Example.Path, bearer(tok+"x"), "")
	var listing struct {
		Tokens []json.RawMessage `json:"tokens"`
	}
	h.admin("GET", "/tokens?vendor="+h.d.Name, "", &listing)
	var journal struct {
		Entries []json.RawMessage `json:"entries"`
	}
	h.admin("GET", "/journal?limit=1000", "", &journal)
	if len(journal.Entries) == 0 || len(listing.Tokens) == 0 {
		t.Fatalf("%d journal entries, %d tokens listed: the suite checks nothing", len(journal.Entries), len(listing.Tokens))
	}
	for what, all := range map[string][]json.RawMessage{"journal": journal.Entries, "token listing": listing.Tokens} {
		for _, e := range all {
			if strings.Contains(string(e), tok) {
				t.Errorf("the %s shows the token: %s", what, e)
			}
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, body := range h.seen {
		if i > 0 && strings.Contains(body, tok) { // the first answer is the one that issued it
			t.Errorf("an answer shows the token: %s", body)
		}
	}
}

func badInput(t *testing.T, h *harness) {
	tok := h.issue()
	doc, err := h.d.Document()
	if err != nil {
		t.Fatal(err)
	}
	asserted := 0
	// want4xx sends a request that must be refused with a 4xx (validated,
	// as every answer, against the document).
	want4xx := func(what, method, url string, header http.Header, body string) {
		t.Helper()
		asserted++
		if status, _, b := h.do(method, url, header, body); status < 400 || status >= 500 {
			t.Errorf("%s %s with %s: %d %s, want a 4xx", method, url, what, status, b)
		}
	}
	for path, item := range doc.T.Paths.Map() {
		for method, op := range item.Operations() {
			// Path parameters get a value that is no id of anything.
			p := path
			for _, params := range []openapi3.Parameters{item.Parameters, op.Parameters} {
				for _, param := range params {
					if param.Value != nil && param.Value.In == "path" {
						p = strings.ReplaceAll(p, "{"+param.Value.Name+"}", "no-such-id")
					}
				}
			}
			url := h.prefix + p
			auth := bearer(tok)
			if op.RequestBody != nil {
				js := auth.Clone()
				js.Set("Content-Type", "application/json")
				want4xx("invalid JSON", method, url, js, "{")
				want4xx("a repeated key", method, url, js, `{"a":1,"a":2}`)
				want4xx("trailing data", method, url, js, `{} {}`)
				plain := auth.Clone()
				plain.Set("Content-Type", "text/plain")
				want4xx("text/plain", method, url, plain, "hello")
			}
			if secured(doc.T, op) {
				want4xx("no credentials", method, url, nil, "")
				want4xx("a token no one issued", method, url, bearer("not-a-token-"+tok[:4]), "")
				want4xx("a malformed Authorization", method, url, http.Header{"Authorization": {"Bearer"}}, "")
			}
			h.do(method, url, auth, "") // no assertion but the document's and the shape's
		}
	}
	want4xx("an unknown route", "GET", h.prefix+"/no/such/route", nil, "")
	want4xx("an unknown method", "PATCH", h.prefix+h.d.Example.Path, bearer(tok), "")
	if asserted < 3 {
		t.Fatalf("%d requests asserted: the suite checks nothing", asserted)
	}
}

// secured reports whether an operation has a security requirement that is
// not empty (an empty one lets a request in without credentials).
func secured(doc *openapi3.T, op *openapi3.Operation) bool {
	reqs := doc.Security
	if op.Security != nil {
		reqs = *op.Security
	}
	if len(reqs) == 0 {
		return false
	}
	for _, r := range reqs {
		if len(r) == 0 {
			return false
		}
	}
	return true
}

// soak: two workers issue, use, expire and revoke tokens while the clock
// moves, for a fixed number of rounds; a revoked token stays refused and a
// fresh one works throughout.
func soak(t *testing.T, h *harness) {
	h.emu.Clock().Freeze()
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for round := range 15 {
				tok := h.issue()
				if status, reason := h.use(tok); status != 200 {
					t.Errorf("worker %d round %d: a fresh token: %d %s", w, round, status, reason)
					return
				}
				action := []string{"expire", "revoke"}[round%2]
				if status := h.admin("POST", "/tokens/"+action, selector(tok), nil); status != 200 {
					t.Errorf("worker %d round %d: %s: %d", w, round, action, status)
					return
				}
				if status, _ := h.use(tok); status != http.StatusUnauthorized {
					t.Errorf("worker %d round %d: after %s: %d, want 401", w, round, action, status)
					return
				}
				if round%5 == 4 {
					// A minute and a bit: past any per-minute rate limit.
					if status := h.admin("POST", "/clock/advance", `{"seconds":61}`, nil); status != 200 {
						t.Errorf("advance: %d", status)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}
