package emulator

import (
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/tokenemu/tokenemu/emulator/store"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
)

// DefaultJournalSize is how many requests the journal keeps by default.
const DefaultJournalSize = 10_000

// DefaultJournalBytes is how much memory the journal's entries take at most
// by default (their strings and fixed fields, as journalEntrySize counts).
const DefaultJournalBytes = 16 << 20

// DefaultJournalWaiters is how many journal long polls may wait at once by
// default; one more is answered 429.
const DefaultJournalWaiters = 64

// MaxJournalField is the longest principal, operation, reason or scenario
// name the journal keeps, in bytes; a longer one is cut, ending in "…(cut)".
const MaxJournalField = 256

// Journal pages: GET /_emulator/journal answers at most this many entries
// (limit), DefaultJournalPage when no limit is given.
const (
	DefaultJournalPage = 100
	MaxJournalPage     = 1000
)

// JournalEntry is one request as the journal keeps it. It never holds a secret:
// no body, no query string, no header value; a token only as its fingerprint,
// and a path with any segment that holds a secret replaced (journalPath).
type JournalEntry struct {
	Seq         int64     `json:"seq"`
	Time        time.Time `json:"time"`      // virtual clock (RFC 3339 with nanoseconds in JSON)
	RealTime    time.Time `json:"real_time"` // wall clock
	Vendor      string    `json:"vendor"`
	Operation   string    `json:"operation"` // operationId; "" when no route matched
	Method      string    `json:"method"`
	Path        string    `json:"path"`
	Status      int       `json:"status"`
	Principal   string    `json:"principal,omitempty"`
	Fingerprint string    `json:"token_fingerprint,omitempty"`
	Reason      string    `json:"reason,omitempty"`
	Scenario    string    `json:"scenario,omitempty"`
	Rule        *int      `json:"rule,omitempty"`
	LatencyMS   float64   `json:"latency_ms"`
}

// journalEntrySize is what an entry counts against the journal's bytes: its
// fixed part and its strings.
func journalEntrySize(e *JournalEntry) int64 {
	return int64(unsafe.Sizeof(*e)) + int64(len(e.Vendor)+len(e.Operation)+len(e.Method)+len(e.Path)+
		len(e.Principal)+len(e.Fingerprint)+len(e.Reason)+len(e.Scenario))
}

// JournalFilter selects journal entries; zero fields match everything.
type JournalFilter struct {
	Vendor    string
	Operation string
	Status    int
	Principal string
	Reason    string
	Scenario  string
	AfterSeq  int64     // only entries with a larger sequence number
	Since     time.Time // only entries at or after this virtual time
}

func (f JournalFilter) match(e *JournalEntry) bool {
	return (f.Vendor == "" || f.Vendor == e.Vendor) &&
		(f.Operation == "" || f.Operation == e.Operation) &&
		(f.Status == 0 || f.Status == e.Status) &&
		(f.Principal == "" || f.Principal == e.Principal) &&
		(f.Reason == "" || f.Reason == e.Reason) &&
		(f.Scenario == "" || f.Scenario == e.Scenario) &&
		e.Seq > f.AfterSeq &&
		(f.Since.IsZero() || !e.Time.Before(f.Since))
}

// journal is a bounded queue of requests, safe for concurrent use: at most
// maxEntries entries and maxBytes bytes (journalEntrySize), the oldest
// dropped first. Sequence numbers are consecutive, so an entry is found from
// its number without a search, and a reader that remembers the last number
// it saw reads only what came after. The ring grows to its size as requests
// arrive instead of being allocated whole.
type journal struct {
	mu         sync.Mutex
	maxEntries int
	maxBytes   int64
	ring       []JournalEntry
	head       int   // index of the oldest entry
	n          int   // entries held
	bytes      int64 // their journalEntrySize
	seq        int64 // the newest entry's number (entries are seq-n+1 … seq)
	waiters    []*journalWaiter
	maxWaiters int
	ended      bool // end was called: waits return at once
}

// journalWaiter is a wait under way: the append that brings its count of
// new matching entries to need closes ready, so a waiter wakes once, when it
// has what it waits for, and an append costs one filter check per waiter.
type journalWaiter struct {
	f     JournalFilter
	need  int
	got   int
	ready chan struct{}
	woken bool
}

func (w *journalWaiter) wake() {
	if !w.woken {
		w.woken = true
		close(w.ready)
	}
}

func newJournal(maxEntries int, maxBytes int64, maxWaiters int) *journal {
	return &journal{maxEntries: maxEntries, maxBytes: maxBytes, maxWaiters: maxWaiters,
		ring: make([]JournalEntry, min(maxEntries, 64))}
}

