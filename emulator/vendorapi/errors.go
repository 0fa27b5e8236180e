package vendorapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// ReasonHeader names the header that says why the emulator rejected a request.
const ReasonHeader = "X-Tokenemu-Reason"

// WireError is the one wire-error type: a status, the reason the emulator
// gives (X-Tokenemu-Reason), a message, and the headers an error carries.
// Each vendor's error embeds it and adds its own fields; the vendor renders
// the body, and Write sets the headers, for every vendor in one place.
type WireError struct {
	Status  int
	Reason  string // X-Tokenemu-Reason, e.g. token_expired
	Message string
	// Challenge is the WWW-Authenticate header (RFC 6750 §3) of a 401,
	// or of a 403 insufficient_scope.
	Challenge string
	// NoStore marks an error of a token endpoint: Cache-Control: no-store
	// and Pragma: no-cache, as its success answers (RFC 6749 §5.1).
	NoStore bool
	// Absent says that the request carried no credentials at all for the
	// security scheme that refused it (AuthFailure prefers another's error).
	Absent bool
	// Header holds more headers to send (Retry-After, a rate limit's).
	Header http.Header
	// Cause is what failed, when it is not the request's fault.
	Cause error
}

func (e *WireError) Error() string { return e.Message }

func (e *WireError) Unwrap() error { return e.Cause }

// Wire returns the error itself; a vendor's error that embeds WireError has it too.
func (e *WireError) Wire() *WireError { return e }

// wire is an error that is, or embeds, a WireError.
type wire interface {
	error
	Wire() *WireError
}

// AsWire finds the Error in err's chain: a WireError, or a vendor's error
// that embeds one.
func AsWire(err error) (*WireError, bool) {
	w, ok := errors.AsType[wire](err)
	if !ok {
		return nil, false
	}
	return w.Wire(), true
}

// Write sets the error's headers and writes body as its JSON answer.
func (e *WireError) Write(w http.ResponseWriter, body any) {
	h := w.Header()
	for k, vs := range e.Header {
		h[k] = vs
	}
	if e.Reason != "" {
		h.Set(ReasonHeader, e.Reason)
	}
	if e.Challenge != "" {
		h.Set("WWW-Authenticate", e.Challenge)
	}
	if e.NoStore {
		h.Set("Cache-Control", "no-store")
		h.Set("Pragma", "no-cache")
	}
	WriteJSON(w, e.Status, body)
}

// BadRequest is a 400 invalid_request with the given message.
func BadRequest(msg string) *WireError {
	return &WireError{Status: http.StatusBadRequest, Reason: "invalid_request", Message: msg}
}

// Neutral turns an error that is not a vendor's own into a WireError: a WireError
// already (the core's, a vendor's), a request validation error, or, for
// anything else, a bug: reported to env.Unexpected and answered 500.
func (env Env) Neutral(err error) *WireError {
	if e, ok := AsWire(err); ok {
		return e
	}
	if _, ok := errors.AsType[*openapi3filter.RequestError](err); ok {
		return ValidationError(err)
	}
	if env.Unexpected != nil {
		env.Unexpected(err)
	}
	return &WireError{Status: http.StatusInternalServerError, Reason: "internal", Message: "internal error", Cause: err}
}

// ValidationError turns an error from openapi3filter.ValidateRequest into
// a WireError with a short, readable message. Authentication errors are not
// handled here: vendors unwrap their own error types first.
func ValidationError(err error) *WireError {
	re, ok := errors.AsType[*openapi3filter.RequestError](err)
	if !ok {
		return BadRequest(err.Error())
	}
	switch {
	case re.RequestBody != nil && strings.HasPrefix(re.Reason, "header Content-Type"):
		ct := ""
		if re.Input != nil && re.Input.Request != nil {
			ct = re.Input.Request.Header.Get("Content-Type")
		}
		if ct == "" {
			return &WireError{Status: http.StatusUnsupportedMediaType, Reason: "unsupported_media_type",
				Message: "request body needs a Content-Type header"}
		}
		return &WireError{Status: http.StatusUnsupportedMediaType, Reason: "unsupported_media_type",
			Message: fmt.Sprintf("unsupported Content-Type %q", ct)}
	case re.RequestBody != nil && errors.Is(re.Err, openapi3filter.ErrInvalidRequired):
		return BadRequest("request body is required")
	case re.RequestBody != nil:
		if se, ok := errors.AsType[*openapi3.SchemaError](re.Err); ok {
			return BadRequest("request body: " + schemaErrorText(se))
		}
		return BadRequest("request body is not valid: " + firstLine(re.Reason))
	case re.Parameter != nil:
		detail := re.Reason
		if se, ok := errors.AsType[*openapi3.SchemaError](re.Err); ok {
			detail = se.Reason
		} else if errors.Is(re.Err, openapi3filter.ErrInvalidRequired) {
			detail = "is required"
		} else if re.Err != nil && detail == "" {
			detail = re.Err.Error()
		}
		return BadRequest(fmt.Sprintf("%s parameter %q: %s", re.Parameter.In, re.Parameter.Name, firstLine(detail)))
	}
	return BadRequest(firstLine(re.Error()))
}

// schemaErrorText says which field failed and why, e.g. `field "grant_type": value is not one of the allowed values`.
func schemaErrorText(se *openapi3.SchemaError) string {
	ptr := se.JSONPointer()
	if len(ptr) == 0 {
		return firstLine(se.Reason)
	}
	return fmt.Sprintf("field %q: %s", strings.Join(ptr, "."), firstLine(se.Reason))
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// SchemaFieldError returns the body schema error of err when it is on the
// given top-level field and schema keyword (e.g. "grant_type", "enum"), else nil.
func SchemaFieldError(err error, field, keyword string) *openapi3.SchemaError {
	re, ok := errors.AsType[*openapi3filter.RequestError](err)
	if !ok || re.RequestBody == nil {
		return nil
	}
	se, ok := errors.AsType[*openapi3.SchemaError](re.Err)
	if !ok {
		return nil
	}
	if ptr := se.JSONPointer(); len(ptr) == 1 && ptr[0] == field && se.SchemaField == keyword {
		return se
	}
	return nil
}

// AuthFailure picks, among the errors of every security alternative that
// failed, the one to report: the first about credentials the request did
// carry, else the first. Any other error is returned as it is.
func AuthFailure(err error) error {
	sre, ok := errors.AsType[*openapi3filter.SecurityRequirementsError](err)
	if !ok || len(sre.Errors) == 0 {
		return err
	}
	for _, e := range sre.Errors {
		if w, ok := AsWire(e); !ok || !w.Absent {
			return e
		}
	}
	return sre.Errors[0]
}
