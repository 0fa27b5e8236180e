package emulator

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// sweeper is a Store that forgets tokens revoked or expired before a time.
type sweeper interface {
	Store
	Sweep(before time.Time) int
	Len() int
}

// Against a plain model: tokens put, revoked, expired and swept at random
// (principals, families and hash and id chains shared), after which every
// lookup, listing and family revocation answers as the model says, swept
// records are reused, and the store holds no more than the model.
func TestStoreSweepAgainstAModel(t *testing.T) {
	t.Parallel()
	s := NewMemoryStore().(sweeper)
	rng := rand.New(rand.NewPCG(7, 11))
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	model := map[string]Token{}           // by vendor/id
	familyMarks := map[string]time.Time{} // the families revoked, and when first
	key := func(t Token) string { return t.Vendor + "/" + t.ID }
	now := t0
	puts := 0
	for i := range 20_000 {
		now = now.Add(time.Duration(rng.IntN(60)) * time.Second)
		switch op := rng.IntN(10); {
		case op < 6:
			v := []string{"passport", "teletracker"}[rng.IntN(2)]
			tk := Token{ID: fmt.Sprint(i), Vendor: v, Kind: KindAccess, Hash: HashSecret(fmt.Sprint("s", i)),
				Principal: fmt.Sprint("p", rng.IntN(5)), IssuedAt: now, ExpiresAt: now.Add(time.Duration(1+rng.IntN(3600)) * time.Second)}
			if v == "teletracker" {
				tk.Family = fmt.Sprint("f", rng.IntN(50))
			}
			if err := s.PutToken(tk); err != nil {
				t.Fatal(err)
			}
			puts++
			if at, ok := familyMarks[tk.Family]; ok && tk.Family != "" { // born revoked in a revoked family
				tk.RevokedAt, tk.RevokeReason = at, RevokedByFamily
			}
			model[key(tk)] = tk
		case op < 7:
			for _, tk := range model {
				if _, err := s.RevokeToken(tk.Vendor, tk.ID, now, RevokedByAPI); err == nil {
					tk.RevokedAt, tk.RevokeReason = now, RevokedByAPI
					model[key(tk)] = tk
				}
				break
			}
		case op < 8:
			fam := fmt.Sprint("f", rng.IntN(50))
			got := s.RevokeFamily("teletracker", fam, now, RevokedByFamily)
			for _, g := range got {
				tk := model[key(g)]
				tk.RevokedAt, tk.RevokeReason = now, RevokedByFamily
				model[key(tk)] = tk
			}
			if _, ok := familyMarks[fam]; !ok {
				familyMarks[fam] = now
			}
		case op < 9:
			before := now.Add(-time.Duration(rng.IntN(7200)) * time.Second)
			s.Sweep(before)
			for k, tk := range model {
				if (!tk.RevokedAt.IsZero() && tk.RevokedAt.Before(before)) || tk.ExpiresAt.Before(before) {
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
	if s.Len() != len(model) {
		t.Errorf("the store holds %d tokens, the model %d", s.Len(), len(model))
	}
	if ms := s.(*memoryStore); int(ms.count) >= puts/2 {
		t.Errorf("%d records for %d puts: swept records are not reused", ms.count, puts)
	} else {
		t.Logf("%d puts used %d records; %d tokens left", puts, ms.count, len(model))
	}
}

func checkAgainstModel(t *testing.T, s sweeper, model map[string]Token) {
	t.Helper()
	type vp struct{ vendor, principal string }
	byPrincipal := map[vp][]string{}
	for _, tk := range model {
		got, err := s.TokenByID(tk.Vendor, tk.ID)
		if err != nil || !got.RevokedAt.Equal(tk.RevokedAt) || got.Hash != tk.Hash {
			t.Fatalf("%s/%s: %+v %v, want %+v", tk.Vendor, tk.ID, got, err, tk)
		}
		if got, err := s.TokenByHash(tk.Hash); err != nil || got.ID != tk.ID {
			t.Fatalf("by hash %s/%s: %+v %v", tk.Vendor, tk.ID, got, err)
		}
		k := vp{tk.Vendor, tk.Principal}
		byPrincipal[k] = append(byPrincipal[k], tk.ID)
	}
	for k, want := range byPrincipal {
		var got []string
		for _, tk := range s.Tokens(TokenFilter{Vendor: k.vendor, Principal: k.principal}) {
			got = append(got, tk.ID)
		}
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
		if got := s.Tokens(TokenFilter{Vendor: "teletracker", Family: fam}); len(got) != n {
			t.Fatalf("family %s: listed %d tokens, want %d", fam, len(got), n)
		}
	}
	if all := s.Tokens(TokenFilter{}); len(all) != len(model) {
		t.Fatalf("listed %d tokens, want %d", len(all), len(model))
	}
}

// A clone keeps the tokens as they were when it was taken, whatever the
// store does to them afterwards (copy on write).
func TestStoreCloneIsASnapshot(t *testing.T) {
	t.Parallel()
	s := NewMemoryStore().(*memoryStore)
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 10_000 {
		tk := Token{ID: fmt.Sprint(i), Vendor: "teletracker", Kind: KindAccess, Hash: HashSecret(fmt.Sprint("s", i)),
			Principal: fmt.Sprint("p", i%7), Family: fmt.Sprint("f", i%100), IssuedAt: t0, ExpiresAt: t0.Add(time.Duration(i) * time.Second)}
		if err := s.PutToken(tk); err != nil {
			t.Fatal(err)
		}
	}
	before := s.Tokens(TokenFilter{})
	c := s.clone()
	done := make(chan struct{})
	go func() { // the store changes while the clone is read
		defer close(done)
		for i := range 5000 {
			_, _ = s.RevokeToken("teletracker", fmt.Sprint(i*2), t0, RevokedByAPI)
			_ = s.PutToken(Token{ID: fmt.Sprint("n", i), Vendor: "passport", Kind: KindAccess, Hash: HashSecret(fmt.Sprint("n", i)), Principal: "q", IssuedAt: t0})
		}
		s.RevokeFamily("teletracker", "f3", t0, RevokedByFamily)
		s.Sweep(t0.Add(time.Hour))
	}()
	var got []Token
	for tk := range c.all() {
		got = append(got, tk)
	}
	<-done
	slices.SortFunc(got, func(a, b Token) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(before, func(a, b Token) int { return cmp.Compare(a.ID, b.ID) })
	if len(got) != len(before) {
		t.Fatalf("the clone has %d tokens, the store had %d", len(got), len(before))
	}
	for i := range got {
		if got[i].ID != before[i].ID || !got[i].RevokedAt.Equal(before[i].RevokedAt) || got[i].Hash != before[i].Hash {
			t.Fatalf("token %d: the clone has %+v, the store had %+v", i, got[i], before[i])
		}
	}
	if s.Len() == len(before) {
		t.Error("the store did not change: the test proves nothing")
	}
}
