package emulator

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/tokenemu/tokenemu/emulator/store"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
	"github.com/tokenemu/tokenemu/scenarios"
)

// StateConfig makes an emulator's state durable: it is restored from File at
// start and saved to it every Interval (when something was served since the
// last save) and at Close. Saves are atomic: a temporary file beside File is
// written, synced and renamed over it.
type StateConfig struct {
	// File is where the state is kept; empty means memory only.
	File string
	// Interval is how often the state is saved. Zero means DefaultStateInterval.
	Interval time.Duration
	// Fresh starts with fresh state when File cannot be restored (corrupt,
	// another version, another seed or fixtures) instead of failing; the
	// file is overwritten at the next save.
	Fresh bool
}

// DefaultStateInterval is how often state is saved when StateConfig.Interval is zero.
const DefaultStateInterval = 5 * time.Second

// StateVersion is the version of the state file format this build reads and writes.
const StateVersion = 2

const stateFormat = "tokenemu-state"

// ErrStateLocked is wrapped by New's error when another process keeps the
// same state file.
var ErrStateLocked = errors.New("state file locked")

// StateStatus is how the state file fares: GET /_emulator/state shows it,
// and healthz answers 503 "degraded" while the last save failed.
type StateStatus struct {
	File        string    `json:"file"`
	Saves       int64     `json:"saves"`
	Failures    int64     `json:"failures"`
	LastSavedAt time.Time `json:"last_saved_at,omitzero"` // real time
	LastBytes   int64     `json:"last_bytes"`
	LastError   string    `json:"last_error,omitempty"` // the last save's error; empty once a save succeeds
}

// prepareStateFile resolves a symlinked state path to the file it names (so
// that saves replace the target, not the link), checks that its directory
// takes new files, and locks it.
func (e *Emulator) prepareStateFile() error {
	file := e.cfg.State.File
	if target, err := filepath.EvalSymlinks(file); err == nil {
		file = target
	} else if dir, err := filepath.EvalSymlinks(filepath.Dir(file)); err == nil {
		file = filepath.Join(dir, filepath.Base(file)) // a link to a file not made yet is followed at the first save
		if target, err := os.Readlink(e.cfg.State.File); err == nil {
			if !filepath.IsAbs(target) {
				target = filepath.Join(dir, target)
			}
			file = target
		}
	}
	e.stateFile = file
	if _, err := writeFileAtomic(file+".check", func(w io.Writer) error { _, err := io.WriteString(w, "tokenemu\n"); return err }); err != nil {
		return fmt.Errorf("state: %s cannot be written (%v); -state needs a directory this process can write", file, err)
	}
	_ = os.Remove(file + ".check")
	lock, err := lockStateFile(file)
	if err != nil {
		return err
	}
	e.stateLock = lock
	return nil
}

// StateStatus reports how the state file fares (zero without one).
func (e *Emulator) StateStatus() StateStatus {
	e.statusMu.Lock()
	defer e.statusMu.Unlock()
	return e.stateStatus
}

// ErrStateMismatch is wrapped by a restore that refuses a state file because
// it is of another format or version, or was saved with other fixtures or seed.
var ErrStateMismatch = errors.New("state file does not fit this emulator")

// savedState is the state file. Token values are never in it: tokens are kept
// by their SHA-256, as in memory.
type savedState struct {
	Format  string       `json:"format"`
	Version int          `json:"version"`
	SavedAt time.Time    `json:"saved_at"` // real time
	Config  string       `json:"config"`   // fingerprint of the seed and fixtures
	Clock   savedClock   `json:"clock"`
	Tokens  []savedToken `json:"tokens"`
	// Vendors holds each vendor's own state (vendorapi.Persister), by name.
	Vendors   map[string]json.RawMessage `json:"vendors"`
	Scenarios []scenarios.Saved          `json:"scenarios"`
	// Tenants are the tenants of the emulator at the root (NewTenants),
	// each with what it was made from and its own state.
	Tenants []savedTenant `json:"tenants,omitempty"`

	tokens iter.Seq2[store.Token, error] // the store's snapshot, to write Tokens from (writeState)
}

