package emulator

import (
	"cmp"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// memoryStore is the in-memory Store. It keeps each token as a compact record
// (144 bytes): times as Unix nanoseconds, vendor, kind and revocation
// reason as small indexes, and principals, accounts and scope lists interned,
// since a million tokens share a handful of each.
type memoryStore struct {
	mu sync.RWMutex
	// byHash and byID are keyed by 64 bits of the hash and of (vendor, id):
	// 16-byte slots instead of 40, which is most of a million tokens' memory.
	// Records that share a key are chained through nextHash and nextID.
	byHash   map[uint64]*record
	byID     map[uint64]*record
	byFamily map[uint64]*record // by idHash(vendor, family), chained through session.nextFamily

	small   []string          // interned vendor, kind and reason names; index 0 is ""
	smallIx map[string]uint8  // their indexes
	strs    []string          // interned principals and accounts; index 0 is ""
	strIx   map[string]uint32 // their indexes
	lists   map[string]*tokenLists
}

type tokenLists struct{ scopes, roles []string }

// session is a record's family and pair: only TeleTracker's tokens have them,
// so the other records do without the 32 bytes.
type session struct {
	family, pair string
	nextFamily   *record // the next record of the family (or of a family with the same key)
}

type record struct {
	nextHash  *record // another record whose hash has the same first 8 bytes
	nextID    *record // another record whose (vendor, id) has the same idHash
	hash      SecretHash
	id        string   // "" when the id is a UUID, kept in uid
	uid       [16]byte // the id, when it is a canonical lower-case UUID
	principal uint32   // index in strs
	account   uint32
	session   *session // family and pair, for the tokens that have them
	lists     *tokenLists
	issued    int64 // Unix nanoseconds; 0 for the zero time
	expires   int64
	revoked   int64
	vendor    uint8
	kind      uint8
	reason    uint8
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

// lookupHash finds the record of a hash. Called with mu held. The chain walk
// compares whole hashes with ==; TokenByHash compares again in constant time.
func (s *memoryStore) lookupHash(h SecretHash) *record {
	for r := s.byHash[hashKey(h)]; r != nil; r = r.nextHash {
		if r.hash == h {
			return r
		}
	}
	return nil
}

// lookupID finds the record of (vendor, id). Called with mu held.
func (s *memoryStore) lookupID(vendor uint8, id string) *record {
	for r := s.byID[idHash(vendor, id)]; r != nil; r = r.nextID {
		if r.vendor == vendor && r.hasID(id) {
			return r
		}
	}
	return nil
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
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

// lookupSmall finds a name's index without adding it. Called with mu held.
func (s *memoryStore) lookupSmall(name string) (uint8, bool) {
	i, ok := s.smallIx[name]
	return i, ok
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

func (s *memoryStore) internLists(scopes, roles []string) *tokenLists {
	if len(scopes) == 0 && len(roles) == 0 {
		return nil
	}
	key := strings.Join(scopes, "\x00") + "\x01" + strings.Join(roles, "\x00")
	if l, ok := s.lists[key]; ok {
		return l
	}
	l := &tokenLists{scopes: slices.Clone(scopes), roles: slices.Clone(roles)}
	s.lists[key] = l
	return l
}

// token turns a record back into a Token. Called with mu held.
func (s *memoryStore) token(r *record) Token {
	t := Token{
		ID: r.idString(), Vendor: s.small[r.vendor], Kind: TokenKind(s.small[r.kind]), Hash: r.hash,
		Principal: s.strs[r.principal], AccountID: s.strs[r.account],
		IssuedAt: fromNanos(r.issued), ExpiresAt: fromNanos(r.expires), RevokedAt: fromNanos(r.revoked),
		RevokeReason: s.small[r.reason],
	}
	if r.lists != nil {
		t.Scopes, t.Roles = r.lists.scopes, r.lists.roles
	}
	if r.session != nil {
		t.Family, t.PairID = r.session.family, r.session.pair
	}
	return t
}

// idString is the record's id.
func (r *record) idString() string {
	if r.id != "" {
		return r.id
	}
	return uuid.UUID(r.uid).String()
}

// hasID reports whether the record's id is id, without formatting a UUID.
func (r *record) hasID(id string) bool {
	if r.id != "" || len(id) != 36 {
		return r.id == id
	}
	u, err := uuid.Parse(id)
	return err == nil && [16]byte(u) == r.uid && u.String() == id
}

// compactID stores id in r: as 16 bytes when it is a canonical UUID.
func (r *record) compactID(id string) {
	if len(id) == 36 {
		if u, err := uuid.Parse(id); err == nil && u.String() == id {
			r.uid = u
			return
		}
	}
	r.id = strings.Clone(id)
}

func (s *memoryStore) PutToken(t Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lookupHash(t.Hash) != nil {
		return ErrExists
	}
	vendor, err := s.smallIndex(t.Vendor)
	if err != nil {
		return err
	}
	if s.lookupID(vendor, t.ID) != nil {
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
	r := &record{
		hash: t.Hash, principal: s.intern(t.Principal), account: s.intern(t.AccountID),
		lists:  s.internLists(t.Scopes, t.Roles),
		issued: nanos(t.IssuedAt), expires: nanos(t.ExpiresAt), revoked: nanos(t.RevokedAt),
		vendor: vendor, kind: kind, reason: reason,
	}
	r.compactID(t.ID)
	if t.Family != "" || t.PairID != "" {
		r.session = &session{family: t.Family, pair: t.PairID}
	}
	hk, ik := hashKey(t.Hash), idHash(vendor, t.ID)
	r.nextHash, r.nextID = s.byHash[hk], s.byID[ik]
	s.byHash[hk] = r
	s.byID[ik] = r
	if t.Family != "" {
		fk := idHash(vendor, t.Family)
		r.session.nextFamily = s.byFamily[fk]
		s.byFamily[fk] = r
	}
	return nil
}

func (s *memoryStore) TokenByHash(h SecretHash) (Token, error) {
	s.mu.RLock()
	r := s.lookupHash(h)
	ok := r != nil
	var out Token
	if ok {
		out = s.token(r)
	}
	s.mu.RUnlock()
	// The map lookup found the entry by hash; compare again in constant time so
	// that the final decision never depends on a short-circuiting comparison.
	if !ok || !out.Hash.Equal(h) {
		return Token{}, ErrNotFound
	}
	return out, nil
}

// find returns the record of (vendor, id). Called with mu held.
func (s *memoryStore) find(vendor, id string) (*record, bool) {
	v, ok := s.lookupSmall(vendor)
	if !ok {
		return nil, false
	}
	r := s.lookupID(v, id)
	return r, r != nil
}

func (s *memoryStore) TokenByID(vendor, id string) (Token, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.find(vendor, id)
	if !ok {
		return Token{}, ErrNotFound
	}
	return s.token(r), nil
}

func (s *memoryStore) Tokens(f TokenFilter) []Token {
	s.mu.RLock()
	out := make([]Token, 0)
	for _, head := range s.byID {
		for r := head; r != nil; r = r.nextID {
			if t := s.token(r); f.match(&t) {
				out = append(out, t)
			}
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b Token) int {
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
	r, ok := s.find(vendor, id)
	if !ok {
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
	r, ok := s.find(vendor, id)
	if !ok {
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
	v, ok := s.lookupSmall(vendor)
	if !ok {
		return nil
	}
	ri, err := s.smallIndex(reason)
	if err != nil {
		return nil
	}
	var out []Token
	for r := s.byFamily[idHash(v, family)]; r != nil; r = r.session.nextFamily {
		if r.vendor == v && r.session.family == family && r.revoked == 0 {
			r.revoked, r.reason = nanos(at), ri
			out = append(out, s.token(r))
		}
	}
	// The chain holds the newest first; revocation order is issue order.
	slices.Reverse(out)
	return out
}

func (s *memoryStore) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byHash = make(map[uint64]*record)
	s.byID = make(map[uint64]*record)
	s.byFamily = make(map[uint64]*record)
	s.small = []string{""}
	s.smallIx = map[string]uint8{"": 0}
	s.strs = []string{""}
	s.strIx = map[string]uint32{"": 0}
	s.lists = make(map[string]*tokenLists)
}
