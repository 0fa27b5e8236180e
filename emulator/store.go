package emulator

import (
	"errors"
	"time"
)

// TokenKind says what a stored token is.
type TokenKind string

// The kinds of token the emulator keeps.
const (
	KindAccess TokenKind = "access" // a bearer access token (Passport, TeleTracker, …)
)

// Token is the server-side record of an issued token. The token's value is never
// kept: only its SHA-256 (Hash). Slices are shared with the store and must be
// treated as read-only.
type Token struct {
	ID        string // public id, e.g. Passport's token_id
	Vendor    string
	Kind      TokenKind
	Hash      SecretHash
	Principal string // who it was issued to: a client id or a username
	AccountID string
	Scopes    []string
	Roles     []string
	IssuedAt  time.Time
	ExpiresAt time.Time // zero: never expires
	RevokedAt time.Time // zero: not revoked
}

// TokenState is a token's standing at a given time.
type TokenState string

// Token states.
const (
	StateActive  TokenState = "active"
	StateExpired TokenState = "expired"
	StateRevoked TokenState = "revoked"
)

// StateAt reports the token's state at now. Revocation wins over expiry. A token
// is expired from ExpiresAt on: at created_at + lifetime exactly, it no longer works.
func (t Token) StateAt(now time.Time) TokenState {
	switch {
	case !t.RevokedAt.IsZero():
		return StateRevoked
	case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
		return StateExpired
	default:
		return StateActive
	}
}

// TokenFilter selects tokens; empty fields match everything.
type TokenFilter struct {
	Vendor    string
	Kind      TokenKind
	Principal string
	AccountID string
}

func (f TokenFilter) match(t *Token) bool {
	return (f.Vendor == "" || f.Vendor == t.Vendor) &&
		(f.Kind == "" || f.Kind == t.Kind) &&
		(f.Principal == "" || f.Principal == t.Principal) &&
		(f.AccountID == "" || f.AccountID == t.AccountID)
}

// Store errors.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrRevoked  = errors.New("already revoked")
)

// Store keeps the emulator's tokens. Implementations are safe for concurrent use;
// every implementation must pass the conformance suite in store_conformance_test.go.
type Store interface {
	// PutToken adds a token. A token with the same hash, or the same vendor and
	// ID, is ErrExists.
	PutToken(t Token) error
	// TokenByHash finds a token by the SHA-256 of its value.
	TokenByHash(h SecretHash) (Token, error)
	// TokenByID finds a token by vendor and public id.
	TokenByID(vendor, id string) (Token, error)
	// Tokens lists the tokens that match f, oldest first (ties by ID).
	Tokens(f TokenFilter) []Token
	// RevokeToken marks a token revoked at the given time and returns it as it
	// now is. Unknown: ErrNotFound; already revoked: ErrRevoked.
	RevokeToken(vendor, id string, at time.Time) (Token, error)
	// Reset forgets every token.
	Reset()
}
