package passport

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brianvoe/gofakeit/v7"
	"github.com/google/uuid"
	"golang.org/x/text/language"

	"github.com/tokenemu/tokenemu/emulator/store"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
	"github.com/tokenemu/tokenemu/openapi"
)

// Passport (passportfintech.com): OAuth2 client-credentials tokens, opaque, 24 h,
// with list, inspect, revoke and logout.

const (
	passportVendor        = "passport"
	passportTokenLifetime = 24 * time.Hour
	passportGrantFlow     = "GRANT_FLOW_CLIENT_CREDENTIALS"
	passportTimeLayout    = "2006-01-02T15:04:05.000Z07:00" // RFC 3339, milliseconds, Z
	passportAccounts      = 3                               // fake accounts per entity by default
)

// gRPC status codes used in Passport's gRPC-gateway error bodies.
const (
	grpcInvalidArgument   = 3
	grpcNotFound          = 5
	grpcAlreadyExists     = 6
	grpcPermissionDenied  = 7
	grpcUnimplemented     = 12
	grpcInternal          = 13
	grpcUnauthenticated   = 16
	grpcDeadlineExceeded  = 4
	grpcResourceExhausted = 8
	grpcUnavailable       = 14
)

type passport struct {
	env   vendorapi.Env
	cfg   Config
	fx    *Fixtures
	langs language.Matcher
	state atomic.Pointer[passportState]
	mu    sync.Mutex // serialises changes to state (passport_clients.go)

	// infos caches getToken's answers, encoded, by token id and expiry: a
	// token's metadata changes only when an expiry moves (a revoked one is
	// not answered). Bounded: emptied when it holds infoCacheSize.
	infoMu sync.RWMutex
	infos  map[infoKey][]byte
}

type infoKey struct {
	id      string
	expires int64
}

// infoCacheSize bounds the encoded token answers kept.
const infoCacheSize = 4096

// passportTables is how many tables of Passport's own share a memory budget
// (vendorapi.Env.Bound): the added clients (counted by their bytes,
// clientBytes) and the answers kept; an account is counted at
// passportAccountBytes.
const (
	passportTables       = 2
	passportAccountBytes = 512
)

// clientBytes is what a client is counted at against a memory budget: its
// strings, and room for its record (and its secret's hash).
func clientBytes(id string, scopes, roles []string) int64 {
	n := int64(256 + len(id))
	for _, s := range slices.Concat(scopes, roles) {
		n += int64(16 + len(s))
	}
	return n
}

// encodedInfo returns getToken's answer for t, encoded once.
func (p *passport) encodedInfo(t store.Token) []byte {
	k := infoKey{t.ID, t.ExpiresAt.UnixNano()}
	p.infoMu.RLock()
	b, ok := p.infos[k]
	p.infoMu.RUnlock()
	if ok {
		return b
	}
	b = vendorapi.EncodeJSON(passportInfo(t))
	p.infoMu.Lock()
	if p.infos == nil || len(p.infos) >= p.env.Bound(infoCacheSize, 600, passportTables) {
		p.infos = make(map[infoKey][]byte)
	}
	p.infos[k] = b
	p.infoMu.Unlock()
	return b
}

// passportState is the fixture-derived state, rebuilt on reset and read without locks.
type passportState struct {
	clients     map[string]*passportClient
	accountByID map[string]*passportAccount
	// accountsJSON is listAccounts' answer by entity account id, encoded
	// once: a state's accounts never change (a change makes a new state).
	accountsJSON map[string][]byte
	// changed are the clients the admin plane added or re-keyed (saved
	// state keeps them); added counts those it added.
	changed    map[string]bool
	added      int
	addedBytes int64 // what those take, counted by clientBytes
}

type passportClient struct {
	id        string
	secret    store.SecretHash
	accountID string
	scopes    []string
	roles     []string
}

