package emulator

import (
	"net/http"
	"strings"
)

// credentials is what an Authorization header carries.
type credentials struct {
	present bool   // the header was sent and is not blank
	scheme  string // lowercased auth-scheme, e.g. "bearer"; "" for a bare token
	value   string // the token68 / credentials after the scheme
}

// parseAuthorization splits an Authorization header value (RFC 7235 §2.1): the
// auth-scheme is case-insensitive and separated from the credentials by one or
// more spaces; surrounding whitespace is trimmed. A value with no space is a
// bare token (scheme "").
func parseAuthorization(h string) credentials {
	h = strings.TrimSpace(h)
	if h == "" {
		return credentials{}
	}
	scheme, rest, found := strings.Cut(h, " ")
	if !found {
		return credentials{present: true, value: h}
	}
	return credentials{present: true, scheme: strings.ToLower(scheme), value: strings.TrimLeft(rest, " ")}
}

// isB64Token reports whether s is an RFC 6750 §2.1 b64token:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	if s == "" {
		return false
	}
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' {
			continue
		}
		break
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// bearerResult classifies an Authorization header for a Bearer-only endpoint.
type bearerResult int

const (
	bearerOK        bearerResult = iota
	bearerMissing                // no credentials, or another scheme: 401 without error attribute
	bearerMalformed              // "Bearer" with an empty or non-b64token value: 400 invalid_request
)

// bearerToken extracts a Bearer token from r (RFC 6750 §2.1).
func bearerToken(r *http.Request) (string, bearerResult) {
	c := parseAuthorization(r.Header.Get("Authorization"))
	switch {
	case !c.present:
		return "", bearerMissing
	case c.scheme == "" && strings.EqualFold(c.value, "bearer"):
		return "", bearerMalformed // "Bearer" with nothing after it
	case c.scheme != "bearer":
		return "", bearerMissing
	case !isB64Token(c.value):
		return "", bearerMalformed
	}
	return c.value, bearerOK
}
