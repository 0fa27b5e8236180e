package emulator

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tokenemu/tokenemu/emulator/store"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
	"github.com/tokenemu/tokenemu/scenarios"
)

// Tenants puts many isolated emulators behind one handler: the default
// instance answers today's URLs, and each tenant, a whole instance of its own
// (clock, tokens, fixtures, seed, scenarios, journal), answers the same
// layout below /t/{id}. The default instance's admin plane creates, lists and
// deletes tenants (POST, GET /_emulator/tenants, DELETE
// /_emulator/tenants/{id}).
type Tenants struct {
	root     *Emulator
	template Config // what a new tenant starts from (no state file, no clock)
	limits   TenantLimits

	mu      sync.RWMutex
	byID    map[string]*tenant
	closed  bool         // Close was called: no tenant is made after (under mu)
	version atomic.Int64 // tenants created, a change for the state file
	retired atomic.Int64 // changes of the tenants deleted (changes)
}

// TenantLimits bound the tenants.
type TenantLimits struct {
	// Max is the most tenants at once (DefaultMaxTenants when 0); one more
	// is answered 409 too_many_tenants.
	Max int
	// IdleTTL is how long a tenant may go unused before it is deleted
	// (DefaultTenantTTL when 0; on real time, as it is about memory).
	IdleTTL time.Duration
	// Memory is each tenant's memory budget in bytes (DefaultTenantMemory
	// when 0, at least MinTenantMemory): its Config.MemoryBudget, which
	// bounds what grows with its use. A quarter goes to its journal (the
	// oldest entries go first), a quarter to its vendors' own tables
	// (past their bounds, a vendor answers as it does at its defaults'),
	// and the rest, less the instance itself, to its tokens at TokenBytes
	// each (an issue past it is answered 429 token_budget in the vendor's
	// shape).
	Memory int64
	// AutoCreate creates a tenant, with the defaults, at the first request
	// to /t/{id}/… for an id that does not exist, instead of a 404.
	AutoCreate bool
}

// Validate reports what is wrong with l, as NewTenants would (and the
// command line's -max-tenants, -tenant-ttl and -tenant-memory): zero means
// the default.
func (l TenantLimits) Validate() error {
	switch {
	case l.Max < 0 || l.Max > MaxTenantsBound:
		return fmt.Errorf("-max-tenants %d: want 1 to %d", l.Max, MaxTenantsBound)
	case l.IdleTTL < 0:
		return fmt.Errorf("-tenant-ttl %v: must be positive", l.IdleTTL)
	case l.Memory != 0 && (l.Memory < MinTenantMemory || l.Memory > MaxTenantMemory):
		return fmt.Errorf("-tenant-memory %d: want %d (1 MiB) to %d (16 GiB)", l.Memory, int64(MinTenantMemory), int64(MaxTenantMemory))
	}
	return nil
}

// The tenants' defaults.
const (
	DefaultMaxTenants   = 1000
	DefaultTenantTTL    = time.Hour
	DefaultTenantMemory = 8 << 20
	MinTenantMemory     = MinMemoryBudget
	MaxTenantMemory     = 16 << 30
	MaxTenantsBound     = 100_000 // the most -max-tenants may be
)

type tenant struct {
	id        string
	emu       *Emulator
	spec      TenantSpec // what it was made from, for the state file (Token left out)
	created   time.Time
	used      atomic.Int64     // unix nanoseconds of the last request, real time
	protected bool             // it has an admin token of its own
	tokenHash store.SecretHash // that token's SHA-256
}

// TenantInfo is a tenant as the admin plane lists it.
type TenantInfo struct {
	ID        string    `json:"id"`
	BaseURL   string    `json:"base_url"` // the tenant's root: its vendors and admin plane are below it
	CreatedAt time.Time `json:"created_at"`
	LastUsed  time.Time `json:"last_used"`
	// Protected says the tenant has an admin token of its own: its admin
	// plane takes that token (or the emulator's admin token) and no other.
	Protected bool `json:"protected"`
	// Token is that token, in the answer to the create that asked for it
	// (TenantSpec.Token) and nowhere else: it is kept only as its SHA-256.
	Token string `json:"token,omitempty"`
}

