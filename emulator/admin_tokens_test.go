package emulator_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/brass"
	"github.com/tokenemu/tokenemu/emulator/passkit"
	"github.com/tokenemu/tokenemu/emulator/passport"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
)

type tokenList struct {
	Tokens []emulator.TokenInfo `json:"tokens"`
}

type journalResp struct {
	Entries []emulator.JournalEntry `json:"entries"`
	Next    int64                   `json:"next"`
}

func (e *env) admin(method, path, body string) (*http.Response, []byte) {
	e.t.Helper()
	h := http.Header{}
	if method != http.MethodGet { // every change says JSON
		h.Set("Content-Type", "application/json")
	}
	return e.do(method, "/_emulator"+path, h, body)
}

func TestAdminTokensListAndExpire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	tok := e.demoToken().AccessToken
	e.issue("limited-client", "limited-secret")

	resp, body := e.admin("GET", "/tokens?vendor=passport&principal="+passport.DefaultClientID, "")
	if resp.StatusCode != 200 {
		t.Fatalf("list: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(string(body), tok) {
		t.Fatalf("token list shows the token itself: %s", body)
	}
	list := decode[tokenList](t, body)
	if len(list.Tokens) != 1 || list.Tokens[0].State != "active" || list.Tokens[0].Kind != "access" ||
		len(list.Tokens[0].Fingerprint) != 12 || list.Tokens[0].ExpiresAt == nil {
		t.Fatalf("list for demo-client: %+v", list.Tokens)
	}

	resp, body = e.admin("POST", "/tokens/expire", fmt.Sprintf(`{"token":%q}`, tok))
	if resp.StatusCode != 200 {
		t.Fatalf("expire: %d %s", resp.StatusCode, body)
	}
	if got := decode[tokenList](t, body).Tokens; len(got) != 1 || got[0].State != "expired" {
		t.Errorf("expire answered %+v", got)
	}
	resp, body = e.do("GET", "/passport/v1/core/accounts", bearer(tok), "")
	if resp.StatusCode != 401 || resp.Header.Get("X-Tokenemu-Reason") != "token_expired" {
		t.Errorf("expired token used: %d %s %s", resp.StatusCode, resp.Header.Get("X-Tokenemu-Reason"), body)
	}
	// The other client's token is untouched, and the state filter finds each.
	_, body = e.admin("GET", "/tokens?vendor=passport&state=active", "")
	if got := decode[tokenList](t, body).Tokens; len(got) != 1 || got[0].Principal != "limited-client" {
		t.Errorf("active passport tokens after expiring one: %+v", got)
	}
	_, body = e.admin("GET", "/tokens?state=expired", "")
	if got := decode[tokenList](t, body).Tokens; len(got) != 1 || got[0].Principal != passport.DefaultClientID {
		t.Errorf("expired tokens: %+v", got)
	}
}

