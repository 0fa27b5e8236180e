package emulator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/brass"
	"github.com/tokenemu/tokenemu/emulator/passkit"
	"github.com/tokenemu/tokenemu/emulator/passport"
	"github.com/tokenemu/tokenemu/emulator/store"
	"github.com/tokenemu/tokenemu/emulator/teletracker"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
)

// FuzzClockRange issues a token of each vendor at a time anywhere in the
// clock's range, with a lifetime anywhere in its range, and checks that the
// token works, expires exactly when it should (or outlives the range), is
// listed and journaled with times JSON can carry, and comes back the same
// from a save and a restore. Before, a clock at 2262 issued tokens that were
// already expired, the listing showed the year 1677, and the journal answered
// {} at the year 10000.
func FuzzClockRange(f *testing.F) {
	lo, hi := emulator.MinTime().Unix(), emulator.MaxTime().Unix()
	max := int64(emulator.MaxLifetime / time.Second)
	for _, seed := range [][2]int64{{lo, 1}, {lo, max}, {hi, 1}, {hi, max}, {hi - 3600, 3600}, {time.Now().Unix(), 86400}, {lo + max, max}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, at, lifeSeconds int64) {
		if at < lo || at > hi || lifeSeconds < 1 || lifeSeconds > max {
			return
		}
		now, life := time.Unix(at, 0).UTC(), time.Duration(lifeSeconds)*time.Second
		emu, err := emulator.New(emulator.Config{Settings: map[string]string{"brass.rate-limit": "0"}})
		if err != nil {
			t.Fatal(err)
		}
		emu.Clock().Freeze()
		if _, err := emu.Clock().Set(now); err != nil {
			t.Fatal(err)
		}
		type issued struct{ vendor, path, auth string }
		var list []issued
		for _, v := range []struct{ vendor, principal, path, scheme string }{
			{"passport", passport.DefaultClientID, "/passport/v1/core/accounts", "Bearer "},
			{"passkit", passkit.DefaultUsername, "/passkit/user/profile", "Bearer "},
			{"teletracker", teletracker.DefaultUsername, "/teletracker/reports/call-data", "Bearer "},
			{"brass", brass.DefaultUsername, "/brass/banking/accounts", "Bearer "},
		} {
			res, err := emu.IssueToken(context.Background(), vendorapi.IssueRequest{Vendor: v.vendor, Principal: v.principal, Lifetime: life})
			if err != nil {
				t.Fatalf("%s at %v for %v: %v", v.vendor, now, life, err)
			}
			list = append(list, issued{v.vendor, v.path, v.scheme + res.Token})
		}
		use := func(when string, want int) {
			t.Helper()
			for _, is := range list {
				w := serveFuzz(t, emu, is.vendor, "GET", is.path, http.Header{"Authorization": {is.auth}}, "")
				if w.Code != want && !(want == 401 && w.Code == 403) {
					t.Fatalf("%s %s (issued %v for %v): %d %s, want %d", is.vendor, when, now, life, w.Code, w.Body, want)
				}
			}
		}
		use("when issued", http.StatusOK)
		// Listed and journaled with times JSON carries, saved and restored.
		for _, v := range []any{tokensOf(t, emu, store.Query{}), emu.Requests(emulator.JournalFilter{})} {
			b, err := json.Marshal(v)
			if err != nil || bytes.Contains(b, []byte(`"1677-`)) || bytes.Contains(b, []byte(`"0001-`)) {
				t.Fatalf("%v at %v: %v %s", life, now, err, b)
			}
		}
		var saved bytes.Buffer
		if err := emu.WriteState(&saved); err != nil {
			t.Fatal(err)
		}
		back, err := emulator.New(emulator.Config{Settings: map[string]string{"brass.rate-limit": "0"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := back.ReadState(&saved); err != nil {
			t.Fatalf("restore at %v: %v", now, err)
		}
		if !back.Clock().Now().Equal(now) {
			t.Fatalf("restored clock %v, want %v", back.Clock().Now(), now)
		}
		before, after := tokensOf(t, emu, store.Query{}), tokensOf(t, back, store.Query{})
		if len(before) != len(after) {
			t.Fatalf("%d tokens saved, %d restored", len(before), len(after))
		}
		for i := range before {
			if before[i].State != after[i].State || !before[i].ExpiresAt.Equal(*after[i].ExpiresAt) {
				t.Fatalf("token %d: %+v saved, %+v restored", i, before[i], after[i])
			}
		}
		// Expiry, on the original.
		expiry := now.Add(life)
		if expiry.After(emulator.MaxTime()) {
			if _, err := emu.Clock().Set(emulator.MaxTime()); err != nil {
				t.Fatal(err)
			}
			use("at the end of the range", http.StatusOK)
			return
		}
		if _, err := emu.Clock().Set(expiry.Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		use("a second before expiry", http.StatusOK)
		if _, err := emu.Clock().Advance(time.Second); err != nil {
			t.Fatal(err)
		}
		use("at expiry", http.StatusUnauthorized)
	})
}

// Outside the range: a clock set or moved beyond it, and lifetimes, skews
// and retries beyond MaxLifetime, are refused with a message naming the limit.
func TestTimeRangeIsEnforced(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	for _, c := range []struct{ path, body string }{
		{"/clock/set", `{"time":"2262-04-12T00:00:00Z"}`},
		{"/clock/set", `{"time":"1999-12-31T23:59:59Z"}`},
		{"/clock/set", `{"time":"10000-01-01T00:00:00Z"}`},
		{"/clock/advance", `{"duration":"2562047h"}`},
		{"/clock/advance", `{"seconds":9223372036}`},
		{"/tokens/issue", `{"vendor":"passport","principal":"demo-client","lifetime":"2400000h"}`},
		{"/scenarios", `{"name":"far","rules":[{"match":{"vendor":"brass"},"action":{"skew":"1000000h"}}]}`},
		{"/scenarios", `{"name":"late","rules":[{"match":{"vendor":"brass"},"action":{"status":503,"retry_after":"2562047h"}}]}`},
	} {
		resp, body := e.admin("POST", c.path, c.body)
		if resp.StatusCode != http.StatusBadRequest || !(strings.Contains(string(body), "2100") || strings.Contains(string(body), "100 years") ||
			strings.Contains(string(body), "date-time") || strings.Contains(string(body), "too large")) {
			t.Errorf("%s %s: %d %s, want a 400 that names the limit", c.path, c.body, resp.StatusCode, body)
		}
	}
	if _, err := e.emu.Clock().Set(emulator.MaxTime().Add(time.Second)); !errors.Is(err, emulator.ErrClockRange) {
		t.Errorf("Set past the range: %v", err)
	}
	if _, err := emulator.New(emulator.Config{Settings: map[string]string{"teletracker.refresh-lifetime": "1753200h"}}); err == nil {
		t.Error("a refresh lifetime of 200 years was accepted")
	}
}
