package emulator

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/tokenemu/tokenemu/emulator/store"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
	"github.com/tokenemu/tokenemu/scenarios"
)

// ScenarioHeader applies a built-in scenario to the one request that carries
// it. Only built-ins whose every effect stays within that request are accepted
// (scenarios.Scenario.PerRequest); the others are refused with a 400.
const ScenarioHeader = "X-Tokenemu-Scenario"

// ApplyScenario makes s active from now. A scenario of the same name is an
// error unless replace is set.
func (e *Emulator) ApplyScenario(s scenarios.Scenario, replace bool) error {
	return e.scenarios.Apply(s, e.clock.Now(), replace)
}

// BuiltinScenario returns a built-in scenario, narrowed to one vendor when
// vendor is set.
func (e *Emulator) BuiltinScenario(name, vendor string) (scenarios.Scenario, error) {
	return e.scenarios.Builtin(name, vendor)
}

// RemoveScenario deactivates the named scenario and reports whether it was active.
func (e *Emulator) RemoveScenario(name string) bool { return e.scenarios.Remove(name) }

// ClearScenarios deactivates every scenario.
func (e *Emulator) ClearScenarios() { e.scenarios.Clear() }

// ActiveScenarios lists the active scenarios with their counters.
func (e *Emulator) ActiveScenarios() []scenarios.Status { return e.scenarios.Active() }

// applyStartScenarios activates Config.Scenarios (at start and after a reset).
func (e *Emulator) applyStartScenarios() error {
	e.scenarios.Clear()
	for _, s := range e.cfg.Scenarios {
		if err := e.scenarios.Apply(s, e.clock.Now(), false); err != nil {
			return err
		}
	}
	return nil
}

// scenarioRequest is what the scenario engine sees of one request; the token
// and principal are looked up once, and only when a rule asks.
type scenarioRequest struct {
	e       *Emulator
	r       *http.Request
	rc      *reqCtx
	v       vendorapi.Vendor
	vendor  string
	token   *string
	record  *store.Token
	looked  bool
	princ   *string
	request scenarios.Request
}

func (e *Emulator) newScenarioRequest(r *http.Request, rc *reqCtx, v vendorapi.Vendor) *scenarioRequest {
	vendor := v.Name()
	sr := &scenarioRequest{e: e, r: r, rc: rc, v: v, vendor: vendor}
	sr.request = scenarios.Request{
		Vendor: vendor, Operation: rc.op.id, Method: r.Method, Path: r.URL.Path, Header: r.Header,
		Principal: sr.principal, Kind: sr.kind, Token: sr.tokenValue,
	}
	return sr
}

// tokenValue is the token the request presents: where its vendor says
// (vendorapi.Presenter), else the Authorization header's Bearer (or bare) token.
func (sr *scenarioRequest) tokenValue() string {
	if sr.token != nil {
		return *sr.token
	}
	v := presentedToken(sr.v, sr.r, &sr.rc.Request)
	sr.token = &v
	return v
}

// presentedToken is the token a request presents: where its vendor says
// (vendorapi.Presenter), else the Authorization header's Bearer (or bare)
// token; "" when there is none.
func presentedToken(v vendorapi.Vendor, r *http.Request, req *vendorapi.Request) string {
	if p, ok := v.(vendorapi.Presenter); ok {
		return p.Presented(r, req)
	}
	if c := vendorapi.ParseAuthorization(r.Header.Get("Authorization")); c.Present && (c.Scheme == "bearer" || c.Scheme == "") {
		return c.Value
	}
	return ""
}

// stored returns the record of the presented token, if the emulator knows it.
func (sr *scenarioRequest) stored(ctx context.Context) *store.Token {
	if sr.looked {
		return sr.record
	}
	sr.looked = true
	v := sr.tokenValue()
	if v == "" {
		return nil
	}
	if t, err := sr.e.store.ByHash(sr.r.Context(), store.HashSecret(v)); err == nil && t.Vendor == sr.vendor {
		sr.record = &t
		return sr.record
	}
	if ad, ok := sr.v.(vendorapi.Adopter); ok {
		if t, err := ad.Adopt(ctx, v); err == nil {
			sr.record = &t
		}
	}
	return sr.record
}

func (sr *scenarioRequest) kind() string {
	if t := sr.stored(sr.r.Context()); t != nil {
		return string(t.Kind)
	}
	return ""
}

// principal is the presented token's owner, else the client id, username or
// email the request's credentials name (HTTP Basic, or the body).
func (sr *scenarioRequest) principal() string {
	if sr.princ != nil {
		return *sr.princ
	}
	p := ""
	if t := sr.stored(sr.r.Context()); t != nil {
		p = t.Principal
	} else if user, _, ok := sr.r.BasicAuth(); ok {
		p = user
	} else {
		f := vendorapi.BodyFields(sr.r, sr.rc.Body)
		for _, k := range []string{"client_id", "username", "email"} {
			if f[k] != "" {
				p = f[k]
				break
			}
		}
	}
	sr.princ = &p
	return p
}

