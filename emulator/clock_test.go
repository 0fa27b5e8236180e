package emulator

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// fakeReal is a controllable source of real time for Clock tests.
type fakeReal struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeReal) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeReal) pass(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
}

func TestClock(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 1, 12, 0, 0, 750_000_000, time.FixedZone("X", 3600))
	real := &fakeReal{t: start}
	c := NewClock(real.now)

	want := start.Truncate(time.Second).UTC()
	if got := c.Now(); !got.Equal(want) || got.Location() != time.UTC {
		t.Fatalf("start: got %v, want %v in UTC", got, want)
	}
	real.pass(2 * time.Second)
	if got := c.Now(); !got.Equal(want.Add(2 * time.Second)) {
		t.Errorf("running: got %v, want %v", got, want.Add(2*time.Second))
	}
	if _, err := c.Advance(61 * time.Minute); err != nil {
		t.Fatal(err)
	}
	if got := c.Now(); !got.Equal(want.Add(2*time.Second + 61*time.Minute)) {
		t.Errorf("advanced: got %v", got)
	}
	if _, err := c.Advance(-time.Second); !errors.Is(err, ErrNegativeAdvance) {
		t.Errorf("negative advance: got %v, want ErrNegativeAdvance", err)
	}

	frozenAt := c.Freeze()
	real.pass(time.Hour)
	if got := c.Now(); !got.Equal(frozenAt) || !c.Frozen() {
		t.Errorf("frozen: got %v, want %v", got, frozenAt)
	}
	if _, err := c.Advance(time.Minute); err != nil {
		t.Fatal(err)
	}
	if got := c.Now(); !got.Equal(frozenAt.Add(time.Minute)) {
		t.Errorf("advance while frozen: got %v", got)
	}
	c.Resume()
	real.pass(3 * time.Second)
	if got := c.Now(); !got.Equal(frozenAt.Add(time.Minute+3*time.Second)) || c.Frozen() {
		t.Errorf("resumed: got %v", got)
	}

	past := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	c.Set(past)
	if got := c.Now(); !got.Equal(past) {
		t.Errorf("set: got %v, want %v", got, past)
	}
	c.Freeze()
	c.Reset()
	if got := c.Now(); !got.Equal(real.now().Truncate(time.Second).UTC()) || c.Frozen() {
		t.Errorf("reset: got %v frozen=%v", got, c.Frozen())
	}
}

func TestClockConcurrent(t *testing.T) {
	t.Parallel()
	c := NewClock(nil)
	c.Freeze()
	start := c.Now()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if _, err := c.Advance(time.Second); err != nil {
					t.Error(err)
				}
				_ = c.Now()
			}
		})
	}
	wg.Wait()
	if got := c.Now().Sub(start); got != 800*time.Second {
		t.Errorf("800 concurrent advances of 1 s moved the clock %v", got)
	}
}
