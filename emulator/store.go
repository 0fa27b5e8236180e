package emulator

import (
	"errors"
	"time"
)

// TokenKind says what a stored token is.
type TokenKind string

// The kinds of token the emulator keeps.
const (
	KindAccess    TokenKind = "access"    // an opaque bearer access token (Passport, TeleTracker)
	KindJWT       TokenKind = "jwt"       // a JWT the emulator issued (PassKit, Brass)
	KindLongLived TokenKind = "longlived" // a non-expiring opaque token (PassKit)
	KindRefresh   TokenKind = "refresh"   // a single-use refresh token (TeleTracker)
	KindTemporary TokenKind = "temporary" // a single-use temporary JWT (Brass login)
	KindPAT       TokenKind = "pat"       // a personal access token (Brass)
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
	// Family groups the tokens of one session (a login and its refreshes).
	Family string
	// PairID is, for a refresh token, the ID of the access token issued with it.
	PairID    string
	IssuedAt  time.Time
	ExpiresAt time.Time // zero: never expires
	// OwnExpiresAt, for a token that proves itself (a JWT, which verifies by
	// its signature), is when it says it expires, which ExpireToken does not
	// move. A sweep keeps such a record until this too is past the retention
	// window: without its record, a revoked JWT would verify again. Zero for
	// an opaque token, which is unknown once its record goes.
	OwnExpiresAt time.Time
	RevokedAt    time.Time // zero: not revoked
	RevokeReason string    // one of the RevokedBy* values when revoked
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
	Family    string
}

func (f TokenFilter) match(t *Token) bool {
	return (f.Vendor == "" || f.Vendor == t.Vendor) &&
		(f.Kind == "" || f.Kind == t.Kind) &&
		(f.Principal == "" || f.Principal == t.Principal) &&
		(f.AccountID == "" || f.AccountID == t.AccountID) &&
		(f.Family == "" || f.Family == t.Family)
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
	// RevokeToken marks a token revoked at the given time, for the given reason,
	// and returns it as it now is. It is atomic: of two concurrent calls for one
	// token, exactly one succeeds. Unknown: ErrNotFound; already revoked:
	// ErrRevoked, with the token as it was revoked.
	RevokeToken(vendor, id string, at time.Time, reason string) (Token, error)
	// ExpireToken makes a token expire at the given time, unless it already
	// expires earlier, and returns it as it now is. Unknown: ErrNotFound.
	ExpireToken(vendor, id string, at time.Time) (Token, error)
	// RevokeFamily revokes every token of a family that is not revoked yet and
	// returns them. The family stays revoked: a token of it put afterwards is
	// stored revoked (at the family's time, for its reason), so that a refresh
	// that rotates a family and a revocation of that family are atomic with
	// respect to each other, whichever reaches the store first.
	RevokeFamily(vendor, family string, at time.Time, reason string) []Token
	// Reset forgets every token.
	Reset()
}

// IssueRequest asks a vendor for a token without the login dance (admin plane).
type IssueRequest struct {
	Vendor    string        `json:"vendor"`
	Principal string        `json:"principal"`            // client id, username or email
	Lifetime  time.Duration `json:"-"`                    // zero: the vendor's own lifetime
	Kind      string        `json:"kind,omitempty"`       // vendor-specific: jwt, longlived, user, pat
	Role      string        `json:"role,omitempty"`       // Brass PATs
	Name      string        `json:"name,omitempty"`       // Brass PATs
	AccountID string        `json:"account_id,omitempty"` // TeleTracker
}

// IssueResult is an issued token, its refresh token where the vendor has one,
// and the stored record.
type IssueResult struct {
	Token        string
	RefreshToken string
	Record       Token
}

// issuer is a scheme that can issue tokens for the admin plane.
type issuer interface {
	issueFor(req IssueRequest) (IssueResult, error)
}

// adopter is a scheme that can recognise a valid token the store does not hold
// (PassKit's self-minted JWTs) and make a record of it.
type adopter interface {
	adopt(value string) (Token, bool)
}
