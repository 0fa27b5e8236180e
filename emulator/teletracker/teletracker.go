package teletracker

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/fnv"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brianvoe/gofakeit/v7"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/uuid"

	"github.com/tokenemu/tokenemu/emulator/store"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
	"github.com/tokenemu/tokenemu/openapi"
)

// TeleTracker (teletracker.net): username/password → 1-hour UUID token and a
// rotating single-use refresh token; sessions bound to one account; masquerade;
// Basic and Integrator auth.

const (
	teletrackerVendor        = "teletracker"
	teletrackerTokenLifetime = time.Hour
	teletrackerTimeLayout    = "2006-01-02T15:04:05-07:00" // with a UTC time: +00:00, as documented
	teletrackerMaxRangeDays  = 92

	// Kinds of principal for requests that authenticate without a session.
	kindBasic      store.Kind = "basic"
	kindIntegrator store.Kind = "integrator"
)

type teletracker struct {
	env   vendorapi.Env
	cfg   Config
	fx    *Fixtures
	state atomic.Pointer[teletrackerState]

	// calls caches callsOn, a pure function of (account, day) that costs
	// gofakeit's work; it is emptied when it reaches callCacheSize entries.
	callsMu sync.Mutex
	calls   map[callKey][]teletrackerCall

	// reports caches encoded call-data answers. An answer is a pure function
	// of the account, the date range and how many of the range's calls have
	// started by the virtual now: the calls that have started are always the
	// earliest, so their number says which ones they are, whichever way the
	// clock has moved. It is emptied when it would pass reportCacheBytes.
	reportsMu   sync.Mutex
	reports     map[reportKey][]byte
	reportBytes int
}

type reportKey struct {
	account    int64
	start, end int64 // Unix days
	started    int   // calls in the range that started by now
}

const reportCacheBytes = 4 << 20

type callKey struct {
	account int64
	day     int64 // Unix days
}

const callCacheSize = 4096

// teletrackerTables is how many tables of TeleTracker's own share a memory
// budget (vendorapi.Env.Bound): the reports and the calls kept.
const teletrackerTables = 2

type teletrackerState struct {
	users    map[string]*teletrackerUser
	accounts map[int64]Account
}

type teletrackerUser struct {
	id         int64
	username   string
	password   store.SecretHash
	accounts   []int64
	integrator bool
}

func (u *teletrackerUser) canUse(account int64) bool { return slices.Contains(u.accounts, account) }

func newTeleTracker(env vendorapi.Env) (vendorapi.Vendor, error) {
	cfg, fx, err := vendorapi.Parts[Config, *Fixtures](env, Name)
	if err != nil {
		return nil, err
	}
	return &teletracker{env: env, cfg: cfg, fx: fx}, nil
}

// Name is the vendor's name: teletracker.
func (tt *teletracker) Name() string { return teletrackerVendor }

// Document is TeleTracker's OpenAPI document.
func (tt *teletracker) Document() (*vendorapi.Document, error) {
	return openapi.Document(teletrackerVendor)
}

func (tt *teletracker) Handlers() map[string]vendorapi.Handler {
	return map[string]vendorapi.Handler{
		"login":       tt.login,
		"refresh":     tt.refresh,
		"masquerade":  tt.masquerade,
		"logout":      tt.logout,
		"getCallData": tt.getCallData,
	}
}

func (tt *teletracker) Reset() error {
	fx := tt.fx
	st := &teletrackerState{users: map[string]*teletrackerUser{}, accounts: map[int64]Account{}}
	for _, a := range fx.Accounts {
		st.accounts[a.ID] = a
	}
	for _, u := range fx.Users {
		st.users[u.Username] = &teletrackerUser{id: u.UserID, username: u.Username, password: store.HashSecret(u.Password),
			accounts: slices.Clone(u.Accounts), integrator: u.Integrator}
	}
	tt.state.Store(st)
	return nil
}

// ---- errors ----

// teletrackerError is TeleTracker's wire error: {"success":false,"message":…}.
type teletrackerError struct {
	vendorapi.WireError
	missing []string // the required fields a body lacks, as TeleTracker lists them
}

