package emulator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/gorilla/mux"

	"github.com/tokenemu/tokenemu/emulator/store"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
	"github.com/tokenemu/tokenemu/emulator/vendors"
	"github.com/tokenemu/tokenemu/scenarios"
)

// Emulator is one emulated world: its clock, its tokens and its HTTP surface.
type Emulator struct {
	cfg         Config
	clock       *Clock
	store       *sweeping // Config.Store
	log         *slog.Logger
	vendors     []vendorapi.Vendor // the vendors of Config.Vendors, in order
	setups      []vendorSetup      // and what each was built from
	admin       *admin             // the admin plane, served like a vendor
	journal     *journal
	scenarios   *scenarios.Engine
	ops         map[string]*operation          // "vendor.operationId"
	documents   map[string]*vendorapi.Document // by vendor name, and the admin plane's
	prefixes    []prefixed                     // each vendor's (and the admin plane's) path prefix, for errors outside an operation
	adminPrefix string                         // the admin plane's path prefix
	tenants     atomic.Pointer[Tenants]        // the tenants it manages (NewTenants), or nil; its save loop may run before
	secretsMu   sync.Mutex
	added       []store.SecretHash                            // the secrets added since start, oldest first (addSecretHash)
	secrets     atomic.Pointer[map[store.SecretHash]struct{}] // the fixtures' secrets, the admin token and secrets set since, for redaction
	staticOps   map[string]map[string]*operation              // path without parameters → method → operation
	handler     http.Handler
	internal    atomic.Int64 // requests answered 500 by a bug (see InternalErrors)

	// Durable state (state.go). stateMu is held for reading by every handler
	// (but the journal's long poll) and for writing by a snapshot or a
	// restore, so that neither sees a request half-handled.
	stateMu     sync.RWMutex
	saveMu      sync.Mutex   // one save at a time
	requests    atomic.Int64 // requests served (journaled), the change counter for saves
	saved       atomic.Int64 // requests when last saved
	stopSave    chan struct{}
	saveDone    chan struct{}
	stateFile   string   // State.File with its symlinks resolved
	stateLock   *os.File // held for the emulator's life (statefile_lock_*.go)
	statusMu    sync.Mutex
	stateStatus StateStatus
	closeOnce   sync.Once
	closeErr    error

	// savedTenants are the tenants its state file held, until NewTenants
	// makes them.
	savedTenants []savedTenant
	tenant       bool        // it is a tenant (of the emulator at the root)
	unsaveable   atomic.Bool // its state file's tenants could not be made: the file is not written
}

