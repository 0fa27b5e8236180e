// tokenemu's QA console: plain JavaScript over the admin API, no build step.
// Every value from the emulator is written with textContent, never as HTML.
'use strict';

const api = new URL('.', location.href); // the admin plane: …/_emulator/
// The tenant this page drives ('' for the root) and the root's admin plane,
// which lists the tenants.
const tenantMatch = location.pathname.match(/^\/t\/([^/]+)\/_emulator\//);
const tenantID = tenantMatch ? decodeURIComponent(tenantMatch[1]) : '';
const rootAPI = new URL('/_emulator/', location.href);
// The token this page sends: a tenant's own (entered on its page) or else
// the root's admin token, which covers every tenant.
const rootTokenKey = 'tokenemu-admin-token';
const tokenKey = tenantID ? rootTokenKey + '@' + tenantID : rootTokenKey;
const adminToken = () => sessionStorage.getItem(tokenKey) || sessionStorage.getItem(rootTokenKey);
const $ = (id) => document.getElementById(id);

// call sends one admin request. The admin token (when this emulator has one)
// goes in a header, never in a URL; a change always says JSON, as the admin
// plane requires of every change.
async function call(method, path, body) {
  const headers = {};
  const token = adminToken();
  if (token) headers.Authorization = 'Bearer ' + token;
  if (method !== 'GET') headers['Content-Type'] = 'application/json';
  const resp = await fetch(new URL(path, api), {
    method, headers, credentials: 'omit', cache: 'no-store',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await resp.json().catch(() => ({}));
  if (resp.status === 401) {
    $('auth').hidden = false;
    throw new Error(token ? 'the admin plane refused this admin token: enter it again' : 'the admin plane wants its token');
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

const journal = { since: 0, paused: false, rows: [], max: 500, gen: 0, open: new Set() };

function journalQuery(extra) {
  const q = new URLSearchParams(extra);
  for (const [key, id] of [['vendor', 'j-vendor'], ['status', 'j-status'], ['operation', 'j-operation'],
    ['principal', 'j-principal'], ['reason', 'j-reason'], ['scenario', 'j-scenario']]) {
    if ($(id).value) q.set(key, $(id).value);
  }
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

// addEntries puts new entries on top and keeps the newest journal.max: the
// page never holds more rows than that, however long the tail runs.
function addEntries(entries) {
  journal.rows = entries.slice().reverse().concat(journal.rows).slice(0, journal.max);
  const shown = new Set(journal.rows.map((e) => e.seq));
  for (const seq of journal.open) if (!shown.has(seq)) journal.open.delete(seq); // opened rows that scrolled away
  const rows = [];
  for (const e of journal.rows) {
    const tr = document.createElement('tr');
    tr.tabIndex = 0;
    tr.className = 'entry';
    cell(tr, String(e.seq));
    cell(tr, e.time);
    cell(tr, e.vendor);
    cell(tr, e.operation || e.method + ' ' + e.path);
    cell(tr, e.status === 0 ? 'dropped' : String(e.status));
    cell(tr, e.principal || '');
    cell(tr, e.reason || '');
    cell(tr, e.scenario ? 'scenario:' + e.scenario : '');
    const detail = document.createElement('tr');
    detail.className = 'detail';
    detail.hidden = !journal.open.has(e.seq);
    const td = cell(detail, [e.method + ' ' + e.path,
      'reason: ' + (e.reason || '-'),
      'rule: ' + (e.scenario ? e.scenario + ' #' + e.rule : '-'),
      'latency: ' + e.latency_ms + ' ms', 'token: ' + (e.token_fingerprint || '-')].join('   '));
    td.colSpan = 8;
    const toggle = () => {
      detail.hidden = !detail.hidden;
      if (detail.hidden) journal.open.delete(e.seq); else journal.open.add(e.seq);
    };
    tr.addEventListener('click', toggle);
    tr.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') toggle(); });
    rows.push(tr, detail);
  }
  $('journal-rows').replaceChildren(...rows);
}

function restartTail() {
  journal.gen++;
  journal.rows = [];
  $('journal-rows').replaceChildren();
  run(() => tail(journal.gen));
}

// ---- scenarios ----

async function loadScenarios() {
  const data = await call('GET', 'scenarios');
  const active = [];
  for (const s of data.active) {
    s.rules.forEach((r, i) => {
      const tr = document.createElement('tr');
      cell(tr, s.name);
      cell(tr, String(r.index));
      cell(tr, r.match.vendor + (r.match.operation ? '.' + r.match.operation : ''));
      cell(tr, String(r.matched));
      cell(tr, String(r.fired));
      cell(tr, r.remaining === undefined || r.remaining === null ? '-' : String(r.remaining));
      const actions = cell(tr, '');
      if (i === 0) {
        const b = document.createElement('button');
        b.type = 'button';
        b.textContent = 'Remove';
        b.setAttribute('aria-label', 'Remove scenario ' + s.name);
        b.addEventListener('click', () => run(async () => {
          await call('DELETE', 'scenarios/' + encodeURIComponent(s.name));
          say('removed ' + s.name);
          await loadScenarios();
        }));
        actions.appendChild(b);
      }
      active.push(tr);
    });
  }
  if (active.length === 0) {
    const tr = document.createElement('tr');
    cell(tr, 'no active scenario').colSpan = 7;
    active.push(tr);
  }
  $('active-rows').replaceChildren(...active);
  const builtins = data.builtins.map((b) => {
    const tr = document.createElement('tr');
    tr.dataset.name = b.name;
    cell(tr, b.name);
    cell(tr, b.description);
    const pick = document.createElement('select');
    pick.setAttribute('aria-label', 'Vendor for ' + b.name);
    for (const v of [''].concat(b.vendors)) {
      const o = document.createElement('option');
      o.value = v;
      o.textContent = v || 'every vendor';
      pick.appendChild(o);
    }
    cell(tr, '').appendChild(pick);
    const apply = document.createElement('button');
    apply.type = 'button';
    apply.textContent = 'Apply';
    apply.setAttribute('aria-label', 'Apply ' + b.name);
    apply.addEventListener('click', () => run(async () => {
      const body = { name: b.name };
      if (pick.value) body.vendor = pick.value;
      await call('POST', 'scenarios', body);
      say('applied ' + b.name);
      await loadScenarios();
    }));
    cell(tr, '').appendChild(apply);
    return tr;
  });
  $('builtin-rows').replaceChildren(...builtins);
}

// applyDocument sends a pasted or uploaded scenario document as it is: the
// emulator's answer names the rule and field of any mistake.
async function applyDocument(event) {
  event.preventDefault();
  let text = $('yaml-text').value;
  const file = $('yaml-file').files[0];
  if (file) text = await file.text();
  const token = adminToken();
  const headers = { 'Content-Type': 'application/yaml' };
  if (token) headers.Authorization = 'Bearer ' + token;
  const resp = await fetch(new URL('scenarios', api), { method: 'POST', headers, body: text, credentials: 'omit' });
  const data = await resp.json().catch(() => ({}));
  if (resp.status === 401) {
    $('auth').hidden = false;
    throw new Error('the admin plane wants its token');
  }
  if (!resp.ok) {
    $('yaml-error').textContent = data.message || resp.statusText;
    $('yaml-error').hidden = false;
    return;
  }
  $('yaml-error').hidden = true;
  say('applied ' + data.applied.map((s) => s.name).join(', '));
  await loadScenarios();
}

// ---- credentials and state ----

async function loadMore() {
  const creds = await call('GET', 'credentials');
  const items = [];
  for (const v of creds.vendors) {
    for (const line of v.credentials) {
      const li = document.createElement('li');
      const text = document.createElement('code');
      text.textContent = v.name + ': ' + line;
      const copy = document.createElement('button');
      copy.type = 'button';
      copy.textContent = 'Copy';
      copy.setAttribute('aria-label', 'Copy ' + v.name + ' credentials');
      copy.addEventListener('click', () => run(() => navigator.clipboard.writeText(line)));
      li.append(text, ' ', copy);
      items.push(li);
    }
  }
  $('credentials').replaceChildren(...items);
  const docs = ['admin'].concat(creds.vendors.map((v) => v.name)).map((name) => {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = new URL('openapi/' + name + '.yaml', api).href;
    a.textContent = name + '.yaml';
    li.appendChild(a);
    return li;
  });
  $('documents').replaceChildren(...docs);
}

// ---- wiring ----

function show(view) {
  for (const b of document.querySelectorAll('.tab')) b.setAttribute('aria-pressed', String(b.dataset.view === view));
  for (const s of document.querySelectorAll('.view')) s.hidden = s.id !== view;
  if (view === 'scenarios') run(loadScenarios);
  if (view === 'more') run(loadMore);
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
  $('yaml-form').addEventListener('submit', (e) => run(() => applyDocument(e)));
  $('tenant').addEventListener('change', () => {
    const id = $('tenant').value;
    location.assign(new URL(id ? '/t/' + encodeURIComponent(id) + '/_emulator/ui' : '/_emulator/ui', location.href).href);
  });
  $('scenarios-clear').addEventListener('click', () => run(async () => {
    await call('DELETE', 'scenarios');
    say('cleared every scenario');
    await loadScenarios();
  }));
  $('reset').addEventListener('click', () => run(async () => {
    await call('POST', 'reset');
    say('reset: tokens gone, fixtures reloaded, clock back at its start, journal empty');
    await loadClock();
    await loadTokens('');
    restartTail();
  }));
  $('save').addEventListener('click', () => run(async () => {
    const out = await call('POST', 'state/save');
    say('saved ' + out.file + ' (' + out.bytes + ' bytes)');
  }));
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

// loadTenants offers the tenants in a switcher: choosing one opens the
// console of that tenant (same origin, its URLs below /t/{id}).
async function loadTenants() {
  const headers = {};
  const token = sessionStorage.getItem(rootTokenKey);
  if (token) headers.Authorization = 'Bearer ' + token;
  const resp = await fetch(new URL('tenants', rootAPI), { headers, credentials: 'omit', cache: 'no-store' });
  if (!resp.ok) return; // no tenants here, or not allowed: no switcher
  const data = await resp.json();
  if (data.tenants.length === 0 && !tenantID) return;
  const sel = $('tenant');
  const options = [['', 'the root']].concat(data.tenants.map((t) => [t.id, t.id])).map(([id, label]) => {
    const o = document.createElement('option');
    o.value = id;
    o.textContent = label;
    o.selected = id === tenantID;
    return o;
  });
  sel.replaceChildren(...options);
  sel.hidden = false;
  $('tenant-label').hidden = false;
}

// loadVendors fills the vendor pickers with the vendors this emulator serves.
async function loadVendors() {
  const creds = await call('GET', 'credentials');
  for (const sel of document.querySelectorAll('select.vendors')) {
    const keep = [...sel.options].filter((o) => o.value === '' || o.value === 'admin');
    const served = creds.vendors.map((v) => {
      const o = document.createElement('option');
      o.textContent = v.name;
      return o;
    });
    sel.replaceChildren(...keep.filter((o) => o.value === ''), ...served, ...keep.filter((o) => o.value === 'admin'));
    sel.selectedIndex = 0; // "all", or the first vendor: moving options can leave another selected
  }
}

function start() {
  run(async () => {
    await loadVendors();
    await loadTenants();
    await loadClock();
    await loadTokens('');
    say('ready');
    restartTail();
  });
}

wire();
start();
