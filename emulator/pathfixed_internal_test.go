package emulator

import (
	"regexp"
	"testing"
)

// A fixed run of ASCII classes is matched byte by byte, and agrees with the
// regexp it stands for; any other pattern is left to the regexp.
func TestFixedClasses(t *testing.T) {
	t.Parallel()
	fixed := map[string][]string{
		`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`: {
			"0f8fad5b-d9cb-469f-a165-70867728950e", "0F8FAD5B-D9CB-469F-A165-70867728950E", "0f8fad5b-d9cb-469f-a165-70867728950", "0f8fad5b_d9cb-469f-a165-70867728950e", "", "é"},
		`^[0-9A-Za-z]{22}$`: {"abcdefghijABCDEFGHIJ12", "abcdefghijABCDEFGHIJ1", "abcdefghijABCDEFGHIJ1é", "abcdefghijABCDEFGHIJ1-"},
		`^ab[c-e]{2}$`:      {"abcd", "abce", "abc", "abcf", "ABCD"},
		`^x{3}$`:            {"xxx", "xx", "xxxx"},
	}
	for pattern, values := range fixed {
		classes := fixedClasses(pattern)
		if classes == nil {
			t.Errorf("%s: not taken as a fixed run of classes", pattern)
			continue
		}
		re := regexp.MustCompile(pattern)
		for _, v := range values {
			if got, want := matchFixed(classes, v), re.MatchString(v); got != want {
				t.Errorf("%s on %q: %v, the regexp says %v", pattern, v, got, want)
			}
		}
	}
	for _, pattern := range []string{`^[a-z]+$`, `[0-9]{4}`, `^(?i)abc$`, `^[a-zé]{3}$`, `^a|b$`, `^[^a]{2}$`, `^a{2,3}$`, `^.{4}$`} {
		if fixedClasses(pattern) != nil {
			t.Errorf("%s: taken as a fixed run of classes", pattern)
		}
	}
}
