package container_test

import (
	"context"
	"io"
	"net/http"
	"testing"

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
