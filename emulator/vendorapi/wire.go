package vendorapi

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// WriteJSON writes v as a JSON answer.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	WriteJSONBytes(w, status, EncodeJSON(v))
}

// EncodeJSON returns v's JSON followed by the newline every answer ends with.
func EncodeJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Every value written is built by the emulator from plain types.
		b = []byte(`{}`)
	}
	return append(b, '\n')
}

// WriteJSONBytes writes an encoded JSON answer (EncodeJSON's). net/http
// works out the Content-Length of an answer of up to 2 KB itself but chunks
// a longer one unless told its length, so a longer one is given its length.
func WriteJSONBytes(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if len(b) > 2048 {
		h.Set("Content-Length", strconv.Itoa(len(b)))
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// The one body decoder of every vendor and of the admin plane.
//
// encoding/json matches object keys case-insensitively and lets the last of
// two equal keys win, while the OpenAPI validator reads keys exactly: a body
// such as {"client_secret":"wrong","CLIENT_SECRET":"right"} passed the
// validator with one value and the handler with the other. Bodies are
// therefore decoded with JSON v2 (github.com/go-json-experiment/json, the
// module that becomes encoding/json/v2): keys match exactly, a repeated key
// is an error, and so is anything after the value. CheckJSON applies the
// same rules to every JSON body before the validator sees it, so that a bad
// body gets the same 400 whichever reads it first.

// DecodeJSON decodes a JSON body into v: keys match v's field names exactly
// (a key that differs in case is unknown, and unknown keys are ignored),
// repeated keys and trailing data are refused.
func DecodeJSON(body []byte, v any, opts ...jsonv2.Options) error {
	if err := jsonv2.Unmarshal(body, v, opts...); err != nil {
		return jsonBodyError(err)
	}
	return nil
}

// RequestJSON decodes the request's JSON body with DecodeJSON.
func RequestJSON(req *Request, r *http.Request, v any) error {
	b, err := RequestBody(req, r)
	if err != nil {
		return BadRequest("request body could not be read")
	}
	return DecodeJSON(b, v)
}

// RequestBody returns the request's body: the copy the core read into
// memory, or, outside an operation, what is left to read.
func RequestBody(req *Request, r *http.Request) ([]byte, error) {
	if req != nil && req.Body != nil {
		return req.Body, nil
	}
	if r.Body == nil {
		return nil, nil
	}
	return io.ReadAll(r.Body)
}

// RequestForm decodes the request's URL-encoded body, as r.ParseForm would
// but from the copy in memory and without the query string, and refuses a
// key given more than once.
func RequestForm(req *Request, r *http.Request) (url.Values, error) {
	body, err := RequestBody(req, r)
	if err != nil {
		return nil, BadRequest("request body could not be read")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, BadRequest("request body is not a valid form")
	}
	for k, v := range form {
		if len(v) > 1 {
			return nil, BadRequest(fmt.Sprintf("request body: parameter %q appears more than once", k))
		}
	}
	return form, nil
}

// CheckJSON refuses a JSON body that DecodeJSON would refuse: invalid
// syntax, a repeated key, trailing data.
func CheckJSON(body []byte) error {
	if jsontext.Value(body).IsValid() { // RFC 7493: one value, unique keys, UTF-8; no allocation
		return nil
	}
	dec := jsontext.NewDecoder(bytes.NewReader(body))
	if err := dec.SkipValue(); err != nil {
		return jsonBodyError(err)
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return BadRequest("request body is not valid JSON: there is more after the value")
	}
	return nil
}

// jsonBodyError says what is wrong with a JSON body in one line.
func jsonBodyError(err error) *WireError {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return BadRequest("request body is not valid JSON: it ends too early")
	}
	if se, ok := errors.AsType[*jsontext.SyntacticError](err); ok {
		if errors.Is(se.Err, jsontext.ErrDuplicateName) {
			return BadRequest(fmt.Sprintf("request body is not valid JSON: key %q appears more than once", lastToken(se.JSONPointer)))
		}
		return BadRequest(fmt.Sprintf("request body is not valid JSON at byte %d: %v", se.ByteOffset, se.Err))
	}
	if se, ok := errors.AsType[*jsonv2.SemanticError](err); ok {
		where := string(se.JSONPointer)
		if where == "" {
			return BadRequest(fmt.Sprintf("request body: want a JSON %s, got %s", kindName(se.GoType.Kind().String()), se.JSONKind))
		}
		return BadRequest(fmt.Sprintf("request body: field %q has the wrong type (%s)", where[1:], se.JSONKind))
	}
	return BadRequest("request body is not valid JSON")
}

func lastToken(p jsontext.Pointer) string {
	last := ""
	for tok := range p.Tokens() {
		last = tok
	}
	return last
}

func kindName(k string) string {
	switch k {
	case "struct", "map":
		return "object"
	case "slice", "array":
		return "array"
	}
	return k
}

// The one Authorization parser.

// Credentials is what an Authorization header carries.
type Credentials struct {
	Present bool   // the header was sent and is not blank
	Scheme  string // lowercased auth-scheme, e.g. "bearer"; "" for a bare token
	Value   string // the token68 / credentials after the scheme
}

// ParseAuthorization splits an Authorization header value (RFC 7235 §2.1):
// the auth-scheme is case-insensitive and separated from the credentials by
// one or more spaces; surrounding whitespace is trimmed. A value with no
// space is a bare token (Scheme "").
func ParseAuthorization(h string) Credentials {
	h = strings.TrimSpace(h)
	if h == "" {
		return Credentials{}
	}
	scheme, rest, found := strings.Cut(h, " ")
	if !found {
		return Credentials{Present: true, Value: h}
	}
	return Credentials{Present: true, Scheme: strings.ToLower(scheme), Value: strings.TrimLeft(rest, " ")}
}

// IsB64Token reports whether s is an RFC 6750 §2.1 b64token:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func IsB64Token(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' {
			continue
		}
		break
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// BearerResult classifies an Authorization header for a Bearer-only endpoint.
type BearerResult int

