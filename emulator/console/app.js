// tokenemu's QA console: plain JavaScript over the admin API, no build step.
// Every value from the emulator is written with textContent, never as HTML.
'use strict';

const api = new URL('.', location.href); // the admin plane: …/_emulator/
const tokenKey = 'tokenemu-admin-token';
const $ = (id) => document.getElementById(id);

// call sends one admin request. The admin token (when this emulator has one)
// goes in a header, never in a URL; a change always says JSON, as the admin
// plane requires of every change.
async function call(method, path, body) {
  const headers = {};
  const token = sessionStorage.getItem(tokenKey);
  if (token) headers.Authorization = 'Bearer ' + token;
  if (method !== 'GET') headers['Content-Type'] = 'application/json';
  const resp = await fetch(new URL(path, api), {
    method, headers, credentials: 'omit', cache: 'no-store',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await resp.json().catch(() => ({}));
  if (resp.status === 401) {
    $('auth').hidden = false;
    throw new Error('the admin plane wants its token');
  }
  if (!resp.ok) throw new Error(data.message || resp.status + ' ' + resp.statusText);
  return data;
}

function say(text, bad) {
  $('status').textContent = text;
  $('status').className = bad ? 'bad' : '';
}

// run runs an action and reports its failure instead of throwing.
async function run(action) {
  try {
    await action();
  } catch (err) {
    say(err.message, true);
  }
}

function cell(row, text) {
  const td = document.createElement('td');
  td.textContent = text;
  row.appendChild(td);
  return td;
}

// ---- the virtual clock ----

const clock = { offset: 0, frozen: false, at: 0 }; // virtual - real, in ms

function virtualNow() {
  return clock.frozen ? clock.at : Date.now() + clock.offset;
}

function showClock(c) {
  const now = Date.parse(c.now);
  clock.offset = now - Date.now();
  clock.frozen = c.frozen;
  clock.at = now;
  renderClock();
}

function renderClock() {
  $('clock-virtual').textContent = new Date(virtualNow()).toISOString();
  $('clock-real').textContent = new Date().toISOString();
  $('clock-offset').textContent = duration(virtualNow() - Date.now());
  $('clock-state').textContent = clock.frozen ? 'frozen' : 'running';
}

// duration writes ms as "-1d 2h 3m 4s".
function duration(ms) {
  let s = Math.round(Math.abs(ms) / 1000);
  const sign = ms < 0 && s > 0 ? '-' : '';
  const parts = [];
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60]]) {
    if (s >= size) {
      parts.push(Math.floor(s / size) + unit);
      s %= size;
    }
  }
  parts.push(s + 's');
  return sign + parts.join(' ');
}

async function loadClock() {
  showClock(await call('GET', 'clock'));
}

async function clockChange(path, body) {
  showClock(await call('POST', path, body));
  say('clock: ' + new Date(virtualNow()).toISOString());
  await loadTokens(page.after);
}

// ---- tokens ----

const page = { after: '', next: '', rows: [] };

function tokenQuery(after) {
  const q = new URLSearchParams({ limit: '100' });
  for (const [key, id] of [['vendor', 'f-vendor'], ['principal', 'f-principal'], ['state', 'f-state']]) {
    if ($(id).value) q.set(key, $(id).value);
  }
  if (after) q.set('after', after);
  return q;
}

async function loadTokens(after) {
  const data = await call('GET', 'tokens?' + tokenQuery(after));
  page.after = after || '';
  page.next = data.next || '';
  page.rows = data.tokens || [];
  $('tokens-next').disabled = !page.next;
  renderTokens();
}

function renderTokens() {
  const body = $('token-rows');
  const rows = [];
  for (const t of page.rows) {
    const tr = document.createElement('tr');
    tr.dataset.id = t.id;
    tr.dataset.fingerprint = t.fingerprint;
    cell(tr, t.vendor);
    cell(tr, t.kind);
    cell(tr, t.principal);
    cell(tr, t.fingerprint).className = 'mono';
    cell(tr, new Date(t.issued_at).toISOString());
    const left = cell(tr, '');
    left.className = 'expires';
    left.dataset.expires = t.expires_at || '';
    const state = cell(tr, t.state);
    state.className = 'state';
    const actions = cell(tr, '');
    for (const what of ['expire', 'revoke']) {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = what === 'expire' ? 'Expire' : 'Revoke';
      b.setAttribute('aria-label', b.textContent + ' ' + t.vendor + ' token ' + t.fingerprint);
      b.disabled = t.state !== 'active';
      b.addEventListener('click', () => run(async () => {
        await call('POST', 'tokens/' + what, { vendor: t.vendor, id: t.id });
        say(what + 'd ' + t.fingerprint);
        await loadTokens(page.after);
      }));
      actions.appendChild(b);
    }
    rows.push(tr);
  }
  if (rows.length === 0) {
    const tr = document.createElement('tr');
    cell(tr, 'no tokens').colSpan = 8;
    rows.push(tr);
  }
  body.replaceChildren(...rows);
  renderCountdowns();
}

// renderCountdowns writes each token's time left on the virtual clock.
function renderCountdowns() {
  const now = virtualNow();
  for (const td of document.querySelectorAll('#token-rows td.expires')) {
    const at = td.dataset.expires;
    td.textContent = at ? duration(Date.parse(at) - now) : 'never';
  }
}

