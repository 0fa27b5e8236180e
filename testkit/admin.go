package testkit

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenemu/tokenemu/emulator"
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

func (a *Admin) clock(ctx context.Context, method, path string, body any) (time.Time, error) {
	var out clockBody
	err := a.c.do(ctx, method, "/clock"+path, body, &out)
	return out.Now, err
}

// Now returns the virtual time.
func (a *Admin) Now(ctx context.Context) (time.Time, error) {
	if a.c.emu != nil {
		return a.c.emu.Clock().Now(), nil // the same clock, without a request
	}
	return a.clock(ctx, "GET", "", nil)
}

// Advance moves the clock forward by d and returns the new time.
func (a *Admin) Advance(ctx context.Context, d time.Duration) (time.Time, error) {
	return a.clock(ctx, "POST", "/advance", map[string]string{"duration": d.String()})
}

// SetClock moves the clock to t (forwards or backwards).
func (a *Admin) SetClock(ctx context.Context, t time.Time) (time.Time, error) {
	return a.clock(ctx, "POST", "/set", map[string]string{"time": t.UTC().Format(time.RFC3339Nano)})
}

// Freeze stops the clock.
func (a *Admin) Freeze(ctx context.Context) (time.Time, error) {
	return a.clock(ctx, "POST", "/freeze", nil)
}

// Resume lets a frozen clock run again.
func (a *Admin) Resume(ctx context.Context) (time.Time, error) {
	return a.clock(ctx, "POST", "/resume", nil)
}

// Expire makes a token expire now.
func (a *Admin) Expire(ctx context.Context, token string) error {
	return a.c.do(ctx, "POST", "/tokens/expire", emulator.TokenSelector{Token: token}, nil)
}

// Revoke revokes a token.
func (a *Admin) Revoke(ctx context.Context, token string) error {
	return a.c.do(ctx, "POST", "/tokens/revoke", emulator.TokenSelector{Token: token}, nil)
}

type tokenList struct {
	Tokens []emulator.TokenInfo `json:"tokens"`
	Next   string               `json:"next"`
}

// Tokens lists the tokens of a vendor ("" for all) and a principal ("" for
// all), every page of them.
func (a *Admin) Tokens(ctx context.Context, vendor, principal string) ([]emulator.TokenInfo, error) {
	q := url.Values{}
	if vendor != "" {
		q.Set("vendor", vendor)
	}
	if principal != "" {
		q.Set("principal", principal)
	}
	q.Set("limit", strconv.Itoa(emulator.MaxTokenPage))
	all := []emulator.TokenInfo{}
	for {
		var page tokenList
		if err := a.c.do(ctx, "GET", "/tokens?"+q.Encode(), nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Tokens...)
		if page.Next == "" {
			return all, nil
		}
		q.Set("after", page.Next)
	}
}

// IssueToken issues a token for a principal without logging in.
func (a *Admin) IssueToken(ctx context.Context, vendor, principal string, opts ...IssueOption) (Issued, error) {
	body := issueBody{Vendor: vendor, Principal: principal}
	for _, o := range opts {
		if o.apply != nil {
			o.apply(&body)
		}
	}
	var out Issued
	err := a.c.do(ctx, "POST", "/tokens/issue", body, &out)
	return out, err
}

// Apply activates a scenario.
func (a *Admin) Apply(ctx context.Context, s scenarios.Scenario) error {
	return a.c.do(ctx, "POST", "/scenarios", s, nil)
}

// ApplyBuiltin activates a built-in scenario, narrowed to a vendor when one is given.
func (a *Admin) ApplyBuiltin(ctx context.Context, name string, vendor ...string) error {
	body := map[string]string{"name": name}
	if len(vendor) > 0 {
		body["vendor"] = vendor[0]
	}
	return a.c.do(ctx, "POST", "/scenarios", body, nil)
}

// RemoveScenario deactivates one scenario.
func (a *Admin) RemoveScenario(ctx context.Context, name string) error {
	return a.c.do(ctx, "DELETE", "/scenarios/"+url.PathEscape(name), nil, nil)
}

