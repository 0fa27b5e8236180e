package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/tokenemu/tokenemu/emulator/store"
	"github.com/tokenemu/tokenemu/emulator/store/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		storetest.Run(t, func() store.Store { return store.NewMemory() })
	})
	t.Run("reference", func(t *testing.T) {
		t.Parallel()
		storetest.Run(t, func() store.Store { return store.NewReference() })
	})
}

// A Memory store whose tokens keep expiring and being swept reuses the
// records of the swept ones: it stays the same size.
func TestMemoryReusesSweptRecords(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := store.NewMemory()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	const puts = 50_000
	for i := range puts {
		now := t0.Add(time.Duration(i) * time.Second)
		tk := store.Token{ID: fmt.Sprint(i), Vendor: "v", Kind: store.KindAccess, Hash: store.HashSecret(fmt.Sprint(i)),
			Principal: fmt.Sprint("p", i%10), Family: fmt.Sprint("f", i%100), IssuedAt: now, ExpiresAt: now.Add(time.Minute)}
		if err := s.Put(ctx, tk); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Sweep(ctx, now.Add(-time.Hour), 4); err != nil {
			t.Fatal(err)
		}
	}
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Records > 10_000 {
		t.Errorf("%d records for %d puts of tokens that each live a minute: swept records are not reused", st.Records, puts)
	}
	t.Logf("%d puts used %d records; %d tokens left", puts, st.Records, st.Tokens)
}
