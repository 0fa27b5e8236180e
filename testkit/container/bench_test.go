package container_test

import (
	"context"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/tokenemu/tokenemu/testkit"
	"github.com/tokenemu/tokenemu/testkit/container"
)

// BenchmarkStartContainer measures a container kit from nothing to a healthy
// emulator, with the image already built.
func BenchmarkStartContainer(b *testing.B) {
	container.RequireDocker(b)
	if _, err := container.Image(context.Background()); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		kit := container.Start(b)
		resp, err := http.Get(kit.AdminURL() + "/healthz")
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("healthz: %v", err)
		}
		resp.Body.Close()
	}
}

// BenchmarkBuildImage measures building the static binary and the image
// (go's build cache and an image of the same hash make repeats fast; remove
// the image with docker rmi first for a cold figure).
func BenchmarkBuildImage(b *testing.B) {
	container.RequireDocker(b)
	var tm container.BuildTimings
	for b.Loop() {
		var err error
		if _, tm, err = container.BuildImage(context.Background(), io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(tm.Binary.Milliseconds()), "binary-ms")
	b.ReportMetric(float64(tm.Image.Milliseconds()), "image-ms")
}

// BenchmarkParallelTests measures the wall time of 200 tests, 32 at a time
// (go test -parallel 32), each with an emulator of its own: a tenant on the
// one shared container (container.Shared), or a container each (Run, then
// Terminate as the test ends). Each test gets a Passport token, calls with
// it, moves its clock a day and sees the token refused. Run with
// -benchtime 1x: a container each takes a while.
func BenchmarkParallelTests(b *testing.B) {
	container.RequireDocker(b)
	if _, err := container.Image(context.Background()); err != nil {
		b.Fatal(err)
	}
	const tests, parallel = 200, 32
	work := func(b *testing.B, kit *testkit.Kit) {
		tok, err := kit.PassportClientCredentials().Token(context.Background())
		if err != nil {
			b.Error(err)
			return
		}
		accounts := kit.URL(testkit.Passport) + "/v1/core/accounts"
		get := func() int {
			req, _ := http.NewRequest("GET", accounts, nil)
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Error(err)
				return 0
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if code := get(); code != 200 {
			b.Errorf("fresh token: %d", code)
		}
		if _, err := kit.Admin().Advance(context.Background(), 24*time.Hour); err != nil {
			b.Error(err)
		}
		if code := get(); code != 401 {
			b.Errorf("a day on: %d", code)
		}
	}
	for _, mode := range []struct {
		name string
		test func(b *testing.B)
	}{
		{"tenant-on-shared-container", func(b *testing.B) { work(b, container.Shared(b)) }},
		{"container-per-test", func(b *testing.B) {
			k, err := container.Run(context.Background())
			if err != nil {
				b.Error(err)
				return
			}
			defer k.Terminate(context.Background())
			work(b, k.In(b))
		}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			if mode.name == "tenant-on-shared-container" {
				container.Shared(b) // the container is started once per process, before the clock runs
			}
			var wall time.Duration
			for b.Loop() {
				start := time.Now()
				sem := make(chan struct{}, parallel)
				var wg sync.WaitGroup
				for range tests {
					sem <- struct{}{}
					wg.Go(func() {
						defer func() { <-sem }()
						mode.test(b)
					})
				}
				wg.Wait()
				wall += time.Since(start)
			}
			b.ReportMetric(wall.Seconds()/float64(b.N), "s/200-tests")
		})
	}
}
