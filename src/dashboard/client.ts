/**
 * The dashboard's browser script (plain JS in a string; the plotting functions of plot.ts are defined before it
 * on the page). It keeps the samples in columns like /v1/history's, keyed rows in the tables so a weight being
 * typed survives the next update, and one time domain shared by every chart.
 */
export const CLIENT_SCRIPT = String.raw`
const COLORS = ['#2563eb', '#16a34a', '#dc2626', '#9333ea', '#ea580c', '#0891b2', '#be185d', '#4d7c0f'];
const data = { times: [], backends: new Map(), services: new Map(), switches: new Map() };
let latest;
const $ = (id) => document.getElementById(id);
const enc = encodeURIComponent;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') node.className = v; else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

// ---- the sample columns
const BACKEND_FIELDS = ['active', 'inactive', 'total', 'bytes', 'queue', 'health'];
const SERVICE_FIELDS = ['decisions', 'refused'];
const SWITCH_FIELDS = ['packetIns', 'flowModsSent', 'errorsReceived'];

function column(map, key, fields) {
  let c = map.get(key);
  if (!c) {
    c = {};
    for (const f of fields) c[f] = data.times.map(() => null);
    map.set(key, c);
  }
  return c;
}

function loadHistory(h) {
  data.times = h.times.slice();
  for (const b of h.backends) {
    const c = column(data.backends, b.service + '/' + b.backend, BACKEND_FIELDS);
    for (const f of BACKEND_FIELDS) c[f] = b[f].slice();
  }
  for (const s of h.services) Object.assign(column(data.services, s.service, SERVICE_FIELDS), { decisions: s.decisions.slice(), refused: s.refused.slice() });
  for (const sw of h.switches) {
    const c = column(data.switches, sw.dpid, SWITCH_FIELDS);
    for (const f of SWITCH_FIELDS) c[f] = sw[f].slice();
  }
}

function appendSample(st) {
  const t = st.time || Date.now();
  if (data.times.length && t <= data.times[data.times.length - 1]) return;
  const row = { backends: new Map(), services: new Map(), switches: new Map() };
  for (const s of st.services) {
    row.services.set(s.name, { decisions: s.decisions, refused: s.refused });
    for (const b of s.backends) row.backends.set(s.name + '/' + b.id, { active: b.activeConns, inactive: b.inactiveConns, total: b.totalConns, bytes: b.bytes, queue: b.queueMeasure ?? null, health: b.health });
  }
  for (const sw of st.switches) row.switches.set(sw.dpid, sw);
  for (const [map, fields, key] of [[data.backends, BACKEND_FIELDS, 'backends'], [data.services, SERVICE_FIELDS, 'services'], [data.switches, SWITCH_FIELDS, 'switches']]) {
    for (const k of row[key].keys()) column(map, k, fields);
    for (const [k, c] of map) {
      const v = row[key].get(k);
      for (const f of fields) c[f].push(v && v[f] !== undefined ? v[f] : null);
    }
  }
  data.times.push(t);
  while (data.times.length && data.times[0] < t - WINDOW_MS) {
    data.times.shift();
    for (const map of [data.backends, data.services, data.switches]) for (const c of map.values()) for (const f of Object.keys(c)) c[f].shift();
  }
  for (const map of [data.backends, data.services, data.switches]) {
    for (const [k, c] of map) if (Object.values(c).every((col) => col.every((v) => v === null))) map.delete(k);
  }
}

const lastOf = (col) => { for (let i = col.length - 1; i >= 0; i--) if (col[i] !== null) return col[i]; return null; };
// Table figures: the rate over the last 10 s (one sample's rate jumps too much to read).
const rateNow = (col) => recentRate(data.times, col, 10000);
function domain() {
  const t1 = data.times.length ? data.times[data.times.length - 1] : Date.now();
  const t0 = data.times.length ? Math.max(data.times[0], t1 - WINDOW_MS) : t1 - 60000;
  return [t0, Math.max(t1, t0 + 10000)];
}

// ---- charts
function chart(slot, legend, id, series, unit, width) {
  slot.innerHTML = chartSvg({ id, times: data.times, domain: domain(), series, unit, width });
  legend.replaceChildren(...series.map((s) => {
    const v = lastOf(s.values);
    const text = v === null ? '–' : unit === 'bytes' ? formatBytes(v) + '/s' : formatNumber(v);
    return el('span', { 'data-series': s.name, 'data-last': v === null ? '' : String(v) }, el('span', { class: 'swatch', style: 'background:' + s.color }), s.name + ' ', el('b', {}, text));
  }));
}

function figure(caption, name) {
  return el('figure', { 'data-figure': name }, el('figcaption', {}, caption), el('div', { class: 'plot' }), el('div', { class: 'legend' }));
}

function renderCharts(card, s) {
  const keys = s.backends.map((b) => s.name + '/' + b.id);
  const cols = keys.map((k) => data.backends.get(k) || {});
  const series = (f) => s.backends.map((b, i) => ({ name: b.id, color: COLORS[i % COLORS.length], values: f(cols[i]) }));
  const none = () => data.times.map(() => null);
  const plots = [
    ['conns', series((c) => (c.total ? counterRates(data.times, c.total) : none())), 'number'],
    ['bytes', series((c) => (c.bytes ? counterRates(data.times, c.bytes) : none())), 'bytes'],
    ['active', series((c) => c.active || none()), 'number'],
    ['queue', series((c) => c.queue || none()), 'number'],
  ];
  for (const [name, ser, unit] of plots) {
    const fig = card.querySelector('[data-figure="' + name + '"]');
    chart(fig.querySelector('.plot'), fig.querySelector('.legend'), s.name + '/' + name, ser, unit);
  }
}

// ---- service cards with keyed backend rows
const COLUMNS = ['Backend', 'Health', 'Last check', 'Conns cur / max', 'New conns/s (10 s)', 'Bytes/s (10 s)', 'Queue (s)', 'Down', 'Weight', ''];

function serviceCard(s) {
  let card = document.querySelector('section[data-service="' + CSS.escape(s.name) + '"]');
  if (card) return card;
  card = el('section', { class: 'card', 'data-service': s.name },
    el('div', { class: 'svc-head' }, el('h2', {}, s.name), el('div', { class: 'svc-meta' })),
    el('table', {}, el('thead', {}, el('tr', {}, ...COLUMNS.map((t, i) => el('th', { class: i >= 3 && i <= 7 ? 'num' : '' }, t)))), el('tbody')),
    el('div', { class: 'charts' }, figure('New connections per second', 'conns'), figure('Bytes per second (both directions)', 'bytes'),
      figure('Active connections', 'active'), figure('Queue measure: expected wait, seconds', 'queue')));
  return card;
}

function cell(row, field) { return row.querySelector('[data-field="' + field + '"]'); }

function backendRow(tbody, s, b) {
  const key = s.name + '/' + b.id;
  let row = tbody.querySelector('tr[data-backend="' + CSS.escape(key) + '"]');
  if (row) return row;
  const td = (field, cls) => el('td', { 'data-field': field, class: cls || '' });
  row = el('tr', { 'data-backend': key },
    td('id'), td('health'), td('check'), td('conns', 'num'), td('rate', 'num'), td('bps', 'num'), td('queue', 'num'), td('down', 'num'),
    el('td', { class: 'actions' }, el('span', { 'data-field': 'weight', class: 'mono' }), ' ',
      el('input', { type: 'number', min: '0', max: '65535', 'aria-label': 'new weight', 'data-input': 'weight' }),
      el('button', { 'data-action': 'weight', 'data-service': s.name, 'data-backend': b.id }, 'Set')),
    el('td', { class: 'actions' },
      el('button', { 'data-action': 'drain', 'data-service': s.name, 'data-backend': b.id }, 'Drain'), ' ',
      el('button', { 'data-action': 'enable', 'data-service': s.name, 'data-backend': b.id }, 'Enable')));
  tbody.append(row);
  return row;
}

function updateBackend(row, s, b, now) {
  const c = data.backends.get(s.name + '/' + b.id) || {};
  cell(row, 'id').replaceChildren(el('div', { class: 'mono' }, b.id), el('span', { class: 'sub' }, formatEndpoint(b.ip, b.ports.join(',')) + (b.ip6 ? ' ' + formatEndpoint(b.ip6, b.ports.join(',')) : '') + (b.ofport !== undefined ? ' · port ' + b.ofport : '') + ' · tier ' + b.tier));
  const health = cell(row, 'health');
  health.setAttribute('data-health', b.health);
  health.replaceChildren(el('span', { class: 'pill pill-' + b.health }, b.health),
    el('span', { class: 'sub', 'data-field': 'since' }, b.stateSince ? 'for ' + formatDuration(now - b.stateSince) : ''),
    el('span', { class: 'sub' }, b.healthReason || ''));
  const check = cell(row, 'check');
  if (b.lastCheck) {
    check.setAttribute('data-ok', String(b.lastCheck.ok));
    check.replaceChildren(el('span', { class: b.lastCheck.ok ? 'ok' : 'fail' }, (b.lastCheck.ok ? '✓ ' : '✗ ') + b.lastCheck.reason),
      el('span', { class: 'sub' }, formatDuration(now - b.lastCheck.at) + ' ago · port ' + b.lastCheck.port + ' · ' + b.lastCheck.durationMs + ' ms'));
  } else check.replaceChildren(el('span', { class: 'sub' }, 'no active check yet'));
  cell(row, 'conns').textContent = (b.activeConns + b.inactiveConns) + ' / ' + (b.maxConns ?? '–');
  const rate = c.total ? rateNow(c.total) : null;
  cell(row, 'rate').textContent = rate === null ? '–' : formatNumber(rate);
  cell(row, 'rate').setAttribute('data-value', rate === null ? '' : String(rate));
  const bps = c.bytes ? rateNow(c.bytes) : null;
  cell(row, 'bps').textContent = bps === null ? '–' : formatBytes(bps) + '/s';
  cell(row, 'queue').textContent = b.queueMeasure === undefined ? '–' : formatNumber(b.queueMeasure);
  cell(row, 'down').replaceChildren((b.downTransitions ?? 0) + '×', el('span', { class: 'sub' }, formatDuration(b.downtimeMs ?? 0)));
  cell(row, 'weight').textContent = String(b.weight);
}

function renderService(s, now) {
  const card = serviceCard(s);
  const svc = data.services.get(s.name) || {};
  const newRate = svc.decisions ? rateNow(svc.decisions) : null;
  card.querySelector('.svc-meta').replaceChildren(
    el('b', {}, formatEndpoint(s.vip, s.port) + (s.vip6 ? ' ' + formatEndpoint(s.vip6, s.port) : '') + '/' + s.protocol), ' · scheduler ', el('b', {}, s.scheduler), ' · tier ', el('b', {}, s.activeTier),
    ' · ', el('b', { 'data-field': 'service-rate' }, newRate === null ? '–' : formatNumber(newRate)), ' new conns/s · ',
    el('b', {}, s.decisions), ' decisions · ', el('b', {}, s.refused), ' refused');
  const tbody = card.querySelector('tbody');
  const keep = new Set();
  for (const b of s.backends) {
    const row = backendRow(tbody, s, b);
    keep.add(row);
    updateBackend(row, s, b, now);
  }
  for (const row of [...tbody.children]) if (!keep.has(row)) row.remove();
  renderCharts(card, s);
  return card;
}

function renderSwitches(st, now) {
  const rows = st.switches.map((sw) => {
    const c = data.switches.get(sw.dpid) || {};
    const r = (col) => { const v = col ? rateNow(col) : null; return v === null ? '–' : formatNumber(v); };
    return el('tr', { 'data-dpid': sw.dpid }, el('td', { class: 'mono' }, sw.dpid), el('td', { class: 'mono' }, sw.address),
      el('td', {}, formatDuration(now - sw.connectedAt) + ' ago'), el('td', { class: 'num' }, sw.ports),
      el('td', { class: 'num', 'data-field': 'packet-ins' }, r(c.packetIns)), el('td', { class: 'num' }, r(c.flowModsSent)),
      el('td', { class: 'num' }, sw.errorsReceived), el('td', {}, sw.role || '–'));
  });
  $('switches').replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colspan: '8', class: 'muted' }, 'No switch connected.'))]));
  const series = [];
  let i = 0;
  for (const [dpid, c] of data.switches) {
    series.push({ name: dpid + ' packet-ins', color: COLORS[i++ % COLORS.length], values: counterRates(data.times, c.packetIns) });
    series.push({ name: dpid + ' flow-mods', color: COLORS[i++ % COLORS.length], values: counterRates(data.times, c.flowModsSent) });
  }
  chart($('switch-chart'), $('switch-legend'), 'switches', series, 'number', 1160);
}

function render(st) {
  latest = st;
  const now = st.time || Date.now();
  $('version').textContent = st.version;
  $('uptime').textContent = 'up ' + formatDuration(now - st.startedAt);
  const dp = st.datapath;
  const facts = Object.entries(dp).filter(([k]) => k !== 'reason' && k !== 'reading').map(([k, v]) => (k === 'nat' ? v : k + ' ' + v));
  // The tracker listing's cost to ovs-vswitchd and how far apart it is read (datapath.listing_share).
  const r = dp.reading;
  if (r) facts.push('listing ' + r.answerWaitMs.toFixed(1) + ' ms ' + (r.spacingMs > 0 ? 'every ' + (r.spacingMs / 1000).toFixed(1) + ' s' : 'every poll'));
  $('nat').textContent = 'NAT ' + facts.join(' · ');
  $('nat').title = dp.reason || '';
  $('ovsdb').textContent = 'OVSDB ' + (st.ovsdb.connected ? 'connected' : 'disconnected');
  const box = $('services');
  const cards = st.services.map((s) => renderService(s, now));
  if (cards.length === 0) box.replaceChildren(el('p', { class: 'muted empty' }, 'No services configured.'));
  else if (cards.some((c, i) => box.children[i] !== c) || box.children.length !== cards.length) box.replaceChildren(...cards);
  renderSwitches(st, now);
}

// ---- actions (the API with the page's own credentials)
function notice(text, ok) {
  const n = $('notice');
  n.hidden = false; n.textContent = text; n.className = 'notice' + (ok ? ' info' : '');
}

document.addEventListener('click', async (ev) => {
  const button = ev.target.closest && ev.target.closest('button[data-action]');
  if (!button) return;
  const { action, service, backend } = button.dataset;
  const path = '/v1/services/' + enc(service) + '/backends/' + enc(backend) + '/' + action;
  let body;
  if (action === 'weight') {
    const input = button.parentElement.querySelector('input[data-input="weight"]');
    if (input.value === '') { notice('Type a weight first (0-65535).', false); return; }
    body = JSON.stringify({ weight: Number(input.value) });
  }
  button.disabled = true;
  try {
    const res = await fetch(path, { method: 'POST', credentials: 'same-origin', headers: body ? { 'content-type': 'application/json' } : {}, body });
    const reply = await res.json().catch(() => ({}));
    if (!res.ok) notice(action + ' ' + backend + ' failed: ' + ((reply.error && reply.error.message) || res.status), false);
    else notice(action + ' ' + backend + ': weight ' + reply.weight + ', ' + reply.health, true);
  } catch (err) {
    notice(action + ' ' + backend + ' failed: ' + err.message, false);
  } finally {
    button.disabled = false;
  }
});

// ---- events and the stream
function addEvent(e) {
  const where = [e.service, e.backend, e.dpid].filter(Boolean).join(' / ');
  const item = el('li', { 'data-kind': e.kind },
    el('span', { class: 'mono muted' }, formatClock(e.time)),
    el('span', { class: 'lvl-' + e.level }, e.level),
    el('span', {}, e.message, el('span', { class: 'sub' }, where ? e.kind + ' · ' + where : e.kind)));
  const list = $('events');
  list.prepend(item);
  while (list.children.length > 100) list.lastChild.remove();
}

function setLive(ok) {
  const live = $('live');
  live.textContent = ok ? 'live' : 'reconnecting';
  live.className = 'pill ' + (ok ? 'pill-up' : 'pill-down');
}

async function start() {
  try {
    const res = await fetch('/v1/history', { credentials: 'same-origin' });
    if (res.ok) loadHistory(await res.json());
  } catch (err) { /* no history: the plots start empty */ }
  const source = new EventSource('/v1/events/stream?status=1&backlog=30');
  source.onopen = () => { setLive(true); $('events').replaceChildren(); };
  source.onerror = () => setLive(false);
  source.addEventListener('status', (m) => { const st = JSON.parse(m.data); appendSample(st); render(st); });
  source.addEventListener('event', (m) => addEvent(JSON.parse(m.data)));
}
start();
`;
