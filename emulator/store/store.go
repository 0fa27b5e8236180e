// Package store keeps an emulator's tokens behind one interface, Store, with
// two implementations: NewMemory, the fast one every emulator uses by
// default, and NewReference, a plain map store that is the readable model
// of what a Store does. Package storetest holds the conformance suite that
// every implementation, here or elsewhere, runs: storetest.Run(t, newStore).
//
// Every operation takes a context and may fail, so that a store living
// across a network (one that several emulator replicas share) fits behind
// the same interface. A token's value is never stored: only its SHA-256.
package store

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"iter"
	"time"
)

// SecretHash is how every opaque secret (token, refresh token, client
// secret, password) is kept: its SHA-256. The plaintext is never stored.
type SecretHash [sha256.Size]byte

// HashSecret returns the SHA-256 of s.
func HashSecret(s string) SecretHash { return sha256.Sum256([]byte(s)) }

// Equal compares two hashes in constant time: the one secret comparison of
// the emulator (a secret is compared by its hash, never as text).
func (h SecretHash) Equal(o SecretHash) bool {
	return subtle.ConstantTimeCompare(h[:], o[:]) == 1
}

// String is the hash's 64 lower-case hex digits.
func (h SecretHash) String() string { return hex.EncodeToString(h[:]) }

// ParseSecretHash reads a SecretHash from its 64 hex digits.
func ParseSecretHash(s string) (SecretHash, bool) {
	var h SecretHash
	if len(s) != 2*len(h) {
		return h, false // hex.Decode would write past h
	}
	_, err := hex.Decode(h[:], []byte(s))
	return h, err == nil
}

// Kind says what a stored token is. Each vendor declares the kinds it issues.
type Kind string

// The kinds of token the four vendors issue.
const (
	KindAccess    Kind = "access"    // an opaque bearer access token
	KindJWT       Kind = "jwt"       // a JWT the emulator signed
	KindLongLived Kind = "longlived" // a non-expiring opaque token
	KindRefresh   Kind = "refresh"   // a single-use refresh token
	KindTemporary Kind = "temporary" // a single-use temporary JWT
	KindPAT       Kind = "pat"       // a personal access token
)

// Revocation reasons, kept with a revoked token so that a rejection can say why.
const (
	RevokedByAPI        = "revoked"    // an explicit revoke or logout
	RevokedByRotation   = "rotated"    // a refresh token that has been used
	RevokedByMasquerade = "masquerade" // a session replaced by a masquerade
	RevokedByFamily     = "family"     // revoked with its whole family after a reuse
	RevokedByAttempts   = "attempts"   // a temporary token spent by too many wrong OTPs
	RevokedByAdmin      = "admin"      // revoked through the admin plane or a scenario
)

// Token is the record of an issued token. The token's value is never kept:
// only its SHA-256 (Hash). A Token a store returns is the caller's copy,
// but its slices may be shared with the store: treat them as read-only.
type Token struct {
	ID        string // public id, e.g. Passport's token_id
	Vendor    string
	Kind      Kind
	Hash      SecretHash
	Principal string // who it was issued to: a client id or a username
	AccountID string
	Scopes    []string
	Roles     []string
	// Family groups the tokens of one session (a login and its refreshes).
	Family string
	// PairID is, for a refresh token, the ID of the access token issued with it.
	PairID    string
	IssuedAt  time.Time
	ExpiresAt time.Time // zero: never expires
	// OwnExpiresAt, for a token that proves itself (a JWT, which verifies by
	// its signature), is when it says it expires, which Expire does not
	// move. A sweep keeps such a record until this too is past the
	// retention window: without its record, a revoked JWT would verify
	// again. Zero for an opaque token, which is unknown once its record goes.
	OwnExpiresAt time.Time
	RevokedAt    time.Time // zero: not revoked
	RevokeReason string    // one of the RevokedBy* values when revoked
}

// State is a token's standing at a given time.
type State string

// Token states.
const (
	StateActive  State = "active"
	StateExpired State = "expired"
	StateRevoked State = "revoked"
)

// StateAt reports the token's state at now. Revocation wins over expiry. A
// token is expired from ExpiresAt on: at created_at + lifetime exactly, it
// no longer works.
func (t Token) StateAt(now time.Time) State {
	switch {
	case !t.RevokedAt.IsZero():
		return StateRevoked
	case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
		return StateExpired
	default:
		return StateActive
	}
}

// Sweepable reports whether a sweep with the given horizon forgets t: it
// was revoked, or expired, before the horizon, and so was its own expiry,
// if it has one.
func (t Token) Sweepable(before time.Time) bool {
	dead := (!t.RevokedAt.IsZero() && t.RevokedAt.Before(before)) ||
		(!t.ExpiresAt.IsZero() && t.ExpiresAt.Before(before))
	return dead && (t.OwnExpiresAt.IsZero() || t.OwnExpiresAt.Before(before))
}

