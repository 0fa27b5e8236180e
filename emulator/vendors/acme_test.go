package vendors_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/tokenemu/tokenemu/emulator/store"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
	"github.com/tokenemu/tokenemu/emulator/vendors"
	"github.com/tokenemu/tokenemu/emulator/vendortest"
)

// Acme is a fifth vendor, small and made up, that proves the seam: its own
// OpenAPI document, one issuing call, one protected call and its own error
// shape, written here and registered in one line (TestEveryVendor). The
// generic suites run over it as over the four real vendors.
const acmeDocument = `
openapi: 3.0.3
info:
  title: Acme (an example vendor of tokenemu's tests)
  version: "1"
  description: POST /token trades the key for a 10-minute opaque token; GET /me answers who the token is for.
    Errors are {"fault":{"code","text"}}.
servers:
  - url: /acme
paths:
  /token:
    post:
      operationId: issue
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              required: [key]
              properties:
                key: {type: string, maxLength: 64}
      responses:
        "200":
          description: A token.
          content:
            application/json:
              schema:
                type: object
                additionalProperties: false
                required: [token, expires_in]
                properties:
                  token: {type: string}
                  expires_in: {type: integer}
        default:
          $ref: "#/components/responses/Fault"
  /me:
    get:
      operationId: me
      security: [{bearer: []}]
      responses:
        "200":
          description: Who the token is for.
          content:
            application/json:
              schema:
                type: object
                additionalProperties: false
                required: [name]
                properties:
                  name: {type: string}
        default:
          $ref: "#/components/responses/Fault"
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
  responses:
    Fault:
      description: An error.
      content:
        application/json:
          schema:
            type: object
            additionalProperties: false
            required: [fault]
            properties:
              fault:
                type: object
                additionalProperties: false
                required: [code, text]
                properties:
                  code: {type: string}
                  text: {type: string}
`

const (
	acmeKey      = "acme-demo-key"
	acmeRobot    = "robot"
	acmeLifetime = 10 * time.Minute
)

var acmeDoc = sync.OnceValues(func() (*vendorapi.Document, error) {
	return vendorapi.ParseDocument("acme", []byte(acmeDocument))
})

func acmeDefinition() vendorapi.Definition {
	return vendorapi.Definition{
		Name:     "acme",
		Document: acmeDoc,
		Kinds:    []store.Kind{store.KindAccess},
		New:      func(env vendorapi.Env) (vendorapi.Vendor, error) { return &acme{env: env}, nil },
		Example:  vendorapi.Example{Principal: acmeRobot, Method: "GET", Path: "/me"},
	}
}

type acme struct{ env vendorapi.Env }

// acmeError is Acme's wire error: {"fault":{"code","text"}}.
type acmeError struct{ vendorapi.WireError }

func acmeFail(status int, reason, text string) error {
	return &acmeError{vendorapi.WireError{Status: status, Reason: reason, Message: text}}
}

func (a *acme) Name() string                           { return "acme" }
func (a *acme) Document() (*vendorapi.Document, error) { return acmeDoc() }
func (a *acme) Reset() error                           { return nil }
func (a *acme) Fault(_ *vendorapi.Request, f vendorapi.Fault) error {
	return acmeFail(f.Status, f.Reason, f.Text())
}

func (a *acme) Handlers() map[string]vendorapi.Handler {
	return map[string]vendorapi.Handler{"issue": a.issue, "me": a.me}
}

func (a *acme) WriteError(w http.ResponseWriter, r *http.Request, req *vendorapi.Request, err error) {
	we, ok := vendorapi.AsWire(vendorapi.AuthFailure(err))
	if !ok {
		we = a.env.Neutral(err)
	}
	if we.Status == http.StatusUnauthorized && we.Challenge == "" {
		we.Challenge = `Bearer realm="acme"`
	}
	type fault struct {
		Code string `json:"code"`
		Text string `json:"text"`
	}
	we.Write(w, map[string]fault{"fault": {Code: we.Reason, Text: we.Message}})
}

func (a *acme) Authenticate(r *http.Request, req *vendorapi.Request, _ string, _ []string) error {
	value, res := vendorapi.BearerToken(r.Header.Get("Authorization"))
	if res != vendorapi.BearerOK {
		return &acmeError{vendorapi.WireError{Status: http.StatusUnauthorized, Reason: "token_missing", Message: "send a bearer token", Absent: res == vendorapi.BearerMissing}}
	}
	t, err := a.env.Store.ByHash(r.Context(), store.HashSecret(value))
	switch {
	case store.IsFailure(err):
		return err
	case err != nil || t.Vendor != "acme":
		return acmeFail(http.StatusUnauthorized, "token_unknown", "unknown token")
	}
	switch t.StateAt(a.env.Clock.Now()) {
	case store.StateExpired:
		return acmeFail(http.StatusUnauthorized, "token_expired", "the token has expired")
	case store.StateRevoked:
		return acmeFail(http.StatusUnauthorized, "token_revoked", "the token has been revoked")
	}
	req.Principal = &t
	return nil
}

func (a *acme) issue(w http.ResponseWriter, r *http.Request, req *vendorapi.Request) error {
	var body struct {
		Key string `json:"key"`
	}
	if err := vendorapi.RequestJSON(req, r, &body); err != nil {
		return err
	}
	if !store.HashSecret(body.Key).Equal(store.HashSecret(acmeKey)) {
		return acmeFail(http.StatusUnauthorized, "invalid_key", "unknown key")
	}
	res, err := a.Issue(r.Context(), vendorapi.IssueRequest{Principal: acmeRobot})
	if err != nil {
		return err
	}
	vendorapi.WriteJSON(w, http.StatusOK, map[string]any{"token": res.Token, "expires_in": int(acmeLifetime.Seconds())})
	return nil
}

func (a *acme) me(w http.ResponseWriter, r *http.Request, req *vendorapi.Request) error {
	vendorapi.WriteJSON(w, http.StatusOK, map[string]string{"name": req.Principal.Principal})
	return nil
}

// Issue makes a token for the robot, Acme's one principal.
func (a *acme) Issue(ctx context.Context, req vendorapi.IssueRequest) (vendorapi.IssueResult, error) {
	if req.Principal != acmeRobot {
		return vendorapi.IssueResult{}, acmeFail(http.StatusBadRequest, "invalid_request", "acme issues tokens for robot only")
	}
	value := vendorapi.NewOpaqueToken()
	now := a.env.Clock.Now()
	t := store.Token{ID: vendorapi.RandomBase62(16), Vendor: "acme", Kind: store.KindAccess, Hash: store.HashSecret(value),
		Principal: acmeRobot, IssuedAt: now, ExpiresAt: now.Add(cmpOr(req.Lifetime, acmeLifetime))}
	if err := a.env.Store.Put(ctx, t); err != nil {
		return vendorapi.IssueResult{}, err
	}
	return vendorapi.IssueResult{Token: value, Record: t}, nil
}

func cmpOr(d, def time.Duration) time.Duration { // cmp.Or for a lifetime
	if d > 0 {
		return d
	}
	return def
}

// The generic suites over every vendor, Acme included: registering it is
// the one line below.
func TestEveryVendor(t *testing.T) {
	t.Parallel()
	vendortest.Run(t, append(vendors.All(), acmeDefinition()))
}
