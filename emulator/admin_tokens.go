package emulator

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tokenemu/tokenemu/emulator/store"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
)

// TokenInfo is a token as the admin plane shows it: metadata and a
// fingerprint, never the token.
type TokenInfo struct {
	Vendor       string     `json:"vendor"`
	Kind         string     `json:"kind"`
	ID           string     `json:"id"`
	Principal    string     `json:"principal"`
	AccountID    string     `json:"account_id,omitempty"`
	Scopes       []string   `json:"scopes,omitempty"`
	Roles        []string   `json:"roles,omitempty"`
	Family       string     `json:"family,omitempty"`
	IssuedAt     time.Time  `json:"issued_at"`
	ExpiresAt    *time.Time `json:"expires_at"` // nil: never expires
	RevokedAt    *time.Time `json:"revoked_at,omitempty"`
	RevokeReason string     `json:"revoke_reason,omitempty"`
	State        string     `json:"state"`
	Fingerprint  string     `json:"fingerprint"`
}

func tokenInfo(t store.Token, now time.Time) TokenInfo {
	info := TokenInfo{
		Vendor: t.Vendor, Kind: string(t.Kind), ID: t.ID, Principal: t.Principal, AccountID: t.AccountID,
		Scopes: t.Scopes, Roles: t.Roles, Family: t.Family, IssuedAt: t.IssuedAt,
		RevokeReason: t.RevokeReason, State: string(t.StateAt(now)), Fingerprint: Fingerprint(t.Hash),
	}
	if !t.ExpiresAt.IsZero() {
		info.ExpiresAt = &t.ExpiresAt
	}
	if !t.RevokedAt.IsZero() {
		info.RevokedAt = &t.RevokedAt
	}
	return info
}

// Tokens lists the stored tokens that q selects, as the admin plane shows them.
func (e *Emulator) Tokens(ctx context.Context, q store.Query) ([]TokenInfo, error) {
	now := e.clock.Now()
	p, err := e.store.List(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]TokenInfo, 0, len(p.Tokens))
	for _, t := range p.Tokens {
		out = append(out, tokenInfo(t, now))
	}
	return out, nil
}

// Token listing pages: GET /_emulator/tokens answers at most this many tokens
// (limit), DefaultTokenPage when no limit is given.
const (
	DefaultTokenPage = 100
	MaxTokenPage     = 1000
)

// tokenPage is GET /_emulator/tokens's answer: a page, oldest first, the
// number of tokens that match in all, and the cursor of the next page.
type tokenPage struct {
	Tokens []TokenInfo `json:"tokens"`
	Total  int         `json:"total"`
	Next   string      `json:"next,omitempty"`
}

// tokenCursor is where a page of tokens ends: the last token's issue time
// and id, which the tokens are ordered by.
func tokenCursor(t store.Token) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(t.IssuedAt.UnixNano(), 10) + ":" + t.ID))
}

func parseTokenCursor(s string) (int64, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		if at, id, ok := strings.Cut(string(b), ":"); ok {
			if n, err := strconv.ParseInt(at, 10, 64); err == nil {
				return n, id, nil
			}
		}
	}
	return 0, "", vendorapi.BadRequest("after: not a cursor this listing gave (its next)")
}

func (a *admin) listTokens(w http.ResponseWriter, r *http.Request, req *vendorapi.Request) error {
	q := r.URL.Query()
	now := a.e.clock.Now()
	limit := DefaultTokenPage
	if s := q.Get("limit"); s != "" {
		limit, _ = strconv.Atoi(s) // validated as 1 to MaxTokenPage
	}
	query := store.Query{Vendor: q.Get("vendor"), Principal: q.Get("principal"), Kind: store.Kind(q.Get("kind")),
		State: store.State(q.Get("state")), At: now, Limit: limit}
	if s := q.Get("after"); s != "" {
		at, id, err := parseTokenCursor(s)
		if err != nil {
			return err
		}
		query.After = &store.Cursor{At: time.Unix(0, at).UTC(), ID: id}
	}
	p, err := a.e.store.List(r.Context(), query)
	if err != nil {
		return err
	}
	page := tokenPage{Tokens: make([]TokenInfo, 0, len(p.Tokens)), Total: p.Total}
	for _, t := range p.Tokens {
		page.Tokens = append(page.Tokens, tokenInfo(t, now))
	}
	if p.More && len(p.Tokens) > 0 {
		page.Next = tokenCursor(p.Tokens[len(p.Tokens)-1])
	}
	vendorapi.WriteJSON(w, http.StatusOK, page)
	return nil
}

// TokenSelector names tokens for the admin plane: one by its value, or every
// live token of a principal.
type TokenSelector struct {
	Token     string `json:"token,omitempty"`
	Vendor    string `json:"vendor,omitempty"`
	Principal string `json:"principal,omitempty"`
	// ID, with Vendor, selects one token by the id listings show (the web
	// console's row buttons, which never hold a token's value).
	ID string `json:"id,omitempty"`
}

