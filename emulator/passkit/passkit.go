package passkit

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brianvoe/gofakeit/v7"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/tokenemu/tokenemu/emulator/store"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
	"github.com/tokenemu/tokenemu/openapi"
)

// PassKit (passkit.com): login → 60-minute HS256 JWT signed with the account's
// API secret, or a permanent opaque long-lived token.

const (
	passkitVendor      = "passkit"
	passkitJWTLifetime = time.Hour
	passkitMembers     = 5 // fake members per user by default
	passkitTokenHeader = "X-Passkit-Token"
)

type passkit struct {
	env       vendorapi.Env
	cfg       Config
	fx        *Fixtures
	fxMembers int // the members its fixtures make
	parser    *jwt.Parser
	verified  *vendorapi.JWTCache[*passkitClaims]

	mu      sync.RWMutex
	users   map[string]*passkitUser // by username
	byKey   map[string]*passkitUser // by API key
	members map[string]passkitMember
}

type passkitUser struct {
	id, username, email, company string
	password                     store.SecretHash
	apiKey                       string
	apiSecret                    []byte // an HMAC key: kept as is, since JWTs are verified with it
	created                      time.Time
	signed                       atomic.Pointer[passkitSigned] // the last JWT signed for this account
	profile                      atomic.Pointer[[]byte]        // getProfile's answer, encoded when first asked
}

// passkitSigned is a signed PassKit JWT. Its claims are only uid, iat (to the
// second) and exp, so every login of an account in one second gets the same
// JWT: it is signed and hashed once, not once a request.
type passkitSigned struct {
	iat      time.Time // to the second
	lifetime time.Duration
	value    string
	hash     store.SecretHash
}

// passkitClaims are the documented claims: uid (the API key), iat, exp.
type passkitClaims struct {
	UID string `json:"uid"`
	jwt.RegisteredClaims
}

func newPassKit(env vendorapi.Env) (vendorapi.Vendor, error) {
	cfg, fx, err := vendorapi.Parts[Config, *Fixtures](env, Name)
	if err != nil {
		return nil, err
	}
	var cost int64
	fxMembers := 0
	for _, u := range fx.Users {
		fxMembers += cmp.Or(u.Members, passkitMembers)
		cost += passkitUserBytes + int64(cmp.Or(u.Members, passkitMembers))*passkitMemberBytes
	}
	if err := env.Fits("its fixtures' users and their members", cost); err != nil {
		return nil, err
	}
	opts := vendorapi.HS256Options(env.Clock.Now, cfg.Leeway)
	return &passkit{env: env, cfg: cfg, fx: fx, fxMembers: fxMembers, parser: jwt.NewParser(opts...), verified: vendorapi.NewJWTCache[*passkitClaims](opts...)}, nil
}

// Name is the vendor's name: passkit.
func (p *passkit) Name() string { return passkitVendor }

// Document is PassKit's OpenAPI document.
func (p *passkit) Document() (*vendorapi.Document, error) { return openapi.Document(passkitVendor) }

func (p *passkit) Handlers() map[string]vendorapi.Handler {
	return map[string]vendorapi.Handler{
		"login":              p.login,
		"createUser":         p.createUser,
		"getProfile":         p.withFreshToken(p.getProfile),
		"getRestCredentials": p.withFreshToken(p.getRestCredentials),
		"createMember":       p.withFreshToken(p.createMember),
		"getMember":          p.withFreshToken(p.getMember),
	}
}

