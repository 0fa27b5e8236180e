package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// canned is one answer the baseline gives.
type canned struct {
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
}

// runBaseline serves the workloads' paths with a bare net/http handler: no
// routing library, no validation, no state and no JSON work. Each answer is
// the emulator's own answer to the same request, captured by the benchmark and
// written back byte for byte, so the ratio charges tokenemu with all of its
// own work, encoding the answer included. (An earlier baseline decoded each
// answer into a map and encoded it again per request; generic map encoding
// costs more than the emulator's typed structs, which flattered the ratios of
// the workloads with large answers.)
func runBaseline(args []string) int {
	fs := flag.NewFlagSet("tokenemu-bench baseline", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	file := fs.String("responses", "", `JSON file: {"METHOD /path": {"status":200,"body":{…}}}`)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	raw, err := os.ReadFile(*file)
	if err != nil {
		fmt.Fprintf(os.Stderr, "baseline: %v\n", err)
		return 1
	}
	var answers map[string]canned
	if err := json.Unmarshal(raw, &answers); err != nil {
		fmt.Fprintf(os.Stderr, "baseline: %v\n", err)
		return 1
	}
	h := baselineHandler(answers)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "baseline: %v\n", err)
		return 1
	}
	fmt.Printf("baseline listening on http://%s\n", ln.Addr())
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() { _ = srv.Serve(ln) }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	_ = srv.Close()
	return 0
}

// baselineHandler answers "METHOD /path" with its canned answer, byte for byte
// plus the final newline the emulator writes (the capture trimmed it), and
// anything else with a 404.
func baselineHandler(answers map[string]canned) http.Handler {
	bodies := make(map[string]canned, len(answers))
	for k, a := range answers {
		bodies[k] = canned{Status: a.Status, Body: append(append(json.RawMessage(nil), a.Body...), '\n')}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := bodies[r.Method+" "+r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = io.Copy(io.Discard, r.Body) // read the request, as any server would
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.Status)
		_, _ = w.Write(a.Body)
	})
}
