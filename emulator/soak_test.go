package emulator_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/brass"
	"github.com/tokenemu/tokenemu/emulator/passkit"
	"github.com/tokenemu/tokenemu/emulator/passport"
)

var soakDuration = flag.Duration("soak", 2*time.Second, "how long TestSoak's workers run (e.g. -soak 5m for a long soak)")

// TestSoak runs workers against one emulator behind a real server, mixing
// logins, raced refreshes, PAT creation and revocation, token revocation and
// expiry, clock advances, scenarios, journal reads and resets, and checks
// invariants as it goes and at the end: a revoked or expired token is never
// accepted afterwards, a refresh token is never used twice, the PATs listed
// are those created less those revoked, no request is answered 5xx, and no
// goroutine outlives the test.
//
// It is not parallel: goleak must see this test's goroutines alone.
func TestSoak(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	emu, err := emulator.New(emulator.Config{
		Settings: map[string]string{"brass.rate-limit": "0"},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(emu.Handler())
	srv.Config = emulator.NewHTTPServer(emu.Handler())
	srv.Start()
	tr := &http.Transport{MaxIdleConnsPerHost: 32}
	s := &soak{t: t, emu: emu, base: srv.URL, client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
	defer func() {
		tr.CloseIdleConnections()
		srv.Close()
	}()

	ctx, cancel := context.WithTimeout(context.Background(), *soakDuration)
	defer cancel()
	workers := map[string]func(*rand.Rand){
		"passport-1": s.passport, "passport-2": s.passport,
		"teletracker-1": s.teletracker, "teletracker-2": s.teletracker,
		"passkit": s.passkit, "brass": s.brass,
		"admin": s.admin, "reset": s.reset,
	}
	var wg sync.WaitGroup
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	i := uint64(0)
	for _, work := range workers {
		i++
		rng := rand.New(rand.NewPCG(seed, i))
		wg.Go(func() {
			for ctx.Err() == nil && !t.Failed() {
				work(rng)
			}
		})
	}
	wg.Wait()
	s.final()
	if n := emu.InternalErrors(); n != 0 {
		t.Errorf("%d requests were answered 500 by a bug", n)
	}
	t.Logf("soak %v: %d requests, %d invariant checks, %d refresh races (one winner each), %d resets",
		*soakDuration, s.requests.Load(), s.checks.Load(), s.races.Load(), s.resets.Load())
}

// soak is the shared state of the workers. mu is held for reading by every
// worker's iteration and for writing by a reset, so that an iteration never
// straddles a reset (which forgets every token).
type soak struct {
	t      *testing.T
	emu    *emulator.Emulator
	base   string
	client *http.Client
	mu     sync.RWMutex

	requests, checks, races, resets atomic.Int64

	// Since the last reset (guarded by model):
	model        sync.Mutex
	patsCreated  int
	patsRevoked  int
	usedRefresh  []string // refresh tokens that have been used once
	liveAccess   []access // tokens last seen working
	brassUserJWT string
}

type access struct{ vendor, token string }

// call sends a request and returns the status and body. A 5xx fails the test.
func (s *soak) call(method, path string, h http.Header, body string) (int, []byte) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.base+path, rd)
	if err != nil {
		s.t.Errorf("%s %s: %v", method, path, err)
		return 0, nil
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Errorf("%s %s: %v", method, path, err)
		return 0, nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Errorf("%s %s: read: %v", method, path, err)
	}
	s.requests.Add(1)
	if resp.StatusCode >= 500 {
		s.t.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, b
}

// expect checks a status, counting the check.
func (s *soak) expect(what string, got, want int, body []byte) bool {
	s.checks.Add(1)
	if got != want {
		s.t.Errorf("%s: got %d, want %d: %s", what, got, want, body)
		return false
	}
	return true
}

func jsonH(auth string) http.Header {
	h := http.Header{"Content-Type": {"application/json"}}
	if auth != "" {
		h.Set("Authorization", auth)
	}
	return h
}

func field(b []byte, name string) string {
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if v, ok := m[name].(string); ok {
		return v
	}
	if d, ok := m["data"].(map[string]any); ok {
		if v, ok := d[name].(string); ok {
			return v
		}
		if v, ok := d[name].(float64); ok {
			return fmt.Sprint(int64(v))
		}
	}
	return ""
}

func (s *soak) remember(vendor, token string) {
	s.model.Lock()
	defer s.model.Unlock()
	if len(s.liveAccess) < 400 {
		s.liveAccess = append(s.liveAccess, access{vendor, token})
	}
}

// use is a request with a token to a protected resource of its vendor.
func (s *soak) use(vendor, token string) (int, []byte) {
	switch vendor {
	case "passport":
		return s.call("GET", "/passport/v1/core/accounts", jsonH("Bearer "+token), "")
	case "passkit":
		return s.call("GET", "/passkit/user/profile", jsonH(token), "")
	case "brass":
		return s.call("GET", "/brass/banking/accounts", jsonH("Bearer "+token), "")
	default:
		return s.call("GET", "/teletracker/reports/call-data?account_id=1001&date=2026-01-01", jsonH("Bearer "+token), "")
	}
}

// adminChange expires or revokes a token through the admin plane.
func (s *soak) adminChange(action, token string) {
	st, b := s.call("POST", "/_emulator/tokens/"+action, jsonH(""), fmt.Sprintf(`{"token":%q}`, token))
	s.expect("admin "+action, st, 200, b)
}

func (s *soak) passport(rng *rand.Rand) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, b := s.call("POST", "/passport/v1/iam/oauth/tokens", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
		url.Values{"grant_type": {"client_credentials"}, "client_id": {passport.DefaultClientID},
			"client_secret": {passport.DefaultClientSecret}}.Encode())
	if !s.expect("passport token", st, 200, b) {
		return
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenID     string `json:"token_id"`
	}
	_ = json.Unmarshal(b, &tok)
	st, b = s.use("passport", tok.AccessToken)
	s.expect("passport use", st, 200, b)
	switch rng.IntN(3) {
	case 0: // revoke through the vendor's API
		st, b = s.call("DELETE", "/passport/v1/iam/oauth/tokens/"+tok.TokenID, jsonH("Bearer "+tok.AccessToken), "")
		s.expect("passport revoke", st, 200, b)
		st, b = s.use("passport", tok.AccessToken)
		s.expect("passport use after revoke", st, 401, b)
	case 1:
		s.adminChange("expire", tok.AccessToken)
		st, b = s.use("passport", tok.AccessToken)
		s.expect("passport use after expire", st, 401, b)
	default:
		s.remember("passport", tok.AccessToken)
	}
}

func (s *soak) teletracker(rng *rand.Rand) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, b := s.call("POST", "/teletracker/auth/login", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
		"username=demo%40teletracker.test&password=teletracker-demo")
	if !s.expect("teletracker login", st, 200, b) {
		return
	}
	refresh := field(b, "refreshToken")
	// The same refresh token from two goroutines at once: exactly one wins.
	var statuses [2]int
	var bodies [2][]byte
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			statuses[i], bodies[i] = s.call("POST", "/teletracker/auth/refresh", jsonH(""), fmt.Sprintf(`{"refresh_token":%q}`, refresh))
		})
	}
	wg.Wait()
	s.races.Add(1)
	s.checks.Add(1)
	wins := 0
	var next []byte
	for i, st := range statuses {
		switch st {
		case 200:
			wins++
			next = bodies[i]
		case 401:
		default:
			s.t.Errorf("raced refresh: %d %s", st, bodies[i])
		}
	}
	if wins != 1 {
		s.t.Errorf("raced refresh: %d winners (%v), want exactly 1", wins, statuses)
		return
	}
	s.model.Lock()
	s.usedRefresh = append(s.usedRefresh, refresh)
	s.model.Unlock()
	newAccess := field(next, "token")
	st, b = s.use("teletracker", newAccess)
	s.expect("teletracker use after refresh", st, 200, b)
	if rng.IntN(2) == 0 {
		st, b = s.call("POST", "/teletracker/auth/logout", jsonH("Bearer "+newAccess), "")
		s.expect("teletracker logout", st, 200, b)
		st, b = s.use("teletracker", newAccess)
		s.expect("teletracker use after logout", st, 401, b)
	} else {
		s.remember("teletracker", newAccess)
	}
}

