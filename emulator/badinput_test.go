package emulator_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/brass"
	"github.com/tokenemu/tokenemu/emulator/passkit"
	"github.com/tokenemu/tokenemu/emulator/passport"
	"github.com/tokenemu/tokenemu/emulator/teletracker"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
	"github.com/tokenemu/tokenemu/openapi"
)

// TestSpecGeneratedBadInput walks every operation of every OpenAPI document and
// sends it requests made wrong in every way the document allows us to name:
// each required field missing, each field of the wrong type, each typed
// parameter malformed, invalid JSON, non-UTF-8 text, the wrong content type, an
// empty body, a body one byte over 1 MiB and headers over 64 KiB. Every answer
// must be a 4xx in the vendor's error shape (and match the document); none may
// be a 5xx. Unknown query parameters are ignored, as the vendors do: the answer
// must be the one without them.
func TestSpecGeneratedBadInput(t *testing.T) {
	t.Parallel()
	var total atomic.Int64
	for _, name := range openapi.Names() {
		doc, err := openapi.Shared(name)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, emulator.Config{Settings: map[string]string{"brass.rate-limit": "0"}, AllowedHosts: emulator.LoopbackHosts()})
			w := &walker{t: t, e: e, doc: doc, vendor: name, prefix: doc.Servers[0].URL}
			for _, path := range doc.Paths.InMatchingOrder() {
				item := doc.Paths.Value(path)
				methods := make([]string, 0, len(item.Operations()))
				for m := range item.Operations() {
					methods = append(methods, m)
				}
				sort.Strings(methods)
				for _, m := range methods {
					w.operation(m, path, item.Operations()[m], item.Parameters)
				}
			}
			total.Add(w.cases)
			t.Logf("%s: %d bad-input cases over %d operations", name, w.cases, w.ops)
		})
	}
	t.Cleanup(func() { t.Logf("bad-input cases in all: %d", total.Load()) })
}

type walker struct {
	t      *testing.T
	e      *env
	doc    *openapi3.T
	vendor string
	prefix string
	cases  int64
	ops    int
}

// badCase is one request the walker sends.
type badCase struct {
	what   string
	path   string // with parameters filled in
	query  url.Values
	header http.Header
	body   string
	want   int    // 0: any 4xx
	reason string // X-Tokenemu-Reason, when set
}

