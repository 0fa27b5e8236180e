package testkit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/tokenemu/tokenemu/emulator/brass"
	"github.com/tokenemu/tokenemu/emulator/passkit"
	"github.com/tokenemu/tokenemu/emulator/passport"
	"github.com/tokenemu/tokenemu/emulator/teletracker"
)

// PassportClientCredentials returns a client-credentials config for a
// Passport client of the fixtures (the first, demo-client by default, when no
// id is given), pointed at the emulator, sending the credentials in the
// request body. An unknown client fails the test.
//
// cfg.Client(ctx) caches its token against real time: after
// kit.Clock.Advance it keeps sending a token the emulator has expired. Use
// kit.PassportHTTPClient(ctx, cfg) to follow the virtual clock.
func (k *Kit) PassportClientCredentials(clientID ...string) *clientcredentials.Config {
	k.tb.Helper()
	name := ""
	if len(clientID) > 0 {
		name = clientID[0]
	}
	c := fixtureUser(k.tb, "Passport client", k.c.fixtures[passport.Name].(*passport.Fixtures).Clients, name,
		func(c passport.Client) string { return c.ClientID })
	return &clientcredentials.Config{
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		TokenURL:     k.c.base + "/" + Passport + "/v1/iam/oauth/tokens",
		// In the body, as Passport documents it; auto-detection would send a
		// second request after a failure, which hides a scenario's count.
		AuthStyle: oauth2.AuthStyleInParams,
	}
}

