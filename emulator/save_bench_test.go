package emulator_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/passport"
	"github.com/tokenemu/tokenemu/emulator/vendorapi"
)

// BenchmarkSaveUnderLoad: W2 requests from 8 connections over loopback
// against an emulator holding 200,000 tokens, for 2 s without a save and 2 s
// with saves one after another; it reports the p99 of each and their ratio.
// Before, a save held every request up while it listed the tokens (693 ms).
func BenchmarkSaveUnderLoad(b *testing.B) {
	emu, err := emulator.New(emulator.Config{State: emulator.StateConfig{File: filepath.Join(b.TempDir(), "state.json"), Interval: time.Hour}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = emu.Close() })
	for range 200_000 {
		if _, err := emu.IssueToken(context.Background(), vendorapi.IssueRequest{Vendor: "passport", Principal: passport.DefaultClientID}); err != nil {
			b.Fatal(err)
		}
	}
	tok := issueToken(b, emu, "passport", passport.DefaultClientID, "")
	srv := httptest.NewServer(emu.Handler())
	b.Cleanup(srv.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	measure := func(d time.Duration, during func(stop <-chan struct{})) time.Duration {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		var lat []time.Duration
		var failed atomic.Int64
		for range 8 {
			wg.Go(func() {
				var mine []time.Duration
				for {
					select {
					case <-stop:
						mu.Lock()
						lat = append(lat, mine...)
						mu.Unlock()
						return
					default:
					}
					req, _ := http.NewRequest("GET", srv.URL+"/passport/v1/core/accounts", nil)
					req.Header.Set("Authorization", "Bearer "+tok)
					start := time.Now()
					resp, err := client.Do(req)
					if err != nil || resp.StatusCode != 200 {
						failed.Add(1)
					} else {
						resp.Body.Close()
					}
					mine = append(mine, time.Since(start))
				}
			})
		}
		done := make(chan struct{})
		go func() { defer close(done); during(stop) }()
		time.Sleep(d) // the measurement's length: the load runs for it
		close(stop)
		wg.Wait()
		<-done
		if failed.Load() > 0 {
			b.Fatalf("%d requests failed", failed.Load())
		}
		slices.Sort(lat)
		return lat[len(lat)*99/100]
	}
	for b.Loop() {
		quiet := measure(2*time.Second, func(<-chan struct{}) {})
		saves := 0
		saving := measure(2*time.Second, func(stop <-chan struct{}) {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := emu.SaveState(); err != nil {
					b.Error(err)
					return
				}
				saves++
			}
		})
		b.ReportMetric(float64(quiet.Microseconds())/1000, "p99-ms-quiet")
		b.ReportMetric(float64(saving.Microseconds())/1000, "p99-ms-saving")
		b.ReportMetric(float64(saving)/float64(quiet), "ratio")
		b.ReportMetric(float64(saves), "saves")
	}
}