// The classes of BearerToken.
const (
	BearerOK        BearerResult = iota
	BearerMissing                // no credentials, or another scheme: 401 without error attribute
	BearerMalformed              // "Bearer" with an empty or non-b64token value: 400 invalid_request
)

// BearerToken extracts a Bearer token from an Authorization header value
// (RFC 6750 §2.1).
func BearerToken(header string) (string, BearerResult) {
	c := ParseAuthorization(header)
	switch {
	case !c.Present:
		return "", BearerMissing
	case c.Scheme == "" && strings.EqualFold(c.Value, "bearer"):
		return "", BearerMalformed // "Bearer" with nothing after it
	case c.Scheme != "bearer":
		return "", BearerMissing
	case !IsB64Token(c.Value):
		return "", BearerMalformed
	}
	return c.Value, BearerOK
}

// opaqueTokenBytes is the randomness in an opaque token: 256 bits.
const opaqueTokenBytes = 32

// NewOpaqueToken returns 256 bits from crypto/rand as unpadded base64url (43
// characters, never containing a dot, so no JWT parser mistakes it for a JWT).
func NewOpaqueToken() string {
	var b [opaqueTokenBytes]byte
	// crypto/rand.Read never returns an error (Go 1.24+); it crashes the
	// program instead if the system's randomness source fails.
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// BodyFields reads the string fields of a JSON or form body already in memory.
func BodyFields(r *http.Request, body []byte) map[string]string {
	out := map[string]string{}
	if len(body) == 0 {
		return out
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		var m map[string]any
		if DecodeJSON(body, &m) == nil {
			for k, v := range m {
				if s, ok := v.(string); ok {
					out[k] = s
				}
			}
		}
	case "application/x-www-form-urlencoded":
		if q, err := url.ParseQuery(string(body)); err == nil {
			for k, v := range q {
				out[k] = v[0]
			}
		}
	}
	return out
}
