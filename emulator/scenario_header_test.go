package emulator_test

import (
	"context"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/brass"
	"github.com/tokenemu/tokenemu/emulator/passkit"
	"github.com/tokenemu/tokenemu/emulator/passport"
	"github.com/tokenemu/tokenemu/emulator/store"
	"github.com/tokenemu/tokenemu/emulator/teletracker"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
	"github.com/tokenemu/tokenemu/openapi"
	"github.com/tokenemu/tokenemu/scenarios"
)

// Anyone who reaches a vendor can send X-Tokenemu-Scenario. Whatever built-in
// it names, on whatever operation of whatever vendor, it may act on that one
// request only: the clock does not move and no other token changes. Built-ins
// with an effect beyond the request are refused with a 400 in the vendor's
// shape that says why.
func TestScenarioHeaderActsOnItsRequestOnly(t *testing.T) {
	t.Parallel()
	builtins, err := scenarios.Builtins()
	if err != nil {
		t.Fatal(err)
	}
	global := 0
	for _, b := range builtins {
		if b.PerRequest() != nil {
			global++
		}
	}
	if global == 0 {
		t.Fatal("no built-in has a global effect: the refusal is not exercised")
	}
	e := newEnv(t, emulator.Config{Settings: map[string]string{"brass.rate-limit": "0"}})
	start := e.emu.Clock().Freeze()
	// One live token of each vendor's default principal, which an effect on
	// "principal" would reach.
	for _, ir := range []vendorapi.IssueRequest{
		{Vendor: "passport", Principal: passport.DefaultClientID},
		{Vendor: "passkit", Principal: passkit.DefaultUsername},
		{Vendor: "brass", Principal: brass.DefaultUsername},
		{Vendor: "teletracker", Principal: teletracker.DefaultUsername},
	} {
		if _, err := e.emu.IssueToken(context.Background(), ir); err != nil {
			t.Fatal(err)
		}
	}
	before := len(tokensOf(t, e.emu, store.Query{}))
	sent := 0
	for _, vendor := range openapi.Names() {
		if vendor == "admin" {
			continue
		}
		doc, err := openapi.Shared(vendor)
		if err != nil {
			t.Fatal(err)
		}
		prefix := doc.Servers[0].URL
		for _, path := range doc.Paths.InMatchingOrder() {
			ops := doc.Paths.Value(path).Operations()
			methods := slices.Sorted(func(yield func(string) bool) {
				for m := range ops {
					if !yield(m) {
						return
					}
				}
			})
			for _, method := range methods {
				p := prefix + strings.NewReplacer("{", "x", "}", "x").Replace(path)
				for _, b := range builtins {
					if delays(b) {
						continue // real-time delays: TestScenarioSlowLogin covers them
					}
					h := hdr(emulator.ScenarioHeader, b.Name, "Content-Type", "application/json",
						"Authorization", "Basic ZGVtbzpkZW1v")
					body := ""
					if method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
						body = "{}"
					}
					resp, got := e.do(method, p, h, body)
					sent++
					if b.PerRequest() != nil {
						if resp.StatusCode != http.StatusBadRequest || reason(resp) != "scenario_not_per_request" ||
							!strings.Contains(string(got), "reaches beyond one request") {
							t.Errorf("%s %s with %s: %d %s %s, want a 400 scenario_not_per_request", method, p, b.Name,
								resp.StatusCode, reason(resp), got)
						}
					} else if resp.StatusCode >= 500 && resp.StatusCode != http.StatusServiceUnavailable {
						t.Errorf("%s %s with %s: %d %s", method, p, b.Name, resp.StatusCode, got)
					}
				}
			}
		}
	}
	if now := e.emu.Clock().Now(); !now.Equal(start) {
		t.Errorf("the clock moved from %v to %v", start, now)
	}
	tokens := tokensOf(t, e.emu, store.Query{})
	if len(tokens) != before {
		t.Errorf("%d tokens, want the %d issued", len(tokens), before)
	}
	for _, ti := range tokens {
		if ti.State != "active" {
			t.Errorf("%s token %s of %s is %s after the header requests", ti.Vendor, ti.ID, ti.Principal, ti.State)
		}
	}
	t.Logf("%d requests, %d built-ins of which %d refused in the header", sent, len(builtins), global)
}

// The built-in listing says which built-ins the header accepts.
func TestBuiltinListingSaysPerRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	var perRequest, refused []string
	for _, b := range e.emu.BuiltinScenarios() {
		if b.PerRequest {
			perRequest = append(perRequest, b.Name)
		} else {
			refused = append(refused, b.Name)
		}
	}
	sort.Strings(refused)
	if !slices.Equal(refused, []string{"clock-skew"}) || !slices.Contains(perRequest, "vendor-outage") {
		t.Errorf("refused in the header: %v; accepted: %v", refused, perRequest)
	}
}

func delays(s scenarios.Scenario) bool {
	for _, r := range s.Rules {
		if r.Action.Delay != 0 {
			return true
		}
	}
	return false
}