func newPassport(env vendorapi.Env) (vendorapi.Vendor, error) {
	cfg, fx, err := vendorapi.Parts[Config, *Fixtures](env, Name)
	if err != nil {
		return nil, err
	}
	var cost int64
	for _, c := range fx.Clients {
		cost += clientBytes(c.ClientID, c.Scopes, c.Roles) + int64(cmp.Or(c.Accounts, passportAccounts))*passportAccountBytes
	}
	if err := env.Fits("its fixtures' clients and their accounts", cost); err != nil {
		return nil, err
	}
	return &passport{env: env, cfg: cfg, fx: fx, langs: language.NewMatcher([]language.Tag{language.English, language.Spanish})}, nil
}

// Name is the vendor's name: passport.
func (p *passport) Name() string { return passportVendor }

// Document is Passport's OpenAPI document.
func (p *passport) Document() (*vendorapi.Document, error) { return openapi.Document(passportVendor) }

func (p *passport) Handlers() map[string]vendorapi.Handler {
	return map[string]vendorapi.Handler{
		"createToken":  p.createToken,
		"listTokens":   p.listTokens,
		"getToken":     p.getToken,
		"revokeToken":  p.revokeToken,
		"logout":       p.logout,
		"listAccounts": p.listAccounts,
		"getAccount":   p.getAccount,
	}
}

func (p *passport) Reset() error {
	fx := p.fx
	st := &passportState{
		clients:      make(map[string]*passportClient, len(fx.Clients)),
		accountByID:  make(map[string]*passportAccount),
		accountsJSON: make(map[string][]byte),
		changed:      map[string]bool{},
	}
	accounts := map[string][]passportAccount{} // by entity account id
	fake := gofakeit.New(uint64(p.env.Seed))
	for _, c := range fx.Clients {
		st.clients[c.ClientID] = &passportClient{
			id:        c.ClientID,
			secret:    store.HashSecret(c.ClientSecret),
			accountID: c.AccountID,
			scopes:    slices.Clone(c.Scopes),
			roles:     slices.Clone(c.Roles),
		}
		if _, done := accounts[c.AccountID]; done {
			continue
		}
		n := c.Accounts
		if n == 0 {
			n = passportAccounts
		}
		accts := make([]passportAccount, n)
		for i := range accts {
			accts[i] = fakePassportAccount(fake, c.AccountID)
		}
		accounts[c.AccountID] = accts
	}
	for entity, accts := range accounts {
		for i := range accts {
			st.accountByID[accts[i].AccountID] = &accts[i]
		}
		st.accountsJSON[entity] = encodePassportAccounts(accts)
	}
	p.state.Store(st)
	return nil
}

// ---- errors ----

// passportError is Passport's wire error. On the token endpoint it renders as
// RFC 6749 §5.2 ({"error","error_description"}); elsewhere as a gRPC-gateway
// status ({"code","message","details"}).
type passportError struct {
	vendorapi.WireError        // its Message is in English
	oauth               string // RFC 6749 error code, token endpoint only
	code                int    // gRPC code
	es                  string // the message in Spanish
}

type passportStatusBody struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Details []any  `json:"details"`
}

type passportOAuthErrorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func (p *passport) WriteError(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request, err error) {
	tokenEndpoint := rc.Operation == "createToken"
	pe := p.toError(err, tokenEndpoint)
	lang := p.language(r)
	msg := pe.Message
	if lang == "es" {
		msg = pe.es
	}
	w.Header().Set("Content-Language", lang)
	if tokenEndpoint && pe.oauth != "" {
		pe.NoStore = true
		pe.Write(w, passportOAuthErrorBody{Error: pe.oauth, Description: msg})
		return
	}
	pe.Write(w, passportStatusBody{Code: pe.code, Message: msg, Details: []any{}})
}