func TestAdminTokensRevokePrincipal(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	s1, s2 := e.ttLogin(""), e.ttLogin("")
	resp, body := e.admin("POST", "/tokens/revoke", `{"vendor":"teletracker","principal":"demo@teletracker.test"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("revoke: %d %s", resp.StatusCode, body)
	}
	got := decode[tokenList](t, body).Tokens
	if len(got) != 4 { // two access tokens and two refresh tokens
		t.Errorf("revoked %d tokens, want 4: %+v", len(got), got)
	}
	for _, s := range []ttSession{s1, s2} {
		if code, _ := e.ttCalls(bearer(s.Token), ""); code != 401 {
			t.Errorf("revoked access token: %d", code)
		}
		if resp, _ := e.ttRefresh(s.RefreshToken); resp.StatusCode != 401 {
			t.Errorf("revoked refresh token: %d", resp.StatusCode)
		}
	}
	// Revoking again finds nothing live.
	_, body = e.admin("POST", "/tokens/revoke", `{"vendor":"teletracker","principal":"demo@teletracker.test"}`)
	if got := decode[tokenList](t, body).Tokens; len(got) != 0 {
		t.Errorf("second revoke: %+v", got)
	}
}

// Every vendor's token can be expired and revoked by value, including PassKit
// JWTs the store never saw (self-minted) and Brass PATs.
func TestAdminTokensEveryVendor(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	user := e.brassUser(brass.DefaultUsername)
	pat := e.brassPAT(user, "ci", "owner").Token
	cases := []struct {
		name string
		tok  func() string
		use  func(tok string) int
	}{
		{"passport", func() string { return e.demoToken().AccessToken }, func(tok string) int {
			resp, _ := e.do("GET", "/passport/v1/core/accounts", bearer(tok), "")
			return resp.StatusCode
		}},
		{"passkit jwt", func() string { return e.passkitLogin(false) }, func(tok string) int {
			resp, _ := e.do("GET", "/passkit/user/profile", hdr("Authorization", tok), "")
			return resp.StatusCode
		}},
		{"passkit self-minted", func() string {
			now := e.emu.Clock().Now()
			claims := jwt.MapClaims{"uid": passkit.DefaultAPIKey, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
			s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(passkit.DefaultAPISecret))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, func(tok string) int {
			resp, _ := e.do("GET", "/passkit/user/profile", hdr("Authorization", tok), "")
			return resp.StatusCode
		}},
		{"passkit long-lived", func() string { return e.passkitLogin(true) }, func(tok string) int {
			resp, _ := e.do("GET", "/passkit/user/profile", hdr("Authorization", tok), "")
			return resp.StatusCode
		}},
		{"teletracker", func() string { return e.ttLogin("").Token }, func(tok string) int {
			code, _ := e.ttCalls(bearer(tok), "")
			return code
		}},
		{"brass user", func() string { return e.brassUser(brass.DefaultUsername) }, func(tok string) int {
			resp, _ := e.do("GET", "/brass/banking/accounts", bearer(tok), "")
			return resp.StatusCode
		}},
		{"brass pat", func() string { return pat }, func(tok string) int {
			resp, _ := e.do("GET", "/brass/banking/accounts", bearer(tok), "")
			return resp.StatusCode
		}},
	}
	e.emu.Clock().Freeze()
	for _, action := range []string{"expire", "revoke"} {
		for _, c := range cases {
			// PassKit's JWTs hold only uid, iat and exp: two logins in one
			// second are the same token. A second apart they are not.
			e.emu.Clock().Advance(time.Second)
			tok := c.tok()
			if action == "expire" && c.name == "brass pat" {
				tok = e.brassPAT(user, "ci-2", "owner").Token
			}
			if got := c.use(tok); got != 200 {
				t.Fatalf("%s: fresh token answered %d", c.name, got)
			}
			resp, body := e.admin("POST", "/tokens/"+action, fmt.Sprintf(`{"token":%q}`, tok))
			if resp.StatusCode != 200 || len(decode[tokenList](t, body).Tokens) != 1 {
				t.Errorf("%s %s: %d %s", action, c.name, resp.StatusCode, body)
				continue
			}
			if got := c.use(tok); got != 401 {
				t.Errorf("%s after %s: got %d, want 401", c.name, action, got)
			}
		}
	}
}

func TestAdminIssueToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	e.emu.Clock().Freeze()
	type issued struct {
		Token        string             `json:"token"`
		RefreshToken string             `json:"refresh_token"`
		Info         emulator.TokenInfo `json:"token_info"`
	}
	issue := func(body string) issued {
		t.Helper()
		resp, b := e.admin("POST", "/tokens/issue", body)
		if resp.StatusCode != 200 {
			t.Fatalf("issue %s: %d %s", body, resp.StatusCode, b)
		}
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("issue response without Cache-Control: no-store")
		}
		return decode[issued](t, b)
	}
	now := e.emu.Clock().Now()

	p := issue(`{"vendor":"passport","principal":"demo-client","lifetime":"5m"}`)
	if got := *p.Info.ExpiresAt; got.Sub(now.Add(5*time.Minute)).Abs() > time.Millisecond {
		t.Errorf("passport lifetime: expires %v, want %v", got, now.Add(5*time.Minute))
	}
	if resp, _ := e.do("GET", "/passport/v1/core/accounts", bearer(p.Token), ""); resp.StatusCode != 200 {
		t.Errorf("issued passport token: %d", resp.StatusCode)
	}
	pk := issue(`{"vendor":"passkit","principal":"demo@passkit.test"}`)
	ll := issue(`{"vendor":"passkit","principal":"demo@passkit.test","kind":"longlived"}`)
	for _, tok := range []string{pk.Token, ll.Token} {
		if resp, body := e.do("GET", "/passkit/user/profile", hdr("Authorization", tok), ""); resp.StatusCode != 200 {
			t.Errorf("issued passkit token: %d %s", resp.StatusCode, body)
		}
	}
	tt := issue(`{"vendor":"teletracker","principal":"demo@teletracker.test","account_id":"1002"}`)
	if code, calls := e.ttCalls(bearer(tt.Token), ""); code != 200 || calls.AccountID != 1002 {
		t.Errorf("issued teletracker token: %d account %d", code, calls.AccountID)
	}
	if resp, body := e.ttRefresh(tt.RefreshToken); resp.StatusCode != 200 {
		t.Errorf("issued teletracker refresh token: %d %s", resp.StatusCode, body)
	}
	bu := issue(`{"vendor":"brass","principal":"payables@brass.test"}`)
	bp := issue(`{"vendor":"brass","principal":"demo@brass.test","kind":"pat","role":"accountant","name":"qa"}`)
	for _, tok := range []string{bu.Token, bp.Token} {
		if resp, body := e.do("GET", "/brass/banking/accounts", bearer(tok), ""); resp.StatusCode != 200 {
			t.Errorf("issued brass token: %d %s", resp.StatusCode, body)
		}
	}
	if !strings.Contains(bp.Token, "|pat-") || bp.Info.Kind != "pat" || bp.Info.ExpiresAt != nil {
		t.Errorf("brass PAT: %+v", bp)
	}

	// The 1-minute passport token dies with the clock.
	short := issue(`{"vendor":"passport","principal":"demo-client","lifetime":"1m"}`)
	e.emu.Clock().Advance(time.Minute)
	if resp, _ := e.do("GET", "/passport/v1/core/accounts", bearer(short.Token), ""); resp.StatusCode != 401 {
		t.Errorf("1-minute token after a minute: %d", resp.StatusCode)
	}
}

func TestAdminTokensBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	cases := []struct {
		method, path, body string
		want               int
		msg                string
	}{
		{"POST", "/tokens/expire", `{"token":"x","vendor":"passport","principal":"p"}`, 400, "either"},
		{"POST", "/tokens/expire", `{"vendor":"passport"}`, 400, "principal"},
		{"POST", "/tokens/expire", `{}`, 400, "token"},
		{"POST", "/tokens/expire", `{"token":"nope"}`, 404, "no token"},
		{"POST", "/tokens/revoke", `{"token":"a.b.c"}`, 404, "no token"},
		{"POST", "/tokens/revoke", `{"token":1}`, 400, ""},
		{"POST", "/tokens/revoke", `not json`, 400, ""},
		{"POST", "/tokens/revoke", `{"vendor":"acme","principal":"p"}`, 400, ""},
		{"POST", "/tokens/issue", `{"vendor":"passport","principal":"nobody"}`, 400, "no Passport client"},
		{"POST", "/tokens/issue", `{"vendor":"passport","principal":"demo-client","lifetime":"-5m"}`, 400, "lifetime"},
		{"POST", "/tokens/issue", `{"vendor":"passport","principal":"demo-client","lifetime":"soon"}`, 400, "lifetime"},
		{"POST", "/tokens/issue", `{"vendor":"passkit","principal":"demo@passkit.test","kind":"pat"}`, 400, "kind"},
		{"POST", "/tokens/issue", `{"vendor":"passkit","principal":"demo@passkit.test","kind":"longlived","lifetime":"1h"}`, 400, "never expires"},
		{"POST", "/tokens/issue", `{"vendor":"brass","principal":"demo@brass.test","kind":"pat","role":"wizard"}`, 400, "role"},
		{"POST", "/tokens/issue", `{"vendor":"teletracker","principal":"demo@teletracker.test","account_id":"9"}`, 400, "account"},
		{"POST", "/tokens/issue", `{"vendor":"passport"}`, 400, ""},
		{"GET", "/tokens?state=bogus", "", 400, ""},
		{"GET", "/journal?status=abc", "", 400, ""},
		{"GET", "/journal?since=yesterday", "", 400, "since"},
		{"GET", "/journal?wait=61s", "", 400, "wait"},
		{"GET", "/journal?wait=1s&min=0", "", 400, ""},
	}
	for _, c := range cases {
		resp, body := e.admin(c.method, c.path, c.body)
		if resp.StatusCode != c.want || !strings.Contains(string(body), c.msg) {
			t.Errorf("%s %s %s: got %d %s, want %d mentioning %q", c.method, c.path, c.body, resp.StatusCode, body, c.want, c.msg)
			continue
		}
		if m := decode[map[string]string](t, body); m["error"] == "" || m["message"] == "" {
			t.Errorf("%s %s: error body %s", c.method, c.path, body)
		}
	}
}

func TestJournal(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	e.emu.Clock().Freeze()
	tok := e.demoToken().AccessToken
	e.do("GET", "/passport/v1/core/accounts", bearer(tok), "")
	e.do("GET", "/passport/v1/core/accounts", bearer("wrong"), "")
	e.do("GET", "/passport/nowhere", nil, "")

	resp, body := e.admin("GET", "/journal?vendor=passport", "")
	if resp.StatusCode != 200 {
		t.Fatalf("journal: %d %s", resp.StatusCode, body)
	}
	es := decode[journalResp](t, body).Entries
	if len(es) != 4 {
		t.Fatalf("journal has %d passport entries, want 4: %+v", len(es), es)
	}
	want := []struct {
		op     string
		status int
		reason string
		princ  bool
	}{
		{"createToken", 200, "", true}, // the client that logged in, and the new token's fingerprint
		{"listAccounts", 200, "", true},
		{"listAccounts", 401, "token_unknown", false},
		{"", 404, "route_not_found", false},
	}
	for i, w := range want {
		got := es[i]
		if got.Operation != w.op || got.Status != w.status || got.Reason != w.reason || (got.Principal != "") != w.princ {
			t.Errorf("entry %d: %+v, want %+v", i, got, w)
		}
		if !got.Time.Equal(e.emu.Clock().Now()) || got.RealTime.IsZero() || got.LatencyMS < 0 {
			t.Errorf("entry %d times: %+v", i, got)
		}
	}
	if es[1].Fingerprint == "" || es[1].Principal != passport.DefaultClientID {
		t.Errorf("authenticated entry: %+v", es[1])
	}
	_, body = e.admin("GET", "/tokens?vendor=passport", "")
	if fp := decode[tokenList](t, body).Tokens[0].Fingerprint; fp != es[1].Fingerprint {
		t.Errorf("journal fingerprint %q, token list %q", es[1].Fingerprint, fp)
	}

	// Filters: status, operation, since a sequence number, since a virtual time.
	for q, n := range map[string]int{
		"status=401":                                                         1,
		"vendor=passport&operation=listAccounts":                             2,
		fmt.Sprintf("vendor=passport&since=%d", es[1].Seq):                   2,
		"since=" + e.emu.Clock().Now().Add(time.Second).Format(time.RFC3339): 0,
	} {
		_, body := e.admin("GET", "/journal?"+q, "")
		if got := decode[journalResp](t, body).Entries; len(got) != n {
			t.Errorf("journal?%s: %d entries, want %d", q, len(got), n)
		}
	}
	// Go's view is the same.
	if got := e.emu.Requests(emulator.JournalFilter{Vendor: "passport", Status: 200}); len(got) != 2 {
		t.Errorf("Requests: %d entries", len(got))
	}

	resp, _ = e.admin("DELETE", "/journal", "")
	if resp.StatusCode != 200 {
		t.Fatalf("clear: %d", resp.StatusCode)
	}
	if got := e.emu.Requests(emulator.JournalFilter{Vendor: "passport"}); len(got) != 0 {
		t.Errorf("after clear: %+v", got)
	}
}

func TestJournalLongPoll(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	last := e.emu.Requests(emulator.JournalFilter{})
	var since int64
	if len(last) > 0 {
		since = last[len(last)-1].Seq
	}
	type result struct {
		code    int
		entries []emulator.JournalEntry
	}
	done := make(chan result, 1)
	go func() {
		resp, body := e.admin("GET", fmt.Sprintf("/journal?vendor=teletracker&since=%d&wait=30s&min=2", since), "")
		done <- result{resp.StatusCode, decode[journalResp](t, body).Entries}
	}()
	// The poll is waiting; two logins release it, long before its 30 s.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e.ttLogin("")
	e.ttLogin("")
	select {
	case r := <-done:
		if r.code != 200 || len(r.entries) != 2 || r.entries[0].Operation != "login" {
			t.Errorf("long poll: %d %+v", r.code, r.entries)
		}
	case <-ctx.Done():
		t.Fatal("long poll did not return after two matching requests")
	}

	// A wait with nothing to wait for returns what there is when it ends.
	resp, body := e.admin("GET", "/journal?vendor=brass&wait=0s", "")
	if resp.StatusCode != 200 || len(decode[journalResp](t, body).Entries) != 0 {
		t.Errorf("wait=0s: %d %s", resp.StatusCode, body)
	}
	// Go's WaitForRequests returns once the entry exists.
	got := make(chan []emulator.JournalEntry, 1)
	go func() {
		got <- e.emu.WaitForRequests(ctx, emulator.JournalFilter{Vendor: "passkit"}, 1)
	}()
	e.passkitLogin(false)
	if es := <-got; len(es) != 1 || es[0].Operation != "login" {
		t.Errorf("WaitForRequests: %+v", es)
	}
}

func TestJournalIsBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{JournalSize: 5})
	for range 12 {
		e.do("GET", "/passport/v1/core/accounts", nil, "")
	}
	es := e.emu.Requests(emulator.JournalFilter{})
	if len(es) != 5 || es[0].Seq != 8 || es[4].Seq != 12 {
		seqs := []int64{}
		for _, x := range es {
			seqs = append(seqs, x.Seq)
		}
		t.Errorf("ring of 5 after 12 requests holds %v, want 8..12", seqs)
	}
}

// A token that never expires is not issued with a lifetime: each vendor
// that has one says so.
func TestIssueNeverExpiringWithALifetime(t *testing.T) {
	t.Parallel()
	emu, err := emulator.New(emulator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range []vendorapi.IssueRequest{
		{Vendor: passkit.Name, Principal: passkit.DefaultUsername, Kind: "longlived", Lifetime: time.Minute},
		{Vendor: brass.Name, Principal: brass.DefaultUsername, Kind: "pat", Lifetime: time.Minute},
	} {
		if _, err := emu.IssueToken(t.Context(), req); err == nil || !strings.Contains(err.Error(), "never expires") {
			t.Errorf("%s %s with a lifetime: %v, want an error saying it never expires", req.Vendor, req.Kind, err)
		}
	}
}
