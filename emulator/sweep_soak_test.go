package emulator_test

import (
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/passport"
)

var sweepSoak = flag.Duration("sweepsoak", 0, "run TestSweepKeepsTheHeapFlat for this long (e.g. -sweepsoak 10m, with -timeout 15m) rather than for 90,000 logins")

// Logins go on while the virtual clock advances: the tokens that expire are
// swept once past the retention window, so the store, and the heap, stay the
// same size. Before, 200,000 logins took RSS from 22 to 89 MB and advancing
// the clock 48 h freed nothing. With -sweepsoak it runs for a duration and
// logs the heap as it goes.
func TestSweepKeepsTheHeapFlat(t *testing.T) {
	t.Parallel()
	emu, err := emulator.New(emulator.Config{Retention: time.Hour, JournalSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	emu.Clock().Freeze()
	h := emu.Handler()
	body := fmt.Sprintf(`{"client_id":%q,"client_secret":%q,"grant_type":"client_credentials"}`, passport.DefaultClientID, passport.DefaultClientSecret)
	login := func() {
		req := httptest.NewRequest("POST", "/passport/v1/iam/oauth/tokens", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Fatalf("login: %d %s", w.Code, w.Body)
		}
	}
	// 20 logins a virtual minute: a token lives 24 h and is kept 1 h more,
	// so 30,000 are past neither at once. The sweep looks at 4 records a
	// login, so a token waits up to a quarter of the store's size in logins
	// for it: the store settles at about 4/3 of that.
	const perMinute, live = 20, 25 * 60 * 20
	start, n := time.Now(), 0
	var heapAt [2]uint64
	for {
		if *sweepSoak == 0 && n == 3*live {
			break
		}
		if *sweepSoak > 0 && time.Since(start) > *sweepSoak {
			break
		}
		login()
		if n++; n%perMinute == 0 {
			if _, err := emu.Clock().Advance(time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		if n == 2*live || (n > 2*live && n%live == 0) {
			var m runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m)
			if heapAt[0] == 0 {
				heapAt[0] = m.HeapAlloc // the first sample, once the sweep has begun
			}
			heapAt[1] = max(heapAt[1], m.HeapAlloc)
			st := statusOf(t, emu)
			t.Logf("%d logins, %v of virtual time: %d tokens held in %d records, heap %.1f MiB (the whole test binary's)",
				n, time.Duration(n/perMinute)*time.Minute, st.Tokens, st.Records, float64(m.HeapAlloc)/(1<<20))
			if st.Tokens > live*3/2 || st.Records > live*3/2 {
				t.Fatalf("%d tokens in %d records after %d logins; the sweep keeps about %d", st.Tokens, st.Records, n, live*4/3)
			}
		}
	}
	// The store's memory is its records (fixed-size chunks, reused once
	// swept), checked above; the heap is the whole test binary's, which other
	// tests share, so it is only reported.
	t.Logf("heap from %.1f to %.1f MiB once the sweep had begun", float64(heapAt[0])/(1<<20), float64(heapAt[1])/(1<<20))
}
