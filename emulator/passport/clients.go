package passport

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"sort"

	"github.com/brianvoe/gofakeit/v7"
	"github.com/google/uuid"

	"github.com/tokenemu/tokenemu/emulator/store"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
)

// Passport clients made and re-keyed through the admin plane: Passport
// promises guidance on rotating keys but documents no endpoint for it,
// so the emulator offers the operation a test needs. A
// rotated secret replaces the old one at once; tokens already issued stay
// valid until they expire or are revoked, as a token is not its secret.

// MaxClients bounds how many clients the admin plane can add.
const MaxClients = 1000

// ClientSpec asks for a Passport client; every field may be left
// out: the id and secret are then random, the account a new entity with
// fake accounts of its own, the scopes every Passport scope and the role
// entity.client_credentials.
type ClientSpec struct {
	ClientID     string   `json:"client_id,omitempty"`
	ClientSecret string   `json:"client_secret,omitempty"`
	AccountID    string   `json:"account_id,omitempty"`
	Scopes       []string `json:"scopes,omitempty"`
	Roles        []string `json:"roles,omitempty"`
}

// ClientInfo is a Passport client as the admin plane shows it. The
// secret is there only in the answer that set it.
type ClientInfo struct {
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret,omitempty"`
	AccountID    string   `json:"account_id"`
	Scopes       []string `json:"scopes"`
	Roles        []string `json:"roles"`
}

// Client errors.
var (
	ErrClientExists   = errors.New("a client with this client_id exists")
	ErrNoClient       = errors.New("no client with this client_id")
	ErrTooManyClients = errors.New("the admin plane has added the most clients it may (MaxClients, or fewer in a memory budget)")
)

var clientIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// savedPassport holds what the admin plane changed: the clients it added and
// the secrets it rotated (as SHA-256).
type savedPassport struct {
	Clients []savedPassportClient `json:"clients"`
}

type savedPassportClient struct {
	ClientID  string   `json:"client_id"`
	Secret    string   `json:"secret_sha256"`
	AccountID string   `json:"account_id"`
	Scopes    []string `json:"scopes"`
	Roles     []string `json:"roles"`
}

func (c *passportClient) info() ClientInfo {
	return ClientInfo{ClientID: c.id, AccountID: c.accountID, Scopes: vendorapi.NonNil(c.scopes), Roles: vendorapi.NonNil(c.roles)}
}

// createClient adds a client and returns it with its
// secret, the one time the secret is shown.
func (p *passport) createClient(spec ClientSpec) (ClientInfo, error) {
	if spec.ClientID == "" {
		spec.ClientID = "client-" + vendorapi.RandomBase62(12)
	}
	if !clientIDRE.MatchString(spec.ClientID) {
		return ClientInfo{}, fmt.Errorf("client_id %.64q: want 1 to 128 of A-Z a-z 0-9 . _ -", spec.ClientID)
	}
	secret, err := clientSecret(spec.ClientSecret)
	if err != nil {
		return ClientInfo{}, err
	}
	if spec.AccountID == "" {
		spec.AccountID = uuid.NewString()
	} else if _, err := uuid.Parse(spec.AccountID); err != nil {
		return ClientInfo{}, fmt.Errorf("account_id %.64q is not a UUID", spec.AccountID)
	}
	if spec.Scopes == nil {
		spec.Scopes = Scopes()
	}
	if spec.Roles == nil {
		spec.Roles = []string{"entity.client_credentials"}
	}
	for _, list := range [][]string{spec.Scopes, spec.Roles} {
		if len(list) > 64 || slices.ContainsFunc(list, func(s string) bool { return s == "" || len(s) > 128 }) {
			return ClientInfo{}, errors.New("scopes and roles: at most 64, each 1 to 128 characters")
		}
	}
	c := &passportClient{id: spec.ClientID, secret: store.HashSecret(secret), accountID: spec.AccountID,
		scopes: slices.Clone(spec.Scopes), roles: slices.Clone(spec.Roles)}
	if err := p.change(func(st *passportState) error {
		if _, taken := st.clients[c.id]; taken {
			return ErrClientExists
		}
		size := clientBytes(c.id, c.scopes, c.roles) + passportAccountBytes
		if st.added >= MaxClients || (p.env.Budget > 0 && st.addedBytes+size > p.env.Budget/passportTables) {
			return fmt.Errorf("%w (%d, %d KB)", ErrTooManyClients, st.added, st.addedBytes>>10)
		}
		st.addedBytes += size
		st.clients[c.id] = c
		st.added++
		st.changed[c.id] = true
		if _, known := st.accountsJSON[c.accountID]; !known {
			p.addEntity(st, c.accountID)
		}
		return nil
	}); err != nil {
		return ClientInfo{}, err
	}
	p.env.Redact(secret)
	info := c.info()
	info.ClientSecret = secret
	return info, nil
}

