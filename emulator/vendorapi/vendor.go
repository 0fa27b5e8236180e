// Package vendorapi is the seam between tokenemu's core (package emulator:
// routing, middleware, clock, journal, admin plane, scenarios, state file)
// and the vendors it emulates, each a package of its own (emulator/passkit,
// emulator/brass, emulator/passport, emulator/teletracker).
//
// A vendor is a Definition: a name and a constructor that builds one
// Vendor for one emulator from an Env (its clock, store, seed, settings and
// fixtures). The core serves the Vendor's OpenAPI document under the
// document's server URL, routes each operationId to the handler of that
// name, asks the Vendor to authenticate each security requirement, and hands
// every error to the Vendor's writer, so that a client sees the vendor's own
// wire shapes. Optional interfaces add what not every vendor has: saved
// state (Persister), tokens issued from the admin plane (Issuer, Adopter),
// a request's parameters moved where the document wants them (Preparer),
// per-user accounting before validation (Admitter), the secrets to keep out
// of the journal (SecretHolder), and the token a request presents to a
// scenario (Presenter).
//
// Adding a vendor is one package that exports its Definition and one line
// in the list of vendors (package emulator/vendors, or Config.Vendors).
package vendorapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tokenemu/tokenemu/emulator/store"
)

// Definition registers a vendor: its name (which is also its document's),
// its settings and fixtures, and how to build one for one emulator.
type Definition struct {
	Name string
	// Document is the vendor's OpenAPI document (Vendor.Document's), for
	// what needs it without an emulator: scenario validation offline.
	Document func() (*Document, error)
	// Kinds are the kinds of token the vendor issues (a scenario rule's
	// match.kind).
	Kinds []store.Kind
	// RefreshOperation is the operationId of the vendor's refresh call, if
	// it has one: a scenario's reject_refresh acts on the refresh token
	// that call presents (Presenter).
	RefreshOperation string
	// Settings lists the vendor's settings. Each is a key
	// "<vendor>.<setting>" of emulator.Config.Settings and a flag
	// -<vendor>-<setting> of the command line, with the same meaning.
	Settings []Setting
	// Configure turns the vendor's settings (by setting name; one left out
	// has its default) into what Env.Config holds, or says what is wrong.
	// Nil for a vendor without settings.
	Configure func(settings map[string]string) (any, error)
	// Fixtures parses the vendor's section of a fixtures file (YAML or
	// JSON; unknown fields are errors), or gives the defaults for nil,
	// into what Env.Fixtures holds. Nil for a vendor without fixtures.
	Fixtures func(raw []byte) (any, error)
	// New builds the vendor for one emulator.
	New func(Env) (Vendor, error)
	// Example is how a generic test (package vendortest) and the load
	// bench use the vendor.
	Example Example
}

// Example is a use of a vendor with its default fixtures: a principal the
// admin plane issues a token for (an Issuer), and a call, below the
// vendor's prefix, that answers 200 to that token sent as
// "Authorization: Bearer <token>".
type Example struct {
	Principal    string
	Kind         string // the IssueRequest's kind; "" for the vendor's default
	Method, Path string
}

// Setting is one setting of a vendor.
type Setting struct {
	Name    string // e.g. "rate-limit"
	Usage   string // one line, for the command line's help
	Default string // the value when it is not set
}

// Clock is the emulator's virtual clock as a vendor reads it.
type Clock interface{ Now() time.Time }

// Env is what the core gives a vendor: everything the vendor's instance
// may use, none of it shared with another emulator.
type Env struct {
	Clock Clock
	Store store.Store
	Seed  int64 // seeds the vendor's fake data (gofakeit.New(Seed))
	Log   *slog.Logger
	// Config is the vendor's own settings (its package's Config type),
	// already validated and with its defaults filled in.
	Config any
	// Fixtures is the vendor's own fixtures (its package's Fixtures type),
	// already validated and with its defaults filled in.
	Fixtures any
	// Unexpected reports an error no request should meet: a bug, which
	// the core logs and counts (Emulator.InternalErrors).
	Unexpected func(err error)
	// Redact makes a secret set after start (a client secret made through
	// the admin plane) one the journal and the log never show. The
	// fixtures' secrets are redacted from the start (SecretHolder).
	Redact func(secret string)
	// RedactHash is Redact for a secret known only by its SHA-256 (one a
	// restored state file holds).
	RedactHash func(store.SecretHash)
	// Retire tells that a secret Redact or RedactHash was given no longer
	// works (a rotated client secret), so the set of secrets redacted by
	// name stays as large as the live ones.
	Retire func(store.SecretHash)
	// Budget, when not zero, is the memory in bytes that the vendor's own
	// tables which grow with use (ids and names it keeps, caches) may take
	// together: an emulator with a memory budget (a tenant) shares a part
	// of it among its vendors. A vendor sizes those tables' bounds with
	// Bound. Zero: the vendor's defaults.
	Budget int64
}

