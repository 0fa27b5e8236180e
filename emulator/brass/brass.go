package brass

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brianvoe/gofakeit/v7"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/tokenemu/tokenemu/emulator/store"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
	"github.com/tokenemu/tokenemu/openapi"
)

// Brass (trybrass.com): app key → temporary JWT → OTP → 60-minute user JWT, and
// show-once personal access tokens with role ∩ creator permissions.

const (
	brassVendor          = "brass"
	brassUserJWTLifetime = time.Hour
	brassOTPAttempts     = 5
	brassIdempotencyTTL  = 7 * 24 * time.Hour
	brassRateWindow      = time.Minute
)

var (
	brassAppKeyRE = regexp.MustCompile(`^lk_[0-9A-Za-z]{42}$`)
	brassPATRE    = regexp.MustCompile(`^([0-9]{1,18})\|(pat-[0-9A-Za-z]{40})$`)
	missingPropRE = regexp.MustCompile(`property "([^"]+)" is missing`)
)

// Brass permissions. The roles and their ids are the ones seen in public client
// code; the permission table is the emulator's own.
const (
	PermAccountsRead   = "accounts.read"
	PermPaymentsRead   = "payments.read"
	PermPaymentsCreate = "payments.create"
	PermTokensManage   = "tokens.manage" // revoke other users' PATs
	PermTeamManage     = "team.manage"
)

type brassRole struct {
	ID, Name string
	Perms    []string
}

// brassRoles is read-only.
var brassRoles = []brassRole{
	{"rol_7h8f07GPpE17GGgrBA2vmN", "owner", []string{PermAccountsRead, PermPaymentsRead, PermPaymentsCreate, PermTokensManage, PermTeamManage}},
	{"rol_LbhnugthyweEB151E6On4", "admin", []string{PermAccountsRead, PermPaymentsRead, PermPaymentsCreate, PermTokensManage}},
	{"rol_7OWDJHIqvYcwGNeoXeVgyf", "accountant", []string{PermAccountsRead, PermPaymentsRead}},
	{"rol_6QJ8VcCEgCLtcbz4EO8H1b", "payable_admin", []string{PermAccountsRead, PermPaymentsRead, PermPaymentsCreate}},
	{"rol_6zvQzQ3gphPMbnbKvHJj0s", "receivable_admin", []string{PermAccountsRead}},
	{"rol_xWkA685BuuouWkgYGK128", "hr", []string{PermTeamManage}},
	{"rol_2TDpsTTL0jHh0RFNXLchZG", "member", []string{PermAccountsRead}},
}

// Roles returns the role table: id, name and permissions of each role.
func Roles() []struct {
	ID, Name string
	Perms    []string
} {
	out := make([]struct {
		ID, Name string
		Perms    []string
	}, len(brassRoles))
	for i, r := range brassRoles {
		out[i].ID, out[i].Name, out[i].Perms = r.ID, r.Name, slices.Clone(r.Perms)
	}
	return out
}

func brassRoleByName(s string) *brassRole {
	for i := range brassRoles {
		if brassRoles[i].Name == s || brassRoles[i].ID == s {
			return &brassRoles[i]
		}
	}
	return nil
}

func brassRoleNames() []string {
	out := make([]string, len(brassRoles))
	for i, r := range brassRoles {
		out[i] = r.Name
	}
	return out
}

