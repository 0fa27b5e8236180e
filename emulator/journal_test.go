package emulator

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// The ring grows as entries arrive; before and after it fills, it returns
// the newest entries, oldest first, and clear empties it.
func TestJournalRingGrowsThenWraps(t *testing.T) {
	t.Parallel()
	for _, size := range []int{1, 3, 64, 100, 130} {
		for _, n := range []int{0, 1, size - 1, size, size + 1, 3*size + 7} {
			j := newJournal(size, DefaultJournalBytes, 1)
			for range n {
				j.add(JournalEntry{Vendor: "passport"})
			}
			got := j.entries(JournalFilter{})
			want := min(n, size)
			if len(got) != want {
				t.Fatalf("size %d, %d added: %d entries, want %d", size, n, len(got), want)
			}
			for i, e := range got {
				if wantSeq := int64(n - want + i + 1); e.Seq != wantSeq {
					t.Fatalf("size %d, %d added: entry %d has seq %d, want %d", size, n, i, e.Seq, wantSeq)
				}
			}
			if cap(j.ring) > max(size, 64) {
				t.Fatalf("size %d: the ring grew to %d", size, cap(j.ring))
			}
			j.clear()
			j.add(JournalEntry{Vendor: "brass"})
			if got := j.entries(JournalFilter{}); len(got) != 1 || got[0].Vendor != "brass" || got[0].Seq != int64(n+1) {
				t.Fatalf("size %d, %d added: after clear and one add: %+v", size, n, got)
			}
		}
	}
}

// The byte bound drops the oldest entries, and counts what it holds exactly.
func TestJournalByteBound(t *testing.T) {
	t.Parallel()
	e := JournalEntry{Vendor: "passport", Path: strings.Repeat("p", 400)}
	size := journalEntrySize(&e)
	j := newJournal(1000, 10*size, 1)
	for range 25 {
		j.add(e)
	}
	got := j.entries(JournalFilter{})
	if len(got) != 10 || got[0].Seq != 16 || j.bytes != 10*size {
		t.Errorf("%d entries from seq %d, %d bytes; want 10 from 16, %d bytes", len(got), got[0].Seq, j.bytes, 10*size)
	}
	// An entry larger than the bound is still kept, alone.
	j.add(JournalEntry{Path: strings.Repeat("q", int(20*size))})
	if got := j.entries(JournalFilter{}); len(got) != 1 || got[0].Seq != 26 {
		t.Errorf("after a large entry: %d entries", len(got))
	}
}

// Pages follow each other without a gap or a repeat, with filters, while
// the oldest entries are dropped.
func TestJournalPages(t *testing.T) {
	t.Parallel()
	j := newJournal(50, DefaultJournalBytes, 1)
	for i := range 120 {
		v := "passport"
		if i%3 == 0 {
			v = "brass"
		}
		j.add(JournalEntry{Vendor: v})
	}
	f := JournalFilter{Vendor: "brass"}
	var seen []int64
	for {
		p := j.page(f, 4)
		for _, e := range p.Entries {
			seen = append(seen, e.Seq)
		}
		f.AfterSeq = p.Next
		if !p.More {
			if p.Next != 120 {
				t.Errorf("last page's cursor %d, want 120", p.Next)
			}
			break
		}
	}
	// Entries 71…120 are held; brass ones are 1 mod 3.
	want := []int64{}
	for s := int64(71); s <= 120; s++ {
		if (s-1)%3 == 0 {
			want = append(want, s)
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("paged %v, want %v", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("paged %v, want %v", seen, want)
		}
	}
}

// A wait returns when enough new entries match, looks only at new ones,
// is capped, and ends at once when the journal ends its waits.
func TestJournalWait(t *testing.T) {
	t.Parallel()
	j := newJournal(100, DefaultJournalBytes, 2)
	for range 10 {
		j.add(JournalEntry{Vendor: "passport"})
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	got := make(chan journalPage, 1)
	started := make(chan struct{})
	wg.Go(func() {
		close(started)
		p, err := j.wait(ctx, JournalFilter{Vendor: "brass", AfterSeq: 10}, 2, 100)
		if err != nil {
			t.Error(err)
		}
		got <- p
	})
	<-started
	j.add(JournalEntry{Vendor: "brass"})
	j.add(JournalEntry{Vendor: "passport"})
	j.add(JournalEntry{Vendor: "brass"})
	p := <-got
	if len(p.Entries) != 2 || p.Entries[0].Seq != 11 || p.Entries[1].Seq != 13 {
		t.Errorf("wait returned %+v", p)
	}
	wg.Wait()

	// Two waits hold both places; a third is refused.
	release, cancel := context.WithCancel(ctx)
	for range 2 {
		wg.Go(func() { _, _ = j.wait(release, JournalFilter{Vendor: "none"}, 1, 100) })
	}
	for {
		j.mu.Lock()
		n := len(j.waiters)
		j.mu.Unlock()
		if n == 2 {
			break
		}
		time.Sleep(time.Millisecond) // waiting for the two goroutines to register, not for a duration
	}
	if _, err := j.wait(ctx, JournalFilter{}, 1000, 1000); !errors.Is(err, errTooManyWaiters) {
		t.Errorf("third wait: %v, want errTooManyWaiters", err)
	}
	// end releases them, and any later wait returns at once.
	j.end()
	wg.Wait()
	cancel()
	if p, err := j.wait(ctx, JournalFilter{Vendor: "none"}, 1, 100); err != nil || len(p.Entries) != 0 {
		t.Errorf("wait after end: %v %v", p, err)
	}
}
