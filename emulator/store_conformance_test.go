package emulator

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// storeFactories lists every Store implementation; each must pass the suite.
var storeFactories = map[string]func() Store{
	"memory": NewMemoryStore,
}

func TestStoreConformance(t *testing.T) {
	t.Parallel()
	for name, newStore := range storeFactories {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testStore(t, newStore)
		})
	}
}

func testStore(t *testing.T, newStore func() Store) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tok := func(vendor, id, secret string, at time.Time) Token {
		return Token{ID: id, Vendor: vendor, Kind: KindAccess, Hash: HashSecret(secret), Principal: "p-" + vendor,
			AccountID: "acct", Scopes: []string{"a", "b"}, IssuedAt: at, ExpiresAt: at.Add(time.Hour)}
	}

	t.Run("put and find", func(t *testing.T) {
		t.Parallel()
		s := newStore()
		want := tok("passport", "1", "secret-1", t0)
		if err := s.PutToken(want); err != nil {
			t.Fatal(err)
		}
		got, err := s.TokenByHash(HashSecret("secret-1"))
		if err != nil || got.ID != "1" || got.Principal != "p-passport" || len(got.Scopes) != 2 {
			t.Fatalf("by hash: %+v %v", got, err)
		}
		if got, err = s.TokenByID("passport", "1"); err != nil || got.Hash != want.Hash {
			t.Fatalf("by id: %+v %v", got, err)
		}
		if _, err := s.TokenByHash(HashSecret("secret-2")); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown hash: %v, want ErrNotFound", err)
		}
		if _, err := s.TokenByID("brass", "1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("same id, other vendor: %v, want ErrNotFound", err)
		}
	})

	t.Run("ids keep their exact form", func(t *testing.T) {
		t.Parallel()
		s := newStore()
		ids := []string{"7", "07", "007", "0", "00", "-7", "+7", "18446744073709551615", "18446744073709551616",
			"9999999999999999999", "99999999999999999999", "3f2b6c1e-8d4a-4e2b-9c1f-5a6b7c8d9e0f",
			"3F2B6C1E-8D4A-4E2B-9C1F-5A6B7C8D9E0F", "{3f2b6c1e-8d4a-4e2b-9c1f-5a6b7c8d9e0f}", "pat 7", ""}
		for i, id := range ids {
			x := tok("brass", id, fmt.Sprint("secret-", i), t0)
			x.Family, x.PairID = id, id // session ids are kept like ids
			if err := s.PutToken(x); err != nil {
				t.Fatalf("put %q: %v", id, err)
			}
		}
		for i, id := range ids {
			got, err := s.TokenByID("brass", id)
			if err != nil || got.ID != id || got.Hash != HashSecret(fmt.Sprint("secret-", i)) {
				t.Errorf("TokenByID(%q) = %q, %v", id, got.ID, err)
			}
			if got.Family != id || got.PairID != id {
				t.Errorf("token %q: family %q and pair %q, want the id", id, got.Family, got.PairID)
			}
			if byHash, _ := s.TokenByHash(HashSecret(fmt.Sprint("secret-", i))); byHash.ID != id {
				t.Errorf("TokenByHash of %q has id %q", id, byHash.ID)
			}
		}
		// Each family is its own: "7", "07" and the upper-case UUID are not
		// another's.
		for _, id := range ids[:len(ids)-1] {
			if got := s.RevokeFamily("brass", id, t0, RevokedByFamily); len(got) != 1 || got[0].ID != id {
				t.Errorf("RevokeFamily(%q) revoked %v", id, got)
			}
		}
		if _, err := s.TokenByID("brass", "8"); !errors.Is(err, ErrNotFound) {
			t.Errorf("an id never stored: %v", err)
		}
	})

	t.Run("duplicates", func(t *testing.T) {
		t.Parallel()
		s := newStore()
		if err := s.PutToken(tok("passport", "1", "x", t0)); err != nil {
			t.Fatal(err)
		}
		if err := s.PutToken(tok("passport", "2", "x", t0)); !errors.Is(err, ErrExists) {
			t.Errorf("same hash: %v, want ErrExists", err)
		}
		if err := s.PutToken(tok("passport", "1", "y", t0)); !errors.Is(err, ErrExists) {
			t.Errorf("same id: %v, want ErrExists", err)
		}
		if err := s.PutToken(tok("brass", "1", "y", t0)); err != nil {
			t.Errorf("same id, other vendor: %v", err)
		}
	})

	t.Run("records are copies", func(t *testing.T) {
		t.Parallel()
		s := newStore()
		in := tok("passport", "1", "x", t0)
		if err := s.PutToken(in); err != nil {
			t.Fatal(err)
		}
		in.Scopes[0] = "changed by caller"
		got, _ := s.TokenByID("passport", "1")
		if got.Scopes[0] != "a" {
			t.Errorf("store shares the caller's slice: %v", got.Scopes)
		}
		got.RevokedAt = t0
		if again, _ := s.TokenByID("passport", "1"); !again.RevokedAt.IsZero() {
			t.Error("store returned a pointer into its own record")
		}
	})

	t.Run("list filters and order", func(t *testing.T) {
		t.Parallel()
		s := newStore()
		for i, v := range []string{"passport", "brass", "passport", "passport"} {
			at := t0.Add(time.Duration(3-i) * time.Minute) // issued in reverse order
			if err := s.PutToken(tok(v, fmt.Sprint(i), fmt.Sprint("s", i), at)); err != nil {
				t.Fatal(err)
			}
		}
		got := s.Tokens(TokenFilter{Vendor: "passport"})
		if len(got) != 3 || got[0].ID != "3" || got[1].ID != "2" || got[2].ID != "0" {
			t.Errorf("passport tokens oldest first: %v", ids(got))
		}
		if got := s.Tokens(TokenFilter{}); len(got) != 4 {
			t.Errorf("all: %v", ids(got))
		}
		if got := s.Tokens(TokenFilter{Principal: "p-brass"}); len(got) != 1 || got[0].ID != "1" {
			t.Errorf("by principal: %v", ids(got))
		}
		if got := s.Tokens(TokenFilter{AccountID: "other"}); len(got) != 0 || got == nil {
			t.Errorf("no match: got %v, want an empty non-nil slice", got)
		}
	})

	t.Run("revoke", func(t *testing.T) {
		t.Parallel()
		s := newStore()
		if err := s.PutToken(tok("passport", "1", "x", t0)); err != nil {
			t.Fatal(err)
		}
		at := t0.Add(time.Minute)
		got, err := s.RevokeToken("passport", "1", at, RevokedByAPI)
		if err != nil || !got.RevokedAt.Equal(at) || got.StateAt(at) != StateRevoked || got.RevokeReason != RevokedByAPI {
			t.Fatalf("revoke: %+v %v", got, err)
		}
		if byHash, _ := s.TokenByHash(HashSecret("x")); !byHash.RevokedAt.Equal(at) {
			t.Error("revocation not visible by hash")
		}
		if again, err := s.RevokeToken("passport", "1", at.Add(time.Hour), RevokedByRotation); !errors.Is(err, ErrRevoked) ||
			again.RevokeReason != RevokedByAPI || !again.RevokedAt.Equal(at) {
			t.Errorf("revoke twice: %+v %v, want ErrRevoked and the first revocation kept", again, err)
		}
		if _, err := s.RevokeToken("passport", "nope", at, RevokedByAPI); !errors.Is(err, ErrNotFound) {
			t.Errorf("revoke unknown: %v, want ErrNotFound", err)
		}
	})

	t.Run("expire", func(t *testing.T) {
		t.Parallel()
		s := newStore()
		never := tok("passkit", "ll", "ll", t0)
		never.ExpiresAt = time.Time{}
		for _, x := range []Token{tok("passport", "1", "x", t0), never} {
			if err := s.PutToken(x); err != nil {
				t.Fatal(err)
			}
		}
		at := t0.Add(time.Minute)
		got, err := s.ExpireToken("passport", "1", at)
		if err != nil || !got.ExpiresAt.Equal(at) || got.StateAt(at) != StateExpired || got.StateAt(at.Add(-time.Second)) != StateActive {
			t.Errorf("expire: %+v %v", got, err)
		}
		if got, _ = s.ExpireToken("passport", "1", t0.Add(time.Hour)); !got.ExpiresAt.Equal(at) {
			t.Errorf("a later expiry moved it to %v", got.ExpiresAt)
		}
		if got, err = s.ExpireToken("passkit", "ll", at); err != nil || !got.ExpiresAt.Equal(at) {
			t.Errorf("expire a never-expiring token: %+v %v", got, err)
		}
		if byHash, _ := s.TokenByHash(HashSecret("ll")); !byHash.ExpiresAt.Equal(at) {
			t.Error("expiry not visible by hash")
		}
		if _, err := s.ExpireToken("passport", "nope", at); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown: %v", err)
		}
	})

	t.Run("families", func(t *testing.T) {
		t.Parallel()
		s := newStore()
		for i, fam := range []string{"f1", "f1", "f2", "f1"} {
			x := tok("teletracker", fmt.Sprint(i), fmt.Sprint("s", i), t0)
			x.Family = fam
			if err := s.PutToken(x); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.RevokeToken("teletracker", "1", t0, RevokedByRotation); err != nil {
			t.Fatal(err)
		}
		got := s.RevokeFamily("teletracker", "f1", t0.Add(time.Minute), RevokedByFamily)
		if len(got) != 2 || got[0].RevokeReason != RevokedByFamily {
			t.Errorf("revoked %v, want tokens 0 and 3", ids(got))
		}
		if one, _ := s.TokenByID("teletracker", "1"); one.RevokeReason != RevokedByRotation {
			t.Errorf("an already revoked member changed reason to %q", one.RevokeReason)
		}
		if two, _ := s.TokenByID("teletracker", "2"); !two.RevokedAt.IsZero() {
			t.Error("another family was revoked")
		}
		if got := s.Tokens(TokenFilter{Family: "f1"}); len(got) != 3 {
			t.Errorf("family filter: %v", ids(got))
		}
		if got := s.Tokens(TokenFilter{Vendor: "teletracker", Family: "f1"}); len(got) != 3 {
			t.Errorf("vendor and family filter: %v", ids(got))
		}
		if got := s.RevokeFamily("teletracker", "none", t0, RevokedByFamily); len(got) != 0 {
			t.Errorf("unknown family: %v", ids(got))
		}
		// A revoked family stays revoked: a token put in it afterwards (a
		// rotation that lost the race) is stored revoked.
		late := tok("teletracker", "4", "s4", t0.Add(2*time.Minute))
		late.Family = "f1"
		if err := s.PutToken(late); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.TokenByID("teletracker", "4"); got.StateAt(t0.Add(3*time.Minute)) != StateRevoked || got.RevokeReason != RevokedByFamily {
			t.Errorf("a token put in a revoked family: %+v", got)
		}
		other := tok("passport", "5", "s5", t0)
		other.Family = "f1" // the same family name at another vendor is another family
		if err := s.PutToken(other); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.TokenByID("passport", "5"); !got.RevokedAt.IsZero() {
			t.Error("another vendor's family f1 was revoked")
		}
	})

	t.Run("revoke race has one winner", func(t *testing.T) {
		t.Parallel()
		s := newStore()
		if err := s.PutToken(tok("teletracker", "r", "r", t0)); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for range 16 {
			wg.Go(func() {
				if _, err := s.RevokeToken("teletracker", "r", t0, RevokedByRotation); err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if wins != 1 {
			t.Errorf("%d of 16 concurrent revokes succeeded, want exactly 1", wins)
		}
	})

	t.Run("reset", func(t *testing.T) {
		t.Parallel()
		s := newStore()
		if err := s.PutToken(tok("passport", "1", "x", t0)); err != nil {
			t.Fatal(err)
		}
		s.Reset()
		if _, err := s.TokenByHash(HashSecret("x")); !errors.Is(err, ErrNotFound) {
			t.Errorf("after reset: %v", err)
		}
		if err := s.PutToken(tok("passport", "1", "x", t0)); err != nil {
			t.Errorf("put after reset: %v", err)
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		t.Parallel()
		s := newStore()
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 200 {
					id := fmt.Sprintf("%d-%d", g, i)
					if err := s.PutToken(tok("passport", id, id, t0)); err != nil {
						t.Error(err)
						return
					}
					if _, err := s.TokenByHash(HashSecret(id)); err != nil {
						t.Error(err)
						return
					}
					if i%2 == 0 {
						if _, err := s.RevokeToken("passport", id, t0, RevokedByAPI); err != nil {
							t.Error(err)
							return
						}
					}
					if i%50 == 0 {
						_ = s.Tokens(TokenFilter{Vendor: "passport"})
					}
				}
			})
		}
		wg.Wait()
		all := s.Tokens(TokenFilter{})
		revoked := 0
		for _, x := range all {
			if !x.RevokedAt.IsZero() {
				revoked++
			}
		}
		if len(all) != 1600 || revoked != 800 {
			t.Errorf("after concurrent use: %d tokens, %d revoked; want 1600 and 800", len(all), revoked)
		}
	})
}

func ids(ts []Token) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return out
}

func TestTokenStateAt(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tk := Token{IssuedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	cases := []struct {
		at   time.Time
		tok  Token
		want TokenState
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
