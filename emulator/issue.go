package emulator

import (
	"context"
	"time"

	"github.com/tokenemu/tokenemu/emulator/store"
)

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
	Record       store.Token
}

// issuer is a scheme that can issue tokens for the admin plane.
type issuer interface {
	issueFor(ctx context.Context, req IssueRequest) (IssueResult, error)
}

// adopter is a scheme that can recognise a valid token the store does not hold
// (PassKit's self-minted JWTs) and make a record of it.
type adopter interface {
	adopt(ctx context.Context, value string) (store.Token, bool)
}