// New builds an Emulator from cfg (the zero Config is a working default).
func New(cfg Config) (*Emulator, error) {
	cfg, setups, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	e := &Emulator{cfg: cfg, clock: cfg.Clock, log: cfg.Logger, journal: newJournal(cfg.JournalSize, cfg.JournalBytes, cfg.JournalWaiters)}
	e.setups = setups
	if !cfg.ClockStart.IsZero() {
		_, _ = e.clock.Set(cfg.ClockStart) // in range: normalize checked it
	}
	e.store = &sweeping{Store: cfg.Store, e: e}
	e.admin = newAdmin(e)
	none := map[store.SecretHash]struct{}{}
	e.secrets.Store(&none)
	if err := e.newVendors(); err != nil {
		return nil, err
	}
	secrets := e.knownSecrets()
	maps.Copy(secrets, *e.secrets.Load()) // any a vendor set while it was built
	e.secrets.Store(&secrets)
	if err := e.resetVendors(); err != nil {
		return nil, err
	}
	if err := e.buildRouter(context.Background()); err != nil {
		return nil, err
	}
	if err := e.applyStartScenarios(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if cfg.State.File != "" {
		if err := e.prepareStateFile(); err != nil {
			return nil, err
		}
		e.stateStatus.File = e.stateFile
		if err := e.loadStateFile(); err != nil {
			if !cfg.State.Fresh {
				e.releaseStateFile()
				return nil, err
			}
			e.log.Warn("starting with fresh state; the state file will be overwritten at the next save", "err", err)
			// A restore changes the clock last, so a failed one has not: only
			// the tokens, vendors and scenarios go back to fresh.
			if err := e.store.Reset(context.Background()); err != nil {
				e.releaseStateFile()
				return nil, err
			}
			if err := e.resetVendors(); err != nil {
				e.releaseStateFile()
				return nil, err
			}
			if err := e.applyStartScenarios(); err != nil {
				e.releaseStateFile()
				return nil, fmt.Errorf("config: %w", err)
			}
		}
		e.stopSave, e.saveDone = make(chan struct{}), make(chan struct{})
		go e.saveLoop(e.stopSave, e.saveDone)
	}
	return e, nil
}

// sweepPerIssue is how many tokens the store looks at for sweeping after
// each token put: more than one, so that the sweep outruns the issuing and a
// store whose tokens keep expiring stays the same size.
const sweepPerIssue = 4

// sweeping is the store an emulator works with: Config.Store, with each Put
// followed by a sweep of a few tokens (those revoked or expired more than
// Retention ago, on the virtual clock), and each failure of the store itself
// made a 503 that the vendor renders (storeFailure). A restore switches the
// sweep off while it puts old tokens back, before it sets the clock.
type sweeping struct {
	store.Store
	e   *Emulator
	off atomic.Bool
}

func (s *sweeping) Put(ctx context.Context, t store.Token) error {
	if err := s.room(ctx); err != nil {
		return err
	}
	if err := s.Store.Put(ctx, t); err != nil {
		return s.fail(err)
	}
	if !s.off.Load() {
		// The token is stored: a sweep that fails now is not the issue's
		// failure, and the next one goes on.
		_, _ = s.Store.Sweep(ctx, s.e.sweepHorizon(), sweepPerIssue)
	}
	return nil
}

// room refuses a token past Config.MaxTokens, when a sweep of the whole
// store frees no room for it.
func (s *sweeping) room(ctx context.Context) error {
	limit := s.e.cfg.MaxTokens
	if limit == 0 || s.off.Load() {
		return nil
	}
	full := func() (bool, error) {
		st, err := s.Store.Stats(ctx)
		return err == nil && st.Tokens >= limit, s.fail(err)
	}
	if f, err := full(); err != nil || !f {
		return err
	}
	if _, err := s.Store.Sweep(ctx, s.e.sweepHorizon(), 0); err != nil {
		return s.fail(err)
	}
	if f, err := full(); err != nil || !f {
		return err
	}
	return &vendorapi.WireError{Status: http.StatusTooManyRequests, Reason: "token_budget",
		Message: fmt.Sprintf("this emulator holds %d tokens, the most its memory budget allows (-tenant-memory for a tenant): revoke or expire some and let -retention sweep them, or reset", limit)}
}

func (s *sweeping) ByHash(ctx context.Context, h store.SecretHash) (store.Token, error) {
	t, err := s.Store.ByHash(ctx, h)
	return t, s.fail(err)
}

func (s *sweeping) ByID(ctx context.Context, vendor, id string) (store.Token, error) {
	t, err := s.Store.ByID(ctx, vendor, id)
	return t, s.fail(err)
}

func (s *sweeping) List(ctx context.Context, q store.Query) (store.Page, error) {
	p, err := s.Store.List(ctx, q)
	return p, s.fail(err)
}

func (s *sweeping) Revoke(ctx context.Context, vendor, id string, at time.Time, reason string) (store.Token, error) {
	t, err := s.Store.Revoke(ctx, vendor, id, at, reason)
	return t, s.fail(err)
}

func (s *sweeping) Expire(ctx context.Context, vendor, id string, at time.Time) (store.Token, error) {
	t, err := s.Store.Expire(ctx, vendor, id, at)
	return t, s.fail(err)
}

func (s *sweeping) RevokeFamily(ctx context.Context, vendor, family string, at time.Time, reason string) ([]store.Token, error) {
	ts, err := s.Store.RevokeFamily(ctx, vendor, family, at, reason)
	return ts, s.fail(err)
}

func (s *sweeping) Sweep(ctx context.Context, before time.Time, budget int) (int, error) {
	n, err := s.Store.Sweep(ctx, before, budget)
	return n, s.fail(err)
}

func (s *sweeping) Stats(ctx context.Context) (store.Stats, error) {
	st, err := s.Store.Stats(ctx)
	return st, s.fail(err)
}

func (s *sweeping) Reset(ctx context.Context) error { return s.fail(s.Store.Reset(ctx)) }

// isStoreFailure reports whether err is a failure of the store itself.
func isStoreFailure(err error) bool {
	we, ok := vendorapi.AsWire(err)
	return ok && we.Reason == "store_unavailable"
}

// fail leaves the store's own answers (ErrNotFound, ErrExists, ErrRevoked)
// as they are and makes any other error, a failure of the store itself, a
// 503 store_unavailable, logged with its cause. The client's message says
// no more: a network store's error may name its address.
func (s *sweeping) fail(err error) error {
	if !store.IsFailure(err) {
		return err
	}
	if _, ok := vendorapi.AsWire(err); ok {
		return err
	}
	s.e.log.Warn("the token store failed", "err", err)
	return &vendorapi.WireError{Status: http.StatusServiceUnavailable, Reason: "store_unavailable",
		Message: "the token store is unavailable; try again", Cause: err}
}

// sweepHorizon is the time before which a revoked or expired token may go.
func (e *Emulator) sweepHorizon() time.Time { return e.clock.Now().Add(-e.cfg.Retention) }

// sweepAll sweeps the whole store at once: a move of the clock through the
// admin plane may make many tokens sweepable, and an idle store is swept
// by no issue.
func (e *Emulator) sweepAll(ctx context.Context) error {
	_, err := e.store.Sweep(ctx, e.sweepHorizon(), 0)
	return err
}

// Handler returns the emulator's HTTP handler: every vendor under its prefix and
// the admin plane under /_emulator.
func (e *Emulator) Handler() http.Handler { return e.handler }

// Clock returns the emulator's virtual clock.
func (e *Emulator) Clock() *Clock { return e.clock }

// Fixtures returns a vendor's fixtures in effect (its package's Fixtures
// type: the defaults, or Config.Fixtures's for it), nil for a vendor the
// emulator does not serve.
func (e *Emulator) Fixtures(vendor string) any {
	for _, s := range e.setups {
		if s.def.Name == vendor {
			return s.fixtures
		}
	}
	return nil
}

// Vendor returns the named vendor of this emulator, for calls its package
// offers on it (brass.OTP, for one).
func (e *Emulator) Vendor(name string) (vendorapi.Vendor, bool) {
	for _, v := range e.vendors {
		if v.Name() == name {
			return v, true
		}
	}
	return nil, false
}

// VendorNames lists the vendors this emulator serves, in order.
func (e *Emulator) VendorNames() []string { return e.cfg.vendorNames() }

// unexpected reports an error no request should meet (a bug): it is
// logged and counted (InternalErrors).
func (e *Emulator) unexpected(vendor string) func(error) {
	return func(err error) {
		e.internal.Add(1)
		e.log.Error("unexpected error", "vendor", vendor, "err", err)
	}
}

// newVendors builds each vendor of Config.Vendors for this emulator.
func (e *Emulator) newVendors() error {
	for _, s := range e.setups {
		v, err := s.def.New(vendorapi.Env{
			Clock: e.clock, Store: e.store, Seed: e.cfg.Seed, Log: e.log.With("vendor", s.def.Name),
			Config: s.config, Fixtures: s.fixtures,
			Unexpected: e.unexpected(s.def.Name),
			Redact:     e.addSecret, RedactHash: e.addSecretHash, Retire: e.retireSecret,
			Budget: e.cfg.vendorBudget(),
		})
		if err != nil {
			return fmt.Errorf("%s: %w", s.def.Name, err)
		}
		if v.Name() != s.def.Name {
			return fmt.Errorf("vendor %q calls itself %q", s.def.Name, v.Name())
		}
		e.vendors = append(e.vendors, v)
	}
	return nil
}

// Store returns the emulator's token store.
func (e *Emulator) Store() store.Store { return e.store.Store }

// Close releases the emulator's resources and, when it keeps a state file,
// stops the periodic saves and saves one last time. It is safe to call more
// than once; later calls return the first one's error.
func (e *Emulator) Close() error {
	e.closeOnce.Do(func() {
		if t := e.tenants.Load(); t != nil {
			t.markClosed() // none made after the last save
		}
		if e.stopSave != nil {
			close(e.stopSave)
			<-e.saveDone
			_, e.closeErr = e.SaveState()
			e.releaseStateFile()
		}
		if t := e.tenants.Load(); t != nil {
			t.closeAll()
		}
	})
	return e.closeErr
}

// releaseStateFile lets another process take the state file.
func (e *Emulator) releaseStateFile() {
	if e.stateLock != nil {
		_ = e.stateLock.Close() // closing the file drops its lock
		e.stateLock = nil
	}
}

// resetClock puts the clock back to Config.ClockStart (checked by New), or
// to real now, running.
func (e *Emulator) resetClock() {
	e.clock.Reset()
	if !e.cfg.ClockStart.IsZero() {
		_, _ = e.clock.Set(e.cfg.ClockStart)
	}
}

// Reset forgets every token, reloads the fixtures, puts the clock back to
// Config.ClockStart (or real now), running, empties the journal and puts back the scenarios of Config.Scenarios
// (with fresh counters) in place of any others.
func (e *Emulator) Reset() error {
	if err := e.store.Reset(context.Background()); err != nil {
		return err
	}
	e.resetClock()
	e.journal.clear()
	if err := e.resetVendors(); err != nil {
		return err
	}
	return e.applyStartScenarios()
}

func (e *Emulator) resetVendors() error {
	for _, v := range e.vendors {
		if err := v.Reset(); err != nil {
			return fmt.Errorf("reset %s: %w", v.Name(), err)
		}
	}
	return nil
}

// unlockedExtension marks, in a document, an operation that does not hold
// the state lock while it runs: a long poll, which must not hold up a
// snapshot for minutes, or a save, which takes the lock itself.
const unlockedExtension = "x-tokenemu-unlocked"

// unjournaledExtension marks, in a document, an operation the journal does
// not record: one polled or read so often that it would flood it.
const unjournaledExtension = "x-tokenemu-unjournaled"

// vendorExtension marks, in the admin document, an operation of one
// vendor's (a vendorapi.AdminOperator's): it is that vendor's to handle, and
// a 404 when the emulator does not serve the vendor.
const vendorExtension = "x-tokenemu-vendor"

// notServed answers an admin operation of a vendor the emulator does not serve.
func notServed(vendor string) vendorapi.Handler {
	return func(w http.ResponseWriter, r *http.Request, req *vendorapi.Request) error {
		return &vendorapi.WireError{Status: http.StatusNotFound, Reason: "not_found",
			Message: fmt.Sprintf("this emulator does not serve %s", vendor)}
	}
}

// operation is one OpenAPI operation bound to its handler.
type operation struct {
	vendor vendorapi.Vendor // or the admin plane
	id     string
	route  *routers.Route // its Operation has no security: see authenticate
	// paths are the path parameters checked before kin-openapi, made at
	// the operation's first request in the process (see fastPaths).
	paths    *fastPaths
	security openapi3.SecurityRequirements
	checks   [][]securityCheck // security, with each requirement's names sorted
	handle   vendorapi.Handler
	locks    bool // holds the state lock for reading while it runs
	// unjournaled: the journal does not record it (x-tokenemu-unjournaled).
	unjournaled bool
	// paramSegments are the indexes, in the request path split at "/", of
	// the segments that hold path parameters (the journal redacts them).
	paramSegments []int
	admin         bool // an operation of the admin plane
}

type securityCheck struct {
	name   string
	scopes []string
}

// authenticate checks the operation's security requirements as kin-openapi
// does (the first requirement whose every scheme accepts the request wins,
// else every requirement's error) and with the same error, but without
// copying the request body once for each scheme, which kin-openapi does in
// case an authentication function reads it. The vendors here do not.
func (op *operation) authenticate(r *http.Request, rc *reqCtx) error {
	if len(op.checks) == 0 {
		return nil
	}
	var errs []error
	for _, req := range op.checks {
		err := error(nil)
		for _, c := range req {
			if err = op.vendor.Authenticate(r, &rc.Request, c.name, c.scopes); err != nil {
				break
			}
		}
		if err == nil {
			return nil
		}
		errs = append(errs, err)
	}
	return &openapi3filter.SecurityRequirementsError{SecurityRequirements: op.security, Errors: errs}
}

// securityChecks resolves an operation's security requirements (its own, or
// else the document's) against the document's security schemes.
func securityChecks(doc *openapi3.T, op *openapi3.Operation) (openapi3.SecurityRequirements, [][]securityCheck, error) {
	security := doc.Security
	if op.Security != nil {
		security = *op.Security
	}
	checks := make([][]securityCheck, 0, len(security))
	for _, req := range security {
		names := slices.Sorted(maps.Keys(req))
		cs := make([]securityCheck, 0, len(names))
		for _, name := range names {
			if doc.Components == nil || doc.Components.SecuritySchemes[name] == nil {
				return nil, nil, fmt.Errorf("operation %q: security scheme %q is not declared", op.OperationID, name)
			}
			cs = append(cs, securityCheck{name: name, scopes: req[name]})
		}
		checks = append(checks, cs)
	}
	return security, checks, nil
}

// reqCtx carries per-request state through the middleware: what the vendor
// sees of it (Request) and what the core keeps to itself.
type reqCtx struct {
	vendorapi.Request
	op       *operation
	scenario string // the scenario whose rule acted on this request, if any
	rule     *int   // that rule's index
	dropped  bool   // a scenario dropped the connection (or the client left during its delay)
}

// newReqCtx starts the context of a request to op (nil: none matched).
func newReqCtx(op *operation) *reqCtx {
	rc := &reqCtx{op: op}
	if op != nil {
		rc.Operation = op.id
	}
	return rc
}

func (e *Emulator) buildRouter(ctx context.Context) error {
	root := mux.NewRouter()
	var under []string // the vendors' prefixes, for the answer to a path under none

	e.ops = make(map[string]*operation)
	e.documents = make(map[string]*vendorapi.Document)
	e.staticOps = make(map[string]map[string]*operation)
	static := map[string]http.Handler{} // full paths without parameters
	var templates []template            // full paths with parameters, in matching order
	for _, s := range append([]vendorapi.Vendor{e.admin}, e.vendors...) {
		isAdmin := s == vendorapi.Vendor(e.admin)
		d, err := s.Document()
		if err != nil {
			return err
		}
		doc := d.T
		if _, taken := e.documents[s.Name()]; taken {
			return fmt.Errorf("two vendors are named %q", s.Name())
		}
		e.documents[s.Name()] = d
		if len(doc.Servers) != 1 || !strings.HasPrefix(doc.Servers[0].URL, "/") {
			return fmt.Errorf("openapi document %q: want exactly one relative server URL", s.Name())
		}
		prefix := doc.Servers[0].URL
		for _, p := range e.prefixes {
			if strings.HasPrefix(prefix+"/", p.prefix+"/") || strings.HasPrefix(p.prefix+"/", prefix+"/") {
				return fmt.Errorf("openapi document %q: its server URL %s overlaps %s's %s", s.Name(), prefix, p.vendor.Name(), p.prefix)
			}
		}
		e.prefixes = append(e.prefixes, prefixed{prefix: prefix, vendor: s})
		if isAdmin {
			e.adminPrefix = prefix
		} else {
			under = append(under, prefix)
		}
		sub := root.PathPrefix(prefix).Subrouter()
		sc := s
		sub.NotFoundHandler = e.recorded(sc.Name(), func(w http.ResponseWriter, r *http.Request) {
			sc.WriteError(w, r, &vendorapi.Request{}, &vendorapi.WireError{Status: http.StatusNotFound, Reason: "route_not_found",
				Message: fmt.Sprintf("no route for %s %s", r.Method, e.journalPath(r, nil))}) // secrets in the path redacted
		})
		sub.MethodNotAllowedHandler = e.recorded(sc.Name(), func(w http.ResponseWriter, r *http.Request) {
			sc.WriteError(w, r, &vendorapi.Request{}, &vendorapi.WireError{Status: http.StatusMethodNotAllowed, Reason: "method_not_allowed",
				Message: fmt.Sprintf("method %s not allowed on %s", r.Method, e.journalPath(r, nil))})
		})

		handlers := s.Handlers()
		bound := make(map[string]bool, len(handlers))
		plan := routesOf(d)
		if plan.err != nil {
			return fmt.Errorf("openapi document %q: %w", s.Name(), plan.err)
		}
		for _, pp := range plan.paths {
			byMethod := make(map[string]http.Handler, len(pp.ops)+1)
			for _, op := range pp.ops {
				h, ok := handlers[op.id]
				if !ok && op.vendor != "" && isAdmin && !slices.Contains(e.VendorNames(), op.vendor) {
					// A vendor's admin operation, and the vendor is not served.
					h, ok = notServed(op.vendor), true
				}
				if !ok {
					return fmt.Errorf("openapi document %q: operation %q (%s %s) has no handler", s.Name(), op.id, op.method, pp.path)
				}
				bound[op.id] = true
				o := &operation{
					vendor:        s,
					id:            op.id,
					route:         op.route,
					paths:         op.paths,
					security:      op.security,
					checks:        op.checks,
					handle:        h,
					admin:         isAdmin,
					paramSegments: pp.paramSegments,
					locks:         op.locks,
					unjournaled:   op.unjournaled,
				}
				e.ops[s.Name()+"."+op.id] = o
				if pp.static {
					if e.staticOps[prefix+pp.path] == nil {
						e.staticOps[prefix+pp.path] = map[string]*operation{}
					}
					e.staticOps[prefix+pp.path][op.method] = o
				}
				byMethod[op.method] = e.serveOperation(o)
			}
			// One mux route per path, dispatching on the method here: gorilla/mux
			// loses a method mismatch when a later route's path does not match,
			// answering 404 where 405 is right.
			// Paths without parameters are served from the map below and
			// never reach mux: leaving them out of it spares a regular
			// expression each at start (a third of building the router).
			h := methodSwitch(byMethod, pp.allow, sub.MethodNotAllowedHandler)
			switch {
			case pp.static:
				static[prefix+pp.path] = h
			case pp.segs != nil:
				templates = append(templates, template{segs: pp.segs, h: h})
			default:
				sub.Handle(pp.path, h)
			}
		}
		for id := range handlers {
			if !bound[id] {
				return fmt.Errorf("openapi document %q: handler %q has no operation", s.Name(), id)
			}
		}
	}
	root.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeAdminError(w, http.StatusNotFound, "not_found",
			fmt.Sprintf("no route for %s %s; vendors are under %s", r.Method, e.journalPath(r, nil), strings.Join(under, ", ")))
	})
	root.MethodNotAllowedHandler = root.NotFoundHandler
	// Most vendor paths have no parameter: they are served from a map, which
	// spares them gorilla/mux's regular expressions and two request copies.
	// Everything else (parameters, unknown paths, paths to clean) goes to mux.
	e.handler = e.guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, ok := static[r.URL.Path]; ok {
			h.ServeHTTP(w, r)
			return
		}
		// A path mux would clean (a "." or ".." segment, a "//") fits no
		// template (match refuses them) and goes to mux, which redirects it.
		for i := range templates {
			rec := recorderOf(w)
			if params, ok := templates[i].match(r.URL.Path, rec.paramBuf[:0]); ok {
				rec.params = params
				templates[i].h.ServeHTTP(w, r)
				return
			}
		}
		root.ServeHTTP(w, r)
	}))
	cat, err := ScenarioCatalog(e.cfg.Vendors)
	if err != nil {
		return err
	}
	e.scenarios, err = scenarios.NewEngine(cat, e.cfg.Seed)
	return err
}

