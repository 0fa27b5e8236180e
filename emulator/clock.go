package emulator

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tokenemu/tokenemu/emulator/vendorapi"
)

// Clock is the emulator's one source of time. It is virtual: it starts at real now
// (truncated to the second) and runs at real speed, but it can be advanced, set,
// frozen and resumed. Every expiry, iat, created_at and lifetime check reads it.
// It is safe for concurrent use.
type Clock struct {
	real func() time.Time

	mu     sync.RWMutex
	base   time.Time // virtual time at anchor
	anchor time.Time // real time (with monotonic reading) when base was set
	frozen bool
}

// NewClock returns a running clock at real now truncated to the second. A nil
// real uses time.Now; tests may pass their own source of real time.
func NewClock(real func() time.Time) *Clock {
	if real == nil {
		real = time.Now
	}
	c := &Clock{real: real}
	c.resetLocked()
	return c
}

func (c *Clock) resetLocked() {
	now := c.real()
	c.anchor = now
	c.base = now.Truncate(time.Second).UTC()
	c.frozen = false
}

// Now returns the virtual time, in UTC.
func (c *Clock) Now() time.Time {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.nowLocked()
}

func (c *Clock) nowLocked() time.Time {
	if c.frozen {
		return c.base
	}
	// Sub uses the monotonic readings when both times carry them, so wall-clock
	// jumps on the host do not move the virtual clock.
	return c.base.Add(c.real().Sub(c.anchor))
}

// The clock's range: the virtual clock shows only times from MinTime to
// MaxTime, and every lifetime, skew and Retry-After is at most MaxLifetime,
// so that every time the emulator computes (an expiry at most MaxLifetime
// after the clock) stays within what Go's nanosecond times, the store and
// JSON can hold (years 1678 to 2262). Setting or moving the clock outside
// the range, or a longer lifetime, is an error that names the limit.
const (
	minClockUnix = vendorapi.ClockMinUnix
	maxClockUnix = vendorapi.ClockMaxUnix
	MaxLifetime  = vendorapi.MaxLifetime
)

// MinTime and MaxTime return the bounds of the clock's range.
func MinTime() time.Time { return time.Unix(minClockUnix, 0).UTC() }

// MaxTime is the latest time the clock may show.
func MaxTime() time.Time { return time.Unix(maxClockUnix, 0).UTC() }

// ErrClockRange is wrapped by Set and Advance for a time outside the clock's range.
var ErrClockRange = errors.New("clock: outside the clock's range, 2000-01-01T00:00:00Z to 2100-01-01T00:00:00Z")

func inClockRange(t time.Time) error {
	if t.Before(MinTime()) || t.After(MaxTime()) {
		return fmt.Errorf("%w: %s", ErrClockRange, t.UTC().Format(time.RFC3339))
	}
	return nil
}

// ErrNegativeAdvance is returned by Advance for a negative duration: moving time
// backwards is done with Set, so that it is always deliberate.
var ErrNegativeAdvance = errors.New("clock: cannot advance by a negative duration; use set")

// Advance moves the virtual clock forward by d and returns the new time.
func (c *Clock) Advance(d time.Duration) (time.Time, error) {
	if d < 0 {
		return time.Time{}, ErrNegativeAdvance
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.nowLocked()
	if d > MaxTime().Sub(now) {
		return time.Time{}, fmt.Errorf("%w: advancing %v from %s", ErrClockRange, d, now.Format(time.RFC3339))
	}
	c.rebaseLocked(now.Add(d))
	return c.base, nil
}

// Set moves the virtual clock to t, forwards or backwards, within the
// clock's range (ErrClockRange).
func (c *Clock) Set(t time.Time) (time.Time, error) {
	if err := inClockRange(t); err != nil {
		return time.Time{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rebaseLocked(t.UTC())
	return c.base, nil
}

func (c *Clock) rebaseLocked(t time.Time) {
	c.base = t
	c.anchor = c.real()
}

// Freeze stops the clock where it stands. It then moves only through Advance or Set.
func (c *Clock) Freeze() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.frozen {
		c.rebaseLocked(c.nowLocked())
		c.frozen = true
	}
	return c.base
}

// Resume lets a frozen clock run again from the time it shows.
func (c *Clock) Resume() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen {
		c.rebaseLocked(c.base)
		c.frozen = false
	}
	return c.base
}

// Frozen reports whether the clock is frozen.
func (c *Clock) Frozen() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.frozen
}

// Reset puts the clock back to real now (truncated to the second) and running.
func (c *Clock) Reset() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.resetLocked()
	return c.base
}