func (w *walker) operation(method, path string, op *openapi3.Operation, shared openapi3.Parameters) {
	w.ops++
	params := map[string]*openapi3.Parameter{}
	for _, list := range []openapi3.Parameters{shared, op.Parameters} {
		for _, p := range list {
			params[p.Value.In+":"+p.Value.Name] = p.Value
		}
	}
	pathValues := map[string]string{}
	query := url.Values{}
	for _, p := range params {
		switch {
		case p.In == openapi3.ParameterInPath:
			pathValues[p.Name] = sampleString(p.Schema)
		case p.In == openapi3.ParameterInQuery && p.Required:
			query.Set(p.Name, sampleString(p.Schema))
		}
	}
	fill := func(values map[string]string) string {
		out := path
		for k, v := range values {
			out = strings.ReplaceAll(out, "{"+k+"}", url.PathEscape(v))
		}
		return w.prefix + out
	}
	full := fill(pathValues)
	label := method + " " + path
	send := func(c badCase) {
		w.t.Helper()
		w.cases++
		h := w.credentials(op)
		for k, vs := range c.header {
			h[k] = vs
		}
		u := c.path
		if len(c.query) > 0 {
			u += "?" + c.query.Encode()
		}
		resp, body := w.e.do(method, u, h, c.body)
		w.check(label+": "+c.what, resp, body, c.want)
		if c.reason != "" && resp.Header.Get(vendorapi.ReasonHeader) != c.reason {
			w.t.Errorf("%s: %s: reason %q, want %q", label, c.what, resp.Header.Get(vendorapi.ReasonHeader), c.reason)
		}
	}

	// Path parameters of a type or format the value breaks.
	for name, p := range params {
		if p.In != openapi3.ParameterInPath {
			continue
		}
		if bad, ok := wrongScalar(p.Schema); ok {
			vals := maps.Clone(pathValues)
			vals[p.Name] = bad
			send(badCase{what: "path parameter " + name + " = " + bad, path: fill(vals), query: query})
		}
	}
	// Query parameters: each required one missing, each typed one malformed.
	for _, p := range params {
		if p.In != openapi3.ParameterInQuery {
			continue
		}
		if p.Required {
			q := maps.Clone(query)
			q.Del(p.Name)
			send(badCase{what: "query " + p.Name + " missing", path: full, query: q})
		}
		if bad, ok := wrongScalar(p.Schema); ok {
			q := maps.Clone(query)
			q.Set(p.Name, bad)
			send(badCase{what: "query " + p.Name + " = " + bad, path: full, query: q})
		}
		q := maps.Clone(query)
		q.Set(p.Name, "\xff\xfe")
		send(badCase{what: "query " + p.Name + " not UTF-8", path: full, query: q})
	}
	// Header parameters of a type the value breaks.
	for _, p := range params {
		if p.In != openapi3.ParameterInHeader {
			continue
		}
		if bad, ok := wrongScalar(p.Schema); ok {
			send(badCase{what: "header " + p.Name + " = " + bad, path: full, query: query,
				header: http.Header{http.CanonicalHeaderKey(p.Name): {bad}}})
		}
	}

	// The body.
	if rb := op.RequestBody; rb != nil {
		cts := make([]string, 0, len(rb.Value.Content))
		for ct := range rb.Value.Content {
			cts = append(cts, ct)
		}
		sort.Strings(cts)
		for _, ct := range cts {
			w.body(send, full, query, ct, rb.Value.Content[ct].Schema, rb.Value.Required)
		}
		if rb.Value.Required {
			send(badCase{what: "no body", path: full, query: query, header: http.Header{"Content-Type": {cts[0]}}})
		}
		send(badCase{what: "text/plain body", path: full, query: query,
			header: http.Header{"Content-Type": {"text/plain"}}, body: "hello"})
	}
	send(badCase{what: "body of 1 MiB + 1", path: full, query: query, header: http.Header{"Content-Type": {"application/json"}},
		body: strings.Repeat(" ", int(emulator.DefaultMaxBodyBytes)+1), want: http.StatusRequestEntityTooLarge})
	// What a web page in the user's browser could send: its own name in Host
	// (DNS rebinding) anywhere, and a cross-site request to the admin plane.
	send(badCase{what: "a foreign Host", path: full, query: query,
		header: http.Header{"Host": {"attacker.example:8080"}}, want: http.StatusForbidden})
	if w.vendor == "admin" {
		send(badCase{what: "a cross-origin Origin", path: full, query: query,
			header: http.Header{"Origin": {"https://evil.example"}}, want: http.StatusForbidden})
		send(badCase{what: "Sec-Fetch-Site: cross-site", path: full, query: query,
			header: http.Header{"Sec-Fetch-Site": {"cross-site"}}, want: http.StatusForbidden})
		if method != http.MethodGet {
			send(badCase{what: "a change without a JSON content type", path: full, query: query,
				header: http.Header{"Content-Type": {"text/plain"}}, want: http.StatusUnsupportedMediaType})
		}
	}
	send(badCase{what: "headers over 64 KiB", path: full, query: query,
		header: http.Header{"X-Padding": {strings.Repeat("p", emulator.DefaultMaxHeaderBytes)}}, want: http.StatusRequestHeaderFieldsTooLarge})

	// Wire details: a credentials header sent twice is a 400; a body in an
	// encoding or a charset the emulator does not read is a 415; HEAD gets
	// GET's answer without its body.
	{
		h := w.credentials(op)
		if len(h["Authorization"]) == 0 {
			h["Authorization"] = []string{"Bearer x"}
		}
		h["Authorization"] = append(h["Authorization"], h["Authorization"][0])
		send(badCase{what: "Authorization twice", path: full, query: query, header: h, want: http.StatusBadRequest})
	}
	if op.RequestBody != nil {
		send(badCase{what: "gzip body", path: full, query: query, header: http.Header{"Content-Type": {"application/json"},
			"Content-Encoding": {"gzip"}}, body: "\x1f\x8b\x08\x00", reason: "unsupported_media_type"})
		send(badCase{what: "UTF-16 body", path: full, query: query, header: http.Header{"Content-Type": {"application/json; charset=utf-16"}},
			body: "\xff\xfe{\x00}\x00", reason: "unsupported_media_type"})
	}
	if method == http.MethodGet {
		w.cases++
		get, getBody := w.e.do(method, full+encodeQuery(query), w.credentials(op), "")
		w.cases++
		head, headBody := w.e.do(http.MethodHead, full+encodeQuery(query), w.credentials(op), "")
		if head.StatusCode != get.StatusCode || len(headBody) != 0 || head.Header.Get("Content-Type") != get.Header.Get("Content-Type") {
			w.t.Errorf("%s: HEAD got %d %q with %d bytes, GET %d %q %s", label, head.StatusCode, head.Header.Get("Content-Type"),
				len(headBody), get.StatusCode, get.Header.Get("Content-Type"), getBody)
		}
	}

	// An unknown query parameter changes nothing: the same request with and
	// without it gets the same status (with fresh credentials each time).
	if op.RequestBody == nil {
		w.cases++
		resp, body := w.e.do(method, full+encodeQuery(query), w.credentials(op), "")
		q := maps.Clone(query)
		q.Set("tokenemu_unknown_param", "1")
		w.cases++
		resp2, body2 := w.e.do(method, full+encodeQuery(q), w.credentials(op), "")
		if resp.StatusCode >= 500 || resp.StatusCode/100 != resp2.StatusCode/100 {
			w.t.Errorf("%s: %d %s without an unknown query parameter, %d %s with it", label, resp.StatusCode, body, resp2.StatusCode, body2)
		}
	}
}

