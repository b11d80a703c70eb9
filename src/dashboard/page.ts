import { PLOT_FUNCTIONS } from './plot';
import { CLIENT_SCRIPT } from './client';

/**
 * The dashboard: one self-contained HTML page (inline CSS and JS, no framework, no CDN) served at GET / by the
 * control API. On load it fetches the daemon's status history (/v1/history, the last 15 minutes), then follows
 * /v1/events/stream?status=1: every `status` message updates the tables and appends one sample to the plots,
 * every `event` goes to the list. Plots are hand-written SVG (plot.ts) on one shared time axis. Drain, enable and
 * weight buttons call the same API with the page's credentials (the HttpOnly cookie on tcp/ssl listeners). All
 * text from the daemon is inserted with textContent or escaped, never as raw HTML.
 */
export function renderDashboard(opts: { windowMs?: number } = {}): string {
  const windowMs = opts.windowMs ?? 15 * 60_000;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vadc dashboard</title>
<link rel="icon" href="data:,">
<style>${CSS}</style>
</head>
<body>
<header>
  <div class="brand">vadc <span id="version" class="muted"></span></div>
  <div class="facts">
    <span id="uptime" class="muted"></span>
    <span id="nat" class="fact" data-field="nat"></span>
    <span id="ovsdb" class="fact"></span>
    <span id="live" class="pill pill-unknown">connecting</span>
  </div>
</header>
<main>
  <p id="notice" class="notice" hidden></p>
  <section id="services"><p class="muted empty">Waiting for the daemon…</p></section>
  <section class="card" id="switch-panel">
    <div class="svc-head"><h2>Switches</h2><span class="svc-meta">OpenFlow sessions; rates over the last 10 s</span></div>
    <table><thead><tr><th>Datapath</th><th>Address</th><th>Connected</th><th class="num">Ports</th><th class="num">Packet-ins/s</th><th class="num">Flow-mods/s</th><th class="num">Errors</th><th>Role</th></tr></thead>
    <tbody id="switches"></tbody></table>
    <div class="charts one"><figure><figcaption>Packet-ins and flow-mods per second</figcaption><div class="plot" id="switch-chart"></div><div class="legend" id="switch-legend"></div></figure></div>
  </section>
  <section class="card">
    <h2>Recent events</h2>
    <ol id="events" class="events"></ol>
  </section>
</main>
<script>
const WINDOW_MS = ${windowMs};
${PLOT_FUNCTIONS.map((f) => f.toString()).join('\n')}
${CLIENT_SCRIPT}
</script>
</body>
</html>
`;
}

const CSS = `
:root { --bg:#f5f6f8; --card:#fff; --ink:#1d2330; --muted:#6b7280; --line:#e5e7eb;
  --up:#15803d; --up-bg:#dcfce7; --down:#b91c1c; --down-bg:#fee2e2; --warn:#a16207; --warn-bg:#fef3c7;
  --idle:#475569; --idle-bg:#e2e8f0; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; background:var(--bg); color:var(--ink); }
header { display:flex; justify-content:space-between; align-items:center; padding:12px 24px; background:#111827; color:#f9fafb; }
header .brand { font-weight:700; font-size:18px; letter-spacing:.5px; }
header .muted { color:#9ca3af; font-weight:400; font-size:13px; margin-left:6px; }
.facts { display:flex; gap:14px; align-items:center; font-size:13px; }
.fact { color:#e5e7eb; }
main { max-width:1280px; margin:20px auto; padding:0 24px; display:grid; gap:18px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:16px 18px; box-shadow:0 1px 2px rgba(0,0,0,.04); }
.card h2 { margin:0 0 4px; font-size:16px; }
.svc-head { display:flex; justify-content:space-between; align-items:baseline; flex-wrap:wrap; gap:8px; margin-bottom:10px; }
.svc-meta { color:var(--muted); font-size:13px; }
.svc-meta b { color:var(--ink); font-weight:600; }
table { width:100%; border-collapse:collapse; }
th { text-align:left; font-weight:600; font-size:11px; text-transform:uppercase; letter-spacing:.04em; color:var(--muted); padding:6px 6px; white-space:nowrap; border-bottom:1px solid var(--line); }
td { padding:6px 6px; border-bottom:1px solid var(--line); vertical-align:top; }
tr:last-child td { border-bottom:none; }
.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
.mono { font-family:ui-monospace,SFMono-Regular,Menlo,monospace; font-size:13px; }
.pill { display:inline-block; padding:1px 9px; border-radius:999px; font-size:12px; font-weight:600; }
.pill-up { color:var(--up); background:var(--up-bg); }
.pill-down { color:var(--down); background:var(--down-bg); }
.pill-draining, .pill-drained, .pill-launching { color:var(--warn); background:var(--warn-bg); }
.pill-unknown { color:var(--idle); background:var(--idle-bg); }
.sub { display:block; color:var(--muted); font-size:12px; }
.ok { color:var(--up); } .fail { color:var(--down); }
.charts { display:grid; grid-template-columns:1fr 1fr; gap:12px 18px; margin-top:14px; }
.charts.one { grid-template-columns:1fr; }
figure { margin:0; }
figcaption { font-size:12px; font-weight:600; color:var(--muted); text-transform:uppercase; letter-spacing:.04em; margin-bottom:2px; }
svg.chart { width:100%; height:auto; display:block; }
svg.chart .grid { stroke:#eef0f3; } svg.chart .axis { stroke:#cbd5e1; }
svg.chart .tick { font-size:10px; fill:var(--muted); font-variant-numeric:tabular-nums; }
.legend { display:flex; flex-wrap:wrap; gap:4px 14px; font-size:12px; color:var(--muted); }
.legend .swatch { display:inline-block; width:10px; height:3px; margin-right:5px; vertical-align:middle; }
.legend b { color:var(--ink); font-weight:600; font-variant-numeric:tabular-nums; }
.actions { white-space:nowrap; }
.actions button { font:inherit; font-size:12px; padding:2px 8px; border:1px solid #cbd5e1; border-radius:6px; background:#f8fafc; cursor:pointer; }
.actions button:hover { background:#eef2f7; }
.actions input { width:56px; font:inherit; font-size:12px; padding:1px 4px; border:1px solid #cbd5e1; border-radius:6px; }
.notice { margin:0; padding:8px 12px; border-radius:8px; background:var(--down-bg); color:var(--down); }
.notice.info { background:var(--up-bg); color:var(--up); }
.events { list-style:none; margin:8px 0 0; padding:0; max-height:320px; overflow:auto; }
.events li { display:grid; grid-template-columns:84px 64px 1fr; gap:10px; padding:5px 0; border-bottom:1px solid var(--line); }
.events li:last-child { border-bottom:none; }
.lvl-info { color:var(--up); } .lvl-warn { color:var(--warn); } .lvl-error { color:var(--down); }
.muted { color:var(--muted); }
.empty { padding:8px 0; }
`;