func (s *soak) passkit(rng *rand.Rand) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, b := s.call("POST", "/passkit/login", jsonH(""),
		fmt.Sprintf(`{"username":%q,"password":%q}`, passkit.DefaultUsername, passkit.DefaultPassword))
	if !s.expect("passkit login", st, 200, b) {
		return
	}
	tok := field(b, "token")
	st, b = s.use("passkit", tok)
	s.expect("passkit use", st, 200, b)
	switch rng.IntN(3) {
	case 0:
		s.adminChange("revoke", tok)
		st, b = s.use("passkit", tok)
		s.expect("passkit use after revoke", st, 401, b)
	case 1:
		s.adminChange("expire", tok)
		st, b = s.use("passkit", tok)
		s.expect("passkit use after expire", st, 401, b)
	default:
		s.remember("passkit", tok)
	}
}

func (s *soak) brass(rng *rand.Rand) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	s.model.Lock()
	user := s.brassUserJWT
	s.model.Unlock()
	if user == "" || rng.IntN(20) == 0 {
		// The whole login: app key → temporary JWT → OTP → user JWT. One
		// worker logs in, so the OTP read is this login's.
		st, b := s.call("POST", "/brass/auth/login", jsonH("Bearer "+brass.DefaultAppKey),
			fmt.Sprintf(`{"username":%q,"password":%q}`, brass.DefaultUsername, brass.DefaultPassword))
		if !s.expect("brass login", st, 200, b) {
			return
		}
		temp := field(b, "token")
		otp, ok := brass.OTP(mustVendor(s.t, s.emu, brass.Name), brass.DefaultUsername)
		if !ok {
			s.t.Error("brass: no OTP after login")
			return
		}
		st, b = s.call("POST", "/brass/auth/login/authorise", jsonH("Bearer "+temp), fmt.Sprintf(`{"otp":%q}`, otp))
		if !s.expect("brass authorise", st, 200, b) {
			return
		}
		user = field(b, "token")
		s.model.Lock()
		s.brassUserJWT = user
		s.model.Unlock()
	}
	st, b := s.call("POST", "/brass/auth/personal-access-tokens", jsonH("Bearer "+user), `{"name":"soak","role":"member"}`)
	if !s.expect("brass create PAT", st, 201, b) {
		return
	}
	pat, id := field(b, "token"), field(b, "id")
	s.model.Lock()
	s.patsCreated++
	s.model.Unlock()
	st, b = s.use("brass", pat)
	s.expect("brass PAT use", st, 200, b)
	if rng.IntN(2) == 0 {
		st, b = s.call("DELETE", "/brass/auth/personal-access-tokens/"+id, jsonH("Bearer "+user), "")
		if s.expect("brass revoke PAT", st, 204, b) {
			s.model.Lock()
			s.patsRevoked++
			s.model.Unlock()
		}
		st, b = s.use("brass", pat)
		s.expect("brass PAT use after revoke", st, 401, b)
	}
}

