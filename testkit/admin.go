package testkit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/adminclient"
	"github.com/tokenemu/tokenemu/emulator/passport"
	"github.com/tokenemu/tokenemu/scenarios"
)

// Admin is a kit's controls in the form that returns an error (an
// *AdminError when the emulator refused the call) instead of failing the test:
// for a test that asserts that a control fails, or code that is not a test.
type Admin struct{ c *core }

type clockBody struct {
	Now    time.Time `json:"now"`
	Frozen bool      `json:"frozen"`
}

func (a *Admin) clock(resp *http.Response, err error) (time.Time, error) {
	var out clockBody
	err = a.c.finish(resp, err)(&out)
	return out.Now, err
}

// Now returns the virtual time.
func (a *Admin) Now(ctx context.Context) (time.Time, error) {
	if a.c.emu != nil {
		return a.c.emu.Clock().Now(), nil // the same clock, without a request
	}
	return a.clock(a.c.api.GetClock(ctx))
}

// Advance moves the clock forward by d and returns the new time.
func (a *Admin) Advance(ctx context.Context, d time.Duration) (time.Time, error) {
	return a.clock(a.c.api.AdvanceClock(ctx, adminclient.AdvanceClockJSONRequestBody{Duration: ptr(d.String())}))
}

// SetClock moves the clock to t (forwards or backwards).
func (a *Admin) SetClock(ctx context.Context, t time.Time) (time.Time, error) {
	return a.clock(a.c.api.SetClock(ctx, adminclient.SetClockJSONRequestBody{Time: t.UTC()}))
}

// Freeze stops the clock.
func (a *Admin) Freeze(ctx context.Context) (time.Time, error) {
	return a.clock(a.c.api.FreezeClock(ctx))
}

// Resume lets a frozen clock run again.
func (a *Admin) Resume(ctx context.Context) (time.Time, error) {
	return a.clock(a.c.api.ResumeClock(ctx))
}

// Expire makes a token expire now.
func (a *Admin) Expire(ctx context.Context, token string) error {
	return a.c.finish(a.c.api.ExpireTokens(ctx, adminclient.ExpireTokensJSONRequestBody{Token: &token}))(nil)
}

// Revoke revokes a token.
func (a *Admin) Revoke(ctx context.Context, token string) error {
	return a.c.finish(a.c.api.RevokeTokens(ctx, adminclient.RevokeTokensJSONRequestBody{Token: &token}))(nil)
}

type tokenList struct {
	Tokens []emulator.TokenInfo `json:"tokens"`
	Next   string               `json:"next"`
}

// Tokens lists the tokens of a vendor ("" for all) and a principal ("" for
// all), every page of them.
func (a *Admin) Tokens(ctx context.Context, vendor, principal string) ([]emulator.TokenInfo, error) {
	p := &adminclient.ListTokensParams{Principal: opt(principal), Limit: ptr(emulator.MaxTokenPage)}
	if vendor != "" {
		p.Vendor = ptr(adminclient.Vendor(vendor))
	}
	all := []emulator.TokenInfo{}
	for {
		var page tokenList
		if err := a.c.finish(a.c.api.ListTokens(ctx, p))(&page); err != nil {
			return nil, err
		}
		all = append(all, page.Tokens...)
		if page.Next == "" {
			return all, nil
		}
		p.After = &page.Next
	}
}

// IssueToken issues a token for a principal without logging in.
func (a *Admin) IssueToken(ctx context.Context, vendor, principal string, opts ...IssueOption) (Issued, error) {
	var o issueBody
	for _, opt := range opts {
		if opt.apply != nil {
			opt.apply(&o)
		}
	}
	body := adminclient.IssueTokenJSONRequestBody{Vendor: adminclient.Vendor(vendor), Principal: principal,
		Lifetime: opt(o.Lifetime), Role: opt(o.Role), Name: opt(o.Name), AccountId: opt(o.AccountID)}
	if o.Kind != "" {
		body.Kind = ptr(adminclient.IssueTokenJSONBodyKind(o.Kind))
	}
	var out Issued
	err := a.c.finish(a.c.api.IssueToken(ctx, body))(&out)
	return out, err
}

// Apply activates a scenario.
func (a *Admin) Apply(ctx context.Context, s scenarios.Scenario) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return a.c.finish(a.c.api.ApplyScenariosWithBody(ctx, nil, "application/json", bytes.NewReader(b)))(nil)
}

// ApplyBuiltin activates a built-in scenario, narrowed to a vendor when one is given.
func (a *Admin) ApplyBuiltin(ctx context.Context, name string, vendor ...string) error {
	body := map[string]any{"name": name}
	if len(vendor) > 0 {
		body["vendor"] = vendor[0]
	}
	// The typed form of this union body marshals to {} (oapi-codegen's
	// request type does not keep the union's MarshalJSON): send the JSON.
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	return a.c.finish(a.c.api.ApplyScenariosWithBody(ctx, nil, "application/json", bytes.NewReader(b)))(nil)
}

