package emulator_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/passport"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
	"github.com/tokenemu/tokenemu/scenarios"
)

// benchRequest serves one request through the whole handler (routing,
// validation, authentication, the handler, the journal) without a network.
func benchRequest(b *testing.B, h http.Handler, method, path string, header http.Header, body string, want int) {
	b.Helper()
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(method, path, nil)
		if body != "" {
			req = httptest.NewRequest(method, path, strings.NewReader(body))
		}
		req.Header = header
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != want {
			b.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body)
		}
	}
}

func newBenchEmulator(b *testing.B, cfg emulator.Config) *emulator.Emulator {
	b.Helper()
	if _, set := cfg.Settings["brass.rate-limit"]; !set {
		cfg.Settings = maps.Clone(cfg.Settings)
		if cfg.Settings == nil {
			cfg.Settings = map[string]string{}
		}
		cfg.Settings["brass.rate-limit"] = "0"
	}
	emu, err := emulator.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return emu
}

// BenchmarkBearer: an authenticated GET per vendor (W2's work without the network).
func BenchmarkBearer(b *testing.B) {
	emu := newBenchEmulator(b, emulator.Config{})
	h := emu.Handler()
	cases := []struct {
		name, path string
		header     http.Header
	}{
		{"passport", "/passport/v1/core/accounts", http.Header{"Authorization": {"Bearer " + issueToken(b, emu, "passport", "demo-client", "")}}},
		{"passkit-jwt", "/passkit/user/profile", http.Header{"Authorization": {issueToken(b, emu, "passkit", "demo@passkit.test", "")}}},
		{"passkit-longlived", "/passkit/user/profile", http.Header{"Authorization": {issueToken(b, emu, "passkit", "demo@passkit.test", "longlived")}}},
		{"brass-jwt", "/brass/banking/accounts", http.Header{"Authorization": {"Bearer " + issueToken(b, emu, "brass", "demo@brass.test", "")}}},
		{"brass-pat", "/brass/banking/accounts", http.Header{"Authorization": {"Bearer " + issueToken(b, emu, "brass", "demo@brass.test", "pat")}}},
		{"teletracker", "/teletracker/reports/call-data", http.Header{"Authorization": {"Bearer " + issueToken(b, emu, "teletracker", "demo@teletracker.test", "")}}},
	}
	// A route with a path parameter (W2's parameterized workload).
	res, err := emu.IssueToken(context.Background(), vendorapi.IssueRequest{Vendor: "passport", Principal: "demo-client"})
	if err != nil {
		b.Fatal(err)
	}
	cases = append(cases, struct {
		name, path string
		header     http.Header
	}{"passport-token-id", "/passport/v1/iam/oauth/tokens/" + res.Record.ID, http.Header{"Authorization": {"Bearer " + res.Token}}})
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) { benchRequest(b, h, "GET", c.path, c.header, "", 200) })
	}
}

// BenchmarkIssue: each vendor's issuing call (W1's work without the network).
func BenchmarkIssue(b *testing.B) {
	emu := newBenchEmulator(b, emulator.Config{})
	h := emu.Handler()
	jsonCT := http.Header{"Content-Type": {"application/json"}}
	brassUser := issueToken(b, emu, "brass", "demo@brass.test", "")
	cases := []struct {
		name, path string
		header     http.Header
		body       string
		want       int
	}{
		{"passport", "/passport/v1/iam/oauth/tokens", jsonCT, `{"client_id":"demo-client","client_secret":"demo-secret","grant_type":"client_credentials"}`, 200},
		{"passkit", "/passkit/login", jsonCT, `{"username":"demo@passkit.test","password":"passkit-demo"}`, 200},
		{"brass-pat", "/brass/auth/personal-access-tokens", http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + brassUser}}, `{"name":"bench","role":"accountant"}`, 201},
		{"teletracker", "/teletracker/auth/login", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, "username=demo%40teletracker.test&password=teletracker-demo", 200},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) { benchRequest(b, h, "POST", c.path, c.header, c.body, c.want) })
	}
}

// BenchmarkValidationReject: the cost of refusing a request whose body fails the
// OpenAPI validation (the validation step alone, before any handler).
func BenchmarkValidationReject(b *testing.B) {
	emu := newBenchEmulator(b, emulator.Config{})
	benchRequest(b, emu.Handler(), "POST", "/passkit/login", http.Header{"Content-Type": {"application/json"}}, `{"username":1}`, 400)
}