// ScenarioCatalog is what scenarios are validated against: the given
// vendors (nil: vendors.All()), their documents, kinds of token and refresh
// calls.
func ScenarioCatalog(defs []vendorapi.Definition) (*scenarios.Catalog, error) {
	if defs == nil {
		defs = vendors.All()
	}
	list := make([]scenarios.CatalogVendor, 0, len(defs))
	for _, d := range defs {
		if d.Document == nil {
			return nil, fmt.Errorf("vendor %q: its Definition has no Document", d.Name)
		}
		doc, err := d.Document()
		if err != nil {
			return nil, err
		}
		kinds := make([]string, len(d.Kinds))
		for i, k := range d.Kinds {
			kinds[i] = string(k)
		}
		list = append(list, scenarios.CatalogVendor{Name: d.Name, Doc: doc.T, Kinds: kinds, RefreshOperation: d.RefreshOperation})
	}
	return scenarios.NewCatalog(list)
}

// template is a path template with parameters, matched segment by
// segment without a regular expression: gorilla/mux compiled one per
// template (most of an emulator's cost to build) and tried them in turn on
// every request, which made a parameterized route cost twice a static one.
type template struct {
	segs []segment
	h    http.Handler
}

// segment is one segment of a template: literal text, or a parameter with
// literal text before and after it ("{name}.yaml").
type segment struct {
	lit, param, pre, suf string
}

