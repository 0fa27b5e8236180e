package emulator_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tokenemu/tokenemu/emulator"
)

// The clock starts at Config.ClockStart and a reset puts it back there.
func TestClockStartSurvivesAReset(t *testing.T) {
	t.Parallel()
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	e := newEnv(t, emulator.Config{ClockStart: at})
	near := func(when string) {
		t.Helper()
		if now := e.emu.Clock().Now(); now.Before(at) || now.After(at.Add(time.Minute)) {
			t.Errorf("%s: clock at %v, want about %v", when, now, at)
		}
	}
	near("at start")
	e.admin("POST", "/clock/advance", `{"duration":"240h"}`)
	e.admin("POST", "/clock/freeze", "")
	if resp, body := e.admin("POST", "/reset", ""); resp.StatusCode != 200 {
		t.Fatalf("reset: %d %s", resp.StatusCode, body)
	}
	near("after a reset")
	if e.emu.Clock().Frozen() {
		t.Error("the clock is still frozen after a reset")
	}
	if _, err := emulator.New(emulator.Config{ClockStart: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)}); err == nil || !strings.Contains(err.Error(), "clock start") {
		t.Errorf("a clock start out of range: %v, want an error naming it", err)
	}
}

// limit=0 answers the journal's cursor: no entries, and next the newest entry's number.
func TestJournalCursor(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	e.passkitLogin(false)
	e.passkitLogin(false)
	resp, body := e.admin("GET", "/journal?limit=0", "")
	page := decode[journalResp](t, body)
	if resp.StatusCode != 200 || len(page.Entries) != 0 || page.Next != 2 {
		t.Errorf("limit=0: %d %s, want no entries and next 2", resp.StatusCode, body)
	}
	e.passkitLogin(false)
	resp, body = e.admin("GET", "/journal?since=2", "")
	if got := decode[journalResp](t, body).Entries; resp.StatusCode != 200 || len(got) != 1 || got[0].Seq != 3 {
		t.Errorf("since the cursor: %s", body)
	}
	if resp, body := e.admin("GET", "/journal?limit=0&wait=1s", ""); resp.StatusCode != 400 {
		t.Errorf("limit=0 with wait: %d %s, want 400", resp.StatusCode, body)
	}
}
