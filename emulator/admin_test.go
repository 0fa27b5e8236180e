package emulator_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/openapi"
)

type clockResp struct {
	Now    string `json:"now"`
	Frozen bool   `json:"frozen"`
}

func (e *env) clock(method, path, body string) (int, clockResp) {
	e.t.Helper()
	h := http.Header{}
	if method != http.MethodGet { // every change says JSON
		h.Set("Content-Type", "application/json")
	}
	resp, b := e.do(method, "/_emulator"+path, h, body)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, clockResp{}
	}
	return resp.StatusCode, decode[clockResp](e.t, b)
}

func TestAdminHealthz(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	resp, body := e.do("GET", "/_emulator/healthz", nil, "")
	if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != `{"status":"ok"}` {
		t.Errorf("healthz: %d %s", resp.StatusCode, body)
	}
}

func TestAdminClock(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	_, c := e.clock("POST", "/clock/freeze", "")
	if !c.Frozen {
		t.Fatalf("freeze: %+v", c)
	}
	start, err := time.Parse(time.RFC3339Nano, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		body string
		want time.Duration
	}{
		{`{"duration":"61m"}`, 61 * time.Minute},
		{`{"duration":"24h"}`, 24 * time.Hour},
		{`{"duration":"30s"}`, 30 * time.Second},
		{`{"seconds":3600}`, time.Hour},
	}
	total := time.Duration(0)
	for _, s := range steps {
		total += s.want
		code, c := e.clock("POST", "/clock/advance", s.body)
		if code != 200 {
			t.Fatalf("advance %s: %d", s.body, code)
		}
		if got, _ := time.Parse(time.RFC3339Nano, c.Now); !got.Equal(start.Add(total)) {
			t.Errorf("after %s: now %s, want %s", s.body, c.Now, start.Add(total).Format(time.RFC3339Nano))
		}
	}
	if _, c = e.clock("GET", "/clock", ""); c.Now != start.Add(total).Format(time.RFC3339Nano) || !c.Frozen {
		t.Errorf("get: %+v", c)
	}
	if _, c = e.clock("POST", "/clock/set", `{"time":"2030-05-06T07:08:09Z"}`); c.Now != "2030-05-06T07:08:09Z" {
		t.Errorf("set: %+v", c)
	}
	if !e.emu.Clock().Now().Equal(time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)) {
		t.Errorf("Go clock after HTTP set: %v", e.emu.Clock().Now())
	}
	if _, c = e.clock("POST", "/clock/resume", ""); c.Frozen {
		t.Errorf("resume: %+v", c)
	}

	bad := []struct{ path, body string }{
		{"/clock/advance", `{"duration":"soon"}`},
		{"/clock/advance", `{"duration":"-5m"}`},
		{"/clock/advance", `{}`},
		{"/clock/advance", `{"duration":"1m","seconds":1}`},
		{"/clock/advance", `{"seconds":-1}`},
		{"/clock/advance", `{"seconds":"ten"}`},
		{"/clock/advance", `{"days":1}`},
		{"/clock/advance", `not json`},
		{"/clock/advance", ``},
		{"/clock/set", `{"time":"yesterday"}`},
		{"/clock/set", `{}`},
	}
	for _, b := range bad {
		h := hdr("Content-Type", "application/json")
		resp, body := e.do("POST", "/_emulator"+b.path, h, b.body)
		er := decode[map[string]string](t, body)
		if resp.StatusCode != 400 || er["error"] == "" || er["message"] == "" {
			t.Errorf("POST %s %s: %d %s, want 400 with error and message", b.path, b.body, resp.StatusCode, body)
		}
	}
}

func TestAdminReset(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	tok := e.demoToken()
	e.clock("POST", "/clock/freeze", "")
	e.clock("POST", "/clock/set", `{"time":"2040-01-01T00:00:00Z"}`)
	resp, body := e.do("POST", "/_emulator/reset", hdr("Content-Type", "application/json"), "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"reset"`) {
		t.Fatalf("reset: %d %s", resp.StatusCode, body)
	}
	if resp, _ = e.do("GET", "/passport/v1/core/accounts", bearer(tok.AccessToken), ""); resp.StatusCode != 401 {
		t.Errorf("token after reset: %d, want 401", resp.StatusCode)
	}
	if c := e.emu.Clock(); c.Frozen() || time.Since(c.Now()) > time.Minute || time.Since(c.Now()) < -time.Minute {
		t.Errorf("clock after reset: %v frozen=%v, want real now, running", c.Now(), c.Frozen())
	}
	// Fixtures are back: the default client still logs in.
	e.demoToken()
}

func TestAdminOpenAPIDocuments(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	for _, name := range openapi.Names() {
		resp, body := e.do("GET", "/_emulator/openapi/"+name+".yaml", nil, "")
		raw, _ := openapi.Raw(name)
		if resp.StatusCode != 200 || string(body) != string(raw) || resp.Header.Get("Content-Type") != "application/yaml" {
			t.Errorf("%s: %d %s, %d bytes", name, resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
		}
	}
	if resp, _ := e.do("GET", "/_emulator/openapi/nope.yaml", nil, ""); resp.StatusCode != 404 {
		t.Errorf("unknown document: %d, want 404", resp.StatusCode)
	}
	if resp, _ := e.do("GET", "/_emulator/openapi/Bad-Name.yaml", nil, ""); resp.StatusCode != 400 {
		t.Errorf("bad document name: %d, want 400", resp.StatusCode)
	}
}

func TestAdminToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{AdminToken: "s3cret-admin"})
	if resp, _ := e.do("GET", "/_emulator/healthz", nil, ""); resp.StatusCode != 200 {
		t.Errorf("healthz without token: %d, want 200", resp.StatusCode)
	}
	for _, h := range []http.Header{nil, hdr("Authorization", "Bearer wrong"), hdr("Authorization", "s3cret-admin"), hdr("Authorization", "Basic czNjcmV0LWFkbWlu")} {
		resp, body := e.do("POST", "/_emulator/reset", h, "")
		if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" || !strings.Contains(string(body), "admin_token_required") {
			t.Errorf("reset with %v: %d %s", h, resp.StatusCode, body)
		}
	}
	if resp, body := e.do("GET", "/_emulator/clock", hdr("Authorization", "Bearer s3cret-admin"), ""); resp.StatusCode != 200 {
		t.Errorf("clock with token: %d %s", resp.StatusCode, body)
	}
	// Vendor routes are not behind the admin token.
	e.demoToken()
}

func TestUnknownRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	cases := []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/", 404, ""},
		{"GET", "/nope", 404, ""},
		{"GET", "/_emulator/nope", 404, ""},
		{"DELETE", "/_emulator/clock", 405, "GET, HEAD"},
		{"PATCH", "/passport/v1/iam/oauth/tokens", 405, "GET, HEAD, POST"},
		{"GET", "/passport", 404, ""},
	}
	for _, c := range cases {
		resp, body := e.do(c.method, c.path, nil, "")
		if resp.StatusCode != c.status || resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(string(body), c.path) {
			t.Errorf("%s %s: %d %s %s", c.method, c.path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		if got := resp.Header.Get("Allow"); got != c.allow {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, got, c.allow)
		}
	}

}