func intersect(a, b []string) []string {
	out := []string{}
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

type brass struct {
	env      vendorapi.Env
	cfg      Config
	fx       *Fixtures
	parser   *jwt.Parser
	verified *vendorapi.JWTCache[*brassClaims]
	world    atomic.Pointer[brassWorld]

	mu       sync.Mutex
	otps     map[string]*brassOTP // by temporary token id (jti)
	lastOTP  map[string]string    // by email
	pats     brassPATs
	nextPAT  int64
	rate     map[string]*brassWindow
	idem     map[string]time.Time
	idemAdds int
	payments []brassPayment // newest first
}

// brassWorld is the fixture-derived, read-only state; a reset swaps it whole.
type brassWorld struct {
	key      []byte // HS256 key of every Brass JWT; new on each reset
	appKeys  map[store.SecretHash]bool
	users    map[string]*brassUser // by email
	byID     map[string]*brassUser
	customer string
	accounts []brassAccount
	// accountsJSON is listAccounts' answer, encoded once: a world's accounts
	// never change (a reset makes a new world).
	accountsJSON []byte
}

type brassUser struct {
	id, email  string
	password   store.SecretHash
	role       *brassRole
	totpSecret string
}

type brassOTP struct {
	code     string
	attempts int
	expires  time.Time // its temporary JWT's expiry: then it can no longer be used
}

// brassPATs holds what Brass shows of each PAT beyond its token record: its
// name, role, creation and last use, by PAT id (the token record's id, a
// decimal number). Nothing in it is a pointer
// (the names are kept end to end in one byte slice), so however many PATs
// there are, the garbage collector has nothing in it to mark.
type brassPATs struct {
	byID  map[uint64]brassPATMeta
	names []byte
	dead  int // bytes of names no PAT holds (drop), reclaimed by compact
}

type brassPATMeta struct {
	created, lastUsed int64  // unix nanoseconds; lastUsed is 0 until the PAT is used
	nameAt, nameLen   uint32 // the name is names[nameAt:nameAt+nameLen]
	role              uint8  // index in brassRoles
}

func newBrassPATs() brassPATs { return brassPATs{byID: map[uint64]brassPATMeta{}} }

func (p *brassPATs) add(id uint64, name string, role *brassRole, created, lastUsed time.Time) error {
	if len(p.names)+len(name) > math.MaxUint32 {
		return errors.New("brass: the PATs' names fill 4 GiB; reset the emulator")
	}
	r := slices.IndexFunc(brassRoles, func(r brassRole) bool { return r.ID == role.ID })
	if r < 0 {
		return fmt.Errorf("brass: %q is not a role", role.ID)
	}
	m := brassPATMeta{created: unixNanos(created), lastUsed: unixNanos(lastUsed),
		nameAt: uint32(len(p.names)), nameLen: uint32(len(name)), role: uint8(r)}
	p.names = append(p.names, name...)
	p.byID[id] = m
	return nil
}

// drop forgets the PAT id (one the store refused), and its name when it is
// the last one added.
func (p *brassPATs) drop(id uint64) {
	m, ok := p.byID[id]
	if !ok {
		return
	}
	delete(p.byID, id)
	if int(m.nameAt)+int(m.nameLen) == len(p.names) {
		p.names = p.names[:m.nameAt]
		return
	}
	// Refused while others were made: its name stays in the middle, until
	// the dead names are as many bytes as the live ones.
	if p.dead += int(m.nameLen); p.dead > 64<<10 && p.dead > len(p.names)/2 {
		p.compact()
	}
}

// compact writes the live PATs' names again, without the dead ones.
func (p *brassPATs) compact() {
	names := make([]byte, 0, len(p.names)-p.dead)
	for id, m := range p.byID {
		at := len(names)
		names = append(names, p.names[m.nameAt:m.nameAt+m.nameLen]...)
		m.nameAt = uint32(at)
		p.byID[id] = m
	}
	p.names, p.dead = names, 0
}

// get returns the metadata of the PAT whose token id is id.
func (p *brassPATs) get(id string) (brassPATMeta, bool) {
	n, ok := decimalPATID(id)
	if !ok {
		return brassPATMeta{}, false
	}
	m, ok := p.byID[n]
	return m, ok
}

func (p *brassPATs) touch(id string, now time.Time) {
	if n, ok := decimalPATID(id); ok {
		if m, ok := p.byID[n]; ok {
			m.lastUsed = unixNanos(now)
			p.byID[n] = m
		}
	}
}

func (p *brassPATs) name(m brassPATMeta) string {
	return string(p.names[m.nameAt : m.nameAt+m.nameLen])
}

type brassWindow struct {
	start time.Time
	count int
}

// brassClaims: sub (user id), customer, lvl (1 temporary, 2 user), iat, exp, jti.
type brassClaims struct {
	Customer string `json:"customer"`
	Level    int    `json:"lvl"`
	jwt.RegisteredClaims
}

func newBrass(env vendorapi.Env) (vendorapi.Vendor, error) {
	cfg, fx, err := vendorapi.Parts[Config, *Fixtures](env, Name)
	if err != nil {
		return nil, err
	}
	opts := vendorapi.HS256Options(env.Clock.Now, 0)
	return &brass{env: env, cfg: cfg, fx: fx, parser: jwt.NewParser(opts...), verified: vendorapi.NewJWTCache[*brassClaims](opts...)}, nil
}

// Name is the vendor's name: brass.
func (b *brass) Name() string { return brassVendor }

// Document is Brass's OpenAPI document.
func (b *brass) Document() (*vendorapi.Document, error) { return openapi.Document(brassVendor) }

func (b *brass) Handlers() map[string]vendorapi.Handler {
	return map[string]vendorapi.Handler{
		"login":                     b.permitted("", b.login),
		"authorise":                 b.permitted("", b.authorise),
		"createPersonalAccessToken": b.permitted("", b.createPAT),
		"listPersonalAccessTokens":  b.permitted("", b.listPATs),
		"revokePersonalAccessToken": b.permitted("", b.revokePAT),
		"listAccounts":              b.permitted(PermAccountsRead, b.listAccounts),
		"listPayments":              b.permitted(PermPaymentsRead, b.listPayments),
		"createPayment":             b.permitted(PermPaymentsCreate, b.createPayment),
	}
}

func (b *brass) Reset() error {
	fx := b.fx
	fake := gofakeit.New(uint64(b.env.Seed) + 2)
	w := &brassWorld{
		key:      make([]byte, 32),
		appKeys:  map[store.SecretHash]bool{},
		users:    map[string]*brassUser{},
		byID:     map[string]*brassUser{},
		customer: "cus_" + vendorapi.FakeBase62(fake, 22),
	}
	_, _ = rand.Read(w.key)
	for _, k := range fx.AppKeys {
		w.appKeys[store.HashSecret(k)] = true
	}
	for _, u := range fx.Users {
		bu := &brassUser{id: "usr_" + vendorapi.FakeBase62(fake, 22), email: u.Email, password: store.HashSecret(u.Password),
			role: brassRoleByName(u.Role), totpSecret: u.TOTPSecret}
		w.users[u.Email], w.byID[bu.id] = bu, bu
	}
	banks := [][2]string{{"058", "Guaranty Trust Bank"}, {"044", "Access Bank"}, {"057", "Zenith Bank"}, {"033", "United Bank for Africa"}}
	for range 3 {
		bank := banks[fake.IntRange(0, len(banks)-1)]
		w.accounts = append(w.accounts, brassAccount{
			ID: "acc_" + vendorapi.FakeBase62(fake, 22), AccountNumber: fake.Numerify("##########"), AccountName: fake.Company(),
			Currency: "NGN", Balance: int64(fake.IntRange(100_000, 500_000_000)) * 100,
			Bank: brassBank{Data: brassBankData{Code: bank[0], Name: bank[1]}},
		})
	}
	w.accountsJSON = vendorapi.EncodeJSON(brassData[[]brassAccount]{w.accounts})
	var payments []brassPayment
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 10 {
		payments = append(payments, brassPayment{
			ID: "pay_" + vendorapi.FakeBase62(fake, 22), Amount: int64(fake.IntRange(1_000, 5_000_000)) * 100, Currency: "NGN",
			Narration: fake.Sentence(4), Status: []string{"successful", "successful", "failed"}[fake.IntRange(0, 2)],
			Recipient: brassRecipient{AccountNumber: fake.Numerify("##########"), BankCode: banks[fake.IntRange(0, len(banks)-1)][0], Name: fake.Name()},
			CreatedAt: base.Add(-time.Duration(i*37) * time.Hour).Format(time.RFC3339),
		})
	}
	b.mu.Lock()
	b.world.Store(w)
	b.otps, b.lastOTP, b.pats = map[string]*brassOTP{}, map[string]string{}, newBrassPATs()
	b.rate, b.idem, b.idemAdds = map[string]*brassWindow{}, map[string]time.Time{}, 0
	slices.Reverse(payments) // kept oldest first: a new one is appended
	b.nextPAT, b.payments = 0, payments
	b.mu.Unlock()
	return nil
}

// ---- errors ----

// brassError is Brass's wire error: {"error":{"status","title","description","source"}}.
type brassError struct {
	vendorapi.WireError
	source map[string]string // JSON:API's source: the parameter or header at fault
}

func brassErr(status int, reason, desc string) *brassError {
	return &brassError{WireError: vendorapi.WireError{Status: status, Reason: reason, Message: desc}}
}

func brassUnauthorized(reason, desc string) *brassError {
	return &brassError{WireError: vendorapi.WireError{Status: http.StatusUnauthorized, Reason: reason, Message: desc, Challenge: fmt.Sprintf(`Bearer realm="brass", error="invalid_token", error_description=%q`, desc)}}
}

type brassErrorBody struct {
	Error struct {
		Status      int               `json:"status"`
		Title       string            `json:"title"`
		Description string            `json:"description"`
		Source      map[string]string `json:"source"`
	} `json:"error"`
}

func (b *brass) WriteError(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request, err error) {
	be, ok := errors.AsType[*brassError](vendorapi.AuthFailure(err))
	if !ok {
		be = b.fromValidation(err)
	}
	if be.Status == http.StatusUnauthorized && be.Challenge == "" {
		be.Challenge = `Bearer realm="brass"`
	}
	var body brassErrorBody
	body.Error.Status, body.Error.Title, body.Error.Description = be.Status, http.StatusText(be.Status), be.Message
	body.Error.Source = be.source
	if body.Error.Source == nil {
		body.Error.Source = map[string]string{}
	}
	be.Write(w, body)
}

// fromValidation maps middleware and validation errors: invalid or missing
// parameters are 422 (as Brass documents), with a JSON:API-style source.
func (b *brass) fromValidation(err error) *brassError {
	he := b.env.Neutral(err)
	be := brassErr(he.Status, he.Reason, he.Message)
	re, ok := errors.AsType[*openapi3filter.RequestError](err)
	if !ok {
		return be
	}
	se, isSchema := errors.AsType[*openapi3.SchemaError](re.Err)
	switch {
	case re.Parameter != nil:
		be.Status = http.StatusUnprocessableEntity
		be.source = map[string]string{"parameter": re.Parameter.Name}
		if re.Parameter.In == "header" {
			be.source = map[string]string{"header": re.Parameter.Name}
		}
	case re.RequestBody != nil && errors.Is(re.Err, openapi3filter.ErrInvalidRequired):
		be.Status = http.StatusUnprocessableEntity
	case re.RequestBody != nil && isSchema:
		be.Status = http.StatusUnprocessableEntity
		ptr := "/" + strings.Join(se.JSONPointer(), "/")
		if m := missingPropRE.FindStringSubmatch(se.Reason); m != nil && se.SchemaField == "required" {
			if !strings.HasSuffix(ptr, "/"+m[1]) { // kin's pointer names the missing property already
				ptr = strings.TrimSuffix(ptr, "/") + "/" + m[1]
			}
			be.Message = fmt.Sprintf("the %s field is required", strings.TrimPrefix(ptr, "/"))
		}
		be.source = map[string]string{"pointer": ptr}
	}
	return be
}

// ---- credentials ----

type brassCredKind string

const (
	brassAppKey    brassCredKind = "app key"
	brassTemporary brassCredKind = "temporary JWT"
	brassUserJWT   brassCredKind = "user JWT"
	brassPAT       brassCredKind = "personal access token"
)

// brassCred is a request's credential, classified and checked once and shared
// by the operation's security alternatives.
type brassCred struct {
	kind  brassCredKind
	user  *brassUser
	token store.Token // the stored token (temporary JWT, user JWT or PAT)
	perms []string    // effective permissions (user and PAT)
	err   error
}

func (b *brass) credential(r *http.Request, rc *vendorapi.Request) *brassCred {
	ctx := r.Context()
	if c, ok := rc.Cred.(*brassCred); ok {
		return c
	}
	c := b.classify(ctx, r.Header.Get("Authorization"))
	rc.Cred = c
	return c
}

func (b *brass) classify(ctx context.Context, header string) *brassCred {
	c := vendorapi.ParseAuthorization(header)
	if !c.Present || c.Scheme != "bearer" {
		return &brassCred{err: &brassError{WireError: vendorapi.WireError{Status: http.StatusUnauthorized, Reason: "token_missing", Absent: true, Message: "send Authorization: Bearer <app key, JWT or personal access token>"}}}
	}
	v := c.Value
	w := b.world.Load()
	now := b.env.Clock.Now()
	switch {
	case strings.HasPrefix(v, "lk_"):
		if !w.appKeys[store.HashSecret(v)] {
			return &brassCred{err: brassUnauthorized("token_unknown", "the app key is not valid")}
		}
		return &brassCred{kind: brassAppKey}
	case strings.Contains(v, "|"):
		return b.checkPAT(ctx, v, now)
	case strings.Count(v, ".") == 2:
		return b.checkJWT(ctx, w, v, now)
	}
	return &brassCred{err: brassUnauthorized("token_unknown", "the token is not an app key, a JWT or a personal access token")}
}

func (b *brass) checkPAT(ctx context.Context, v string, now time.Time) *brassCred {
	m := brassPATRE.FindStringSubmatch(v)
	if m == nil {
		return &brassCred{err: brassUnauthorized("token_invalid", "malformed personal access token; want N|pat-<40 letters or digits>")}
	}
	// Sanctum-style: the id finds the row, then the hash of the rest is compared in constant time.
	t, err := b.env.Store.ByID(ctx, brassVendor, m[1])
	if store.IsFailure(err) {
		return &brassCred{err: err}
	}
	if err != nil || t.Kind != store.KindPAT || !t.Hash.Equal(store.HashSecret(m[2])) {
		return &brassCred{err: brassUnauthorized("token_unknown", "the personal access token is not valid")}
	}
	switch t.StateAt(now) {
	case store.StateRevoked:
		return &brassCred{err: brassUnauthorized("token_revoked", "the personal access token has been revoked")}
	case store.StateExpired: // never by Brass itself: only the admin plane or a scenario expires a PAT
		return &brassCred{err: brassUnauthorized("token_expired", "the personal access token has expired")}
	}
	u := b.world.Load().users[t.Principal]
	if u == nil {
		return &brassCred{err: brassUnauthorized("token_unknown", "the token's user no longer exists")}
	}
	b.mu.Lock()
	b.pats.touch(t.ID, now)
	b.mu.Unlock()
	return &brassCred{kind: brassPAT, user: u, token: t, perms: t.Scopes}
}

func (b *brass) checkJWT(ctx context.Context, w *brassWorld, v string, now time.Time) *brassCred {
	h := store.HashSecret(v)
	claims, key, ok := b.verified.Get(h)
	if !ok || key != w { // a world's key signs its JWTs; a reset makes a new world
		claims = &brassClaims{}
		_, err := b.parser.ParseWithClaims(v, claims, func(*jwt.Token) (any, error) { return w.key, nil })
		switch {
		case errors.Is(err, jwt.ErrTokenExpired):
			return &brassCred{err: brassUnauthorized("token_expired", "the token has expired")}
		case err != nil:
			return &brassCred{err: brassUnauthorized("token_invalid", "the token is not valid: "+err.Error())}
		}
		b.verified.Put(h, claims, w)
	}
	t, serr := b.env.Store.ByHash(ctx, h)
	if store.IsFailure(serr) {
		return &brassCred{err: serr}
	}
	u := w.byID[claims.Subject]
	if serr != nil || t.Vendor != brassVendor || u == nil {
		return &brassCred{err: brassUnauthorized("token_unknown", "the token is not known")}
	}
	switch t.StateAt(now) {
	case store.StateRevoked:
		desc := "the token has been revoked"
		switch t.RevokeReason {
		case store.RevokedByRotation:
			desc = "the temporary token has already been used; log in again"
		case store.RevokedByAttempts:
			desc = "too many wrong OTPs; log in again"
		}
		return &brassCred{err: brassUnauthorized("token_revoked", desc)}
	case store.StateExpired:
		return &brassCred{err: brassUnauthorized("token_expired", "the token has expired")}
	}
	if claims.Level == 1 {
		return &brassCred{kind: brassTemporary, user: u, token: t}
	}
	return &brassCred{kind: brassUserJWT, user: u, token: t, perms: u.role.Perms}
}

func (b *brass) Authenticate(r *http.Request, rc *vendorapi.Request, securityScheme string, scopes []string) error {
	want := map[string]brassCredKind{"appKey": brassAppKey, "temporaryJWT": brassTemporary, "userJWT": brassUserJWT, "pat": brassPAT}[securityScheme]
	if want == "" {
		return fmt.Errorf("brass: unknown security scheme %q", securityScheme)
	}
	c := b.credential(r, rc)
	if c.err != nil {
		return c.err
	}
	if c.kind != want {
		desc := fmt.Sprintf("a %s is not accepted here", c.kind)
		switch c.kind {
		case brassTemporary:
			desc = "the temporary token is accepted only by POST /auth/login/authorise"
		case brassAppKey:
			desc = "an app key is not enough here; use a user JWT or a personal access token"
		}
		if securityScheme == "temporaryJWT" {
			desc = "this endpoint needs the temporary token from POST /auth/login"
		}
		return &brassError{WireError: vendorapi.WireError{Status: http.StatusUnauthorized, Reason: "token_not_accepted", Message: desc, Absent: true, Challenge: fmt.Sprintf(`Bearer realm="brass", error="invalid_token", error_description=%q`, desc)}}
	}
	principal := c.token
	if c.user != nil {
		principal.Principal = c.user.email
	}
	principal.Vendor = brassVendor
	rc.Principal = &principal
	return nil
}

// admit accounts for every authenticated Brass request before its body is
// validated, as Brass does (B27, B28): the user's rate limit, whose 429 wins
// over a bad body and whose headers every answer carries, and the
// idempotency key, used up by the first request that carries it whether that
// one succeeds or fails.
func (b *brass) Admit(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request) error {
	c, ok := rc.Cred.(*brassCred) // set by authenticate: every operation is authenticated
	if !ok {
		return nil
	}
	now := b.env.Clock.Now()
	if c.user != nil {
		if err := b.rateLimit(w, c.user.email, now); err != nil {
			return err
		}
	}
	if key := r.Header.Get("x-idempotency-key"); key != "" && r.Method == http.MethodPost {
		if len(key) > brassMaxIdempotencyKey {
			return &brassError{WireError: vendorapi.WireError{Status: http.StatusUnprocessableEntity, Reason: "invalid_request", Message: fmt.Sprintf("x-idempotency-key is %d bytes; at most %d", len(key), brassMaxIdempotencyKey)}, source: map[string]string{"header": "x-idempotency-key"}}
		}
		owner := "app"
		if c.user != nil {
			owner = c.user.email
		}
		if err := b.idempotency(owner+"\x00"+key, now); err != nil {
			return err
		}
	}
	return nil
}

// permitted checks the permission an operation needs (if any).
func (b *brass) permitted(perm string, h vendorapi.Handler) vendorapi.Handler {
	return func(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request) error {
		c := rc.Cred.(*brassCred) // set by authenticate: every operation is authenticated
		if perm != "" && !slices.Contains(c.perms, perm) {
			return &brassError{WireError: vendorapi.WireError{Status: http.StatusForbidden, Reason: "insufficient_permission", Message: fmt.Sprintf("this %s lacks the %s permission", c.kind, perm)}}
		}
		return h(w, r, rc)
	}
}

// rateLimit counts the user's requests in a fixed one-minute window on the
// virtual clock (Laravel's throttle), and answers 429 past the limit.
func (b *brass) rateLimit(w http.ResponseWriter, user string, now time.Time) error {
	limit := b.cfg.RateLimit
	if limit <= 0 { // 0 switches the limit off
		return nil
	}
	b.mu.Lock()
	win := b.rate[user]
	if win == nil || !now.Before(win.start.Add(brassRateWindow)) {
		win = &brassWindow{start: now}
		b.rate[user] = win
	}
	win.count++
	count, reset := win.count, win.start.Add(brassRateWindow)
	b.mu.Unlock()
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(0, limit-count)))
	if count <= limit {
		return nil
	}
	retry := int(math.Ceil(reset.Sub(now).Seconds()))
	retry = max(retry, 1)
	msg := fmt.Sprintf("more than %d requests a minute; retry in %d s", limit, retry)
	if f, ok := b.env.Clock.(interface{ Frozen() bool }); ok && f.Frozen() {
		// Brass's answer, and the emulator's word on why it will not clear.
		msg += " of the virtual clock, which is frozen: advance it by a minute (POST /_emulator/clock/advance), or turn the limit off (-brass-rate-limit 0)"
	}
	return &brassError{WireError: vendorapi.WireError{Status: http.StatusTooManyRequests, Reason: "rate_limited", Message: msg, Header: http.Header{"Retry-After": {strconv.Itoa(retry)}}}}
}