// parseTemplate splits a template into segments; it declines (false) a
// segment with more than one parameter, which mux then serves.
func parseTemplate(path string) ([]segment, bool) {
	parts := strings.Split(path, "/")
	segs := make([]segment, len(parts))
	for i, p := range parts {
		open := strings.IndexByte(p, '{')
		if open < 0 {
			segs[i] = segment{lit: p}
			continue
		}
		end := strings.IndexByte(p, '}')
		if end < open || strings.ContainsAny(p[end+1:], "{}") || strings.Contains(p[open+1:end], ":") {
			return nil, false
		}
		segs[i] = segment{param: p[open+1 : end], pre: p[:open], suf: p[end+1:]}
	}
	return segs, true
}

// match appends the template's parameters in path to vars, and reports
// whether path fits it. A parameter matches one non-empty segment, as in mux.
func (t *template) match(path string, vars vendorapi.Params) (vendorapi.Params, bool) {
	if strings.Count(path, "/")+1 != len(t.segs) {
		return nil, false
	}
	vars = vars[:0]
	rest := path
	for i := range t.segs {
		seg := rest
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			seg, rest = rest[:j], rest[j+1:]
		}
		s := &t.segs[i]
		if s.param == "" {
			if seg != s.lit {
				return nil, false
			}
			continue
		}
		if len(seg) <= len(s.pre)+len(s.suf) || !strings.HasPrefix(seg, s.pre) || !strings.HasSuffix(seg, s.suf) ||
			seg == "." || seg == ".." { // a segment mux cleans away: never a parameter
			return nil, false
		}
		vars = append(vars, vendorapi.Param{Name: s.param, Value: seg[len(s.pre) : len(seg)-len(s.suf)]})
	}
	return vars, true
}