// rotateSecret gives a client a new secret (random when
// secret is empty) and returns it, the one time it is shown. The old secret
// stops working at once; tokens issued with it stay valid.
func (p *passport) rotateSecret(clientID, secret string) (ClientInfo, error) {
	secret, err := clientSecret(secret)
	if err != nil {
		return ClientInfo{}, err
	}
	var info ClientInfo
	var retired store.SecretHash
	err = p.change(func(st *passportState) error {
		old, ok := st.clients[clientID]
		if !ok {
			return ErrNoClient
		}
		retired = old.secret
		c := *old
		c.secret = store.HashSecret(secret)
		st.clients[clientID] = &c
		st.changed[clientID] = true
		info = c.info()
		return nil
	})
	if err == nil {
		p.env.Redact(secret)
		if p.env.Retire != nil {
			p.env.Retire(retired) // it no longer works: the journal may forget it
		}
	}
	info.ClientSecret = secret
	return info, err
}

// clients lists the clients, by client_id, without secrets.
func (p *passport) clients() []ClientInfo {
	st := p.state.Load()
	out := make([]ClientInfo, 0, len(st.clients))
	for _, id := range slices.Sorted(maps.Keys(st.clients)) {
		out = append(out, st.clients[id].info())
	}
	return out
}

func clientSecret(s string) (string, error) {
	switch {
	case s == "":
		return vendorapi.NewOpaqueToken(), nil
	case len(s) < 8 || len(s) > 256:
		return "", errors.New("client_secret: want 8 to 256 characters")
	}
	return s, nil
}

// CreateClient adds a client to v (an emulator's Passport, from
// Emulator.Vendor) and returns it with its secret, the one time the secret
// is shown.
func CreateClient(v vendorapi.Vendor, spec ClientSpec) (ClientInfo, error) {
	p, ok := v.(*passport)
	if !ok {
		return ClientInfo{}, errNotPassport(v)
	}
	return p.createClient(spec)
}

// RotateSecret gives a client of v a new secret (random when secret is
// empty) and returns it, the one time it is shown. The old secret stops
// working at once; tokens issued with it stay valid.
func RotateSecret(v vendorapi.Vendor, clientID, secret string) (ClientInfo, error) {
	p, ok := v.(*passport)
	if !ok {
		return ClientInfo{}, errNotPassport(v)
	}
	return p.rotateSecret(clientID, secret)
}

// Clients lists v's clients, by client_id, without secrets.
func Clients(v vendorapi.Vendor) []ClientInfo {
	p, ok := v.(*passport)
	if !ok {
		return nil
	}
	return p.clients()
}

func errNotPassport(v vendorapi.Vendor) error {
	return fmt.Errorf("%T is not an emulator's Passport", v)
}

// change applies fn to a copy of the state and publishes it: readers keep
// reading the old one without a lock meanwhile.
func (p *passport) change(fn func(*passportState) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.state.Load()
	st := &passportState{clients: maps.Clone(old.clients), accountByID: maps.Clone(old.accountByID),
		accountsJSON: maps.Clone(old.accountsJSON), changed: maps.Clone(old.changed), added: old.added, addedBytes: old.addedBytes}
	if err := fn(st); err != nil {
		return err
	}
	p.state.Store(st)
	return nil
}

// addEntity makes the fake accounts of a new entity, the same for the same
// entity id and seed.
func (p *passport) addEntity(st *passportState, entity string) {
	h := fnv.New64a()
	_, _ = h.Write([]byte(entity))
	fake := gofakeit.New(uint64(p.env.Seed) ^ h.Sum64())
	accts := make([]passportAccount, passportAccounts)
	for i := range accts {
		accts[i] = fakePassportAccount(fake, entity)
		st.accountByID[accts[i].AccountID] = &accts[i]
	}
	st.accountsJSON[entity] = encodePassportAccounts(accts)
}

