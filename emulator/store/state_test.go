package store

import (
	"testing"
	"time"
)

func TestTokenStateAt(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tk := Token{IssuedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	cases := []struct {
		at   time.Time
		tok  Token
		want State
	}{
		{t0, tk, StateActive},
		{t0.Add(time.Hour - time.Nanosecond), tk, StateActive},
		{t0.Add(time.Hour), tk, StateExpired},
		{t0.Add(100 * 365 * 24 * time.Hour), Token{IssuedAt: t0}, StateActive},
		{t0, Token{IssuedAt: t0, ExpiresAt: t0.Add(time.Hour), RevokedAt: t0}, StateRevoked},
		{t0.Add(2 * time.Hour), Token{IssuedAt: t0, ExpiresAt: t0.Add(time.Hour), RevokedAt: t0}, StateRevoked},
	}
	for _, c := range cases {
		if got := c.tok.StateAt(c.at); got != c.want {
			t.Errorf("StateAt(%v) of %+v = %s, want %s", c.at, c.tok, got, c.want)
		}
	}
}