// body sends the body mutations for one content type.
func (w *walker) body(send func(badCase), full string, query url.Values, ct string, ref *openapi3.SchemaRef, required bool) {
	w.t.Helper()
	if ref == nil || ref.Value == nil {
		return
	}
	s := ref.Value
	base := sampleObject(s)
	hdr := http.Header{"Content-Type": {ct}}
	encode := func(m map[string]any) string {
		if ct == "application/json" {
			b, err := json.Marshal(m)
			if err != nil {
				w.t.Fatal(err)
			}
			return strings.ReplaceAll(string(b), "__NOT_UTF8__", "\xff\xfe")
		}
		v := url.Values{}
		for k, x := range m {
			v.Set(k, strings.ReplaceAll(fmt.Sprint(x), "__NOT_UTF8__", "\xff\xfe"))
		}
		return v.Encode()
	}
	if ct == "multipart/form-data" {
		return // the same fields are sent form-encoded and as JSON above
	}
	for _, name := range s.Required {
		m := maps.Clone(base)
		delete(m, name)
		send(badCase{what: ct + " without " + name, path: full, query: query, header: hdr, body: encode(m)})
	}
	props := make([]string, 0, len(s.Properties))
	for name := range s.Properties {
		props = append(props, name)
	}
	sort.Strings(props)
	for _, name := range props {
		p := s.Properties[name].Value
		if bad, ok := wrongValue(p, ct == "application/json"); ok {
			m := maps.Clone(base)
			m[name] = bad
			send(badCase{what: fmt.Sprintf("%s %s = %v", ct, name, bad), path: full, query: query, header: hdr, body: encode(m)})
		}
		if p.Type.Is(openapi3.TypeString) && slices.Contains(s.Required, name) {
			m := maps.Clone(base)
			m[name] = "__NOT_UTF8__"
			send(badCase{what: ct + " " + name + " not UTF-8", path: full, query: query, header: hdr, body: encode(m)})
		}
	}
	// Keys are matched exactly and only once: a key in other case is an
	// unknown key (so a required one is missing), and a repeated key is a 400
	// whichever value comes first.
	for _, name := range s.Required {
		other := strings.ToUpper(name)
		if other == name {
			other = strings.ToLower(name)
		}
		m := maps.Clone(base)
		m[other] = m[name]
		delete(m, name)
		send(badCase{what: ct + " with " + name + " spelt " + other, path: full, query: query, header: hdr, body: encode(m)})
	}
	if len(base) > 0 {
		name := slices.Sorted(maps.Keys(base))[0]
		first := encode(map[string]any{name: base[name]})
		rest := encode(base)
		var dup string
		if ct == "application/json" {
			dup = strings.TrimSuffix(first, "}") + "," + strings.TrimPrefix(rest, "{")
		} else {
			dup = first + "&" + rest
		}
		send(badCase{what: ct + " with " + name + " twice", path: full, query: query, header: hdr, body: dup, want: http.StatusBadRequest})
	}
	if ct == "application/json" {
		send(badCase{what: "invalid JSON", path: full, query: query, header: hdr, body: `{"a":`})
		send(badCase{what: "JSON with trailing data", path: full, query: query, header: hdr, body: encode(base) + ` {}`, want: http.StatusBadRequest})
		send(badCase{what: "JSON array", path: full, query: query, header: hdr, body: `[]`})
		if required {
			send(badCase{what: "empty JSON body", path: full, query: query, header: hdr, body: ``})
		}
	}
}