// FailNext makes the next request to one operation of a vendor fail with
// status (see Kit.FailNext).
func (a *Admin) FailNext(ctx context.Context, vendor, operationID string, status int) error {
	return a.Apply(ctx, scenarios.Scenario{
		Name:        fmt.Sprintf("fail-next-%d-%s", a.c.faults.Add(1), a.c.id),
		Description: fmt.Sprintf("%s.%s answers %d once", vendor, operationID, status),
		Rules: []scenarios.Rule{{
			Match:   scenarios.Match{Vendor: vendor, Operation: operationID},
			Trigger: scenarios.Trigger{First: 1},
			Action:  scenarios.Action{Status: status},
		}},
	})
}

// RemoveScenario deactivates one scenario.
func (a *Admin) RemoveScenario(ctx context.Context, name string) error {
	return a.c.finish(a.c.api.RemoveScenario(ctx, name))(nil)
}

// ClearScenarios deactivates every scenario.
func (a *Admin) ClearScenarios(ctx context.Context) error {
	return a.c.finish(a.c.api.ClearScenarios(ctx))(nil)
}

// journalParams is f as the journal's query.
func (f Filter) params() *adminclient.GetJournalParams {
	p := &adminclient.GetJournalParams{Operation: opt(f.Operation), Principal: opt(f.Principal),
		Reason: opt(f.Reason), Scenario: opt(f.Scenario)}
	if f.Vendor != "" {
		p.Vendor = ptr(adminclient.GetJournalParamsVendor(f.Vendor))
	}
	if f.Status != 0 {
		p.Status = &f.Status
	}
	if f.After.seq > 0 {
		p.Since = ptr(strconv.FormatInt(f.After.seq, 10))
	}
	return p
}

// Requests returns the journal entries that match f, oldest first.
func (a *Admin) Requests(ctx context.Context, f Filter) ([]emulator.JournalEntry, error) {
	p := f.params()
	p.Limit = ptr(emulator.MaxJournalPage)
	all := []emulator.JournalEntry{}
	for {
		var page journalBody
		if err := a.c.finish(a.c.api.GetJournal(ctx, p))(&page); err != nil {
			return nil, err
		}
		all = append(all, page.Entries...)
		if !page.More {
			return all, nil
		}
		p.Since = ptr(strconv.FormatInt(page.Next, 10))
	}
}

// Cursor returns the journal's point now (its newest entry): a
// Filter.After for the requests made from now on.
func (a *Admin) Cursor(ctx context.Context) (Cursor, error) {
	var page journalBody
	err := a.c.finish(a.c.api.GetJournal(ctx, &adminclient.GetJournalParams{Limit: ptr(0)}))(&page)
	return Cursor{seq: page.Next, set: err == nil}, err
}

// WaitForRequest returns the first entry that matches f made after f.After
// (left zero, after this call), waiting until ctx ends.
func (a *Admin) WaitForRequest(ctx context.Context, f Filter) (emulator.JournalEntry, error) {
	if !f.After.set {
		cur, err := a.Cursor(ctx)
		if err != nil {
			return emulator.JournalEntry{}, err
		}
		f.After = cur
	}
	for {
		wait := 30 * time.Second
		if dl, ok := ctx.Deadline(); ok {
			wait = min(wait, time.Until(dl))
		}
		if wait <= 0 {
			// The deadline has passed, though ctx may not say so yet.
			return emulator.JournalEntry{}, context.DeadlineExceeded
		}
		p := f.params()
		p.Limit, p.Wait = ptr(1), ptr(wait.Round(time.Millisecond).String())
		var out journalBody
		if err := a.c.finish(a.c.api.GetJournal(ctx, p))(&out); err != nil {
			if ctx.Err() != nil {
				return emulator.JournalEntry{}, ctx.Err()
			}
			return emulator.JournalEntry{}, err
		}
		if len(out.Entries) > 0 {
			return out.Entries[0], nil
		}
		f.After = Cursor{seq: out.Next, set: true} // every entry up to it has been looked at
	}
}

// Reset forgets every token, reloads the fixtures, puts the clock back to its
// start, empties the journal and restores the start-up scenarios.
func (a *Admin) Reset(ctx context.Context) error {
	return a.c.finish(a.c.api.Reset(ctx))(nil)
}