type savedTenant struct {
	ID          string            `json:"id"`
	Seed        int64             `json:"seed,omitempty"`
	Clock       time.Time         `json:"clock,omitzero"`
	Fixtures    json.RawMessage   `json:"fixtures,omitempty"`
	Scenarios   []json.RawMessage `json:"scenarios,omitempty"`
	Settings    map[string]string `json:"settings,omitempty"`
	CreatedAt   time.Time         `json:"created_at"`
	TokenSHA256 string            `json:"token_sha256,omitempty"` // its own admin token's, when it has one
	State       json.RawMessage   `json:"state"`                  // a state file of its own
}

type savedClock struct {
	Now    time.Time `json:"now"`    // virtual time when saved
	Offset int64     `json:"offset"` // virtual minus real, in nanoseconds
	Frozen bool      `json:"frozen"`
}

type savedToken struct {
	ID           string     `json:"id"`
	Vendor       string     `json:"vendor"`
	Kind         store.Kind `json:"kind"`
	SHA256       string     `json:"sha256"`
	Principal    string     `json:"principal"`
	AccountID    string     `json:"account_id,omitempty"`
	Scopes       []string   `json:"scopes,omitempty"`
	Roles        []string   `json:"roles,omitempty"`
	Family       string     `json:"family,omitempty"`
	PairID       string     `json:"pair_id,omitempty"`
	IssuedAt     time.Time  `json:"issued_at"`
	ExpiresAt    time.Time  `json:"expires_at,omitzero"`
	OwnExpires   time.Time  `json:"own_expires_at,omitzero"` // a JWT's own expiry, which an admin expire does not move
	RevokedAt    time.Time  `json:"revoked_at,omitzero"`
	RevokeReason string     `json:"revoke_reason,omitempty"`
}

// configFingerprint identifies the seed and fixtures, which decide the users,
// clients, keys and fake data that saved tokens refer to.
func (e *Emulator) configFingerprint() string {
	h := sha256.New()
	fmt.Fprintf(h, "seed %d\n", e.cfg.Seed)
	for _, s := range e.setups {
		fmt.Fprintf(h, "%s %d %s\n", s.def.Name, len(s.fixturesJSON), s.fixturesJSON)
	}
	sum := h.Sum(nil)
	return hex.EncodeToString(sum[:])
}

// snapshot copies the state and returns it with the number of requests
// served when it was taken. It holds the state lock for writing while it
// copies, so no request is half-way through a handler, and converts and
// encodes nothing under it.
func (e *Emulator) snapshot() (*savedState, int64, error) {
	e.stateMu.Lock()
	unlocked := false
	defer func() {
		if !unlocked {
			e.stateMu.Unlock()
		}
	}()
	now, frozen := e.clock.Now(), e.clock.Frozen()
	st := &savedState{
		Format: stateFormat, Version: StateVersion, SavedAt: time.Now().UTC(), Config: e.configFingerprint(),
		Clock: savedClock{Now: now, Offset: int64(now.Sub(e.clock.real())), Frozen: frozen},
	}
	// The tokens are copied in memory here, under the lock, and written out
	// one by one after it (writeState): a save of 200,000 tokens held every
	// request up for 693 ms when it listed them under the lock.
	tokens, err := e.store.Snapshot(context.Background())
	if err != nil {
		return nil, 0, err
	}
	st.tokens = tokens
	st.Vendors = map[string]json.RawMessage{}
	for _, v := range e.vendors {
		if p, ok := v.(vendorapi.Persister); ok {
			b, err := p.Save()
			if err != nil {
				return nil, 0, fmt.Errorf("save %s: %w", v.Name(), err)
			}
			st.Vendors[v.Name()] = b
		}
	}
	st.Scenarios = e.scenarios.Save()
	served := e.requests.Load()
	// Tenants its state file held and no NewTenants has made (a Go user's
	// emulator without them) are kept as they were.
	st.Tenants = e.savedTenants
	e.stateMu.Unlock()
	unlocked = true
	if t := e.tenants.Load(); t != nil {
		// Counted before they are copied: a change made meanwhile is
		// saved by the next save.
		served += t.changes()
		if st.Tenants, err = t.save(); err != nil {
			return nil, 0, err
		}
	}
	return st, served, nil
}