// BenchmarkScenarios: an authenticated GET with 0 and 50 active rules that do not match it.
//
// rules=max is the most rules the emulator holds active, each matching the
// request's vendor, operation and path (a pattern whose every segment but
// the literals needs the automaton), and failing only on the principal: the
// most work a request of W2 can be made to do.
func BenchmarkScenarios(b *testing.B) {
	for _, n := range []int{0, 1, 25, scenarios.MaxActiveRules} {
		name := fmt.Sprintf("rules=%d", n)
		if n == scenarios.MaxActiveRules {
			name = "rules=max"
		}
		b.Run(name, func(b *testing.B) {
			emu := newBenchEmulator(b, emulator.Config{})
			for first := 0; first < n; first += 100 {
				var doc strings.Builder
				fmt.Fprintf(&doc, "name: many-%d\nrules:\n", first)
				for i := first; i < min(n, first+100); i++ {
					if n != scenarios.MaxActiveRules {
						fmt.Fprintf(&doc, "  - match: {vendor: passport, operation: listAccounts, header: {X-Run: \"%d\"}}\n    action: {status: 500}\n", i)
						continue
					}
					fmt.Fprintf(&doc, "  - match: {vendor: passport, operation: listAccounts, path: \"/passport/v?/c*e/a*c*s\", principal: nobody-%d}\n    action: {status: 500}\n", i)
				}
				list, err := scenarios.Parse([]byte(doc.String()))
				if err != nil {
					b.Fatal(err)
				}
				if err := emu.ApplyScenario(list[0], false); err != nil {
					b.Fatal(err)
				}
			}
			tok := issueToken(b, emu, "passport", "demo-client", "")
			benchRequest(b, emu.Handler(), "GET", "/passport/v1/core/accounts", http.Header{"Authorization": {"Bearer " + tok}}, "", 200)
		})
	}
}

// BenchmarkLiveTokens issues a million live tokens (mixed vendors) and
// reports the heap they take.
func BenchmarkLiveTokens(b *testing.B) {
	const n = 1_000_000
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		emu := newBenchEmulator(b, emulator.Config{JournalSize: 1})
		b.StartTimer()
		vendors := []vendorapi.IssueRequest{
			{Vendor: "passport", Principal: "demo-client"},
			{Vendor: "passkit", Principal: "demo@passkit.test", Kind: "longlived"},
			{Vendor: "brass", Principal: "demo@brass.test", Kind: "pat"},
			{Vendor: "teletracker", Principal: "demo@teletracker.test"}, // a token and its refresh token
		}
		live := 0
		for i := 0; live < n; i++ {
			req := vendors[i%len(vendors)]
			if _, err := emu.IssueToken(context.Background(), req); err != nil {
				b.Fatal(err)
			}
			live++
			if req.Vendor == "teletracker" {
				live++
			}
		}
		b.StopTimer()
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		heap := after.HeapAlloc - before.HeapAlloc
		b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
		b.ReportMetric(float64(heap)/float64(live), "B/token")
		b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/(1<<20), "heap-inuse-spans-MiB")
		runtime.KeepAlive(emu)
		b.StartTimer()
	}
}

// BenchmarkListingAmongUnrelatedTokens: Passport's token list and the admin
// listing of one principal, with 10 tokens of that principal, beside no other
// token and beside 1,000,000 of another client. Before, both walked the whole
// store (100 Passport listings took 40 s among 221,000 tokens).
func BenchmarkListingAmongUnrelatedTokens(b *testing.B) {
	for _, unrelated := range []int{0, 1_000_000} {
		emu := newBenchEmulator(b, emulator.Config{JournalSize: 1})
		var tok string
		for range 10 {
			tok = issueToken(b, emu, "passport", passport.DefaultClientID, "")
		}
		for range unrelated {
			issueToken(b, emu, "passport", passport.LimitedClientID, "")
		}
		h := emu.Handler()
		b.Run(fmt.Sprintf("passport/unrelated=%d", unrelated), func(b *testing.B) {
			benchRequest(b, h, "GET", "/passport/v1/iam/oauth/tokens", http.Header{"Authorization": {"Bearer " + tok}}, "", 200)
		})
		b.Run(fmt.Sprintf("admin/unrelated=%d", unrelated), func(b *testing.B) {
			benchRequest(b, h, "GET", "/_emulator/tokens?vendor=passport&principal="+passport.DefaultClientID, nil, "", 200)
		})
	}
}

// BenchmarkListingABusyClient: Passport's token list (a page of 10) for a
// client with 200,000 live tokens: the cost of counting and ordering them.
// Before, every call made all of them into tokens (0.36 s, and 3.8 GB with
// 16 calls at once).
func BenchmarkListingABusyClient(b *testing.B) {
	emu := newBenchEmulator(b, emulator.Config{JournalSize: 1})
	for range 200_000 {
		issueToken(b, emu, "passport", passport.DefaultClientID, "")
	}
	tok := issueToken(b, emu, "passport", passport.DefaultClientID, "")
	benchRequest(b, emu.Handler(), "GET", "/passport/v1/iam/oauth/tokens", http.Header{"Authorization": {"Bearer " + tok}}, "", 200)
}