func (p *passkit) Reset() error {
	fx := p.fx
	fake := gofakeit.New(uint64(p.env.Seed) + 1)
	users := make(map[string]*passkitUser, len(fx.Users))
	byKey := make(map[string]*passkitUser, len(fx.Users))
	members := make(map[string]passkitMember)
	for _, u := range fx.Users {
		pu := &passkitUser{
			id:        vendorapi.FakeBase62(fake, 22),
			username:  u.Username,
			email:     u.Email,
			company:   u.CompanyName,
			password:  store.HashSecret(u.Password),
			apiKey:    u.APIKey,
			apiSecret: []byte(u.APISecret),
			created:   fake.DateRange(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)).UTC().Truncate(time.Second),
		}
		if pu.email == "" {
			pu.email = u.Username
		}
		if pu.company == "" {
			pu.company = fake.Company()
		}
		users[u.Username], byKey[u.APIKey] = pu, pu
		n := u.Members
		if n == 0 {
			n = passkitMembers
		}
		for range n {
			m := passkitMember{
				ID: vendorapi.FakeBase62(fake, 22), ProgramID: "demo-program", TierID: "base", Points: float64(fake.IntRange(0, 5000)),
				Person:  passkitPerson{Forename: fake.FirstName(), Surname: fake.LastName(), EmailAddress: fake.Email()},
				Created: fake.DateRange(pu.created, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)).UTC().Truncate(time.Second).Format(time.RFC3339),
				owner:   u.Username,
			}
			members[m.ID] = m
		}
	}
	p.mu.Lock()
	p.users, p.byKey, p.members = users, byKey, members
	p.mu.Unlock()
	return nil
}

// ---- errors ----

// passkitError is PassKit's wire error: {"error":"<message>"}.
type passkitError struct{ vendorapi.WireError }

func passkitUnauthorized(reason, msg string) *passkitError {
	return &passkitError{WireError: vendorapi.WireError{Status: http.StatusUnauthorized, Reason: reason, Message: msg, Challenge: fmt.Sprintf(`Bearer realm="passkit", error="invalid_token", error_description=%q`, msg)}}
}

func (p *passkit) WriteError(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request, err error) {
	pe, ok := errors.AsType[*passkitError](vendorapi.AuthFailure(err))
	if !ok {
		pe = &passkitError{*p.env.Neutral(err)}
	}
	pe.Write(w, map[string]string{"error": pe.Message})
}

// ---- authentication ----

func (p *passkit) Authenticate(r *http.Request, rc *vendorapi.Request, securityScheme string, scopes []string) error {
	ctx := r.Context()
	if securityScheme != "passkitToken" {
		return fmt.Errorf("passkit: unknown security scheme %q", securityScheme)
	}
	c := vendorapi.ParseAuthorization(r.Header.Get("Authorization"))
	switch {
	case !c.Present:
		return &passkitError{WireError: vendorapi.WireError{Status: http.StatusUnauthorized, Reason: "token_missing", Absent: true, Message: "missing Authorization header", Challenge: `Bearer realm="passkit"`}}
	case c.Scheme != "" && c.Scheme != "bearer":
		return &passkitError{WireError: vendorapi.WireError{Status: http.StatusUnauthorized, Reason: "token_missing", Absent: true, Message: "unsupported authorization scheme; send Authorization: Bearer <token>", Challenge: `Bearer realm="passkit"`}}
	}
	value := c.Value
	if c.Scheme == "" && strings.EqualFold(value, "bearer") {
		return &passkitError{WireError: vendorapi.WireError{Status: http.StatusBadRequest, Reason: "authorization_malformed", Message: "Bearer without a token", Challenge: `Bearer realm="passkit", error="invalid_request"`}}
	}
	now := p.env.Clock.Now()
	h := store.HashSecret(value)
	if strings.Count(value, ".") == 2 {
		user, err := p.verifyJWT(value, h)
		if err != nil {
			return err
		}
		// A JWT the emulator issued may have been revoked or expired by the admin plane.
		t, err := p.env.Store.ByHash(ctx, h)
		if store.IsFailure(err) {
			return err // fail closed: a revoked JWT must not pass while the store is down
		}
		if err == nil && t.Vendor == passkitVendor {
			if err := passkitState(t, now); err != nil {
				return err
			}
		}
		rc.Principal = &store.Token{Vendor: passkitVendor, Kind: store.KindJWT, Principal: user.username, AccountID: user.apiKey}
		return nil
	}
	t, err := p.env.Store.ByHash(ctx, h)
	if store.IsFailure(err) {
		return err
	}
	if err != nil || t.Vendor != passkitVendor || t.Kind != store.KindLongLived {
		return passkitUnauthorized("token_unknown", "token is not a valid JWT or long-lived token")
	}
	if err := passkitState(t, now); err != nil {
		return err
	}
	if p.user(t.Principal) == nil {
		return passkitUnauthorized("token_unknown", "the token's account no longer exists")
	}
	rc.Principal = &t
	return nil
}