// recorded wraps a handler that matched no operation so that it is journaled too.
func (e *Emulator) recorded(vendor string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		w := recorderOf(rw)
		defer e.record(r, vendor, nil, w, start)
		h(w, r)
	})
}

// methodSwitch serves each method with its operation and answers any other
// method with notAllowed, after setting Allow.
func methodSwitch(byMethod map[string]http.Handler, allow string, notAllowed http.Handler) http.Handler {
	if get, ok := byMethod[http.MethodGet]; ok && byMethod[http.MethodHead] == nil {
		// HEAD wherever GET, as net/http's FileServer and ServeMux do: the
		// same answer, whose body net/http leaves out (allowOf lists it).
		byMethod[http.MethodHead] = get
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, ok := byMethod[r.Method]; ok {
			h.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Allow", allow)
		notAllowed.ServeHTTP(w, r)
	})
}

// allowOf is the Allow header of a path with these methods: HEAD wherever
// GET (methodSwitch), sorted.
func allowOf(methods []string) string {
	all := slices.Clone(methods)
	if slices.Contains(all, http.MethodGet) && !slices.Contains(all, http.MethodHead) {
		all = append(all, http.MethodHead)
	}
	sort.Strings(all)
	return strings.Join(all, ", ")
}

// routes is what an emulator's router is built from, derived from one
// document and shared by every emulator that serves it (Document.Memo): an
// instance then only binds its handlers (an instance is cheap: a tenant is
// one).
type routes struct {
	paths []pathRoute // in matching order
	err   error
}