// toError maps any error a Passport request can meet to a passportError.
func (p *passport) toError(err error, tokenEndpoint bool) *passportError {
	if pe, ok := errors.AsType[*passportError](err); ok {
		return pe
	}
	if se := vendorapi.SchemaFieldError(err, "grant_type", "enum"); tokenEndpoint && se != nil && isString(se.Value) {
		return oauthError(http.StatusBadRequest, "unsupported_grant_type",
			"grant_type must be client_credentials", "grant_type debe ser client_credentials")
	}
	he := p.env.Neutral(err)
	pe := &passportError{WireError: *he}
	switch he.Status {
	case http.StatusInternalServerError:
		pe.code, pe.es = grpcInternal, "error interno"
	case http.StatusServiceUnavailable:
		pe.code, pe.es = grpcUnavailable, "servicio no disponible: "+he.Message
	case http.StatusNotFound:
		pe.code, pe.es = grpcNotFound, "ruta no encontrada: "+he.Message
	case http.StatusMethodNotAllowed:
		pe.code, pe.es = grpcUnimplemented, "método no permitido: "+he.Message
	case http.StatusRequestEntityTooLarge:
		pe.code, pe.es = grpcInvalidArgument, "el cuerpo de la solicitud es demasiado grande: "+he.Message
	case http.StatusUnsupportedMediaType:
		pe.code, pe.es = grpcInvalidArgument, "tipo de contenido no admitido: "+he.Message
	default:
		pe.code, pe.es = grpcInvalidArgument, "solicitud no válida: "+he.Message
	}
	if tokenEndpoint {
		switch pe.Status {
		case http.StatusServiceUnavailable:
			pe.oauth = "temporarily_unavailable"
		case http.StatusInternalServerError:
			pe.oauth = "server_error"
		default:
			pe.oauth = "invalid_request"
		}
		if pe.Status == http.StatusUnsupportedMediaType {
			pe.Status = http.StatusBadRequest // RFC 6749 §5.2: every malformed request is a 400 invalid_request
		}
	}
	return pe
}

// language negotiates the error language from Accept-Language: "es" or "en".
func (p *passport) language(r *http.Request) string {
	al := r.Header.Get("Accept-Language")
	if al == "" {
		return "en"
	}
	tags, _, err := language.ParseAcceptLanguage(al)
	if err != nil || len(tags) == 0 {
		return "en"
	}
	if _, idx, conf := p.langs.Match(tags...); idx == 1 && conf != language.No {
		return "es"
	}
	return "en"
}

func oauthError(status int, code, en, es string) *passportError {
	return &passportError{WireError: vendorapi.WireError{Status: status, Reason: code, Message: en}, oauth: code, code: grpcInvalidArgument, es: es}
}

func passportInvalidToken(reason, en, es string) *passportError {
	return &passportError{WireError: vendorapi.WireError{Status: http.StatusUnauthorized, Reason: reason, Message: en, Challenge: fmt.Sprintf(`Bearer realm="passport", error="invalid_token", error_description=%q`, en)}, code: grpcUnauthenticated, es: es}
}

// ---- authentication ----

func (p *passport) Authenticate(r *http.Request, rc *vendorapi.Request, securityScheme string, scopes []string) error {
	ctx := r.Context()
	switch securityScheme {
	case "clientBasic":
		// The token endpoint checks client credentials itself, after grant_type,
		// in the order RFC 6749 §5.2 implies.
		return nil
	case "passportOAuth":
	default:
		return fmt.Errorf("passport: unknown security scheme %q", securityScheme)
	}
	value, res := vendorapi.BearerToken(r.Header.Get("Authorization"))
	switch res {
	case vendorapi.BearerMissing:
		return &passportError{WireError: vendorapi.WireError{Status: http.StatusUnauthorized, Reason: "token_missing", Message: "bearer token missing", Challenge: `Bearer realm="passport"`}, code: grpcUnauthenticated, es: "falta el token de acceso"}
	case vendorapi.BearerMalformed:
		return &passportError{WireError: vendorapi.WireError{Status: http.StatusBadRequest, Reason: "authorization_malformed", Message: "malformed Authorization header; want: Bearer <token>", Challenge: `Bearer realm="passport", error="invalid_request", error_description="malformed Authorization header"`}, code: grpcInvalidArgument, es: "cabecera Authorization mal formada; se espera: Bearer <token>"}
	}
	t, err := p.env.Store.ByHash(ctx, store.HashSecret(value))
	if store.IsFailure(err) {
		return err
	}
	if err != nil || t.Vendor != passportVendor || t.Kind != store.KindAccess {
		return passportInvalidToken("token_unknown", "the access token is not valid", "el token de acceso no es válido")
	}
	switch t.StateAt(p.env.Clock.Now()) {
	case store.StateExpired:
		return passportInvalidToken("token_expired", "the access token has expired", "el token de acceso ha expirado")
	case store.StateRevoked:
		return passportInvalidToken("token_revoked", "the access token has been revoked", "el token de acceso ha sido revocado")
	}
	for _, s := range scopes {
		if !scopeGranted(t.Scopes, s) {
			status, code := p.cfg.ScopeErrorStatus, grpcUnauthenticated
			if status == http.StatusForbidden {
				code = grpcPermissionDenied
			}
			need := strings.Join(scopes, " ")
			return &passportError{WireError: vendorapi.WireError{Status: status, Reason: "insufficient_scope", Message: fmt.Sprintf("the access token does not include the %s scope", s), Challenge: fmt.Sprintf(`Bearer realm="passport", error="insufficient_scope", scope=%q`, need)}, code: code, es: fmt.Sprintf("el token de acceso no incluye el alcance %s", s)}
		}
	}
	rc.Principal = &t
	return nil
}

