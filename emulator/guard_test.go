package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/tokenemu/tokenemu/emulator/vendorapi"
)

// SyncBuffer is a log sink safe for the server's goroutines. It is defined
// in a test file of the package, so the external tests use it too.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A panic in a handler is logged with its stack and answered 500 in the
// vendor's shape; the server goes on serving.
func TestGuardRecoversPanics(t *testing.T) {
	t.Parallel()
	logs := &SyncBuffer{}
	e, err := New(Config{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	h := e.guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("do") {
		case "panic":
			panic("boom")
		case "abort":
			panic(http.ErrAbortHandler)
		case "half":
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, `{"partial":`)
			panic("boom after the header")
		}
		_, _ = io.WriteString(w, "fine")
	}))
	srv := httptest.NewUnstartedServer(h)
	srv.Config = NewHTTPServer(h)
	srv.Config.ErrorLog = slog.NewLogLogger(slog.NewTextHandler(io.Discard, nil), slog.LevelWarn)
	srv.Start()
	defer srv.Close()
	get := func(path string) (*http.Response, []byte, error) {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, b, err
	}

	shapes := map[string]string{ // path → a key the vendor's error body has
		"/passport/v1/core/accounts": "code",
		"/teletracker/auth/login":    "success",
		"/passkit/login":             "error",
		"/brass/auth/login":          "error",
		"/elsewhere":                 "error",
	}
	for path, key := range shapes {
		resp, body, err := get(path + "?do=panic")
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var m map[string]any
		if resp.StatusCode != 500 || json.Unmarshal(body, &m) != nil || m[key] == nil {
			t.Errorf("%s: got %d %s, want 500 with %q", path, resp.StatusCode, body, key)
		}
		if got := resp.Header.Get(vendorapi.ReasonHeader); got != "internal" {
			t.Errorf("%s: reason %q, want internal", path, got)
		}
	}
	if n := e.InternalErrors(); n != int64(len(shapes)) {
		t.Errorf("InternalErrors = %d, want %d", n, len(shapes))
	}
	if l := logs.String(); !strings.Contains(l, "handler panicked") || !strings.Contains(l, "guard_test.go") {
		t.Errorf("log has no panic with its stack:\n%s", l)
	}

	// A deliberate abort is not a bug: the connection is cut and nothing counted.
	if _, _, err := get("/passport/v1/core/accounts?do=abort"); err == nil {
		t.Error("abort: got an answer, want the connection cut")
	}
	// A panic after the answer has started cannot become a 500: the
	// connection is cut, and the bug is counted.
	if _, body, err := get("/passport/v1/core/accounts?do=half"); err == nil {
		t.Errorf("half an answer: got %q with no error, want the connection cut", body)
	}
	if n := e.InternalErrors(); n != int64(len(shapes))+1 {
		t.Errorf("InternalErrors = %d, want %d", n, len(shapes)+1)
	}
	if _, body, err := get("/passport/v1/core/accounts"); err != nil || string(body) != "fine" {
		t.Errorf("after the panics: %q, %v; want the server still serving", body, err)
	}
}

// Errors nobody expects are counted as well as logged.
func TestNeutralErrorCountsTheUnexpected(t *testing.T) {
	t.Parallel()
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	v, _ := e.Vendor("passport")
	v.WriteError(rec, httptest.NewRequest("GET", "/passport/x", nil), &vendorapi.Request{}, errors.New("surprise"))
	if rec.Code != 500 {
		t.Fatalf("status %d, want 500", rec.Code)
	}
	if e.InternalErrors() != 1 {
		t.Errorf("InternalErrors = %d, want 1", e.InternalErrors())
	}
}

// A request refused for its headers is journaled under its vendor.
func TestOversizedHeadersAreJournaled(t *testing.T) {
	t.Parallel()
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/passkit/login", nil)
	req.Header.Set("X-Padding", strings.Repeat("p", DefaultMaxHeaderBytes))
	w := httptest.NewRecorder()
	e.Handler().ServeHTTP(w, req)
	if w.Code != http.StatusRequestHeaderFieldsTooLarge || !strings.Contains(w.Body.String(), `"error"`) {
		t.Fatalf("got %d %s, want a 431 in PassKit's shape", w.Code, w.Body)
	}
	got := e.Requests(JournalFilter{Vendor: "passkit", Status: http.StatusRequestHeaderFieldsTooLarge})
	if len(got) != 1 || got[0].Reason != "headers_too_large" {
		t.Errorf("journal: %+v, want the 431 with reason headers_too_large", got)
	}
}

// urlEncodedUTF8 agrees with decoding through net/url on every key and value.
func TestURLEncodedUTF8(t *testing.T) {
	t.Parallel()
	reference := func(s string) bool {
		v, err := url.ParseQuery(s)
		if err != nil {
			return true // left to the validator
		}
		for k, vs := range v {
			if !utf8.ValidString(k) {
				return false
			}
			for _, x := range vs {
				if !utf8.ValidString(x) {
					return false
				}
			}
		}
		return true
	}
	cases := []string{"", "a=b", "a=%C3%A9", "%C3%A9=x", "a=%C3", "a=%C3&b=%A9", "a=%C3%A9%E2%82%AC", "a=%FF",
		"a=\xff", "a=é", "a=%C3;b", "a=%e2%82", "a=%e2%82%ac+x", "a=%zz", "a=%", "a=%C", "%C3=%A9", "a=%ED%A0%80",
		"a=%F0%9F%98%80", "a=%F0%9F%98", "a=%C0%AF", "username=demo%40teletracker.test&password=x"}
	for _, c := range cases {
		if got, want := urlEncodedUTF8(c), reference(c); got != want {
			t.Errorf("%q: %v, want %v", c, got, want)
		}
		if got, want := urlEncodedUTF8([]byte(c)), reference(c); got != want {
			t.Errorf("%q as bytes: %v, want %v", c, got, want)
		}
	}
}

// FuzzURLEncodedUTF8: the allocation-free check agrees with net/url.
func FuzzURLEncodedUTF8(f *testing.F) {
	for _, s := range []string{"a=%C3%A9", "a=%C3&b=%A9", "%F0%9F%98%80", "x=\xff", "a=%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := url.ParseQuery(s)
		want := true
		if err == nil {
			for k, vs := range v {
				want = want && utf8.ValidString(k)
				for _, x := range vs {
					want = want && utf8.ValidString(x)
				}
			}
		}
		if got := urlEncodedUTF8(s); got != want {
			t.Errorf("%q: %v, want %v", s, got, want)
		}
	})
}