func (j *journal) add(e JournalEntry) {
	size := journalEntrySize(&e)
	j.mu.Lock()
	for j.n > 0 && (j.n == j.maxEntries || j.bytes+size > j.maxBytes) {
		j.dropOldest()
	}
	if j.n == len(j.ring) {
		grown := make([]JournalEntry, min(2*len(j.ring), j.maxEntries))
		j.copyOut(grown)
		j.ring, j.head = grown, 0
	}
	j.seq++
	e.Seq = j.seq
	j.ring[(j.head+j.n)%len(j.ring)] = e
	j.n++
	j.bytes += size
	for _, w := range j.waiters {
		if !w.woken && w.f.match(&e) {
			if w.got++; w.got >= w.need {
				w.wake()
			}
		}
	}
	j.mu.Unlock()
}

func (j *journal) dropOldest() {
	old := &j.ring[j.head]
	j.bytes -= journalEntrySize(old)
	*old = JournalEntry{}
	j.head = (j.head + 1) % len(j.ring)
	j.n--
}

// copyOut copies the entries, oldest first, to dst.
func (j *journal) copyOut(dst []JournalEntry) {
	first := min(j.n, len(j.ring)-j.head)
	copy(dst, j.ring[j.head:j.head+first])
	copy(dst[first:], j.ring[:j.n-first])
}

// at returns the entry numbered seq; the caller checks it is held.
func (j *journal) at(seq int64) *JournalEntry {
	i := int(seq - (j.seq - int64(j.n) + 1))
	return &j.ring[(j.head+i)%len(j.ring)]
}

// journalPage is one page of matching entries. Next is the cursor to pass
// as AfterSeq for the following page: every entry up to it has been looked
// at. More says whether entries after Next may match (the page is full).
type journalPage struct {
	Entries []JournalEntry
	Next    int64
	More    bool
}

// page returns up to limit entries that match f, oldest first, looking only
// at entries after f.AfterSeq.
func (j *journal) page(f JournalFilter, limit int) journalPage {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.pageLocked(f, limit)
}

func (j *journal) pageLocked(f JournalFilter, limit int) journalPage {
	p := journalPage{Entries: []JournalEntry{}, Next: max(f.AfterSeq, 0)}
	oldest := j.seq - int64(j.n) + 1
	for seq := max(f.AfterSeq+1, oldest); seq <= j.seq; seq++ {
		if len(p.Entries) == limit {
			p.More = true
			break
		}
		if e := j.at(seq); f.match(e) {
			p.Entries = append(p.Entries, *e)
		}
		p.Next = seq
	}
	if p.Next < j.seq && !p.More {
		p.Next = j.seq
	}
	return p
}

// entries returns every entry that matches f, oldest first.
func (j *journal) entries(f JournalFilter) []JournalEntry {
	return j.page(f, math.MaxInt).Entries
}

// errTooManyWaiters is wait's error when maxWaiters waits are under way.
var errTooManyWaiters = errors.New("too many journal long polls at once")

// wait returns the entries that match f (up to limit) once there are at
// least min of them, or when ctx ends or the journal ends its waits, with
// what there is then. Each wake looks only at the entries added since the
// last look.
func (j *journal) wait(ctx context.Context, f JournalFilter, min, limit int) (journalPage, error) {
	j.mu.Lock()
	out := j.pageLocked(f, limit)
	if len(out.Entries) >= min || out.More || j.ended {
		j.mu.Unlock()
		return out, nil
	}
	if len(j.waiters) >= j.maxWaiters {
		j.mu.Unlock()
		return journalPage{}, errTooManyWaiters
	}
	f.AfterSeq = out.Next
	w := &journalWaiter{f: f, need: min - len(out.Entries), ready: make(chan struct{})}
	j.waiters = append(j.waiters, w)
	j.mu.Unlock()

	select {
	case <-w.ready:
	case <-ctx.Done():
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.waiters = slices.DeleteFunc(j.waiters, func(x *journalWaiter) bool { return x == w })
	// Only what came after the first look is looked at again.
	more := j.pageLocked(f, limit-len(out.Entries))
	out.Entries = append(out.Entries, more.Entries...)
	out.Next, out.More = more.Next, more.More
	return out, nil
}

// JournalStats is how full the journal is, against its bounds.
type JournalStats struct {
	Entries    int   `json:"entries"`
	MaxEntries int   `json:"max_entries"`
	Bytes      int64 `json:"bytes"`
	MaxBytes   int64 `json:"max_bytes"`
	Waiters    int   `json:"waiters"`
	MaxWaiters int   `json:"max_waiters"`
	LastSeq    int64 `json:"last_seq"`
}

func (j *journal) stats() JournalStats {
	j.mu.Lock()
	defer j.mu.Unlock()
	return JournalStats{Entries: j.n, MaxEntries: j.maxEntries, Bytes: j.bytes, MaxBytes: j.maxBytes,
		Waiters: len(j.waiters), MaxWaiters: j.maxWaiters, LastSeq: j.seq}
}

// end makes every wait return at once with what it has, now and from now on
// (the server is shutting down).
func (j *journal) end() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.ended = true
	for _, w := range j.waiters {
		w.wake()
	}
}