// post sends a vendor request and decodes a 2xx JSON answer into out.
func (k *Kit) post(tb testing.TB, path string, header http.Header, ctype, body string, out any) {
	tb.Helper()
	req, err := http.NewRequest("POST", k.c.base+path, strings.NewReader(body))
	if err != nil {
		tb.Fatalf("testkit: %v", err)
	}
	req.Header = header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Set("Content-Type", ctype)
	resp, err := k.c.client.Do(req)
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
func (k *Kit) PassKitLogin(tb testing.TB) string {
	tb.Helper()
	return k.passkit(tb, false)
}

// PassKitLongLived logs in as the first PassKit user and returns a permanent
// long-lived token.
func (k *Kit) PassKitLongLived(tb testing.TB) string {
	tb.Helper()
	return k.passkit(tb, true)
}

func (k *Kit) passkit(tb testing.TB, longLived bool) string {
	tb.Helper()
	u := k.c.fixtures[passkit.Name].(*passkit.Fixtures).Users[0]
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
func (k *Kit) BrassUserJWT(tb testing.TB, username string) string {
	tb.Helper()
	fx := k.c.fixtures[brass.Name].(*brass.Fixtures)
	u := fixtureUser(tb, "Brass user", fx.Users, username, func(u brass.User) string { return u.Email })
	var temp struct {
		Token string `json:"token"`
	}
	k.post(tb, "/brass/auth/login", http.Header{"Authorization": {"Bearer " + fx.AppKeys[0]}}, "application/json",
		jsonBody(map[string]string{"username": u.Email, "password": u.Password}), &temp)
	otp, err := k.Admin().BrassOTP(context.Background(), u.Email)
	if err != nil {
		tb.Fatalf("testkit: Brass OTP: %v", err)
	}
	var user struct {
		Token string `json:"token"`
	}
	k.post(tb, "/brass/auth/login/authorise", http.Header{"Authorization": {"Bearer " + temp.Token}}, "application/json",
		jsonBody(map[string]string{"otp": otp}), &user)
	return user.Token
}

// BrassPAT creates a personal access token with a role ("owner",
// "accountant", … or a role id) as the first Brass user, and returns it
// ("N|pat-…").
func (k *Kit) BrassPAT(tb testing.TB, role string) string {
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
func (k *Kit) TeleTrackerLogin(tb testing.TB, username string) (token, refresh string) {
	tb.Helper()
	fx := k.c.fixtures[teletracker.Name].(*teletracker.Fixtures)
	u := fixtureUser(tb, "TeleTracker user", fx.Users, username, func(u teletracker.User) string { return u.Username })
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
func fixtureUser[U any](tb testing.TB, what string, users []U, name string, nameOf func(U) string) U {
	tb.Helper()
	if name == "" {
		return users[0]
	}
	i := slices.IndexFunc(users, func(u U) bool { return nameOf(u) == name })
	if i < 0 {
		tb.Fatalf("testkit: no %s %q in the fixtures", what, name)
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
	out, err := k.Admin().CreatePassportClient(context.Background(), spec)
	k.check("create a Passport client", err)
	return out
}

// RotatePassportSecret gives a Passport client a new random secret and
// returns it. The old secret stops working at once; tokens issued with it
// stay valid.
func (k *Kit) RotatePassportSecret(clientID string) string {
	k.tb.Helper()
	secret, err := k.Admin().RotatePassportSecret(context.Background(), clientID)
	k.check("rotate a Passport secret", err)
	return secret
}

// PassportClient is an oauth2 client-credentials config for a client
// CreatePassportClient made (or any client and secret).
func (k *Kit) PassportClient(c passport.ClientInfo) *clientcredentials.Config {
	k.tb.Helper()
	cfg := k.PassportClientCredentials()
	cfg.ClientID, cfg.ClientSecret = c.ClientID, c.ClientSecret
	return cfg
}

// HTTPClient returns an HTTP client that sends every request with a token
// of vendor for its first principal in the fixtures (issued through the admin
// plane, no login), as "Authorization: Bearer <token>", which every vendor
// takes. opts refine the token (Kind("pat"), Lifetime, …). The token is
// issued once: expire or revoke it to see the client refused.
//
//	c := kit.HTTPClient(t, testkit.Brass)
//	resp, err := c.Get(kit.URL(testkit.Brass) + "/banking/accounts")
func (k *Kit) HTTPClient(tb testing.TB, vendor string, opts ...IssueOption) *http.Client {
	tb.Helper()
	principal := ""
	switch fx := k.c.fixtures[vendor].(type) {
	case *passport.Fixtures:
		principal = fx.Clients[0].ClientID
	case *passkit.Fixtures:
		principal = fx.Users[0].Username
	case *brass.Fixtures:
		principal = fx.Users[0].Email
	case *teletracker.Fixtures:
		principal = fx.Users[0].Username
	default:
		tb.Fatalf("testkit: HTTPClient(%q): no such vendor%s; the vendors are %s", vendor, didYouMean(vendor, k.c.vendors), strings.Join(k.c.vendors, ", "))
	}
	issued, err := k.Admin().IssueToken(context.Background(), vendor, principal, opts...)
	if err != nil {
		tb.Fatalf("testkit: HTTPClient(%q): %v", vendor, err)
	}
	return &http.Client{Timeout: k.c.client.Timeout, Transport: &bearer{token: issued.Token, next: http.DefaultTransport}}
}

// bearer adds a token to every request that has no Authorization.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b *bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("Authorization") != "" {
		return b.next.RoundTrip(r)
	}
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// TokenSource returns a source of cfg's tokens that judges their expiry on
// the emulator's virtual clock: after kit.Clock.Advance past a token's
// expiry, the next call fetches a new one. Use it with an oauth2.Transport
// (or PassportHTTPClient): oauth2.NewClient and cfg.Client wrap a source in
// one that caches against real time.
func (k *Kit) TokenSource(ctx context.Context, cfg *clientcredentials.Config) oauth2.TokenSource {
	return &virtualSource{ctx: ctx, cfg: cfg, admin: k.Admin()}
}

// PassportHTTPClient returns an HTTP client that sends cfg's token with every
// request and fetches a new one when the token has expired on the virtual
// clock (see TokenSource).
func (k *Kit) PassportHTTPClient(ctx context.Context, cfg *clientcredentials.Config) *http.Client {
	return &http.Client{Timeout: k.c.client.Timeout, Transport: &oauth2.Transport{Source: k.TokenSource(ctx, cfg)}}
}

// virtualSource caches a token until its expiry on the virtual clock.
type virtualSource struct {
	ctx   context.Context
	cfg   *clientcredentials.Config
	admin *Admin

	mu      sync.Mutex
	tok     *oauth2.Token
	expires time.Time // on the virtual clock
}

// expiryDelta is how long before its expiry a token is replaced, as oauth2 does.
const expiryDelta = 10 * time.Second

func (s *virtualSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now, err := s.admin.Now(s.ctx)
	if err != nil {
		return nil, err
	}
	if s.tok != nil && now.Before(s.expires.Add(-expiryDelta)) {
		return s.tok, nil
	}
	tok, err := s.cfg.Token(s.ctx) // a new token each time: no cache of its own
	if err != nil {
		return nil, err
	}
	s.expires = now.Add(time.Until(tok.Expiry)) // the lifetime the server gave, from virtual now
	if tok.Expiry.IsZero() {
		s.expires = now.Add(100 * 365 * 24 * time.Hour)
	}
	s.tok = tok
	return tok, nil
}
