package emulator

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

type vendorID struct{ vendor, id string }

// memoryStore is the in-memory Store.
type memoryStore struct {
	mu       sync.RWMutex
	byHash   map[SecretHash]*Token
	byID     map[vendorID]*Token
	byFamily map[vendorID][]*Token
}

// NewMemoryStore returns an empty in-memory Store.
func NewMemoryStore() Store {
	s := &memoryStore{}
	s.Reset()
	return s
}

func (s *memoryStore) PutToken(t Token) error {
	t.Scopes = slices.Clone(t.Scopes)
	t.Roles = slices.Clone(t.Roles)
	key := vendorID{t.Vendor, t.ID}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.byHash[t.Hash]; dup {
		return ErrExists
	}
	if _, dup := s.byID[key]; dup {
		return ErrExists
	}
	s.byHash[t.Hash] = &t
	s.byID[key] = &t
	if t.Family != "" {
		fk := vendorID{t.Vendor, t.Family}
		s.byFamily[fk] = append(s.byFamily[fk], &t)
	}
	return nil
}

func (s *memoryStore) TokenByHash(h SecretHash) (Token, error) {
	s.mu.RLock()
	t, ok := s.byHash[h]
	var out Token
	if ok {
		out = *t
	}
	s.mu.RUnlock()
	// The map lookup found the entry by hash; compare again in constant time so
	// that the final decision never depends on a short-circuiting comparison.
	if !ok || !out.Hash.Equal(h) {
		return Token{}, ErrNotFound
	}
	return out, nil
}

func (s *memoryStore) TokenByID(vendor, id string) (Token, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.byID[vendorID{vendor, id}]
	if !ok {
		return Token{}, ErrNotFound
	}
	return *t, nil
}

func (s *memoryStore) Tokens(f TokenFilter) []Token {
	s.mu.RLock()
	out := make([]Token, 0)
	for _, t := range s.byID {
		if f.match(t) {
			out = append(out, *t)
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
	t, ok := s.byID[vendorID{vendor, id}]
	if !ok {
		return Token{}, ErrNotFound
	}
	if !t.RevokedAt.IsZero() {
		return *t, ErrRevoked
	}
	t.RevokedAt, t.RevokeReason = at, reason
	return *t, nil
}

func (s *memoryStore) ExpireToken(vendor, id string, at time.Time) (Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.byID[vendorID{vendor, id}]
	if !ok {
		return Token{}, ErrNotFound
	}
	if t.ExpiresAt.IsZero() || at.Before(t.ExpiresAt) {
		t.ExpiresAt = at
	}
	return *t, nil
}

func (s *memoryStore) RevokeFamily(vendor, family string, at time.Time, reason string) []Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Token
	for _, t := range s.byFamily[vendorID{vendor, family}] {
		if t.RevokedAt.IsZero() {
			t.RevokedAt, t.RevokeReason = at, reason
			out = append(out, *t)
		}
	}
	return out
}

func (s *memoryStore) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byHash = make(map[SecretHash]*Token)
	s.byID = make(map[vendorID]*Token)
	s.byFamily = make(map[vendorID][]*Token)
}
