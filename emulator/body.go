package emulator

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// The one body decoder of every vendor and of the admin plane.
//
// encoding/json matches object keys case-insensitively and lets the last of
// two equal keys win, while the OpenAPI validator reads keys exactly: a body
// such as {"client_secret":"wrong","CLIENT_SECRET":"right"} passed the
// validator with one value and the handler with the other. Bodies are
// therefore decoded with JSON v2 (github.com/go-json-experiment/json, the
// module that becomes encoding/json/v2): keys match exactly, a repeated key
// is an error, and so is anything after the value. checkBody applies the same
// rules to every JSON and form body before the validator sees it, so that a
// bad body gets the same 400 whichever reads it first.

// badBody is the error for a body the decoder refuses: a 400 that each
// vendor renders in its own shape.
func badBody(msg string) *httpError {
	return &httpError{status: http.StatusBadRequest, reason: "invalid_request", msg: msg}
}

// decodeJSON decodes a JSON body into v: keys match v's field names exactly
// (a key that differs in case is unknown, and unknown keys are ignored),
// repeated keys and trailing data are refused.
func decodeJSON(body []byte, v any, opts ...json.Options) error {
	if err := json.Unmarshal(body, v, opts...); err != nil {
		return jsonBodyError(err)
	}
	return nil
}

// jsonBodyError says what is wrong with a JSON body in one line.
func jsonBodyError(err error) *httpError {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return badBody("request body is not valid JSON: it ends too early")
	}
	if se, ok := errors.AsType[*jsontext.SyntacticError](err); ok {
		if errors.Is(se.Err, jsontext.ErrDuplicateName) {
			return badBody(fmt.Sprintf("request body is not valid JSON: key %q appears more than once", lastToken(se.JSONPointer)))
		}
		return badBody(fmt.Sprintf("request body is not valid JSON at byte %d: %v", se.ByteOffset, se.Err))
	}
	if se, ok := errors.AsType[*json.SemanticError](err); ok {
		where := string(se.JSONPointer)
		if where == "" {
			return badBody(fmt.Sprintf("request body: want a JSON %s, got %s", kindName(se.GoType.Kind().String()), se.JSONKind))
		}
		return badBody(fmt.Sprintf("request body: field %q has the wrong type (%s)", where[1:], se.JSONKind))
	}
	return badBody("request body is not valid JSON")
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

// requestForm decodes the request's URL-encoded body (requestBody's), as
// r.ParseForm would but from the copy in memory and without the query
// string, and refuses a key given more than once.
func requestForm(rc *reqCtx, r *http.Request) (url.Values, error) {
	body, err := requestBody(rc, r)
	if err != nil {
		return nil, badBody("request body could not be read")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, badBody("request body is not a valid form")
	}
	for k, v := range form {
		if len(v) > 1 {
			return nil, badBody(fmt.Sprintf("request body: parameter %q appears more than once", k))
		}
	}
	return form, nil
}

// checkBodyEncoding runs checkEncoding, checkUTF8 and checkBody in turn.
func checkBodyEncoding(r *http.Request, body []byte) error {
	if len(body) > 0 { // nothing to misread without a body: spares a GET the header parsing
		if err := checkEncoding(r); err != nil {
			return err
		}
	}
	if err := checkUTF8(r, body); err != nil {
		return err
	}
	return checkBody(r, body)
}

// checkEncoding refuses a body the emulator would misread: compressed
// (Content-Encoding) or in a charset other than UTF-8 (or its subset
// US-ASCII). Both are a 415.
func checkEncoding(r *http.Request) error {
	if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return &httpError{status: http.StatusUnsupportedMediaType, reason: "unsupported_media_type",
			msg: fmt.Sprintf("Content-Encoding %q is not supported: send the body as it is", ce)}
	}
	_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "us-ascii") {
		return &httpError{status: http.StatusUnsupportedMediaType, reason: "unsupported_media_type",
			msg: fmt.Sprintf("charset %q is not supported: send UTF-8", cs)}
	}
	return nil
}

// checkCredentialHeaders refuses a request that sends a credentials header
// more than once: which one counts would be anybody's guess (the first, for
// net/http's Header.Get), so it is a 400 invalid_request, as RFC 6750 §3.1
// has it for a request with more than one way of sending a token.
func checkCredentialHeaders(r *http.Request) error {
	for _, name := range []string{"Authorization", "Authentication"} {
		if len(r.Header[name]) > 1 {
			return &httpError{status: http.StatusBadRequest, reason: "invalid_request",
				msg: fmt.Sprintf("the request has %d %s headers; send one", len(r.Header[name]), name)}
		}
	}
	return nil
}

// checkBody refuses, before the validator reads it, a JSON body that
// decodeJSON would refuse: invalid syntax, a repeated key, trailing data.
// (Form bodies are checked where they are decoded, by requestForm: no
// validator reads a form's repeated keys differently.)
func checkBody(r *http.Request, body []byte) error {
	if len(body) == 0 {
		return nil
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		if jsontext.Value(body).IsValid() { // RFC 7493: one value, unique keys, UTF-8; no allocation
			return nil
		}
		dec := jsontext.NewDecoder(bytes.NewReader(body))
		if err := dec.SkipValue(); err != nil {
			return jsonBodyError(err)
		}
		if _, err := dec.ReadToken(); err != io.EOF {
			return badBody("request body is not valid JSON: there is more after the value")
		}
	}
	return nil
}