// idempotency answers 409 for a key already used within 7 days, whether the
// first call succeeded or failed.
func (b *brass) idempotency(key string, now time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if at, used := b.idem[key]; used && now.Before(at.Add(brassIdempotencyTTL)) {
		return &brassError{WireError: vendorapi.WireError{Status: http.StatusConflict, Reason: "idempotency_key_reused", Message: "this x-idempotency-key has already been used"}, source: map[string]string{"header": "x-idempotency-key"}}
	}
	purge := func() {
		for k, at := range b.idem {
			if !now.Before(at.Add(brassIdempotencyTTL)) {
				delete(b.idem, k)
			}
		}
	}
	if b.idemAdds++; b.idemAdds%1024 == 0 { // purge keys older than 7 days now and then
		purge()
	}
	if max := b.env.Bound(brassMaxIdempotencyKeys, 300, brassTables); len(b.idem) >= max {
		if purge(); len(b.idem) >= max {
			return &brassError{WireError: vendorapi.WireError{Status: http.StatusConflict, Reason: "limit_reached", Message: fmt.Sprintf("the emulator holds %d idempotency keys of the last 7 days, the most it keeps; reset it (POST /_emulator/reset) or advance the clock", max)}}
		}
	}
	b.idem[key] = now
	return nil
}