type pathRoute struct {
	path          string // as the document has it, below the server URL
	static        bool   // no parameters
	segs          []segment
	allow         string
	paramSegments []int
	ops           []opRoute
}

type opRoute struct {
	method, id  string
	vendor      string         // x-tokenemu-vendor: a vendor's admin operation
	route       *routers.Route // its Operation has no security: see authenticate
	paths       *fastPaths
	security    openapi3.SecurityRequirements
	checks      [][]securityCheck
	locks       bool
	unjournaled bool
}

type routesKey struct{}

// routesOf returns d's routes, made at the first call.
func routesOf(d *vendorapi.Document) *routes {
	return d.Memo(routesKey{}, func() any { return buildRoutes(d.T) }).(*routes)
}

func buildRoutes(doc *openapi3.T) *routes {
	rs := &routes{}
	prefix := doc.Servers[0].URL // checked by buildRouter first
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		ops := item.Operations()
		pr := pathRoute{path: path, static: !strings.Contains(path, "{"), paramSegments: paramSegments(prefix + path)}
		if !pr.static {
			if segs, ok := parseTemplate(prefix + path); ok {
				pr.segs = segs
			}
		}
		methods := slices.Sorted(maps.Keys(ops))
		for _, method := range methods {
			op := ops[method]
			security, checks, err := securityChecks(doc, op)
			if err != nil {
				rs.err = err
				return rs
			}
			// kin-openapi validates everything but the security, which
			// serveOperation checks first (see operation.authenticate).
			unsecured := *op
			unsecured.Security = &openapi3.SecurityRequirements{}
			v, _ := op.Extensions[vendorExtension].(string)
			pr.ops = append(pr.ops, opRoute{
				method: method, id: op.OperationID, vendor: v,
				route: &routers.Route{
					Spec: doc, Server: doc.Servers[0], Path: path,
					PathItem: item, Method: method, Operation: &unsecured,
				},
				paths:    &fastPaths{},
				security: security, checks: checks,
				// An operation that must not hold up a snapshot (a long
				// poll) or takes the lock itself (a save) says so in its
				// document.
				locks:       op.Extensions[unlockedExtension] != true,
				unjournaled: op.Extensions[unjournaledExtension] == true,
			})
		}
		pr.allow = allowOf(methods)
		rs.paths = append(rs.paths, pr)
	}
	return rs
}

