// Package storetest is the conformance suite of store.Store: every
// implementation, in this module or outside it, passes it by calling Run
// from a test.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func() store.Store { return mystore.New() })
//	}
package storetest

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenemu/tokenemu/emulator/store"
)

// Run runs the conformance suite against the stores newStore makes: each
// subtest calls it for a store of its own, and they run in parallel.
func Run(t *testing.T, newStore func() store.Store) {
	ctx := t.Context()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tok := func(vendor, id, secret string, at time.Time) store.Token {
		return store.Token{ID: id, Vendor: vendor, Kind: store.KindAccess, Hash: store.HashSecret(secret), Principal: "p-" + vendor,
			AccountID: "acct", Scopes: []string{"a", "b"}, IssuedAt: at, ExpiresAt: at.Add(time.Hour)}
	}

	t.Run("put and find", func(t *testing.T) {
		t.Parallel()
		s := newStore()
		want := tok("passport", "1", "secret-1", t0)
		if err := s.Put(ctx, want); err != nil {
			t.Fatal(err)
		}
		got, err := s.ByHash(ctx, store.HashSecret("secret-1"))
		if err != nil || got.ID != "1" || got.Principal != "p-passport" || len(got.Scopes) != 2 {
			t.Fatalf("by hash: %+v %v", got, err)
		}
		if got, err = s.ByID(ctx, "passport", "1"); err != nil || got.Hash != want.Hash {
			t.Fatalf("by id: %+v %v", got, err)
		}
		if _, err := s.ByHash(ctx, store.HashSecret("secret-2")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown hash: %v, want store.ErrNotFound", err)
		}
		if _, err := s.ByID(ctx, "brass", "1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("same id, other vendor: %v, want store.ErrNotFound", err)
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
			if err := s.Put(ctx, x); err != nil {
				t.Fatalf("put %q: %v", id, err)
			}
		}
		for i, id := range ids {
			got, err := s.ByID(ctx, "brass", id)
			if err != nil || got.ID != id || got.Hash != store.HashSecret(fmt.Sprint("secret-", i)) {
				t.Errorf("ByID(%q) = %q, %v", id, got.ID, err)
			}
			if got.Family != id || got.PairID != id {
				t.Errorf("token %q: family %q and pair %q, want the id", id, got.Family, got.PairID)
			}
			if byHash, _ := s.ByHash(ctx, store.HashSecret(fmt.Sprint("secret-", i))); byHash.ID != id {
				t.Errorf("ByHash of %q has id %q", id, byHash.ID)
			}
		}
		// Each family is its own: "7", "07" and the upper-case UUID are not
		// another's.
		for _, id := range ids[:len(ids)-1] {
			if got := revokeFamily(t, s, "brass", id, t0, store.RevokedByFamily); len(got) != 1 || got[0].ID != id {
				t.Errorf("RevokeFamily(%q) revoked %v", id, got)
			}
		}
		if _, err := s.ByID(ctx, "brass", "8"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("an id never stored: %v", err)
		}
	})

	t.Run("duplicates", func(t *testing.T) {
		t.Parallel()
		s := newStore()
		if err := s.Put(ctx, tok("passport", "1", "x", t0)); err != nil {
			t.Fatal(err)
		}
		if err := s.Put(ctx, tok("passport", "2", "x", t0)); !errors.Is(err, store.ErrExists) {
			t.Errorf("same hash: %v, want store.ErrExists", err)
		}
		if err := s.Put(ctx, tok("passport", "1", "y", t0)); !errors.Is(err, store.ErrExists) {
			t.Errorf("same id: %v, want store.ErrExists", err)
		}
		if err := s.Put(ctx, tok("brass", "1", "y", t0)); err != nil {
			t.Errorf("same id, other vendor: %v", err)
		}
	})

	t.Run("records are copies", func(t *testing.T) {
		t.Parallel()
		s := newStore()
		in := tok("passport", "1", "x", t0)
		if err := s.Put(ctx, in); err != nil {
			t.Fatal(err)
		}
		in.Scopes[0] = "changed by caller"
		got, _ := s.ByID(ctx, "passport", "1")
		if got.Scopes[0] != "a" {
			t.Errorf("store shares the caller's slice: %v", got.Scopes)
		}
		got.RevokedAt = t0
		if again, _ := s.ByID(ctx, "passport", "1"); !again.RevokedAt.IsZero() {
			t.Error("store returned a pointer into its own record")
		}
	})

	t.Run("list filters and order", func(t *testing.T) {
		t.Parallel()
		s := newStore()
		for i, v := range []string{"passport", "brass", "passport", "passport"} {
			at := t0.Add(time.Duration(3-i) * time.Minute) // issued in reverse order
			if err := s.Put(ctx, tok(v, fmt.Sprint(i), fmt.Sprint("s", i), at)); err != nil {
				t.Fatal(err)
			}
		}
		got := list(t, s, store.Query{Vendor: "passport"})
		if len(got) != 3 || got[0].ID != "3" || got[1].ID != "2" || got[2].ID != "0" {
			t.Errorf("passport tokens oldest first: %v", ids(got))
		}
		if got := list(t, s, store.Query{}); len(got) != 4 {
			t.Errorf("all: %v", ids(got))
		}
		if got := list(t, s, store.Query{Principal: "p-brass"}); len(got) != 1 || got[0].ID != "1" {
			t.Errorf("by principal: %v", ids(got))
		}
		if got := list(t, s, store.Query{AccountID: "other"}); len(got) != 0 || got == nil {
			t.Errorf("no match: got %v, want an empty non-nil slice", got)
		}
	})

	t.Run("revoke", func(t *testing.T) {
		t.Parallel()
		s := newStore()
		if err := s.Put(ctx, tok("passport", "1", "x", t0)); err != nil {
			t.Fatal(err)
		}
		at := t0.Add(time.Minute)
		got, err := s.Revoke(ctx, "passport", "1", at, store.RevokedByAPI)
		if err != nil || !got.RevokedAt.Equal(at) || got.StateAt(at) != store.StateRevoked || got.RevokeReason != store.RevokedByAPI {
			t.Fatalf("revoke: %+v %v", got, err)
		}
		if byHash, _ := s.ByHash(ctx, store.HashSecret("x")); !byHash.RevokedAt.Equal(at) {
			t.Error("revocation not visible by hash")
		}
		if again, err := s.Revoke(ctx, "passport", "1", at.Add(time.Hour), store.RevokedByRotation); !errors.Is(err, store.ErrRevoked) ||
			again.RevokeReason != store.RevokedByAPI || !again.RevokedAt.Equal(at) {
			t.Errorf("revoke twice: %+v %v, want store.ErrRevoked and the first revocation kept", again, err)
		}
		if _, err := s.Revoke(ctx, "passport", "nope", at, store.RevokedByAPI); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("revoke unknown: %v, want store.ErrNotFound", err)
		}
	})

	t.Run("expire", func(t *testing.T) {
		t.Parallel()
		s := newStore()
		never := tok("passkit", "ll", "ll", t0)
		never.ExpiresAt = time.Time{}
		for _, x := range []store.Token{tok("passport", "1", "x", t0), never} {
			if err := s.Put(ctx, x); err != nil {
				t.Fatal(err)
			}
		}
		at := t0.Add(time.Minute)
		got, err := s.Expire(ctx, "passport", "1", at)
		if err != nil || !got.ExpiresAt.Equal(at) || got.StateAt(at) != store.StateExpired || got.StateAt(at.Add(-time.Second)) != store.StateActive {
			t.Errorf("expire: %+v %v", got, err)
		}
		if got, _ = s.Expire(ctx, "passport", "1", t0.Add(time.Hour)); !got.ExpiresAt.Equal(at) {
			t.Errorf("a later expiry moved it to %v", got.ExpiresAt)
		}
		if got, err = s.Expire(ctx, "passkit", "ll", at); err != nil || !got.ExpiresAt.Equal(at) {
			t.Errorf("expire a never-expiring token: %+v %v", got, err)
		}
		if byHash, _ := s.ByHash(ctx, store.HashSecret("ll")); !byHash.ExpiresAt.Equal(at) {
			t.Error("expiry not visible by hash")
		}
		if _, err := s.Expire(ctx, "passport", "nope", at); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown: %v", err)
		}
	})

	t.Run("families", func(t *testing.T) {
		t.Parallel()
		s := newStore()
		for i, fam := range []string{"f1", "f1", "f2", "f1"} {
			x := tok("teletracker", fmt.Sprint(i), fmt.Sprint("s", i), t0.Add(-time.Duration(i)*time.Minute)) // put newest first
			x.Family = fam
			if err := s.Put(ctx, x); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Revoke(ctx, "teletracker", "1", t0, store.RevokedByRotation); err != nil {
			t.Fatal(err)
		}
		got := revokeFamily(t, s, "teletracker", "f1", t0.Add(time.Minute), store.RevokedByFamily)
		if len(got) != 2 || got[0].RevokeReason != store.RevokedByFamily || got[0].ID != "3" || got[1].ID != "0" {
			t.Errorf("revoked %v, want tokens 3 and 0, oldest first", ids(got))
		}
		if one, _ := s.ByID(ctx, "teletracker", "1"); one.RevokeReason != store.RevokedByRotation {
			t.Errorf("an already revoked member changed reason to %q", one.RevokeReason)
		}
		if two, _ := s.ByID(ctx, "teletracker", "2"); !two.RevokedAt.IsZero() {
			t.Error("another family was revoked")
		}
		if got := list(t, s, store.Query{Family: "f1"}); len(got) != 3 {
			t.Errorf("family filter: %v", ids(got))
		}
		if got := list(t, s, store.Query{Vendor: "teletracker", Family: "f1"}); len(got) != 3 {
			t.Errorf("vendor and family filter: %v", ids(got))
		}
		if got := revokeFamily(t, s, "teletracker", "none", t0, store.RevokedByFamily); len(got) != 0 || got == nil {
			t.Errorf("unknown family: %v, want an empty non-nil slice", ids(got))
		}
		if got := revokeFamily(t, s, "teletracker", "", t0, store.RevokedByFamily); len(got) != 0 {
			t.Errorf("the empty family revoked %v: a token with no family is in none", ids(got))
		}
		// A revoked family stays revoked: a token put in it afterwards (a
		// rotation that lost the race) is stored revoked.
		late := tok("teletracker", "4", "s4", t0.Add(2*time.Minute))
		late.Family = "f1"
		if err := s.Put(ctx, late); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.ByID(ctx, "teletracker", "4"); got.StateAt(t0.Add(3*time.Minute)) != store.StateRevoked || got.RevokeReason != store.RevokedByFamily {
			t.Errorf("a token put in a revoked family: %+v", got)
		}
		other := tok("passport", "5", "s5", t0)
		other.Family = "f1" // the same family name at another vendor is another family
		if err := s.Put(ctx, other); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.ByID(ctx, "passport", "5"); !got.RevokedAt.IsZero() {
			t.Error("another vendor's family f1 was revoked")
		}
	})

	t.Run("revoke race has one winner", func(t *testing.T) {
		t.Parallel()
		s := newStore()
		if err := s.Put(ctx, tok("teletracker", "r", "r", t0)); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for range 16 {
			wg.Go(func() {
				if _, err := s.Revoke(ctx, "teletracker", "r", t0, store.RevokedByRotation); err == nil {
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
		if err := s.Put(ctx, tok("passport", "1", "x", t0)); err != nil {
			t.Fatal(err)
		}
		if err := s.Reset(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ByHash(ctx, store.HashSecret("x")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("after reset: %v", err)
		}
		if err := s.Put(ctx, tok("passport", "1", "x", t0)); err != nil {
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
					if err := s.Put(ctx, tok("passport", id, id, t0)); err != nil {
						t.Error(err)
						return
					}
					if _, err := s.ByHash(ctx, store.HashSecret(id)); err != nil {
						t.Error(err)
						return
					}
					if i%2 == 0 {
						if _, err := s.Revoke(ctx, "passport", id, t0, store.RevokedByAPI); err != nil {
							t.Error(err)
							return
						}
					}
					if i%50 == 0 {
						_ = list(t, s, store.Query{Vendor: "passport"})
					}
				}
			})
		}
		wg.Wait()
		all := list(t, s, store.Query{})
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

	for name, fn := range map[string]func(*testing.T, store.Store){
		"against a model": againstAModel, "queries": queries, "sweeps": sweeps, "snapshots": snapshots,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, newStore())
		})
	}
}

// against a model: tokens put, revoked, expired and swept at random
// (principals, families and hash and id chains shared), after which every
// lookup, listing and family revocation answers as a plain map says.
func againstAModel(t *testing.T, s store.Store) {
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(7, 11))
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	model := map[string]store.Token{}     // by vendor/id
	familyMarks := map[string]time.Time{} // the families revoked, and when first
	key := func(t store.Token) string { return t.Vendor + "/" + t.ID }
	now := t0
	for i := range 5_000 {
		now = now.Add(time.Duration(rng.IntN(60)) * time.Second)
		switch op := rng.IntN(10); {
		case op < 6:
			v := []string{"passport", "teletracker"}[rng.IntN(2)]
			tk := store.Token{ID: fmt.Sprint(i), Vendor: v, Kind: store.KindAccess, Hash: store.HashSecret(fmt.Sprint("s", i)),
				Principal: fmt.Sprint("p", rng.IntN(5)), IssuedAt: now, ExpiresAt: now.Add(time.Duration(1+rng.IntN(3600)) * time.Second)}
			if v == "teletracker" {
				tk.Family = fmt.Sprint("f", rng.IntN(50))
			}
			if err := s.Put(ctx, tk); err != nil {
				t.Fatal(err)
			}
			if at, ok := familyMarks[tk.Family]; ok && tk.Family != "" && v == "teletracker" { // born revoked in a revoked family
				tk.RevokedAt, tk.RevokeReason = at, store.RevokedByFamily
			}
			model[key(tk)] = tk
		case op < 7:
			for _, tk := range model {
				if _, err := s.Revoke(ctx, tk.Vendor, tk.ID, now, store.RevokedByAPI); err == nil {
					tk.RevokedAt, tk.RevokeReason = now, store.RevokedByAPI
					model[key(tk)] = tk
				}
				break
			}
		case op < 8:
			fam := fmt.Sprint("f", rng.IntN(50))
			for _, g := range revokeFamily(t, s, "teletracker", fam, now, store.RevokedByFamily) {
				tk := model[key(g)]
				tk.RevokedAt, tk.RevokeReason = now, store.RevokedByFamily
				model[key(tk)] = tk
			}
			if _, ok := familyMarks[fam]; !ok {
				familyMarks[fam] = now
			}
		case op < 9:
			before := now.Add(-time.Duration(rng.IntN(7200)) * time.Second)
			if _, err := s.Sweep(ctx, before, 0); err != nil {
				t.Fatal(err)
			}
			for k, tk := range model {
				if tk.Sweepable(before) {
					delete(model, k)
				}
			}
			for f, at := range familyMarks {
				if at.Before(before) {
					delete(familyMarks, f)
				}
			}
		default:
			checkAgainstModel(t, s, model)
		}
	}
	checkAgainstModel(t, s, model)
	if st, err := s.Stats(ctx); err != nil || st.Tokens != len(model) {
		t.Errorf("Stats: %+v %v; the model holds %d tokens", st, err, len(model))
	}
}

