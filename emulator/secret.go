package emulator

import (
	"crypto/rand"
	"encoding/base64"
)

// opaqueTokenBytes is the randomness in an opaque token: 256 bits.
const opaqueTokenBytes = 32

// newOpaqueToken returns 256 bits from crypto/rand as unpadded base64url (43
// characters, never containing a dot, so no JWT parser mistakes it for a JWT).
func newOpaqueToken() string {
	var b [opaqueTokenBytes]byte
	// crypto/rand.Read never returns an error (Go 1.24+); it crashes the program
	// instead if the system's randomness source fails.
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
