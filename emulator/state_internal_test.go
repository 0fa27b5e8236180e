package emulator

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tokenemu/tokenemu/emulator/store"
)

func TestParseSecretHash(t *testing.T) {
	t.Parallel()
	h := store.HashSecret("x")
	hexOf := func(h store.SecretHash) string { return hex.EncodeToString(h[:]) }
	if got, ok := store.ParseSecretHash(hexOf(h)); !ok || got != h {
		t.Errorf("round trip failed")
	}
	for _, bad := range []string{"", "00", hexOf(h) + "00", hexOf(h)[:63] + "g", strings.Repeat("0", 66)} {
		if _, ok := store.ParseSecretHash(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

// Only the temporaries of this state file go, even when its name has glob
// characters in it.
func TestRemoveStaleTemps(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "state[1].json")
	keep := []string{"state1.json.tmp-1", "other.json.tmp-2", "state[1].json"}
	gone := []string{"state[1].json.tmp-123", "state[1].json.tmp-x"}
	for _, n := range append(keep, gone...) {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	removeStaleTemps(file)
	for _, n := range keep {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			t.Errorf("%s removed", n)
		}
	}
	for _, n := range gone {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			t.Errorf("%s left", n)
		}
	}
}

// The hand-written token encoder writes what encoding/json writes.
func TestAppendSavedTokenMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2031, 2, 3, 4, 5, 6, 789, time.UTC)
	for _, tk := range []store.Token{
		{ID: "1", Vendor: "passport", Kind: store.KindAccess, Hash: store.HashSecret("x"), Principal: "p", IssuedAt: t0},
		{ID: "é\"\\<>&\u2028", Vendor: "teletracker", Kind: store.KindRefresh, Hash: store.HashSecret("y"), Principal: "a\x01b",
			AccountID: "1001", Scopes: []string{"a", "b\""}, Roles: []string{"r"}, Family: "f", PairID: "p2",
			IssuedAt: t0, ExpiresAt: t0.Add(time.Hour), OwnExpiresAt: t0.Add(2 * time.Hour), RevokedAt: t0.Add(time.Minute), RevokeReason: store.RevokedByFamily},
	} {
		want, err := json.Marshal(toSaved(tk))
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		if err := json.Unmarshal(appendSavedToken(nil, tk), &a); err != nil {
			t.Fatalf("%s: %v", appendSavedToken(nil, tk), err)
		}
		_ = json.Unmarshal(want, &b)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("hand-written %s\nencoding/json %s", appendSavedToken(nil, tk), want)
		}
	}
}
