package emulator_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokenemu/tokenemu/emulator"
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
	_, body := e.admin("GET", "/tokens?vendor=passport", "")
	if got := decode[struct{ Total int }](t, body).Total; got != 4 {
		t.Errorf("listing after the sweep: %d tokens, want the 4 live ones: %s", got, body)
	}
}

// Accounts made through /user/new are capped; so are PassKit members and
// Brass payments.
func TestVendorResourcesAreBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{PassKit: emulator.PassKitConfig{MaxUsers: 3}, Brass: emulator.BrassConfig{RateLimit: -1}})
	for i := range 4 {
		resp, body := e.do("POST", "/passkit/user/new", hdr("Content-Type", "application/json"),
			fmt.Sprintf(`{"username":"u%d@x.test","password":"pw-%d","companyName":"c","emailAddress":"u%d@x.test"}`, i, i, i))
		if i < 3 && resp.StatusCode != 200 {
			t.Fatalf("user %d: %d %s", i, resp.StatusCode, body)
		}
		if i == 3 && (resp.StatusCode != 403 || reason(resp) != "limit_reached" || !strings.Contains(string(body), "-passkit-max-users")) {
			t.Errorf("one user too many: %d %s %s", resp.StatusCode, reason(resp), body)
		}
	}
	// Members and payments: through the handler, to reach 10,000 quickly.
	pk := issueToken(t, e.emu, "passkit", emulator.DefaultPassKitUsername, "")
	br := issueToken(t, e.emu, "brass", emulator.DefaultBrassUsername, "")
	for _, c := range []struct {
		path, auth, body string
		max               int
		ok                int
	}{
		{"/passkit/members/member", pk, `{"programId":"p","tierId":"t"}`, emulator.MaxPassKitMembers, 200},
		{"/brass/banking/payments", "Bearer " + br, `{"amount":100,"recipient":{"account_number":"0123456789","bank_code":"058"}}`, emulator.MaxBrassPayments, 201},
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
			if w.Code != http.StatusForbidden || w.Header().Get(emulator.ReasonHeader) != "limit_reached" || i < c.max-20 {
				t.Errorf("%s after %d made: %d %s", c.path, i, w.Code, w.Body)
			}
			break
		}
	}
}