// ErrNoToken is returned when a selector names a token value the emulator does
// not know (and no vendor recognises).
var ErrNoToken = errors.New("no such token")

// selectTokens resolves a selector to stored tokens. A valid token the store
// does not hold (a self-minted PassKit JWT) is recorded first.
func (e *Emulator) selectTokens(ctx context.Context, sel TokenSelector) ([]store.Token, error) {
	now := e.clock.Now()
	switch {
	case sel.Token != "" && (sel.Vendor != "" || sel.Principal != "" || sel.ID != ""):
		return nil, errors.New(`give either "token", or "vendor" and "principal", or "vendor" and "id"`)
	case sel.ID != "":
		if sel.Vendor == "" || sel.Principal != "" {
			return nil, errors.New(`"id" goes with "vendor" alone`)
		}
		t, err := e.store.ByID(ctx, sel.Vendor, sel.ID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrNoToken
		}
		if err != nil {
			return nil, err
		}
		return []store.Token{t}, nil
	case sel.Token != "":
		t, err := e.store.ByHash(ctx, store.HashSecret(sel.Token))
		if err == nil {
			return []store.Token{t}, nil
		}
		if store.IsFailure(err) {
			return nil, err
		}
		for _, v := range e.vendors {
			if ad, ok := v.(vendorapi.Adopter); ok {
				t, err := ad.Adopt(ctx, sel.Token)
				if store.IsFailure(err) {
					return nil, err
				}
				if err == nil {
					if err := e.store.Put(ctx, t); err != nil && !errors.Is(err, store.ErrExists) {
						return nil, err
					}
					return []store.Token{t}, nil
				}
			}
		}
		return nil, ErrNoToken
	case sel.Vendor == "" || sel.Principal == "":
		return nil, errors.New(`give "token", or both "vendor" and "principal"`)
	}
	p, err := e.store.List(ctx, store.Query{Vendor: sel.Vendor, Principal: sel.Principal, State: store.StateActive, At: now})
	return p.Tokens, err
}

// ExpireTokens makes the selected tokens expire now and returns them.
func (e *Emulator) ExpireTokens(ctx context.Context, sel TokenSelector) ([]TokenInfo, error) {
	return e.changeTokens(ctx, sel, func(t store.Token, now time.Time) (store.Token, error) {
		return e.store.Expire(ctx, t.Vendor, t.ID, now)
	})
}

// RevokeTokens revokes the selected tokens and returns them.
func (e *Emulator) RevokeTokens(ctx context.Context, sel TokenSelector) ([]TokenInfo, error) {
	return e.changeTokens(ctx, sel, func(t store.Token, now time.Time) (store.Token, error) {
		got, err := e.store.Revoke(ctx, t.Vendor, t.ID, now, store.RevokedByAdmin)
		if errors.Is(err, store.ErrRevoked) {
			return got, nil
		}
		return got, err
	})
}

func (e *Emulator) changeTokens(ctx context.Context, sel TokenSelector, change func(store.Token, time.Time) (store.Token, error)) ([]TokenInfo, error) {
	ts, err := e.selectTokens(ctx, sel)
	if err != nil {
		return nil, err
	}
	now := e.clock.Now()
	out := []TokenInfo{}
	for _, t := range ts {
		got, err := change(t, now)
		if err != nil {
			return nil, fmt.Errorf("token %s: %w", t.ID, err)
		}
		out = append(out, tokenInfo(got, now))
	}
	return out, nil
}

func (a *admin) changeTokens(w http.ResponseWriter, r *http.Request, req *vendorapi.Request, change func(context.Context, TokenSelector) ([]TokenInfo, error)) error {
	var sel TokenSelector
	if err := vendorapi.RequestJSON(req, r, &sel); err != nil {
		return err
	}
	out, err := change(r.Context(), sel)
	switch {
	case errors.Is(err, ErrNoToken):
		return &vendorapi.WireError{Status: http.StatusNotFound, Reason: "not_found", Message: "no token with this value or id (or it is not valid for any vendor)"}
	case isStoreFailure(err):
		return err
	case err != nil:
		return vendorapi.BadRequest(err.Error())
	}
	vendorapi.WriteJSON(w, http.StatusOK, map[string]any{"tokens": out})
	return nil
}

func (a *admin) expireTokens(w http.ResponseWriter, r *http.Request, req *vendorapi.Request) error {
	return a.changeTokens(w, r, req, a.e.ExpireTokens)
}

func (a *admin) revokeTokens(w http.ResponseWriter, r *http.Request, req *vendorapi.Request) error {
	return a.changeTokens(w, r, req, a.e.RevokeTokens)
}

