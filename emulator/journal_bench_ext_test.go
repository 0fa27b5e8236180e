package emulator_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/tokenemu/tokenemu/emulator"
)

// BenchmarkJournalLongPaths: 10,000 requests with a 60 KB path into a fresh
// emulator (the attack that once took the heap to 1.1 GB), reporting how
// much the heap grew with the journal holding them.
// The second case is a short path with a 60 KB query string, which the
// journal does not keep but must not keep alive either.
func BenchmarkJournalLongPaths(b *testing.B) {
	for _, c := range []struct {
		name, url string
		want      int
	}{
		{"path", "/passport/" + strings.Repeat("a", 60<<10), http.StatusNotFound},
		{"query", "/passport/v1/core/accounts?x=" + strings.Repeat("a", 60<<10), http.StatusUnauthorized},
	} {
		b.Run(c.name, func(b *testing.B) {
			var grown float64
			for b.Loop() {
				emu := newBenchEmulator(b, emulator.Config{})
				h := emu.Handler()
				before := heapInUse()
				for range 10_000 {
					w := httptest.NewRecorder()
					h.ServeHTTP(w, httptest.NewRequest("GET", c.url, nil))
					if w.Code != c.want {
						b.Fatalf("%d %s", w.Code, w.Body)
					}
				}
				grown = float64(heapInUse()-before) / (1 << 20)
				if n := len(emu.Requests(emulator.JournalFilter{})); n != 10_000 {
					b.Fatalf("journal holds %d entries", n)
				}
				runtime.KeepAlive(emu)
			}
			b.ReportMetric(grown, "heap-MiB")
		})
	}
}

func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// BenchmarkJournalWaiters: an authenticated GET while the most long polls the
// emulator allows wait for entries that never come (min 1000 of a vendor
// nobody calls) on a full journal. Before, every append woke each waiter to
// scan the whole journal again.
func BenchmarkJournalWaiters(b *testing.B) {
	for _, waiters := range []int{0, emulator.DefaultJournalWaiters} {
		b.Run(fmt.Sprintf("waiters=%d", waiters), func(b *testing.B) {
			emu := newBenchEmulator(b, emulator.Config{})
			h := emu.Handler()
			header := http.Header{"Authorization": {"Bearer " + issueToken(b, emu, "passport", "demo-client", "")}}
			for range emulator.DefaultJournalSize { // a full journal
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/passport/v1/core/accounts", nil))
			}
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for range waiters {
				wg.Go(func() {
					req := httptest.NewRequestWithContext(ctx, "GET", "/_emulator/journal?vendor=brass&min=1000&limit=1000&wait=60s", nil)
					h.ServeHTTP(httptest.NewRecorder(), req)
				})
			}
			for statusOf(b, emu).Journal.Waiters < waiters {
				runtime.Gosched()
			}
			benchRequest(b, h, "GET", "/passport/v1/core/accounts", header, "", 200)
			cancel()
			wg.Wait()
		})
	}
}
