// Package emulator is tokenemu's in-memory emulator of vendors' API token
// schemes (four, listed in package vendors), served from OpenAPI documents on one http.Handler.
//
// Two Emulators in one process share nothing: each has its own clock, store,
// fixtures, fake data and router.
//
// # Use from Go
//
//	emu, err := emulator.New(emulator.Config{})   // the zero Config is a working default
//	srv := httptest.NewServer(emu.Handler())
//	emu.Clock().Advance(24 * time.Hour)
//
//	flaky, _ := scenarios.Builtin("passport-token-endpoint-flaky", "")
//	emu.ApplyScenario(flaky, false)                    // or Config{Scenarios: ...}
//	emu.ExpireTokens(ctx, emulator.TokenSelector{Vendor: "passport", Principal: "demo-client"})
//	emu.Requests(emulator.JournalFilter{Vendor: "passport", Status: 401})
//
//	// A vendor setting, as -brass-rate-limit 0 on the command line:
//	emulator.New(emulator.Config{Settings: map[string]string{"brass.rate-limit": "0"}})
//
//	// Durable state: Config{State: emulator.StateConfig{File: "state.json"}} restores at New, saves
//	// periodically and at Close; emu.SaveState() saves now; WriteState/ReadState use any io.Writer/Reader.
//
// Two emulators in one process share nothing (clock, tokens, fixtures, fake data, scenarios,
// journal).
//
// # Security
//
//   - **Bind address**: `127.0.0.1:8080` by default. Listening on any other address without
//     `-admin-token` logs a warning at start: anyone who can reach the port could then control the
//     emulator. The container image listens on `0.0.0.0` inside its own network namespace.
//   - **Admin token**: with `-admin-token T`, every `/_emulator` call but `healthz` needs
//     `Authorization: Bearer T`. The token is kept as its SHA-256 and compared in constant time. It
//     protects the clock, reset, scenarios, token listing, expiry, revocation and issuance, the
//     journal, the Brass OTP lookup and state saves. The vendor endpoints are never behind it.
//   - **Web pages cannot drive it**, with or without an admin token. The emulator answers only the
//     `Host` name `localhost`, IP addresses (any port), and names given with `-allowed-hosts` (a
//     compose service name, say); any other name is a 403 `host_not_allowed`, which stops a page whose
//     DNS name points at the emulator (DNS rebinding). That holds in a container too, which listens on
//     `0.0.0.0` but is usually published on the host's loopback; only with `-admin-token` on an
//     address that is not loopback is every name answered. The admin plane refuses cross-origin
//     browser requests with a 403 `cross_origin` (an `Origin` that is not the emulator's own, or
//     `Sec-Fetch-Site` other than `same-origin` or `none`), and a call that changes state (any method
//     but GET) needs `Content-Type: application/json` (a scenario document may say YAML), else 415, so
//     no form or no-CORS fetch can send one. No answer carries a CORS header. The CLI and the kit send
//     the content type themselves; with curl, add `-H 'Content-Type: application/json'`.
//   - **What is stored**: token values are never kept. Opaque tokens (Passport, PassKit long-lived,
//     TeleTracker access and refresh), PATs and JWTs are stored as SHA-256 and looked up by it;
//     passwords, Passport client secrets and Brass app keys are stored as SHA-256 and compared in
//     constant time. Kept as they are, because they are keys: PassKit API secrets (HMAC keys, which
//     `/pk/user/restCredentials` also returns), the Brass JWT key and Brass users' TOTP secrets. New
//     tokens, JWT IDs and keys come from `crypto/rand`. (Fixtures given in a file or in `Config` stay
//     as given in that `Config`; what the emulator derives from them and issues is stored as above.)
//   - **What is redacted**: no token, password or secret is ever written to the log, the journal,
//     `/_emulator/tokens` (a 12-hex-digit fingerprint of the SHA-256 instead), the scenario listing (a
//     rule's `token`, and its `header` value for a credential header, show as `(redacted)`), an error
//     message or the state file. A rule's token and credential header values (`Authorization`,
//     `Authentication`, `Cookie`, and any header named for a token, key, secret, password, auth or
//     session) are kept only as SHA-256 from the moment the scenario is applied; the state file holds
//     `token_sha256` and `sha256:<hex>` header values, which a scenario file may use too. A path that
//     carries a secret (a token pasted into a path parameter, or into a URL no route matches) is kept
//     in the journal and the log with that segment as `{secret:<fingerprint>}`: every parameter
//     segment that is a stored token, a fixture's secret or the admin token, and every segment of 32
//     characters or more that is no UUID. Journal paths are cut at 512 bytes, ending in `…(cut)`. A
//     test (`TestSecretsNeverLeak`) sends known passwords, app keys, issued tokens, wrong passwords
//     and unknown tokens through every vendor and the admin plane and searches every answer (but the
//     one that issued a token), the debug log, the journal and the listings for them. The start-up
//     banner prints the default credentials, and only those (values from a fixtures file are not
//     shown).
//   - **Time has one range**: the virtual clock shows 2000-01-01T00:00:00Z to 2100-01-01T00:00:00Z
//     (`clock set`, `advance`, `-clock`, `WithClockAt`, a restore), and every lifetime (`tokens issue
//     -lifetime`, `-teletracker-refresh-lifetime`, …), scenario skew, `retry_after` and relative
//     trigger time is at most 100 years, so every expiry the emulator computes stays within what it
//     can store and encode; past either limit the answer is a 400 that names it. A JWT a client mints
//     itself may say any `exp`: one past 2262 is kept as 2262. A skew that would carry the clock out
//     of the range stops at its edge.
//   - **Bounds on what callers can grow**, each with its default: tenants 1,000 at once
//     (`-max-tenants`, then 409 `too_many_tenants`; one unused for `-tenant-ttl`, 1 hour of real
//     time, is deleted), each with the bounds below; 1,024 connections at once
//     (`-max-connections`; a body is read as it arrives, never allocated at its announced length);
//     journal 10,000 entries (`-journal-size`) and 16 MiB (`-journal-bytes`), the oldest dropped; a
//     journal path 512 bytes and a journal field 256, cut with `…(cut)`; a journal page 100 entries
//     (`limit`, at most 1000); 64 journal long polls at once (`-journal-waiters`, then 429
//     `too_many_waiters`); active scenario rules 32 in all (and so at most 32 scenarios), a scenario
//     document 256 KiB (1 MiB with its YAML aliases expanded), a path pattern 256 bytes and 63
//     characters, classes and stars a segment (400 `invalid_scenario` past any of them); a revoked or
//     expired token is kept 7 days of virtual time (`-retention`), so that it is refused as revoked or
//     expired with the vendor's own answer, then swept (each issue sweeps a few records, so a store
//     whose tokens keep expiring stays at about 4/3 of its live set) and refused as unknown; accounts
//     made through PassKit's `/user/new` 1,000 (`-passkit-max-users`), PassKit members 10,000, a
//     PassKit user's live long-lived tokens 1,000, Brass personal access tokens 1,000,000
//     (`-brass-max-pats`), Brass payments 10,000 and Brass idempotency keys of the last 7 days 100,000
//     (409 `limit_reached` past them; a key is at most 255 bytes); Passport clients added through the
//     admin plane 1,000; the secrets redacted by name that were set
//     through the admin plane, at most 10,000 (MaxAddedSecrets; a rotated one is forgotten); a token listing page 100 (`limit`, at most 1000; `GET /_emulator/tokens`
//     pages with `next`/`after`, and walks the store's index of the vendor and principal it is
//     filtered on, as Passport's own token list walks its account's clients'); `GET /_emulator/state`
//     shows where the journal and the state file stand. A state save copies the token store's chunk
//     list under the state lock (the chunks are copied on write) and writes the tokens one by one
//     after it.
//   - **Limits**: request line and headers 64 KiB (431), bodies 1 MiB (413), both in the vendor's
//     error shape; beyond 1 MiB of headers Go's own server answers 431. 10 s to send headers, 30 s to
//     send a request, 2 minutes to answer (scenario delays are at most 60 s), 2 minutes idle. Text
//     that is not UTF-8 in a query string or a JSON or form body is a 400, and so is a JSON body with
//     anything after its value (`{"username":…} x`), as the vendors' own parsers refuse it.
//   - **One body decoder**: every JSON body, vendor or admin, is read by one decoder (JSON v2,
//     `github.com/go-json-experiment/json`) that matches keys exactly and refuses a key given twice
//     (400 `invalid_request` in the vendor's shape); the same rule is applied before the OpenAPI
//     validator, so both read one body alike. `CLIENT_SECRET` is not `client_secret`: it is an unknown
//     key and ignored. Form bodies refuse a repeated key too.
//   - **Wire details**: a compressed body (`Content-Encoding` other than `identity`) and a charset
//     other than UTF-8 are 415 (400 `invalid_request` on Passport's token endpoint, as RFC 6749 has
//     it); two `Authorization` (or TeleTracker `Authentication`) headers are a 400 `invalid_request`;
//     HEAD is answered wherever GET is, without the body; a scenario may not set framing or hop-by-hop
//     headers (`Content-Length`, `Transfer-Encoding`, `Connection`, …). The CLI says when a call timed
//     out, and refuses an answer over 64 MiB rather than print it cut.
//   - **Bad input** is a 4xx in the vendor's shape, never a 5xx: fuzzing, a walk of every operation of
//     every OpenAPI document with generated bad requests, and a concurrent soak check this. A panic in
//     a handler would be logged with its stack and answered 500 in the vendor's shape without stopping
//     the server; every test emulator fails its test if any request reached that path.
//   - **Shutdown**: SIGINT/SIGTERM stop accepting connections, let requests in flight finish (up to 10
//     s), save the state when `-state` is set, then exit.
package emulator
