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
// routing library, no validation, no state. Each answer is the emulator's own
// answer to the same request, captured by the benchmark, decoded at start and
// encoded again on every request, so that the JSON work is comparable.
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
	type decoded struct {
		status int
		body   any
	}
	routes := map[string]decoded{}
	for k, a := range answers {
		var v any
		if err := json.Unmarshal(a.Body, &v); err != nil {
			fmt.Fprintf(os.Stderr, "baseline: %s: %v\n", k, err)
			return 1
		}
		routes[k] = decoded{a.Status, v}
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, ok := routes[r.Method+" "+r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = io.Copy(io.Discard, r.Body) // read the request, as any server would
		b, _ := json.Marshal(d.body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(d.status)
		_, _ = w.Write(b)
	})
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