// last is the sequence number of the newest entry (0 before the first).
func (j *journal) last() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.seq
}

func (j *journal) clear() {
	j.mu.Lock()
	defer j.mu.Unlock()
	clear(j.ring)
	j.head, j.n, j.bytes = 0, 0, 0
}

// journalMethod returns the method as a string of its own: r.Method shares
// the memory of the whole request line it was read from, which an entry
// would otherwise keep alive (60 KB for a 60 KB URL).
func journalMethod(m string) string {
	switch m {
	case http.MethodGet:
		return http.MethodGet
	case http.MethodPost:
		return http.MethodPost
	case http.MethodDelete:
		return http.MethodDelete
	case http.MethodHead:
		return http.MethodHead
	case http.MethodPut:
		return http.MethodPut
	case http.MethodPatch:
		return http.MethodPatch
	case http.MethodOptions:
		return http.MethodOptions
	}
	return strings.Clone(cutField(m))
}

// cutField cuts s to MaxJournalField bytes, on a character boundary, ending
// in "…(cut)".
func cutField(s string) string { return cutTo(s, MaxJournalField) }

// Fingerprint is how the journal and the admin plane name a token without
// showing it: the first 12 hex digits of its SHA-256.
func Fingerprint(h store.SecretHash) string {
	if h == (store.SecretHash{}) {
		return ""
	}
	return hex.EncodeToString(h[:6])
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
	// params are the path parameters of the template the request matched
	// (the router sets them here: a request copy for mux.SetURLVars was a
	// tenth of a parameterized request's allocations).
	params   vendorapi.Params
	paramBuf [1]vendorapi.Param // params' room, for the usual one
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (for scenario drops).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// recorderOf returns the request's statusRecorder (the guard makes one for
// every request), or a new one for a handler called without the guard.
func recorderOf(w http.ResponseWriter) *statusRecorder {
	if sr, ok := w.(*statusRecorder); ok {
		return sr
	}
	return &statusRecorder{ResponseWriter: w}
}

// record appends a request to the journal.
func (e *Emulator) record(r *http.Request, vendor string, rc *reqCtx, rec *statusRecorder, start time.Time) {
	entry := JournalEntry{
		RealTime: start.UTC(),
		Vendor:   vendor,
		Method:   journalMethod(r.Method),
		Path:     e.journalPath(r, rc),
		Status:   rec.status,
		Reason:   cutField(rec.Header().Get(vendorapi.ReasonHeader)),
	}
	if entry.Status == 0 {
		entry.Status = http.StatusOK
	}
	entry.Time = e.clock.Now()
	if rc != nil {
		if rc.op != nil {
			entry.Operation = rc.op.id
		}
		if p := rc.Principal; p != nil {
			entry.Principal = cutField(p.Principal)
			entry.Fingerprint = Fingerprint(p.Hash)
		}
		entry.Scenario, entry.Rule = cutField(rc.scenario), rc.rule
		if rc.dropped {
			entry.Status = 0 // no answer was sent
		}
	}
	entry.LatencyMS = float64(time.Since(start).Microseconds()) / 1000
	if rc != nil && rc.op != nil && rc.op.unjournaled && rec.status < 400 {
		return // polled or read so often that it would flood the journal; a refusal (a guessed admin token) is kept
	}
	e.journal.add(entry)
	e.requests.Add(1)
	if e.log.Enabled(r.Context(), slog.LevelDebug) {
		attrs := []slog.Attr{
			slog.String("vendor", entry.Vendor), slog.String("operation", entry.Operation),
			slog.String("method", entry.Method), slog.String("path", entry.Path), slog.Int("status", entry.Status),
			slog.String("principal", entry.Principal), slog.String("token", entry.Fingerprint),
			slog.String("reason", entry.Reason), slog.Float64("latency_ms", entry.LatencyMS),
		}
		if entry.Scenario != "" {
			attrs = append(attrs, slog.String("scenario", entry.Scenario))
		}
		e.log.LogAttrs(r.Context(), slog.LevelDebug, "request", attrs...)
	}
}

// parseJournalFilter reads vendor, operation, status, principal, reason,
// scenario and since from a query. since is a sequence number (entries after
// it) or an RFC 3339 virtual time.
func parseJournalFilter(q map[string][]string) (JournalFilter, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	f := JournalFilter{Vendor: get("vendor"), Operation: get("operation"),
		Principal: get("principal"), Reason: get("reason"), Scenario: get("scenario")}
	if s := get("status"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return f, vendorapi.BadRequest("status must be an HTTP status code")
		}
		f.Status = n
	}
	if s := get("since"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			f.AfterSeq = n
		} else if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			f.Since = t
		} else {
			return f, vendorapi.BadRequest(`since must be a sequence number or an RFC 3339 time`)
		}
	}
	return f, nil
}