// appendSavedToken appends t as savedToken's JSON, field for field as
// encoding/json writes it (TestAppendSavedTokenMatchesEncodingJSON), without
// reflection: a save of many tokens spends its time here.
func appendSavedToken(b []byte, t store.Token) []byte {
	str := func(b []byte, key, v string, omitEmpty bool) []byte {
		if omitEmpty && v == "" {
			return b
		}
		b = append(b, ',', '"')
		b = append(b, key...)
		b = append(b, '"', ':')
		b, _ = jsontext.AppendQuote(b, v)
		return b
	}
	list := func(b []byte, key string, vs []string) []byte {
		if len(vs) == 0 {
			return b
		}
		b = append(b, ',', '"')
		b = append(b, key...)
		b = append(b, '"', ':', '[')
		for i, v := range vs {
			if i > 0 {
				b = append(b, ',')
			}
			b, _ = jsontext.AppendQuote(b, v)
		}
		return append(b, ']')
	}
	tm := func(b []byte, key string, v time.Time, omitZero bool) []byte {
		if omitZero && v.IsZero() {
			return b
		}
		b = append(b, ',', '"')
		b = append(b, key...)
		b = append(b, '"', ':', '"')
		b = v.AppendFormat(b, time.RFC3339Nano)
		return append(b, '"')
	}
	b = append(b, `{"id":`...)
	b, _ = jsontext.AppendQuote(b, t.ID)
	b = str(b, "vendor", t.Vendor, false)
	b = str(b, "kind", string(t.Kind), false)
	b = append(b, `,"sha256":"`...)
	b = hex.AppendEncode(b, t.Hash[:])
	b = append(b, '"')
	b = str(b, "principal", t.Principal, false)
	b = str(b, "account_id", t.AccountID, true)
	b = list(b, "scopes", t.Scopes)
	b = list(b, "roles", t.Roles)
	b = str(b, "family", t.Family, true)
	b = str(b, "pair_id", t.PairID, true)
	b = tm(b, "issued_at", t.IssuedAt, false)
	b = tm(b, "expires_at", t.ExpiresAt, true)
	b = tm(b, "own_expires_at", ownExpiry(t), true)
	b = tm(b, "revoked_at", t.RevokedAt, true)
	b = str(b, "revoke_reason", t.RevokeReason, true)
	return append(b, '}')
}

func toSaved(t store.Token) savedToken {
	return savedToken{
		ID: t.ID, Vendor: t.Vendor, Kind: t.Kind, SHA256: hex.EncodeToString(t.Hash[:]), Principal: t.Principal,
		AccountID: t.AccountID, Scopes: t.Scopes, Roles: t.Roles, Family: t.Family, PairID: t.PairID,
		IssuedAt: t.IssuedAt, ExpiresAt: t.ExpiresAt, OwnExpires: ownExpiry(t), RevokedAt: t.RevokedAt, RevokeReason: t.RevokeReason,
	}
}

// ownExpiry is what the state file keeps of t.OwnExpiresAt (zero for an
// opaque token): a restored JWT's record is swept no sooner than before.
func ownExpiry(t store.Token) time.Time { return t.OwnExpiresAt }

