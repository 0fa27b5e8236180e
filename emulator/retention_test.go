package emulator_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/brass"
	"github.com/tokenemu/tokenemu/emulator/passkit"
	"github.com/tokenemu/tokenemu/emulator/passport"
	"github.com/tokenemu/tokenemu/emulator/teletracker"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
)

// A revoked or expired token keeps its vendor answer (token_expired,
// token_revoked) for the retention window, and is swept after it: then it is
// unknown, and gone from the listing.
func TestRetentionSweepsOldTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{Retention: time.Hour})
	e.emu.Clock().Freeze()
	expired, revoked := e.demoToken().AccessToken, e.demoToken().AccessToken
	e.admin("POST", "/tokens/expire", fmt.Sprintf(`{"token":%q}`, expired))
	e.admin("POST", "/tokens/revoke", fmt.Sprintf(`{"token":%q}`, revoked))
	check := func(when string, wantExpired, wantRevoked string) {
		t.Helper()
		for tok, want := range map[string]string{expired: wantExpired, revoked: wantRevoked} {
			if resp, _ := e.do("GET", "/passport/v1/core/accounts", bearer(tok), ""); resp.StatusCode != 401 || reason(resp) != want {
				t.Errorf("%s: %d %s, want 401 %s", when, resp.StatusCode, reason(resp), want)
			}
		}
	}
	check("within the window", "token_expired", "token_revoked")
	if _, err := e.emu.Clock().Advance(59 * time.Minute); err != nil {
		t.Fatal(err)
	}
	e.demoToken() // issuing sweeps a little
	check("a minute before the window ends", "token_expired", "token_revoked")
	if _, err := e.emu.Clock().Advance(2 * time.Minute); err != nil {
		t.Fatal(err)
	}
	for range 3 { // each issue looks at a few records: enough to pass the old ones
		e.demoToken()
	}
	check("past the window", "token_unknown", "token_unknown")
	// An idle store is swept when the clock is moved through the admin plane.
	idle := newEnv(t, emulator.Config{Retention: time.Hour})
	for range 100 {
		idle.emu.IssueToken(context.Background(), vendorapi.IssueRequest{Vendor: "passport", Principal: passport.DefaultClientID})
	}
	idle.admin("POST", "/clock/advance", `{"duration":"26h"}`)
	if n := statusOf(t, idle.emu).Tokens; n != 0 {
		t.Errorf("after advancing an idle emulator past expiry and retention: %d tokens held", n)
	}
	_, body := e.admin("GET", "/tokens?vendor=passport", "")
	if got := decode[struct{ Total int }](t, body).Total; got != 4 {
		t.Errorf("listing after the sweep: %d tokens, want the 4 live ones: %s", got, body)
	}
}

// Accounts made through /user/new are capped; so are PassKit members and
// Brass payments.
func TestVendorResourcesAreBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{Settings: map[string]string{"passkit.max-users": "3", "brass.rate-limit": "0"}})
	for i := range 4 {
		resp, body := e.do("POST", "/passkit/user/new", hdr("Content-Type", "application/json"),
			fmt.Sprintf(`{"username":"u%d@x.test","password":"pw-%d","companyName":"c","emailAddress":"u%d@x.test"}`, i, i, i))
		if i < 3 && resp.StatusCode != 200 {
			t.Fatalf("user %d: %d %s", i, resp.StatusCode, body)
		}
		if i == 3 && (resp.StatusCode != 409 || reason(resp) != "limit_reached" || !strings.Contains(string(body), "-passkit-max-users")) {
			t.Errorf("one user too many: %d %s %s", resp.StatusCode, reason(resp), body)
		}
	}
	// Members and payments: through the handler, to reach 10,000 quickly.
	pk := issueToken(t, e.emu, "passkit", passkit.DefaultUsername, "")
	br := issueToken(t, e.emu, "brass", brass.DefaultUsername, "")
	for _, c := range []struct {
		path, auth, body string
		max              int
		ok               int
	}{
		{"/passkit/members/member", pk, `{"programId":"p","tierId":"t"}`, passkit.MaxMembers, 200},
		{"/brass/banking/payments", "Bearer " + br, `{"amount":100,"recipient":{"account_number":"0123456789","bank_code":"058"}}`, brass.MaxPayments, 201},
	} {
		h := e.emu.Handler()
		for i := 0; ; i++ {
			req := httptest.NewRequest("POST", c.path, strings.NewReader(c.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", c.auth)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code == c.ok {
				if i >= c.max {
					t.Fatalf("%s: %d made, more than the bound %d", c.path, i+1, c.max)
				}
				continue
			}
			// The fixtures' own members and payments count too: the bound
			// is reached a few requests early.
			if w.Code != http.StatusConflict || w.Header().Get(vendorapi.ReasonHeader) != "limit_reached" || i < c.max-20 {
				t.Errorf("%s after %d made: %d %s", c.path, i, w.Code, w.Body)
			}
			break
		}
	}
}

