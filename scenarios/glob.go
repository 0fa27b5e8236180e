package scenarios

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// A rule's path pattern, matched in time linear in the request path.
//
// The syntax is path.Match's, segment by segment: "*" any run of characters
// but "/", "?" one character, "[a-z]" or "[^a-z]" a class, "\" escapes the
// next character; and a trailing "/**" matches everything below. path.Match
// tries every split of a "*" and backtracks, so 100 rules of "*aaa…b"
// against one 60 KB path took 46.6 s of CPU. Here each segment's pattern is
// an automaton whose states are the bits of one word, stepped once per
// character of the path. (Unlike path.Match, a class never matches "/":
// patterns are matched a segment at a time.)

// MaxPathPattern is the longest match.path a rule may have, in bytes.
const MaxPathPattern = 256

// maxGlobItems is how many items (characters, classes, stars) one segment's
// pattern may have: a bit each, and one for the end, in a uint64.
const maxGlobItems = 63

// glob is a compiled path pattern.
type glob struct {
	segs []globSeg
	deep bool // the pattern ended in "/**": the path may go on below
}

// globSeg is one segment's pattern: a literal, compared as it is, or items.
// Item i accepts the ASCII characters c whose masks[class[c]] has bit i, and
// other characters as items[i] says; stars has the bits of the star items.
// (The ASCII characters fall in few classes: a class index a character and
// a mask a class keep the tables of 256 rules in the processor's cache,
// where a mask a character, 1 KB a segment, did not.)
type globSeg struct {
	isLit    bool
	anything bool // the segment is stars alone: it matches every segment
	literal  string
	stars    uint64
	end      uint64 // the bit of the state after the last item
	class    *[utf8.RuneSelf]uint8
	masks    []uint64
	items    []globItem
	// Beyond ASCII: the items that accept a character no range names
	// (other), and for the characters the ranges do name, the masks of the
	// sorted intervals between their edges (a binary search a character).
	other uint64
	wide  []wideInterval
}

type wideInterval struct {
	lo, hi rune
	mask   uint64
}

type globItem struct {
	star    bool
	any     bool // "?"
	negated bool
	ranges  []runeRange // a class, or one character as a range of one
}

type runeRange struct{ lo, hi rune }

func (it *globItem) accepts(r rune) bool {
	if it.any {
		return true
	}
	in := false
	for _, rg := range it.ranges {
		if rg.lo <= r && r <= rg.hi {
			in = true
			break
		}
	}
	return in != it.negated
}

// compileGlob compiles a path pattern, or says what is wrong with it.
func compileGlob(pattern string) (*glob, error) {
	if len(pattern) > MaxPathPattern {
		return nil, fmt.Errorf("%d bytes; the limit is %d", len(pattern), MaxPathPattern)
	}
	if !utf8.ValidString(pattern) {
		return nil, errors.New("not UTF-8")
	}
	g := &glob{}
	if base, ok := strings.CutSuffix(pattern, "/**"); ok {
		g.deep, pattern = true, base
	}
	for s := range strings.SplitSeq(pattern, "/") {
		seg, err := compileSeg(s)
		if err != nil {
			return nil, fmt.Errorf("segment %q: %w", s, err)
		}
		g.segs = append(g.segs, seg)
	}
	return g, nil
}

