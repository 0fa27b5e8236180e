package emulator

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSecretHash(t *testing.T) {
	t.Parallel()
	h := HashSecret("x")
	hexOf := func(h SecretHash) string { return hex.EncodeToString(h[:]) }
	if got, ok := parseSecretHash(hexOf(h)); !ok || got != h {
		t.Errorf("round trip failed")
	}
	for _, bad := range []string{"", "00", hexOf(h) + "00", hexOf(h)[:63] + "g", strings.Repeat("0", 66)} {
		if _, ok := parseSecretHash(bad); ok {
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
