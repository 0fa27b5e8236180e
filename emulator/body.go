package emulator

import (
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/tokenemu/tokenemu/emulator/vendorapi"
)

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
		return &vendorapi.WireError{Status: http.StatusUnsupportedMediaType, Reason: "unsupported_media_type", Message: fmt.Sprintf("Content-Encoding %q is not supported: send the body as it is", ce)}
	}
	_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "us-ascii") {
		return &vendorapi.WireError{Status: http.StatusUnsupportedMediaType, Reason: "unsupported_media_type", Message: fmt.Sprintf("charset %q is not supported: send UTF-8", cs)}
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
			return &vendorapi.WireError{Status: http.StatusBadRequest, Reason: "invalid_request", Message: fmt.Sprintf("the request has %d %s headers; send one", len(r.Header[name]), name)}
		}
	}
	return nil
}

// checkBody refuses, before the validator reads it, a JSON body that the
// one body decoder (vendorapi.DecodeJSON) would refuse: invalid syntax, a
// repeated key, trailing data. (Form bodies are checked where they are
// decoded, by vendorapi.RequestForm: no validator reads a form's repeated
// keys differently.)
func checkBody(r *http.Request, body []byte) error {
	if len(body) == 0 {
		return nil
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" {
		return vendorapi.CheckJSON(body)
	}
	return nil
}