// check asserts a 4xx (or want) in the vendor's error shape.
func (w *walker) check(what string, resp *http.Response, body []byte, want int) {
	w.t.Helper()
	switch {
	case want != 0 && resp.StatusCode != want:
		w.t.Errorf("%s: got %d, want %d: %s", what, resp.StatusCode, want, body)
		return
	case resp.StatusCode < 400 || resp.StatusCode >= 500:
		w.t.Errorf("%s: got %d, want a 4xx: %s", what, resp.StatusCode, body)
		return
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		w.t.Errorf("%s: %d with Content-Type %q, want JSON: %s", what, resp.StatusCode, ct, body)
		return
	}
	if resp.Header.Get(vendorapi.ReasonHeader) == "" {
		w.t.Errorf("%s: %d without %s", what, resp.StatusCode, vendorapi.ReasonHeader)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		w.t.Errorf("%s: %d body is not a JSON object: %s", what, resp.StatusCode, body)
		return
	}
	if !vendorShaped(w.vendor, m) {
		w.t.Errorf("%s: %d body is not %s's error shape: %s", what, resp.StatusCode, w.vendor, body)
	}
}

// vendorShaped reports whether m is the vendor's error body.
func vendorShaped(vendor string, m map[string]any) bool {
	str := func(v any) bool { s, ok := v.(string); return ok && s != "" }
	switch vendor {
	case "passkit", "admin":
		return str(m["error"])
	case "brass":
		e, ok := m["error"].(map[string]any)
		return ok && e["status"] != nil && str(e["title"])
	case "passport":
		_, code := m["code"].(float64)
		return str(m["error"]) || (code && str(m["message"]))
	case "teletracker":
		return m["success"] == false && str(m["message"])
	}
	return false
}

// credentials are valid credentials for the operation's first security
// requirement, made fresh for every request (a case may use them up).
func (w *walker) credentials(op *openapi3.Operation) http.Header {
	w.t.Helper()
	h := http.Header{}
	sec := op.Security
	if sec == nil {
		sec = &w.doc.Security
	}
	if len(*sec) == 0 {
		return h
	}
	names := make([]string, 0, len((*sec)[0]))
	for n := range (*sec)[0] {
		names = append(names, n)
	}
	sort.Strings(names)
	issue := func(vendor, principal, kind string) string { return issueToken(w.t, w.e.emu, vendor, principal, kind) }
	basic := func(user, pass string) string {
		return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	}
	for _, n := range names {
		switch w.vendor + "." + n {
		case "admin.adminToken":
		case "passport.passportOAuth":
			h.Set("Authorization", "Bearer "+issue("passport", passport.DefaultClientID, ""))
		case "passport.clientBasic":
			h.Set("Authorization", "Basic "+basic(passport.DefaultClientID, passport.DefaultClientSecret))
		case "passkit.passkitToken":
			h.Set("Authorization", issue("passkit", passkit.DefaultUsername, ""))
		case "brass.appKey":
			h.Set("Authorization", "Bearer "+brass.DefaultAppKey)
		case "brass.temporaryJWT":
			resp, body := w.e.do("POST", "/brass/auth/login", hdr("Authorization", "Bearer "+brass.DefaultAppKey,
				"Content-Type", "application/json"),
				fmt.Sprintf(`{"username":%q,"password":%q}`, brass.DefaultUsername, brass.DefaultPassword))
			if resp.StatusCode != 200 {
				w.t.Fatalf("brass login: %d %s", resp.StatusCode, body)
			}
			h.Set("Authorization", "Bearer "+decode[struct{ Token string }](w.t, body).Token)
		case "brass.userJWT":
			h.Set("Authorization", "Bearer "+issue("brass", brass.DefaultUsername, "user"))
		case "brass.pat":
			h.Set("Authorization", "Bearer "+issue("brass", brass.DefaultUsername, "pat"))
		case "teletracker.bearerAuth":
			h.Set("Authorization", "Bearer "+issue("teletracker", teletracker.DefaultUsername, ""))
		case "teletracker.authenticationHeader":
			h.Set("Authentication", "Bearer "+issue("teletracker", teletracker.DefaultUsername, ""))
		case "teletracker.basicAuth":
			h.Set("Authorization", "Basic "+basic(teletracker.DefaultUsername, teletracker.DefaultPassword))
		case "teletracker.integratorAuth":
			h.Set("Authorization", "Integrator "+basic(teletracker.IntegratorUser, teletracker.DefaultPassword))
		default:
			w.t.Fatalf("no credentials for security scheme %s.%s", w.vendor, n)
		}
	}
	return h
}

// sampleObject is a value for each property of an object schema that the
// schema accepts.
func sampleObject(s *openapi3.Schema) map[string]any {
	m := map[string]any{}
	for name, p := range s.Properties {
		if p.Value.ReadOnly {
			continue
		}
		m[name] = sampleValue(p.Value)
	}
	return m
}