// TenantSpec is what a new tenant starts with; zero fields take the default
// instance's configuration.
type TenantSpec struct {
	ID        string            `json:"id,omitempty"`
	Seed      int64             `json:"seed,omitempty"`
	Clock     time.Time         `json:"clock,omitzero"`
	Fixtures  json.RawMessage   `json:"fixtures,omitempty"`
	Scenarios []json.RawMessage `json:"scenarios,omitempty"`
	// Settings tune its vendors (Config.Settings, "brass.rate-limit": "0"),
	// over the default instance's.
	Settings map[string]string `json:"settings,omitempty"`
	// Token asks for an admin token for this tenant alone, returned once
	// (TenantInfo.Token) and kept as its SHA-256: the tenant's admin plane
	// then takes that token or the emulator's admin token and no other.
	// Deleting the tenant takes the emulator's admin token or, when the
	// emulator has none, the tenant's.
	Token bool `json:"token,omitempty"`
}

var tenantIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// NewTenants serves root's URLs and the tenants' below /t/{id}. A tenant
// starts from template (its state file and clock are left out: a tenant
// lives in memory, and in the root's state file when it has one). The
// tenants that root's state file holds are made again here.
func NewTenants(root *Emulator, template Config, limits TenantLimits) (*Tenants, error) {
	if err := limits.Validate(); err != nil {
		return nil, err
	}
	limits.Max = cmp.Or(limits.Max, DefaultMaxTenants)
	limits.IdleTTL = cmp.Or(limits.IdleTTL, DefaultTenantTTL)
	limits.Memory = cmp.Or(limits.Memory, DefaultTenantMemory)
	// The admin token covers every tenant, and the same Host names reach
	// them: whatever the template says, they are the root's.
	template.AdminToken, template.AllowedHosts = root.cfg.AdminToken, root.cfg.AllowedHosts
	template.State = StateConfig{}
	template.Clock = nil
	template.Store = nil
	template.Scenarios = nil
	template.MemoryBudget = limits.Memory
	t := &Tenants{root: root, template: template, limits: limits, byID: map[string]*tenant{}}
	root.stateMu.Lock()
	defer root.stateMu.Unlock()
	// Made before they are published: a save meanwhile keeps the file's
	// tenants as they were.
	if err := t.restore(root.savedTenants); err != nil {
		// Saved now, the file would lose the tenants it holds.
		root.unsaveable.Store(true)
		return nil, err
	}
	root.tenants.Store(t)
	root.savedTenants = nil
	root.unsaveable.Store(false)
	return t, nil
}

// Handler routes /t/{id}/… to that tenant (the prefix taken off) and
// everything else to the default instance.
func (t *Tenants) Handler() http.Handler {
	rootHandler := t.root.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, "/t/")
		if !ok {
			rootHandler.ServeHTTP(w, r)
			return
		}
		id, _, _ := strings.Cut(rest, "/")
		now := time.Now()
		tn := t.getAt(id, now)
		if tn == nil && t.limits.AutoCreate && tenantIDPattern.MatchString(id) && t.mayAutoCreate(r) {
			_, err := t.Create(TenantSpec{ID: id})
			// Another request may have made it first (tenant_exists); or it
			// may be gone already (deleted meanwhile).
			if tn = t.getAt(id, now); tn == nil && err != nil {
				if we, ok := vendorapi.AsWire(err); !ok || we.Reason != "tenant_exists" { // made and deleted meanwhile: a 404 below
					t.root.admin.WriteError(w, r, &vendorapi.Request{}, err)
					return
				}
			}
		}
		if tn == nil {
			t.root.admin.WriteError(w, r, &vendorapi.Request{}, &vendorapi.WireError{Status: http.StatusNotFound, Reason: "no_such_tenant",
				Message: fmt.Sprintf("no tenant %q here (POST /_emulator/tenants creates one)", cutField(id))})
			return
		}
		tn.used.Store(now.UnixNano())
		sub := r.URL.Path[len("/t/")+len(id):] // the tenant's own "/…", without a new string
		if strings.Contains(sub, "//") || strings.Contains(sub, "/.") {
			// Cleaned here, not by the tenant's router, whose redirect
			// would not know the prefix and lead to the root.
			if clean := cleanPath(sub); clean != sub {
				u := *r.URL
				u.Path, u.RawPath = "/t/"+id+clean, ""
				http.Redirect(w, r, u.RequestURI(), http.StatusMovedPermanently)
				return
			}
		}
		// A shallow copy with the prefix taken off, as http.StripPrefix
		// makes (a deep Clone copied every header of every request), the
		// request and its URL in one allocation.
		c := new(strippedRequest)
		c.req, c.url = *r, *r.URL
		c.url.Path, c.url.RawPath = sub, ""
		if sub == "" {
			c.url.Path = "/" // (cmp.Or would allocate its arguments)
		}
		c.req.URL = &c.url
		tn.emu.Handler().ServeHTTP(w, &c.req)
	})
}