// ClearScenarios deactivates every scenario.
func (a *Admin) ClearScenarios(ctx context.Context) error {
	return a.c.do(ctx, "DELETE", "/scenarios", nil, nil)
}

// Requests returns the journal entries that match f, oldest first.
func (a *Admin) Requests(ctx context.Context, f Filter) ([]emulator.JournalEntry, error) {
	q := f.query()
	q.Set("limit", strconv.Itoa(emulator.MaxJournalPage))
	all := []emulator.JournalEntry{}
	for {
		var page journalBody
		if err := a.c.do(ctx, "GET", "/journal?"+q.Encode(), nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Entries...)
		if !page.More {
			return all, nil
		}
		q.Set("since", strconv.FormatInt(page.Next, 10))
	}
}

// Cursor returns the number of the journal's newest entry: a Filter.Since
// for the requests made from now on.
func (a *Admin) Cursor(ctx context.Context) (int64, error) {
	var page journalBody
	err := a.c.do(ctx, "GET", "/journal?limit=0", nil, &page)
	return page.Next, err
}

// WaitForRequest returns the first entry that matches f made after f.Since
// (with Since 0, after this call), waiting until ctx ends.
func (a *Admin) WaitForRequest(ctx context.Context, f Filter) (emulator.JournalEntry, error) {
	if f.Since == 0 {
		cur, err := a.Cursor(ctx)
		if err != nil {
			return emulator.JournalEntry{}, err
		}
		f.Since = cur
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
		q := f.query()
		q.Set("limit", "1")
		q.Set("wait", wait.Round(time.Millisecond).String())
		b, err := a.c.call(ctx, "GET", "/journal?"+q.Encode(), nil)
		if err != nil {
			if ctx.Err() != nil {
				return emulator.JournalEntry{}, ctx.Err()
			}
			return emulator.JournalEntry{}, err
		}
		var out journalBody
		if err := json.Unmarshal(b, &out); err != nil {
			return emulator.JournalEntry{}, err
		}
		if len(out.Entries) > 0 {
			return out.Entries[0], nil
		}
		f.Since = out.Next // every entry up to it has been looked at
	}
}

// Reset forgets every token, reloads the fixtures, puts the clock back to its
// start, empties the journal and restores the start-up scenarios.
func (a *Admin) Reset(ctx context.Context) error {
	return a.c.do(ctx, "POST", "/reset", nil, nil)
}

// CreatePassportClient adds a Passport client (see Kit.CreatePassportClient).
func (a *Admin) CreatePassportClient(ctx context.Context, spec passport.ClientSpec) (passport.ClientInfo, error) {
	var out passport.ClientInfo
	err := a.c.do(ctx, "POST", "/passport/clients", spec, &out)
	return out, err
}

// RotatePassportSecret gives a Passport client a new random secret and returns it.
func (a *Admin) RotatePassportSecret(ctx context.Context, clientID string) (string, error) {
	var out passport.ClientInfo
	err := a.c.do(ctx, "POST", "/passport/clients/"+url.PathEscape(clientID)+"/secret", struct{}{}, &out)
	return out.ClientSecret, err
}

// BrassOTP returns the one-time password the emulator sent a Brass user
// (its stand-in for the mailbox).
func (a *Admin) BrassOTP(ctx context.Context, username string) (string, error) {
	var out struct {
		OTP string `json:"otp"`
	}
	err := a.c.do(ctx, "GET", "/brass/otp?username="+url.QueryEscape(username), nil, &out)
	return out.OTP, err
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
	b.WriteString("testkit: the test failed; the emulator's journal, last entries:\n")
	var page journalBody
	if err := c.do(ctx, "GET", "/journal?limit=0", nil, &page); err != nil {
		fmt.Fprintf(&b, "  (unreadable: %v)\n", err)
	} else {
		q := url.Values{"since": {strconv.FormatInt(max(0, page.Next-dumpEntries), 10)}, "limit": {strconv.Itoa(dumpEntries)}}
		if err := c.do(ctx, "GET", "/journal?"+q.Encode(), nil, &page); err != nil {
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
		i := strings.IndexByte(string(r.part), '\n')
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
