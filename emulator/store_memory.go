package emulator

import (
	"cmp"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// memoryStore is the in-memory Store. Its records hold no pointers: a token
// is a 104-byte record in fixed-size chunks (so growing never copies the old
// ones), found through maps from 64-bit keys to record numbers, with strings
// (non-UUID ids, principals, accounts, scope lists, session ids) in side
// tables referred to by index. The garbage collector skips all of it, which
// keeps collection pauses short however many tokens are live, and a million
// live tokens take under 300 MB.
type memoryStore struct {
	mu sync.RWMutex

	chunks [][]record // record n (1-based) is chunks[(n-1)>>chunkBits][(n-1)&chunkMask]
	count  uint32

	byHash   map[uint64]uint32 // first 8 bytes of the hash → newest record; chained by nextHash
	byID     map[uint64]uint32 // idHash(vendor, id) → newest record; chained by nextID
	byFamily map[uint64]uint32 // idHash(vendor, family) → newest record; chained by sessions[].nextFamily

	small    []string // interned vendor, kind and reason names; index 0 is ""
	smallIx  map[string]uint8
	strs     []string // interned ids, principals and accounts; index 0 is ""
	strIx    map[string]uint32
	lists    []tokenLists // index 0 is "no lists"
	listIx   map[string]uint32
	sessions [][]session // in chunks, like the records; session 0 is "no session"
	nSession uint32
	// revokedFamilies are the families RevokeFamily revoked: a token put in
	// one later is stored revoked.
	revokedFamilies map[familyKey]familyRevocation
}

type familyKey struct {
	vendor uint8
	family compactID
}

type familyRevocation struct {
	at     int64
	reason uint8
}

const (
	chunkBits = 12
	chunkSize = 1 << chunkBits
	chunkMask = chunkSize - 1
)

type tokenLists struct{ scopes, roles []string }

// session is a record's family and pair: only TeleTracker's tokens have them.
// It holds no pointer, like the records: the family and pair ids are UUIDs in
// 16 bytes (anything else goes to the string table), so the garbage collector
// has nothing to mark in the session chunks however many logins there were.
type session struct {
	family, pair compactID
	nextFamily   uint32
}

// compactID is how the store keeps an id (a record's, a session's family and
// pair): a canonical UUID or a decimal number in uid, anything else in the
// string table.
type compactID struct {
	uid  [16]byte
	str  uint32 // index in strs, when form is idString
	form uint8  // idString, idUUID or idNumber
}

type record struct {
	hash      SecretHash
	id        compactID
	principal uint32 // index in strs
	account   uint32 // index in strs
	lists     uint32 // index in lists
	session   uint32 // index in sessions
	nextHash  uint32 // the next record whose hash has the same first 8 bytes
	nextID    uint32 // the next record whose (vendor, id) has the same idHash
	issued    int64  // Unix nanoseconds; 0 for the zero time
	expires   int64
	revoked   int64
	vendor    uint8
	kind      uint8
	reason    uint8
}

// How a record keeps its id: most ids are UUIDs (Passport, PassKit,
// TeleTracker) or counters (Brass PATs), which fit in the record itself, so
// that issuing them does not grow the string table.
const (
	idString uint8 = iota // in strs, at id
	idUUID                // uid, a canonical lower-case UUID
	idNumber              // uid[:8], little-endian: a decimal number without leading zeros
)

// decimalID parses a canonical decimal id ("0", "17"; no sign, no leading
// zero, at most 19 digits so that it fits in a uint64).
func decimalID(id string) (uint64, bool) {
	if id == "" || len(id) > 19 || (id[0] == '0' && len(id) > 1) {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// NewMemoryStore returns an empty in-memory Store.
func NewMemoryStore() Store {
	s := &memoryStore{}
	s.Reset()
	return s
}

func hashKey(h SecretHash) uint64 { return binary.LittleEndian.Uint64(h[:8]) }

// idHash is FNV-1a over the vendor index and the id.
func idHash(vendor uint8, id string) uint64 {
	h := uint64(14695981039346656037)
	h = (h ^ uint64(vendor)) * 1099511628211
	for i := 0; i < len(id); i++ {
		h = (h ^ uint64(id[i])) * 1099511628211
	}
	return h
}

// nanos is t in Unix nanoseconds, 0 for the zero time. A time beyond what
// they hold (before 1678 or after 2262: a JWT a client minted itself may say
// anything) is kept as the nearest one they hold; the emulator's own times
// lie within the clock's range.
func nanos(t time.Time) int64 {
	const edge = math.MaxInt64 / int64(time.Second) // 2262-04-11, in seconds either way
	switch s := t.Unix(); {
	case t.IsZero():
		return 0
	case s <= -edge:
		return -edge * int64(time.Second)
	case s >= edge:
		return edge * int64(time.Second)
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// rec returns record n (1-based). Called with mu held.
func (s *memoryStore) rec(n uint32) *record {
	n--
	return &s.chunks[n>>chunkBits][n&chunkMask]
}

// session returns session n (0 is the empty one). Called with mu held.
func (s *memoryStore) session(n uint32) *session {
	return &s.sessions[n>>chunkBits][n&chunkMask]
}

// addSession appends ses and returns its number. Called with mu held for writing.
func (s *memoryStore) addSession(ses session) uint32 {
	if s.nSession&chunkMask == 0 {
		s.sessions = append(s.sessions, make([]session, chunkSize))
	}
	n := s.nSession
	*s.session(n) = ses
	s.nSession++
	return n
}

// add appends r and returns its number. Called with mu held for writing.
func (s *memoryStore) add(r record) uint32 {
	if s.count&chunkMask == 0 {
		s.chunks = append(s.chunks, make([]record, chunkSize))
	}
	s.chunks[s.count>>chunkBits][s.count&chunkMask] = r
	s.count++
	return s.count
}

var errTooManyNames = errors.New("store: more than 255 distinct vendor, kind and reason names")

// smallIndex interns a vendor, kind or reason name. Called with mu held for writing.
func (s *memoryStore) smallIndex(name string) (uint8, error) {
	if i, ok := s.smallIx[name]; ok {
		return i, nil
	}
	if len(s.small) >= 256 {
		return 0, errTooManyNames
	}
	i := uint8(len(s.small))
	s.small = append(s.small, strings.Clone(name))
	s.smallIx[s.small[i]] = i
	return i, nil
}

func (s *memoryStore) intern(v string) uint32 {
	if i, ok := s.strIx[v]; ok {
		return i
	}
	i := uint32(len(s.strs))
	s.strs = append(s.strs, strings.Clone(v))
	s.strIx[s.strs[i]] = i
	return i
}

func (s *memoryStore) internLists(scopes, roles []string) uint32 {
	if len(scopes) == 0 && len(roles) == 0 {
		return 0
	}
	key := strings.Join(scopes, "\x00") + "\x01" + strings.Join(roles, "\x00")
	if i, ok := s.listIx[key]; ok {
		return i
	}
	i := uint32(len(s.lists))
	s.lists = append(s.lists, tokenLists{scopes: slices.Clone(scopes), roles: slices.Clone(roles)})
	s.listIx[key] = i
	return i
}

// compact keeps v as a compactID, interning it unless it is a canonical UUID
// or a decimal number. Called with mu held for writing.
func (s *memoryStore) compact(v string) compactID {
	if u, ok := parseCanonicalUUID(v); ok {
		return compactID{uid: u, form: idUUID}
	}
	if n, ok := decimalID(v); ok {
		c := compactID{form: idNumber}
		binary.LittleEndian.PutUint64(c.uid[:8], n)
		return c
	}
	return compactID{str: s.intern(v)}
}

func (s *memoryStore) expand(c compactID) string {
	switch c.form {
	case idUUID:
		return uuid.UUID(c.uid).String()
	case idNumber:
		return strconv.FormatUint(binary.LittleEndian.Uint64(c.uid[:8]), 10)
	}
	return s.strs[c.str]
}

// is reports whether c holds v, without formatting it.
func (s *memoryStore) is(c compactID, v string) bool {
	switch c.form {
	case idUUID:
		u, ok := parseCanonicalUUID(v)
		return ok && u == c.uid
	case idNumber:
		n, ok := decimalID(v)
		return ok && n == binary.LittleEndian.Uint64(c.uid[:8])
	}
	return s.strs[c.str] == v
}

// parseCanonicalUUID decodes v if it is a UUID written as uuid.UUID.String
// writes one (lower-case hex, dashes after the 8th, 12th, 16th and 20th
// digit), so that writing the result back gives v again. It spares formatting
// the UUID to compare, and reads v once (every id the emulator makes is one).
func parseCanonicalUUID(v string) ([16]byte, bool) {
	var u [16]byte
	if len(v) != 36 || v[8] != '-' || v[13] != '-' || v[18] != '-' || v[23] != '-' {
		return u, false
	}
	// Where each byte's two hex digits start.
	starts := [16]uint8{0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34}
	for i, at := range starts {
		hi, ok1 := lowerHex(v[at])
		lo, ok2 := lowerHex(v[at+1])
		if !ok1 || !ok2 {
			return u, false
		}
		u[i] = hi<<4 | lo
	}
	return u, true
}

func lowerHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// token turns a record back into a Token. Called with mu held.
func (s *memoryStore) token(r *record) Token {
	l := s.lists[r.lists]
	ses := s.session(r.session)
	return Token{
		ID: s.expand(r.id), Vendor: s.small[r.vendor], Kind: TokenKind(s.small[r.kind]), Hash: r.hash,
		Principal: s.strs[r.principal], AccountID: s.strs[r.account], Scopes: l.scopes, Roles: l.roles,
		Family: s.expand(ses.family), PairID: s.expand(ses.pair),
		IssuedAt: fromNanos(r.issued), ExpiresAt: fromNanos(r.expires), RevokedAt: fromNanos(r.revoked),
		RevokeReason: s.small[r.reason],
	}
}

// lookupHash finds the record of a hash. Called with mu held. TokenByHash
// compares the whole hash again in constant time.
func (s *memoryStore) lookupHash(h SecretHash) *record {
	return s.hashChain(s.byHash[hashKey(h)], h)
}

// hashChain returns the record with hash h in the byHash chain from record n.
func (s *memoryStore) hashChain(n uint32, h SecretHash) *record {
	for n != 0 {
		r := s.rec(n)
		if r.hash == h {
			return r
		}
		n = r.nextHash
	}
	return nil
}

// find returns the record of (vendor, id). Called with mu held.
func (s *memoryStore) find(vendor, id string) *record {
	v, ok := s.smallIx[vendor]
	if !ok {
		return nil
	}
	return s.idChain(s.byID[idHash(v, id)], v, id)
}

// idChain returns the record of (vendor v, id) in the byID chain from record n.
func (s *memoryStore) idChain(n uint32, v uint8, id string) *record {
	for n != 0 {
		r := s.rec(n)
		if r.vendor == v && s.is(r.id, id) {
			return r
		}
		n = r.nextID
	}
	return nil
}

func (s *memoryStore) PutToken(t Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	vendor, err := s.smallIndex(t.Vendor)
	if err != nil {
		return err
	}
	// Each map is read once: the chain heads serve both the duplicate check
	// and the new record's links (with a store much larger than the CPU's
	// caches, each first read of a map is a cache miss).
	hk, ik := hashKey(t.Hash), idHash(vendor, t.ID)
	headHash, headID := s.byHash[hk], s.byID[ik]
	if s.hashChain(headHash, t.Hash) != nil || s.idChain(headID, vendor, t.ID) != nil {
		return ErrExists
	}
	kind, err := s.smallIndex(string(t.Kind))
	if err != nil {
		return err
	}
	reason, err := s.smallIndex(t.RevokeReason)
	if err != nil {
		return err
	}
	r := record{
		hash: t.Hash, principal: s.intern(t.Principal), account: s.intern(t.AccountID),
		lists:  s.internLists(t.Scopes, t.Roles),
		issued: nanos(t.IssuedAt), expires: nanos(t.ExpiresAt), revoked: nanos(t.RevokedAt),
		vendor: vendor, kind: kind, reason: reason,
	}
	r.id = s.compact(t.ID)
	r.nextHash, r.nextID = headHash, headID
	var fk uint64
	if t.Family != "" || t.PairID != "" {
		ses := session{family: s.compact(t.Family), pair: s.compact(t.PairID)}
		if rv, ok := s.revokedFamilies[familyKey{vendor, ses.family}]; ok && t.Family != "" && r.revoked == 0 {
			// A rotation that lost the race with its family's revocation
			// issues into a revoked family: its tokens are born revoked.
			r.revoked, r.reason = rv.at, rv.reason
		}
		if t.Family != "" {
			fk = idHash(vendor, t.Family)
			ses.nextFamily = s.byFamily[fk]
		}
		r.session = s.addSession(ses)
	}
	n := s.add(r)
	s.byHash[hk] = n
	s.byID[ik] = n
	if t.Family != "" {
		s.byFamily[fk] = n
	}
	return nil
}

func (s *memoryStore) TokenByHash(h SecretHash) (Token, error) {
	s.mu.RLock()
	r := s.lookupHash(h)
	var out Token
	if r != nil {
		out = s.token(r)
	}
	s.mu.RUnlock()
	// The map lookup found the entry by hash; compare again in constant time so
	// that the final decision never depends on a short-circuiting comparison.
	if r == nil || !out.Hash.Equal(h) {
		return Token{}, ErrNotFound
	}
	return out, nil
}

func (s *memoryStore) TokenByID(vendor, id string) (Token, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.find(vendor, id)
	if r == nil {
		return Token{}, ErrNotFound
	}
	return s.token(r), nil
}

func (s *memoryStore) Tokens(f TokenFilter) []Token {
	s.mu.RLock()
	out := make([]Token, 0)
	if v, ok := s.smallIx[f.Vendor]; ok && f.Vendor != "" && f.Family != "" {
		// A session's tokens: its family chain, not the whole store.
		for n := s.byFamily[idHash(v, f.Family)]; n != 0; {
			r := s.rec(n)
			if t := s.token(r); f.match(&t) {
				out = append(out, t)
			}
			n = s.session(r.session).nextFamily
		}
	} else {
		for n := uint32(1); n <= s.count; n++ {
			if t := s.token(s.rec(n)); f.match(&t) {
				out = append(out, t)
			}
		}
	}
	s.mu.RUnlock()
	slices.SortStableFunc(out, func(a, b Token) int {
		if c := a.IssuedAt.Compare(b.IssuedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}

func (s *memoryStore) RevokeToken(vendor, id string, at time.Time, reason string) (Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.find(vendor, id)
	if r == nil {
		return Token{}, ErrNotFound
	}
	if r.revoked != 0 {
		return s.token(r), ErrRevoked
	}
	ri, err := s.smallIndex(reason)
	if err != nil {
		return Token{}, err
	}
	r.revoked, r.reason = nanos(at), ri
	return s.token(r), nil
}

func (s *memoryStore) ExpireToken(vendor, id string, at time.Time) (Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.find(vendor, id)
	if r == nil {
		return Token{}, ErrNotFound
	}
	if n := nanos(at); r.expires == 0 || n < r.expires {
		r.expires = n
	}
	return s.token(r), nil
}

func (s *memoryStore) RevokeFamily(vendor, family string, at time.Time, reason string) []Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.smallIx[vendor]
	if !ok {
		return nil
	}
	ri, err := s.smallIndex(reason)
	if err != nil {
		return nil
	}
	if fam := s.compact(family); s.revokedFamilies[familyKey{v, fam}] == (familyRevocation{}) {
		s.revokedFamilies[familyKey{v, fam}] = familyRevocation{at: nanos(at), reason: ri}
	}
	var out []Token
	for n := s.byFamily[idHash(v, family)]; n != 0; {
		r := s.rec(n)
		ses := s.session(r.session)
		if r.vendor == v && s.is(ses.family, family) && r.revoked == 0 {
			r.revoked, r.reason = nanos(at), ri
			out = append(out, s.token(r))
		}
		n = ses.nextFamily
	}
	// The chain holds the newest first; report them in issue order.
	slices.Reverse(out)
	return out
}

func (s *memoryStore) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chunks, s.count = nil, 0
	s.byHash = make(map[uint64]uint32)
	s.byID = make(map[uint64]uint32)
	s.byFamily = make(map[uint64]uint32)
	s.small = []string{""}
	s.smallIx = map[string]uint8{"": 0}
	s.strs = []string{""}
	s.strIx = map[string]uint32{"": 0}
	s.lists = []tokenLists{{}}
	s.listIx = map[string]uint32{}
	s.sessions, s.nSession = nil, 0
	s.addSession(session{})
	s.revokedFamilies = map[familyKey]familyRevocation{}
}