// scopeGranted reports whether granted covers need; a granted scope ending in
// ".*" covers every scope below it (Passport documents wildcards like iam.mfa.*).
func scopeGranted(granted []string, need string) bool {
	for _, g := range granted {
		if g == need || g == "*" {
			return true
		}
		if prefix, ok := strings.CutSuffix(g, "*"); ok && strings.HasSuffix(prefix, ".") && strings.HasPrefix(need, prefix) {
			return true
		}
	}
	return false
}

// ---- token endpoint ----

type passportTokenResponse struct {
	AccessToken string   `json:"access_token"`
	TokenType   string   `json:"token_type"`
	ExpiresIn   int64    `json:"expires_in"`
	TokenID     string   `json:"token_id"`
	Scopes      []string `json:"scopes"`
	Roles       []string `json:"roles"`
	AccountID   string   `json:"account_id"`
	CreatedAt   string   `json:"created_at"`
}

// tokenParams are the token request's parameters, from a JSON or form body.
type tokenParams struct {
	grantType, clientID, clientSecret string
	hasClientID, hasClientSecret      bool
}

func (p *passport) readTokenParams(rc *vendorapi.Request, r *http.Request) (tokenParams, error) {
	var tp tokenParams
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		var body struct {
			GrantType    *string `json:"grant_type"`
			ClientID     *string `json:"client_id"`
			ClientSecret *string `json:"client_secret"`
		}
		if err := vendorapi.RequestJSON(rc, r, &body); err != nil {
			return tp, err
		}
		if body.GrantType != nil {
			tp.grantType = *body.GrantType
		}
		if body.ClientID != nil {
			tp.clientID, tp.hasClientID = *body.ClientID, true
		}
		if body.ClientSecret != nil {
			tp.clientSecret, tp.hasClientSecret = *body.ClientSecret, true
		}
	default: // application/x-www-form-urlencoded: the validator admits nothing else
		form, err := vendorapi.RequestForm(rc, r)
		if err != nil {
			return tp, err
		}
		tp.grantType = form.Get("grant_type")
		tp.clientID, tp.hasClientID = form.Get("client_id"), form.Has("client_id")
		tp.clientSecret, tp.hasClientSecret = form.Get("client_secret"), form.Has("client_secret")
	}
	return tp, nil
}