// runScenarios evaluates the active scenarios (and a per-request override)
// against a request, carries out what fires, and reports whether the request
// has been answered.
func (e *Emulator) runScenarios(w *statusRecorder, r *http.Request, rc *reqCtx, s vendorapi.Vendor) bool {
	ctx := r.Context()
	override := r.Header.Get(ScenarioHeader)
	if override == "" && e.scenarios.Empty() {
		return false
	}
	sr := e.newScenarioRequest(r, rc, s)
	now := e.clock.Now()
	var firings []scenarios.Firing
	if override != "" {
		sc, err := e.scenarios.Builtin(override, "")
		if err != nil {
			s.WriteError(w, r, &rc.Request, s.Fault(&rc.Request, vendorapi.Fault{Status: http.StatusBadRequest, Reason: "scenario_unknown",
				Message: fmt.Sprintf("%s: %v", ScenarioHeader, err)}))
			return true
		}
		// Anyone who can reach a vendor can send the header: it may act on
		// its own request only, never on the clock or on others' tokens.
		if err := sc.PerRequest(); err != nil {
			s.WriteError(w, r, &rc.Request, s.Fault(&rc.Request, vendorapi.Fault{Status: http.StatusBadRequest, Reason: "scenario_not_per_request",
				Message: fmt.Sprintf("%s: %v", ScenarioHeader, err)}))
			return true
		}
		firings = e.scenarios.Once(sc, &sr.request, now)
	}
	firings = append(firings, e.scenarios.Evaluate(&sr.request, now)...)
	if len(firings) == 0 {
		return false
	}

	var fault *scenarios.Firing
	var delay time.Duration
	for i := range firings {
		f := &firings[i]
		delay += f.Action.Delay.D()
		if fault == nil && f.Action.Fault() {
			fault = f
		}
	}
	blame := &firings[0]
	if fault != nil {
		blame = fault
	}
	rule := blame.Rule
	rc.scenario, rc.rule = blame.Scenario, &rule

	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			rc.dropped = true
			return true
		}
	}
	for _, f := range firings {
		e.applyEffects(ctx, sr, f.Action)
	}
	if fault == nil {
		return false
	}
	a := fault.Action
	reason := "scenario:" + fault.Scenario
	if a.Drop {
		rc.dropped = true
		dropConnection(w)
		return true
	}
	h := w.Header()
	for k, v := range a.Headers {
		h.Set(k, v)
	}
	retry := 0
	if a.RetryAfter > 0 {
		retry = int((a.RetryAfter.D() + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.Itoa(retry))
	}
	if a.Body != nil {
		h.Set(vendorapi.ReasonHeader, reason)
		vendorapi.WriteJSON(w, a.Status, a.Body)
		return true
	}
	s.WriteError(w, r, &rc.Request, s.Fault(&rc.Request, vendorapi.Fault{Status: a.Status, Code: a.Error, Message: a.Message, Reason: reason, RetryAfter: retry}))
	return true
}

// applyEffects carries out an action's effects on the emulator's state.
func (e *Emulator) applyEffects(ctx context.Context, sr *scenarioRequest, a scenarios.Action) {
	now := e.clock.Now()
	change := func(what string, fn func(store.Token)) {
		switch what {
		case "token":
			if t := sr.stored(sr.r.Context()); t != nil {
				if err := e.store.Put(ctx, *t); err != nil && !errors.Is(err, store.ErrExists) {
					e.log.Warn("scenario: record token", "err", err)
					return
				}
				fn(*t)
			}
		case "principal":
			if p := sr.principal(); p != "" {
				page, err := e.store.List(ctx, store.Query{Vendor: sr.vendor, Principal: p, State: store.StateActive, At: now})
				if err != nil {
					e.log.Warn("scenario: list tokens", "err", err)
					return
				}
				for _, t := range page.Tokens {
					fn(t)
				}
			}
		}
	}
	expire := func(t store.Token) { _, _ = e.store.Expire(ctx, t.Vendor, t.ID, now) }
	revoke := func(t store.Token) { _, _ = e.store.Revoke(ctx, t.Vendor, t.ID, now, store.RevokedByAdmin) }
	change(a.Expire, expire)
	change(a.Revoke, revoke)
	switch a.RejectRefresh {
	case "reused":
		change("token", func(t store.Token) { _, _ = e.store.Revoke(ctx, t.Vendor, t.ID, now, store.RevokedByRotation) })
	case "expired":
		change("token", expire)
	}
	if a.Skew != 0 {
		// A skew (at most MaxLifetime, by validation) stops at the edge of
		// the clock's range.
		to := e.clock.Now().Add(a.Skew.D())
		if to.Before(MinTime()) {
			to = MinTime()
		} else if to.After(MaxTime()) {
			to = MaxTime()
		}
		_, _ = e.clock.Set(to)
	}
}

// dropConnection closes the client's connection without an answer.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		_ = conn.Close()
		return
	}
	// HTTP/2, or a writer that cannot hijack: abort the handler, which makes
	// the server reset the stream without logging.
	panic(http.ErrAbortHandler)
}