type teletrackerErrorBody struct {
	Success bool     `json:"success"`
	Message string   `json:"message"`
	Missing []string `json:"missing,omitempty"`
}

func ttError(status int, reason, msg string) *teletrackerError {
	return &teletrackerError{WireError: vendorapi.WireError{Status: status, Reason: reason, Message: msg}}
}

func ttInvalidToken(reason, msg string) *teletrackerError {
	return &teletrackerError{WireError: vendorapi.WireError{Status: http.StatusUnauthorized, Reason: reason, Message: msg, Challenge: fmt.Sprintf(`Bearer realm="teletracker", error="invalid_token", error_description=%q`, msg)}}
}

func ttMissing(fields ...string) *teletrackerError {
	return &teletrackerError{WireError: vendorapi.WireError{Status: http.StatusBadRequest, Reason: "missing_fields", Message: "missing required fields: " + strings.Join(fields, ", ")}, missing: fields}
}

func (tt *teletracker) WriteError(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request, err error) {
	te, ok := errors.AsType[*teletrackerError](vendorapi.AuthFailure(err))
	if !ok {
		te = tt.fromValidation(r, rc, err)
	}
	if te.Challenge == "" && te.Status == http.StatusUnauthorized {
		te.Challenge = `Bearer realm="teletracker"`
	}
	te.Write(w, teletrackerErrorBody{Message: te.Message, Missing: te.missing})
}

// fromValidation turns a middleware or validation error into a teletrackerError;
// a body that lacks required fields lists every one of them, as TeleTracker does.
func (tt *teletracker) fromValidation(r *http.Request, rc *vendorapi.Request, err error) *teletrackerError {
	if re, ok := errors.AsType[*openapi3filter.RequestError](err); ok && re.RequestBody != nil && rc.Operation != "" {
		se, isSchema := errors.AsType[*openapi3.SchemaError](re.Err)
		if errors.Is(re.Err, openapi3filter.ErrInvalidRequired) || (isSchema && se.SchemaField == "required") {
			if missing := tt.missingFields(rc, r, re.RequestBody); len(missing) > 0 {
				return ttMissing(missing...)
			}
		}
	}
	he := tt.env.Neutral(err)
	return ttError(he.Status, he.Reason, he.Message)
}

// missingFields lists the operation's required body fields that the request lacks.
func (tt *teletracker) missingFields(rc *vendorapi.Request, r *http.Request, rb *openapi3.RequestBody) []string {
	mt := rb.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return nil
	}
	params, _ := ttParams(rc, r)
	var missing []string
	for _, f := range mt.Schema.Value.Required {
		if _, ok := params[f]; !ok {
			missing = append(missing, f)
		}
	}
	return missing
}

// maxMultipartMemory is how much of a multipart body is parsed in memory:
// all of it, as the core reads no larger body than this.
const maxMultipartMemory = 1 << 20

// ttParams reads a body as JSON, form-urlencoded or multipart into field → value.
// The body was already validated against the document, and is in memory.
func ttParams(rc *vendorapi.Request, r *http.Request) (map[string]string, error) {
	out := map[string]string{}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		var m map[string]jsontext.Value
		if err := vendorapi.RequestJSON(rc, r, &m); err != nil {
			return out, err
		}
		for k, raw := range m {
			var s string
			if raw.Kind() == '"' && json.Unmarshal(raw, &s) == nil {
				out[k] = s
			} else {
				out[k] = string(raw)
			}
		}
	case "multipart/form-data":
		if err := r.ParseMultipartForm(maxMultipartMemory); err != nil {
			return out, err
		}
		for k, v := range r.MultipartForm.Value {
			if len(v) > 1 {
				return out, vendorapi.BadRequest(fmt.Sprintf("request body: parameter %q appears more than once", k))
			}
			if len(v) > 0 {
				out[k] = v[0]
			}
		}
	case "application/x-www-form-urlencoded":
		form, err := vendorapi.RequestForm(rc, r)
		if err != nil {
			return out, err
		}
		for k, v := range form {
			out[k] = v[0] // ParseQuery adds a value with each key
		}
	}
	return out, nil
}

