// Package console is the QA web console served at /_emulator/ui: one page,
// one script and one style sheet, plain HTML, CSS and JavaScript with no
// build step, embedded in the binary, so that nothing is fetched from
// elsewhere at run time. The page drives the admin API (the operations of
// openapi/admin.yaml) and nothing else.
package console

import (
	"embed"
	"net/http"
	"path"
)

//go:embed index.html app.js app.css
var files embed.FS

// types are the files' content types.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	}
	return "text/html; charset=utf-8"
}

// SecurityPolicy is the Content-Security-Policy of every console answer:
// only the console's own scripts, styles and API, no inline script, no
// framing, no form posted anywhere.
const SecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// Serve writes the console's file name ("index.html", "app.js", "app.css")
// and reports whether there is one.
func Serve(w http.ResponseWriter, name string) bool {
	b, err := files.ReadFile(name)
	if err != nil {
		return false
	}
	h := w.Header()
	h.Set("Content-Type", contentType(name))
	h.Set("Content-Security-Policy", SecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return true
}

// Size is the weight of the whole console in bytes (page, script, style).
func Size() int {
	n := 0
	for _, f := range []string{"index.html", "app.js", "app.css"} {
		b, _ := files.ReadFile(f)
		n += len(b)
	}
	return n
}
