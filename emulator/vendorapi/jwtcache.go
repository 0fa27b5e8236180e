package vendorapi

import (
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tokenemu/tokenemu/emulator/store"
)

// JWTCacheSize bounds a JWTCache; it is emptied when full.
const JWTCacheSize = 8192

// JWTCache remembers JWTs whose signature has been verified, by their
// SHA-256, with their parsed claims and the key that verified them, so that a
// token used again skips the parse and the HMAC. Only successes are cached,
// and the time claims are validated again on every use; anything else takes
// the full path, which gives the errors.
type JWTCache[C jwt.Claims] struct {
	validator *jwt.Validator
	mu        sync.RWMutex // readers do not wait for each other: a hit is the common case
	m         map[store.SecretHash]jwtCacheEntry[C]
}

type jwtCacheEntry[C any] struct {
	claims C
	key    any // what verified it (a user, a key generation): a hit must match
}

// HS256Options are the parser options of a vendor's HS256 JWTs: HS256 only,
// exp and iat required and checked, on the emulator's clock, with leeway.
func HS256Options(now func() time.Time, leeway time.Duration) []jwt.ParserOption {
	return []jwt.ParserOption{
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(now),
	}
}

// NewJWTCache returns an empty cache whose hits are validated again with
// opts (expiry on the emulator's clock) before they are trusted.
func NewJWTCache[C jwt.Claims](opts ...jwt.ParserOption) *JWTCache[C] {
	return &JWTCache[C]{validator: jwt.NewValidator(opts...), m: make(map[store.SecretHash]jwtCacheEntry[C])}
}

// Get returns the cached claims of a token whose time claims still hold.
func (c *JWTCache[C]) Get(h store.SecretHash) (C, any, bool) {
	c.mu.RLock()
	e, ok := c.m[h]
	c.mu.RUnlock()
	if !ok || c.validator.Validate(e.claims) != nil {
		var zero C
		return zero, nil, false
	}
	return e.claims, e.key, true
}

func (c *JWTCache[C]) Put(h store.SecretHash, claims C, key any) {
	c.mu.Lock()
	if len(c.m) >= JWTCacheSize {
		clear(c.m)
	}
	c.m[h] = jwtCacheEntry[C]{claims: claims, key: key}
	c.mu.Unlock()
}