func checkAgainstModel(t *testing.T, s store.Store, model map[string]store.Token) {
	t.Helper()
	ctx := t.Context()
	type vp struct{ vendor, principal string }
	byPrincipal := map[vp][]string{}
	for _, tk := range model {
		got, err := s.ByID(ctx, tk.Vendor, tk.ID)
		if err != nil || !got.RevokedAt.Equal(tk.RevokedAt) || got.Hash != tk.Hash {
			t.Fatalf("%s/%s: %+v %v, want %+v", tk.Vendor, tk.ID, got, err, tk)
		}
		if got, err := s.ByHash(ctx, tk.Hash); err != nil || got.ID != tk.ID {
			t.Fatalf("by hash %s/%s: %+v %v", tk.Vendor, tk.ID, got, err)
		}
		k := vp{tk.Vendor, tk.Principal}
		byPrincipal[k] = append(byPrincipal[k], tk.ID)
	}
	for k, want := range byPrincipal {
		got := ids(list(t, s, store.Query{Vendor: k.vendor, Principal: k.principal}))
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("%v: listed %v, want %v", k, got, want)
		}
	}
	byFamily := map[string]int{}
	for _, tk := range model {
		if tk.Family != "" {
			byFamily[tk.Family]++
		}
	}
	for fam, n := range byFamily {
		if got := list(t, s, store.Query{Vendor: "teletracker", Family: fam}); len(got) != n {
			t.Fatalf("family %s: listed %d tokens, want %d", fam, len(got), n)
		}
	}
	if all := list(t, s, store.Query{}); len(all) != len(model) {
		t.Fatalf("listed %d tokens, want %d", len(all), len(model))
	}
}