// ---- login and OTP ----

type brassTokenBody struct {
	Token string `json:"token"`
	Data  struct {
		Token string `json:"token"`
	} `json:"data"`
}

func writeBrassToken(w http.ResponseWriter, tok string) {
	var body brassTokenBody
	body.Token, body.Data.Token = tok, tok
	w.Header().Set("Cache-Control", "no-store")
	vendorapi.WriteJSON(w, http.StatusOK, body)
}

// signJWT issues and records a Brass JWT of the given level for u.
func (b *brass) signJWT(ctx context.Context, u *brassUser, level int, lifetime time.Duration) (string, store.Token, error) {
	w := b.world.Load()
	now := b.env.Clock.Now().Truncate(time.Second)
	jti := uuid.NewString()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, brassClaims{
		Customer: w.customer, Level: level,
		RegisteredClaims: jwt.RegisteredClaims{Subject: u.id, ID: jti,
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(lifetime))},
	}).SignedString(w.key)
	if err != nil {
		return "", store.Token{}, fmt.Errorf("sign: %w", err)
	}
	kind := store.KindJWT
	if level == 1 {
		kind = store.KindTemporary
	}
	t := store.Token{ID: jti, Vendor: brassVendor, Kind: kind, Hash: store.HashSecret(s), Principal: u.email,
		AccountID: w.customer, Scopes: u.role.Perms, Roles: []string{u.role.ID}, IssuedAt: now, ExpiresAt: now.Add(lifetime), OwnExpiresAt: now.Add(lifetime)}
	if err := b.env.Store.Put(ctx, t); err != nil {
		return "", store.Token{}, fmt.Errorf("store token: %w", err)
	}
	return s, t, nil
}

