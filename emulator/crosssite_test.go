package emulator_test

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/tokenemu/tokenemu/emulator"
)

// A web page the QA engineer opens must not drive the emulator: not by a
// cross-site form or fetch, not by a DNS name of its own pointed at
// 127.0.0.1. Before, POST /_emulator/reset with Content-Type text/plain and
// Origin https://evil.example answered 200, as did any Host.
func TestAdminRefusesWhatABrowserPageCouldSend(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{AllowedHosts: append([]string{"emu.test"}, emulator.LoopbackHosts()...)})
	start := e.emu.Clock().Freeze()
	changes := []struct{ method, path, body string }{
		{"POST", "/_emulator/reset", ""},
		{"POST", "/_emulator/clock/resume", ""},
		{"POST", "/_emulator/clock/advance", `{"duration":"24h"}`},
		{"POST", "/_emulator/scenarios", `{"name":"vendor-outage"}`},
		{"DELETE", "/_emulator/journal", ""},
	}
	for _, c := range changes {
		for _, h := range []http.Header{
			hdr("Content-Type", "text/plain"),                                         // a form or no-CORS fetch
			hdr("Content-Type", "application/x-www-form-urlencoded"),                  // an HTML form
			hdr("Content-Type", "application/json", "Origin", "https://evil.example"), // cross-origin
			hdr("Content-Type", "application/json", "Origin", "null"),                 // a sandboxed frame
			hdr("Content-Type", "application/json", "Sec-Fetch-Site", "cross-site"),   // what browsers say
			hdr("Content-Type", "application/json", "Sec-Fetch-Site", "same-site"),    // another port of the same site
			hdr("Content-Type", "application/json", "Host", "attacker.example:8080"),  // DNS rebinding
			hdr("Content-Type", "application/json", "Host", "attacker.example", "Origin", "http://attacker.example"),
		} {
			resp, b := e.do(c.method, c.path, h, c.body)
			if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusUnsupportedMediaType {
				t.Errorf("%s %s with %v: %d %s, want 403 or 415", c.method, c.path, h, resp.StatusCode, b)
			}
			if !strings.Contains(string(b), `"error"`) {
				t.Errorf("%s %s with %v: not the admin shape: %s", c.method, c.path, h, b)
			}
		}
	}
	if now := e.emu.Clock().Now(); !now.Equal(start) || !e.emu.Clock().Frozen() {
		t.Errorf("the clock changed: %v (frozen %v), want %v frozen", now, e.emu.Clock().Frozen(), start)
	}
	if n := len(e.emu.ActiveScenarios()); n != 0 {
		t.Errorf("%d scenarios became active", n)
	}
	// The emulator's own names, same-origin requests and the CLI's plain
	// requests (no Origin) go through.
	port := e.srv.URL[strings.LastIndex(e.srv.URL, ":"):]
	for _, h := range []http.Header{
		hdr("Content-Type", "application/json"),
		hdr("Content-Type", "application/json", "Host", "localhost"+port, "Origin", "http://localhost"+port, "Sec-Fetch-Site", "same-origin"),
		hdr("Content-Type", "application/json; charset=utf-8", "Host", "[::1]"+port),
		hdr("Content-Type", "application/json", "Host", "EMU.test"+port),
		hdr("Content-Type", "application/json", "Sec-Fetch-Site", "none"), // typed in the address bar
	} {
		if resp, b := e.do("POST", "/_emulator/clock/freeze", h, ""); resp.StatusCode != http.StatusOK {
			t.Errorf("freeze with %v: %d %s", h, resp.StatusCode, b)
		}
	}
	// A vendor call by a foreign name is refused in the vendor's shape.
	resp, b := e.do("POST", "/passkit/login", hdr("Content-Type", "application/json", "Host", "attacker.example"), `{}`)
	if resp.StatusCode != http.StatusForbidden || reason(resp) != "host_not_allowed" || !strings.Contains(string(b), `"error"`) {
		t.Errorf("vendor call with a foreign Host: %d %s %s", resp.StatusCode, reason(resp), b)
	}
}

// No answer, preflight or not, grants another origin anything.
func TestNoCORS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	for _, c := range []struct{ method, path string }{
		{"OPTIONS", "/_emulator/reset"},
		{"OPTIONS", "/passport/v1/iam/oauth/tokens"},
		{"GET", "/_emulator/clock"},
		{"POST", "/passkit/login"},
	} {
		resp, _ := e.do(c.method, c.path, hdr("Origin", "https://evil.example", "Access-Control-Request-Method", "POST",
			"Content-Type", "application/json"), "")
		for k := range resp.Header {
			if strings.HasPrefix(k, "Access-Control-") {
				t.Errorf("%s %s: answer carries %s: %v", c.method, c.path, k, resp.Header[k])
			}
		}
	}
}

// A listener of n holds n connections; the next is accepted once one closes.
func TestLimitListener(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lim := emulator.LimitListener(ln, 2)
	defer lim.Close()
	accepted := make(chan net.Conn, 3)
	go func() {
		for {
			c, err := lim.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	for range 3 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	first, second := <-accepted, <-accepted
	select {
	case <-accepted:
		t.Fatal("a third connection was accepted while two were open")
	default:
	}
	_ = first.Close()
	third := <-accepted // accepted once a slot is free
	_ = second.Close()
	_ = third.Close()
}
