package emulator_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/store"
)

// ttRaceRounds is how many times each race runs (under -race in CI).
const ttRaceRounds = 1000

// With -teletracker-revoke-family-on-reuse, two refreshes of one refresh
// token race: one wins, the other is refused as a reuse, and so the whole
// session is revoked, the winner's new tokens included. Before, the loser
// could revoke the family before the winner had stored its new pair, which
// then kept working (11 of 300 trials under -race).
func TestTeleTrackerReuseRaceRevokesTheWinnersTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{Settings: map[string]string{"teletracker.revoke-family-on-reuse": "true"}})
	for round := range ttRaceRounds {
		s := e.ttLogin("")
		var wg sync.WaitGroup
		var bodies [2][]byte
		var codes [2]int
		var reasons [2]string
		for i := range 2 {
			wg.Go(func() {
				resp, body := e.ttRefresh(s.RefreshToken)
				codes[i], reasons[i], bodies[i] = resp.StatusCode, reason(resp), body
			})
		}
		wg.Wait()
		win := -1
		for i := range 2 {
			if codes[i] == http.StatusOK {
				win = i
			}
		}
		if win < 0 || codes[1-win] != http.StatusUnauthorized || reasons[1-win] != "refresh_reused" {
			t.Fatalf("round %d: %v %v, want one 200 and one 401 refresh_reused", round, codes, reasons)
		}
		w := decode[ttSession](t, bodies[win]) // on the test's goroutine: decode may fail the test
		if code, _ := e.ttCalls(hdr("Authorization", "Bearer "+w.Token), "?account_id=1001"); code != http.StatusUnauthorized {
			t.Fatalf("round %d: the winner's access token answered %d after the family was revoked", round, code)
		}
		if resp, _ := e.ttRefresh(w.RefreshToken); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("round %d: the winner's refresh token answered %d after the family was revoked", round, resp.StatusCode)
		}
		if live := liveFamily(e, w.GUID); live != 0 {
			t.Fatalf("round %d: %d tokens of the session are still live", round, live)
		}
	}
}

// A logout racing a refresh of the same session leaves nothing of it live,
// whichever comes first. Before, the refresh's new pair could outlive the
// logout (1-2 of 150 trials).
func TestTeleTrackerLogoutRaceLeavesNoLiveSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	for round := range ttRaceRounds {
		s := e.ttLogin("")
		var wg sync.WaitGroup
		var logout, refresh int
		wg.Go(func() {
			resp, _ := e.do("POST", "/teletracker/auth/logout", hdr("Authorization", "Bearer "+s.Token), "")
			logout = resp.StatusCode
		})
		wg.Go(func() {
			resp, _ := e.ttRefresh(s.RefreshToken)
			refresh = resp.StatusCode
		})
		wg.Wait()
		if logout != http.StatusOK || (refresh != http.StatusOK && refresh != http.StatusUnauthorized) {
			t.Fatalf("round %d: logout %d, refresh %d", round, logout, refresh)
		}
		if live := liveFamily(e, s.GUID); live != 0 {
			t.Fatalf("round %d: %d tokens of the session are still live after the logout (refresh %d)", round, live, refresh)
		}
	}
}

// liveFamily counts the live tokens of the TeleTracker session (the family)
// of the access token whose guid is given.
func liveFamily(e *env, guid string) int {
	e.t.Helper()
	access, err := e.emu.Store().ByID(context.Background(), "teletracker", guid)
	if err != nil || access.Family == "" {
		e.t.Fatalf("no session holds the access token %s: %v", guid, err)
	}
	family := access.Family
	n := 0
	for _, ti := range tokensOf(e.t, e.emu, store.Query{Vendor: "teletracker", Family: family}) {
		if ti.State == "active" {
			n++
		}
	}
	return n
}
