package emulator_test

import (
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/passport"
)

// A client made through the admin plane logs in; rotating its secret stops
// the old secret at once and keeps the tokens issued with it valid; both
// survive a save and a restore.
func TestPassportClientCreateAndRotate(t *testing.T) {
	t.Parallel()
	state := filepath.Join(t.TempDir(), "state.json")
	e := newEnv(t, emulator.Config{State: emulator.StateConfig{File: state, Interval: time.Hour}})
	resp, body := e.admin("POST", "/passport/clients", `{"client_id":"ci-client","scopes":["paas.core.accounts.list.get"]}`)
	created := decode[passport.ClientInfo](t, body)
	if resp.StatusCode != http.StatusCreated || created.ClientSecret == "" || created.AccountID == "" ||
		resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	base := e.srv.URL
	cfg := func(secret string) *clientcredentials.Config {
		return &clientcredentials.Config{ClientID: "ci-client", ClientSecret: secret,
			TokenURL: base + tokenPath, AuthStyle: oauth2.AuthStyleInParams}
	}
	old, err := cfg(created.ClientSecret).Token(e.ctx())
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := e.do("GET", "/passport/v1/core/accounts", bearer(old.AccessToken), ""); resp.StatusCode != 200 || !strings.Contains(string(body), created.AccountID) {
		t.Errorf("the new client's accounts: %d %s", resp.StatusCode, body)
	}
	if resp, _ := e.admin("POST", "/passport/clients", `{"client_id":"ci-client"}`); resp.StatusCode != http.StatusConflict {
		t.Errorf("a taken client_id: %d", resp.StatusCode)
	}
	resp, body = e.admin("POST", "/passport/clients/ci-client/secret", "")
	rotated := decode[passport.ClientInfo](t, body)
	if resp.StatusCode != 200 || rotated.ClientSecret == "" || rotated.ClientSecret == created.ClientSecret {
		t.Fatalf("rotate: %d %s", resp.StatusCode, body)
	}
	var re *oauth2.RetrieveError
	if _, err := cfg(created.ClientSecret).Token(e.ctx()); !errors.As(err, &re) || re.ErrorCode != "invalid_client" {
		t.Errorf("the old secret after the rotation: %v", err)
	}
	if _, err := cfg(rotated.ClientSecret).Token(e.ctx()); err != nil {
		t.Errorf("the new secret: %v", err)
	}
	if resp, _ := e.do("GET", "/passport/v1/core/accounts", bearer(old.AccessToken), ""); resp.StatusCode != 200 {
		t.Errorf("a token issued before the rotation: %d, want 200", resp.StatusCode)
	}
	// A fixture client can be re-keyed too.
	if resp, body := e.admin("POST", "/passport/clients/"+passport.DefaultClientID+"/secret", `{"client_secret":"a-new-secret-1"}`); resp.StatusCode != 200 {
		t.Errorf("rotate the demo client: %d %s", resp.StatusCode, body)
	}
	if resp, _ := e.admin("POST", "/passport/clients/nobody/secret", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("rotate an unknown client: %d", resp.StatusCode)
	}
	// A secret set through the admin plane is redacted from the journal like
	// a fixture's, when it is pasted into a path.
	e.do("GET", "/passport/v1/iam/oauth/tokens/a-new-secret-1", bearer(old.AccessToken), "")
	if strings.Contains(fmt.Sprint(e.emu.Requests(emulator.JournalFilter{})), "a-new-secret-1") {
		t.Error("the journal holds a rotated secret pasted into a path")
	}
	// The listing never holds a secret.
	_, list := e.admin("GET", "/passport/clients", "")
	for _, s := range []string{created.ClientSecret, rotated.ClientSecret, "a-new-secret-1", "client_secret"} {
		if strings.Contains(string(list), s) {
			t.Errorf("the listing holds %q: %s", s, list)
		}
	}
	// Saved and restored: the client and both new secrets.
	if err := e.emu.Close(); err != nil { // saves, and lets the next emulator take the file
		t.Fatal(err)
	}
	base = newEnv(t, emulator.Config{State: emulator.StateConfig{File: state, Interval: time.Hour}}).srv.URL
	if _, err := cfg(rotated.ClientSecret).Token(e.ctx()); err != nil {
		t.Errorf("the rotated secret after a restore: %v", err)
	}
	if _, err := cfg(created.ClientSecret).Token(e.ctx()); err == nil {
		t.Error("the old secret works again after a restore")
	}
}

// The admin plane adds at most MaxPassportClients clients.
func TestPassportClientLimit(t *testing.T) {
	t.Parallel()
	emu, err := emulator.New(emulator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range passport.MaxClients {
		if _, err := passport.CreateClient(mustVendor(t, emu, passport.Name), passport.ClientSpec{ClientID: fmt.Sprint("c", i), AccountID: passport.DefaultAccountID}); err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
	}
	if _, err := passport.CreateClient(mustVendor(t, emu, passport.Name), passport.ClientSpec{}); !errors.Is(err, passport.ErrTooManyClients) {
		t.Errorf("one client too many: %v", err)
	}
	for _, bad := range []passport.ClientSpec{{ClientID: "no spaces"}, {ClientSecret: "short"}, {AccountID: "nope"}} {
		if _, err := passport.CreateClient(mustVendor(t, emu, passport.Name), bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