func (p *passport) createToken(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request) error {
	ctx := r.Context()
	tp, err := p.readTokenParams(rc, r)
	if err != nil {
		return err
	}
	if tp.grantType != "client_credentials" {
		return oauthError(http.StatusBadRequest, "unsupported_grant_type",
			"grant_type must be client_credentials", "grant_type debe ser client_credentials")
	}

	// Client authentication: HTTP Basic (RFC 6749 §2.3.1) or the body (documented).
	usedBasic := false
	if c := vendorapi.ParseAuthorization(r.Header.Get("Authorization")); c.Present && c.Scheme == "basic" {
		usedBasic = true
		user, pass, ok := r.BasicAuth()
		var uerr, perr error
		if ok {
			user, uerr = url.QueryUnescape(user)
			pass, perr = url.QueryUnescape(pass)
		}
		if !ok || uerr != nil || perr != nil {
			return p.invalidClient(true, "malformed HTTP Basic credentials", "credenciales HTTP Basic mal formadas")
		}
		if tp.hasClientSecret || (tp.hasClientID && tp.clientID != user) {
			return oauthError(http.StatusBadRequest, "invalid_request",
				"client credentials sent both in the Authorization header and in the body",
				"credenciales del cliente enviadas en la cabecera Authorization y en el cuerpo")
		}
		tp.clientID, tp.clientSecret, tp.hasClientID, tp.hasClientSecret = user, pass, true, true
	}
	switch {
	case !tp.hasClientID || tp.clientID == "":
		return oauthError(http.StatusBadRequest, "invalid_request", "client_id is required", "client_id es obligatorio")
	case !tp.hasClientSecret || tp.clientSecret == "":
		return oauthError(http.StatusBadRequest, "invalid_request", "client_secret is required", "client_secret es obligatorio")
	}
	st := p.state.Load()
	client, known := st.clients[tp.clientID]
	want := store.SecretHash{}
	if known {
		want = client.secret
	}
	if !store.HashSecret(tp.clientSecret).Equal(want) || !known {
		return p.invalidClient(usedBasic, "client authentication failed", "la autenticación del cliente falló")
	}

	value, t, err := p.issue(ctx, client, passportTokenLifetime)
	if err != nil {
		return err
	}
	rc.Principal = &t // for the journal: who logged in, and the new token's fingerprint
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	vendorapi.WriteJSON(w, http.StatusOK, passportTokenResponse{
		AccessToken: value,
		TokenType:   "Bearer",
		ExpiresIn:   int64(passportTokenLifetime / time.Second),
		TokenID:     t.ID,
		Scopes:      vendorapi.NonNil(t.Scopes),
		Roles:       vendorapi.NonNil(t.Roles),
		AccountID:   t.AccountID,
		CreatedAt:   t.IssuedAt.Format(passportTimeLayout),
	})
	return nil
}

// issue makes and records an access token for a client.
func (p *passport) issue(ctx context.Context, client *passportClient, lifetime time.Duration) (string, store.Token, error) {
	now := p.env.Clock.Now().Truncate(time.Millisecond)
	value := vendorapi.NewOpaqueToken()
	t := store.Token{
		ID:        uuid.NewString(),
		Vendor:    passportVendor,
		Kind:      store.KindAccess,
		Hash:      store.HashSecret(value),
		Principal: client.id,
		AccountID: client.accountID,
		Scopes:    client.scopes,
		Roles:     client.roles,
		IssuedAt:  now,
		ExpiresAt: now.Add(lifetime),
	}
	if err := p.env.Store.Put(ctx, t); err != nil {
		return "", store.Token{}, fmt.Errorf("store token: %w", err)
	}
	return value, t, nil
}

// issueFor issues a token for a client without its secret (admin plane).
func (p *passport) Issue(ctx context.Context, req vendorapi.IssueRequest) (vendorapi.IssueResult, error) {
	client := p.state.Load().clients[req.Principal]
	if client == nil {
		return vendorapi.IssueResult{}, fmt.Errorf("no Passport client %q", req.Principal)
	}
	value, t, err := p.issue(ctx, client, cmp.Or(req.Lifetime, passportTokenLifetime))
	return vendorapi.IssueResult{Token: value, Record: t}, err
}

func (p *passport) invalidClient(basic bool, en, es string) *passportError {
	pe := oauthError(http.StatusUnauthorized, "invalid_client", en, es)
	if basic {
		pe.Challenge = `Basic realm="passport"` // RFC 6749 §5.2: MUST when the client used the Authorization header
	}
	return pe
}

// ---- token management ----

