package container_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tokenemu/tokenemu/testkit"
	"github.com/tokenemu/tokenemu/testkit/container"
)

// One container, started with Run, serves several tests through In, shows
// its log, and is gone after Terminate.
func TestRunSharesOneContainer(t *testing.T) {
	t.Parallel()
	container.RequireDocker(t)
	ctx := context.Background()
	shared, err := container.Run(ctx, testkit.WithSeed(11))
	if err != nil {
		t.Fatal(err)
	}
	terminated := false
	t.Cleanup(func() {
		if !terminated {
			_ = shared.Terminate(context.Background())
		}
	})
	var first string
	t.Run("first", func(t *testing.T) {
		kit := shared.In(t)
		first = kit.IssueToken(testkit.PassKit, "demo@passkit.test").Token
	})
	t.Run("second", func(t *testing.T) {
		kit := shared.In(t)
		if n := len(kit.Tokens(testkit.PassKit, "")); n != 1 {
			t.Errorf("the second test sees %d PassKit tokens, want the first test's 1", n)
		}
		kit.Expire(first)
		kit.Reset()
		kit.Clock.Advance(time.Minute)
	})
	logs, err := shared.Logs(ctx)
	if err != nil || !strings.Contains(logs, "listening on") {
		t.Errorf("Logs: %v\n%s", err, logs)
	}
	if err := shared.Terminate(ctx); err != nil {
		t.Fatalf("Terminate: %v", err)
	}
	terminated = true
	if _, err := shared.Logs(ctx); err == nil {
		t.Error("the container still has logs after Terminate")
	}
}
