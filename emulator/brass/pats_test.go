package brass

import (
	"strings"
	"testing"
	"time"
)

// A PAT the store refused leaves no name behind for long: the last one's
// goes at once, one in the middle (others made meanwhile) once the dead
// names are as many bytes as the live ones, and the live names stay right.
func TestPATNamesOfRefusedPATsAreReclaimed(t *testing.T) {
	t.Parallel()
	p := newBrassPATs()
	role := &brassRoles[0]
	long := strings.Repeat("n", 255)
	now := time.Now()
	if err := p.add(1, "kept", role, now, time.Time{}); err != nil {
		t.Fatal(err)
	}
	for id := uint64(2); id < 4000; id += 2 {
		// Two made at once; the first is refused while the second lives.
		_ = p.add(id, long, role, now, time.Time{})
		_ = p.add(id+1, "live", role, now, time.Time{})
		p.drop(id)
		p.drop(id + 1) // the last one added: its name goes at once
	}
	if len(p.names) > 2*(64<<10) {
		t.Errorf("names hold %d bytes for one live PAT", len(p.names))
	}
	m, ok := p.get("1")
	if !ok || p.name(m) != "kept" {
		t.Errorf("the live PAT's name is %q", p.name(m))
	}
}
