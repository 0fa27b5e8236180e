package emulator

import (
	"net/http/httptest"
	"strings"
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

// A path of many secrets is cut after redaction, and no part of any secret
// survives the cut: the pass that finds the secrets reaches as far as the pass
// that writes the path.
func TestJournalPathRedactsEverySegmentItKeeps(t *testing.T) {
	t.Parallel()
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	var segs []string
	for i := range 60 {
		segs = append(segs, strings.Repeat(string(rune('a'+i%26)), unknownSecretSegment+i))
	}
	p := "/nowhere/" + strings.Join(segs, "/")
	r := httptest.NewRequest("GET", p, nil)
	got := e.journalPath(r, nil)
	if len(got) > MaxJournalPath {
		t.Errorf("journal path is %d bytes, want at most %d", len(got), MaxJournalPath)
	}
	if n := strings.Count(got, "{secret:"); n < 20 {
		t.Errorf("journal path %q redacts %d segments, want the 20 or more it keeps", got, n)
	}
	for _, seg := range segs {
		if strings.Contains(got, seg[:unknownSecretSegment/2]) {
			t.Fatalf("journal path %q keeps part of the secret %q", got, seg)
		}
	}
	// A path with no secret is kept as it is, cut to the limit.
	plain := "/nowhere/" + strings.Repeat("ab/", 400)
	if got := e.journalPath(httptest.NewRequest("GET", plain, nil), nil); got != cutPath(plain) {
		t.Errorf("plain path journaled as %q", got)
	}
}