// Save returns what the admin plane changed: the clients it added and the
// secrets it rotated (as SHA-256).
func (p *passport) Save() (json.RawMessage, error) {
	st := p.state.Load()
	out := savedPassport{Clients: []savedPassportClient{}}
	ids := slices.Collect(maps.Keys(st.changed))
	sort.Strings(ids)
	for _, id := range ids {
		c := st.clients[id]
		out.Clients = append(out.Clients, savedPassportClient{ClientID: c.id, Secret: fmt.Sprintf("%x", c.secret[:]),
			AccountID: c.accountID, Scopes: c.scopes, Roles: c.roles})
	}
	return json.Marshal(out)
}

// Restore puts back the clients Save returned.
func (p *passport) Restore(raw json.RawMessage) error {
	var saved savedPassport
	if err := vendorapi.DecodeState(raw, &saved); err != nil {
		return err
	}
	var secrets []store.SecretHash
	err := p.change(func(st *passportState) error {
		for _, sc := range saved.Clients {
			h, ok := store.ParseSecretHash(sc.Secret)
			if !ok {
				return fmt.Errorf("passport client %q: bad secret_sha256", sc.ClientID)
			}
			secrets = append(secrets, h)
			if _, fixture := st.clients[sc.ClientID]; !fixture {
				st.added++
				st.addedBytes += clientBytes(sc.ClientID, sc.Scopes, sc.Roles) + passportAccountBytes
			}
			st.clients[sc.ClientID] = &passportClient{id: sc.ClientID, secret: h, accountID: sc.AccountID,
				scopes: sc.Scopes, roles: sc.Roles}
			st.changed[sc.ClientID] = true
			if _, known := st.accountsJSON[sc.AccountID]; !known {
				p.addEntity(st, sc.AccountID)
			}
		}
		return nil
	})
	if err == nil && p.env.RedactHash != nil {
		// A secret set through the admin plane before the restart stays
		// one the journal never shows.
		for _, h := range secrets {
			p.env.RedactHash(h)
		}
	}
	return err
}

// ---- admin plane ----

func passportClientError(err error) error {
	switch {
	case errors.Is(err, ErrNoClient):
		return &vendorapi.WireError{Status: http.StatusNotFound, Reason: "not_found", Message: err.Error()}
	case errors.Is(err, ErrClientExists):
		return &vendorapi.WireError{Status: http.StatusConflict, Reason: "client_exists", Message: err.Error()}
	case errors.Is(err, ErrTooManyClients):
		return &vendorapi.WireError{Status: http.StatusConflict, Reason: "too_many_clients", Message: err.Error()}
	}
	return vendorapi.BadRequest(err.Error())
}

// AdminHandlers are Passport's operations on the admin plane: its clients,
// which Passport documents no endpoint for managing.
func (p *passport) AdminHandlers() map[string]vendorapi.Handler {
	return map[string]vendorapi.Handler{
		"listPassportClients":  p.adminListClients,
		"createPassportClient": p.adminCreateClient,
		"rotatePassportSecret": p.adminRotateSecret,
	}
}

func (p *passport) adminListClients(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request) error {
	vendorapi.WriteJSON(w, http.StatusOK, map[string]any{"clients": p.clients()})
	return nil
}

func (p *passport) adminCreateClient(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request) error {
	var spec ClientSpec
	if len(rc.Body) > 0 {
		if err := vendorapi.RequestJSON(rc, r, &spec); err != nil {
			return err
		}
	}
	info, err := p.createClient(spec)
	if err != nil {
		return passportClientError(err)
	}
	w.Header().Set("Cache-Control", "no-store")
	vendorapi.WriteJSON(w, http.StatusCreated, info)
	return nil
}

func (p *passport) adminRotateSecret(w http.ResponseWriter, r *http.Request, rc *vendorapi.Request) error {
	var body struct {
		ClientSecret string `json:"client_secret,omitempty"`
	}
	if len(rc.Body) > 0 {
		if err := vendorapi.RequestJSON(rc, r, &body); err != nil {
			return err
		}
	}
	info, err := p.rotateSecret(rc.Param("client_id"), body.ClientSecret)
	if err != nil {
		return passportClientError(err)
	}
	w.Header().Set("Cache-Control", "no-store")
	vendorapi.WriteJSON(w, http.StatusOK, info)
	return nil
}
