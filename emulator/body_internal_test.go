package emulator

import (
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadBody(t *testing.T) {
	t.Parallel()
	const body = `{"client_id":"demo-client","client_secret":"demo-secret"}`
	for _, c := range []struct {
		name   string
		length int64
	}{
		{"announced", int64(len(body))},
		{"unknown length", -1},
		{"announced short", 10},                    // more arrives than announced
		{"announced long", int64(len(body) + 100)}, // less arrives
		{"announced huge", 1 << 30},
	} {
		for _, one := range []bool{false, true} {
			rd := strings.NewReader(body)
			var r = iotest.DataErrReader(rd)
			if one {
				r = iotest.OneByteReader(rd)
			}
			got, err := readBody(r, c.length)
			if err != nil || string(got) != body {
				t.Errorf("%s (one byte at a time %v): %q, %v", c.name, one, got, err)
			}
		}
	}
	if _, err := readBody(iotest.ErrReader(iotest.ErrTimeout), 5); err != iotest.ErrTimeout {
		t.Errorf("a failing reader: %v, want its error", err)
	}
}