func (b *brass) login(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request) error {
	ctx := r.Context()
	var body struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := vendorapi.RequestJSON(rc, r, &body); err != nil {
		return err
	}
	u := b.world.Load().users[body.Username]
	want := store.SecretHash{}
	if u != nil {
		want = u.password
	}
	if !store.HashSecret(body.Password).Equal(want) || u == nil {
		return &brassError{WireError: vendorapi.WireError{Status: http.StatusUnauthorized, Reason: "invalid_credentials", Message: "the username or password is incorrect", Challenge: `Bearer realm="brass"`}}
	}
	// Room for its OTP first: a login refused for want of it issues no
	// temporary JWT.
	if err := b.roomForOTP(); err != nil {
		return err
	}
	tok, t, err := b.signJWT(ctx, u, 1, b.cfg.TemporaryTokenLifetime)
	if err != nil {
		return err
	}
	rc.Principal = &t // for the journal
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return fmt.Errorf("otp: %w", err)
	}
	code := fmt.Sprintf("%06d", n.Int64())
	b.mu.Lock()
	if len(b.otps) >= b.env.Bound(brassMaxPendingOTPs, 150, brassTables) {
		b.mu.Unlock() // filled by logins at the same time as this one
		return brassErr(http.StatusConflict, "limit_reached", "the emulator holds the most logins waiting for their OTP it keeps; authorise them, let their temporary tokens expire (advance the clock) or reset it")
	}
	b.otps[t.ID] = &brassOTP{code: code, expires: t.ExpiresAt}
	b.lastOTP[u.email] = code
	b.mu.Unlock()
	writeBrassToken(w, tok)
	return nil
}

// roomForOTP refuses a login when as many as the bound wait for their OTP,
// once those whose temporary JWT expired (and can no longer be used) are
// gone.
func (b *brass) roomForOTP() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	max := b.env.Bound(brassMaxPendingOTPs, 150, brassTables)
	if len(b.otps) < max {
		return nil
	}
	now := b.env.Clock.Now()
	for id, o := range b.otps {
		if !now.Before(o.expires) {
			delete(b.otps, id)
		}
	}
	if len(b.otps) < max {
		return nil
	}
	return brassErr(http.StatusConflict, "limit_reached",
		fmt.Sprintf("the emulator holds %d logins waiting for their OTP, the most it keeps; authorise them, let their temporary tokens expire (advance the clock) or reset it", max))
}