// queries: every field of a Query, each paging form, and both orders, on a
// small set of tokens whose answers are worked out by hand.
func queries(t *testing.T, s store.Store) {
	ctx := t.Context()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(i int, vendor, principal, account string, kind store.Kind, roles ...string) store.Token {
		return store.Token{ID: fmt.Sprintf("id-%02d", i), Vendor: vendor, Kind: kind, Hash: store.HashSecret(fmt.Sprint("q", i)),
			Principal: principal, AccountID: account, Roles: roles,
			IssuedAt: t0.Add(time.Duration(i) * time.Minute), ExpiresAt: t0.Add(time.Duration(100-i) * time.Minute)}
	}
	toks := []store.Token{
		mk(0, "passport", "a", "acc1", store.KindAccess, "r1"),
		mk(1, "passport", "b", "acc1", store.KindAccess, "r2"),
		mk(2, "passport", "c", "acc2", store.KindAccess, "r1", "r2"),
		mk(3, "passport", "a", "acc1", store.KindAccess),
		mk(4, "brass", "a", "", store.KindPAT),
		mk(5, "brass", "a", "", store.KindJWT),
		mk(6, "passport", "b", "acc1", store.KindAccess, "r1"),
		mk(7, "passport", "a", "acc1", store.KindAccess, "r1"),
	}
	toks[4].ExpiresAt = time.Time{}     // never expires
	toks[5].IssuedAt = toks[4].IssuedAt // a tie on time: the ID decides
	for _, tk := range toks {
		if err := s.Put(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Revoke(ctx, "passport", "id-06", t0, store.RevokedByAPI); err != nil {
		t.Fatal(err)
	}
	at := t0.Add(95 * time.Minute) // id-05 (expires at 95 min) on have expired
	cases := []struct {
		q    store.Query
		want []string
	}{
		{store.Query{}, []string{"id-00", "id-01", "id-02", "id-03", "id-04", "id-05", "id-06", "id-07"}},
		{store.Query{Vendor: "brass"}, []string{"id-04", "id-05"}},
		{store.Query{Principal: "a"}, []string{"id-00", "id-03", "id-04", "id-05", "id-07"}},
		{store.Query{Vendor: "passport", Principal: "a"}, []string{"id-00", "id-03", "id-07"}},
		{store.Query{Vendor: "passport", Principals: []string{"a", "c", "zz", "a"}}, []string{"id-00", "id-02", "id-03", "id-07"}},
		{store.Query{Principals: []string{"b"}, Principal: "a"}, nil},
		{store.Query{Kind: store.KindPAT}, []string{"id-04"}},
		{store.Query{AccountID: "acc2"}, []string{"id-02"}},
		{store.Query{Vendor: "passport", Role: "r2"}, []string{"id-01", "id-02"}},
		{store.Query{IssuedBy: t0.Add(2 * time.Minute)}, []string{"id-00", "id-01", "id-02"}},
		{store.Query{State: store.StateRevoked, At: at}, []string{"id-06"}},
		{store.Query{State: store.StateExpired, At: at}, []string{"id-05", "id-07"}},
		{store.Query{Vendor: "passport", State: store.StateActive, At: at}, []string{"id-00", "id-01", "id-02", "id-03"}},
		{store.Query{Vendor: "passport", Desc: true}, []string{"id-07", "id-06", "id-03", "id-02", "id-01", "id-00"}},
		{store.Query{Vendor: "passport", ByExpiry: true, Limit: 2}, []string{"id-07", "id-06"}},
		{store.Query{Vendor: "passport", ByExpiry: true, Desc: true, Offset: 4}, []string{"id-06", "id-07"}},
		{store.Query{Offset: 3, Limit: 2}, []string{"id-03", "id-04"}},
		{store.Query{Offset: 1 << 60, Limit: 2}, nil},
		{store.Query{After: &store.Cursor{At: toks[4].IssuedAt, ID: "id-04"}, Limit: 2}, []string{"id-05", "id-06"}},
		{store.Query{After: &store.Cursor{At: toks[4].IssuedAt, ID: "id-045"}}, []string{"id-05", "id-06", "id-07"}},
		{store.Query{Desc: true, After: &store.Cursor{At: toks[5].IssuedAt, ID: "id-05"}, Limit: 1}, []string{"id-04"}},
		{store.Query{Vendor: "nobody"}, nil},
		{store.Query{Vendor: "brass", Family: "none"}, nil},
	}
	for _, c := range cases {
		p, err := s.List(ctx, c.q)
		if err != nil {
			t.Fatalf("List(%+v): %v", c.q, err)
		}
		if got := ids(p.Tokens); !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
			t.Errorf("List(%+v) = %v, want %v", c.q, got, c.want)
		}
		if p.Tokens == nil {
			t.Errorf("List(%+v): nil Tokens, want an empty slice", c.q)
		}
	}
	// Total counts every match, More says whether the page is the last.
	p, err := s.List(ctx, store.Query{Vendor: "passport", Limit: 4})
	if err != nil || p.Total != 6 || !p.More || len(p.Tokens) != 4 {
		t.Errorf("first page: %d tokens, total %d, more %v, %v; want 4, 6, true", len(p.Tokens), p.Total, p.More, err)
	}
	q := store.Query{Vendor: "passport", Limit: 4}
	q.After = new(q.CursorOf(p.Tokens[3]))
	if p, err = s.List(ctx, q); err != nil || p.Total != 6 || p.More || !slices.Equal(ids(p.Tokens), []string{"id-06", "id-07"}) {
		t.Errorf("second page: %v, total %d, more %v, %v", ids(p.Tokens), p.Total, p.More, err)
	}
}

// sweeps: what a sweep forgets and what it keeps, and that a budget of a
// few tokens a call gets there too.
func sweeps(t *testing.T, s store.Store) {
	ctx := t.Context()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	put := func(id string, expires, revoked, own time.Time) {
		t.Helper()
		tk := store.Token{ID: id, Vendor: "v", Kind: store.KindAccess, Hash: store.HashSecret(id), Principal: "p",
			IssuedAt: t0, ExpiresAt: expires, RevokedAt: revoked, OwnExpiresAt: own}
		if !revoked.IsZero() {
			tk.RevokeReason = store.RevokedByAPI
		}
		if err := s.Put(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	put("expired-long-ago", h(1), time.Time{}, time.Time{})
	put("revoked-long-ago", h(50), h(1), time.Time{})
	put("expired-lately", h(9), time.Time{}, time.Time{})
	put("live", h(50), time.Time{}, time.Time{})
	put("never", time.Time{}, time.Time{}, time.Time{})
	put("jwt-still-valid", h(1), time.Time{}, h(50)) // expired by an admin, but its signature says h(50)
	put("jwt-done", h(1), time.Time{}, h(2))
	for i := range 40 {
		put(fmt.Sprint("filler-", i), h(1), time.Time{}, time.Time{})
	}
	if _, err := s.RevokeFamily(ctx, "v", "fam", h(1), store.RevokedByFamily); err != nil {
		t.Fatal(err)
	}
	total := 0
	for range 100 {
		n, err := s.Sweep(ctx, h(5), 4)
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	if total != 43 {
		t.Errorf("swept %d tokens, want 43", total)
	}
	for _, id := range []string{"expired-lately", "live", "never", "jwt-still-valid"} {
		if _, err := s.ByID(ctx, "v", id); err != nil {
			t.Errorf("%s: %v, want it kept", id, err)
		}
	}
	for _, id := range []string{"expired-long-ago", "revoked-long-ago", "jwt-done", "filler-7"} {
		if _, err := s.ByID(ctx, "v", id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: %v, want it swept", id, err)
		}
		if _, err := s.ByHash(ctx, store.HashSecret(id)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s by hash: %v, want it swept", id, err)
		}
	}
	// The family's revocation went with the sweep: a token put in it now is live.
	tk := store.Token{ID: "new", Vendor: "v", Kind: store.KindAccess, Hash: store.HashSecret("new"), Family: "fam", IssuedAt: h(6)}
	if err := s.Put(ctx, tk); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ByID(ctx, "v", "new"); !got.RevokedAt.IsZero() {
		t.Errorf("a token put in a family whose revocation was swept is revoked: %+v", got)
	}
	if st, err := s.Stats(ctx); err != nil || st.Tokens != 5 {
		t.Errorf("Stats = %+v, %v; want 5 tokens", st, err)
	}
}

// snapshots: a snapshot keeps the tokens as they were when it was taken,
// whatever the store does to them while it is read.
func snapshots(t *testing.T, s store.Store) {
	ctx := t.Context()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	// A small store first: a snapshot taken while a store is still small
	// survives the store growing (Memory's first chunks grow by copying).
	for i := range 10 {
		if err := s.Put(ctx, store.Token{ID: fmt.Sprint("small", i), Vendor: "v", Kind: store.KindAccess,
			Hash: store.HashSecret(fmt.Sprint("small", i)), Principal: "p", Family: "f", IssuedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	small, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		if err := s.Put(ctx, store.Token{ID: fmt.Sprint("grow", i), Vendor: "v", Kind: store.KindAccess,
			Hash: store.HashSecret(fmt.Sprint("grow", i)), Principal: "p", Family: "g", IssuedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	revokeFamily(t, s, "v", "f", t0, store.RevokedByFamily)
	n := 0
	for tk, err := range small {
		if err != nil || !tk.RevokedAt.IsZero() || !strings.HasPrefix(tk.ID, "small") {
			t.Fatalf("a snapshot of the small store holds %+v (%v) after it grew", tk, err)
		}
		n++
	}
	if n != 10 {
		t.Fatalf("a snapshot of 10 tokens yields %d after the store grew", n)
	}
	if err := s.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 10_000 {
		tk := store.Token{ID: fmt.Sprint(i), Vendor: "teletracker", Kind: store.KindAccess, Hash: store.HashSecret(fmt.Sprint("s", i)),
			Principal: fmt.Sprint("p", i%7), Family: fmt.Sprint("f", i%100), IssuedAt: t0, ExpiresAt: t0.Add(time.Duration(i) * time.Second)}
		if err := s.Put(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	before := list(t, s, store.Query{})
	snap, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { // the store changes while the snapshot is read
		defer close(done)
		for i := range 5000 {
			_, _ = s.Revoke(ctx, "teletracker", fmt.Sprint(i*2), t0, store.RevokedByAPI)
			_ = s.Put(ctx, store.Token{ID: fmt.Sprint("n", i), Vendor: "passport", Kind: store.KindAccess, Hash: store.HashSecret(fmt.Sprint("n", i)), Principal: "q", IssuedAt: t0})
		}
		_, _ = s.RevokeFamily(ctx, "teletracker", "f3", t0, store.RevokedByFamily)
		_, _ = s.Sweep(ctx, t0.Add(time.Hour), 0)
	}()
	var got []store.Token
	for tk, err := range snap {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tk)
	}
	<-done
	slices.SortFunc(got, func(a, b store.Token) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(before, func(a, b store.Token) int { return cmp.Compare(a.ID, b.ID) })
	if len(got) != len(before) {
		t.Fatalf("the snapshot has %d tokens, the store had %d", len(got), len(before))
	}
	for i := range got {
		if got[i].ID != before[i].ID || !got[i].RevokedAt.Equal(before[i].RevokedAt) || got[i].Hash != before[i].Hash {
			t.Fatalf("token %d: the snapshot has %+v, the store had %+v", i, got[i], before[i])
		}
	}
	if st, _ := s.Stats(ctx); st.Tokens == len(before) {
		t.Error("the store did not change: the test proves nothing")
	}
}

// list returns every token of q's listing, failing the test on an error.
func list(t *testing.T, s store.Store, q store.Query) []store.Token {
	t.Helper()
	p, err := s.List(t.Context(), q)
	if err != nil {
		t.Fatalf("List(%+v): %v", q, err)
	}
	return p.Tokens
}

func revokeFamily(t *testing.T, s store.Store, vendor, family string, at time.Time, reason string) []store.Token {
	t.Helper()
	got, err := s.RevokeFamily(t.Context(), vendor, family, at, reason)
	if err != nil {
		t.Fatalf("RevokeFamily(%s, %s): %v", vendor, family, err)
	}
	return got
}

func ids(ts []store.Token) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return out
}