// CreatePassportClient adds a Passport client (see Kit.CreatePassportClient).
func (a *Admin) CreatePassportClient(ctx context.Context, spec passport.ClientSpec) (passport.ClientInfo, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return passport.ClientInfo{}, err
	}
	var out passport.ClientInfo
	err = a.c.finish(a.c.api.CreatePassportClientWithBody(ctx, "application/json", bytes.NewReader(b)))(&out)
	return out, err
}

// RotatePassportSecret gives a Passport client a new random secret and returns it.
func (a *Admin) RotatePassportSecret(ctx context.Context, clientID string) (string, error) {
	var out passport.ClientInfo
	err := a.c.finish(a.c.api.RotatePassportSecret(ctx, clientID, adminclient.RotatePassportSecretJSONRequestBody{}))(&out)
	return out.ClientSecret, err
}

// BrassOTP returns the one-time password the emulator sent a Brass user
// (its stand-in for the mailbox).
func (a *Admin) BrassOTP(ctx context.Context, username string) (string, error) {
	var out struct {
		OTP string `json:"otp"`
	}
	err := a.c.finish(a.c.api.GetBrassOTP(ctx, &adminclient.GetBrassOTPParams{Username: username}))(&out)
	return out.OTP, err
}

func ptr[T any](v T) *T { return &v }

// opt is s, or nil when s is empty (a parameter left out).
func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// How much of the emulator a failed test gets to see.
const (
	dumpEntries = 20  // the journal's last entries
	dumpLines   = 30  // the log's last lines
	maxLogLines = 200 // the log lines an in-process kit keeps
)

// watch makes a failure of tb print the journal's last entries and the
// emulator's last log lines, once per test.
func (c *core) watch(tb testing.TB) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.watched[tb] {
		return
	}
	c.watched[tb] = true
	first := len(c.watched) == 1 // the test that started the kit
	tb.Cleanup(func() {
		c.mu.Lock()
		delete(c.watched, tb)
		c.mu.Unlock()
		// A failed subtest fails its parent too: the parent prints
		// nothing more when a subtest has printed already.
		if !tb.Failed() || (first && c.dumped.Load() > 0) {
			return
		}
		c.dumped.Add(1)
		tb.Log(c.dump())
	})
}

// dump is the journal's last entries and the log's last lines, for a failed test.
func (c *core) dump() string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var b strings.Builder
	if c.tenant != "" {
		fmt.Fprintf(&b, "testkit: the test failed; its tenant's (%s) journal, last entries:\n", c.tenant)
	} else {
		b.WriteString("testkit: the test failed; the emulator's journal, last entries:\n")
	}
	a := &Admin{c: c}
	if cur, err := a.Cursor(ctx); err != nil {
		fmt.Fprintf(&b, "  (unreadable: %v)\n", err)
	} else {
		var page journalBody
		p := &adminclient.GetJournalParams{Since: ptr(strconv.FormatInt(max(0, cur.seq-dumpEntries), 10)), Limit: ptr(dumpEntries)}
		if err := c.finish(c.api.GetJournal(ctx, p))(&page); err != nil {
			fmt.Fprintf(&b, "  (unreadable: %v)\n", err)
		}
		for _, e := range page.Entries {
			fmt.Fprintf(&b, "  #%d %s %s %s %s → %d", e.Seq, e.Time.Format(time.RFC3339), e.Vendor, e.Method, e.Path, e.Status)
			for _, kv := range [][2]string{{"operation", e.Operation}, {"principal", e.Principal}, {"reason", e.Reason}, {"scenario", e.Scenario}} {
				if kv[1] != "" {
					fmt.Fprintf(&b, " %s=%s", kv[0], kv[1])
				}
			}
			b.WriteByte('\n')
		}
		if len(page.Entries) == 0 {
			b.WriteString("  (none)\n")
		}
	}
	if c.logs != nil {
		b.WriteString("the emulator's log, last lines:\n")
		text, err := c.logs(ctx)
		if err != nil {
			fmt.Fprintf(&b, "  (unreadable: %v)\n", err)
		}
		if strings.TrimSpace(text) == "" {
			b.WriteString("  (none)\n")
		}
		lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
		for _, l := range lines[max(0, len(lines)-dumpLines):] {
			if l != "" {
				b.WriteString("  " + l + "\n")
			}
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// lineRing keeps the last max lines written to it (an in-process emulator's log).
type lineRing struct {
	mu    sync.Mutex
	max   int
	lines []string
	part  []byte // a line not yet ended
}

func (r *lineRing) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.part = append(r.part, p...)
	for {
		i := bytes.IndexByte(r.part, '\n')
		if i < 0 {
			break
		}
		r.lines = append(r.lines, string(r.part[:i]))
		r.part = r.part[i+1:]
		if len(r.lines) > r.max {
			r.lines = r.lines[len(r.lines)-r.max:]
		}
	}
	return len(p), nil
}

func (r *lineRing) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}