// getOTP answers GET /_emulator/brass/otp: the last OTP sent to a user.
func (b *brass) getOTP(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request) error {
	user := r.URL.Query().Get("username")
	code, ok := b.OTP(user)
	if !ok {
		return &vendorapi.WireError{Status: http.StatusNotFound, Reason: "not_found",
			Message: fmt.Sprintf("no OTP has been sent to %q; log in with POST /brass/auth/login first", user)}
	}
	vendorapi.WriteJSON(w, http.StatusOK, map[string]string{"otp": code})
	return nil
}

// OTP returns the last OTP sent to a Brass user (the emulator's stand-in for the
// email), for tests and the admin plane.
func (b *brass) OTP(email string) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	code, ok := b.lastOTP[email]
	return code, ok
}

func (b *brass) authorise(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request) error {
	ctx := r.Context()
	var body struct {
		OTP string `json:"otp"`
	}
	if err := vendorapi.RequestJSON(rc, r, &body); err != nil {
		return err
	}
	c := rc.Cred.(*brassCred)
	now := b.env.Clock.Now()
	b.mu.Lock()
	st := b.otps[c.token.ID]
	ok := st != nil && store.HashSecret(st.code).Equal(store.HashSecret(body.OTP))
	if !ok && c.user.totpSecret != "" {
		ok, _ = totp.ValidateCustom(body.OTP, c.user.totpSecret, now,
			totp.ValidateOpts{Period: 30, Skew: 1, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	}
	spent := false
	if !ok && st != nil {
		st.attempts++
		spent = st.attempts >= brassOTPAttempts
	}
	if ok || spent {
		delete(b.otps, c.token.ID)
	}
	b.mu.Unlock()
	if !ok {
		if spent {
			if _, err := b.env.Store.Revoke(ctx, brassVendor, c.token.ID, now, store.RevokedByAttempts); store.IsFailure(err) {
				return err
			}
			return &brassError{WireError: vendorapi.WireError{Status: http.StatusUnprocessableEntity, Reason: "otp_invalid", Message: "the OTP is not valid; too many attempts, so the login must start again"}, source: map[string]string{"pointer": "/otp"}}
		}
		return &brassError{WireError: vendorapi.WireError{Status: http.StatusUnprocessableEntity, Reason: "otp_invalid", Message: "the OTP is not valid"}, source: map[string]string{"pointer": "/otp"}}
	}
	// The temporary token is single-use: of two concurrent authorisations, one wins.
	if _, err := b.env.Store.Revoke(ctx, brassVendor, c.token.ID, now, store.RevokedByRotation); store.IsFailure(err) {
		return err
	} else if err != nil {
		return brassUnauthorized("token_revoked", "the temporary token has already been used; log in again")
	}
	tok, _, err := b.signJWT(ctx, c.user, 2, brassUserJWTLifetime)
	if err != nil {
		return err
	}
	writeBrassToken(w, tok)
	return nil
}

// ---- personal access tokens ----

type brassRoleRef struct {
	Data struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"data"`
}

type brassPATBody struct {
	ID          int64        `json:"id"`
	Name        string       `json:"name"`
	Role        brassRoleRef `json:"role"`
	Permissions []string     `json:"permissions"`
	Token       string       `json:"token,omitempty"`
	CreatedAt   string       `json:"created_at"`
	LastUsedAt  *string      `json:"last_used_at"`
}

// patBody is a PAT as Brass shows it; the caller holds b.mu.
func (b *brass) patBody(t store.Token, meta brassPATMeta) brassPATBody {
	id, _ := strconv.ParseInt(t.ID, 10, 64)
	out := brassPATBody{ID: id, Name: b.pats.name(meta), Permissions: vendorapi.NonNil(t.Scopes),
		CreatedAt: fromUnixNanos(meta.created).Format(time.RFC3339)}
	role := &brassRoles[meta.role]
	out.Role.Data.ID, out.Role.Data.Name = role.ID, role.Name
	if meta.lastUsed != 0 {
		s := fromUnixNanos(meta.lastUsed).Format(time.RFC3339)
		out.LastUsedAt = &s
	}
	return out
}

func (b *brass) createPAT(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request) error {
	ctx := r.Context()
	var body struct {
		Name string `json:"name"`
		Role string `json:"role"`
	}
	if err := vendorapi.RequestJSON(rc, r, &body); err != nil {
		return err
	}
	role := brassRoleByName(body.Role)
	if role == nil {
		return &brassError{WireError: vendorapi.WireError{Status: http.StatusUnprocessableEntity, Reason: "invalid_request", Message: fmt.Sprintf("unknown role %q; use a role id (rol_…) or one of %s", body.Role, strings.Join(brassRoleNames(), ", "))}, source: map[string]string{"pointer": "/role"}}
	}
	if strings.TrimSpace(body.Name) == "" {
		return &brassError{WireError: vendorapi.WireError{Status: http.StatusUnprocessableEntity, Reason: "invalid_request", Message: "the name field must not be blank"}, source: map[string]string{"pointer": "/name"}}
	}
	c := rc.Cred.(*brassCred)
	token, _, out, err := b.newPAT(ctx, c.user, body.Name, role, c.perms)
	if err != nil {
		return err
	}
	out.Token = token
	w.Header().Set("Cache-Control", "no-store")
	vendorapi.WriteJSON(w, http.StatusCreated, brassData[brassPATBody]{out})
	return nil
}

// newPAT makes and records a PAT for u. Never more than the creator: its
// permissions are the role's intersected with creatorPerms.
// It returns the token, its record and the PAT as Brass shows it.
func (b *brass) newPAT(ctx context.Context, u *brassUser, name string, role *brassRole, creatorPerms []string) (string, store.Token, brassPATBody, error) {
	perms := intersect(role.Perms, creatorPerms)
	now := b.env.Clock.Now().Truncate(time.Second)
	secret := "pat-" + vendorapi.RandomBase62(40)
	b.mu.Lock()
	if max := b.env.Bound(b.cfg.MaxPATs, 300, brassTables); len(b.pats.byID) >= max {
		b.mu.Unlock()
		why := "-brass-max-pats"
		if max < b.cfg.MaxPATs {
			why = "its memory budget"
		}
		return "", store.Token{}, brassPATBody{}, brassErr(http.StatusConflict, "limit_reached",
			fmt.Sprintf("the emulator holds %d personal access tokens, the most it keeps (%s); reset it (POST /_emulator/reset) to make more", max, why))
	}
	b.nextPAT++
	n := b.nextPAT
	id := strconv.FormatInt(n, 10)
	if err := b.pats.add(uint64(n), name, role, now, time.Time{}); err != nil {
		b.mu.Unlock()
		return "", store.Token{}, brassPATBody{}, err
	}
	t := store.Token{ID: id, Vendor: brassVendor, Kind: store.KindPAT, Hash: store.HashSecret(secret), Principal: u.email,
		AccountID: b.world.Load().customer, Scopes: perms, Roles: []string{role.ID}, IssuedAt: now}
	body := b.patBody(t, b.pats.byID[uint64(n)])
	b.mu.Unlock()
	if err := b.env.Store.Put(ctx, t); err != nil {
		b.mu.Lock()
		b.pats.drop(uint64(n)) // no PAT was made
		b.mu.Unlock()
		return "", store.Token{}, brassPATBody{}, fmt.Errorf("store PAT: %w", err)
	}
	return id + "|" + secret, t, body, nil
}

// issueFor issues a user JWT (kind "" or "user", optional lifetime) or a PAT
// (kind "pat", Role defaulting to the user's) for a user (admin plane).
func (b *brass) Issue(ctx context.Context, req vendorapi.IssueRequest) (vendorapi.IssueResult, error) {
	u := b.world.Load().users[req.Principal]
	if u == nil {
		return vendorapi.IssueResult{}, fmt.Errorf("no Brass user %q", req.Principal)
	}
	switch req.Kind {
	case "", "user":
		s, t, err := b.signJWT(ctx, u, 2, cmp.Or(req.Lifetime, brassUserJWTLifetime))
		return vendorapi.IssueResult{Token: s, Record: t}, err
	case "pat":
		if req.Lifetime > 0 {
			return vendorapi.IssueResult{}, errors.New("a pat token never expires: leave out lifetime")
		}
		role := u.role
		if req.Role != "" {
			if role = brassRoleByName(req.Role); role == nil {
				return vendorapi.IssueResult{}, fmt.Errorf("unknown Brass role %q", req.Role)
			}
		}
		name := cmp.Or(req.Name, "issued by the admin plane")
		s, t, _, err := b.newPAT(ctx, u, name, role, u.role.Perms)
		return vendorapi.IssueResult{Token: s, Record: t}, err
	}
	return vendorapi.IssueResult{}, fmt.Errorf("brass issues kind user or pat, not %q", req.Kind)
}

func (b *brass) listPATs(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request) error {
	c := rc.Cred.(*brassCred)
	now := b.env.Clock.Now()
	out := []brassPATBody{}
	page, err := b.env.Store.List(r.Context(), store.Query{Vendor: brassVendor, Kind: store.KindPAT, Principal: c.user.email,
		State: store.StateActive, At: now})
	if err != nil {
		return err
	}
	b.mu.Lock()
	for _, t := range page.Tokens {
		if meta, ok := b.pats.get(t.ID); ok {
			out = append(out, b.patBody(t, meta))
		}
	}
	b.mu.Unlock()
	vendorapi.WriteJSON(w, http.StatusOK, brassData[[]brassPATBody]{out})
	return nil
}

func (b *brass) revokePAT(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request) error {
	ctx := r.Context()
	c := rc.Cred.(*brassCred)
	id := rc.Param("id")
	t, err := b.env.Store.ByID(ctx, brassVendor, id)
	now := b.env.Clock.Now()
	if store.IsFailure(err) {
		return err
	}
	if err != nil || t.Kind != store.KindPAT || t.StateAt(now) == store.StateRevoked {
		return brassErr(http.StatusNotFound, "not_found", "no personal access token with this id")
	}
	if t.Principal != c.user.email && !slices.Contains(c.perms, PermTokensManage) {
		return brassErr(http.StatusForbidden, "insufficient_permission",
			"only the token's owner, or an owner or admin, may revoke it")
	}
	if _, err := b.env.Store.Revoke(ctx, brassVendor, id, now, store.RevokedByAPI); store.IsFailure(err) {
		return err
	} else if err != nil {
		return brassErr(http.StatusNotFound, "not_found", "no personal access token with this id")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- fake banking resources ----

type brassBankData struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

type brassBank struct {
	Data brassBankData `json:"data"`
}

// brassData is Brass's envelope: every answer's payload is under "data".
type brassData[T any] struct {
	Data T `json:"data"`
}

type brassAccount struct {
	ID            string    `json:"id"`
	AccountNumber string    `json:"account_number"`
	AccountName   string    `json:"account_name"`
	Currency      string    `json:"currency"`
	Balance       int64     `json:"balance"`
	Bank          brassBank `json:"bank"`
}

type brassRecipient struct {
	AccountNumber string `json:"account_number"`
	BankCode      string `json:"bank_code"`
	Name          string `json:"name"`
}

type brassPayment struct {
	ID        string         `json:"id"`
	Amount    int64          `json:"amount"`
	Currency  string         `json:"currency"`
	Narration string         `json:"narration"`
	Status    string         `json:"status"`
	Recipient brassRecipient `json:"recipient"`
	CreatedAt string         `json:"created_at"`
}

func (b *brass) listAccounts(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request) error {
	vendorapi.WriteJSONBytes(w, http.StatusOK, b.world.Load().accountsJSON)
	return nil
}

func (b *brass) listPayments(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request) error {
	b.mu.Lock()
	out := slices.Clone(b.payments)
	b.mu.Unlock()
	slices.Reverse(out) // newest first
	vendorapi.WriteJSON(w, http.StatusOK, brassData[[]brassPayment]{vendorapi.NonNil(out)})
	return nil
}

// Idempotency keys: at most 255 bytes each (422 beyond), and at most
// 100,000 of the last 7 days held (409 limit_reached beyond).
const (
	brassMaxIdempotencyKey  = 255
	brassMaxIdempotencyKeys = 100_000
)

// brassMaxPendingOTPs bounds the logins waiting for their OTP (409
// limit_reached beyond, once those whose temporary JWT expired are gone);
// brassTables is how many tables of Brass's own share a memory budget
// (vendorapi.Env.Bound): PATs, idempotency keys, pending OTPs, payments.
const (
	brassMaxPendingOTPs = 100_000
	brassTables         = 4
)

// MaxPayments bounds the payments the emulator keeps (its fake ones and
// those made through POST /banking/payments); one more is a 409
// limit_reached (a 403 at Brass means a permission the token lacks).
const MaxPayments = 10_000

func (b *brass) createPayment(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request) error {
	var body struct {
		Amount    int64          `json:"amount"`
		Currency  string         `json:"currency"`
		Narration string         `json:"narration"`
		Recipient brassRecipient `json:"recipient"`
	}
	if err := vendorapi.RequestJSON(rc, r, &body); err != nil {
		return err
	}
	if body.Currency == "" {
		body.Currency = "NGN"
	}
	p := brassPayment{ID: "pay_" + vendorapi.RandomBase62(22), Amount: body.Amount, Currency: body.Currency, Narration: body.Narration,
		Status: "pending", Recipient: body.Recipient, CreatedAt: b.env.Clock.Now().Format(time.RFC3339)}
	b.mu.Lock()
	if max := b.env.Bound(MaxPayments, 400, brassTables); len(b.payments) >= max {
		b.mu.Unlock()
		return brassErr(http.StatusConflict, "limit_reached",
			fmt.Sprintf("the emulator holds %d payments, the most it keeps; reset it (POST /_emulator/reset) to make more", max))
	}
	b.payments = append(b.payments, p)
	b.mu.Unlock()
	vendorapi.WriteJSON(w, http.StatusCreated, brassData[brassPayment]{p})
	return nil
}

// adopt finds the stored record of a PAT given in full ("N|pat-…"), whose
// stored hash covers only the part after the bar.
func (b *brass) Adopt(ctx context.Context, value string) (store.Token, error) {
	id, secret, ok := strings.Cut(value, "|")
	if !ok || !strings.HasPrefix(secret, "pat-") {
		return store.Token{}, store.ErrNotFound
	}
	t, err := b.env.Store.ByHash(ctx, store.HashSecret(secret))
	if store.IsFailure(err) {
		return store.Token{}, err
	}
	if err != nil || t.Vendor != brassVendor || t.ID != id {
		return store.Token{}, store.ErrNotFound
	}
	return t, nil
}

// fault is a scenario's fault as Brass answers it. The codes otp_invalid and
// rate_limited give Brass's own errors for a wrong OTP and the rate limit.
func (b *brass) Fault(rc *vendorapi.Request, f vendorapi.Fault) error {
	be := &brassError{WireError: vendorapi.WireError{Status: f.Status, Reason: f.Reason, Message: f.Text()}}
	switch {
	case f.Code == "otp_invalid":
		be.Message, be.source = cmp.Or(f.Message, "the OTP is not valid"), map[string]string{"pointer": "/otp"}
	case f.Status == http.StatusTooManyRequests:
		limit := b.cfg.RateLimit
		if limit <= 0 {
			limit = 60 // Brass's documented limit, when the emulator's is off
		}
		retry := cmp.Or(f.RetryAfter, 60)
		be.Message = cmp.Or(f.Message, fmt.Sprintf("more than %d requests a minute; retry in %d s", limit, retry))
		be.Header = http.Header{
			"Retry-After":           {strconv.Itoa(retry)},
			"X-Ratelimit-Limit":     {strconv.Itoa(limit)},
			"X-Ratelimit-Remaining": {"0"},
		}
	}
	return be
}

// save returns the JWT key, PAT metadata, PAT counter and payments.
// Save returns the JWT key (so that JWTs issued before a restart still
// verify), PAT metadata, the PAT counter and the payments.
func (b *brass) Save() (json.RawMessage, error) {
	w := b.world.Load()
	b.mu.Lock()
	defer b.mu.Unlock()
	out := savedBrass{Key: slices.Clone(w.key), NextPAT: b.nextPAT, Payments: slices.Clone(b.payments), PATs: []savedBrassPAT{}}
	slices.Reverse(out.Payments) // the file keeps them newest first
	for id, m := range b.pats.byID {
		out.PATs = append(out.PATs, savedBrassPAT{TokenID: strconv.FormatUint(id, 10), Name: b.pats.name(m),
			Role: brassRoles[m.role].ID, Created: fromUnixNanos(m.created), LastUsed: fromUnixNanos(m.lastUsed)})
	}
	slices.SortFunc(out.PATs, func(x, y savedBrassPAT) int { return strings.Compare(x.TokenID, y.TokenID) })
	return json.Marshal(out)
}

// Restore puts back what Save returned, over a freshly reset world.
func (b *brass) Restore(raw json.RawMessage) error {
	var s savedBrass
	if err := vendorapi.DecodeState(raw, &s); err != nil {
		return err
	}
	if len(s.Key) != 32 {
		return fmt.Errorf("brass: the saved JWT key has %d bytes, want 32", len(s.Key))
	}
	pats := newBrassPATs()
	for _, p := range s.PATs {
		role := brassRoleByName(p.Role)
		if role == nil {
			return fmt.Errorf("brass PAT %s: unknown role %q", p.TokenID, p.Role)
		}
		id, ok := decimalPATID(p.TokenID)
		if !ok || id == 0 {
			return fmt.Errorf("brass PAT %q: the id is not a positive decimal number", p.TokenID)
		}
		if err := pats.add(id, p.Name, role, p.Created, p.LastUsed); err != nil {
			return err
		}
	}
	w := *b.world.Load()
	w.key = slices.Clone(s.Key)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.world.Store(&w)
	b.pats, b.nextPAT = pats, s.NextPAT
	if s.Payments != nil {
		b.payments = slices.Clone(s.Payments)
		slices.Reverse(b.payments)
	}
	return nil
}

// unixNanos is t in Unix nanoseconds, 0 for the zero time (PAT metadata
// times lie within the clock's range).
func unixNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// decimalPATID parses a PAT's canonical decimal id ("7"; no sign, no
// leading zero).
func decimalPATID(id string) (uint64, bool) {
	n, err := strconv.ParseUint(id, 10, 64)
	return n, err == nil && strconv.FormatUint(n, 10) == id
}