// writeState writes st as JSON. The tokens of a memory store's copy are
// written one at a time as they are read from it, so that a save of many
// tokens builds no list of them in memory (and gives the garbage collector,
// which the requests being served wait on, little to do).
func writeState(w io.Writer, st *savedState) error {
	head, err := json.Marshal(st) // tokens: null, spliced below
	if err != nil {
		return err
	}
	const slot = `"tokens":null`
	i := bytes.Index(head, []byte(slot)) // a string inside the JSON cannot hold it: its quotes would be escaped
	if i < 0 {
		return errors.New("state: no tokens field to fill")
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.Write(head[:i])
	bw.WriteString(`"tokens":[`)
	buf := make([]byte, 0, 512)
	first := true
	written := 0
	for t, err := range st.tokens {
		if err != nil {
			return fmt.Errorf("state: read the store: %w", err)
		}
		// A save is background work: it steps aside for the requests now
		// and then, so that their latency does not wait on a whole save.
		if written++; written%64 == 0 {
			runtime.Gosched()
		}
		buf = buf[:0]
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = appendSavedToken(buf, t)
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	bw.WriteString("]")
	bw.Write(head[i+len(slot):])
	bw.WriteByte('\n')
	return bw.Flush()
}

// restore replaces the state with st, which must fit this emulator.
func (e *Emulator) restore(st *savedState) error {
	switch {
	case st.Format != stateFormat:
		return fmt.Errorf("%w: not a tokenemu state file (format %q)", ErrStateMismatch, st.Format)
	case st.Version != StateVersion:
		return fmt.Errorf("%w: version %d, and this build reads version %d", ErrStateMismatch, st.Version, StateVersion)
	case st.Config != e.configFingerprint():
		return fmt.Errorf("%w: it was saved with another -seed or -fixtures (its users, clients and keys differ)", ErrStateMismatch)
	}
	for name := range st.Vendors {
		v, ok := e.Vendor(name)
		if _, persists := v.(vendorapi.Persister); !ok || !persists {
			return fmt.Errorf("%w: it holds state of a vendor %q this emulator does not keep", ErrStateMismatch, name)
		}
	}
	tokens := make([]store.Token, 0, len(st.Tokens))
	for i, s := range st.Tokens {
		h, ok := store.ParseSecretHash(s.SHA256)
		if !ok {
			return fmt.Errorf("token %d: bad sha256 %q", i, s.SHA256)
		}
		tokens = append(tokens, store.Token{ID: s.ID, Vendor: s.Vendor, Kind: s.Kind, Hash: h, Principal: s.Principal,
			AccountID: s.AccountID, Scopes: s.Scopes, Roles: s.Roles, Family: s.Family, PairID: s.PairID,
			IssuedAt: s.IssuedAt, ExpiresAt: s.ExpiresAt, OwnExpiresAt: s.OwnExpires, RevokedAt: s.RevokedAt, RevokeReason: s.RevokeReason})
	}
	e.stateMu.Lock()
	defer e.stateMu.Unlock()
	if err := e.resetVendors(); err != nil {
		return err
	}
	e.store.off.Store(true) // the clock is set last: until then it is not the saved one
	defer e.store.off.Store(false)
	ctx := context.Background()
	if err := e.store.Reset(ctx); err != nil {
		return err
	}
	for _, t := range tokens {
		if err := e.store.Put(ctx, t); err != nil {
			return fmt.Errorf("token %s %s: %w", t.Vendor, t.ID, err)
		}
	}
	for name, b := range st.Vendors {
		v, _ := e.Vendor(name)
		if err := v.(vendorapi.Persister).Restore(b); err != nil {
			return fmt.Errorf("restore %s: %w", name, err)
		}
	}
	if err := e.scenarios.Restore(st.Scenarios); err != nil {
		return fmt.Errorf("scenarios: %w", err)
	}
	if t := e.tenants.Load(); t != nil {
		if err := t.restore(st.Tenants); err != nil {
			return err
		}
	} else {
		e.savedTenants = st.Tenants // for NewTenants
	}
	if st.Clock.Frozen {
		e.clock.Freeze()
		if _, err := e.clock.Set(st.Clock.Now); err != nil {
			return fmt.Errorf("clock: %w", err)
		}
	} else {
		// The clock kept running while the emulator was down: tokens expire
		// in a restarted emulator when they would have in one left running.
		e.clock.Resume()
		if _, err := e.clock.Set(e.clock.real().Add(time.Duration(st.Clock.Offset))); err != nil {
			return fmt.Errorf("clock: %w", err)
		}
	}
	return nil
}

// WriteState writes the emulator's state as JSON to w.
func (e *Emulator) WriteState(w io.Writer) error {
	st, _, err := e.snapshot()
	if err != nil {
		return err
	}
	return writeState(w, st)
}

// ReadState replaces the emulator's state with one WriteState wrote. A state
// of another version, seed or fixtures is refused with ErrStateMismatch and
// changes nothing; a state that passes those checks but cannot be applied
// (a duplicate token, an invalid scenario) may leave the tokens, vendors and
// scenarios partly replaced (Reset starts over), never the clock.
func (e *Emulator) ReadState(r io.Reader) error {
	var st savedState
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return fmt.Errorf("%w: %v", ErrStateMismatch, err)
	}
	return e.restore(&st)
}

// SaveState writes the state to the configured file atomically and returns
// its size. Nothing is written when the emulator has no state file.
func (e *Emulator) SaveState() (int64, error) {
	file := e.cfg.State.File
	if file == "" {
		return 0, errors.New("this emulator keeps no state file (-state)")
	}
	if e.unsaveable.Load() {
		return 0, errors.New("the state file's tenants could not be restored: it is left as it is")
	}
	e.saveMu.Lock()
	defer e.saveMu.Unlock()
	st, served, err := e.snapshot()
	if err != nil {
		return 0, fmt.Errorf("save state: %w", err)
	}
	n, err := writeFileAtomic(e.stateFile, func(w io.Writer) error { return writeState(w, st) })
	e.statusMu.Lock()
	defer e.statusMu.Unlock()
	if err != nil {
		e.stateStatus.Failures++
		e.stateStatus.LastError = err.Error()
		return 0, fmt.Errorf("save state: %w", err)
	}
	e.stateStatus.Saves++
	e.stateStatus.LastSavedAt, e.stateStatus.LastBytes, e.stateStatus.LastError = time.Now().UTC(), n, ""
	e.saved.Store(served)
	return n, nil
}

// loadStateFile restores the configured file, if it exists.
func (e *Emulator) loadStateFile() error {
	file := e.stateFile
	removeStaleTemps(file)
	f, err := os.Open(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	defer f.Close()
	if err := e.ReadState(bufio.NewReader(f)); err != nil {
		return fmt.Errorf("state file %s: %w", file, err)
	}
	return nil
}

// changes counts the requests served and, with tenants, what they served
// and their creations and deletions: a save is due when it moves.
func (e *Emulator) changes() int64 {
	n := e.requests.Load()
	if t := e.tenants.Load(); t != nil {
		n += t.changes()
	}
	return n
}

// saveLoop saves the state every interval when something was served since
// the last save, until stop is closed.
func (e *Emulator) saveLoop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(e.cfg.State.Interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if e.changes() == e.saved.Load() {
				continue
			}
			if _, err := e.SaveState(); err != nil {
				e.log.Error("saving state failed", "file", e.cfg.State.File, "err", err)
			}
		}
	}
}

// writeFileAtomic writes a file so that a reader (or a crash) sees either the
// old content or the whole new one: a temporary file in the same directory,
// synced, then renamed over the target, and the directory synced.
func writeFileAtomic(file string, write func(io.Writer) error) (int64, error) {
	dir, base := filepath.Split(file)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, base+".tmp-*")
	if err != nil {
		return 0, err
	}
	ok := false
	defer func() {
		if !ok {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 256<<10)
	cw := &countWriter{w: bw}
	if err := write(cw); err != nil {
		return 0, err
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	if err := tmp.Sync(); err != nil {
		return 0, err
	}
	if err := tmp.Close(); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return 0, err
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // make the rename itself durable
		_ = d.Close()
	}
	return cw.n, nil
}

// removeStaleTemps deletes the temporary files a killed save left beside file.
func removeStaleTemps(file string) {
	dir, base := filepath.Split(file)
	if dir == "" {
		dir = "."
	}
	entries, _ := os.ReadDir(dir)
	for _, en := range entries {
		if strings.HasPrefix(en.Name(), base+".tmp-") {
			_ = os.Remove(filepath.Join(dir, en.Name()))
		}
	}
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
