// Command tokenemu runs the token-scheme emulator and drives a running one.
//
//	tokenemu [serve] [flags]         run the emulator (default command)
//	tokenemu healthcheck [-url URL]  exit 0 when URL/_emulator/healthz answers 200 (for FROM-scratch images)
//	tokenemu version                 print the version
//
//	tokenemu completion bash|zsh|fish|powershell   a shell completion script
//
//	tokenemu scenarios list | show NAME | validate FILE...      built-ins and scenario files (offline)
//
//	against a running emulator (global flags -url, -admin-token, -tenant, -json, -timeout, before
//	or after the command; TOKENEMU_URL, TOKENEMU_ADMIN_TOKEN, TOKENEMU_TENANT, TOKENEMU_JSON,
//	TOKENEMU_TIMEOUT):
//	tokenemu clock [get | advance 61m | set 2030-01-01T00:00:00Z | freeze | resume]
//	tokenemu scenarios [active | apply NAME[:VENDOR]|FILE [-replace] | remove NAME | clear]
//	tokenemu tokens [list [-vendor V] [-principal P] [-kind K] [-state S]
//	                | expire TOKEN | expire -vendor V -principal P | revoke … (same)
//	                | issue -vendor V -principal P [-kind K] [-lifetime D] [-role R] [-name N] [-account-id A]]
//	tokenemu journal [-vendor V] [-operation ID] [-status N] [-principal P] [-reason R] [-scenario S] [-follow]
//	tokenemu reset
//	tokenemu state save
//
// The command line is built on cobra: `tokenemu -h` lists the commands and `tokenemu COMMAND -h`
// gives each one's flags; a mistyped command gets "did you mean"; flags take one dash or two
// (`-url`, `--url`). Serve's flags can also be set in the environment as `TOKENEMU_<NAME>`
// (`-admin-token` → `TOKENEMU_ADMIN_TOKEN`), and so can the global flags above; a command's own
// flags cannot (so that serve's `TOKENEMU_STATE` never becomes `tokens list -state`). A flag on
// the command line wins. Invalid flags, or a fixtures file that cannot be read or is invalid,
// print one line on stderr and exit 2. SIGINT/SIGTERM shut down
// gracefully, letting requests in flight finish.
//
//   - `-addr`: `127.0.0.1:8080` — listen address; port 0 picks a free port. A non-loopback address
//     without `-admin-token` logs a warning.
//   - `-seed`: `20240601` — seed of the fake data; the same seed gives the same data on every run
//   - `-fixtures FILE`: YAML or JSON users, clients and accounts; each vendor section present replaces
//     that vendor's defaults
//   - `-log-format`: `text` — `text` or `json` (logs go to stderr)
//   - `-log-level`: `info` — `debug`, `info`, `warn`, `error`
//   - `-admin-token`: protect `/_emulator/*` (except healthz) with this bearer token
//   - `-passport-revoke-status`: `200` — Passport revoke success status: `200` (revoke page) or `204`
//     (general page)
//   - `-passport-scope-status`: `401` — Passport missing-scope status: `401` (documented) or `403`
//     (RFC 6750)
//   - `-passkit-leeway`: `0s` — PassKit: clock skew allowed on a JWT's `exp`, `nbf` and `iat`
//   - `-teletracker-refresh-lifetime`: `696h` (29 days) — TeleTracker: how long a refresh token
//     outlives its access token
//   - `-teletracker-revoke-family-on-reuse`: `false` — TeleTracker: revoke the whole session when a
//     used refresh token is presented again
//   - `-teletracker-revoke-access-on-refresh`: `false` — TeleTracker: revoke the old access token when
//     its refresh token is used
//   - `-brass-temporary-lifetime`: `10m` — Brass: lifetime of the temporary JWT from login
//   - `-brass-rate-limit`: `60` — Brass: requests a user may make a minute; `0` switches the limit off
//   - `-max-connections`: `1024` — connections held open at once (each may hold a request of up to 1
//     MiB); more wait to be accepted
//   - `-retention`: `168h` — how long a revoked or expired token is kept before it is swept (then it
//     is unknown)
//   - `-brass-max-pats`: `1000000` — Brass personal access tokens the emulator keeps; one more gets
//     409
//   - `-passkit-max-users`: `1000` — accounts PassKit's `/user/new` may make; one more gets 409
//   - `-journal-size`: `10000` — requests the journal keeps
//   - `-journal-bytes`: `16777216` — memory the journal's entries may take (16 MiB)
//   - `-journal-waiters`: `64` — journal long polls that may wait at once; one more gets 429
//   - `-max-tenants`: `1000` — tenants at once (`POST /_emulator/tenants`; each a whole emulator,
//     its URLs below `/t/{id}`); one more gets 409
//   - `-tenant-ttl`: `1h` — how long a tenant may go unused (real time) before it is deleted
//   - `-tenant-memory`: `8388608` — each tenant's memory budget (8 MiB): a quarter for its journal,
//     a quarter for its vendors' tables, the rest for its tokens at 256 bytes each; an issue past it
//     gets 429 `token_budget`
//   - `-tenant-auto`: off — create a tenant with the defaults at the first request to `/t/{id}/…`
//     (with `-admin-token`, only a request that carries it; without, anyone who reaches the port)
//   - `-idle-exit`: `0` (never) — exit when no request has come for this long (real time): the
//     container kit's shared container, which its test process pings, ends with that process
//   - `-allowed-hosts`: on loopback, `Host` names answered besides `localhost`, `127.0.0.1` and
//     `[::1]`; repeatable or comma-separated
//   - `-clock`: real now — start the virtual clock at this RFC 3339 time; it runs from there, and a reset
//     puts it back there
//   - `-scenario`: activate a scenario at start: a YAML/JSON file or a built-in (`NAME` or
//     `NAME:VENDOR`); repeatable; `TOKENEMU_SCENARIO` takes a comma-separated list. An invalid one
//     stops start-up (exit 2).
//   - `-state FILE`: keep the state in FILE: restored at start, saved atomically every
//     `-state-interval` and at shutdown (see Durable state below)
//   - `-state-interval`: `5s` — how often `-state` is saved (only when something was served since the
//     last save)
//   - `-state-fresh`: `false` — when the `-state` file cannot be restored (corrupt, another version,
//     another `-seed` or `-fixtures`), start fresh and overwrite it instead of stopping
//   - `-cpuprofile FILE`: write a CPU profile (for `go tool pprof`) until shutdown
//   - `-procs`: half the CPUs, at least 1 — how many CPUs run the emulator (`GOMAXPROCS`). An emulator
//     shares its machine with what drives it; on 2 cores, taking both made the server and its client
//     take turns on the cores, and the turns became the latency tail (p99 8–10 ms against 2–7 ms with
//     one CPU, see cmd/tokenemu-bench/README.md). `GOMAXPROCS` set in the environment is kept when `-procs` is not
//     given. The banner shows the number. `testkit.Start` runs in the test's process and leaves its
//     setting alone.
//   - `-url` (healthcheck): `http://127.0.0.1:8080` — the emulator to check (`TOKENEMU_URL`)
//   - `-timeout` (healthcheck): `2s` — how long to wait
//
// The server limits the request line and headers to 64 KiB (431) and bodies to 1 MiB (413), both
// answered in the vendor's error shape, and times out slow clients (10 s to send headers, 30 s to
// send a request). See the Security section of package emulator (go doc ./emulator).
//
// # Fixtures
//
//	passport:
//	  clients:
//	    - client_id: my-client
//	      client_secret: my-secret          # stored only as its SHA-256
//	      account_id: 0b5e0d2c-1111-4222-8333-444455556666
//	      scopes: [iam.oauth.tokens.get, paas.core.*]
//	      roles: [entity.client_credentials]
//	      accounts: 5                       # fake accounts of this entity (default 3)
//	passkit:
//	  users:
//	    - username: me@example.test
//	      password: pw                      # stored only as its SHA-256
//	      api_key: 3pVbSWcYf9EmxSv4Lr8Fko   # the JWT uid
//	      api_secret: my-hmac-secret        # signs the JWTs
//	      email: me@example.test            # optional
//	      company_name: Example Ltd         # optional
//	      members: 5                        # fake members (default 5)
//	brass:
//	  app_keys: [lk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA]   # lk_ + 42 letters or digits
//	  users:
//	    - {email: me@example.test, password: pw, role: owner, totp_secret: JBSWY3DPEHPK3PXP}
//	    - {email: ap@example.test, password: pw, role: rol_6QJ8VcCEgCLtcbz4EO8H1b}   # role by name or id
//	teletracker:
//	  accounts:
//	    - {id: 2001, name: North}
//	    - {id: 2002, name: South}
//	  users:
//	    - {user_id: 1, username: me, password: pw, accounts: [2001, 2002]}      # first is home
//	    - {user_id: 2, username: bot, password: pw, accounts: [2002], integrator: true}
//
// JSON with the same fields works too. Unknown fields are errors.
//
// # Durable state
//
// A long-running QA instance can keep its state across restarts:
//
//	go run ./cmd/tokenemu -state /var/tmp/tokenemu-state.json
//
// At start the file, if it exists, is restored; then the state is saved every `-state-interval`
// (5 s, and only when a request was served since the last save), on `POST /_emulator/state/save`
// (`tokenemu state save`), and at shutdown (SIGINT/SIGTERM).
// A save writes a temporary file beside the target, fsyncs it, renames it over the target and
// fsyncs the directory, so a crash or `kill -9` leaves either the previous file or the new one,
// never half of one; temporaries a killed save left behind are removed at the next start. A test
// kills the process with SIGKILL while it issues tokens and saves every 10 ms, three times, and
// checks that the file is whole and every token in it works after the restart.
//
// One process keeps one file: it holds an exclusive lock on `FILE.lock` while it runs, and a
// second `tokenemu -state FILE` exits 2 saying the file is in use. At start the directory must take
// a new file (else exit 2); a symlinked `FILE` stays a link and the saves replace its target. A
// save that fails (a full disk) is logged and counted, `GET /_emulator/state` shows the saves, the
// failures and the last error, and `/_emulator/healthz` answers 503 `degraded` with the error until
// a save succeeds; when the final save at shutdown fails, the process exits 1. Tests run these on
// a real 64 KiB tmpfs.
//
// What is kept: every token (Passport, PassKit JWTs and long-lived tokens, Brass user JWTs and
// PATs, TeleTracker access and refresh tokens) with its expiry, revocation and whether a refresh
// token has been used; Brass PAT names, roles and the PAT counter, the Brass JWT signing key, and
// payments made; PassKit accounts made through `/user/new` and members; Passport clients added and
// secrets rotated through the admin plane (secrets as SHA-256); active scenarios with their
// counters; the virtual clock, as its offset from real time (it kept running while the emulator
// was down, so a token expires after a restart when it would have in an emulator left running) or
// as the frozen time. Not kept: the journal, Brass OTPs of logins in progress (log in again), Brass
// rate-limit windows and idempotency keys. Users and clients come from the fixtures; the file
// records a fingerprint of `-seed` and `-fixtures`, and a file saved with others, of another format
// version, or corrupt stops the start with exit 2 and a message naming the file. `-state-fresh`
// starts fresh instead and overwrites it.
//
// The file holds no token value: tokens are kept by SHA-256, as in memory (a scenario matching a
// `token` is saved with `token_sha256`). It does hold the HMAC keys that sign JWTs (the Brass key
// and the API secrets of PassKit accounts made through `/user/new`), so it deserves the care of a
// credentials file: it is written with mode 0600.
package main