func sampleValue(s *openapi3.Schema) any {
	switch {
	case s.Example != nil:
		return s.Example
	case len(s.Enum) > 0:
		return s.Enum[0]
	case s.Type.Is(openapi3.TypeInteger), s.Type.Is(openapi3.TypeNumber):
		if s.Min != nil {
			return *s.Min
		}
		return 1
	case s.Type.Is(openapi3.TypeBoolean):
		return true
	case s.Type.Is(openapi3.TypeArray):
		if s.Items != nil {
			return []any{sampleValue(s.Items.Value)}
		}
		return []any{}
	case s.Type.Is(openapi3.TypeObject):
		return sampleObject(s)
	}
	return sampleString(&openapi3.SchemaRef{Value: s})
}

func sampleString(ref *openapi3.SchemaRef) string {
	if ref == nil || ref.Value == nil {
		return "x"
	}
	s := ref.Value
	switch {
	case s.Example != nil:
		return fmt.Sprint(s.Example)
	case len(s.Enum) > 0:
		return fmt.Sprint(s.Enum[0])
	case s.Type.Is(openapi3.TypeInteger), s.Type.Is(openapi3.TypeNumber):
		return "1"
	case s.Type.Is(openapi3.TypeBoolean):
		return "true"
	}
	switch s.Format {
	case "uuid":
		return "3f2b6c1e-8d4a-4e2b-9c1f-5a6b7c8d9e0f"
	case "email":
		return "someone@example.test"
	case "date-time":
		return "2030-01-01T00:00:00Z"
	case "date":
		return "2030-01-01"
	}
	return strings.Repeat("x", max(1, int(s.MinLength)))
}

// wrongScalar is a string the schema of a parameter (or form field) refuses,
// when it has a type or format a string can break.
func wrongScalar(ref *openapi3.SchemaRef) (string, bool) {
	if ref == nil || ref.Value == nil {
		return "", false
	}
	s := ref.Value
	switch {
	case s.Type.Is(openapi3.TypeInteger), s.Type.Is(openapi3.TypeNumber):
		return "not-a-number", true
	case s.Type.Is(openapi3.TypeBoolean):
		return "not-a-boolean", true
	case len(s.Enum) > 0:
		return "not-in-the-enum", true
	case s.Format == "uuid":
		return "not-a-uuid", true
	case s.Format == "date-time":
		return "not-a-time", true
	}
	return "", false
}

// wrongValue is a body value of the wrong type for the schema.
func wrongValue(s *openapi3.Schema, jsonBody bool) (any, bool) {
	if !jsonBody {
		return wrongScalar(&openapi3.SchemaRef{Value: s})
	}
	switch {
	case s.Type.Is(openapi3.TypeString):
		return 12345, true
	case s.Type.Is(openapi3.TypeInteger), s.Type.Is(openapi3.TypeNumber), s.Type.Is(openapi3.TypeBoolean):
		return "a string", true
	case s.Type.Is(openapi3.TypeArray):
		return "not an array", true
	case s.Type.Is(openapi3.TypeObject):
		return []any{1}, true
	}
	return nil, false
}

func encodeQuery(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// A JSON body with anything after its value is refused in the vendor's
// shape, as the vendors' own JSON parsers refuse it, rather than read up to
// the end of the first value.
func TestJSONBodyWithTrailingData(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	ct := hdr("Content-Type", "application/json")
	for _, c := range []struct{ path, body string }{
		{"/passkit/login", `{"username":"demo@passkit.test","password":"passkit-demo"} trailing`},
		{"/passport/v1/iam/oauth/tokens", `{"client_id":"demo-client","client_secret":"demo-secret","grant_type":"client_credentials"}{}`},
		{"/teletracker/auth/login", `{"username":"demo@teletracker.test","password":"teletracker-demo"} 1`},
	} {
		resp, body := e.do("POST", c.path, ct, c.body)
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get(vendorapi.ReasonHeader) != "invalid_request" {
			t.Errorf("POST %s with trailing data: %d %s %s", c.path, resp.StatusCode, resp.Header.Get(vendorapi.ReasonHeader), body)
		}
	}
	resp, body := e.do("POST", "/brass/auth/login", jsonHdr(appKey), `{"username":"demo@brass.test","password":"brass-demo"} x`)
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get(vendorapi.ReasonHeader) != "invalid_request" {
		t.Errorf("Brass login with trailing data: %d %s %s", resp.StatusCode, resp.Header.Get(vendorapi.ReasonHeader), body)
	}
}
