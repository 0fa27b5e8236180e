package store

import (
	"cmp"
	"context"
	"iter"
	"slices"
	"sync"
	"time"
)

// Reference is the plain Store: a few maps under one mutex. It is the
// readable model of what a Store does (Memory does the same, faster and in
// less memory) and passes the same conformance suite.
type Reference struct {
	mu       sync.Mutex
	tokens   map[vendorKey]*Token // by vendor and ID
	byHash   map[SecretHash]vendorKey
	families map[vendorKey]revocation // the families RevokeFamily revoked
}

type vendorKey struct{ vendor, key string }

type revocation struct {
	at     time.Time
	reason string
}

// NewReference returns an empty Reference store.
func NewReference() *Reference {
	s := &Reference{}
	s.reset()
	return s
}

func (s *Reference) reset() {
	s.tokens = map[vendorKey]*Token{}
	s.byHash = map[SecretHash]vendorKey{}
	s.families = map[vendorKey]revocation{}
}

// Put adds a token (see Store).
func (s *Reference) Put(_ context.Context, t Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := vendorKey{t.Vendor, t.ID}
	if _, ok := s.tokens[k]; ok {
		return ErrExists
	}
	if _, ok := s.byHash[t.Hash]; ok {
		return ErrExists
	}
	if rv, ok := s.families[vendorKey{t.Vendor, t.Family}]; ok && t.Family != "" && t.RevokedAt.IsZero() {
		t.RevokedAt, t.RevokeReason = rv.at, rv.reason
	}
	t.Scopes, t.Roles = slices.Clone(t.Scopes), slices.Clone(t.Roles)
	s.tokens[k] = &t
	s.byHash[t.Hash] = k
	return nil
}

// ByHash finds a token by the SHA-256 of its value.
func (s *Reference) ByHash(_ context.Context, h SecretHash) (Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.byHash[h]
	if !ok {
		return Token{}, ErrNotFound
	}
	t := *s.tokens[k]
	if !t.Hash.Equal(h) {
		return Token{}, ErrNotFound
	}
	return t, nil
}

// ByID finds a token by vendor and public id.
func (s *Reference) ByID(_ context.Context, vendor, id string) (Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[vendorKey{vendor, id}]
	if !ok {
		return Token{}, ErrNotFound
	}
	return *t, nil
}

// List returns one page of the tokens q selects: every token is tested,
// the matches sorted and cut.
func (s *Reference) List(_ context.Context, q Query) (Page, error) {
	s.mu.Lock()
	var match []Token
	for _, t := range s.tokens {
		if q.Match(*t) {
			match = append(match, *t)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(match, func(a, b Token) int { return q.Compare(q.CursorOf(a), q.CursorOf(b)) })
	start := 0
	if q.After != nil {
		start, _ = slices.BinarySearchFunc(match, *q.After, func(t Token, c Cursor) int {
			if q.Compare(q.CursorOf(t), c) <= 0 {
				return -1
			}
			return 1
		})
	}
	start += min(max(q.Offset, 0), len(match)-start)
	end := len(match)
	if q.Limit > 0 && q.Limit < end-start {
		end = start + q.Limit
	}
	return Page{Tokens: append([]Token{}, match[start:end]...), Total: len(match), More: end < len(match)}, nil
}

// Revoke marks a token revoked (see Store).
func (s *Reference) Revoke(_ context.Context, vendor, id string, at time.Time, reason string) (Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[vendorKey{vendor, id}]
	switch {
	case !ok:
		return Token{}, ErrNotFound
	case !t.RevokedAt.IsZero():
		return *t, ErrRevoked
	}
	t.RevokedAt, t.RevokeReason = at, reason
	return *t, nil
}

// Expire makes a token expire at the given time, unless it expires earlier.
func (s *Reference) Expire(_ context.Context, vendor, id string, at time.Time) (Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[vendorKey{vendor, id}]
	if !ok {
		return Token{}, ErrNotFound
	}
	if t.ExpiresAt.IsZero() || at.Before(t.ExpiresAt) {
		t.ExpiresAt = at
	}
	return *t, nil
}

// RevokeFamily revokes a family's tokens and remembers the family revoked.
func (s *Reference) RevokeFamily(_ context.Context, vendor, family string, at time.Time, reason string) ([]Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []Token{}
	if family == "" {
		return out, nil // a token with no family is in none
	}
	if _, ok := s.families[vendorKey{vendor, family}]; !ok {
		s.families[vendorKey{vendor, family}] = revocation{at, reason}
	}
	for _, t := range s.tokens {
		if t.Vendor == vendor && t.Family == family && t.RevokedAt.IsZero() {
			t.RevokedAt, t.RevokeReason = at, reason
			out = append(out, *t)
		}
	}
	q := Query{}
	slices.SortFunc(out, func(a, b Token) int { return q.Compare(q.CursorOf(a), q.CursorOf(b)) })
	return out, nil
}

// Sweep forgets every sweepable token and old family revocation at once,
// whatever the budget.
func (s *Reference) Sweep(_ context.Context, before time.Time, _ int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	gone := 0
	for k, t := range s.tokens {
		if t.Sweepable(before) {
			delete(s.tokens, k)
			delete(s.byHash, t.Hash)
			gone++
		}
	}
	for k, rv := range s.families {
		if rv.at.Before(before) {
			delete(s.families, k)
		}
	}
	return gone, nil
}

// Snapshot copies every token.
func (s *Reference) Snapshot(_ context.Context) (iter.Seq2[Token, error], error) {
	s.mu.Lock()
	all := make([]Token, 0, len(s.tokens))
	for _, t := range s.tokens {
		all = append(all, *t)
	}
	s.mu.Unlock()
	return func(yield func(Token, error) bool) {
		for _, t := range all {
			if !yield(t, nil) {
				return
			}
		}
	}, nil
}

// Stats counts the tokens; Records is -1 (a map has no fixed room).
func (s *Reference) Stats(_ context.Context) (Stats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Tokens: len(s.tokens), Records: -1}, nil
}

// Reset forgets every token and family revocation.
func (s *Reference) Reset(_ context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reset()
	return nil
}

// Match reports whether q selects t, paging aside.
func (q Query) Match(t Token) bool {
	switch {
	case q.Vendor != "" && t.Vendor != q.Vendor,
		q.Kind != "" && t.Kind != q.Kind,
		q.Principal != "" && t.Principal != q.Principal,
		len(q.Principals) > 0 && !slices.Contains(q.Principals, t.Principal),
		q.AccountID != "" && t.AccountID != q.AccountID,
		q.Family != "" && t.Family != q.Family,
		q.Role != "" && !slices.Contains(t.Roles, q.Role),
		!q.IssuedBy.IsZero() && t.IssuedAt.After(q.IssuedBy),
		q.State != "" && t.StateAt(q.At) != q.State:
		return false
	}
	return true
}

// Compare orders two places in q's order: by time, then by ID, reversed
// when q.Desc.
func (q Query) Compare(a, b Cursor) int {
	c := a.At.Compare(b.At)
	if c == 0 {
		c = cmp.Compare(a.ID, b.ID)
	}
	if q.Desc {
		c = -c
	}
	return c
}
