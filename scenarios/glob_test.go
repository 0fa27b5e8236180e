package scenarios

import (
	"path"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestGlob(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		pattern, path string
		want          bool
	}{
		{"/passport/v1/core/accounts/*", "/passport/v1/core/accounts/abc", true},
		{"/passport/v1/core/accounts/*", "/passport/v1/core/accounts/", true},
		{"/passport/v1/core/accounts/*", "/passport/v1/core/accounts/a/b", false},
		{"/passport/v1/core/accounts/*", "/passport/v1/core/accounts", false},
		{"/passport/**", "/passport", true},
		{"/passport/**", "/passport/v1/core", true},
		{"/passport/**", "/passkit/login", false},
		{"/p*t/v?/[a-c]ore/[^x]*", "/passport/v1/core/accounts", true},
		{"/p*t/v?/[a-c]ore/[^a]*", "/passport/v1/core/accounts", false},
		{"/brass/\\*", "/brass/*", true},
		{"/brass/\\*", "/brass/x", false},
		{"/x/?", "/x/é", true},
		{"/x/??", "/x/é", false},
		{"/x/[é-ë]", "/x/ê", true},
		{"/x/*é*", "/x/caféine", true},
		{"/x/*???", "/x/䬸0", false}, // path.Match says true: its star skips bytes
		{"/x/*??", "/x/䬸0", true},
	} {
		g, err := compileGlob(c.pattern)
		if err != nil {
			t.Fatalf("%q: %v", c.pattern, err)
		}
		if got := g.match(c.path); got != c.want {
			t.Errorf("%q against %q: %v, want %v", c.pattern, c.path, got, c.want)
		}
	}
	for _, bad := range []string{"/x/[", "/x/[]", "/x/[z-a]", "/x/\\", "/" + strings.Repeat("a", MaxPathPattern), "/" + strings.Repeat("a?", 40)} {
		if _, err := compileGlob(bad); err == nil {
			t.Errorf("%.40q compiled", bad)
		}
	}
}

// The pattern that made path.Match backtrack for seconds is matched in one
// pass: every step of the automaton is one character of the path.
func TestGlobIsLinear(t *testing.T) {
	t.Parallel()
	g, err := compileGlob("/passport/" + strings.Repeat("*a", 31) + "b")
	if err != nil {
		t.Fatal(err)
	}
	p := "/passport/" + strings.Repeat("a", 60<<10)
	start := time.Now()
	if g.match(p) {
		t.Fatal("matched")
	}
	t.Logf("one 60 KB path against 31 stars: %v", time.Since(start))
}

// FuzzGlob checks the automaton against path.Match on patterns without a
// class (a class of path.Match may match "/", which a segment never holds),
// on short paths (path.Match backtracks), and not on a pattern with a star
// against a path beyond ASCII: path.Match's star skips bytes, not
// characters, so "*???" matched "䬸0" (the last two bytes of 䬸 taken for
// characters), where the automaton, rightly, does not.
func FuzzGlob(f *testing.F) {
	for _, s := range [][2]string{
		{"/a/*", "/a/b"}, {"/a/*b*c", "/a/xbyc"}, {"/*/?", "/x/y"}, {"/a/\\*", "/a/*"}, {"/**", "/a/b"},
		{"*", ""}, {"a*", "a/b"}, {"/é?", "/éé"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, p string) {
		if len(p) > 64 || strings.Contains(pattern, "[") || (strings.Contains(pattern, "*") && !isASCII(p)) {
			return
		}
		g, err := compileGlob(pattern)
		if err != nil {
			return
		}
		want, perr := path.Match(pattern, p)
		if base, ok := strings.CutSuffix(pattern, "/**"); ok {
			bs, ps := strings.Split(base, "/"), strings.Split(p, "/")
			want, perr = false, nil
			if len(ps) >= len(bs) {
				want, perr = path.Match(base, strings.Join(ps[:len(bs)], "/"))
			}
		}
		if perr != nil {
			return
		}
		if got := g.match(p); got != want {
			t.Fatalf("%q against %q: %v, path.Match says %v", pattern, p, got, want)
		}
	})
}

// The non-ASCII intervals give every character the mask the items give it.
func TestGlobWideMasks(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"[é-ë]", "[^é-ë]?x", "*[a-zé]*[^ü][\U0001F600-\U0001F64F]", "[é][é-ê][^a-é]", "?*é"} {
		g, err := compileSeg(p)
		if err != nil {
			t.Fatalf("%q: %v", p, err)
		}
		for r := rune(0x80); r < 0x3000; r++ {
			if got, want := g.wideMask(r), naiveMask(&g, r); got != want {
				t.Fatalf("%q, %U: mask %b, want %b", p, r, got, want)
			}
		}
		for _, r := range []rune{0x1F600, 0x1F64F, 0x1F650, 0x10FFFF} {
			if got, want := g.wideMask(r), naiveMask(&g, r); got != want {
				t.Fatalf("%q, %U: mask %b, want %b", p, r, got, want)
			}
		}
	}
}

// A pattern of many ASCII-only classes against a long non-ASCII path: one
// binary search a character, not one check a class and a character (0.31 s
// of CPU a request with 32 such rules before).
func TestGlobWideIsLinear(t *testing.T) {
	t.Parallel()
	class := "["
	for c := byte('!'); c < 127; c++ {
		if c != ']' && c != '\\' && c != '-' && c != '^' && c != '/' {
			class += string(c)
		}
	}
	class += "]"
	g, err := compileGlob("/x/*" + class)
	if err != nil {
		t.Fatal(err)
	}
	p := "/x/" + strings.Repeat("é", 30000)
	start := time.Now()
	if g.match(p) {
		t.Fatal("matched")
	}
	t.Logf("30,000 non-ASCII characters against a class of %d: %v", len(class)-2, time.Since(start))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// naiveMask is a character's mask worked out item by item, as the
// automaton did before it kept intervals.
func naiveMask(g *globSeg, r rune) uint64 {
	var m uint64
	for i := range g.items {
		if !g.items[i].star && g.items[i].accepts(r) {
			m |= 1 << i
		}
	}
	return m
}
