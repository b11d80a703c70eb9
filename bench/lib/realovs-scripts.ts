// The programs the real-OVS benchmark runs inside the lab's namespaces (plain Node, no dependencies):
// a TCP server that answers one byte and closes, and a client that opens many short connections with
// bounded concurrency (or holds them open), timing each connect.

/** argv: PORT. Reads one byte, answers 'k' and closes; held connections stay until the client closes. */
export const TCP_SERVER_JS = `
const net = require('net');
const server = net.createServer({ noDelay: true }, (s) => {
  s.on('error', () => {});
  s.once('data', () => s.end('k'));
});
server.maxConnections = 100000;
server.listen(Number(process.argv[2]), '0.0.0.0', () => console.log('ready'));
`;

/**
 * argv: JSON {host, port, count, concurrency, timeoutMs, holdMs, targets?}. churn (holdMs 0): each connection sends a
 * byte, waits for the answer and the close. hold: opens all, prints "HELD ok failed", waits holdMs, closes.
 * targets ([{host, port}, ...], instead of host/port): connection i goes to targets[i % n], so two paths measured by
 * turns see the same moments of the machine; connectUsByTarget then holds each target's connect times.
 * Prints one JSON line: ok, failed, elapsedMs, connectUs (per successful connect), connectUsByTarget, failedByTarget
 * (with times: also t0EpochMs and startUsByTarget; with schedstat: schedUsByTarget; with calls: callUsByTarget, callEndUsByTarget, portByTarget).
 * calls: the connect(2) call of each connection timed around the socket handle's connect (Node makes it on the next tick
 * after net.connect, non-blocking: the client kernel's source-port search, before any SYN leaves), with its return
 * after the start and the source port it got.
 */
export const TCP_CLIENT_JS = `
const net = require('net');
const o = JSON.parse(process.argv[2]);
const targets = o.targets || [{ host: o.host, port: o.port }];
const connectUs = [];
const connectUsByTarget = targets.map(() => []);
const failedByTarget = targets.map(() => 0);
// o.times: each successful connect's start, us after t0 (t0EpochMs: t0 on the wall clock), beside connectUsByTarget.
const startUsByTarget = targets.map(() => []);
const callUsByTarget = targets.map(() => []);
const callEndUsByTarget = targets.map(() => []);
const portByTarget = targets.map(() => []);
// o.calls: the socket handle's connect (the connect(2) call) timed: its duration and its return after start, us.
function timeConnectCall(s, start) {
  const t = { us: NaN, endUs: NaN };
  const h = s._handle;
  if (!h || typeof h.connect !== 'function') return t;
  const connect = h.connect;
  h.connect = function (...a) {
    const c0 = process.hrtime.bigint();
    const r = connect.apply(this, a);
    const c1 = process.hrtime.bigint();
    t.us = Number(c1 - c0) / 1000;
    t.endUs = Number(c1 - start) / 1000;
    return r;
  };
  return t;
}
const held = [];
let ok = 0, failed = 0, next = 0;
// o.schedstat: /proc schedstat files read just before each connect starts and just after it completes: per connect,
// each file's CPU time and run-queue wait in between, us, flattened [cpu, wait, cpu, wait, ...] (schedUsByTarget).
const schedFds = (o.schedstat || []).map((p) => require('fs').openSync(p, 'r'));
const schedBuf = Buffer.alloc(256);
const schedRead = () => schedFds.map((fd) => {
  const f = schedBuf.toString('latin1', 0, require('fs').readSync(fd, schedBuf, 0, 256, 0)).split(' ');
  return [Number(f[0]), Number(f[1])];
});
const schedUsByTarget = targets.map(() => []);
const t0 = process.hrtime.bigint();
// Sub-millisecond, on the same clock as the bench's GC pauses (performance.timeOrigin).
const t0EpochMs = performance.timeOrigin + performance.now();
function one(i) {
  return new Promise((resolve) => {
    const target = i % targets.length;
    const schedBefore = schedFds.length ? schedRead() : undefined;
    const start = process.hrtime.bigint();
    const s = net.connect({ host: targets[target].host, port: targets[target].port });
    const call = o.calls ? timeConnectCall(s, start) : undefined;
    s.setNoDelay(true);
    let done = false;
    const finish = (good) => { if (done) return; done = true; clearTimeout(timer); good ? ok++ : (failed++, failedByTarget[target]++); resolve(); };
    const timer = setTimeout(() => { s.destroy(); finish(false); }, o.timeoutMs);
    s.on('error', () => finish(false));
    s.on('connect', () => {
      const us = Number(process.hrtime.bigint() - start) / 1000;
      connectUs.push(us);
      connectUsByTarget[target].push(us);
      if (o.times) startUsByTarget[target].push(Number(start - t0) / 1000);
      if (call) { callUsByTarget[target].push(call.us); callEndUsByTarget[target].push(call.endUs); portByTarget[target].push(s.localPort); }
      if (schedBefore) schedUsByTarget[target].push(schedRead().flatMap((a, k) => [Math.round((a[0] - schedBefore[k][0]) / 1000), Math.round((a[1] - schedBefore[k][1]) / 1000)]));
      if (o.holdMs > 0) { held.push(s); finish(true); return; }
      s.write('x');
    });
    s.on('data', () => {});
    s.on('end', () => finish(true));
  });
}
async function worker() { while (next < o.count) { await one(next++); } }
(async () => {
  await Promise.all(Array.from({ length: Math.min(o.concurrency, o.count) }, worker));
  const elapsedMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (o.holdMs > 0) {
    console.log('HELD ' + ok + ' ' + failed);
    await new Promise((r) => setTimeout(r, o.holdMs));
    for (const s of held) s.destroy();
  }
  // Exit once the line is written: a pipe the bench reads slowly (a loaded host) takes a long line in parts.
  process.stdout.write(JSON.stringify({ ok, failed, elapsedMs, connectUs, connectUsByTarget, failedByTarget, ...(o.times ? { t0EpochMs, startUsByTarget } : {}),
    ...(o.calls ? { callUsByTarget, callEndUsByTarget, portByTarget } : {}),
    ...(schedFds.length ? { schedUsByTarget } : {}) }) + '\\n', () => process.exit(0));
})();
`;

