package vendorapi

import (
	"fmt"
	"strconv"
	"time"
)

// The clock's range, in Unix seconds: the core's clock shows only times
// from 2000-01-01 to 2100-01-01.
const (
	ClockMinUnix = 946684800
	ClockMaxUnix = 4102444800
)

// LatestExpiry is the latest expiry a vendor may give a token: the end of
// the clock's range plus MaxLifetime. Every time up to it fits in the
// store's and JSON's times.
func LatestExpiry() time.Time { return time.Unix(ClockMaxUnix, 0).UTC().Add(MaxLifetime) }

// MaxLifetime is the longest any duration the emulator takes may be (a
// token's lifetime, a setting): 100 years, so that no time it adds to the
// clock leaves the clock's range.
const MaxLifetime = 100 * 365 * 24 * time.Hour

// Settings reads a vendor's settings (Definition.Configure's argument):
// each method returns the named setting, or its default when it is not
// set, and remembers the first error. A setting's value means the same
// from Go and from the command line, zero included.
type Settings struct {
	Values map[string]string
	Err    error
}

func (s *Settings) fail(name, value, want string) {
	if s.Err == nil {
		s.Err = &SettingError{Name: name, Value: value, Want: want}
	}
}

// SettingError is a setting's value that its vendor refuses.
type SettingError struct {
	Vendor string // filled in by the core
	Name   string
	Value  string
	Want   string
}

func (e *SettingError) Error() string {
	key := e.Name
	if e.Vendor != "" {
		key = e.Vendor + "." + e.Name
	}
	return fmt.Sprintf("setting %s=%q: want %s", key, e.Value, e.Want)
}

// Int returns an integer setting between lo and hi.
func (s *Settings) Int(name string, def, lo, hi int) int {
	v, ok := s.Values[name]
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		s.fail(name, v, fmt.Sprintf("an integer from %d to %d", lo, hi))
		return def
	}
	return n
}

// OneOf returns an integer setting that must be one of the given values.
func (s *Settings) OneOf(name string, def int, allowed ...int) int {
	v, ok := s.Values[name]
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	for _, a := range allowed {
		if err == nil && n == a {
			return n
		}
	}
	s.fail(name, v, fmt.Sprintf("one of %v", allowed))
	return def
}

// Duration returns a duration setting (Go syntax: "30s", "29h") from zero
// to MaxLifetime.
func (s *Settings) Duration(name string, def time.Duration) time.Duration {
	v, ok := s.Values[name]
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > MaxLifetime {
		s.fail(name, v, "a duration such as 30s or 24h, from 0 to 100 years")
		return def
	}
	return d
}

// PositiveDuration is Duration for a setting that must be more than 0s.
func (s *Settings) PositiveDuration(name string, def time.Duration) time.Duration {
	d := s.Duration(name, def)
	if d == 0 {
		s.fail(name, s.Values[name], "more than 0s")
		return def
	}
	return d
}

// Bool returns a boolean setting (true, false, 1, 0).
func (s *Settings) Bool(name string, def bool) bool {
	v, ok := s.Values[name]
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		s.fail(name, v, "true or false")
		return def
	}
	return b
}
