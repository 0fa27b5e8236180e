package main

import (
	"bytes"
	"strings"
	"testing"
)

// A version that is not canonical semver is a usage error; one the
// container module does not require the root at stops the release before it
// builds anything.
func TestReleaseRefusals(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"-dry-run"}, 2, "want a canonical semantic version"},
		{[]string{"-version", "0.1.0", "-dry-run"}, 2, "want a canonical semantic version"},
		{[]string{"-version", "v0.1", "-dry-run"}, 2, "want a canonical semantic version"},
		{[]string{"-version", "v9.9.9", "-dry-run"}, 1, "released in lockstep"},
		{[]string{"-version", "v9.9.9", "-rev", "no-such-commit", "-dry-run"}, 1, "no-such-commit"},
	} {
		var out, errs bytes.Buffer
		if code := run(c.args, &out, &errs); code != c.code || !strings.Contains(errs.String(), c.says) {
			t.Errorf("release %v: exit %d, %q; want exit %d saying %q", c.args, code, errs.String(), c.code, c.says)
		}
	}
}
