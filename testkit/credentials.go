package testkit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/tokenemu/tokenemu/emulator/brass"
	"github.com/tokenemu/tokenemu/emulator/passkit"
	"github.com/tokenemu/tokenemu/emulator/passport"
	"github.com/tokenemu/tokenemu/emulator/teletracker"
)

// PassportClientCredentials returns a client-credentials config for the first
// Passport client (demo-client by default), pointed at the emulator, sending
// the credentials in the request body.
func (k *Kit) PassportClientCredentials() *clientcredentials.Config {
	c := k.fixtures[passport.Name].(*passport.Fixtures).Clients[0]
	return &clientcredentials.Config{
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		TokenURL:     k.URL(Passport) + "/v1/iam/oauth/tokens",
		// In the body, as Passport documents it; auto-detection would send a
		// second request after a failure, which hides a scenario's count.
		AuthStyle: oauth2.AuthStyleInParams,
	}
}

// post sends a vendor request and decodes a 2xx JSON answer into out.
func (k *Kit) post(tb TB, path string, header http.Header, ctype, body string, out any) {
	tb.Helper()
	req, err := http.NewRequest("POST", k.base+path, strings.NewReader(body))
	if err != nil {
		tb.Fatalf("testkit: %v", err)
	}
	req.Header = header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Set("Content-Type", ctype)
	resp, err := k.client.Do(req)
	if err != nil {
		tb.Fatalf("testkit: POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		tb.Fatalf("testkit: POST %s: %s %s", path, resp.Status, bytes.TrimSpace(b))
	}
	if err := json.Unmarshal(b, out); err != nil {
		tb.Fatalf("testkit: POST %s: decode %s: %v", path, b, err)
	}
}

func jsonBody(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// PassKitLogin logs in as the first PassKit user and returns the 60-minute JWT.
func (k *Kit) PassKitLogin(tb TB) string {
	tb.Helper()
	return k.passkit(tb, false)
}

// PassKitLongLived logs in as the first PassKit user and returns a permanent
// long-lived token.
func (k *Kit) PassKitLongLived(tb TB) string {
	tb.Helper()
	return k.passkit(tb, true)
}

func (k *Kit) passkit(tb TB, longLived bool) string {
	tb.Helper()
	u := k.fixtures[passkit.Name].(*passkit.Fixtures).Users[0]
	h := http.Header{}
	if longLived {
		h.Set("X-PassKit-LongLived-Token", "true")
	}
	var out struct {
		Token string `json:"token"`
	}
	k.post(tb, "/passkit/login", h, "application/json", jsonBody(map[string]string{"username": u.Username, "password": u.Password}), &out)
	return out.Token
}

// BrassUserJWT logs a Brass user in (app key, password, then the OTP, read
// from the emulator's stand-in mailbox) and returns the 60-minute user JWT.
// An empty username is the first user.
func (k *Kit) BrassUserJWT(tb TB, username string) string {
	tb.Helper()
	fx := k.fixtures[brass.Name].(*brass.Fixtures)
	u := fixtureUser(tb, "Brass", fx.Users, username, func(u brass.User) string { return u.Email })
	var temp struct {
		Token string `json:"token"`
	}
	k.post(tb, "/brass/auth/login", http.Header{"Authorization": {"Bearer " + fx.AppKeys[0]}}, "application/json",
		jsonBody(map[string]string{"username": u.Email, "password": u.Password}), &temp)
	var otp struct {
		OTP string `json:"otp"`
	}
	k.must("GET", "/brass/otp?username="+url.QueryEscape(u.Email), nil, &otp)
	var user struct {
		Token string `json:"token"`
	}
	k.post(tb, "/brass/auth/login/authorise", http.Header{"Authorization": {"Bearer " + temp.Token}}, "application/json",
		jsonBody(map[string]string{"otp": otp.OTP}), &user)
	return user.Token
}

// BrassPAT creates a personal access token with a role ("owner",
// "accountant", … or a role id) as the first Brass user, and returns it
// ("N|pat-…").
func (k *Kit) BrassPAT(tb TB, role string) string {
	tb.Helper()
	jwt := k.BrassUserJWT(tb, "")
	var out struct {
		Data struct {
			Token string `json:"token"`
		} `json:"data"`
	}
	k.post(tb, "/brass/auth/personal-access-tokens", http.Header{"Authorization": {"Bearer " + jwt}}, "application/json",
		jsonBody(map[string]string{"name": fmt.Sprintf("testkit %s", role), "role": role}), &out)
	return out.Data.Token
}

// TeleTrackerLogin logs a TeleTracker user in (an empty username is the first
// user) and returns the 1-hour token and the single-use refresh token.
func (k *Kit) TeleTrackerLogin(tb TB, username string) (token, refresh string) {
	tb.Helper()
	fx := k.fixtures[teletracker.Name].(*teletracker.Fixtures)
	u := fixtureUser(tb, "TeleTracker", fx.Users, username, func(u teletracker.User) string { return u.Username })
	form := url.Values{"username": {u.Username}, "password": {u.Password}}
	if u.Integrator {
		form.Set("account_id", fmt.Sprint(u.Accounts[0]))
	}
	var out struct {
		Token        string `json:"token"`
		RefreshToken string `json:"refreshToken"`
	}
	k.post(tb, "/teletracker/auth/login", nil, "application/x-www-form-urlencoded", form.Encode(), &out)
	return out.Token, out.RefreshToken
}

// fixtureUser is the fixtures' user of that name, or the first when name is
// empty; an unknown name fails the test.
func fixtureUser[U any](tb TB, vendor string, users []U, name string, nameOf func(U) string) U {
	tb.Helper()
	if name == "" {
		return users[0]
	}
	i := slices.IndexFunc(users, func(u U) bool { return nameOf(u) == name })
	if i < 0 {
		tb.Fatalf("testkit: no %s user %q in the fixtures", vendor, name)
		return users[0] // for a TB whose Fatalf returns
	}
	return users[i]
}

// CreatePassportClient adds a Passport client through the admin plane and
// returns it with its secret; leave spec's fields empty for a random id and
// secret, a new entity and every scope. PassportClient turns it into an
// oauth2 client-credentials config.
func (k *Kit) CreatePassportClient(spec passport.ClientSpec) passport.ClientInfo {
	k.tb.Helper()
	var out passport.ClientInfo
	k.must("POST", "/passport/clients", spec, &out)
	return out
}

// RotatePassportSecret gives a Passport client a new random secret and
// returns it. The old secret stops working at once; tokens issued with it
// stay valid.
func (k *Kit) RotatePassportSecret(clientID string) string {
	k.tb.Helper()
	var out passport.ClientInfo
	k.must("POST", "/passport/clients/"+url.PathEscape(clientID)+"/secret", struct{}{}, &out)
	return out.ClientSecret
}

// PassportClient is an oauth2 client-credentials config for a client
// CreatePassportClient made (or any client and secret).
func (k *Kit) PassportClient(c passport.ClientInfo) *clientcredentials.Config {
	cfg := k.PassportClientCredentials()
	cfg.ClientID, cfg.ClientSecret = c.ClientID, c.ClientSecret
	return cfg
}
