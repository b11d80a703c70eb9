/**
 * The dashboard: one self-contained HTML page (inline CSS and JS, no framework) served at GET / by the
 * control API. It subscribes to /v1/events/stream?status=1 (server-sent events): every `status` message
 * re-renders the services and appends one sample per backend to the plots; every `event` goes to the list.
 * All text from the daemon is inserted with textContent, never as HTML.
 */
export function renderDashboard(opts: { historySamples?: number } = {}): string {
  const history = opts.historySamples ?? 90;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vadc dashboard</title>
<style>${CSS}</style>
</head>
<body>
<header>
  <div class="brand">vadc <span id="version" class="muted"></span></div>
  <div class="facts">
    <span id="uptime" class="muted"></span>
    <span id="switches" class="fact"></span>
    <span id="ovsdb" class="fact"></span>
    <span id="live" class="pill pill-unknown">connecting</span>
  </div>
</header>
<main>
  <section id="services"><p class="muted empty">Waiting for the daemon…</p></section>
  <section class="card">
    <h2>Recent events</h2>
    <ol id="events" class="events"></ol>
  </section>
</main>
<script>
const HISTORY = ${history};
${SCRIPT}
</script>
</body>
</html>
`;
}

const CSS = `
:root { --bg:#f5f6f8; --card:#fff; --ink:#1d2330; --muted:#6b7280; --line:#e5e7eb;
  --up:#15803d; --up-bg:#dcfce7; --down:#b91c1c; --down-bg:#fee2e2; --warn:#a16207; --warn-bg:#fef3c7;
  --idle:#475569; --idle-bg:#e2e8f0; --load:#2563eb; --queue:#9333ea; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; background:var(--bg); color:var(--ink); }
header { display:flex; justify-content:space-between; align-items:center; padding:12px 24px; background:#111827; color:#f9fafb; }
header .brand { font-weight:700; font-size:18px; letter-spacing:.5px; }
header .muted { color:#9ca3af; font-weight:400; font-size:13px; margin-left:6px; }
.facts { display:flex; gap:14px; align-items:center; font-size:13px; }
.fact { color:#e5e7eb; }
main { max-width:1200px; margin:20px auto; padding:0 24px; display:grid; gap:18px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:16px 18px; box-shadow:0 1px 2px rgba(0,0,0,.04); }
.card h2 { margin:0 0 4px; font-size:16px; }
.svc-head { display:flex; justify-content:space-between; align-items:baseline; flex-wrap:wrap; gap:8px; margin-bottom:10px; }
.svc-meta { color:var(--muted); font-size:13px; }
.svc-meta b { color:var(--ink); font-weight:600; }
table { width:100%; border-collapse:collapse; }
th { text-align:left; font-weight:600; font-size:12px; text-transform:uppercase; letter-spacing:.04em; color:var(--muted); padding:6px 8px; white-space:nowrap; border-bottom:1px solid var(--line); }
td { padding:7px 8px; border-bottom:1px solid var(--line); vertical-align:middle; }
tr:last-child td { border-bottom:none; }
td.num { text-align:right; font-variant-numeric:tabular-nums; }
.mono { font-family:ui-monospace,SFMono-Regular,Menlo,monospace; font-size:13px; }
.pill { display:inline-block; padding:1px 9px; border-radius:999px; font-size:12px; font-weight:600; }
.pill-up { color:var(--up); background:var(--up-bg); }
.pill-down { color:var(--down); background:var(--down-bg); }
.pill-draining, .pill-drained, .pill-launching { color:var(--warn); background:var(--warn-bg); }
.pill-unknown { color:var(--idle); background:var(--idle-bg); }
.reason { display:block; color:var(--muted); font-size:12px; }
svg.spark { display:block; }
.spark-label { font-size:11px; color:var(--muted); font-variant-numeric:tabular-nums; }
.events { list-style:none; margin:8px 0 0; padding:0; max-height:320px; overflow:auto; }
.events li { display:grid; grid-template-columns:84px 64px 1fr; gap:10px; padding:5px 0; border-bottom:1px solid var(--line); }
.events li:last-child { border-bottom:none; }
.lvl-info { color:var(--up); } .lvl-warn { color:var(--warn); } .lvl-error { color:var(--down); }
.muted { color:var(--muted); }
.empty { padding:8px 0; }
`;

const SCRIPT = String.raw`
const history = new Map(); // "service/backend" -> [{ active, queue }]
const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') node.className = v; else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function sparkline(values, color, label) {
  const w = 140, h = 34, pad = 3;
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('class', 'spark'); svg.setAttribute('width', w); svg.setAttribute('height', h);
  svg.setAttribute('viewBox', '0 0 ' + w + ' ' + h); svg.setAttribute('aria-label', label);
  const known = values.filter((v) => v !== undefined && v !== null);
  const max = Math.max(1e-9, ...known);
  // Until the history is full the samples so far span the whole width: a few right-aligned points in a
  // 90-sample frame would read as a glitch rather than a plot.
  const step = (w - 2 * pad) / Math.max(1, values.length - 1);
  const pts = [];
  values.forEach((v, i) => { if (v !== undefined && v !== null) pts.push([pad + i * step, h - pad - (v / max) * (h - 2 * pad)]); });
  const base = document.createElementNS(ns, 'line');
  base.setAttribute('x1', pad); base.setAttribute('x2', w - pad); base.setAttribute('y1', h - pad); base.setAttribute('y2', h - pad);
  base.setAttribute('stroke', '#e5e7eb'); svg.append(base);
  if (pts.length > 0) {
    const area = document.createElementNS(ns, 'polygon');
    area.setAttribute('points', [[pts[0][0], h - pad], ...pts, [pts[pts.length - 1][0], h - pad]].map((p) => p.join(',')).join(' '));
    area.setAttribute('fill', color); area.setAttribute('fill-opacity', '0.12'); svg.append(area);
    const line = document.createElementNS(ns, 'polyline');
    line.setAttribute('points', pts.map((p) => p.join(',')).join(' '));
    line.setAttribute('fill', 'none'); line.setAttribute('stroke', color); line.setAttribute('stroke-width', '1.6');
    svg.append(line);
  }
  return svg;
}

function plotCell(values, color, label, current) {
  const text = current === undefined ? 'no samples' : (Number.isInteger(current) ? String(current) : current.toFixed(3));
  return el('td', {}, sparkline(values, color, label), el('span', { class: 'spark-label' }, label + ' ' + text));
}

function record(status) {
  const seen = new Set();
  for (const s of status.services) for (const b of s.backends) {
    const key = s.name + '/' + b.id; seen.add(key);
    const h = history.get(key) || [];
    h.push({ active: b.activeConns, queue: b.queueMeasure });
    if (h.length > HISTORY) h.shift();
    history.set(key, h);
  }
  for (const key of [...history.keys()]) if (!seen.has(key)) history.delete(key);
}

function renderBackend(s, b) {
  const h = history.get(s.name + '/' + b.id) || [];
  const health = el('td', { 'data-health': b.health }, el('span', { class: 'pill pill-' + b.health }, b.health));
  if (b.healthReason) health.append(el('span', { class: 'reason' }, b.healthReason));
  return el('tr', { 'data-backend': s.name + '/' + b.id },
    el('td', {}, el('div', { class: 'mono' }, b.id), el('span', { class: 'reason' }, b.ip + ':' + b.ports.join(','))),
    health,
    el('td', { class: 'num' }, b.weight),
    el('td', { class: 'num' }, b.tier),
    el('td', { class: 'num' }, b.activeConns + ' / ' + b.inactiveConns),
    el('td', { class: 'num' }, b.totalConns),
    plotCell(h.map((x) => x.active), 'var(--load)', 'active', b.activeConns),
    plotCell(h.map((x) => x.queue), 'var(--queue)', 'queue', b.queueMeasure),
  );
}

function renderService(s) {
  const head = el('div', { class: 'svc-head' },
    el('h2', {}, s.name),
    el('div', { class: 'svc-meta' },
      el('b', {}, s.vip + ':' + s.port + '/' + s.protocol), ' · scheduler ', el('b', {}, s.scheduler),
      ' · tier ', el('b', {}, s.activeTier), ' · ', el('b', {}, s.decisions), ' decisions · ', el('b', {}, s.refused), ' refused'));
  const rows = s.backends.map((b) => renderBackend(s, b));
  const table = el('table', {},
    el('thead', {}, el('tr', {}, ...['Backend', 'Health', 'Weight', 'Tier', 'Active / inactive', 'Total', 'Load', 'Queue measure'].map((t) => el('th', {}, t)))),
    el('tbody', {}, ...rows));
  if (rows.length === 0) return el('section', { class: 'card', 'data-service': s.name }, head, el('p', { class: 'muted empty' }, 'No backends.'));
  return el('section', { class: 'card', 'data-service': s.name }, head, table);
}

function renderStatus(status) {
  record(status);
  $('version').textContent = status.version;
  const up = Math.max(0, Math.round((Date.now() - status.startedAt) / 1000));
  const d = Math.floor(up / 86400), hr = Math.floor((up % 86400) / 3600), min = Math.floor((up % 3600) / 60);
  $('uptime').textContent = 'up ' + (d ? d + 'd ' + hr + 'h' : hr ? hr + 'h ' + min + 'm' : min + 'm ' + (up % 60) + 's');
  $('switches').textContent = status.switches.length + (status.switches.length === 1 ? ' switch' : ' switches');
  $('ovsdb').textContent = 'OVSDB ' + (status.ovsdb.connected ? 'connected' : 'disconnected');
  const box = $('services');
  box.replaceChildren(...(status.services.length ? status.services.map(renderService) : [el('p', { class: 'muted empty' }, 'No services configured.')]));
}

function addEvent(e) {
  const t = new Date(e.time).toLocaleTimeString([], { hour12: false });
  const where = [e.service, e.backend, e.dpid].filter(Boolean).join(' / ');
  const item = el('li', { 'data-kind': e.kind },
    el('span', { class: 'mono muted' }, t),
    el('span', { class: 'lvl-' + e.level }, e.level),
    el('span', {}, e.message, where ? el('span', { class: 'reason' }, e.kind + ' · ' + where) : el('span', { class: 'reason' }, e.kind)));
  const list = $('events');
  list.prepend(item);
  while (list.children.length > 100) list.lastChild.remove();
}

function setLive(ok) {
  const live = $('live');
  live.textContent = ok ? 'live' : 'reconnecting';
  live.className = 'pill ' + (ok ? 'pill-up' : 'pill-down');
}

const source = new EventSource('/v1/events/stream?status=1&backlog=30');
source.onopen = () => { setLive(true); $('events').replaceChildren(); };
source.onerror = () => setLive(false);
source.addEventListener('status', (m) => renderStatus(JSON.parse(m.data)));
source.addEventListener('event', (m) => addEvent(JSON.parse(m.data)));
`;
