package emulator

import (
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tokenemu/tokenemu/emulator/vendorapi"
)

// DefaultMaxHeaderBytes is the largest request line and header block the
// emulator answers: 64 KiB. Beyond it the answer is a 431 in the vendor's shape.
const DefaultMaxHeaderBytes = 64 << 10

// guard is the outermost handler. It answers oversized headers with a 431 in
// the vendor's error shape, and turns a panic in any handler into a logged 500
// so that one bad request cannot take the server down. No handler is meant to
// reach the recovery: tests fail when InternalErrors is not zero.
func (e *Emulator) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		// The one statusRecorder of the request: the journal reads the status
		// from it, and the recovery whether an answer has started.
		w := &statusRecorder{ResponseWriter: rw}
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler { // a sentinel value, compared as net/http does
				panic(p) // a deliberate abort (a scenario's dropped connection)
			}
			e.internal.Add(1)
			e.log.Error("handler panicked; answered 500", "method", r.Method, "path", e.journalPath(r, nil),
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if w.status != 0 {
				// Part of an answer is out: the only honest thing left is to
				// cut the connection.
				panic(http.ErrAbortHandler)
			}
			e.writeErrorFor(w, r, &vendorapi.WireError{Status: http.StatusInternalServerError, Reason: "internal", Message: "internal error (a bug in tokenemu: the log has the details)"})
		}()
		if n := headerBytes(r); n > e.cfg.MaxHeaderBytes {
			start := time.Now()
			vendor := e.writeErrorFor(w, r, &vendorapi.WireError{Status: http.StatusRequestHeaderFieldsTooLarge, Reason: "headers_too_large", Message: fmt.Sprintf("request line and headers are %d bytes; the limit is %d", n, e.cfg.MaxHeaderBytes)})
			e.record(r, vendor, nil, w, start)
			return
		}
		if err := e.refuseForeign(r); err != nil {
			start := time.Now()
			vendor := e.writeErrorFor(w, r, err)
			e.record(r, vendor, nil, w, start)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// LoopbackHosts are the Host names a server bound to loopback answers by
// default (Config.AllowedHosts), besides IP addresses: any other name
// reaching it is a DNS rebinding, a web page's name pointed at 127.0.0.1.
func LoopbackHosts() []string { return []string{"localhost", "127.0.0.1", "::1"} }

// refuseForeign refuses what a web page in the user's browser could send: a
// request whose Host is not allowed (DNS rebinding) and, on the admin plane,
// a cross-origin request (changeNeedsJSON refuses the rest). No answer
// carries a CORS header, so a browser never lets another origin read one.
func (e *Emulator) refuseForeign(r *http.Request) *vendorapi.WireError {
	if err := e.refuseHost(r); err != nil {
		return err
	}
	if r.URL.Path != e.adminPrefix && !strings.HasPrefix(r.URL.Path, e.adminPrefix+"/") {
		return nil
	}
	if consoleNavigation(r, e.adminPrefix) {
		return nil // a link to the console from elsewhere: the page holds no data, and cannot be framed
	}
	return refuseCrossSite(r)
}

// refuseHost refuses a Host that is not allowed (DNS rebinding).
func (e *Emulator) refuseHost(r *http.Request) *vendorapi.WireError {
	if len(e.cfg.AllowedHosts) > 0 && !hostAllowed(r.Host, e.cfg.AllowedHosts) {
		return &vendorapi.WireError{Status: http.StatusForbidden, Reason: "host_not_allowed", Message: fmt.Sprintf("Host %q is not served here; allowed: %s (add a name with -allowed-hosts)", r.Host, strings.Join(e.cfg.AllowedHosts, ", "))}
	}
	return nil
}

// refuseCrossSite refuses a browser's request from a page of another
// origin, as the admin plane does.
func refuseCrossSite(r *http.Request) *vendorapi.WireError {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return &vendorapi.WireError{Status: http.StatusForbidden, Reason: "cross_origin", Message: fmt.Sprintf("the admin plane refuses cross-origin browser requests (Sec-Fetch-Site: %s)", site)}
	}
	if origin := r.Header.Get("Origin"); origin != "" && !sameOrigin(origin, r) {
		return &vendorapi.WireError{Status: http.StatusForbidden, Reason: "cross_origin", Message: fmt.Sprintf("the admin plane refuses cross-origin browser requests (Origin %q)", origin)}
	}
	return nil
}

// consoleNavigation reports whether r is a browser opening the web console's
// page as a document (a link followed, from any site): the page holds no
// data, its answers forbid framing, and every request it then makes is
// same-origin.
func consoleNavigation(r *http.Request, adminPrefix string) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.URL.Path == adminPrefix+"/ui" &&
		r.Header.Get("Sec-Fetch-Mode") == "navigate" && r.Header.Get("Sec-Fetch-Dest") == "document"
}

