package emulator_test

import (
	"context"
	"testing"
	"time"

	"github.com/tokenemu/tokenemu/emulator"
	"github.com/tokenemu/tokenemu/emulator/brass"
)

// A JWT verified once is remembered, but never past what the full check
// would allow: its expiry, a revocation, or a reset that changes the key.
func TestVerifiedJWTsStillExpireAndDie(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{})
	e.emu.Clock().Freeze()
	brassTok := e.brassUser(brass.DefaultUsername)
	pk := e.passkitLogin(false)
	use := func(vendor, tok string) (int, string) {
		t.Helper()
		if vendor == "brass" {
			resp, _ := e.do("GET", "/brass/banking/accounts", bearer(tok), "")
			return resp.StatusCode, reason(resp)
		}
		resp, _ := e.do("GET", "/passkit/user/profile", hdr("Authorization", tok), "")
		return resp.StatusCode, reason(resp)
	}
	for range 3 { // verified, then served from the cache
		if c, r := use("brass", brassTok); c != 200 {
			t.Fatalf("brass: %d %s", c, r)
		}
		if c, r := use("passkit", pk); c != 200 {
			t.Fatalf("passkit: %d %s", c, r)
		}
	}
	e.emu.Clock().Advance(time.Hour)
	if c, r := use("brass", brassTok); c != 401 || r != "token_expired" {
		t.Errorf("cached brass JWT after an hour: %d %s", c, r)
	}
	if c, r := use("passkit", pk); c != 401 || r != "token_expired" {
		t.Errorf("cached passkit JWT after an hour: %d %s", c, r)
	}

	brassTok = e.brassUser(brass.DefaultUsername)
	use("brass", brassTok)
	if _, err := e.emu.RevokeTokens(context.Background(), emulator.TokenSelector{Token: brassTok}); err != nil {
		t.Fatal(err)
	}
	if c, r := use("brass", brassTok); c != 401 || r != "token_revoked" {
		t.Errorf("cached brass JWT after revocation: %d %s", c, r)
	}

	brassTok = e.brassUser(brass.DefaultUsername)
	use("brass", brassTok)
	if err := e.emu.Reset(); err != nil {
		t.Fatal(err)
	}
	if c, _ := use("brass", brassTok); c != 401 {
		t.Errorf("cached brass JWT after a reset: %d", c)
	}
}
