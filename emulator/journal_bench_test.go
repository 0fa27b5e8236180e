package emulator

import (
	"testing"
	"time"
)

// BenchmarkJournalAppend: one request's entry into the journal (full after its first 10,000), from two
// goroutines at once (the server's case).
func BenchmarkJournalAppend(b *testing.B) {
	j := newJournal(DefaultJournalSize, DefaultJournalBytes, DefaultJournalWaiters)
	entry := JournalEntry{RealTime: time.Now(), Time: time.Now(), Vendor: "passport", Operation: "listAccounts",
		Method: "GET", Path: "/passport/v1/core/accounts", Status: 200, Principal: "demo-client"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			j.add(entry)
		}
	})
	if j.seq < int64(b.N) {
		b.Fatalf("journal holds seq %d after %d appends", j.seq, b.N)
	}
}
