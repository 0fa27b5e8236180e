package emulator

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/tokenemu/tokenemu/emulator/console"
	"github.com/tokenemu/tokenemu/emulator/store"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
	"github.com/tokenemu/tokenemu/emulator/vendors"
	"github.com/tokenemu/tokenemu/openapi"
)

// admin is the /_emulator plane: health, clock, reset and the OpenAPI documents.
type admin struct {
	e         *Emulator
	docOnce   sync.Once // doc, for an emulator that serves other vendors than the registered ones
	doc       *vendorapi.Document
	docErr    error
	env       vendorapi.Env    // for Neutral
	tokenHash store.SecretHash // SHA-256 of the admin token; zero when none is set
	// A tenant's own admin token (TenantSpec.Token), set before it serves:
	// its admin plane then takes that token or the admin token, no other.
	own     bool
	ownHash store.SecretHash
}

func newAdmin(e *Emulator) *admin {
	a := &admin{e: e, env: vendorapi.Env{Unexpected: e.unexpected("admin")}}
	if e.cfg.AdminToken != "" {
		a.tokenHash = store.HashSecret(e.cfg.AdminToken)
	}
	return a
}

// Name is the admin plane's name in the journal: admin.
func (a *admin) Name() string { return "admin" }

// Reset does nothing: the admin plane keeps no state of its own.
func (a *admin) Reset() error { return nil }

// Document is the admin plane's OpenAPI document. Its lists of vendors
// (the schemas marked x-tokenemu-enum) name the registered vendors; an
// emulator that serves others gets a copy that names its own, made once.
func (a *admin) Document() (*vendorapi.Document, error) {
	shared, err := openapi.Document("admin")
	if err != nil || slices.Equal(a.e.VendorNames(), vendors.Names()) {
		return shared, err
	}
	a.docOnce.Do(func() { a.doc, a.docErr = ownVendors(shared, a.e.VendorNames()) })
	return a.doc, a.docErr
}

// enumExtension marks a schema of the admin document whose enum is the
// emulator's vendors ("vendors"), or its vendors and the admin plane
// ("vendors and admin").
const enumExtension = "x-tokenemu-enum"

// ownVendors parses the admin document afresh (the shared one is read-only)
// and sets every marked enum to names.
func ownVendors(shared *vendorapi.Document, names []string) (*vendorapi.Document, error) {
	t, err := openapi3.NewLoader().LoadFromData(shared.Raw)
	if err != nil {
		return nil, fmt.Errorf("admin document: %w", err)
	}
	set := func(s *openapi3.Schema) {
		if s == nil {
			return
		}
		switch s.Extensions[enumExtension] {
		case "vendors":
			s.Enum = anySlice(names)
		case "vendors and admin":
			s.Enum = append(anySlice(names), "admin")
		}
	}
	for _, ref := range t.Components.Schemas {
		set(ref.Value)
	}
	for _, item := range t.Paths.Map() {
		for _, op := range item.Operations() {
			for _, p := range op.Parameters {
				if p.Value != nil && p.Value.Schema != nil {
					set(p.Value.Schema.Value)
				}
			}
		}
	}
	b, err := t.MarshalJSON() // served as JSON, which is YAML too
	if err != nil {
		return nil, fmt.Errorf("admin document: %w", err)
	}
	return &vendorapi.Document{Name: shared.Name, Raw: b, T: t}, nil
}

func anySlice(names []string) []any {
	out := make([]any, len(names))
	for i, n := range names {
		out[i] = n
	}
	return out
}

// Handlers are the admin plane's own operations and those of every vendor
// that is an AdminOperator.
func (a *admin) Handlers() map[string]vendorapi.Handler {
	hs := map[string]vendorapi.Handler{
		"health":             a.health,
		"getClock":           a.getClock,
		"advanceClock":       a.advanceClock,
		"setClock":           a.setClock,
		"freezeClock":        a.freezeClock,
		"resumeClock":        a.resumeClock,
		"reset":              a.resetAll,
		"getOpenAPIDocument": a.getDocument,
		"getConsole":         a.getConsole,
		"getConsoleAsset":    a.getConsoleAsset,
		"getCredentials":     a.getCredentials,
		"createTenant":       a.createTenant,
		"listTenants":        a.listTenants,
		"deleteTenant":       a.deleteTenant,

		"listTokens":     a.listTokens,
		"expireTokens":   a.expireTokens,
		"revokeTokens":   a.revokeTokens,
		"issueToken":     a.issueToken,
		"getJournal":     a.getJournal,
		"clearJournal":   a.clearJournal,
		"listScenarios":  a.listScenarios,
		"applyScenarios": a.applyScenarios,
		"removeScenario": a.removeScenario,
		"clearScenarios": a.clearScenarios,
		"saveState":      a.saveState,
		"getState":       a.getState,
	}
	for _, v := range a.e.vendors {
		if op, ok := v.(vendorapi.AdminOperator); ok {
			maps.Copy(hs, op.AdminHandlers())
		}
	}
	return hs
}