// Query selects and orders tokens for List. Its empty fields match
// everything; the zero Query lists every token, oldest first.
type Query struct {
	Vendor    string
	Kind      Kind
	Principal string
	// Principals, when not empty, matches a token of any of them (and
	// Principal too, when it is set).
	Principals []string
	AccountID  string
	Family     string
	Role       string // a token that carries this role
	// State, when set, matches the tokens in that state at At (which
	// should then be set: the zero At is long before any token's expiry).
	State State
	At    time.Time
	// IssuedBy, when not zero, matches the tokens issued at or before it.
	IssuedBy time.Time

	// ByExpiry orders by expiry instead of issue time (a token that never
	// expires first); ties go by ID either way. Desc reverses the order.
	ByExpiry bool
	Desc     bool
	// After, when set, starts the listing just after that token in the
	// order (keyset paging: a cursor stays right while tokens come and go).
	After *Cursor
	// Offset skips that many tokens first (page-number paging).
	Offset int
	// Limit is the most tokens a page holds; zero means all.
	Limit int
}

// Cursor is a token's place in a listing's order: its issue (or, ordered
// by expiry, expiry) time and its ID.
type Cursor struct {
	At time.Time
	ID string
}

// CursorOf returns t's place in the order of q.
func (q Query) CursorOf(t Token) Cursor {
	if q.ByExpiry {
		return Cursor{At: t.ExpiresAt, ID: t.ID}
	}
	return Cursor{At: t.IssuedAt, ID: t.ID}
}

// Page is one page of a listing.
type Page struct {
	Tokens []Token // never nil
	Total  int     // how many tokens the query matches, on every page
	More   bool    // whether tokens follow this page
}

// Stats says how big a store is.
type Stats struct {
	Tokens int // tokens held
	// Records is how many tokens the store has room for without growing,
	// or -1 for a store that does not say.
	Records int
}

// Store errors. A failure of the store itself (a lost connection) is any
// other error, and the emulator answers it with a 503.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrRevoked  = errors.New("already revoked")
)

// IsFailure reports whether err is a failure of the store itself rather
// than one of its answers (ErrNotFound, ErrExists, ErrRevoked): a caller
// must not read it as "no such token".
func IsFailure(err error) bool {
	return err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrExists) && !errors.Is(err, ErrRevoked)
}

// Store keeps the emulator's tokens. Implementations are safe for
// concurrent use, and every one must pass storetest.Run.
type Store interface {
	// Put adds a token. A token with the same hash, or the same vendor and
	// ID, is ErrExists. A token put in a family that RevokeFamily revoked is
	// stored revoked, at that time and for that reason.
	Put(ctx context.Context, t Token) error
	// ByHash finds a token by the SHA-256 of its value, comparing the
	// whole hash in constant time.
	ByHash(ctx context.Context, h SecretHash) (Token, error)
	// ByID finds a token by vendor and public id.
	ByID(ctx context.Context, vendor, id string) (Token, error)
	// List returns one page of the tokens q selects, in q's order.
	List(ctx context.Context, q Query) (Page, error)
	// Revoke marks a token revoked at the given time, for the given reason,
	// and returns it as it now is. It is atomic: of two concurrent calls
	// for one token, exactly one succeeds. Unknown: ErrNotFound; already
	// revoked: ErrRevoked, with the token as it was revoked.
	Revoke(ctx context.Context, vendor, id string, at time.Time, reason string) (Token, error)
	// Expire makes a token expire at the given time, unless it already
	// expires earlier, and returns it as it now is. Unknown: ErrNotFound.
	Expire(ctx context.Context, vendor, id string, at time.Time) (Token, error)
	// RevokeFamily revokes every token of a family that is not revoked yet
	// and returns them, oldest first (never nil). The empty family is none. The family stays revoked (see Put),
	// so that a refresh that rotates a family and a revocation of that
	// family are atomic with respect to each other, whichever comes first.
	RevokeFamily(ctx context.Context, vendor, family string, at time.Time, reason string) ([]Token, error)
	// Sweep forgets tokens that Token.Sweepable says may go with the
	// horizon before, and family revocations made before it, and returns
	// how many tokens went. It looks at up to budget tokens, going on
	// where the last call stopped; a budget of zero or less looks at all.
	Sweep(ctx context.Context, before time.Time, budget int) (int, error)
	// Snapshot returns the tokens as they are now, to be read while the
	// store goes on changing (a save of the state file reads it).
	Snapshot(ctx context.Context) (iter.Seq2[Token, error], error)
	// Stats says how many tokens the store holds.
	Stats(ctx context.Context) (Stats, error)
	// Reset forgets every token and family revocation.
	Reset(ctx context.Context) error
}
