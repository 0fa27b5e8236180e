package testkit_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tokenemu/tokenemu/testkit"
)

// exampleT stands in for the *testing.T a real test has: examples get none.
type exampleT struct {
	testing.TB // nil: only the methods below are called
	cleanups   []func()
}

func (t *exampleT) Failed() bool { return false }

func (t *exampleT) Helper()                           {}
func (t *exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (t *exampleT) Cleanup(f func())                  { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) done() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

// get sends a GET with an Authorization header and prints the status and the
// X-Tokenemu-Reason.
func get(u, authorization string) {
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Authorization", authorization)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(strings.TrimSpace(fmt.Sprint(resp.StatusCode, " ", resp.Header.Get("X-Tokenemu-Reason"))))
}

// Passport: a real OAuth2 client-credentials client gets a 24-hour token; the
// virtual clock makes it expire.
func ExampleStart() {
	t := &exampleT{}
	defer t.done()

	kit := testkit.Start(t)
	tok, err := kit.PassportClientCredentials().Token(context.Background())
	if err != nil {
		panic(err)
	}
	fmt.Println(tok.Type(), tok.Extra("expires_in"))
	get(kit.URL("passport")+"/v1/core/accounts", "Bearer "+tok.AccessToken)

	kit.Clock.Advance(24 * time.Hour)
	get(kit.URL("passport")+"/v1/core/accounts", "Bearer "+tok.AccessToken)
	// Output:
	// Bearer 86400
	// 200
	// 401 token_expired
}

// PassKit: a 60-minute HS256 JWT, expired on demand.
func ExampleKit_PassKitLogin() {
	t := &exampleT{}
	defer t.done()

	kit := testkit.Start(t)
	token := kit.PassKitLogin(t)
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(token, claims); err != nil {
		panic(err)
	}
	iat, _ := claims.GetIssuedAt()
	exp, _ := claims.GetExpirationTime()
	fmt.Println(exp.Sub(iat.Time))
	get(kit.URL("passkit")+"/user/profile", token)

	kit.Expire(token)
	get(kit.URL("passkit")+"/user/profile", token)
	// Output:
	// 1h0m0s
	// 200
	// 401 token_expired
}

// Brass: a personal access token, shown once, revoked under a running job.
func ExampleKit_BrassPAT() {
	t := &exampleT{}
	defer t.done()

	kit := testkit.Start(t)
	pat := kit.BrassPAT(t, "accountant")
	fmt.Println(regexp.MustCompile(`^[0-9]+\|pat-[0-9A-Za-z]{40}$`).MatchString(pat))
	get(kit.URL("brass")+"/banking/accounts", "Bearer "+pat)

	kit.Revoke(pat)
	get(kit.URL("brass")+"/banking/accounts", "Bearer "+pat)
	// Output:
	// true
	// 200
	// 401 token_revoked
}

// TeleTracker: a refresh token is single-use; presenting it twice is reuse.
func ExampleKit_TeleTrackerLogin() {
	t := &exampleT{}
	defer t.done()

	kit := testkit.Start(t)
	token, refresh := kit.TeleTrackerLogin(t, "")
	get(kit.URL("teletracker")+"/reports/call-data", "Bearer "+token)

	for range 2 {
		resp, err := http.PostForm(kit.URL("teletracker")+"/auth/refresh", url.Values{"refresh_token": {refresh}})
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println(strings.TrimSpace(fmt.Sprint(resp.StatusCode, " ", resp.Header.Get("X-Tokenemu-Reason"))))
	}
	// Output:
	// 200
	// 200
	// 401 refresh_reused
}

// Scenarios: the Passport token endpoint fails twice, then works.
func ExampleKit_ApplyBuiltin() {
	t := &exampleT{}
	defer t.done()

	kit := testkit.Start(t)
	kit.ApplyBuiltin("passport-token-endpoint-flaky")
	cfg := kit.PassportClientCredentials()
	for range 3 {
		_, err := cfg.Token(context.Background())
		fmt.Println(err == nil || strings.Contains(err.Error(), "temporarily_unavailable"), err == nil)
	}
	fmt.Println(len(kit.Requests(testkit.Filter{Vendor: "passport", Status: 503})))
	// Output:
	// true false
	// true false
	// true true
	// 2
}
