package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"iter"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Memory is the in-memory Store. Its records hold no pointers: a token
// is a 104-byte record in fixed-size chunks (so growing never copies the old
// ones), found through maps from 64-bit keys to record numbers, with strings
// (non-UUID ids, principals, accounts, scope lists, session ids) in side
// tables referred to by index. The garbage collector skips all of it, which
// keeps collection pauses short however many tokens are live, and a million
// live tokens take under 300 MB.
type Memory struct {
	mu sync.RWMutex

	chunks [][]record // record n (1-based) is chunks[(n-1)>>chunkBits][(n-1)&chunkMask]
	count  uint32
	// recShared and sesShared say which chunks a clone shares: the store
	// copies such a chunk before it writes to it.
	recShared, sesShared []bool

	byHash   map[uint64]uint32 // first 8 bytes of the hash → newest record; chained by nextHash
	byID     map[uint64]uint32 // idHash(vendor, id) → newest record; chained by nextID
	byFamily map[uint64]uint32 // idHash(vendor, family) → newest record; chained by sessions[].nextFamily
	// byPrincipal: idHash(vendor, principal) → the principal's oldest and
	// newest records, doubly linked by prevP and nextP, so that a listing
	// of one principal's tokens walks them alone and a sweep unlinks one
	// without a search.
	byPrincipal map[uint64]principalChain
	// principals are each vendor's principals (indexes in strs) with how
	// many records each has: a listing of one vendor walks their chains.
	principals map[uint8]map[uint32]int
	live       int      // records in use
	free       []uint32 // records swept, reused by add
	freeSess   []uint32 // sessions swept, reused by addSession
	sweepAt    uint32   // the next record a sweep looks at

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

type principalChain struct{ head, tail uint32 }

// session is a record's family and pair: only TeleTracker's tokens have them.
// It holds no pointer, like the records: the family and pair ids are UUIDs in
// 16 bytes (anything else goes to the string table), so the garbage collector
// has nothing to mark in the session chunks however many logins there were.
type session struct {
	family, pair compactID
	nextFamily   uint32 // the family's next older record
	prevFamily   uint32 // and its next newer one: a sweep unlinks without a walk
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
	prevP     uint32 // the principal's previous and next records (byPrincipal)
	nextP     uint32
	issued    int64 // Unix nanoseconds; 0 for the zero time
	expires   int64
	own       int64 // OwnExpiresAt
	revoked   int64
	vendor    uint8
	kind      uint8
	reason    uint8
	inUse     bool // false for a record swept and not reused yet
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

// NewMemory returns an empty Memory store.
func NewMemory() *Memory {
	s := &Memory{}
	s.reset()
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
func (s *Memory) rec(n uint32) *record {
	n--
	return &s.chunks[n>>chunkBits][n&chunkMask]
}

// session returns session n (0 is the empty one). Called with mu held.
func (s *Memory) session(n uint32) *session {
	return &s.sessions[n>>chunkBits][n&chunkMask]
}

// recW and sessionW are rec and session for a write: a chunk a clone still
// shares is copied first (copy on write), so that a clone costs a copy of
// the chunk list, not of the records. Called with mu held for writing.
func (s *Memory) recW(n uint32) *record {
	i := (n - 1) >> chunkBits
	if s.recShared[i] {
		s.chunks[i] = slices.Clone(s.chunks[i])
		s.recShared[i] = false
	}
	return s.rec(n)
}

func (s *Memory) sessionW(n uint32) *session {
	i := n >> chunkBits
	if s.sesShared[i] {
		s.sessions[i] = slices.Clone(s.sessions[i])
		s.sesShared[i] = false
	}
	return s.session(n)
}

// addSession appends ses and returns its number. Called with mu held for writing.
func (s *Memory) addSession(ses session) uint32 {
	if n := len(s.freeSess); n > 0 {
		i := s.freeSess[n-1]
		s.freeSess = s.freeSess[:n-1]
		*s.sessionW(i) = ses
		return i
	}
	switch {
	case s.nSession&chunkMask == 0 && s.nSession > 0 || len(s.sessions) == 0:
		s.sessions = append(s.sessions, make([]session, firstChunk(s.nSession)))
		s.sesShared = append(s.sesShared, false)
	case s.nSession < chunkSize && int(s.nSession) == len(s.sessions[0]):
		s.sessions[0] = grow(s.sessions[0])
		s.sesShared[0] = false
	}
	n := s.nSession
	*s.sessionW(n) = ses
	s.nSession++
	return n
}

// firstChunk is the length of a new chunk: the first one starts small and
// grows (grow) to chunkSize, so that an emulator with few tokens (a tenant)
// holds a few KB of records, not 400 KB; every later one is whole.
func firstChunk(n uint32) int {
	if n == 0 {
		return 16
	}
	return chunkSize
}

// grow returns a copy of the first chunk twice as long (at most chunkSize).
// The copy is the store's own: a snapshot keeps reading the old one.
func grow[T any](c []T) []T {
	out := make([]T, min(2*len(c), chunkSize))
	copy(out, c)
	return out
}

// add stores r in a swept record or a new one and returns its number.
// Called with mu held for writing.
func (s *Memory) add(r record) uint32 {
	r.inUse = true
	s.live++
	if n := len(s.free); n > 0 {
		i := s.free[n-1]
		s.free = s.free[:n-1]
		*s.recW(i) = r
		return i
	}
	switch {
	case s.count&chunkMask == 0 && s.count > 0 || len(s.chunks) == 0:
		s.chunks = append(s.chunks, make([]record, firstChunk(s.count)))
		s.recShared = append(s.recShared, false)
	case s.count < chunkSize && int(s.count) == len(s.chunks[0]):
		s.chunks[0] = grow(s.chunks[0])
		s.recShared[0] = false
	}
	s.count++
	*s.recW(s.count) = r
	return s.count
}

var errTooManyNames = errors.New("store: more than 255 distinct vendor, kind and reason names")

// smallIndex interns a vendor, kind or reason name. Called with mu held for writing.
func (s *Memory) smallIndex(name string) (uint8, error) {
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

func (s *Memory) intern(v string) uint32 {
	if i, ok := s.strIx[v]; ok {
		return i
	}
	i := uint32(len(s.strs))
	s.strs = append(s.strs, strings.Clone(v))
	s.strIx[s.strs[i]] = i
	return i
}

func (s *Memory) internLists(scopes, roles []string) uint32 {
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
func (s *Memory) compact(v string) compactID {
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

func (s *Memory) expand(c compactID) string {
	switch c.form {
	case idUUID:
		return uuid.UUID(c.uid).String()
	case idNumber:
		return strconv.FormatUint(binary.LittleEndian.Uint64(c.uid[:8]), 10)
	}
	return s.strs[c.str]
}

// is reports whether c holds v, without formatting it.
func (s *Memory) is(c compactID, v string) bool {
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
func (s *Memory) token(r *record) Token {
	l := s.lists[r.lists]
	ses := s.session(r.session)
	return Token{
		ID: s.expand(r.id), Vendor: s.small[r.vendor], Kind: Kind(s.small[r.kind]), Hash: r.hash,
		Principal: s.strs[r.principal], AccountID: s.strs[r.account], Scopes: l.scopes, Roles: l.roles,
		Family: s.expand(ses.family), PairID: s.expand(ses.pair),
		IssuedAt: fromNanos(r.issued), ExpiresAt: fromNanos(r.expires), OwnExpiresAt: fromNanos(r.own), RevokedAt: fromNanos(r.revoked),
		RevokeReason: s.small[r.reason],
	}
}

// lookupHash finds the record of a hash. Called with mu held. ByHash
// compares the whole hash again in constant time.
func (s *Memory) lookupHash(h SecretHash) *record {
	return s.hashChain(s.byHash[hashKey(h)], h)
}

// hashChain returns the record with hash h in the byHash chain from record n.
func (s *Memory) hashChain(n uint32, h SecretHash) *record {
	for n != 0 {
		r := s.rec(n)
		if r.hash == h {
			return r
		}
		n = r.nextHash
	}
	return nil
}

// find returns the number of the record of (vendor, id), 0 for none.
// Called with mu held.
func (s *Memory) find(vendor, id string) uint32 {
	v, ok := s.smallIx[vendor]
	if !ok {
		return 0
	}
	return s.idChain(s.byID[idHash(v, id)], v, id)
}

// idChain returns the number of the record of (vendor v, id) in the byID
// chain from record n, 0 for none.
func (s *Memory) idChain(n uint32, v uint8, id string) uint32 {
	for n != 0 {
		r := s.rec(n)
		if r.vendor == v && s.is(r.id, id) {
			return n
		}
		n = r.nextID
	}
	return 0
}

// Put adds a token (see Store).
func (s *Memory) Put(_ context.Context, t Token) error {
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
	if s.hashChain(headHash, t.Hash) != nil || s.idChain(headID, vendor, t.ID) != 0 {
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
		issued: nanos(t.IssuedAt), expires: nanos(t.ExpiresAt), own: nanos(t.OwnExpiresAt), revoked: nanos(t.RevokedAt),
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
	oldFamilyHead := uint32(0)
	if t.Family != "" {
		oldFamilyHead = s.byFamily[fk]
	}
	pk := idHash(vendor, t.Principal)
	pc := s.byPrincipal[pk]
	r.prevP = pc.tail
	n := s.add(r)
	if pc.tail != 0 {
		s.recW(pc.tail).nextP = n
	} else {
		pc.head = n
	}
	pc.tail = n
	s.byPrincipal[pk] = pc
	if s.principals[vendor] == nil {
		s.principals[vendor] = map[uint32]int{}
	}
	s.principals[vendor][r.principal]++
	s.byHash[hk] = n
	s.byID[ik] = n
	if t.Family != "" {
		if oldFamilyHead != 0 {
			s.sessionW(s.rec(oldFamilyHead).session).prevFamily = n
		}
		s.byFamily[fk] = n
	}
	return nil
}

// Sweep forgets the tokens Token.Sweepable lets go, looking at up to budget
// records from where the last sweep stopped (see Store).
func (s *Memory) Sweep(_ context.Context, before time.Time, budget int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if budget <= 0 {
		budget = int(s.count)
	}
	return s.sweepSome(before, budget), nil
}

// sweepSome looks at up to visits records from the sweep cursor on and
// forgets those revoked, or expired, before the given time. Called with mu
// held for writing.
func (s *Memory) sweepSome(before time.Time, visits int) int {
	if s.count == 0 {
		return 0
	}
	limit := nanos(before)
	gone := 0
	for range min(visits, int(s.count)) {
		if s.sweepAt == 0 || s.sweepAt > s.count {
			s.sweepAt = 1
			s.sweepFamilies(limit)
		}
		n := s.sweepAt
		s.sweepAt++
		r := s.rec(n)
		if !r.inUse {
			continue
		}
		dead := (r.revoked != 0 && r.revoked < limit) || (r.expires != 0 && r.expires < limit)
		// A token with an expiry of its own (a JWT) stays until that is past
		// the window too: without its record it would verify again.
		if dead && (r.own == 0 || r.own < limit) {
			s.remove(n)
			gone++
		}
	}
	return gone
}

// sweepFamilies forgets the family revocations made before limit, once a
// sweep pass: the families' tokens go with the same limit.
func (s *Memory) sweepFamilies(limit int64) {
	for k, rv := range s.revokedFamilies {
		if rv.at < limit {
			delete(s.revokedFamilies, k)
		}
	}
}

// remove unlinks record n from every index and frees it (and its session).
// Called with mu held for writing.
func (s *Memory) remove(n uint32) {
	r := s.recW(n)
	unlink := func(m map[uint64]uint32, key uint64, next func(uint32) *uint32) {
		if m[key] == n {
			if nx := *next(n); nx != 0 {
				m[key] = nx
			} else {
				delete(m, key)
			}
			return
		}
		for p := m[key]; p != 0; p = *next(p) {
			if *next(p) == n {
				*next(p) = *next(n)
				return
			}
		}
	}
	unlink(s.byHash, hashKey(r.hash), func(i uint32) *uint32 { return &s.recW(i).nextHash })
	unlink(s.byID, idHash(r.vendor, s.expand(r.id)), func(i uint32) *uint32 { return &s.recW(i).nextID })
	r = s.rec(n) // the chunk may have been copied by the unlinks
	if r.session != 0 {
		ses := s.sessionW(r.session)
		if fam := s.expand(ses.family); fam != "" {
			prev, next := ses.prevFamily, ses.nextFamily
			if prev != 0 {
				s.sessionW(s.rec(prev).session).nextFamily = next
			} else if next != 0 {
				s.byFamily[idHash(r.vendor, fam)] = next
			} else {
				delete(s.byFamily, idHash(r.vendor, fam))
			}
			if next != 0 {
				s.sessionW(s.rec(next).session).prevFamily = prev
			}
		}
		ses = s.sessionW(r.session)
		*ses = session{}
		s.freeSess = append(s.freeSess, r.session)
	}
	pk := idHash(r.vendor, s.strs[r.principal])
	pc := s.byPrincipal[pk]
	if r.prevP != 0 {
		s.recW(r.prevP).nextP = r.nextP
	} else {
		pc.head = r.nextP
	}
	if r.nextP != 0 {
		s.recW(r.nextP).prevP = r.prevP
	} else {
		pc.tail = r.prevP
	}
	if pc.head == 0 {
		delete(s.byPrincipal, pk)
	} else {
		s.byPrincipal[pk] = pc
	}
	if ps := s.principals[r.vendor]; ps[r.principal] <= 1 {
		delete(ps, r.principal)
	} else {
		ps[r.principal]--
	}
	*r = record{}
	s.free = append(s.free, n)
	s.live--
}

// Snapshot returns the tokens as they are now (see Store). It costs a copy
// of the chunk lists: the chunks are shared and copied by the store before
// it next writes to one, and the interned tables, which only ever grow, are
// shared up to their length now. Reading the snapshot takes no lock.
func (s *Memory) Snapshot(_ context.Context) (iter.Seq2[Token, error], error) {
	s.mu.Lock() // it marks the chunks shared
	c := &Memory{count: s.count, nSession: s.nSession, small: s.small[:len(s.small):len(s.small)],
		strs: s.strs[:len(s.strs):len(s.strs)], lists: s.lists[:len(s.lists):len(s.lists)]}
	c.chunks, c.sessions = slices.Clone(s.chunks), slices.Clone(s.sessions)
	for i := range s.recShared {
		s.recShared[i] = true
	}
	for i := range s.sesShared {
		s.sesShared[i] = true
	}
	s.mu.Unlock()
	return func(yield func(Token, error) bool) {
		for n := uint32(1); n <= c.count; n++ {
			if r := c.rec(n); r.inUse && !yield(c.token(r), nil) {
				return
			}
		}
	}, nil
}

// List returns one page of the tokens q selects (see Store). It works under
// one read lock on the records themselves: it walks the indexes that narrow
// the search (a principal's chain, a vendor's principals, a family), sorts
// 16-byte keys, and makes tokens of the page alone, so that a listing costs
// memory for its page, not for every token it counts. (Copying every token
// of a busy Passport client on every call took 0.36 s and, 16 calls at a
// time, 3.8 GB.)
func (s *Memory) List(_ context.Context, q Query) (Page, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	type key struct {
		at int64
		n  uint32
	}
	var keys []key
	atN, byN := nanos(q.At), nanos(q.IssuedBy)
	var among map[uint32]bool // the principals of q.Principals, as string indexes
	if len(q.Principals) > 0 {
		among = make(map[uint32]bool, len(q.Principals))
		for _, p := range q.Principals {
			if i, ok := s.strIx[p]; ok {
				among[i] = true
			}
		}
	}
	walked := false // set when the walk follows the principals' own chains: no need to check them
	visit := func(n uint32) {
		r := s.rec(n)
		if !r.inUse ||
			(q.Kind != "" && s.small[r.kind] != string(q.Kind)) ||
			(!walked && q.Principal != "" && s.strs[r.principal] != q.Principal) ||
			(!walked && among != nil && !among[r.principal]) ||
			(q.AccountID != "" && s.strs[r.account] != q.AccountID) ||
			(q.Family != "" && (r.session == 0 || !s.is(s.session(r.session).family, q.Family))) ||
			(q.Role != "" && !slices.Contains(s.lists[r.lists].roles, q.Role)) ||
			(!q.IssuedBy.IsZero() && r.issued > byN) {
			return
		}
		switch q.State {
		case StateRevoked:
			if r.revoked == 0 {
				return
			}
		case StateExpired:
			if r.revoked != 0 || r.expires == 0 || atN < r.expires {
				return
			}
		case StateActive:
			if r.revoked != 0 || (r.expires != 0 && atN >= r.expires) {
				return
			}
		}
		at := r.issued
		if q.ByExpiry {
			at = r.expires
		}
		keys = append(keys, key{at, n})
	}
	chain := func(v uint8, p uint32) {
		// The chain is keyed by a 64-bit hash of (vendor, principal): a
		// colliding principal shares it, and is skipped here.
		for n := s.byPrincipal[idHash(v, s.strs[p])].head; n != 0; n = s.rec(n).nextP {
			if r := s.rec(n); r.principal == p && r.vendor == v {
				visit(n)
			}
		}
	}
	// The principals to walk, when the query names some.
	var walk []uint32
	switch {
	case among != nil:
		for p := range among {
			if q.Principal == "" || s.strs[p] == q.Principal {
				walk = append(walk, p)
			}
		}
	case q.Principal != "":
		if p, ok := s.strIx[q.Principal]; ok {
			walk = append(walk, p)
		}
	}
	v, known := s.smallIx[q.Vendor]
	// Room for every record the walk below may visit, so that appending
	// never copies (a busy client's listing visits hundreds of thousands).
	room := 0
	switch {
	case q.Principal != "" || among != nil:
		for vi, ps := range s.principals {
			if q.Vendor == "" || vi == v {
				for _, p := range walk {
					room += ps[p]
				}
			}
		}
	case q.Vendor != "" && q.Family == "" && known:
		for _, n := range s.principals[v] {
			room += n
		}
	case q.Vendor == "":
		room = s.live
	}
	keys = make([]key, 0, min(room, maxListRoom))
	switch {
	case q.Vendor != "" && !known:
		// No token of that vendor was ever stored.
	case q.Principal != "" || among != nil:
		walked = true
		for vi, ps := range s.principals {
			if q.Vendor != "" && vi != v {
				continue
			}
			for _, p := range walk {
				if ps[p] > 0 {
					chain(vi, p)
				}
			}
		}
	case q.Vendor != "" && q.Family != "":
		for n := s.byFamily[idHash(v, q.Family)]; n != 0; n = s.session(s.rec(n).session).nextFamily {
			if s.rec(n).vendor == v {
				visit(n)
			}
		}
	case q.Vendor != "":
		for p := range s.principals[v] {
			chain(v, p)
		}
	default:
		for n := uint32(1); n <= s.count; n++ {
			visit(n)
		}
	}
	slices.SortFunc(keys, func(a, b key) int {
		c := cmp.Compare(a.at, b.at)
		if c == 0 { // only a tie reads the records: most comparisons stay in keys
			c = s.compareIDs(s.rec(a.n).id, s.rec(b.n).id)
		}
		if q.Desc {
			c = -c
		}
		return c
	})
	start := 0
	if q.After != nil {
		afterAt := nanos(q.After.At)
		start = sort.Search(len(keys), func(i int) bool {
			c := cmp.Compare(keys[i].at, afterAt)
			if c == 0 {
				c = cmp.Compare(s.expand(s.rec(keys[i].n).id), q.After.ID)
			}
			if q.Desc {
				c = -c
			}
			return c > 0
		})
	}
	if q.Offset > 0 {
		start += min(q.Offset, len(keys)-start)
	}
	end := len(keys)
	if q.Limit > 0 && q.Limit < end-start {
		end = start + q.Limit
	}
	page := Page{Tokens: make([]Token, 0, end-start), Total: len(keys), More: end < len(keys)}
	for _, k := range keys[start:end] {
		page.Tokens = append(page.Tokens, s.token(s.rec(k.n)))
	}
	return page, nil
}

// maxListRoom caps the keys List reserves before it walks (16 bytes each):
// a walk that may visit more grows the slice as it finds matches.
const maxListRoom = 1 << 16

// compareIDs orders two ids as their strings order, without making strings
// of UUIDs (their bytes order as their lower-case hex does).
func (s *Memory) compareIDs(a, b compactID) int {
	if a.form == idUUID && b.form == idUUID {
		return bytes.Compare(a.uid[:], b.uid[:])
	}
	return cmp.Compare(s.expand(a), s.expand(b))
}

// Stats reports how many tokens the store holds and, as Records, how many
// it has room for without growing: the high-water mark, as swept records
// are reused.
func (s *Memory) Stats(_ context.Context) (Stats, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return Stats{Tokens: s.live, Records: int(s.count)}, nil
}

// ByHash finds a token by the SHA-256 of its value (see Store).
func (s *Memory) ByHash(_ context.Context, h SecretHash) (Token, error) {
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

// ByID finds a token by vendor and public id.
func (s *Memory) ByID(_ context.Context, vendor, id string) (Token, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := s.find(vendor, id)
	if n == 0 {
		return Token{}, ErrNotFound
	}
	return s.token(s.rec(n)), nil
}

// Revoke marks a token revoked (see Store).
func (s *Memory) Revoke(_ context.Context, vendor, id string, at time.Time, reason string) (Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.find(vendor, id)
	if n == 0 {
		return Token{}, ErrNotFound
	}
	if r := s.rec(n); r.revoked != 0 {
		return s.token(r), ErrRevoked
	}
	ri, err := s.smallIndex(reason)
	if err != nil {
		return Token{}, err
	}
	r := s.recW(n)
	r.revoked, r.reason = nanos(at), ri
	return s.token(r), nil
}

// Expire makes a token expire at the given time (see Store).
func (s *Memory) Expire(_ context.Context, vendor, id string, at time.Time) (Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.find(vendor, id)
	if n == 0 {
		return Token{}, ErrNotFound
	}
	r := s.recW(n)
	if at := nanos(at); r.expires == 0 || at < r.expires {
		r.expires = at
	}
	return s.token(r), nil
}

// RevokeFamily revokes a family's tokens (see Store).
func (s *Memory) RevokeFamily(_ context.Context, vendor, family string, at time.Time, reason string) ([]Token, error) {
	if family == "" {
		return []Token{}, nil // a token with no family is in none
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.smallIndex(vendor)
	if err != nil {
		return nil, err
	}
	ri, err := s.smallIndex(reason)
	if err != nil {
		return nil, err
	}
	if fam := s.compact(family); s.revokedFamilies[familyKey{v, fam}] == (familyRevocation{}) {
		s.revokedFamilies[familyKey{v, fam}] = familyRevocation{at: nanos(at), reason: ri}
	}
	out := []Token{}
	for n := s.byFamily[idHash(v, family)]; n != 0; {
		r := s.rec(n)
		ses := s.session(r.session)
		if r.vendor == v && s.is(ses.family, family) && r.revoked == 0 {
			r = s.recW(n)
			r.revoked, r.reason = nanos(at), ri
			out = append(out, s.token(r))
		}
		n = ses.nextFamily
	}
	// Oldest first, as every listing orders.
	q := Query{}
	slices.SortFunc(out, func(a, b Token) int { return q.Compare(q.CursorOf(a), q.CursorOf(b)) })
	return out, nil
}

// Reset forgets every token and family revocation.
func (s *Memory) Reset(_ context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reset()
	return nil
}

func (s *Memory) reset() {
	s.chunks, s.count, s.recShared = nil, 0, nil
	s.byHash = make(map[uint64]uint32)
	s.byID = make(map[uint64]uint32)
	s.byFamily = make(map[uint64]uint32)
	s.byPrincipal = make(map[uint64]principalChain)
	s.principals = make(map[uint8]map[uint32]int)
	s.live, s.free, s.freeSess, s.sweepAt = 0, nil, nil, 0
	s.small = []string{""}
	s.smallIx = map[string]uint8{"": 0}
	s.strs = []string{""}
	s.strIx = map[string]uint32{"": 0}
	s.lists = []tokenLists{{}}
	s.listIx = map[string]uint32{}
	s.sessions, s.nSession, s.sesShared = nil, 0, nil
	s.addSession(session{})
	s.revokedFamilies = map[familyKey]familyRevocation{}
}
