package container

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	dockercontainer "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// The shared container's kind (runIdle) exits once nothing has been asked
// of it for its idle period, its health check notwithstanding, and the
// engine removes it: it outlives no test process, reaper or none.
func TestIdleContainerIsRemoved(t *testing.T) {
	t.Parallel()
	RequireDocker(t)
	k, err := runIdle(2*time.Second, "idle-test-admin-token")
	if err != nil {
		t.Fatal(err)
	}
	id := k.ctr.GetContainerID()
	resp, err := http.Get(k.base + "/_emulator/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	p, err := testcontainers.NewDockerProvider(testcontainers.WithLogger(quiet{}))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	wait := p.Client().ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: dockercontainer.WaitConditionRemoved})
	select {
	case <-wait.Result:
	case err := <-wait.Error:
		if !strings.Contains(strings.ToLower(err.Error()), "no such container") { // removed before the wait began
			_ = k.Terminate(context.Background())
			t.Fatalf("the idle container was not removed: %v", err)
		}
	}
}