// cleanPath is p without "." and ".." segments and doubled slashes, a final
// slash kept, as the router (gorilla/mux) cleans a path before it redirects.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	return clean
}

// mayAutoCreate reports whether r may create its tenant (AutoCreate): not
// from a Host or Origin the emulator refuses (a page of another site), and,
// when the emulator has an admin token, only with it, as POST
// /_emulator/tenants.
func (t *Tenants) mayAutoCreate(r *http.Request) bool {
	// A change, as an admin call is: refused from where an admin call is.
	if t.root.refuseHost(r) != nil || refuseCrossSite(r) != nil {
		return false
	}
	return t.root.cfg.AdminToken == "" || bearerIs(r, t.root.admin.tokenHash)
}

// strippedRequest is a tenant's request: a copy of the one that came, with
// the tenant's prefix taken off its URL.
type strippedRequest struct {
	req http.Request
	url url.URL
}

// get returns a live tenant, or nil; an idle one past its TTL is deleted.
func (t *Tenants) get(id string) *tenant { return t.getAt(id, time.Now()) }

func (t *Tenants) getAt(id string, now time.Time) *tenant {
	t.mu.RLock()
	tn := t.byID[id]
	t.mu.RUnlock()
	if tn != nil && t.idle(tn, now) {
		t.deleteIf(id, tn)
		return nil
	}
	return tn
}

func (t *Tenants) idle(tn *tenant, now time.Time) bool {
	return now.Sub(time.Unix(0, tn.used.Load())) > t.limits.IdleTTL
}

// sweep deletes the tenants idle past their TTL.
func (t *Tenants) sweep() {
	now := time.Now()
	t.mu.Lock()
	var gone []*tenant
	for id, tn := range t.byID {
		if t.idle(tn, now) {
			t.forgetLocked(id, tn)
			gone = append(gone, tn)
		}
	}
	t.mu.Unlock()
	for _, tn := range gone {
		tn.end()
	}
}

// forgetLocked takes tn out of the tenants, counting what it served as
// changes still (changes), so that their sum never goes back.
func (t *Tenants) forgetLocked(id string, tn *tenant) {
	delete(t.byID, id)
	t.retired.Add(tn.emu.requests.Load() + 1)
}

// Create makes a tenant from spec.
func (t *Tenants) Create(spec TenantSpec) (TenantInfo, error) {
	t.sweep()
	if spec.ID == "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		spec.ID = "t" + hex.EncodeToString(b[:])
	}
	if !tenantIDPattern.MatchString(spec.ID) {
		return TenantInfo{}, vendorapi.BadRequest(fmt.Sprintf("tenant id %q: want 1 to 64 lower-case letters, digits and dashes, starting with a letter or digit", cutField(spec.ID)))
	}
	// Refused before an instance is built for nothing; checked again, under
	// the lock, when it is added.
	if err := t.room(spec.ID); err != nil {
		return TenantInfo{}, err
	}
	tn, err := t.build(spec)
	if err != nil {
		return TenantInfo{}, err
	}
	var token string
	if spec.Token {
		var b [32]byte
		_, _ = rand.Read(b[:])
		token = "tnt_" + base64.RawURLEncoding.EncodeToString(b[:])
		tn.protect(store.HashSecret(token))
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.roomLocked(spec.ID); err != nil {
		_ = tn.emu.Close()
		return TenantInfo{}, err
	}
	if t.closed {
		_ = tn.emu.Close()
		return TenantInfo{}, &vendorapi.WireError{Status: http.StatusServiceUnavailable, Reason: "shutting_down", Message: "the emulator is shutting down"}
	}
	t.byID[spec.ID] = tn
	t.version.Add(1)
	info := tn.info()
	info.Token = token
	return info, nil
}

