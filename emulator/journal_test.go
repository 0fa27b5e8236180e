package emulator

import "testing"

// The ring grows as entries arrive; before and after it fills, it returns
// the newest entries, oldest first, and clear empties it.
func TestJournalRingGrowsThenWraps(t *testing.T) {
	t.Parallel()
	for _, size := range []int{1, 3, 64, 100, 130} {
		for _, n := range []int{0, 1, size - 1, size, size + 1, 3*size + 7} {
			j := newJournal(size)
			for range n {
				j.add(JournalEntry{Vendor: "passport"})
			}
			got, _ := j.entries(JournalFilter{})
			want := min(n, size)
			if len(got) != want {
				t.Fatalf("size %d, %d added: %d entries, want %d", size, n, len(got), want)
			}
			for i, e := range got {
				if wantSeq := int64(n - want + i + 1); e.Seq != wantSeq {
					t.Fatalf("size %d, %d added: entry %d has seq %d, want %d", size, n, i, e.Seq, wantSeq)
				}
			}
			if cap(j.ring) > size {
				t.Fatalf("size %d: the ring grew to %d", size, cap(j.ring))
			}
			j.clear()
			j.add(JournalEntry{Vendor: "brass"})
			if got, _ := j.entries(JournalFilter{}); len(got) != 1 || got[0].Vendor != "brass" || got[0].Seq != int64(n+1) {
				t.Fatalf("size %d, %d added: after clear and one add: %+v", size, n, got)
			}
		}
	}
}