async function issue(event) {
  event.preventDefault();
  const body = { vendor: $('i-vendor').value, principal: $('i-principal').value };
  for (const [key, id] of [['kind', 'i-kind'], ['lifetime', 'i-lifetime'], ['role', 'i-role']]) {
    if ($(id).value) body[key] = $(id).value;
  }
  const out = await call('POST', 'tokens/issue', body);
  $('issued-value').textContent = out.token;
  $('issued').hidden = false;
  say('issued ' + out.token_info.fingerprint + ' (its value is shown once, below the form)');
  await loadTokens('');
}

// ---- the journal: a live tail through long polls ----

const journal = { since: 0, paused: false, rows: [], max: 500, gen: 0 };

function journalQuery(extra) {
  const q = new URLSearchParams(extra);
  if ($('j-vendor').value) q.set('vendor', $('j-vendor').value);
  if ($('j-status').value) q.set('status', $('j-status').value);
  if ($('j-reason').value) q.set('reason', $('j-reason').value);
  return q;
}

async function tail(gen) {
  // The newest page first, then wait for more.
  const last = await call('GET', 'journal?limit=0');
  journal.since = Math.max(0, last.next - journal.max);
  while (gen === journal.gen) {
    if (journal.paused) {
      await new Promise((resolve) => { journal.resume = resolve; });
      continue;
    }
    try {
      const data = await call('GET', 'journal?' + journalQuery({ since: String(journal.since), limit: '1000', wait: '25s' }));
      if (gen !== journal.gen) return;
      journal.since = Math.max(journal.since, data.next);
      if (data.entries.length > 0) addEntries(data.entries);
    } catch (err) {
      say(err.message, true);
      await new Promise((resolve) => setTimeout(resolve, 2000)); // the emulator is away: try again later
    }
  }
}

function addEntries(entries) {
  journal.rows = entries.slice().reverse().concat(journal.rows).slice(0, journal.max);
  const rows = journal.rows.map((e) => {
    const tr = document.createElement('tr');
    cell(tr, String(e.seq));
    cell(tr, e.time);
    cell(tr, e.vendor);
    cell(tr, e.operation || e.method + ' ' + e.path);
    cell(tr, e.status === 0 ? 'dropped' : String(e.status));
    cell(tr, e.principal || '');
    cell(tr, e.reason || '');
    cell(tr, e.scenario ? 'scenario:' + e.scenario : '');
    tr.title = (e.reason || '') + (e.rule !== undefined ? ' (rule ' + e.rule + ')' : '') + ' ' + e.latency_ms + ' ms';
    return tr;
  });
  $('journal-rows').replaceChildren(...rows);
}

function restartTail() {
  journal.gen++;
  journal.rows = [];
  $('journal-rows').replaceChildren();
  run(() => tail(journal.gen));
}

// ---- wiring ----

function show(view) {
  for (const b of document.querySelectorAll('.tab')) b.setAttribute('aria-pressed', String(b.dataset.view === view));
  for (const s of document.querySelectorAll('.view')) s.hidden = s.id !== view;
}

function wire() {
  for (const b of document.querySelectorAll('.tab')) b.addEventListener('click', () => show(b.dataset.view));
  for (const b of document.querySelectorAll('[data-advance]')) {
    b.addEventListener('click', () => run(() => clockChange('clock/advance', { duration: b.dataset.advance })));
  }
  $('clock-freeze').addEventListener('click', () => run(() => clockChange('clock/freeze')));
  $('clock-resume').addEventListener('click', () => run(() => clockChange('clock/resume')));
  $('advance-form').addEventListener('submit', (e) => { e.preventDefault(); run(() => clockChange('clock/advance', { duration: $('advance-by').value })); });
  $('set-form').addEventListener('submit', (e) => { e.preventDefault(); run(() => clockChange('clock/set', { time: $('set-to').value })); });
  $('token-filter').addEventListener('submit', (e) => { e.preventDefault(); run(() => loadTokens('')); });
  $('tokens-first').addEventListener('click', () => run(() => loadTokens('')));
  $('tokens-next').addEventListener('click', () => run(() => loadTokens(page.next)));
  $('issue-form').addEventListener('submit', (e) => run(() => issue(e)));
  $('issued-copy').addEventListener('click', () => run(() => navigator.clipboard.writeText($('issued-value').textContent)));
  $('journal-filter').addEventListener('submit', (e) => { e.preventDefault(); restartTail(); });
  $('journal-pause').addEventListener('click', () => {
    journal.paused = !journal.paused;
    $('journal-pause').setAttribute('aria-pressed', String(journal.paused));
    $('journal-pause').textContent = journal.paused ? 'Resume' : 'Pause';
    if (!journal.paused && journal.resume) journal.resume();
  });
  $('auth-form').addEventListener('submit', (e) => {
    e.preventDefault();
    sessionStorage.setItem(tokenKey, $('admin-token').value);
    $('admin-token').value = '';
    $('auth').hidden = true;
    start();
  });
  // Once a second: the clock and the countdowns move on the virtual clock;
  // every 5 s the clock is read again (another client may have moved it).
  let ticks = 0;
  setInterval(() => {
    renderClock();
    renderCountdowns();
    if (++ticks % 5 === 0) run(loadClock);
  }, 1000);
}

function start() {
  run(async () => {
    await loadClock();
    await loadTokens('');
    say('ready');
    restartTail();
  });
}

wire();
start();
