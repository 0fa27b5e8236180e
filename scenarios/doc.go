// Package scenarios is tokenemu's scripted failures: a scenario is data (YAML or
// JSON), a name, a description and rules. A rule matches requests, a trigger
// decides which of the matches it fires on, and an action says what happens: a
// fault (a status with the vendor's error body, a delay, a dropped connection)
// or an effect on state (expire or revoke a token, reject a refresh, skew the
// clock).
//
// The package parses, validates and evaluates scenarios; the emulator carries
// out what they decide. Nothing here is global: each Engine has its own
// scenarios, counters and seeded randomness.
//
// A scenario scripts failures that are hard to get from a real vendor. It is data: a name, a
// description and rules. Load it at start (`-scenario FILE|NAME`, repeatable), over HTTP
// (`POST /_emulator/scenarios`), with the CLI (`tokenemu scenarios apply`), or from Go
// (`emu.ApplyScenario`). One request can also carry `X-Tokenemu-Scenario: <built-in>`: that
// built-in then applies to that request alone, as if it were the scenario's first match, and
// nothing stays active. Since anyone who reaches a vendor can send it, the header takes only
// built-ins whose effects stay within that request (a fault, a delay, a dropped connection, or
// expiring, revoking or rejecting the request's own token): every built-in but `clock-skew`,
// whose clock move would reach every other client, and which gets a 400
// `scenario_not_per_request`. `GET /_emulator/scenarios` marks each built-in `per_request`.
//
//		name: accounts-flaky
//		description: the third accounts call fails, then the client's tokens are revoked
//		rules:
//		  - match: {vendor: passport, operation: listAccounts}
//		    trigger: {nth: 3}
//		    action: {status: 503, retry_after: 30s}
//		  - match: {vendor: passport, path: /passport/v1/core/accounts/*, principal: demo-client}
//		    trigger: {after: 5}
//		    action: {revoke: principal}
//
//	  - `match` (all given must hold): `vendor` (required: `passport`, `passkit`, `brass`,
//	    `teletracker`, or `"*"`), `operation` (an operationId of that vendor's OpenAPI document),
//	    `method`, `path` (a `path.Match` pattern on the whole path, prefix included; a trailing `/**`
//	    matches everything below), `principal` (the client id, username or email: the presented token's
//	    owner, or the one the login names), `kind` (the presented token's kind: `access`, `jwt`,
//	    `longlived`, `refresh`, `temporary`, `pat`), `token` (one token's value) or `token_sha256` (the
//	    hex SHA-256 of it, for files that must not hold the token), `header` (`{Name: value}`, `"*"` for
//	    any value)
//	  - `trigger` (default: every match): `always`; one of `first: N` (the first N matches, then spent),
//	    `after: N` (every match after the first N), `nth: N` (the Nth only, then spent); `probability:
//	    0.3` (on top, from the emulator's seeded randomness, so a run replays); `from`/`to` (an RFC 3339
//	    virtual time, or a duration after the scenario is applied such as `10m`; spent at `to`)
//	  - `action`: a fault: `status` (with the vendor's own error body; `error` picks the vendor's error
//	    code, e.g. Passport's `invalid_client`, Brass's `otp_invalid`; `message` replaces the text), or
//	    `body` (any JSON, replacing the vendor body), `headers`, `retry_after`; or `drop: true` (close
//	    the connection without an answer). `delay: 3s` holds the request first (real time, at most 60
//	    s). Effects on state, applied before the request goes on so the request itself sees them:
//	    `expire` / `revoke` (`token`: the presented token; `principal`: all of its owner's live tokens
//	    at that vendor), `reject_refresh` (`reused` or `expired`: the refresh token a TeleTracker
//	    refresh presents), `skew` (move the virtual clock, e.g. `5m` or `-5m`).
//
// Rules are evaluated in order (scenarios in the order applied); every rule that fires counts, its
// delays add up and its effects apply; the first fault answers. A fault carries
// `X-Tokenemu-Reason: scenario:<name>`; an effect lets the vendor answer for itself (`token_expired`,
// `refresh_reused`, …). Either way the journal entry names the scenario and the rule. Counts are of
// matches: requests the match selected inside the rule's window. The admin plane is never matched.
//
// Validation names the scenario, the rule index and the field: unknown fields, an unknown vendor or
// operationId, a path, kind or method that matches nothing the vendor serves, negative counts, bad
// durations, an action that does nothing. A document may be 256 KiB, and 1 MiB once its YAML
// aliases are expanded; a `path` pattern 256 bytes. At most 32 rules are active at once, in all
// scenarios together (and so at most 32 in one): each request is checked against its vendor's
// share of them, without a lock, and a path pattern is matched in one pass over the path (the
// syntax is `path.Match`'s, but a class never matches `/`).
//
// # Built-ins
//
// `tokenemu scenarios list` prints them and `tokenemu scenarios show NAME` prints one's YAML
// (they live in the builtin directory of this package).
//
//   - `passport-token-expired`: the next Passport request presenting an access token finds it expired
//     (401 `token_expired`)
//   - `passport-invalid-client`: every Passport token request gets 401 `invalid_client` until removed
//   - `passport-token-endpoint-flaky`: the first 2 Passport token requests get 503
//     `temporarily_unavailable`, then normal
//   - `passkit-jwt-expired`: the next PassKit request presenting a JWT finds it expired
//   - `passkit-longlived-revoked`: the next PassKit request presenting a long-lived token finds it
//     revoked
//   - `brass-pat-revoked`: the next Brass request presenting a PAT finds it revoked
//   - `brass-otp-rejected`: the next OTP step gets Brass's 422 "the OTP is not valid"; a retry works
//   - `brass-rate-limited`: the next Brass request gets 429 with `Retry-After: 60` and `X-RateLimit-Remaining: 0`
//   - `teletracker-refresh-reused`: the next refresh finds its refresh token already used (401
//     `refresh_reused`)
//   - `teletracker-refresh-expired`: the next refresh finds its refresh token expired (401
//     `refresh_expired`)
//   - `slow-login`: every vendor's login (and Brass's OTP step) answers 3 s late
//   - `vendor-outage`: 503 to everything, in each vendor's shape, with `Retry-After: 30`; `vendor-outage:brass`
//     (or `"vendor":"brass"`) for one vendor
//   - `clock-skew`: the first vendor request moves the clock 5 minutes ahead, so tokens are issued
//     with `iat` in the future
package scenarios