// prepare moves a GET's or DELETE's body parameters into its query string,
// where the document (and the validator, and the handlers) look for them:
// TeleTracker documents that it takes them from a body as well. A parameter
// given in both places is a 400.
func (tt *teletracker) Prepare(r *http.Request, rc *vendorapi.Request) error {
	if (r.Method != http.MethodGet && r.Method != http.MethodDelete && r.Method != http.MethodHead) || len(rc.Body) == 0 {
		return nil
	}
	body, err := tt.params(rc, r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	for k, v := range body {
		if q.Has(k) {
			return ttError(http.StatusBadRequest, "invalid_request", fmt.Sprintf("%s is given both in the query string and in the body", k))
		}
		q.Set(k, v)
	}
	r.URL.RawQuery = q.Encode()
	return nil
}

func (tt *teletracker) params(rc *vendorapi.Request, r *http.Request) (map[string]string, error) {
	p, err := ttParams(rc, r)
	if err != nil {
		if he, ok := vendorapi.AsWire(err); ok {
			return nil, ttError(he.Status, he.Reason, he.Message)
		}
		return nil, ttError(http.StatusBadRequest, "invalid_request", "request body could not be parsed")
	}
	return p, nil
}

// ---- authentication ----

func (tt *teletracker) Authenticate(r *http.Request, rc *vendorapi.Request, securityScheme string, scopes []string) error {
	ctx := r.Context()
	switch securityScheme {
	case "bearerAuth":
		return tt.authBearer(ctx, r.Header.Get("Authorization"), rc)
	case "authenticationHeader":
		return tt.authBearer(ctx, r.Header.Get("Authentication"), rc)
	case "basicAuth":
		return tt.authPassword(r, rc, "basic", kindBasic)
	case "integratorAuth":
		return tt.authPassword(r, rc, "integrator", kindIntegrator)
	}
	return fmt.Errorf("teletracker: unknown security scheme %q", securityScheme)
}

func (tt *teletracker) authBearer(ctx context.Context, header string, rc *vendorapi.Request) error {
	c := vendorapi.ParseAuthorization(header)
	switch {
	case !c.Present || (c.Scheme != "bearer" && !(c.Scheme == "" && strings.EqualFold(c.Value, "bearer"))):
		return &teletrackerError{WireError: vendorapi.WireError{Status: http.StatusUnauthorized, Reason: "token_missing", Absent: true, Message: "authentication required"}}
	case c.Scheme == "" || !vendorapi.IsB64Token(c.Value):
		return &teletrackerError{WireError: vendorapi.WireError{Status: http.StatusBadRequest, Reason: "authorization_malformed", Message: "malformed bearer token", Challenge: `Bearer realm="teletracker", error="invalid_request"`}}
	}
	t, err := tt.env.Store.ByHash(ctx, store.HashSecret(c.Value))
	if store.IsFailure(err) {
		return err
	}
	if err != nil || t.Vendor != teletrackerVendor || t.Kind != store.KindAccess {
		return ttInvalidToken("token_unknown", "invalid token")
	}
	switch t.StateAt(tt.env.Clock.Now()) {
	case store.StateExpired:
		return ttInvalidToken("token_expired", "token has expired")
	case store.StateRevoked:
		return ttInvalidToken("token_revoked", "token has been revoked")
	}
	if tt.state.Load().users[t.Principal] == nil {
		return ttInvalidToken("token_unknown", "the token's user no longer exists")
	}
	rc.Principal = &t
	return nil
}

// authPassword checks Basic or Integrator credentials: base64(user:pass).
func (tt *teletracker) authPassword(r *http.Request, rc *vendorapi.Request, scheme string, kind store.Kind) error {
	c := vendorapi.ParseAuthorization(r.Header.Get("Authorization"))
	if !c.Present || c.Scheme != scheme {
		return &teletrackerError{WireError: vendorapi.WireError{Status: http.StatusUnauthorized, Reason: "token_missing", Absent: true, Message: "authentication required"}}
	}
	realm := `Basic realm="teletracker"`
	if kind == kindIntegrator {
		realm = `Integrator realm="teletracker"`
	}
	raw, err := base64.StdEncoding.DecodeString(c.Value)
	user, pass, ok := strings.Cut(string(raw), ":")
	if err != nil || !ok {
		return &teletrackerError{WireError: vendorapi.WireError{Status: http.StatusUnauthorized, Reason: "invalid_credentials", Message: "malformed " + scheme + " credentials", Challenge: realm}}
	}
	u := tt.checkPassword(user, pass)
	if u == nil || u.integrator != (kind == kindIntegrator) {
		msg := "invalid username or password"
		if u != nil && kind == kindIntegrator {
			msg = "this user is not an integrator"
		} else if u != nil {
			msg = "integrators authenticate with Authorization: Integrator"
		}
		return &teletrackerError{WireError: vendorapi.WireError{Status: http.StatusUnauthorized, Reason: "invalid_credentials", Message: msg, Challenge: realm}}
	}
	rc.Principal = &store.Token{Vendor: teletrackerVendor, Kind: kind, Principal: u.username}
	return nil
}

// checkPassword returns the user when the password is right, comparing in constant time.
func (tt *teletracker) checkPassword(username, password string) *teletrackerUser {
	u := tt.state.Load().users[username]
	want := store.SecretHash{}
	if u != nil {
		want = u.password
	}
	if !store.HashSecret(password).Equal(want) || u == nil {
		return nil
	}
	return u
}

// ---- sessions ----

type teletrackerSession struct {
	Success                bool   `json:"success"`
	GUID                   string `json:"guid"`
	Token                  string `json:"token"`
	TokenExpiration        string `json:"tokenExpiration"`
	TokenLifetime          int64  `json:"tokenLifetime"`
	RefreshToken           string `json:"refreshToken"`
	RefreshTokenExpiration string `json:"refreshTokenExpiration"`
	AccountID              int64  `json:"account_id"`
	UserID                 int64  `json:"user_id"`
}

// newSession issues and records a token and a refresh token in family, bound to account.
func (tt *teletracker) newSession(ctx context.Context, u *teletrackerUser, account int64, family string, lifetime time.Duration) (teletrackerSession, store.Token, error) {
	now := tt.env.Clock.Now().Truncate(time.Second)
	guid, token, refresh := uuid.NewString(), uuid.NewString(), uuid.NewString()
	tokenExp := now.Add(lifetime)
	refreshExp := tokenExp.Add(tt.cfg.RefreshLifetime)
	if limit := vendorapi.LatestExpiry(); refreshExp.After(limit) {
		// A 100-year token plus a 100-year refresh from 2099 would pass what
		// the store can keep: the refresh token says when it really ends.
		refreshExp = limit
	}
	acct := strconv.FormatInt(account, 10)
	access := store.Token{ID: guid, Vendor: teletrackerVendor, Kind: store.KindAccess, Hash: store.HashSecret(token),
		Principal: u.username, AccountID: acct, Family: family, IssuedAt: now, ExpiresAt: tokenExp}
	rt := store.Token{ID: uuid.NewString(), Vendor: teletrackerVendor, Kind: store.KindRefresh, Hash: store.HashSecret(refresh),
		Principal: u.username, AccountID: acct, Family: family, PairID: guid, IssuedAt: now, ExpiresAt: refreshExp}
	if err := tt.env.Store.Put(ctx, access); err != nil {
		return teletrackerSession{}, store.Token{}, fmt.Errorf("store token: %w", err)
	}
	if err := tt.env.Store.Put(ctx, rt); err != nil {
		return teletrackerSession{}, store.Token{}, fmt.Errorf("store refresh token: %w", err)
	}
	return teletrackerSession{
		Success: true, GUID: guid, Token: token,
		TokenExpiration: tokenExp.Format(teletrackerTimeLayout), TokenLifetime: int64(lifetime / time.Second),
		RefreshToken: refresh, RefreshTokenExpiration: refreshExp.Format(teletrackerTimeLayout),
		AccountID: account, UserID: u.id,
	}, access, nil
}

// issueSession opens a session and writes the login-shaped response.
func (tt *teletracker) issueSession(ctx context.Context, w http.ResponseWriter, rc *vendorapi.Request, u *teletrackerUser, account int64, family string) error {
	s, t, err := tt.newSession(ctx, u, account, family, teletrackerTokenLifetime)
	if err != nil {
		return err
	}
	rc.Principal = &t // for the journal
	w.Header().Set("Cache-Control", "no-store")
	vendorapi.WriteJSON(w, http.StatusOK, s)
	return nil
}

// issueFor opens a session for a user without the password (admin plane), on
// AccountID or the user's home account.
func (tt *teletracker) Issue(ctx context.Context, req vendorapi.IssueRequest) (vendorapi.IssueResult, error) {
	u := tt.state.Load().users[req.Principal]
	if u == nil {
		return vendorapi.IssueResult{}, fmt.Errorf("no TeleTracker user %q", req.Principal)
	}
	account := u.accounts[0]
	if req.AccountID != "" {
		n, err := strconv.ParseInt(req.AccountID, 10, 64)
		if err != nil || !u.canUse(n) {
			return vendorapi.IssueResult{}, fmt.Errorf("user %q cannot use account %q", req.Principal, req.AccountID)
		}
		account = n
	}
	s, t, err := tt.newSession(ctx, u, account, uuid.NewString(), cmp.Or(req.Lifetime, teletrackerTokenLifetime))
	return vendorapi.IssueResult{Token: s.Token, RefreshToken: s.RefreshToken, Record: t}, err
}

func (tt *teletracker) login(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request) error {
	ctx := r.Context()
	p, err := tt.params(rc, r)
	if err != nil {
		return err
	}
	u := tt.checkPassword(p["username"], p["password"])
	if u == nil {
		return ttError(http.StatusUnauthorized, "invalid_credentials", "invalid username or password")
	}
	if p["auth_only"] == "1" {
		w.Header().Set("Cache-Control", "no-store")
		vendorapi.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
		return nil
	}
	var account int64
	if s, ok := p["account_id"]; ok {
		account, _ = strconv.ParseInt(s, 10, 64)
		if !u.canUse(account) {
			return ttError(http.StatusForbidden, "account_forbidden", fmt.Sprintf("user has no access to account %d", account))
		}
	} else if u.integrator {
		return ttMissing("account_id")
	} else {
		account = u.accounts[0]
	}
	return tt.issueSession(ctx, w, rc, u, account, uuid.NewString())
}

func (tt *teletracker) refresh(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request) error {
	ctx := r.Context()
	p, err := tt.params(rc, r)
	if err != nil {
		return err
	}
	invalid := func(reason, msg string) error {
		return &teletrackerError{WireError: vendorapi.WireError{Status: http.StatusUnauthorized, Reason: reason, Message: msg, Challenge: fmt.Sprintf(`Bearer realm="teletracker", error="invalid_token", error_description=%q`, msg)}}
	}
	now := tt.env.Clock.Now()
	t, err := tt.env.Store.ByHash(ctx, store.HashSecret(p["refresh_token"]))
	if store.IsFailure(err) {
		return err
	}
	if err != nil || t.Vendor != teletrackerVendor || t.Kind != store.KindRefresh {
		return invalid("refresh_unknown", "invalid refresh token")
	}
	reused := func() error {
		if tt.cfg.RevokeFamilyOnReuse {
			if _, err := tt.env.Store.RevokeFamily(ctx, teletrackerVendor, t.Family, now, store.RevokedByFamily); err != nil {
				return err
			}
		}
		return invalid("refresh_reused", "refresh token has already been used")
	}
	switch t.StateAt(now) {
	case store.StateRevoked:
		if t.RevokeReason == store.RevokedByRotation {
			return reused()
		}
		return invalid("refresh_revoked", "refresh token has been revoked")
	case store.StateExpired:
		return invalid("refresh_expired", "refresh token has expired")
	}
	// Consume it: of two concurrent refreshes with one token, exactly one wins.
	if _, err := tt.env.Store.Revoke(ctx, teletrackerVendor, t.ID, now, store.RevokedByRotation); store.IsFailure(err) {
		return err
	} else if err != nil {
		return reused()
	}
	if tt.cfg.RevokeAccessOnRefresh {
		if _, err := tt.env.Store.Revoke(ctx, teletrackerVendor, t.PairID, now, store.RevokedByRotation); store.IsFailure(err) {
			return err
		}
	}
	u := tt.state.Load().users[t.Principal]
	if u == nil {
		return invalid("refresh_unknown", "the refresh token's user no longer exists")
	}
	account, _ := strconv.ParseInt(t.AccountID, 10, 64)
	return tt.issueSession(ctx, w, rc, u, account, t.Family)
}

func (tt *teletracker) masquerade(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request) error {
	ctx := r.Context()
	p, err := tt.params(rc, r)
	if err != nil {
		return err
	}
	u := tt.state.Load().users[rc.Principal.Principal]
	account, _ := strconv.ParseInt(p["account_id"], 10, 64)
	if !u.canUse(account) {
		return ttError(http.StatusForbidden, "account_forbidden", fmt.Sprintf("user has no access to account %d", account))
	}
	// A token is bound to one account at a time: the old pair goes.
	if _, err := tt.env.Store.RevokeFamily(ctx, teletrackerVendor, rc.Principal.Family, tt.env.Clock.Now(), store.RevokedByMasquerade); err != nil {
		return err
	}
	return tt.issueSession(ctx, w, rc, u, account, uuid.NewString())
}

func (tt *teletracker) logout(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request) error {
	ctx := r.Context()
	if _, err := tt.env.Store.RevokeFamily(ctx, teletrackerVendor, rc.Principal.Family, tt.env.Clock.Now(), store.RevokedByAPI); err != nil {
		return err
	}
	vendorapi.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
	return nil
}

// ---- fake call data ----

type teletrackerCall struct {
	CallID            int64  `json:"call_id"`
	AccountID         int64  `json:"account_id"`
	StartTime         string `json:"start_time"`
	Duration          int    `json:"duration"`
	CallerNumber      string `json:"caller_number"`
	TrackingNumber    string `json:"tracking_number"`
	DestinationNumber string `json:"destination_number"`
	Status            string `json:"status"`
	Source            string `json:"source"`

	start time.Time // StartTime, parsed
}

// account resolves which account a call-data request reads.
func (tt *teletracker) account(r *http.Request, rc *vendorapi.Request) (int64, error) {
	q := r.URL.Query()
	var asked int64
	if s := q.Get("account_id"); s != "" {
		asked, _ = strconv.ParseInt(s, 10, 64) // validated as an integer ≥ 1
	}
	switch rc.Principal.Kind {
	case store.KindAccess:
		bound, _ := strconv.ParseInt(rc.Principal.AccountID, 10, 64)
		if asked != 0 && asked != bound {
			return 0, ttError(http.StatusForbidden, "account_forbidden",
				fmt.Sprintf("the session is bound to account %d; masquerade to use account %d", bound, asked))
		}
		return bound, nil
	default:
		u := tt.state.Load().users[rc.Principal.Principal]
		if asked == 0 {
			if rc.Principal.Kind == kindIntegrator {
				return 0, ttMissing("account_id")
			}
			return u.accounts[0], nil
		}
		if !u.canUse(asked) {
			return 0, ttError(http.StatusForbidden, "account_forbidden", fmt.Sprintf("user has no access to account %d", asked))
		}
		return asked, nil
	}
}

func (tt *teletracker) getCallData(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request) error {
	account, err := tt.account(r, rc)
	if err != nil {
		return err
	}
	now := tt.env.Clock.Now()
	q := r.URL.Query()
	end := now.Truncate(24 * time.Hour)
	if s := q.Get("end_date"); s != "" {
		if end, err = time.Parse(time.DateOnly, s); err != nil {
			return ttError(http.StatusBadRequest, "invalid_request", fmt.Sprintf("end_date %q is not a date", s))
		}
	}
	start := end.AddDate(0, 0, -6)
	if s := q.Get("start_date"); s != "" {
		if start, err = time.Parse(time.DateOnly, s); err != nil {
			return ttError(http.StatusBadRequest, "invalid_request", fmt.Sprintf("start_date %q is not a date", s))
		}
	}
	switch days := int(end.Sub(start)/(24*time.Hour)) + 1; {
	case days < 1:
		return ttError(http.StatusBadRequest, "invalid_request", "start_date is after end_date")
	case days > teletrackerMaxRangeDays:
		return ttError(http.StatusBadRequest, "invalid_request", fmt.Sprintf("the date range is %d days; at most %d", days, teletrackerMaxRangeDays))
	}
	started := func(yield func(teletrackerCall) bool) { // the range's calls, up to now
		for day := start; !day.After(end); day = day.AddDate(0, 0, 1) {
			for _, c := range tt.cachedCallsOn(account, day) {
				if !c.start.After(now) && !yield(c) {
					return
				}
			}
		}
	}
	k := reportKey{account: account, start: start.Unix() / 86400, end: end.Unix() / 86400}
	for range started {
		k.started++
	}
	tt.reportsMu.Lock()
	b, ok := tt.reports[k]
	tt.reportsMu.Unlock()
	if !ok {
		calls := slices.AppendSeq(make([]teletrackerCall, 0, k.started), started)
		b = vendorapi.EncodeJSON(struct {
			Success   bool              `json:"success"`
			AccountID int64             `json:"account_id"`
			Data      []teletrackerCall `json:"data"`
		}{true, account, calls})
		tt.reportsMu.Lock()
		if tt.reports == nil || tt.reportBytes+len(b) > tt.env.Bound(reportCacheBytes, 1, teletrackerTables) {
			tt.reports, tt.reportBytes = make(map[reportKey][]byte), 0
		}
		if _, dup := tt.reports[k]; !dup {
			tt.reports[k] = b
			tt.reportBytes += len(b)
		}
		tt.reportsMu.Unlock()
	}
	vendorapi.WriteJSONBytes(w, http.StatusOK, b)
	return nil
}

// cachedCallsOn is callsOn through a bounded cache. The slice it returns is
// shared: callers must not change it.
func (tt *teletracker) cachedCallsOn(account int64, day time.Time) []teletrackerCall {
	k := callKey{account, day.Unix() / 86400}
	tt.callsMu.Lock()
	calls, ok := tt.calls[k]
	tt.callsMu.Unlock()
	if ok {
		return calls
	}
	calls = tt.callsOn(account, day)
	tt.callsMu.Lock()
	if tt.calls == nil || len(tt.calls) >= tt.env.Bound(callCacheSize, 2048, teletrackerTables) {
		tt.calls = make(map[callKey][]teletrackerCall)
	}
	tt.calls[k] = calls
	tt.callsMu.Unlock()
	return calls
}

// callsOn generates one account's calls on one day. They are a pure function of
// the seed, the account and the day, so any date range is stable without
// keeping the records.
func (tt *teletracker) callsOn(account int64, day time.Time) []teletrackerCall {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%d/%s", tt.env.Seed, account, day.Format(time.DateOnly))
	f := gofakeit.New(h.Sum64())
	n := f.IntRange(0, 6)
	offsets := make([]int, n)
	for i := range offsets {
		offsets[i] = f.IntRange(8*3600, 20*3600)
	}
	slices.Sort(offsets)
	dayNum := day.Unix() / 86400
	tracking := "+1" + f.Numerify("##########")
	calls := make([]teletrackerCall, n)
	for i, off := range offsets {
		status := []string{"answered", "answered", "answered", "missed", "voicemail"}[f.IntRange(0, 4)]
		dur := f.IntRange(20, 900)
		if status == "missed" {
			dur = 0
		}
		start := day.Add(time.Duration(off) * time.Second)
		calls[i] = teletrackerCall{
			CallID:            account*1_000_000_000 + dayNum*100 + int64(i),
			AccountID:         account,
			StartTime:         start.Format(teletrackerTimeLayout),
			start:             start,
			Duration:          dur,
			CallerNumber:      "+1" + f.Numerify("##########"),
			TrackingNumber:    tracking,
			DestinationNumber: "+1" + f.Numerify("##########"),
			Status:            status,
			Source:            []string{"Google Ads", "Bing Ads", "Direct", "Facebook", "Organic Search"}[f.IntRange(0, 4)],
		}
	}
	return calls
}

// fault is a scenario's fault as TeleTracker answers it: {"success":false,"message"}.
func (tt *teletracker) Fault(rc *vendorapi.Request, f vendorapi.Fault) error {
	return ttError(f.Status, f.Reason, f.Text())
}