// admin moves the clock a little, applies and clears a scenario that matches
// nothing the workers send, and reads the journal.
func (s *soak) admin(rng *rand.Rand) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	switch rng.IntN(4) {
	case 0:
		st, b := s.call("POST", "/_emulator/clock/advance", jsonH(""), fmt.Sprintf(`{"seconds":%d}`, 1+rng.IntN(10)))
		s.expect("clock advance", st, 200, b)
	case 1:
		st, b := s.call("POST", "/_emulator/scenarios?replace=true", jsonH(""),
			`{"name":"soak-quiet","rules":[{"match":{"vendor":"*","header":{"X-Soak-Never":"1"}},"action":{"status":503}}]}`)
		s.expect("scenario apply", st, 201, b)
	case 2:
		st, b := s.call("DELETE", "/_emulator/scenarios", jsonH(""), "")
		s.expect("scenarios clear", st, 200, b)
	default:
		st, b := s.call("GET", "/_emulator/journal?status=401", nil, "")
		s.expect("journal read", st, 200, b)
	}
}

// reset resets the emulator now and then, with every worker between
// iterations, and forgets the model.
func (s *soak) reset(rng *rand.Rand) {
	if rng.IntN(200) != 0 {
		s.mu.RLock()
		st, b := s.call("GET", "/_emulator/tokens?vendor=brass&kind=pat", nil, "")
		s.expect("tokens list", st, 200, b)
		s.mu.RUnlock()
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, b := s.call("POST", "/_emulator/reset", jsonH(""), "")
	s.expect("reset", st, 200, b)
	s.resets.Add(1)
	s.model.Lock()
	s.patsCreated, s.patsRevoked, s.usedRefresh, s.liveAccess, s.brassUserJWT = 0, 0, nil, nil, ""
	s.model.Unlock()
}

// final checks the invariants once the workers have stopped.
func (s *soak) final() {
	s.model.Lock()
	defer s.model.Unlock()
	// Every refresh token used once is refused the second time.
	for _, rt := range s.usedRefresh {
		st, b := s.call("POST", "/teletracker/auth/refresh", jsonH(""), fmt.Sprintf(`{"refresh_token":%q}`, rt))
		s.expect("used refresh token again", st, 401, b)
	}
	// The PATs listed are the user's, whichever JWT asks: those created
	// (since the last reset) less those revoked.
	user := issueToken(s.t, s.emu, "brass", brass.DefaultUsername, "user")
	st, b := s.call("GET", "/brass/auth/personal-access-tokens", jsonH("Bearer "+user), "")
	var list struct{ Data []json.RawMessage }
	_ = json.Unmarshal(b, &list)
	s.checks.Add(1)
	if st != 200 || len(list.Data) != s.patsCreated-s.patsRevoked {
		s.t.Errorf("PATs listed: %d (status %d), want %d created - %d revoked", len(list.Data), st, s.patsCreated, s.patsRevoked)
	}
	// Tokens that worked expire with the clock and are refused after.
	st, b = s.call("POST", "/_emulator/clock/advance", jsonH(""), `{"duration":"720h"}`)
	s.expect("clock advance 30 days", st, 200, b)
	for _, a := range s.liveAccess {
		st, b := s.use(a.vendor, a.token)
		s.expect(a.vendor+" token after 30 days", st, 401, b)
	}
}