func compileSeg(s string) (globSeg, error) {
	if !strings.ContainsAny(s, `*?[\`) {
		return globSeg{literal: s, isLit: true}, nil
	}
	var g globSeg
	var ascii [utf8.RuneSelf]uint64
	for i := 0; i < len(s); {
		var it globItem
		switch s[i] {
		case '*':
			for i < len(s) && s[i] == '*' {
				i++ // a run of stars is one star
			}
			it.star = true
		case '?':
			it.any = true
			i++
		case '[':
			n, err := it.parseClass(s[i+1:])
			if err != nil {
				return g, err
			}
			i += 1 + n
		default:
			if s[i] == '\\' {
				if i++; i == len(s) {
					return g, errors.New(`ends in a lone \`)
				}
			}
			r, size := utf8.DecodeRuneInString(s[i:])
			it.ranges = []runeRange{{r, r}}
			i += size
		}
		if len(g.items) == maxGlobItems {
			return g, fmt.Errorf("more than %d characters, classes and stars", maxGlobItems)
		}
		bit := uint64(1) << len(g.items)
		if it.star {
			g.stars |= bit
		} else {
			for c := range rune(utf8.RuneSelf) {
				if it.accepts(c) {
					ascii[c] |= bit
				}
			}
		}
		g.items = append(g.items, it)
	}
	g.end = 1 << len(g.items)
	g.anything = g.stars == g.end-1
	g.compileWide()
	g.class = new([utf8.RuneSelf]uint8)
	index := map[uint64]uint8{}
	for c, m := range ascii {
		i, ok := index[m]
		if !ok {
			i = uint8(len(g.masks)) // at most 65 distinct masks: one per item, none, and mixes
			index[m] = i
			g.masks = append(g.masks, m)
		}
		g.class[c] = i
	}
	return g, nil
}

// compileWide splits the non-ASCII characters the items' ranges name into
// intervals that every item accepts wholly or not at all, and works out the
// mask of each, and of every other non-ASCII character.
func (g *globSeg) compileWide() {
	edges := []rune{utf8.RuneSelf}
	for _, it := range g.items {
		for _, rg := range it.ranges {
			if rg.hi >= utf8.RuneSelf {
				edges = append(edges, max(rg.lo, utf8.RuneSelf), rg.hi+1)
			}
		}
	}
	slices.Sort(edges)
	edges = slices.Compact(edges)
	maskOf := func(r rune) uint64 {
		var m uint64
		for i := range g.items {
			if !g.items[i].star && g.items[i].accepts(r) {
				m |= 1 << i
			}
		}
		return m
	}
	// A character past the last edge (or any, when no range names one) is
	// named by no range.
	g.other = maskOf(max(edges[len(edges)-1], utf8.RuneSelf))
	for i := 0; i+1 < len(edges); i++ {
		g.wide = append(g.wide, wideInterval{lo: edges[i], hi: edges[i+1] - 1, mask: maskOf(edges[i])})
	}
}

// wideMask is the mask of a non-ASCII character.
func (g *globSeg) wideMask(r rune) uint64 {
	i, found := slices.BinarySearchFunc(g.wide, r, func(w wideInterval, r rune) int {
		switch {
		case r < w.lo:
			return 1
		case r > w.hi:
			return -1
		}
		return 0
	})
	if found {
		return g.wide[i].mask
	}
	return g.other
}

// parseClass reads a class's body, after its "[", and returns the bytes it took.
func (it *globItem) parseClass(s string) (int, error) {
	i := 0
	if i < len(s) && s[i] == '^' {
		it.negated = true
		i++
	}
	char := func() (rune, error) {
		if i < len(s) && s[i] == '\\' {
			i++
		}
		if i == len(s) {
			return 0, errors.New("unterminated class")
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		return r, nil
	}
	for first := true; ; first = false {
		if i == len(s) {
			return 0, errors.New("unterminated class")
		}
		if s[i] == ']' && !first {
			return i + 1, nil
		}
		if s[i] == ']' || s[i] == '-' {
			return 0, errors.New("bad class")
		}
		lo, err := char()
		if err != nil {
			return 0, err
		}
		hi := lo
		if i < len(s) && s[i] == '-' {
			i++
			if hi, err = char(); err != nil {
				return 0, err
			}
			if hi < lo {
				return 0, errors.New("bad class range")
			}
		}
		it.ranges = append(it.ranges, runeRange{lo, hi})
	}
}

// match reports whether the whole path p fits the pattern.
func (g *glob) match(p string) bool {
	return g.matchSegments(strings.Split(p, "/"))
}

// matchSegments is match for a path already split at "/" (once for every
// rule a request is checked against).
func (g *glob) matchSegments(segs []string) bool {
	if len(segs) < len(g.segs) || (!g.deep && len(segs) != len(g.segs)) {
		return false
	}
	for i := range g.segs {
		seg := &g.segs[i]
		switch {
		case seg.isLit:
			if seg.literal != segs[i] {
				return false
			}
		case seg.anything:
		case !seg.match(segs[i]):
			return false
		}
	}
	return true
}

// match runs the segment's automaton over s, one step per character.
func (g *globSeg) match(s string) bool {
	if g.isLit {
		return g.literal == s
	}
	stars := g.stars
	d := uint64(1) | (1&stars)<<1 // a star may match nothing

	class, masks := g.class, g.masks
	for i := 0; i < len(s); {
		var accept uint64
		if c := s[i]; c < utf8.RuneSelf {
			accept = masks[class[c]]
			i++
		} else {
			r, size := utf8.DecodeRuneInString(s[i:])
			i += size
			accept = g.wideMask(r)
		}
		d = (d&accept)<<1 | d&stars
		d |= (d & stars) << 1
		if d == 0 {
			return false
		}
	}
	return d&g.end != 0
}
