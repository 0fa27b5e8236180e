package emulator

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"
)

// Templates match as gorilla/mux matched them: a parameter is one
// non-empty segment, with the literal text around it.
func TestTemplateMatch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		template, path string
		want           map[string]string // nil: no match
	}{
		{"/v/tokens/{id}", "/v/tokens/abc", map[string]string{"id": "abc"}},
		{"/v/tokens/{id}", "/v/tokens/", nil},
		{"/v/tokens/{id}", "/v/tokens", nil},
		{"/v/tokens/{id}", "/v/tokens/a/b", nil},
		{"/v/tokens/{id}", "/v/tokenz/abc", nil},
		{"/x/{a}/y/{b}", "/x/1/y/2", map[string]string{"a": "1", "b": "2"}},
		{"/x/{a}/y/{b}", "/x/1/z/2", nil},
		{"/openapi/{name}.yaml", "/openapi/admin.yaml", map[string]string{"name": "admin"}},
		{"/openapi/{name}.yaml", "/openapi/.yaml", nil},
		{"/openapi/{name}.yaml", "/openapi/admin.json", nil},
		{"/openapi/v{n}", "/openapi/v", nil},
		{"/openapi/v{n}", "/openapi/v2", map[string]string{"n": "2"}},
		{"/v/tokens/{id}", "/v/tokens/..", nil},
		{"/v/tokens/{id}", "/v/tokens/.", nil},
		{"/v/tokens/{id}", "/v//abc", nil},
	}
	for _, c := range cases {
		segs, ok := parseTemplate(c.template)
		if !ok {
			t.Fatalf("parseTemplate(%q) declined", c.template)
		}
		tm := template{segs: segs}
		got, ok := tm.match(c.path, nil)
		if !maps.Equal(got.Map(), c.want) || ok != (c.want != nil) {
			t.Errorf("%s against %s: %v, want %v", c.template, c.path, got, c.want)
		}
	}
	for _, bad := range []string{"/x/{a}{b}", "/x/{a:[0-9]+}", "/x/{a}}"} {
		if _, ok := parseTemplate(bad); ok {
			t.Errorf("parseTemplate(%q) accepted a segment mux alone reads", bad)
		}
	}
}

// canonicalUUID agrees with parsing a UUID and writing it back.
func TestCanonicalUUID(t *testing.T) {
	t.Parallel()
	u := "3f2b6c1e-8d4a-4e2b-9c1f-5a6b7c8d9e0f"
	for s, want := range map[string]bool{
		u: true, "3F2B6C1E-8D4A-4E2B-9C1F-5A6B7C8D9E0F": false, "{" + u + "}": false, u[:35]: false,
		u[:35] + "g": false, "3f2b6c1e8d4a-4e2b-9c1f-5a6b7c8d9e0f0": false, "00000000-0000-0000-0000-000000000000": true,
	} {
		if got := canonicalUUID(s); got != want {
			t.Errorf("canonicalUUID(%q) = %v, want %v", s, got, want)
		}
	}
}

// A path with a "." or ".." segment never reaches an operation as a
// parameter: mux redirects it to the clean path, as before templates.
func TestDotSegmentsAreCleanedNotMatched(t *testing.T) {
	t.Parallel()
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/passport/v1/iam/oauth/tokens/..", "/passport/v1/iam/oauth/tokens/.", "/_emulator/scenarios/..", "/passport//v1/iam/oauth/tokens/x"} {
		w := httptest.NewRecorder()
		e.Handler().ServeHTTP(w, httptest.NewRequest("DELETE", p, nil))
		if w.Code != http.StatusMovedPermanently {
			t.Errorf("DELETE %s: %d %s, want 301 to the clean path", p, w.Code, w.Body)
		}
	}
}
