package emulator

import (
	"context"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// DefaultJournalSize is how many requests the journal keeps by default.
const DefaultJournalSize = 10_000

// JournalEntry is one request as the journal keeps it. It never holds a secret:
// no body, no query string, no header value; a token only as its fingerprint.
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

// JournalFilter selects journal entries; zero fields match everything.
type JournalFilter struct {
	Vendor    string
	Operation string
	Status    int
	AfterSeq  int64     // only entries with a larger sequence number
	Since     time.Time // only entries at or after this virtual time
}

func (f JournalFilter) match(e *JournalEntry) bool {
	return (f.Vendor == "" || f.Vendor == e.Vendor) &&
		(f.Operation == "" || f.Operation == e.Operation) &&
		(f.Status == 0 || f.Status == e.Status) &&
		e.Seq > f.AfterSeq &&
		(f.Since.IsZero() || !e.Time.Before(f.Since))
}

// journal is a bounded ring of requests, safe for concurrent use. The ring
// grows to its size as requests arrive instead of being allocated whole: the
// default 10,000 entries are 2.5 MB, which most test emulators never fill.
type journal struct {
	mu      sync.Mutex
	size    int
	ring    []JournalEntry // len(ring) == next until the ring is full
	next    int            // index of the next write
	full    bool
	seq     int64
	changed chan struct{} // made by a waiter, closed (and dropped) by the next append
}

func newJournal(size int) *journal {
	return &journal{size: size, ring: make([]JournalEntry, 0, min(size, 64))}
}

func (j *journal) add(e JournalEntry) {
	j.mu.Lock()
	j.seq++
	e.Seq = j.seq
	if !j.full {
		if len(j.ring) == cap(j.ring) {
			grown := make([]JournalEntry, len(j.ring), min(2*cap(j.ring), j.size))
			copy(grown, j.ring)
			j.ring = grown
		}
		j.ring = j.ring[:j.next+1]
	}
	j.ring[j.next] = e
	j.next++
	if j.next == j.size {
		j.next, j.full = 0, true
	}
	ch := j.changed
	j.changed = nil
	j.mu.Unlock()
	if ch != nil {
		close(ch) // wake the long polls; no allocation when nobody waits
	}
}

// entries returns the entries that match f, oldest first, and a channel closed
// on the next append.
func (j *journal) entries(f JournalFilter) ([]JournalEntry, <-chan struct{}) {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := []JournalEntry{}
	visit := func(es []JournalEntry) {
		for i := range es {
			if f.match(&es[i]) {
				out = append(out, es[i])
			}
		}
	}
	if j.full {
		visit(j.ring[j.next:])
	}
	visit(j.ring[:j.next])
	if j.changed == nil {
		j.changed = make(chan struct{})
	}
	return out, j.changed
}

// wait returns the matching entries once there are at least min of them, or
// when ctx ends (with what there is then).
func (j *journal) wait(ctx context.Context, f JournalFilter, min int) []JournalEntry {
	for {
		es, changed := j.entries(f)
		if len(es) >= min {
			return es
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return es
		}
	}
}

func (j *journal) clear() {
	j.mu.Lock()
	defer j.mu.Unlock()
	clear(j.ring)
	j.ring = j.ring[:0]
	j.next, j.full = 0, false
}

// Fingerprint is how the journal and the admin plane name a token without
// showing it: the first 12 hex digits of its SHA-256.
func Fingerprint(h SecretHash) string {
	if h == (SecretHash{}) {
		return ""
	}
	return hex.EncodeToString(h[:6])
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
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
		Method:   r.Method,
		Path:     e.journalPath(r, rc),
		Status:   rec.status,
		Reason:   rec.Header().Get(ReasonHeader),
	}
	if entry.Status == 0 {
		entry.Status = http.StatusOK
	}
	entry.Time = e.clock.Now()
	if rc != nil {
		if rc.op != nil {
			entry.Operation = rc.op.id
		}
		if p := rc.principal; p != nil {
			entry.Principal = p.Principal
			entry.Fingerprint = Fingerprint(p.Hash)
		}
		entry.Scenario, entry.Rule = rc.scenario, rc.rule
		if rc.dropped {
			entry.Status = 0 // no answer was sent
		}
	}
	entry.LatencyMS = float64(time.Since(start).Microseconds()) / 1000
	if vendor == "admin" && (entry.Operation == "getJournal" || entry.Operation == "health") {
		return // reading the journal or polling health would flood it
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

// parseJournalFilter reads vendor, operation, status and since from a query.
// since is a sequence number (entries after it) or an RFC 3339 virtual time.
func parseJournalFilter(q map[string][]string) (JournalFilter, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	f := JournalFilter{Vendor: get("vendor"), Operation: get("operation")}
	if s := get("status"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return f, badRequest("status must be an HTTP status code")
		}
		f.Status = n
	}
	if s := get("since"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			f.AfterSeq = n
		} else if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			f.Since = t
		} else {
			return f, badRequest(`since must be a sequence number or an RFC 3339 time`)
		}
	}
	return f, nil
}