// WriteError renders err as the admin plane's error body: the error code
// (also the X-Tokenemu-Reason) and a message.
func (a *admin) WriteError(w http.ResponseWriter, r *http.Request, req *vendorapi.Request, err error) {
	we := a.env.Neutral(vendorapi.AuthFailure(err))
	if we.Status == http.StatusUnauthorized {
		we.Challenge = `Bearer realm="tokenemu-admin"`
	}
	we.Write(w, adminErrorBody{Error: we.Reason, Message: we.Message})
}

func (a *admin) Authenticate(r *http.Request, req *vendorapi.Request, securityScheme string, scopes []string) error {
	if securityScheme != "adminToken" {
		return fmt.Errorf("admin: unknown security scheme %q", securityScheme)
	}
	if a.own {
		if bearerIs(r, a.ownHash) || (a.e.cfg.AdminToken != "" && bearerIs(r, a.tokenHash)) {
			return nil
		}
		return &vendorapi.WireError{Status: http.StatusUnauthorized, Reason: "tenant_token_required",
			Message: "this tenant has a token of its own: send Authorization: Bearer <the token its create answered> (or the admin token)"}
	}
	if a.e.cfg.AdminToken == "" {
		return nil
	}
	if !bearerIs(r, a.tokenHash) {
		return &vendorapi.WireError{Status: http.StatusUnauthorized, Reason: "admin_token_required", Message: "this emulator runs with -admin-token: send Authorization: Bearer <admin token>"}
	}
	return nil
}

// health answers 200 ok, or 503 degraded with the error while the last save
// of the state file failed: what the emulator serves would be lost.
func (a *admin) health(w http.ResponseWriter, r *http.Request, req *vendorapi.Request) error {
	if st := a.e.StateStatus(); st.LastError != "" {
		vendorapi.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "degraded",
			"error": "saving the state file failed: " + st.LastError})
		return nil
	}
	vendorapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

type clockBody struct {
	Now    string `json:"now"`
	Frozen bool   `json:"frozen"`
}

func (a *admin) writeClock(w http.ResponseWriter) {
	c := a.e.clock
	vendorapi.WriteJSON(w, http.StatusOK, clockBody{Now: c.Now().Format(time.RFC3339Nano), Frozen: c.Frozen()})
}

func (a *admin) getClock(w http.ResponseWriter, r *http.Request, req *vendorapi.Request) error {
	a.writeClock(w)
	return nil
}

func (a *admin) advanceClock(w http.ResponseWriter, r *http.Request, req *vendorapi.Request) error {
	var body struct {
		Duration *string `json:"duration"`
		Seconds  *int64  `json:"seconds"`
	}
	if err := vendorapi.RequestJSON(req, r, &body); err != nil {
		return err
	}
	var d time.Duration
	switch {
	case body.Duration != nil && body.Seconds != nil:
		return vendorapi.BadRequest(`give either "duration" or "seconds", not both`)
	case body.Duration != nil:
		var err error
		if d, err = time.ParseDuration(*body.Duration); err != nil {
			return vendorapi.BadRequest(fmt.Sprintf(`duration %q: want Go duration syntax such as "61m", "24h" or "30s"`, *body.Duration))
		}
	case body.Seconds != nil:
		if *body.Seconds > int64((1<<63-1)/time.Second) {
			return vendorapi.BadRequest("seconds is too large")
		}
		d = time.Duration(*body.Seconds) * time.Second
	default:
		return vendorapi.BadRequest(`give "duration" (e.g. "61m") or "seconds"`)
	}
	if _, err := a.e.clock.Advance(d); err != nil {
		return vendorapi.BadRequest(err.Error())
	}
	if err := a.e.sweepAll(r.Context()); err != nil {
		return err
	}
	a.writeClock(w)
	return nil
}

func (a *admin) setClock(w http.ResponseWriter, r *http.Request, req *vendorapi.Request) error {
	var body struct {
		Time string `json:"time"`
	}
	if err := vendorapi.RequestJSON(req, r, &body); err != nil {
		return err
	}
	t, err := time.Parse(time.RFC3339Nano, body.Time)
	if err != nil {
		return vendorapi.BadRequest(fmt.Sprintf("time %q is not RFC 3339", body.Time))
	}
	if _, err := a.e.clock.Set(t); err != nil {
		return vendorapi.BadRequest(err.Error())
	}
	if err := a.e.sweepAll(r.Context()); err != nil {
		return err
	}
	a.writeClock(w)
	return nil
}

func (a *admin) freezeClock(w http.ResponseWriter, r *http.Request, req *vendorapi.Request) error {
	a.e.clock.Freeze()
	a.writeClock(w)
	return nil
}