// A revoked or expired JWT keeps its record past the retention window while
// its own exp has not passed it: without the record, the JWT would verify
// (by its signature) and work again.
func TestSweepKeepsRevokedJWTsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{Retention: time.Hour})
	e.emu.Clock().Freeze()
	for _, v := range []struct{ vendor, principal, path, scheme string }{
		{"passkit", passkit.DefaultUsername, "/passkit/user/profile", ""},
		{"brass", brass.DefaultUsername, "/brass/banking/accounts", "Bearer "},
	} {
		res, err := e.emu.IssueToken(context.Background(), vendorapi.IssueRequest{Vendor: v.vendor, Principal: v.principal, Lifetime: 30 * 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		e.admin("POST", "/tokens/revoke", fmt.Sprintf(`{"token":%q}`, res.Token))
		if _, err := e.emu.Clock().Advance(8 * 24 * time.Hour); err != nil {
			t.Fatal(err)
		}
		for range 20 { // issuing sweeps
			e.emu.IssueToken(context.Background(), vendorapi.IssueRequest{Vendor: "passport", Principal: passport.DefaultClientID})
		}
		if resp, body := e.do("GET", v.path, hdr("Authorization", v.scheme+res.Token), ""); resp.StatusCode != 401 {
			t.Errorf("%s: a JWT revoked 8 days ago (retention 1 h, exp in 22 days): %d %s, want 401", v.vendor, resp.StatusCode, body)
		}
	}
}

// A page past the end is empty, however large its number: (page-1)*size
// overflowed and panicked (500).
func TestPassportListPageOverflow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	tok := e.demoToken().AccessToken
	for _, q := range []string{"page_params.page_number=9223372036854775807", "page_params.page_number=922337203685477580&page_params.page_size=100"} {
		resp, body := e.do("GET", "/passport/v1/iam/oauth/tokens?"+q, bearer(tok), "")
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"tokens":[]`) {
			t.Errorf("%s: %d %s", q, resp.StatusCode, body)
		}
	}
}

// Brass idempotency keys are bounded in length.
func TestBrassIdempotencyKeyLength(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	h := hdr("Content-Type", "application/json", "Authorization", "Bearer "+brass.DefaultAppKey, "x-idempotency-key", strings.Repeat("k", 256))
	if resp, body := e.do("POST", "/brass/auth/login", h, `{}`); resp.StatusCode != 422 || !strings.Contains(string(body), "at most 255") {
		t.Errorf("a 256-byte key: %d %s", resp.StatusCode, body)
	}
}

// Passport's list pages the same way whatever page is asked, in both orders.
func TestPassportListPagesThrough(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	e.emu.Clock().Freeze() // every token at one instant: the order falls to the ids
	tok := e.demoToken().AccessToken
	for range 24 {
		e.demoToken()
	}
	for _, dir := range []string{"ASC", "DESC"} {
		seen := map[string]bool{}
		prev := ""
		for page := 1; page <= 4; page++ {
			_, body := e.do("GET", fmt.Sprintf("/passport/v1/iam/oauth/tokens?page_params.page_size=7&page_params.page_number=%d&order_params.order_direction=%s", page, dir), bearer(tok), "")
			got := decode[struct {
				PaginationInfo struct {
					TotalElements int `json:"total_elements"`
				} `json:"pagination_info"`
				Tokens []struct {
					TokenID string `json:"token_id"`
				} `json:"tokens"`
			}](t, body)
			if got.PaginationInfo.TotalElements != 25 {
				t.Fatalf("%s page %d: total %d", dir, page, got.PaginationInfo.TotalElements)
			}
			for _, tk := range got.Tokens {
				if seen[tk.TokenID] || (prev != "" && (dir == "ASC") != (tk.TokenID > prev)) {
					t.Fatalf("%s page %d: %s out of order or twice (after %s)", dir, page, tk.TokenID, prev)
				}
				seen[tk.TokenID], prev = true, tk.TokenID
			}
		}
		if len(seen) != 25 {
			t.Errorf("%s: %d tokens over the pages, want 25", dir, len(seen))
		}
	}
}

// Tokens that never expire are bounded too: a PassKit user's live long-lived
// tokens, and Brass's personal access tokens.
func TestNeverExpiringTokensAreBounded(t *testing.T) {
	t.Parallel()
	emu, err := emulator.New(emulator.Config{Settings: map[string]string{"brass.rate-limit": "0", "brass.max-pats": "2000"}})
	if err != nil {
		t.Fatal(err)
	}
	var last error
	for i := 0; i <= passkit.MaxLongLived; i++ {
		_, last = emu.IssueToken(context.Background(), vendorapi.IssueRequest{Vendor: "passkit", Principal: passkit.DefaultUsername, Kind: "longlived"})
		if i < passkit.MaxLongLived && last != nil {
			t.Fatalf("long-lived %d: %v", i, last)
		}
	}
	if last == nil || !strings.Contains(last.Error(), "long-lived") {
		t.Errorf("one long-lived token too many: %v", last)
	}
	h := emu.Handler()
	user := issueToken(t, emu, "brass", brass.DefaultUsername, "")
	for i := 0; ; i++ {
		req := httptest.NewRequest("POST", "/brass/auth/personal-access-tokens", strings.NewReader(`{"name":"n","role":"member"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+user)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code == http.StatusCreated {
			if i >= 2000 {
				t.Fatalf("%d PATs made", i+1)
			}
			continue
		}
		if w.Code != http.StatusConflict || i != 2000 {
			t.Errorf("PAT %d: %d %s", i, w.Code, w.Body)
		}
		break
	}
}

// The admin listing by principal alone finds the principal's tokens at
// every vendor (through the indexes, not a walk of the store).
func TestAdminListingByPrincipalAlone(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	for _, v := range []string{"passport", "teletracker"} {
		p := passport.DefaultClientID
		if v == "teletracker" {
			p = teletracker.DefaultUsername
		}
		if _, err := e.emu.IssueToken(context.Background(), vendorapi.IssueRequest{Vendor: v, Principal: p}); err != nil {
			t.Fatal(err)
		}
	}
	_, body := e.admin("GET", "/tokens?principal="+teletracker.DefaultUsername, "")
	if got := decode[struct{ Total int }](t, body).Total; got != 2 { // the access token and its refresh token
		t.Errorf("by principal alone: %d tokens, want 2: %s", got, body)
	}
}
