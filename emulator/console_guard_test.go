package emulator_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenemu/tokenemu/emulator"
)

// A link to the console from another site opens it (the page holds no data
// and cannot be framed); the same browser request to anything else of the
// admin plane, or a script's request for the page, is still refused.
func TestConsoleOpensFromALinkElsewhere(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	nav := http.Header{"Sec-Fetch-Site": {"cross-site"}, "Sec-Fetch-Mode": {"navigate"}, "Sec-Fetch-Dest": {"document"}}
	if resp, body := e.do("GET", "/_emulator/ui", nav, ""); resp.StatusCode != 200 || !strings.Contains(string(body), "<title>tokenemu console</title>") {
		t.Errorf("a cross-site link to the console: %d", resp.StatusCode)
	}
	for _, c := range []struct {
		path   string
		header http.Header
	}{
		{"/_emulator/tokens", nav},
		{"/_emulator/ui/app.js", nav},
		{"/_emulator/ui", http.Header{"Sec-Fetch-Site": {"cross-site"}, "Sec-Fetch-Mode": {"cors"}, "Sec-Fetch-Dest": {"empty"}}},
		{"/_emulator/ui", http.Header{"Sec-Fetch-Site": {"cross-site"}, "Sec-Fetch-Mode": {"navigate"}, "Sec-Fetch-Dest": {"iframe"}}},
	} {
		if resp, _ := e.do("GET", c.path, c.header, ""); resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s with %v: %d, want 403", c.path, c.header, resp.StatusCode)
		}
	}
}

// With an admin token: a wrong one is journaled even on an operation whose
// successes are not (the clock); the token is redacted from paths however
// short it is; the OpenAPI documents are public.
func TestAdminTokenGuessesAreJournaledAndShortTokensRedacted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{AdminToken: "s3cret"})
	wrong := http.Header{"Authorization": {"Bearer guess"}}
	if resp, _ := e.do("GET", "/_emulator/clock", wrong, ""); resp.StatusCode != 401 {
		t.Fatalf("a wrong admin token: %d", resp.StatusCode)
	}
	e.do("GET", "/passport/s3cret", nil, "")
	if resp, _ := e.do("GET", "/_emulator/openapi/passport.yaml", nil, ""); resp.StatusCode != 200 {
		t.Errorf("an OpenAPI document without the admin token: %d, want 200", resp.StatusCode)
	}
	// The journal records a request just after its answer: wait for both.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	es := e.emu.WaitForRequests(ctx, emulator.JournalFilter{}, 2)
	var refused bool
	for _, en := range es {
		if en.Operation == "getClock" && en.Status == 401 {
			refused = true
		}
		if strings.Contains(en.Path, "s3cret") {
			t.Errorf("the admin token in a journaled path: %s", en.Path)
		}
	}
	if !refused {
		t.Errorf("a refused getClock is not journaled: %+v", es)
	}
}