// Fits refuses what a vendor is asked to hold from the start (its
// fixtures, and what it makes of them) when it takes more than its Budget:
// what is about bytes, and says what.
func (e Env) Fits(what string, bytes int64) error {
	if e.Budget <= 0 || bytes <= e.Budget {
		return nil
	}
	return fmt.Errorf("%s take about %d KB, more than its share of the memory budget (%d KB): ask for fewer, or for a larger budget (-tenant-memory for a tenant, Config.MemoryBudget)", what, bytes>>10, e.Budget>>10)
}

// Bound is the bound of one of parts tables that share the vendor's Budget,
// whose entries take about entryBytes each: def (its default) without a
// budget, else what fits its share, never more than def nor less than 1.
func (e Env) Bound(def, entryBytes, parts int) int {
	if e.Budget <= 0 {
		return def
	}
	return max(1, min(def, int(e.Budget/int64(parts)/int64(entryBytes))))
}

// Vendor is one vendor of one emulator.
type Vendor interface {
	// Name is the vendor's name, which is also its document's.
	Name() string
	// Document is the vendor's OpenAPI document, parsed once per process
	// and shared: it must be treated as read-only. Its one server URL is
	// the vendor's path prefix, and its info.description says what the
	// emulation decided where the vendor's documentation is silent or
	// contradicts itself.
	Document() (*Document, error)
	// Handlers maps each operationId of the document to its handler.
	Handlers() map[string]Handler
	// Authenticate checks the request against one security scheme of the
	// document (with the scopes the operation requires), records the
	// principal in req, and returns the vendor's error when it fails.
	Authenticate(r *http.Request, req *Request, securityScheme string, scopes []string) error
	// WriteError renders err in the vendor's wire shape. req.Operation is
	// "" for a request that matched no operation.
	WriteError(w http.ResponseWriter, r *http.Request, req *Request, err error)
	// Reset puts the vendor back to its fixtures.
	Reset() error
	// Fault builds the vendor's own error for a scenario's fault.
	Fault(req *Request, f Fault) error
}

// Handler serves one operation; a returned error goes to the vendor's WriteError.
type Handler func(w http.ResponseWriter, r *http.Request, req *Request) error

// Request is what the core tells a vendor about one request.
type Request struct {
	// Operation is the operationId the request matched; "" for none.
	Operation string
	// Principal is the authenticated token, once a security scheme accepted it.
	Principal *store.Token
	// Cred is the vendor's parsed credentials, shared by the security
	// alternatives of one request.
	Cred any
	// Body is the request body, read into memory by the core (at most the
	// configured limit).
	Body []byte
	// Params are the path parameters of the operation's path template.
	Params Params
}

// Param returns a path parameter of the matched operation.
func (r *Request) Param(name string) string { return r.Params.Get(name) }

// Params are a request's path parameters in the order of its path template.
// A template has one or two, so a list beats a map, which the router would
// otherwise allocate for every request.
type Params []Param

// Param is one path parameter: its name in the template and its value.
type Param struct{ Name, Value string }

// Get returns the value of the parameter name ("" when there is none). A
// template that names a parameter twice gives it the last value, as Map does.
func (p Params) Get(name string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i].Name == name {
			return p[i].Value
		}
	}
	return ""
}

// Map returns the parameters as a map (nil when there are none).
func (p Params) Map() map[string]string {
	if len(p) == 0 {
		return nil
	}
	m := make(map[string]string, len(p))
	for _, x := range p {
		m[x.Name] = x.Value
	}
	return m
}

// ParamsOf returns m's parameters, sorted by name.
func ParamsOf(m map[string]string) Params {
	if len(m) == 0 {
		return nil
	}
	p := make(Params, 0, len(m))
	for _, name := range slices.Sorted(maps.Keys(m)) {
		p = append(p, Param{name, m[name]})
	}
	return p
}

