package emulator

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/tokenemu/tokenemu/emulator/store"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
)

// What the journal and the log keep of a request's path. A path can carry a
// secret (a token pasted into a path parameter, or into a URL no route
// matches), and neither may keep one: each path segment that could hold
// one is replaced by "{secret:<fingerprint>}", the fingerprint the token
// listing shows, so that the entry still says which token it was.

// MaxJournalPath is the longest path the journal keeps, in bytes; a longer
// one is cut and ends in journalCut.
const MaxJournalPath = 512

const journalCut = "…(cut)"

// minSecretSegment is the shortest path segment checked against the known
// secrets; unknownSecretSegment the shortest one taken for an unknown
// secret when it is no UUID (opaque tokens are 43 characters, PATs and JWTs
// longer; ids are UUIDs, numbers or shorter).
const (
	minSecretSegment     = 8
	unknownSecretSegment = 32
)

// knownSecrets collects the hashes of the vendors' fixtures' secrets
// (passwords, client secrets, app keys, API secrets, TOTP secrets) and of
// the admin token.
func (e *Emulator) knownSecrets() map[store.SecretHash]struct{} {
	m := map[store.SecretHash]struct{}{}
	add := func(s string) {
		if len(s) >= minSecretSegment {
			m[store.HashSecret(s)] = struct{}{}
		}
	}
	add(e.cfg.AdminToken)
	for _, v := range e.vendors {
		if sh, ok := v.(vendorapi.SecretHolder); ok {
			for _, s := range sh.Secrets() {
				add(s)
			}
		}
	}
	return m
}

// MaxAddedSecrets bounds the secrets set after start (client secrets made
// or rotated through the admin plane) that the journal and the log redact
// by name. A rotated secret is forgotten (it no longer works), so the live
// ones are at most Passport's 1,000 added clients; past the bound, were it
// reached, the oldest would go. A segment of 32 characters or more that is
// no UUID is redacted anyway.
const MaxAddedSecrets = 10_000

// addSecret makes a secret set after start (a Passport client secret made
// or rotated through the admin plane) one the journal and the log redact.
func (e *Emulator) addSecret(secret string) {
	if len(secret) >= minSecretSegment {
		e.addSecretHash(store.HashSecret(secret))
	}
}

// addSecretHash is addSecret for a secret known by its SHA-256 (one a
// restored state file holds).
func (e *Emulator) addSecretHash(h store.SecretHash) {
	e.secretsMu.Lock()
	defer e.secretsMu.Unlock()
	cur := *e.secrets.Load()
	if _, ok := cur[h]; ok {
		return
	}
	next := maps.Clone(cur)
	if len(e.added) >= MaxAddedSecrets {
		delete(next, e.added[0])
		e.added = slices.Delete(e.added, 0, 1)
	}
	next[h] = struct{}{}
	e.added = append(e.added, h)
	e.secrets.Store(&next)
}

// retireSecret forgets a secret added since start that no longer works.
// The fixtures' secrets and the admin token are never forgotten.
func (e *Emulator) retireSecret(h store.SecretHash) {
	e.secretsMu.Lock()
	defer e.secretsMu.Unlock()
	i := slices.Index(e.added, h)
	if i < 0 {
		return
	}
	e.added = slices.Delete(e.added, i, i+1)
	next := maps.Clone(*e.secrets.Load())
	delete(next, h)
	e.secrets.Store(&next)
}

// journalPath is r's path as the journal and the log keep it: segments that
// are, or look like, secrets replaced, and cut to MaxJournalPath. For an
// operation only its parameters' segments are looked at (the rest is the
// document's own text); for a path no operation matched, every segment.
func (e *Emulator) journalPath(r *http.Request, rc *reqCtx) string {
	ctx := r.Context()
	p := r.URL.Path
	var params []int
	all := rc == nil || rc.op == nil
	if !all {
		if params = rc.op.paramSegments; len(params) == 0 {
			return ownPath(r, p)
		}
	}
	// Most paths hold no secret: find out before building anything. The
	// first pass stops where the second will (the kept path's length), so
	// that every segment the second writes has been looked at.
	var secret []int // indexes of the segments to replace
	last, n := 0, 0  // the last segment kept; the kept path's length
	for seg := range strings.SplitSeq(p, "/") {
		if last > 0 {
			n++ // the slash
		}
		if (all || containsInt(params, last)) && e.secretLike(ctx, seg) {
			secret = append(secret, last)
			n += len(redactedSegment)
		} else {
			n += len(seg)
		}
		if n > MaxJournalPath {
			break
		}
		last++
	}
	if len(secret) == 0 {
		return ownPath(r, p)
	}
	var b strings.Builder
	i := 0
	for seg := range strings.SplitSeq(p, "/") {
		if i > last {
			break
		}
		if i > 0 {
			b.WriteByte('/')
		}
		if containsInt(secret, i) {
			b.WriteString("{secret:")
			b.WriteString(Fingerprint(store.HashSecret(seg)))
			b.WriteByte('}')
		} else {
			b.WriteString(seg)
		}
		i++
	}
	return cutPath(b.String())
}

// redactedSegment is as long as a secret's segment in a journaled path.
const redactedSegment = "{secret:0123456789ab}"

// ownPath is cutPath(p), in memory of its own when p may be part of a much
// longer request line (a long query string), which an entry would otherwise
// keep alive.
func ownPath(r *http.Request, p string) string {
	if len(p) > MaxJournalPath {
		return strings.Clone(cutPath(p))
	}
	if len(r.RequestURI) > 2*len(p)+64 {
		return strings.Clone(p)
	}
	return p
}

// secretLike reports whether a path segment is a secret the emulator knows
// (a stored token, a fixture's secret, the admin token) or long enough, and
// no UUID, to be one it does not (another emulator's token, a self-minted JWT).
func (e *Emulator) secretLike(ctx context.Context, seg string) bool {
	if seg != "" && seg == e.cfg.AdminToken {
		return true // however short it is
	}
	if len(seg) < minSecretSegment {
		return false
	}
	h := store.HashSecret(seg)
	if _, ok := (*e.secrets.Load())[h]; ok {
		return true
	}
	// The request may be over (its context cancelled) by the time it is
	// journaled; and a store that cannot answer leaves the segment redacted.
	if _, err := e.store.ByHash(context.WithoutCancel(ctx), h); err == nil || store.IsFailure(err) {
		return true
	}
	return len(seg) >= unknownSecretSegment && !canonicalUUID(seg) // a UUID is an id the emulator made
}

// canonicalUUID reports whether s is a UUID as uuid.UUID.String writes one
// (lower-case hex, dashes after the 8th, 12th, 16th and 20th digit), without
// parsing or formatting it.
func canonicalUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

func cutPath(p string) string { return cutTo(p, MaxJournalPath) }

// cutTo cuts s to max bytes, on a character boundary, ending in journalCut.
func cutTo(s string, max int) string {
	if len(s) <= max {
		return s
	}
	n := max - len(journalCut)
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n] + journalCut
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