// build makes a tenant's instance from spec.
func (t *Tenants) build(spec TenantSpec) (*tenant, error) {
	cfg := t.template
	cfg.Settings = maps.Clone(cfg.Settings)
	if len(spec.Settings) > 0 {
		if cfg.Settings == nil {
			cfg.Settings = map[string]string{}
		}
		maps.Copy(cfg.Settings, spec.Settings)
	}
	if spec.Seed != 0 {
		cfg.Seed = spec.Seed
	}
	cfg.ClockStart = spec.Clock
	if len(spec.Fixtures) > 0 {
		fx, err := ParseFixtures(spec.Fixtures)
		if err != nil {
			return nil, vendorapi.BadRequest("fixtures: " + err.Error())
		}
		cfg.Fixtures = fx
	}
	if b := t.template.MemoryBudget; b > 0 {
		n := 0
		for _, raw := range spec.Scenarios {
			n += len(raw)
		}
		if int64(n) > b/8 {
			return nil, vendorapi.BadRequest(fmt.Sprintf("scenarios: %d KB, more than an eighth of the tenant's memory budget (%d KB)", n>>10, b>>13))
		}
	}
	for i, raw := range spec.Scenarios {
		list, err := scenarios.Parse(raw)
		if err != nil {
			return nil, vendorapi.BadRequest(fmt.Sprintf("scenarios[%d]: %v", i, err))
		}
		cfg.Scenarios = append(cfg.Scenarios, list...)
	}
	emu, err := New(cfg)
	if err != nil {
		return nil, vendorapi.BadRequest("tenant: " + err.Error())
	}
	emu.tenant = true
	spec.Token = false
	tn := &tenant{id: spec.ID, emu: emu, spec: spec, created: time.Now().UTC()}
	tn.used.Store(time.Now().UnixNano())
	return tn, nil
}

// protect gives the tenant an admin token of its own, known by its SHA-256
// (before the tenant is served).
func (tn *tenant) protect(h store.SecretHash) {
	tn.protected, tn.tokenHash = true, h
	tn.emu.admin.own, tn.emu.admin.ownHash = true, h
	tn.emu.addSecretHash(h) // redacted wherever it appears, however short
}

// room refuses a tenant id that exists, or one more tenant than the limit.
func (t *Tenants) room(id string) error {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.roomLocked(id)
}

func (t *Tenants) roomLocked(id string) error {
	if _, ok := t.byID[id]; ok {
		return &vendorapi.WireError{Status: http.StatusConflict, Reason: "tenant_exists", Message: fmt.Sprintf("tenant %q exists (DELETE /_emulator/tenants/%s first)", id, id)}
	}
	if len(t.byID) >= t.limits.Max {
		return &vendorapi.WireError{Status: http.StatusConflict, Reason: "too_many_tenants", Message: fmt.Sprintf("%d tenants exist, the most this emulator allows (-max-tenants); delete one first", t.limits.Max)}
	}
	return nil
}

// ErrNoTenant is Delete's answer for a tenant that does not exist.
var ErrNoTenant = errors.New("no such tenant")

// Delete removes a tenant and everything it holds; its journal's long
// polls end at once.
func (t *Tenants) Delete(id string) error {
	if !t.deleteIf(id, nil) {
		return ErrNoTenant
	}
	return nil
}

// deleteIf deletes tenant id when it is tn (any, for nil): one found idle is
// not mistaken for another made since under the same id.
func (t *Tenants) deleteIf(id string, tn *tenant) bool {
	t.mu.Lock()
	cur, ok := t.byID[id]
	ok = ok && (tn == nil || cur == tn)
	if ok {
		t.forgetLocked(id, cur)
	}
	t.mu.Unlock()
	if ok {
		cur.end()
	}
	return ok
}

// end ends a deleted tenant: its long polls, then the instance.
func (tn *tenant) end() {
	tn.emu.EndWaits()
	_ = tn.emu.Close()
}