func passkitState(t store.Token, now time.Time) error {
	switch t.StateAt(now) {
	case store.StateRevoked:
		return passkitUnauthorized("token_revoked", "token has been revoked")
	case store.StateExpired:
		return passkitUnauthorized("token_expired", "token has invalid claims: token is expired")
	}
	return nil
}

// verifyJWT checks a JWT's signature with the API secret of the account its uid
// names, and its exp (required) and iat against the virtual clock. h is the
// JWT's SHA-256 (the verified-JWT cache's key; callers need it for the store).
func (p *passkit) verifyJWT(value string, h store.SecretHash) (*passkitUser, error) {
	if claims, key, ok := p.verified.Get(h); ok {
		if user := p.userByKey(claims.UID); user != nil && user == key {
			return user, nil
		}
	}
	var user *passkitUser
	claims := &passkitClaims{}
	_, err := p.parser.ParseWithClaims(value, claims, func(t *jwt.Token) (any, error) {
		if claims.UID == "" {
			return nil, errors.New("uid claim is missing")
		}
		if user = p.userByKey(claims.UID); user == nil {
			return nil, errors.New("no account has this uid")
		}
		return user.apiSecret, nil
	})
	switch {
	case err == nil:
		p.verified.Put(h, claims, user)
		return user, nil
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, passkitUnauthorized("token_expired", err.Error())
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued), errors.Is(err, jwt.ErrTokenNotValidYet):
		return nil, passkitUnauthorized("token_not_yet_valid", err.Error())
	case errors.Is(err, jwt.ErrTokenUnverifiable) && user == nil && claims.UID != "":
		return nil, passkitUnauthorized("token_unknown", "token is unverifiable: no account has this uid")
	default:
		return nil, passkitUnauthorized("token_invalid", err.Error())
	}
}

func (p *passkit) user(username string) *passkitUser {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.users[username]
}

func (p *passkit) userByKey(key string) *passkitUser {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.byKey[key]
}

// sign issues a JWT for u: header {"alg":"HS256","typ":"JWT"}, claims
// exactly uid, iat and exp, as PassKit documents them. Like PassKit's, two JWTs for
// one account in one second are the same string.
func (p *passkit) sign(u *passkitUser, now time.Time, lifetime time.Duration) (*passkitSigned, error) {
	iat := now.Truncate(time.Second)
	if c := u.signed.Load(); c != nil && c.iat.Equal(iat) && c.lifetime == lifetime {
		return c, nil
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, passkitClaims{
		UID:              u.apiKey,
		RegisteredClaims: jwt.RegisteredClaims{IssuedAt: jwt.NewNumericDate(iat), ExpiresAt: jwt.NewNumericDate(iat.Add(lifetime))},
	})
	v, err := tok.SignedString(u.apiSecret)
	if err != nil {
		return nil, err
	}
	c := &passkitSigned{iat: iat, lifetime: lifetime, value: v, hash: store.HashSecret(v)}
	u.signed.Store(c)
	return c, nil
}

// maxIATBack bounds how far signLive moves iat back.
const maxIATBack = 60

