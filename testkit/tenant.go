package testkit

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/adminclient"
	"github.com/tokenemu/tokenemu/testkit/internal/kitopt"
)

// Shared returns a kit of a tenant of its own on the one in-process emulator
// that every Shared of the test process shares: a whole emulator (clock,
// tokens, fixtures, seed, scenarios, journal) of the test's alone, made in
// about a millisecond, behind one listener. Its base URL is below /t/{id}
// (BaseURL, URL); it is deleted when tb ends. The tenant has an admin token of
// its own, which the kit uses: no other test can move its clock or touch its
// tokens through the admin plane.
//
// The options are Start's, but those that configure a whole emulator and not
// one tenant (Config.AdminToken, Logger, Vendors, the journal's and the
// body's bounds, State) fail the test: use Start for them. The shared
// emulator, and the goroutine that serves it, live as long as the test
// process (a goroutine leak checker sees them).
//
// The container kit's container.Shared does the same on one container per
// test process, for suites that want the emulator out of the process.
func Shared(tb testing.TB, opts ...Option) *Kit {
	tb.Helper()
	h, err := sharedHost()
	if err != nil {
		tb.Fatalf("testkit: shared emulator: %v", err)
	}
	k := NewTenant(tb, h.base, h.token, opts...)
	k.c.emu = h.tenants.Tenant(k.c.tenant) // in the process: its clock is read without a request
	return k
}

// inProcessHost is Shared's emulator. It is the one piece of state the
// package keeps for the whole process: sharing one emulator among the
// process's tests is what Shared is for; each test still has a tenant, an
// emulator, of its own.
type inProcessHost struct {
	base, token string
	tenants     *emulator.Tenants
}

var sharedHost = sync.OnceValues(func() (*inProcessHost, error) {
	var b [24]byte
	_, _ = rand.Read(b[:])
	token := "shared-" + hex.EncodeToString(b[:]) // only Shared knows it: the tests get their tenants' tokens
	cfg := emulator.Config{AdminToken: token, AllowedHosts: emulator.LoopbackHosts(),
		Logger: slog.New(slog.DiscardHandler)}
	root, err := emulator.New(cfg)
	if err != nil {
		return nil, err
	}
	tenants, err := emulator.NewTenants(root, cfg, emulator.TenantLimits{Max: SharedMaxTenants})
	if err != nil {
		_ = root.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = tenants.Close()
		return nil, err
	}
	srv := emulator.NewHTTPServer(tenants.Handler())
	go func() { _ = srv.Serve(emulator.LimitListener(ln, emulator.DefaultMaxConnections)) }()
	return &inProcessHost{base: "http://" + ln.Addr().String(), token: token, tenants: tenants}, nil
})

// SharedMaxTenants is how many tenants Shared's emulator holds at once: as
// many tests of one process at the same time (each tenant is deleted when
// its test ends).
const SharedMaxTenants = 10_000

// NewTenant creates a tenant with opts on the emulator at baseURL (the root
// of one that manages tenants: a tokenemu server, or a container) and
// returns a kit of it, which is deleted when tb ends. adminToken is that
// emulator's admin token ("" when it has none). The tenant has an admin
// token of its own, which the kit uses. Shared and container.Shared call it;
// call it yourself for an emulator started some other way. Options as in
// Shared.
func NewTenant(tb testing.TB, baseURL, adminToken string, opts ...Option) *Kit {
	tb.Helper()
	s, err := kitopt.Resolve(opts...)
	if err != nil {
		tb.Fatalf("testkit: %v", err)
	}
	spec, err := s.TenantSpec()
	if err != nil {
		tb.Fatal(err)
	}
	info, err := createTenant(baseURL, adminToken, spec)
	if err != nil {
		tb.Fatalf("testkit: create a tenant on %s: %v", baseURL, err)
	}
	// Registered before the kit's own cleanup (which prints the journal of a
	// failed test), so that it runs after it. Without an admin token, the
	// tenant's own deletes it.
	tb.Cleanup(func() {
		if err := deleteTenant(baseURL, cmp.Or(adminToken, info.Token), info.ID); err != nil {
			tb.Errorf("testkit: delete tenant %s: %v", info.ID, err)
		}
	})
	cfg := s.Config
	cfg.AdminToken = info.Token
	k := newKit(tb, baseURL+"/t/"+info.ID, cfg, s.Logs)
	k.c.tenant = info.ID
	return k
}

// rootAPI is the admin client of the emulator at baseURL.
func rootAPI(baseURL, adminToken string) (*core, error) {
	c := &core{base: baseURL, client: &http.Client{Timeout: 30 * time.Second}}
	api, err := adminclient.NewClient(baseURL+"/_emulator", adminclient.WithHTTPClient(c.client),
		adminclient.WithRequestEditorFn(adminclient.Auth(adminToken)))
	c.api = api
	return c, err
}

func createTenant(baseURL, adminToken string, spec emulator.TenantSpec) (emulator.TenantInfo, error) {
	var info emulator.TenantInfo
	c, err := rootAPI(baseURL, adminToken)
	if err != nil {
		return info, err
	}
	body := adminclient.CreateTenantJSONRequestBody{Token: ptr(true)}
	if len(spec.Settings) > 0 {
		body.Settings = &spec.Settings
	}
	if spec.Seed != 0 {
		body.Seed = &spec.Seed
	}
	if !spec.Clock.IsZero() {
		body.Clock = &spec.Clock
	}
	if len(spec.Fixtures) > 0 {
		body.Fixtures = &map[string]any{}
		if err := json.Unmarshal(spec.Fixtures, body.Fixtures); err != nil {
			return info, err
		}
	}
	if len(spec.Scenarios) > 0 {
		list := make([]map[string]any, len(spec.Scenarios))
		for i, raw := range spec.Scenarios {
			if err := json.Unmarshal(raw, &list[i]); err != nil {
				return info, err
			}
		}
		body.Scenarios = &list
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.finish(c.api.CreateTenant(ctx, body))(&info); err != nil {
		return info, err
	}
	if info.Token == "" {
		return info, errors.New("the emulator answered no tenant token (is it older than this kit?)")
	}
	return info, nil
}

func deleteTenant(baseURL, adminToken, id string) error {
	c, err := rootAPI(baseURL, adminToken)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = c.finish(c.api.DeleteTenant(ctx, id))(nil)
	if ae := (*AdminError)(nil); errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return nil // gone already (deleted by the test, or idle past its TTL)
	}
	return err
}