// serveOperation is the middleware every operation runs through: body limit,
// scenarios, the operation's security requirements (authenticated by the
// scheme), the rest of the OpenAPI request validation, then the handler. Every
// error goes to the scheme's writer.
func (e *Emulator) serveOperation(op *operation) http.Handler {
	opts := &openapi3filter.Options{}
	vendor := op.vendor.Name()
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		w := recorderOf(rw)
		rc := newReqCtx(op)
		req := &rc.Request
		if req.Params = w.params; req.Params == nil {
			req.Params = vendorapi.ParamsOf(mux.Vars(r)) // a path mux routed
		}
		defer e.record(r, vendor, rc, w, start)
		fail := func(err error) { op.vendor.WriteError(w, r, req, err) }
		if err := e.limitBody(w, r, req); err != nil {
			fail(err)
			return
		}
		if err := checkCredentialHeaders(r); err != nil {
			fail(err)
			return
		}
		if p, ok := op.vendor.(vendorapi.Preparer); ok {
			if err := p.Prepare(r, req); err != nil {
				fail(err)
				return
			}
		}
		if !op.admin && e.runScenarios(w, r, rc, op.vendor) {
			return
		}
		if op.locks {
			e.stateMu.RLock()
			defer e.stateMu.RUnlock()
		}
		if err := op.authenticate(r, rc); err != nil {
			fail(err)
			e.noteRefusedPrincipal(r, rc, op)
			return
		}
		if op.admin {
			if err := changeNeedsJSON(r); err != nil {
				fail(err)
				return
			}
		}
		if a, ok := op.vendor.(vendorapi.Admitter); ok {
			if err := a.Admit(w, r, req); err != nil {
				fail(err)
				return
			}
		}
		// The body is judged after the request is authenticated and
		// admitted, so that a vendor's per-user accounting (Brass's rate
		// limit and idempotency keys) counts a request with a bad body too.
		if err := checkBodyEncoding(r, rc.Body); err != nil {
			fail(err)
			return
		}
		in := &openapi3filter.RequestValidationInput{Request: r, Route: op.route, Options: opts}
		if fp := op.paths.get(op.route); fp.rest != nil && checkPathParams(fp.checks, req.Params) {
			in.Route = fp.rest
			if fp.restParams {
				in.PathParams = req.Params.Map()
			}
		} else {
			in.PathParams = req.Params.Map()
		}
		if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
			fail(err)
			return
		}
		if err := op.handle(w, r, req); err != nil {
			fail(err)
		}
	})
}