// Fault is a scenario's fault, for a vendor to turn into its own error.
type Fault struct {
	Status     int
	Code       string // the vendor's error code, when the rule gives one
	Message    string // "" for the vendor's default
	Reason     string // X-Tokenemu-Reason: scenario:<name>
	RetryAfter int    // Retry-After seconds, 0 when not set
}

// Text is the fault's message: its own, or the status's text in lower case.
func (f Fault) Text() string {
	if f.Message != "" {
		return f.Message
	}
	return strings.ToLower(http.StatusText(f.Status))
}

// Persister is a vendor with state beyond the token store (accounts made
// through its API, keys, metadata) that the state file keeps.
type Persister interface {
	// Save returns the vendor's state; it is called with no request
	// half-handled.
	Save() (json.RawMessage, error)
	// Restore replaces the vendor's state with one Save returned, after a Reset.
	Restore(json.RawMessage) error
}

// IssueRequest asks a vendor for a token without the login dance (admin plane).
type IssueRequest struct {
	Vendor    string        `json:"vendor"`
	Principal string        `json:"principal"`            // client id, username or email
	Lifetime  time.Duration `json:"-"`                    // zero: the vendor's own lifetime
	Kind      string        `json:"kind,omitempty"`       // vendor-specific: jwt, longlived, user, pat
	Role      string        `json:"role,omitempty"`       // Brass PATs
	Name      string        `json:"name,omitempty"`       // Brass PATs
	AccountID string        `json:"account_id,omitempty"` // TeleTracker
}

// IssueResult is an issued token, its refresh token where the vendor has
// one, and the stored record.
type IssueResult struct {
	Token        string
	RefreshToken string
	Record       store.Token
}

// Issuer is a vendor that issues tokens for the admin plane.
type Issuer interface {
	Issue(ctx context.Context, req IssueRequest) (IssueResult, error)
}

// Adopter is a vendor that recognises a valid token the store does not hold
// (a JWT a client signed itself) and makes a record of it.
type Adopter interface {
	// Adopt returns the record of value, or store.ErrNotFound when value
	// is none of the vendor's valid tokens; any other error is the store's.
	Adopt(ctx context.Context, value string) (store.Token, error)
}

// Preparer is a vendor that reads a request's parameters from more places
// than the OpenAPI document can say, and moves them where the document
// says, before anything else reads them.
type Preparer interface {
	Prepare(r *http.Request, req *Request) error
}

// Admitter is a vendor that accounts for each authenticated request before
// its parameters and body are validated (a rate limit, an idempotency key),
// so that a request the validator refuses is counted too.
type Admitter interface {
	Admit(w http.ResponseWriter, r *http.Request, req *Request) error
}

// SecretHolder is a vendor whose fixtures hold secrets (passwords, client
// secrets, API keys) that the journal must never show.
type SecretHolder interface {
	Secrets() []string
}

// AdminOperator is a vendor with operations of its own on the admin plane
// (Passport's client management, Brass's OTP lookup): they are declared
// in the admin document, which the core serves, and handled by the vendor.
// They are authenticated and their errors rendered as the admin plane's.
type AdminOperator interface {
	AdminHandlers() map[string]Handler
}

// Bannerer is a vendor that says, in the command line's start banner, how
// to log in: one line for each credential of its fixtures. A password or
// secret is shown only where it is the documented default.
type Bannerer interface {
	Banner(base string) []string
}

// Shown is a secret as a banner shows it: itself when it is the documented
// default, else a note that it comes from the fixtures file.
func Shown(value, documented string) string {
	if value == documented {
		return value
	}
	return "(from the fixtures file)"
}

// Presenter is a vendor whose requests present a token somewhere other
// than a Bearer Authorization header, for scenarios that match or act on
// the presented token.
type Presenter interface {
	Presented(r *http.Request, req *Request) string
}

// Parts returns env's Config and Fixtures as a vendor's own types: what its
// Definition's Configure and Fixtures made.
func Parts[C, F any](env Env, vendor string) (C, F, error) {
	c, ok1 := env.Config.(C)
	f, ok2 := env.Fixtures.(F)
	if !ok1 || !ok2 {
		return c, f, fmt.Errorf("%s: want its own Config and Fixtures, got %T and %T", vendor, env.Config, env.Fixtures)
	}
	return c, f, nil
}