func (a *admin) resumeClock(w http.ResponseWriter, r *http.Request, req *vendorapi.Request) error {
	a.e.clock.Resume()
	a.writeClock(w)
	return nil
}

func (a *admin) resetAll(w http.ResponseWriter, r *http.Request, req *vendorapi.Request) error {
	if err := a.e.Reset(); err != nil {
		return err
	}
	vendorapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "reset"})
	return nil
}

func (a *admin) getDocument(w http.ResponseWriter, r *http.Request, req *vendorapi.Request) error {
	name := req.Param("name")
	doc, ok := a.e.documents[name]
	if !ok {
		return &vendorapi.WireError{Status: http.StatusNotFound, Reason: "not_found", Message: fmt.Sprintf("no OpenAPI document %q; have %v", name, slices.Sorted(maps.Keys(a.e.documents)))}
	}
	w.Header().Set("Content-Type", "application/yaml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(doc.Raw)
	return nil
}

// getCredentials answers each vendor's banner lines: how to log in.
func (a *admin) getCredentials(w http.ResponseWriter, r *http.Request, req *vendorapi.Request) error {
	type vendorCredentials struct {
		Name        string   `json:"name"`
		Credentials []string `json:"credentials"`
	}
	out := []vendorCredentials{}
	for _, name := range a.e.VendorNames() {
		v, _ := a.e.Vendor(name)
		vc := vendorCredentials{Name: name, Credentials: []string{}}
		if b, ok := v.(vendorapi.Bannerer); ok {
			vc.Credentials = append(vc.Credentials, b.Banner("")...)
		}
		out = append(out, vc)
	}
	vendorapi.WriteJSON(w, http.StatusOK, map[string]any{"vendors": out})
	return nil
}

// getConsole serves the web console's page (package console).
func (a *admin) getConsole(w http.ResponseWriter, r *http.Request, req *vendorapi.Request) error {
	console.Serve(w, "index.html")
	return nil
}

// getConsoleAsset serves the console's script or style sheet.
func (a *admin) getConsoleAsset(w http.ResponseWriter, r *http.Request, req *vendorapi.Request) error {
	if !console.Serve(w, req.Param("asset")) {
		return &vendorapi.WireError{Status: http.StatusNotFound, Reason: "not_found", Message: fmt.Sprintf("the console has no file %q", req.Param("asset"))}
	}
	return nil
}

// Fault is a scenario's fault as the admin plane answers it (the admin
// plane runs no scenarios; its document's operations may still be named).
func (a *admin) Fault(req *vendorapi.Request, f vendorapi.Fault) error {
	return &vendorapi.WireError{Status: f.Status, Reason: f.Reason, Message: f.Text()}
}

// Status is what GET /_emulator/state answers: how the emulator's bounded
// resources stand.
type Status struct {
	// Tokens is how many tokens the store holds (live, and revoked or
	// expired within the retention window), and Records how many it has
	// room for without growing: the high-water mark, as swept records are
	// reused. Records is -1 for a store that does not say.
	Tokens  int          `json:"tokens"`
	Records int          `json:"records"`
	Journal JournalStats `json:"journal"`
	// StateFile is how saving the state file fares; nil without one.
	StateFile *StateStatus `json:"state_file"`
}

// Status reports how the emulator's bounded resources stand.
func (e *Emulator) Status(ctx context.Context) (Status, error) {
	ss, err := e.store.Stats(ctx)
	if err != nil {
		return Status{}, err
	}
	st := Status{Journal: e.journal.stats(), Tokens: ss.Tokens, Records: ss.Records}
	if e.cfg.State.File != "" {
		ss := e.StateStatus()
		st.StateFile = &ss
	}
	return st, nil
}

func (a *admin) getState(w http.ResponseWriter, r *http.Request, req *vendorapi.Request) error {
	st, err := a.e.Status(r.Context())
	if err != nil {
		return err
	}
	vendorapi.WriteJSON(w, http.StatusOK, st)
	return nil
}

func (a *admin) saveState(w http.ResponseWriter, r *http.Request, req *vendorapi.Request) error {
	if a.e.tenant {
		return &vendorapi.WireError{Status: http.StatusConflict, Reason: "no_state_file", Message: "a tenant is kept in the state file of the emulator at the root, with every tenant: POST /_emulator/state/save there saves it"}
	}
	if a.e.cfg.State.File == "" {
		return &vendorapi.WireError{Status: http.StatusConflict, Reason: "no_state_file", Message: "this emulator keeps no state file: start it with -state FILE"}
	}
	n, err := a.e.SaveState()
	if err != nil {
		return &vendorapi.WireError{Status: http.StatusInternalServerError, Reason: "save_failed", Message: err.Error()}
	}
	vendorapi.WriteJSON(w, http.StatusOK, map[string]any{"file": a.e.stateFile, "bytes": n,
		"saved_at": time.Now().UTC().Format(time.RFC3339Nano)})
	return nil
}