// signLive signs a JWT for u that is not one the admin plane or a scenario
// has expired or revoked. The JWT of this second is used when it is alive
// (shared with any other login in the same second, as at PassKit); when it is
// dead, iat moves back a second at a time, so that a login never hands out a
// token that is refused at once. exp stays iat + lifetime.
func (p *passkit) signLive(ctx context.Context, u *passkitUser, lifetime time.Duration) (*passkitSigned, error) {
	now := p.env.Clock.Now()
	for back := range time.Duration(maxIATBack) {
		c, err := p.sign(u, now.Add(-back*time.Second), lifetime)
		if err != nil {
			return nil, fmt.Errorf("sign: %w", err)
		}
		t, err := p.env.Store.ByHash(ctx, c.hash)
		if store.IsFailure(err) {
			return nil, err
		}
		if err != nil || t.StateAt(now) == store.StateActive {
			return c, nil
		}
	}
	return nil, fmt.Errorf("passkit: the JWTs of the last %d seconds for %s are all expired or revoked", maxIATBack, u.username)
}

// withFreshToken puts a fresh 60-minute JWT for the caller in X-Passkit-Token,
// as PassKit does on every authenticated response. These refreshed JWTs are
// verified by signature alone and not recorded, so the store does not grow by
// one entry a request.
func (p *passkit) withFreshToken(h vendorapi.Handler) vendorapi.Handler {
	return func(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request) error {
		ctx := r.Context()
		u := p.user(rc.Principal.Principal)
		if u == nil {
			return passkitUnauthorized("token_unknown", "the token's account no longer exists")
		}
		fresh, err := p.signLive(ctx, u, passkitJWTLifetime)
		if err != nil {
			return err
		}
		w.Header().Set(passkitTokenHeader, fresh.value)
		return h(w, r, rc)
	}
}

// ---- handlers ----

// issueJWT makes and records a JWT for u (recorded, so that it can be revoked).
func (p *passkit) issueJWT(ctx context.Context, u *passkitUser, lifetime time.Duration) (string, store.Token, error) {
	c, err := p.signLive(ctx, u, lifetime)
	if err != nil {
		return "", store.Token{}, err
	}
	t := store.Token{ID: uuid.NewString(), Vendor: passkitVendor, Kind: store.KindJWT, Hash: c.hash,
		Principal: u.username, AccountID: u.apiKey, IssuedAt: c.iat, ExpiresAt: c.iat.Add(c.lifetime), OwnExpiresAt: c.iat.Add(c.lifetime)}
	err = p.env.Store.Put(ctx, t)
	if errors.Is(err, store.ErrExists) { // the same account in the same second: the same, live, JWT
		t, err = p.env.Store.ByHash(ctx, t.Hash)
	}
	if err != nil {
		return "", store.Token{}, fmt.Errorf("store token: %w", err)
	}
	return c.value, t, nil
}

// issueLongLived makes and records a permanent opaque token for u.
// MaxLongLived bounds a user's live long-lived tokens, which never
// expire: one more is a 409 limit_reached (revoke some through the admin
// plane, or reset).
const MaxLongLived = 1000

func (p *passkit) issueLongLived(ctx context.Context, u *passkitUser) (string, store.Token, error) {
	// Every long-lived token not revoked counts, expired through the admin
	// plane or not: the bound is on the records a user can make the store keep.
	q := store.Query{Vendor: passkitVendor, Principal: u.username, Kind: store.KindLongLived, Limit: 1}
	all, err := p.env.Store.List(ctx, q)
	if err != nil {
		return "", store.Token{}, err
	}
	q.State, q.At = store.StateRevoked, p.env.Clock.Now()
	revoked, err := p.env.Store.List(ctx, q)
	if err != nil {
		return "", store.Token{}, err
	}
	if live := all.Total - revoked.Total; live >= MaxLongLived {
		return "", store.Token{}, &passkitError{WireError: vendorapi.WireError{Status: http.StatusConflict, Reason: "limit_reached", Message: fmt.Sprintf("%s holds %d live long-lived tokens, the most the emulator keeps a user; revoke some (POST /_emulator/tokens/revoke) or reset", u.username, live)}}
	}
	value := vendorapi.NewOpaqueToken()
	t := store.Token{ID: uuid.NewString(), Vendor: passkitVendor, Kind: store.KindLongLived, Hash: store.HashSecret(value),
		Principal: u.username, AccountID: u.apiKey, IssuedAt: p.env.Clock.Now()}
	if err := p.env.Store.Put(ctx, t); err != nil {
		return "", store.Token{}, fmt.Errorf("store token: %w", err)
	}
	return value, t, nil
}