type passportTokenInfo struct {
	TokenID   string   `json:"token_id"`
	CreatedAt string   `json:"created_at"`
	ExpiresAt string   `json:"expires_at"`
	Scopes    []string `json:"scopes"`
	Roles     []string `json:"roles"`
	AccountID string   `json:"account_id"`
	ClientID  string   `json:"client_id"`
	GrantFlow string   `json:"grant_flow"`
}

func passportInfo(t store.Token) passportTokenInfo {
	return passportTokenInfo{
		TokenID:   t.ID,
		CreatedAt: t.IssuedAt.Format(passportTimeLayout),
		ExpiresAt: t.ExpiresAt.Format(passportTimeLayout),
		Scopes:    vendorapi.NonNil(t.Scopes),
		Roles:     vendorapi.NonNil(t.Roles),
		AccountID: t.AccountID,
		ClientID:  t.Principal,
		GrantFlow: passportGrantFlow,
	}
}

type passportPagination struct {
	FirstRequestTimestamp string `json:"first_request_timestamp"`
	CurrentPage           int    `json:"current_page"`
	TotalPages            int    `json:"total_pages"`
	TotalElements         int    `json:"total_elements"`
}

type passportTokenList struct {
	PaginationInfo passportPagination  `json:"pagination_info"`
	Tokens         []passportTokenInfo `json:"tokens"`
}

const (
	passportDefaultPageSize = 10
)

func queryInt(q url.Values, key string, def int64) int64 {
	if v, err := strconv.ParseInt(q.Get(key), 10, 64); err == nil {
		return v
	}
	return def
}

// listTokens lists the live tokens of the caller's account. Pages are stable:
// only tokens created at or before first_request_timestamp (default: now) count.
func (p *passport) listTokens(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request) error {
	q := r.URL.Query()
	now := p.env.Clock.Now()
	size := int(queryInt(q, "page_params.page_size", passportDefaultPageSize))
	page := int(queryInt(q, "page_params.page_number", 1))
	first := now
	if q.Has("page_params.first_request_timestamp.seconds") {
		first = time.Unix(queryInt(q, "page_params.first_request_timestamp.seconds", 0),
			queryInt(q, "page_params.first_request_timestamp.nanos", 0)).UTC()
	}
	accountID, userID, flow, role := q.Get("account_id"), q.Get("user_id"), q.Get("grant_flow"), q.Get("role")
	key := q.Get("order_params.order_key")
	desc := q.Get("order_params.order_direction") == "DESC"

	var clients []string
	for _, c := range p.state.Load().clients {
		if c.accountID == rc.Principal.AccountID {
			clients = append(clients, c.id)
		}
	}
	out := passportTokenList{
		PaginationInfo: passportPagination{FirstRequestTimestamp: first.Format(passportTimeLayout), CurrentPage: page},
		Tokens:         []passportTokenInfo{},
	}
	if userID != "" || (flow != "" && flow != passportGrantFlow) || len(clients) == 0 {
		// Client-credentials tokens belong to no user and have one flow.
		vendorapi.WriteJSON(w, http.StatusOK, out)
		return nil
	}
	offset := math.MaxInt
	if page-1 <= math.MaxInt/size {
		offset = (page - 1) * size
	}
	// The account's tokens are its clients' tokens: the store walks their
	// indexes, never the whole store, and makes tokens of the page alone.
	got, err := p.env.Store.List(r.Context(), store.Query{Vendor: passportVendor, Kind: store.KindAccess, Principals: clients,
		AccountID: accountID, Role: role, State: store.StateActive, At: now, IssuedBy: first,
		ByExpiry: key == "expires_at", Desc: desc, Offset: offset, Limit: size})
	if err != nil {
		return err
	}
	out.PaginationInfo.TotalPages = (got.Total + size - 1) / size
	out.PaginationInfo.TotalElements = got.Total
	for _, t := range got.Tokens {
		out.Tokens = append(out.Tokens, passportInfo(t))
	}
	vendorapi.WriteJSON(w, http.StatusOK, out)
	return nil
}

