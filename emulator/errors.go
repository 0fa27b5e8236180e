package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/gorilla/mux"
)

// httpError is a vendor-neutral failure raised by the shared middleware (body
// limit, unknown route, validation); each scheme renders it in its own shape.
type httpError struct {
	status int
	reason string // X-Tokenemu-Reason
	msg    string
	cause  error // what failed, when it is not the request's fault
}

func (e *httpError) Error() string { return e.msg }

func (e *httpError) Unwrap() error { return e.cause }

// writeJSON writes v as a JSON response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	writeJSONBytes(w, status, encodeJSON(v))
}

// encodeJSON returns v's JSON followed by the newline every answer ends with.
func encodeJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Every value written is built by this package from plain types.
		b = []byte(`{}`)
	}
	return append(b, '\n')
}

// writeJSONBytes writes an encoded JSON answer (encodeJSON's). net/http
// works out the Content-Length of an answer of up to 2 KB itself but chunks a
// longer one unless told its length, so a longer one is given its length.
func writeJSONBytes(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if len(b) > 2048 {
		h.Set("Content-Length", strconv.Itoa(len(b)))
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// ReasonHeader names the header that says why the emulator rejected a request.
const ReasonHeader = "X-Tokenemu-Reason"

// neutralError turns an error that is not a scheme's own wire error into an
// httpError: the middleware's own, a request validation error, or, for anything
// else (which no request should reach), a logged 500.
func (e *Emulator) neutralError(vendor string, err error) *httpError {
	if he, ok := errors.AsType[*httpError](err); ok {
		return he
	}
	if _, ok := errors.AsType[*openapi3filter.RequestError](err); ok {
		return validationError(err)
	}
	e.internal.Add(1)
	e.log.Error("unexpected error", "vendor", vendor, "err", err)
	return &httpError{status: http.StatusInternalServerError, reason: "internal", msg: "internal error"}
}

// validationError turns an error from openapi3filter.ValidateRequest into an
// httpError with a short, readable message. Authentication errors are not
// handled here: schemes unwrap their own error types first.
func validationError(err error) *httpError {
	re, ok := errors.AsType[*openapi3filter.RequestError](err)
	if !ok {
		return &httpError{status: http.StatusBadRequest, reason: "invalid_request", msg: err.Error()}
	}
	switch {
	case re.RequestBody != nil && strings.HasPrefix(re.Reason, "header Content-Type"):
		ct := ""
		if re.Input != nil && re.Input.Request != nil {
			ct = re.Input.Request.Header.Get("Content-Type")
		}
		if ct == "" {
			return &httpError{status: http.StatusUnsupportedMediaType, reason: "unsupported_media_type",
				msg: "request body needs a Content-Type header"}
		}
		return &httpError{status: http.StatusUnsupportedMediaType, reason: "unsupported_media_type",
			msg: fmt.Sprintf("unsupported Content-Type %q", ct)}
	case re.RequestBody != nil && errors.Is(re.Err, openapi3filter.ErrInvalidRequired):
		return &httpError{status: http.StatusBadRequest, reason: "invalid_request", msg: "request body is required"}
	case re.RequestBody != nil:
		if se, ok := errors.AsType[*openapi3.SchemaError](re.Err); ok {
			return &httpError{status: http.StatusBadRequest, reason: "invalid_request",
				msg: "request body: " + schemaErrorText(se)}
		}
		return &httpError{status: http.StatusBadRequest, reason: "invalid_request",
			msg: "request body is not valid: " + firstLine(re.Reason)}
	case re.Parameter != nil:
		detail := re.Reason
		if se, ok := errors.AsType[*openapi3.SchemaError](re.Err); ok {
			detail = se.Reason
		} else if errors.Is(re.Err, openapi3filter.ErrInvalidRequired) {
			detail = "is required"
		} else if re.Err != nil && detail == "" {
			detail = re.Err.Error()
		}
		return &httpError{status: http.StatusBadRequest, reason: "invalid_request",
			msg: fmt.Sprintf("%s parameter %q: %s", re.Parameter.In, re.Parameter.Name, firstLine(detail))}
	}
	return &httpError{status: http.StatusBadRequest, reason: "invalid_request", msg: firstLine(re.Error())}
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

// schemaFieldError returns the body schema error of err when it is on the given
// top-level field and schema keyword (e.g. "grant_type", "enum"), else nil.
func schemaFieldError(err error, field, keyword string) *openapi3.SchemaError {
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

func isString(v any) bool {
	_, ok := v.(string)
	return ok
}

// adminError is the admin plane's error body.
type adminErrorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func writeAdminError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, adminErrorBody{Error: code, Message: msg})
}

// pathParam returns a path parameter of the matched route.
func pathParam(r *http.Request, name string) string { return mux.Vars(r)[name] }

// absenceReporter is implemented by a scheme's authentication error when the
// request carried no credentials at all for that security scheme.
type absenceReporter interface{ credentialsAbsent() bool }

// authFailure picks, among the errors of every security alternative that
// failed, the one to report: the first about credentials the request did
// carry, else the first. Any other error is returned as it is.
func authFailure(err error) error {
	sre, ok := errors.AsType[*openapi3filter.SecurityRequirementsError](err)
	if !ok || len(sre.Errors) == 0 {
		return err
	}
	for _, e := range sre.Errors {
		if a, ok := e.(absenceReporter); !ok || !a.credentialsAbsent() {
			return e
		}
	}
	return sre.Errors[0]
}
