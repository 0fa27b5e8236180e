package emulator

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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

	mu   sync.RWMutex
	byID map[string]*tenant
}

// TenantLimits bound the tenants.
type TenantLimits struct {
	// Max is the most tenants at once (DefaultMaxTenants when 0); one more
	// is answered 409 too_many_tenants.
	Max int
	// IdleTTL is how long a tenant may go unused before it is deleted
	// (DefaultTenantTTL when 0; on real time, as it is about memory).
	IdleTTL time.Duration
}

// The tenants' defaults.
const (
	DefaultMaxTenants = 1000
	DefaultTenantTTL  = time.Hour
)

type tenant struct {
	id      string
	emu     *Emulator
	created time.Time
	used    atomic.Int64 // unix nanoseconds of the last request, real time
}

// TenantInfo is a tenant as the admin plane lists it.
type TenantInfo struct {
	ID        string    `json:"id"`
	BaseURL   string    `json:"base_url"` // the tenant's root: its vendors and admin plane are below it
	CreatedAt time.Time `json:"created_at"`
	LastUsed  time.Time `json:"last_used"`
}

// TenantSpec is what a new tenant starts with; zero fields take the default
// instance's configuration.
type TenantSpec struct {
	ID        string            `json:"id,omitempty"`
	Seed      int64             `json:"seed,omitempty"`
	Clock     time.Time         `json:"clock,omitzero"`
	Fixtures  json.RawMessage   `json:"fixtures,omitempty"`
	Scenarios []json.RawMessage `json:"scenarios,omitempty"`
}

var tenantIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// NewTenants serves root's URLs and the tenants' below /t/{id}. A tenant
// starts from template (its state file and clock are left out: a tenant
// lives in memory).
func NewTenants(root *Emulator, template Config, limits TenantLimits) *Tenants {
	if limits.Max == 0 {
		limits.Max = DefaultMaxTenants
	}
	if limits.IdleTTL == 0 {
		limits.IdleTTL = DefaultTenantTTL
	}
	template.State = StateConfig{}
	template.Clock = nil
	template.Store = nil
	template.Scenarios = nil
	t := &Tenants{root: root, template: template, limits: limits, byID: map[string]*tenant{}}
	root.tenants = t
	return t
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
		id, sub, _ := strings.Cut(rest, "/")
		tn := t.get(id)
		if tn == nil {
			t.root.admin.WriteError(w, r, &vendorapi.Request{}, &vendorapi.WireError{Status: http.StatusNotFound, Reason: "no_such_tenant",
				Message: fmt.Sprintf("no tenant %q here (POST /_emulator/tenants creates one)", cutField(id))})
			return
		}
		tn.used.Store(time.Now().UnixNano())
		// A shallow copy with the prefix taken off, as http.StripPrefix
		// makes: a deep Clone copied every header of every request.
		r2 := new(http.Request)
		*r2 = *r
		u := *r.URL
		u.Path, u.RawPath = "/"+sub, ""
		r2.URL = &u
		tn.emu.Handler().ServeHTTP(w, r2)
	})
}

// get returns a live tenant, or nil; an idle one past its TTL is deleted.
func (t *Tenants) get(id string) *tenant {
	t.mu.RLock()
	tn := t.byID[id]
	t.mu.RUnlock()
	if tn != nil && t.idle(tn, time.Now()) {
		_ = t.Delete(id)
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
			delete(t.byID, id)
			gone = append(gone, tn)
		}
	}
	t.mu.Unlock()
	for _, tn := range gone {
		_ = tn.emu.Close()
	}
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
	cfg := t.template
	cfg.Settings = maps.Clone(cfg.Settings)
	if spec.Seed != 0 {
		cfg.Seed = spec.Seed
	}
	cfg.ClockStart = spec.Clock
	if len(spec.Fixtures) > 0 {
		fx, err := ParseFixtures(spec.Fixtures)
		if err != nil {
			return TenantInfo{}, vendorapi.BadRequest("fixtures: " + err.Error())
		}
		cfg.Fixtures = fx
	}
	for i, raw := range spec.Scenarios {
		list, err := scenarios.Parse(raw)
		if err != nil {
			return TenantInfo{}, vendorapi.BadRequest(fmt.Sprintf("scenarios[%d]: %v", i, err))
		}
		cfg.Scenarios = append(cfg.Scenarios, list...)
	}
	emu, err := New(cfg)
	if err != nil {
		return TenantInfo{}, vendorapi.BadRequest("tenant: " + err.Error())
	}
	tn := &tenant{id: spec.ID, emu: emu, created: time.Now().UTC()}
	tn.used.Store(time.Now().UnixNano())
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.roomLocked(spec.ID); err != nil {
		_ = emu.Close()
		return TenantInfo{}, err
	}
	t.byID[spec.ID] = tn
	return tn.info(), nil
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

// Delete removes a tenant and everything it holds.
func (t *Tenants) Delete(id string) error {
	t.mu.Lock()
	tn, ok := t.byID[id]
	delete(t.byID, id)
	t.mu.Unlock()
	if !ok {
		return ErrNoTenant
	}
	return tn.emu.Close()
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
	return TenantInfo{ID: tn.id, BaseURL: "/t/" + tn.id, CreatedAt: tn.created, LastUsed: time.Unix(0, tn.used.Load()).UTC()}
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

// Close closes every tenant.
func (t *Tenants) Close() {
	t.mu.Lock()
	all := t.byID
	t.byID = map[string]*tenant{}
	t.mu.Unlock()
	for _, tn := range all {
		_ = tn.emu.Close()
	}
}

// ---- the admin operations (served by the default instance) ----

func (a *admin) tenantHost() (*Tenants, error) {
	if a.e.tenants == nil {
		return nil, &vendorapi.WireError{Status: http.StatusNotFound, Reason: "not_found", Message: "this emulator manages no tenants (a tenant's own admin plane does not; the emulator at the root does)"}
	}
	return a.e.tenants, nil
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
	if err := t.Delete(id); errors.Is(err, ErrNoTenant) {
		return &vendorapi.WireError{Status: http.StatusNotFound, Reason: "no_such_tenant", Message: fmt.Sprintf("no tenant %q", cutField(id))}
	}
	vendorapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "deleted", "id": id})
	return nil
}