func writePassKitToken(w http.ResponseWriter, value string) {
	w.Header().Set("Cache-Control", "no-store")
	vendorapi.WriteJSON(w, http.StatusOK, map[string]string{"token": value})
}

// issueFor issues a JWT (kind "" or "jwt", with an optional lifetime) or a
// long-lived token (kind "longlived") for a user (admin plane).
func (p *passkit) Issue(ctx context.Context, req vendorapi.IssueRequest) (vendorapi.IssueResult, error) {
	u := p.user(req.Principal)
	if u == nil {
		return vendorapi.IssueResult{}, fmt.Errorf("no PassKit user %q", req.Principal)
	}
	var (
		value string
		t     store.Token
		err   error
	)
	switch req.Kind {
	case "", "jwt":
		value, t, err = p.issueJWT(ctx, u, cmp.Or(req.Lifetime, passkitJWTLifetime))
	case "longlived":
		if req.Lifetime > 0 {
			return vendorapi.IssueResult{}, errors.New("a longlived token never expires: leave out lifetime")
		}
		value, t, err = p.issueLongLived(ctx, u)
	default:
		return vendorapi.IssueResult{}, fmt.Errorf("PassKit issues kind jwt or longlived, not %q", req.Kind)
	}
	return vendorapi.IssueResult{Token: value, Record: t}, err
}

// adopt records a valid JWT the store does not hold (a self-minted one, or an
// X-Passkit-Token), so that the admin plane can expire or revoke it.
func (p *passkit) Adopt(_ context.Context, value string) (store.Token, error) {
	if strings.Count(value, ".") != 2 {
		return store.Token{}, store.ErrNotFound
	}
	h := store.HashSecret(value)
	u, err := p.verifyJWT(value, h)
	if err != nil {
		return store.Token{}, store.ErrNotFound
	}
	claims := &passkitClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(value, claims); err != nil || claims.ExpiresAt == nil {
		return store.Token{}, store.ErrNotFound
	}
	t := store.Token{ID: uuid.NewString(), Vendor: passkitVendor, Kind: store.KindJWT, Hash: h,
		Principal: u.username, AccountID: u.apiKey, ExpiresAt: claims.ExpiresAt.Time, OwnExpiresAt: claims.ExpiresAt.Time}
	if claims.IssuedAt != nil {
		t.IssuedAt = claims.IssuedAt.Time
	}
	return t, nil
}

func (p *passkit) login(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request) error {
	ctx := r.Context()
	var body struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := vendorapi.RequestJSON(rc, r, &body); err != nil {
		return err
	}
	u := p.user(body.Username)
	want := store.SecretHash{}
	if u != nil {
		want = u.password
	}
	if !store.HashSecret(body.Password).Equal(want) || u == nil {
		return &passkitError{WireError: vendorapi.WireError{Status: http.StatusUnauthorized, Reason: "invalid_credentials", Message: "invalid username or password", Challenge: `Bearer realm="passkit"`}}
	}
	issue := func() (string, store.Token, error) { return p.issueJWT(ctx, u, passkitJWTLifetime) }
	if strings.EqualFold(strings.TrimSpace(r.Header.Get("x-passkit-longlived-token")), "true") {
		issue = func() (string, store.Token, error) { return p.issueLongLived(ctx, u) }
	}
	value, t, err := issue()
	if err != nil {
		return err
	}
	rc.Principal = &t // for the journal
	writePassKitToken(w, value)
	return nil
}