// List returns the tenants, by id.
func (t *Tenants) List() []TenantInfo {
	t.sweep()
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]TenantInfo, 0, len(t.byID))
	for _, tn := range t.byID {
		out = append(out, tn.info())
	}
	slices.SortFunc(out, func(a, b TenantInfo) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Tenant returns a tenant's emulator (for tests and Go users), or nil.
func (t *Tenants) Tenant(id string) *Emulator {
	if tn := t.get(id); tn != nil {
		return tn.emu
	}
	return nil
}

func (tn *tenant) info() TenantInfo {
	return TenantInfo{ID: tn.id, BaseURL: "/t/" + tn.id, CreatedAt: tn.created, LastUsed: time.Unix(0, tn.used.Load()).UTC(),
		Protected: tn.protected}
}

// EndWaits ends the journal long polls of the root and of every tenant (at
// shutdown).
func (t *Tenants) EndWaits() {
	t.root.EndWaits()
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, tn := range t.byID {
		tn.emu.EndWaits()
	}
}

// Close closes the default instance (which saves its state file, with every
// tenant, when it has one) and every tenant; its error is the last save's.
func (t *Tenants) Close() error { return t.root.Close() }

// markClosed refuses every tenant made from now (Create), before the last
// save.
func (t *Tenants) markClosed() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
}

// closeAll closes every tenant (the default instance's Close, after its
// last save).
func (t *Tenants) closeAll() {
	t.mu.Lock()
	all := t.byID
	t.byID = map[string]*tenant{}
	t.closed = true
	t.mu.Unlock()
	for _, tn := range all {
		tn.end()
	}
}

// changes counts what the tenants served, and their creations and
// deletions: the state file is saved when it moves.
func (t *Tenants) changes() int64 {
	n := t.version.Load() + t.retired.Load()
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, tn := range t.byID {
		n += tn.emu.requests.Load()
	}
	return n
}

// save copies every tenant's state, by id, for the default instance's state
// file.
func (t *Tenants) save() ([]savedTenant, error) {
	t.mu.RLock()
	all := slices.Collect(maps.Values(t.byID))
	t.mu.RUnlock()
	slices.SortFunc(all, func(a, b *tenant) int { return strings.Compare(a.id, b.id) })
	out := make([]savedTenant, 0, len(all))
	for _, tn := range all {
		var buf bytes.Buffer
		if err := tn.emu.WriteState(&buf); err != nil {
			return nil, fmt.Errorf("tenant %s: %w", tn.id, err)
		}
		st := savedTenant{ID: tn.id, Seed: tn.spec.Seed, Clock: tn.spec.Clock, Fixtures: tn.spec.Fixtures,
			Scenarios: tn.spec.Scenarios, Settings: tn.spec.Settings, CreatedAt: tn.created, State: bytes.TrimSpace(buf.Bytes())}
		if tn.protected {
			st.TokenSHA256 = tn.tokenHash.String()
		}
		out = append(out, st)
	}
	return out, nil
}

// restore replaces the tenants with those a state file holds. With
// State.Fresh, one that cannot be restored is left out (and logged);
// otherwise it fails the restore.
func (t *Tenants) restore(saved []savedTenant) error {
	if len(saved) > t.limits.Max {
		if !t.root.cfg.State.Fresh {
			return fmt.Errorf("%w: it holds %d tenants, more than -max-tenants (%d)", ErrStateMismatch, len(saved), t.limits.Max)
		}
		t.root.log.Warn("the state file holds more tenants than -max-tenants; the first are kept (-state-fresh)", "tenants", len(saved), "max", t.limits.Max)
		saved = saved[:t.limits.Max]
	}
	made := make(map[string]*tenant, len(saved))
	fail := func(err error) error {
		for _, tn := range made {
			_ = tn.emu.Close()
		}
		return err
	}
	for _, s := range saved {
		tn, err := t.restoreOne(s)
		if err == nil && made[s.ID] != nil {
			_ = tn.emu.Close()
			err = fmt.Errorf("%w: tenant %q twice", ErrStateMismatch, s.ID)
		}
		if err != nil {
			if t.root.cfg.State.Fresh {
				t.root.log.Warn("a tenant of the state file cannot be restored; it is left out (-state-fresh)", "tenant", s.ID, "err", err)
				continue
			}
			return fail(err)
		}
		made[s.ID] = tn
	}
	t.mu.Lock()
	old := t.byID
	for id, tn := range old {
		t.forgetLocked(id, tn)
	}
	t.byID = made
	t.version.Add(1)
	t.mu.Unlock()
	for _, tn := range old {
		tn.end()
	}
	return nil
}