// IssueToken issues a token for a principal without the login dance.
func (e *Emulator) IssueToken(ctx context.Context, req vendorapi.IssueRequest) (vendorapi.IssueResult, error) {
	v, _ := e.Vendor(req.Vendor)
	is, ok := v.(vendorapi.Issuer)
	if !ok {
		return vendorapi.IssueResult{}, fmt.Errorf("unknown vendor %q (the vendors are %s)", req.Vendor, strings.Join(e.VendorNames(), ", "))
	}
	if req.Lifetime < 0 || req.Lifetime > MaxLifetime {
		return vendorapi.IssueResult{}, fmt.Errorf("lifetime %v: want 0 (the vendor's own) to %v (100 years)", req.Lifetime, MaxLifetime)
	}
	return is.Issue(ctx, req)
}

func (a *admin) issueToken(w http.ResponseWriter, r *http.Request, rq *vendorapi.Request) error {
	var body struct {
		vendorapi.IssueRequest
		Lifetime string `json:"lifetime"`
	}
	if err := vendorapi.RequestJSON(rq, r, &body); err != nil {
		return err
	}
	req := body.IssueRequest
	if body.Lifetime != "" {
		d, err := time.ParseDuration(body.Lifetime)
		if err != nil || d <= 0 {
			return vendorapi.BadRequest(fmt.Sprintf("lifetime %q: want a positive Go duration such as 5m", body.Lifetime))
		}
		req.Lifetime = d
	}
	res, err := a.e.IssueToken(r.Context(), req)
	if isStoreFailure(err) {
		return err
	}
	if err != nil {
		return vendorapi.BadRequest(err.Error())
	}
	out := map[string]any{"vendor": req.Vendor, "token": res.Token, "token_info": tokenInfo(res.Record, a.e.clock.Now())}
	if res.RefreshToken != "" {
		out["refresh_token"] = res.RefreshToken
	}
	w.Header().Set("Cache-Control", "no-store")
	vendorapi.WriteJSON(w, http.StatusOK, out)
	return nil
}

// Requests returns the journal entries that match f, oldest first.
func (e *Emulator) Requests(f JournalFilter) []JournalEntry {
	return e.journal.entries(f)
}

// WaitForRequests returns once at least min journal entries match f, or when
// ctx ends, with what there is then.
func (e *Emulator) WaitForRequests(ctx context.Context, f JournalFilter, min int) []JournalEntry {
	p, err := e.journal.wait(ctx, f, min, math.MaxInt)
	if err != nil {
		// Past the cap of concurrent waits: look once, without waiting.
		return e.journal.entries(f)
	}
	return p.Entries
}

// EndWaits makes every journal long poll return at once with what it has,
// now and from then on: call it when the server starts shutting down
// (http.Server.RegisterOnShutdown), so that an idle long poll does not hold
// the shutdown up.
func (e *Emulator) EndWaits() { e.journal.end() }

// ClearJournal empties the journal.
func (e *Emulator) ClearJournal() { e.journal.clear() }

const maxJournalWait = 60 * time.Second

// journalAnswer is GET /_emulator/journal's answer: a page of entries, and
// the cursor (since) for the next page.
type journalAnswer struct {
	Entries []JournalEntry `json:"entries"`
	Next    int64          `json:"next"`
	More    bool           `json:"more"`
}

func (a *admin) getJournal(w http.ResponseWriter, r *http.Request, req *vendorapi.Request) error {
	q := r.URL.Query()
	f, err := parseJournalFilter(q)
	if err != nil {
		return err
	}
	limit := DefaultJournalPage
	if s := q.Get("limit"); s != "" {
		limit, _ = strconv.Atoi(s) // validated as 0 to MaxJournalPage
	}
	var page journalPage
	if limit == 0 {
		if q.Has("wait") {
			return vendorapi.BadRequest("limit 0 answers at once: it cannot wait")
		}
		page = journalPage{Entries: []JournalEntry{}, Next: a.e.journal.last()}
	} else if s := q.Get("wait"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 || d > maxJournalWait {
			return vendorapi.BadRequest(fmt.Sprintf("wait %q: want a Go duration from 0s to 60s", s))
		}
		min := 1
		if m := q.Get("min"); m != "" {
			min, _ = strconv.Atoi(m) // validated as 1 to MaxJournalPage
		}
		if min > limit {
			return vendorapi.BadRequest(fmt.Sprintf("min %d is more than limit %d", min, limit))
		}
		ctx, cancel := context.WithTimeout(r.Context(), d)
		page, err = a.e.journal.wait(ctx, f, min, limit)
		cancel()
		if errors.Is(err, errTooManyWaiters) {
			w.Header().Set("Retry-After", "1")
			return &vendorapi.WireError{Status: http.StatusTooManyRequests, Reason: "too_many_waiters", Message: fmt.Sprintf("%d journal long polls are waiting already, the most this emulator allows (-journal-waiters)", a.e.cfg.JournalWaiters)}
		}
	} else {
		page = a.e.journal.page(f, limit)
	}
	vendorapi.WriteJSON(w, http.StatusOK, journalAnswer(page))
	return nil
}

func (a *admin) clearJournal(w http.ResponseWriter, r *http.Request, req *vendorapi.Request) error {
	a.e.journal.clear()
	vendorapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "cleared"})
	return nil
}
