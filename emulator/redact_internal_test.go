package emulator

import (
	"testing"

	"github.com/tokenemu/tokenemu/emulator/passport"
)

// Rotating a client's secret over and over keeps one secret of it among
// those redacted by name: the retired ones go, the live one stays.
func TestRotatedSecretsDoNotPileUp(t *testing.T) {
	t.Parallel()
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := e.Vendor(passport.Name)
	if _, err := passport.CreateClient(v, passport.ClientSpec{ClientID: "qa", ClientSecret: "first-secret-value"}); err != nil {
		t.Fatal(err)
	}
	for range 50 {
		if _, err = passport.RotateSecret(v, "qa", ""); err != nil {
			t.Fatal(err)
		}
	}
	const live = "live-secret-9" // short: redacted only because it is known
	if _, err = passport.RotateSecret(v, "qa", live); err != nil {
		t.Fatal(err)
	}
	e.secretsMu.Lock()
	added := len(e.added)
	e.secretsMu.Unlock()
	if added != 1 {
		t.Errorf("%d secrets added and kept after 50 rotations of one client, want 1", added)
	}
	if !e.secretLike(t.Context(), live) {
		t.Error("the live secret is no longer redacted")
	}
	if e.secretLike(t.Context(), "first-secret-value") {
		t.Error("a retired secret is still remembered")
	}
}
