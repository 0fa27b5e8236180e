package emulator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/store"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
	"github.com/tokenemu/tokenemu/openapi"
)

// env is one emulator behind a real listening server, with a client whose every
// response is checked against the OpenAPI documents.
type env struct {
	t      *testing.T
	emu    *emulator.Emulator
	srv    *httptest.Server
	client *http.Client
	spec   *specCheck
}

func newEnv(t *testing.T, cfg emulator.Config) *env {
	t.Helper()
	emu, err := emulator.New(cfg)
	if err != nil {
		t.Fatalf("emulator.New: %v", err)
	}
	srv := httptest.NewUnstartedServer(emu.Handler())
	srv.Config = emulator.NewHTTPServer(emu.Handler()) // the binary's timeouts and limits
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		_ = emu.Close()
		// No request of any test may reach the panic recovery or the 500 for
		// an error no scheme knows.
		if n := emu.InternalErrors(); n != 0 {
			t.Errorf("%d requests were answered 500 by a bug (see the log)", n)
		}
	})
	sc := newSpecCheck(t)
	return &env{t: t, emu: emu, srv: srv, spec: sc,
		client: &http.Client{Transport: sc}}
}

// specRouters are built once per test binary: documents are read-only after load.
var specRouters = sync.OnceValues(func() (map[string]routers.Router, error) {
	out := map[string]routers.Router{}
	for _, name := range openapi.Names() {
		doc, err := openapi.Load(context.Background(), name)
		if err != nil {
			return nil, err
		}
		r, err := gorillamux.NewRouter(doc)
		if err != nil {
			return nil, err
		}
		out[strings.TrimPrefix(doc.Servers[0].URL, "/")] = r
	}
	return out, nil
})

// specCheck is an http.RoundTripper that validates every response against the
// operation the request matched, and fails the test when one does not conform.
type specCheck struct {
	t       *testing.T
	checked atomic.Int64
	// record, when set, sees every response with its body read.
	record func(req *http.Request, resp *http.Response, body []byte)
}

func newSpecCheck(t *testing.T) *specCheck { return &specCheck{t: t} }

func (s *specCheck) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if s.record != nil {
		s.record(req, resp, body)
	}

	rts, err := specRouters()
	if err != nil {
		s.t.Errorf("load specs: %v", err)
		return resp, nil
	}
	prefix, _, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, "/"), "/")
	router, ok := rts[prefix]
	if !ok {
		return resp, nil
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		// An unknown route or method: the body must still be JSON in the vendor's shape,
		// which the tests for unknown routes check themselves.
		return resp, nil
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(req.Context(), in); err != nil {
		s.t.Errorf("%s %s → %d does not match %s's OpenAPI document: %v\nbody: %s",
			req.Method, req.URL.Path, resp.StatusCode, prefix, err, body)
	}
	s.checked.Add(1)
	return resp, nil
}

// issueToken issues a token through the Go API, for tests, fuzz targets and
// benchmarks that need one without the login dance.
func issueToken(tb testing.TB, emu *emulator.Emulator, vendor, principal, kind string) string {
	tb.Helper()
	res, err := emu.IssueToken(context.Background(), vendorapi.IssueRequest{Vendor: vendor, Principal: principal, Kind: kind})
	if err != nil {
		tb.Fatalf("issue %s %s for %s: %v", vendor, kind, principal, err)
	}
	return res.Token
}

// do sends a request and returns the response with its body read.
func (e *env) do(method, path string, header http.Header, body string) (*http.Response, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatalf("new request: %v", err)
	}
	for k, vs := range header {
		if k == "Host" { // net/http sends req.Host, never a Host header
			req.Host = vs[0]
			continue
		}
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("read body: %v", err)
	}
	return resp, b
}

// hdr builds a header from pairs.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %T from %q: %v", v, b, err)
	}
	return v
}

// tokensOf lists an emulator's tokens as the admin plane shows them.
func tokensOf(t testing.TB, emu *emulator.Emulator, q store.Query) []emulator.TokenInfo {
	t.Helper()
	ts, err := emu.Tokens(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// storeLen counts the tokens q selects in s.
func storeLen(t testing.TB, s store.Store, q store.Query) int {
	t.Helper()
	p, err := s.List(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return p.Total
}

// statusOf reports how an emulator's bounded resources stand.
func statusOf(t testing.TB, emu *emulator.Emulator) emulator.Status {
	t.Helper()
	st, err := emu.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// mustVendor returns the named vendor of emu.
func mustVendor(t testing.TB, emu *emulator.Emulator, name string) vendorapi.Vendor {
	t.Helper()
	v, ok := emu.Vendor(name)
	if !ok {
		t.Fatalf("no vendor %q", name)
	}
	return v
}