func passportNotFound(en, es string) *passportError {
	return &passportError{WireError: vendorapi.WireError{Status: http.StatusNotFound, Reason: "not_found", Message: en}, code: grpcNotFound, es: es}
}

// ownToken loads a token of the caller's account by id.
func (p *passport) ownToken(ctx context.Context, rc *vendorapi.Request, id string) (store.Token, error) {
	t, err := p.env.Store.ByID(ctx, passportVendor, strings.ToLower(id))
	if store.IsFailure(err) {
		return store.Token{}, err
	}
	if err != nil || t.Kind != store.KindAccess {
		return store.Token{}, passportNotFound("token not found", "token no encontrado")
	}
	if t.AccountID != rc.Principal.AccountID {
		return store.Token{}, &passportError{WireError: vendorapi.WireError{Status: http.StatusForbidden, Reason: "forbidden", Message: "the token belongs to another account"}, code: grpcPermissionDenied, es: "el token pertenece a otra cuenta"}
	}
	return t, nil
}

func (p *passport) getToken(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request) error {
	ctx := r.Context()
	t, err := p.ownToken(ctx, rc, rc.Param("token_id"))
	if err != nil {
		return err
	}
	if t.StateAt(p.env.Clock.Now()) != store.StateActive {
		return passportNotFound("token not found (revoked or expired)", "token no encontrado (revocado o expirado)")
	}
	vendorapi.WriteJSONBytes(w, http.StatusOK, p.encodedInfo(t))
	return nil
}

func (p *passport) revokeToken(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request) error {
	ctx := r.Context()
	id := rc.Param("token_id")
	if r.ContentLength != 0 {
		var body struct {
			TokenID *string `json:"token_id"`
		}
		if err := vendorapi.RequestJSON(rc, r, &body); err != nil && len(rc.Body) > 0 {
			return err
		}
		if body.TokenID != nil && !strings.EqualFold(*body.TokenID, id) {
			return &passportError{WireError: vendorapi.WireError{Status: http.StatusBadRequest, Reason: "invalid_request", Message: "token_id in the body differs from token_id in the path"}, code: grpcInvalidArgument, es: "token_id del cuerpo difiere del token_id de la ruta"}
		}
	}
	t, err := p.ownToken(ctx, rc, id)
	if err != nil {
		return err
	}
	now := p.env.Clock.Now()
	switch t.StateAt(now) {
	case store.StateRevoked:
		return passportAlreadyRevoked()
	case store.StateExpired:
		return &passportError{WireError: vendorapi.WireError{Status: http.StatusConflict, Reason: "token_expired", Message: "the token has expired and cannot be revoked"}, code: grpcAlreadyExists, es: "el token ha expirado y no se puede revocar"}
	}
	if _, err := p.env.Store.Revoke(ctx, passportVendor, t.ID, now, store.RevokedByAPI); err != nil {
		if errors.Is(err, store.ErrRevoked) {
			return passportAlreadyRevoked()
		}
		if store.IsFailure(err) {
			return err
		}
		return passportNotFound("token not found", "token no encontrado")
	}
	w.WriteHeader(p.cfg.RevokeStatus)
	return nil
}

func passportAlreadyRevoked() *passportError {
	return &passportError{WireError: vendorapi.WireError{Status: http.StatusConflict, Reason: "already_revoked", Message: "the token is already revoked"}, code: grpcAlreadyExists, es: "el token ya está revocado"}
}

