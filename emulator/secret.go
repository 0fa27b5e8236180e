package emulator

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
)

// SecretHash is how every opaque secret (token, refresh token, client secret) is
// kept: its SHA-256. The plaintext is never stored.
type SecretHash [sha256.Size]byte

// HashSecret returns the SHA-256 of s.
func HashSecret(s string) SecretHash { return sha256.Sum256([]byte(s)) }

// Equal compares two hashes in constant time.
func (h SecretHash) Equal(o SecretHash) bool {
	return subtle.ConstantTimeCompare(h[:], o[:]) == 1
}

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

// parseSecretHash reads a SecretHash from its 64 hex digits.
func parseSecretHash(s string) (SecretHash, bool) {
	var h SecretHash
	if len(s) != 2*len(h) {
		return h, false // hex.Decode would write past h
	}
	_, err := hex.Decode(h[:], []byte(s))
	return h, err == nil
}
