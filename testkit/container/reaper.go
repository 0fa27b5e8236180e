package container

import (
	"context"
	"fmt"
	"log"
	"os"
	"sync"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// reaperCheck runs once per process, before testcontainers reads its
// configuration (which it reads once): when the reaper (Ryuk) is not switched
// off and its image is neither in the engine nor can be pulled (no registry
// at hand), it switches the reaper off, as TESTCONTAINERS_RYUK_DISABLED=true
// would, and logs one line saying so. Containers a test started are then
// removed by the kit itself, when the test ends (Start) or at Terminate (Run);
// only those of a process killed mid-test stay behind.
func reaperCheck(ctx context.Context) {
	reaper.Do(func() { checkReaper(ctx) })
}

var reaper sync.Once

// reaperImage is the image testcontainers runs as its reaper. The exported
// name is deprecated in favour of an internal one that holds the same value;
// it is the only way to ask.
//
//lint:ignore SA1019 see above
func reaperImage() string { return testcontainers.ReaperDefaultImage }

func checkReaper(ctx context.Context) {
	if _, set := os.LookupEnv("TESTCONTAINERS_RYUK_DISABLED"); set {
		return // the user decided
	}
	if err := reaperAvailable(ctx, reaperImage()); err != nil {
		_ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
		log.Printf("testkit/container: the reaper image %s cannot be had (%v); the kit removes its containers itself (as with TESTCONTAINERS_RYUK_DISABLED=true)", reaperImage(), err)
	}
}

// reaperAvailable reports whether image is in the engine or can be pulled into it.
func reaperAvailable(ctx context.Context, image string) error {
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := cli.ImageInspect(ctx, image); err == nil {
		return nil
	}
	resp, err := cli.ImagePull(ctx, image, client.ImagePullOptions{})
	if err != nil {
		return fmt.Errorf("pull: %w", err)
	}
	defer resp.Close()
	if err := resp.Wait(ctx); err != nil {
		return fmt.Errorf("pull: %w", err)
	}
	return nil
}