func (p *passkit) createUser(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request) error {
	ctx := r.Context()
	var body struct {
		Username     string `json:"username"`
		Password     string `json:"password"`
		CompanyName  string `json:"companyName"`
		EmailAddress string `json:"emailAddress"`
	}
	if err := vendorapi.RequestJSON(rc, r, &body); err != nil {
		return err
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	u := &passkitUser{
		id: vendorapi.RandomBase62(22), username: body.Username, email: body.EmailAddress, company: body.CompanyName,
		password: store.HashSecret(body.Password), apiKey: vendorapi.RandomBase62(22), apiSecret: []byte(hex.EncodeToString(secret)),
		created: p.env.Clock.Now().Truncate(time.Second),
	}
	p.mu.Lock()
	if _, taken := p.users[u.username]; taken {
		p.mu.Unlock()
		return &passkitError{WireError: vendorapi.WireError{Status: http.StatusConflict, Reason: "already_exists", Message: "a user with this username already exists"}}
	}
	if made, max := len(p.users)-len(p.fx.Users), p.env.Bound(p.cfg.MaxUsers, passkitUserBytes, passkitTables); made >= max {
		p.mu.Unlock()
		why := "-passkit-max-users"
		if max < p.cfg.MaxUsers {
			why = "its memory budget"
		}
		return &passkitError{WireError: vendorapi.WireError{Status: http.StatusConflict, Reason: "limit_reached", Message: fmt.Sprintf("%d accounts have been made through /user/new, the most this emulator allows (%s)", made, why)}}
	}
	p.users[u.username], p.byKey[u.apiKey] = u, u
	p.mu.Unlock()
	value, _, err := p.issueJWT(ctx, u, passkitJWTLifetime)
	if err != nil {
		p.mu.Lock() // the account was not made: its token was refused
		if p.users[u.username] == u {
			delete(p.users, u.username)
			delete(p.byKey, u.apiKey)
		}
		p.mu.Unlock()
		return err
	}
	writePassKitToken(w, value)
	return nil
}

type passkitProfile struct {
	ID           string `json:"id"`
	Username     string `json:"username"`
	EmailAddress string `json:"emailAddress"`
	CompanyName  string `json:"companyName"`
	Created      string `json:"created"`
}

func (p *passkit) getProfile(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request) error {
	u := p.user(rc.Principal.Principal)
	b := u.profile.Load()
	if b == nil { // a user's fields never change once made
		enc := vendorapi.EncodeJSON(passkitProfile{ID: u.id, Username: u.username, EmailAddress: u.email,
			CompanyName: u.company, Created: u.created.Format(time.RFC3339)})
		b = &enc
		u.profile.Store(b)
	}
	vendorapi.WriteJSONBytes(w, http.StatusOK, *b)
	return nil
}

func (p *passkit) getRestCredentials(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request) error {
	u := p.user(rc.Principal.Principal)
	vendorapi.WriteJSON(w, http.StatusOK, map[string]string{"apiKey": u.apiKey, "apiSecret": string(u.apiSecret)})
	return nil
}

type passkitPerson struct {
	Forename     string `json:"forename,omitempty"`
	Surname      string `json:"surname,omitempty"`
	EmailAddress string `json:"emailAddress,omitempty"`
}

type passkitMember struct {
	ID        string        `json:"id"`
	ProgramID string        `json:"programId"`
	TierID    string        `json:"tierId"`
	Points    float64       `json:"points"`
	Person    passkitPerson `json:"person"`
	Created   string        `json:"created"`
	owner     string
}

// MaxMembers bounds the members the emulator keeps; one more is a 409
// limit_reached.
const MaxMembers = 10_000

// passkitTables is how many tables of PassKit's own share a memory budget
// (vendorapi.Env.Bound): the accounts made and the members; an account
// and a member are counted at these (their strings at their longest).
const (
	passkitTables      = 2
	passkitUserBytes   = 1536
	passkitMemberBytes = 1024
)

func (p *passkit) createMember(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request) error {
	var m passkitMember
	if err := vendorapi.RequestJSON(rc, r, &m); err != nil {
		return err
	}
	m.ID = vendorapi.RandomBase62(22)
	m.Created = p.env.Clock.Now().Format(time.RFC3339)
	m.owner = rc.Principal.Principal
	p.mu.Lock()
	// The fixtures' members were counted when it was made (vendorapi.Env.Fits).
	if max := p.env.Bound(MaxMembers, passkitMemberBytes, passkitTables) + p.fxMembers; len(p.members) >= max {
		p.mu.Unlock()
		return &passkitError{WireError: vendorapi.WireError{Status: http.StatusConflict, Reason: "limit_reached", Message: fmt.Sprintf("the emulator holds %d members, the most it keeps; reset it (POST /_emulator/reset) to make more", max)}}
	}
	p.members[m.ID] = m
	p.mu.Unlock()
	vendorapi.WriteJSON(w, http.StatusOK, map[string]string{"id": m.ID})
	return nil
}

func (p *passkit) getMember(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request) error {
	p.mu.RLock()
	m, ok := p.members[rc.Param("memberId")]
	p.mu.RUnlock()
	if !ok || m.owner != rc.Principal.Principal {
		return &passkitError{WireError: vendorapi.WireError{Status: http.StatusNotFound, Reason: "not_found", Message: "member not found"}}
	}
	vendorapi.WriteJSON(w, http.StatusOK, m)
	return nil
}

// fault is a scenario's fault as PassKit answers it: {"error":"…"}.
func (p *passkit) Fault(rc *vendorapi.Request, f vendorapi.Fault) error {
	pe := &passkitError{WireError: vendorapi.WireError{Status: f.Status, Reason: f.Reason, Message: f.Text()}}
	if f.Status == http.StatusUnauthorized {
		pe.Challenge = `Bearer realm="passkit"`
	}
	return pe
}

// Save returns the accounts made through /user/new and every member.
func (p *passkit) Save() (json.RawMessage, error) {
	fixture := map[string]bool{}
	for _, u := range p.fx.Users {
		fixture[u.Username] = true
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := savedPassKit{Users: []savedPassKitUser{}, Members: []savedPassKitMember{}}
	for _, u := range p.users {
		if fixture[u.username] {
			continue
		}
		out.Users = append(out.Users, savedPassKitUser{ID: u.id, Username: u.username, Email: u.email, Company: u.company,
			Password: hex.EncodeToString(u.password[:]), APIKey: u.apiKey, APISecret: string(u.apiSecret), Created: u.created})
	}
	for _, m := range p.members {
		out.Members = append(out.Members, savedPassKitMember{passkitMember: m, Owner: m.owner})
	}
	slices.SortFunc(out.Users, func(a, b savedPassKitUser) int { return strings.Compare(a.Username, b.Username) })
	slices.SortFunc(out.Members, func(a, b savedPassKitMember) int { return strings.Compare(a.ID, b.ID) })
	return json.Marshal(out)
}

// Restore adds saved accounts to the fixtures' and puts back the members.
func (p *passkit) Restore(b json.RawMessage) error {
	var s savedPassKit
	if err := vendorapi.DecodeState(b, &s); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, su := range s.Users {
		pw, ok := store.ParseSecretHash(su.Password)
		if !ok {
			return fmt.Errorf("passkit user %q: bad password_sha256", su.Username)
		}
		u := &passkitUser{id: su.ID, username: su.Username, email: su.Email, company: su.Company, password: pw,
			apiKey: su.APIKey, apiSecret: []byte(su.APISecret), created: su.Created}
		p.users[u.username], p.byKey[u.apiKey] = u, u
	}
	p.members = make(map[string]passkitMember, len(s.Members))
	for _, sm := range s.Members {
		m := sm.passkitMember
		m.owner = sm.Owner
		p.members[m.ID] = m
	}
	return nil
}