// hostAllowed reports whether the Host header names one of allowed, with any port.
func hostAllowed(host string, allowed []string) bool {
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	name = strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")
	if net.ParseIP(name) != nil {
		return true // an address, not a name: no DNS answer can point it elsewhere
	}
	for _, a := range allowed {
		if strings.EqualFold(name, a) {
			return true
		}
	}
	return false
}

// sameOrigin reports whether an Origin header names the origin the request
// was sent to: its scheme, and the host and port of its Host header.
func sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || u.Path != "" {
		return false // "null" (a sandboxed frame, a file) among others
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return u.Scheme == scheme && strings.EqualFold(u.Host, r.Host)
}

// InternalErrors is the number of requests answered 500 because of a bug in
// the emulator: a handler that panicked or returned an error no vendor knows.
// It stays zero; the test suites check that it does.
func (e *Emulator) InternalErrors() int64 { return e.internal.Load() }

// writeErrorFor renders err in the shape of the vendor that owns the path (the
// admin plane's shape for paths no vendor owns) and returns that vendor's name.
func (e *Emulator) writeErrorFor(w http.ResponseWriter, r *http.Request, err *vendorapi.WireError) string {
	for _, p := range e.prefixes {
		if r.URL.Path == p.prefix || strings.HasPrefix(r.URL.Path, p.prefix+"/") {
			p.vendor.WriteError(w, r, &newReqCtx(e.staticOps[r.URL.Path][r.Method]).Request, err)
			return p.vendor.Name()
		}
	}
	err.Write(w, adminErrorBody{Error: err.Reason, Message: err.Message})
	return ""
}

// checkUTF8 refuses text that is not UTF-8 in the query and in JSON and form
// bodies, which would otherwise be read with U+FFFD in place of the bad bytes
// and accepted as some other value.
func checkUTF8(r *http.Request, body []byte) error {
	notUTF8 := func(where string) error {
		return &vendorapi.WireError{Status: http.StatusBadRequest, Reason: "not_utf8", Message: where + " is not valid UTF-8"}
	}
	if !urlEncodedUTF8(r.URL.RawQuery) {
		return notUTF8("the query string")
	}
	if len(body) == 0 {
		return nil
	}
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	switch strings.TrimSpace(strings.ToLower(ct)) {
	case "application/json":
		if !utf8.Valid(body) {
			return notUTF8("the request body")
		}
	case "application/x-www-form-urlencoded":
		if !urlEncodedUTF8(body) {
			return notUTF8("the request body")
		}
	}
	return nil
}

// urlEncodedUTF8 reports whether every key and value of URL-encoded text
// decodes to UTF-8, as url.ParseQuery would decode them but without new
// strings: each decoded byte beyond ASCII goes through a rune accumulator that
// must be empty at every "&", "=" and at the end. Text url.ParseQuery refuses
// (a malformed escape, a ";") is left to the validator, as before.
func urlEncodedUTF8[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ';':
			return true
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return true
			}
		}
	}
	var pending [utf8.UTFMax]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '&' || c == '=':
			if n > 0 {
				return false // a rune cut short
			}
			continue
		case c == '%': // well formed: checked above
			c = unhex(s[i+1])<<4 | unhex(s[i+2])
			i += 2
		}
		if n == 0 && c < utf8.RuneSelf {
			continue
		}
		pending[n] = c
		n++
		if utf8.FullRune(pending[:n]) {
			if !utf8.Valid(pending[:n]) {
				return false
			}
			n = 0
		}
	}
	return n == 0
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// headerBytes approximates the size of the request line and headers as they
// arrived, as net/http's MaxHeaderBytes counts them.
func headerBytes(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + len(r.Host) + 16
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4 // ": " and CRLF
		}
	}
	return n
}

// prefixed is a vendor (or the admin plane) and the path prefix it is served under.
type prefixed struct {
	prefix string
	vendor vendorapi.Vendor
}

// changeNeedsJSON refuses an admin call that changes state (any method but
// GET and HEAD) unless it says its body is JSON (or YAML, for a scenario
// document). An HTML form or a no-CORS fetch from another site can send only
// text/plain, a form or multipart; a browser sends any other type across
// origins only after a CORS preflight, which is never granted.
func changeNeedsJSON(r *http.Request) error {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return nil
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json", "application/yaml", "application/x-yaml", "text/yaml":
		return nil
	}
	return &vendorapi.WireError{Status: http.StatusUnsupportedMediaType, Reason: "unsupported_media_type", Message: fmt.Sprintf("admin calls that change state need Content-Type: application/json (got %q)", r.Header.Get("Content-Type"))}
}