func (p *passport) logout(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request) error {
	ctx := r.Context()
	if _, err := p.env.Store.Revoke(ctx, passportVendor, rc.Principal.ID, p.env.Clock.Now(), store.RevokedByAPI); err != nil && !errors.Is(err, store.ErrRevoked) {
		return fmt.Errorf("logout: %w", err)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// ---- fake protected resources ----

type passportMoney struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

type passportAccount struct {
	AccountID       string        `json:"account_id"`
	EntityAccountID string        `json:"entity_account_id"`
	AccountNumber   string        `json:"account_number"`
	AccountType     string        `json:"account_type"`
	Status          string        `json:"status"`
	HolderName      string        `json:"holder_name"`
	Balance         passportMoney `json:"balance"`
	CreatedAt       string        `json:"created_at"`
}

func fakePassportAccount(f *gofakeit.Faker, entity string) passportAccount {
	kind := "ACCOUNT_TYPE_SAVINGS"
	if f.Bool() {
		kind = "ACCOUNT_TYPE_CHECKING"
	}
	created := f.DateRange(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	return passportAccount{
		AccountID:       f.UUID(),
		EntityAccountID: entity,
		AccountNumber:   f.Numerify("##########"),
		AccountType:     kind,
		Status:          "ACCOUNT_STATUS_ACTIVE",
		HolderName:      f.Company(),
		Balance:         passportMoney{Amount: fmt.Sprintf("%.2f", f.Float64Range(1000, 50_000_000)), Currency: "COP"},
		CreatedAt:       created.UTC().Truncate(time.Second).Format(passportTimeLayout),
	}
}

func (p *passport) listAccounts(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request) error {
	b, ok := p.state.Load().accountsJSON[rc.Principal.AccountID]
	if !ok { // an entity with no accounts
		b = encodePassportAccounts(nil)
	}
	vendorapi.WriteJSONBytes(w, http.StatusOK, b)
	return nil
}

func encodePassportAccounts(accts []passportAccount) []byte {
	return vendorapi.EncodeJSON(struct {
		Accounts []passportAccount `json:"accounts"`
	}{Accounts: vendorapi.NonNil(accts)})
}

func (p *passport) getAccount(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request) error {
	a, ok := p.state.Load().accountByID[strings.ToLower(rc.Param("account_id"))]
	if !ok || a.EntityAccountID != rc.Principal.AccountID {
		return passportNotFound("account not found", "cuenta no encontrada")
	}
	vendorapi.WriteJSON(w, http.StatusOK, a)
	return nil
}

// nonNil returns s, or an empty slice for nil, so JSON says [] rather than null.

// fault is a scenario's fault as Passport answers it: an RFC 6749 §5.2 error
// at the token endpoint, a gRPC-style status elsewhere.
func (p *passport) Fault(rc *vendorapi.Request, f vendorapi.Fault) error {
	msg := f.Text()
	pe := &passportError{WireError: vendorapi.WireError{Status: f.Status, Reason: f.Reason, Message: msg}, es: "error simulado: " + msg}
	if rc.Operation == "createToken" {
		pe.oauth = f.Code
		if pe.oauth == "" {
			switch {
			case f.Status == http.StatusUnauthorized:
				pe.oauth = "invalid_client"
			case f.Status == http.StatusForbidden:
				pe.oauth = "unauthorized_client"
			case f.Status == http.StatusTooManyRequests || f.Status == http.StatusServiceUnavailable:
				pe.oauth = "temporarily_unavailable"
			case f.Status >= 500:
				pe.oauth = "server_error"
			default:
				pe.oauth = "invalid_request"
			}
		}
		if f.Message == "" && pe.oauth == "invalid_client" {
			pe.Message, pe.es = "client authentication failed", "la autenticación del cliente falló"
		}
		return pe
	}
	switch f.Status {
	case http.StatusUnauthorized:
		pe.code = grpcUnauthenticated
		pe.Challenge = fmt.Sprintf(`Bearer realm="passport", error="invalid_token", error_description=%q`, msg)
	case http.StatusForbidden:
		pe.code = grpcPermissionDenied
	case http.StatusNotFound:
		pe.code = grpcNotFound
	case http.StatusConflict:
		pe.code = grpcAlreadyExists
	case http.StatusTooManyRequests:
		pe.code = grpcResourceExhausted
	case http.StatusNotImplemented:
		pe.code = grpcUnimplemented
	case http.StatusServiceUnavailable:
		pe.code = grpcUnavailable
	case http.StatusGatewayTimeout:
		pe.code = grpcDeadlineExceeded
	default:
		if f.Status >= 500 {
			pe.code = grpcInternal
		} else {
			pe.code = grpcInvalidArgument
		}
	}
	return pe
}

func isString(v any) bool {
	_, ok := v.(string)
	return ok
}
