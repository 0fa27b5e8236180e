package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// The baseline must answer with the emulator's captured bytes and do no JSON
// work of its own: the ratio is only honest against a handler that does less.
func TestBaselineAnswersTheCapturedBytes(t *testing.T) {
	t.Parallel()
	// Key order the way the emulator wrote it, which re-encoding a map would sort.
	body := `{"zeta":1,"alpha":"<b>","data":[{"b":2,"a":1}]}`
	answers := map[string]canned{"POST /x/token": {Status: 201, Body: json.RawMessage(body)}}
	srv := httptest.NewServer(baselineHandler(answers))
	t.Cleanup(srv.Close)

	for range 2 { // the answer is not consumed by the first request
		resp, err := http.Post(srv.URL+"/x/token", "application/json", strings.NewReader(`{"a":1}`))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 || string(got) != body+"\n" || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("got %d %q (%s), want 201 %q", resp.StatusCode, got, resp.Header.Get("Content-Type"), body+"\n")
		}
	}
	resp, err := http.Get(srv.URL + "/x/token")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET of a POST-only path: %d, want 404", resp.StatusCode)
	}
}

// The bench writes its results between the README's two marker lines and
// leaves the rest as it was.
func TestWriteBetween(t *testing.T) {
	t.Parallel()
	file := t.TempDir() + "/README.md"
	if err := os.WriteFile(file, []byte("head\n"+beginMark+"\nold table\n"+endMark+"\ntail\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := writeBetween(file, "new table\n"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(file)
	if want := "head\n" + beginMark + "\nnew table\n" + endMark + "\ntail\n"; string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if err := os.WriteFile(file, []byte("no marks\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := writeBetween(file, "x"); err == nil {
		t.Error("a file without the marks: no error")
	}
}
