package emulator

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/tokenemu/tokenemu/emulator/store"
	"github.com/tokenemu/tokenemu/openapi"
)

// admin is the /_emulator plane: health, clock, reset and the OpenAPI documents.
type admin struct {
	e         *Emulator
	tokenHash store.SecretHash // SHA-256 of the admin token; zero when none is set
}

func newAdmin(e *Emulator) *admin {
	a := &admin{e: e}
	if e.cfg.AdminToken != "" {
		a.tokenHash = store.HashSecret(e.cfg.AdminToken)
	}
	return a
}

func (a *admin) name() string { return "admin" }
func (a *admin) reset() error { return nil }

func (a *admin) handlers() map[string]handlerFunc {
	return map[string]handlerFunc{
		"health":               a.health,
		"getClock":             a.getClock,
		"advanceClock":         a.advanceClock,
		"setClock":             a.setClock,
		"freezeClock":          a.freezeClock,
		"resumeClock":          a.resumeClock,
		"reset":                a.resetAll,
		"getOpenAPIDocument":   a.getDocument,
		"getBrassOTP":          a.getBrassOTP,
		"listTokens":           a.listTokens,
		"expireTokens":         a.expireTokens,
		"revokeTokens":         a.revokeTokens,
		"issueToken":           a.issueToken,
		"getJournal":           a.getJournal,
		"clearJournal":         a.clearJournal,
		"listScenarios":        a.listScenarios,
		"applyScenarios":       a.applyScenarios,
		"removeScenario":       a.removeScenario,
		"clearScenarios":       a.clearScenarios,
		"saveState":            a.saveState,
		"getState":             a.getState,
		"listPassportClients":  a.listPassportClients,
		"createPassportClient": a.createPassportClient,
		"rotatePassportSecret": a.rotatePassportSecret,
	}
}

// adminError is the admin plane's wire error.
type adminError struct {
	status int
	code   string
	msg    string
}

func (e *adminError) Error() string { return e.msg }

func (a *admin) writeError(w http.ResponseWriter, r *http.Request, rc *reqCtx, err error) {
	ae, ok := errors.AsType[*adminError](err)
	if !ok {
		he := a.e.neutralError("admin", err)
		ae = &adminError{status: he.status, code: he.reason, msg: he.msg}
	}
	if ae.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tokenemu-admin"`)
	}
	w.Header().Set(ReasonHeader, ae.code)
	writeAdminError(w, ae.status, ae.code, ae.msg)
}

func (a *admin) authenticate(r *http.Request, rc *reqCtx, securityScheme string, scopes []string) error {
	if securityScheme != "adminToken" {
		return fmt.Errorf("admin: unknown security scheme %q", securityScheme)
	}
	if a.e.cfg.AdminToken == "" {
		return nil
	}
	c := parseAuthorization(r.Header.Get("Authorization"))
	if !c.present || c.scheme != "bearer" || !store.HashSecret(c.value).Equal(a.tokenHash) {
		return &adminError{status: http.StatusUnauthorized, code: "admin_token_required",
			msg: "this emulator runs with -admin-token: send Authorization: Bearer <admin token>"}
	}
	return nil
}

// health answers 200 ok, or 503 degraded with the error while the last save
// of the state file failed: what the emulator serves would be lost.
func (a *admin) health(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if st := a.e.StateStatus(); st.LastError != "" {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "degraded",
			"error": "saving the state file failed: " + st.LastError})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

type clockBody struct {
	Now    string `json:"now"`
	Frozen bool   `json:"frozen"`
}

func (a *admin) writeClock(w http.ResponseWriter) {
	c := a.e.clock
	writeJSON(w, http.StatusOK, clockBody{Now: c.Now().Format(time.RFC3339Nano), Frozen: c.Frozen()})
}

func (a *admin) getClock(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	a.writeClock(w)
	return nil
}

func badRequest(msg string) *adminError {
	return &adminError{status: http.StatusBadRequest, code: "invalid_request", msg: msg}
}

func (a *admin) advanceClock(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var body struct {
		Duration *string `json:"duration"`
		Seconds  *int64  `json:"seconds"`
	}
	if err := requestJSON(rc, r, &body); err != nil {
		return err
	}
	var d time.Duration
	switch {
	case body.Duration != nil && body.Seconds != nil:
		return badRequest(`give either "duration" or "seconds", not both`)
	case body.Duration != nil:
		var err error
		if d, err = time.ParseDuration(*body.Duration); err != nil {
			return badRequest(fmt.Sprintf(`duration %q: want Go duration syntax such as "61m", "24h" or "30s"`, *body.Duration))
		}
	case body.Seconds != nil:
		if *body.Seconds > int64((1<<63-1)/time.Second) {
			return badRequest("seconds is too large")
		}
		d = time.Duration(*body.Seconds) * time.Second
	default:
		return badRequest(`give "duration" (e.g. "61m") or "seconds"`)
	}
	if _, err := a.e.clock.Advance(d); err != nil {
		return badRequest(err.Error())
	}
	if err := a.e.sweepAll(r.Context()); err != nil {
		return err
	}
	a.writeClock(w)
	return nil
}

func (a *admin) setClock(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var body struct {
		Time string `json:"time"`
	}
	if err := requestJSON(rc, r, &body); err != nil {
		return err
	}
	t, err := time.Parse(time.RFC3339Nano, body.Time)
	if err != nil {
		return badRequest(fmt.Sprintf("time %q is not RFC 3339", body.Time))
	}
	if _, err := a.e.clock.Set(t); err != nil {
		return badRequest(err.Error())
	}
	if err := a.e.sweepAll(r.Context()); err != nil {
		return err
	}
	a.writeClock(w)
	return nil
}

func (a *admin) freezeClock(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	a.e.clock.Freeze()
	a.writeClock(w)
	return nil
}

func (a *admin) resumeClock(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	a.e.clock.Resume()
	a.writeClock(w)
	return nil
}

func (a *admin) resetAll(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if err := a.e.Reset(); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "reset"})
	return nil
}

func (a *admin) getDocument(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	name := pathParam(r, "name")
	raw, err := openapi.Raw(name)
	if err != nil {
		return &adminError{status: http.StatusNotFound, code: "not_found",
			msg: fmt.Sprintf("no OpenAPI document %q; have %v", name, openapi.Names())}
	}
	w.Header().Set("Content-Type", "application/yaml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(raw)
	return nil
}

func (a *admin) getBrassOTP(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	user := r.URL.Query().Get("username")
	code, ok := a.e.brass.OTP(user)
	if !ok {
		return &adminError{status: http.StatusNotFound, code: "not_found",
			msg: fmt.Sprintf("no OTP has been sent to %q; log in with POST /brass/auth/login first", user)}
	}
	writeJSON(w, http.StatusOK, map[string]string{"otp": code})
	return nil
}

func (a *admin) fault(rc *reqCtx, f faultSpec) error {
	return &adminError{status: f.status, code: f.reason, msg: f.message()}
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

func (a *admin) getState(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	st, err := a.e.Status(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (a *admin) saveState(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if a.e.cfg.State.File == "" {
		return &adminError{status: http.StatusConflict, code: "no_state_file",
			msg: "this emulator keeps no state file: start it with -state FILE"}
	}
	n, err := a.e.SaveState()
	if err != nil {
		return &adminError{status: http.StatusInternalServerError, code: "save_failed", msg: err.Error()}
	}
	writeJSON(w, http.StatusOK, map[string]any{"file": a.e.stateFile, "bytes": n,
		"saved_at": time.Now().UTC().Format(time.RFC3339Nano)})
	return nil
}