export interface ClientOptions {
  host: string;
  port: number;
  count: number;
  concurrency: number;
  timeoutMs: number;
  /** 0: short connections (churn); > 0: open all, hold them this long, then close. */
  holdMs: number;
  /** Connection i goes to targets[i % n] instead of host:port (paths measured by turns). */
  targets?: Array<{ host: string; port: number }>;
  /** Also report when each connect started (t0EpochMs, startUsByTarget). */
  times?: boolean;
  /** Also time each connect(2) call and report each connection's source port (callUsByTarget, callEndUsByTarget, portByTarget). */
  calls?: boolean;
  /** /proc/.../schedstat files (a thread each) read around every connect: schedUsByTarget. */
  schedstat?: string[];
}

export interface ClientReport {
  ok: number;
  failed: number;
  elapsedMs: number;
  connectUs: number[];
  /** Each target's connect times (one list when the client had no targets). */
  connectUsByTarget?: number[][];
  failedByTarget?: number[];
  /** With times: the client's start on the wall clock (ms) and each successful connect's start after it (us), by target. */
  t0EpochMs?: number;
  startUsByTarget?: number[][];
  /** With calls, by target, per successful connect: the connect(2) call's duration, its return after the start (us), the source port. */
  callUsByTarget?: number[][];
  callEndUsByTarget?: number[][];
  portByTarget?: number[][];
  /** With schedstat: per target and successful connect, each file's CPU time and run-queue wait over the connect, us. */
  schedUsByTarget?: number[][][];
}

/** The client's final JSON line (the last line of its output that parses as a report). */
export function parseClientReport(stdout: string): ClientReport {
  const lines = stdout.trim().split('\n').reverse();
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    const r = JSON.parse(line) as Partial<ClientReport>;
    if (typeof r.ok === 'number' && typeof r.failed === 'number' && typeof r.elapsedMs === 'number' && Array.isArray(r.connectUs)) {
      return r as ClientReport;
    }
  }
  throw new SyntaxError(`no client report in output: ${JSON.stringify(stdout.slice(-200))}`);
}

/**
 * argv: PORT. Accepts and holds every connection until the client closes it (the live-connection bench);
 * prints "ready", then "SERVING n" (connections open now) every second.
 */
export const HOLD_SERVER_JS = `
const net = require('net');
let open = 0;
const server = net.createServer((s) => {
  open++;
  s.on('error', () => {});
  s.on('close', () => open--);
});
server.listen({ port: Number(process.argv[2]), host: '0.0.0.0', backlog: 8192 }, () => console.log('ready'));
setInterval(() => console.log('SERVING ' + open), 1000);
`;

/**
 * argv: JSON {host, port, count, concurrency, timeoutMs}. Opens \`count\` connections (at most \`concurrency\`
 * connecting at once; a connect that fails or times out is counted, not retried), prints "HELD ok failed", then
 * "OPEN n" (held connections still open: one the peer or the network closed is gone) every second until killed.
 */
export const HOLD_CLIENT_JS = `
const net = require('net');
const o = JSON.parse(process.argv[2]);
let ok = 0, failed = 0, next = 0, open = 0;
function one() {
  return new Promise((resolve) => {
    const s = net.connect({ host: o.host, port: o.port });
    let done = false;
    const finish = (good) => { if (done) return; done = true; clearTimeout(timer); good ? ok++ : failed++; resolve(); };
    const timer = setTimeout(() => { s.destroy(); finish(false); }, o.timeoutMs);
    s.on('error', () => finish(false));
    s.on('connect', () => { open++; s.once('close', () => open--); finish(true); });
  });
}
async function worker() { while (next < o.count) { await one(next++); } }
(async () => {
  await Promise.all(Array.from({ length: Math.min(o.concurrency, o.count) }, worker));
  console.log('HELD ' + ok + ' ' + failed);
  setInterval(() => console.log('OPEN ' + open), 1000);
})();
process.on('SIGTERM', () => process.exit(0));
`;

/** The last "WORD n [m]" line of a hold client's or server's output, as numbers; undefined before the first. */
export function lastCountLine(text: string, word: 'HELD' | 'OPEN' | 'SERVING'): number[] | undefined {
  const re = new RegExp(`^${word}((?: \\d+)+)$`, 'gm');
  let found: number[] | undefined;
  for (let m = re.exec(text); m; m = re.exec(text)) found = m[1].trim().split(' ').map(Number);
  return found;
}