func (t *Tenants) restoreOne(s savedTenant) (*tenant, error) {
	if !tenantIDPattern.MatchString(s.ID) {
		return nil, fmt.Errorf("%w: tenant id %q", ErrStateMismatch, cutField(s.ID))
	}
	tn, err := t.build(TenantSpec{ID: s.ID, Seed: s.Seed, Clock: s.Clock, Fixtures: s.Fixtures, Scenarios: s.Scenarios, Settings: s.Settings})
	if err != nil {
		return nil, fmt.Errorf("%w: tenant %s: %v", ErrStateMismatch, s.ID, err)
	}
	if err := tn.emu.ReadState(bytes.NewReader(s.State)); err != nil {
		_ = tn.emu.Close()
		return nil, fmt.Errorf("tenant %s: %w", s.ID, err)
	}
	if len(tn.emu.savedTenants) > 0 {
		_ = tn.emu.Close()
		return nil, fmt.Errorf("%w: tenant %s holds tenants of its own", ErrStateMismatch, s.ID)
	}
	if s.TokenSHA256 != "" {
		h, ok := store.ParseSecretHash(s.TokenSHA256)
		if !ok {
			_ = tn.emu.Close()
			return nil, fmt.Errorf("%w: tenant %s: bad token_sha256", ErrStateMismatch, s.ID)
		}
		tn.protect(h)
	}
	tn.created = s.CreatedAt
	return tn, nil
}

// ---- the admin operations (served by the default instance) ----

func (a *admin) tenantHost() (*Tenants, error) {
	t := a.e.tenants.Load()
	if t == nil {
		return nil, &vendorapi.WireError{Status: http.StatusNotFound, Reason: "not_found", Message: "this emulator manages no tenants (a tenant's own admin plane does not; the emulator at the root does)"}
	}
	return t, nil
}

func absoluteBase(r *http.Request, info TenantInfo) TenantInfo {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	info.BaseURL = scheme + "://" + r.Host + info.BaseURL
	return info
}

func (a *admin) createTenant(w http.ResponseWriter, r *http.Request, req *vendorapi.Request) error {
	t, err := a.tenantHost()
	if err != nil {
		return err
	}
	var spec TenantSpec
	if len(req.Body) > 0 {
		if err := vendorapi.RequestJSON(req, r, &spec); err != nil {
			return err
		}
	}
	info, err := t.Create(spec)
	if err != nil {
		return err
	}
	if info.Token != "" {
		w.Header().Set("Cache-Control", "no-store") // it holds a secret
	}
	vendorapi.WriteJSON(w, http.StatusCreated, absoluteBase(r, info))
	return nil
}

func (a *admin) listTenants(w http.ResponseWriter, r *http.Request, req *vendorapi.Request) error {
	t, err := a.tenantHost()
	if err != nil {
		return err
	}
	list := t.List()
	for i := range list {
		list[i] = absoluteBase(r, list[i])
	}
	vendorapi.WriteJSON(w, http.StatusOK, map[string]any{"tenants": list, "max": t.limits.Max})
	return nil
}

func (a *admin) deleteTenant(w http.ResponseWriter, r *http.Request, req *vendorapi.Request) error {
	t, err := a.tenantHost()
	if err != nil {
		return err
	}
	id := req.Param("id")
	t.mu.RLock()
	tn := t.byID[id]
	t.mu.RUnlock()
	// The emulator's admin token (checked before, by the admin plane)
	// covers every tenant; without one, a tenant with a token of its own
	// is deleted only with that token.
	if tn != nil && tn.protected && a.e.cfg.AdminToken == "" && !bearerIs(r, tn.tokenHash) {
		return tenantTokenRequired(id)
	}
	if err := t.Delete(id); errors.Is(err, ErrNoTenant) {
		return &vendorapi.WireError{Status: http.StatusNotFound, Reason: "no_such_tenant", Message: fmt.Sprintf("no tenant %q", cutField(id))}
	}
	vendorapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "deleted", "id": id})
	return nil
}

// bearerIs reports whether r carries a bearer token whose SHA-256 is h
// (compared in constant time).
func bearerIs(r *http.Request, h store.SecretHash) bool {
	c := vendorapi.ParseAuthorization(r.Header.Get("Authorization"))
	return c.Present && c.Scheme == "bearer" && store.HashSecret(c.Value).Equal(h)
}

func tenantTokenRequired(id string) error {
	return &vendorapi.WireError{Status: http.StatusUnauthorized, Reason: "tenant_token_required",
		Message: fmt.Sprintf("tenant %q has a token of its own: send Authorization: Bearer <the token its create answered> (or the admin token)", cutField(id))}
}