// noteRefusedPrincipal puts, for the journal, the principal of a token the
// vendor refused (expired, revoked, out of scope) on the request, so that a
// refused request can be found by who made it. It runs after the answer is
// written, which it therefore cannot change.
func (e *Emulator) noteRefusedPrincipal(r *http.Request, rc *reqCtx, op *operation) {
	if rc.Principal != nil || op.admin {
		return
	}
	v := presentedToken(op.vendor, r, &rc.Request)
	if v == "" {
		return
	}
	if t, err := e.store.ByHash(context.WithoutCancel(r.Context()), store.HashSecret(v)); err == nil && t.Vendor == op.vendor.Name() {
		rc.Principal = &t
	}
}

// limitBody reads the whole body up to the configured limit, so that the
// validator and the handler read it from memory, and answers 413 beyond it.
func (e *Emulator) limitBody(w http.ResponseWriter, r *http.Request, req *vendorapi.Request) error {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	tooLarge := func() error {
		return &vendorapi.WireError{Status: http.StatusRequestEntityTooLarge, Reason: "body_too_large",
			Message: fmt.Sprintf("request body is larger than %d bytes", e.cfg.MaxBodyBytes)}
	}
	if r.ContentLength > e.cfg.MaxBodyBytes {
		return tooLarge()
	}

	body, err := readBody(http.MaxBytesReader(w, r.Body, e.cfg.MaxBodyBytes), r.ContentLength)
	_ = r.Body.Close()
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return tooLarge()
		}
		return &vendorapi.WireError{Status: http.StatusBadRequest, Reason: "body_unreadable", Message: "request body could not be read"}
	}
	req.Body = body
	r.Body = io.NopCloser(bytes.NewReader(body))
	return nil
}

// readBody reads a body whose length the request announced (-1 when it did
// not) into a buffer of that size, one byte over so that the end is seen
// without growing it; io.ReadAll would start at 512 bytes and grow.
func readBody(rd io.Reader, length int64) ([]byte, error) {
	if length < 0 || length >= 64<<10 {
		// A large announced length is not trusted with memory up front:
		// a client may announce 1 MB, send 60 KB and stall.
		return io.ReadAll(rd)
	}
	buf := make([]byte, 0, length+1)
	for {
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
		if len(buf) == cap(buf) {
			// More than announced: net/http refuses that itself, but
			// read the rest the general way rather than trust it.
			rest, err := io.ReadAll(rd)
			return append(buf, rest...), err
		}
	}
}

// paramSegments lists the indexes of a path template's segments that hold a parameter.
func paramSegments(template string) []int {
	var out []int
	for i, seg := range strings.Split(template, "/") {
		if strings.Contains(seg, "{") {
			out = append(out, i)
		}
	}
	return out
}

// operationIDs lists "vendor.operationId" for every bound operation (for tests).
func (e *Emulator) operationIDs() []string {
	ids := make([]string, 0, len(e.ops))
	for id := range e.ops {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
