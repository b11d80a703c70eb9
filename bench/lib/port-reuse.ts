// The real-OVS bench's --connect-call (issue 15: the third run's ~10 ms VIP connects, gone with a wide ephemeral port
// range): the client kernel's own part of each latency connect (the connect(2) call: the source-port search, before any
// SYN leaves) and whether a connect's source port was one the same client namespace had used to the same address
// shortly before (a reused 4-tuple, met by the backend's TIME_WAIT and by the tracker's entries of the earlier one).
// Pure: the client reports in, figures out.
import { summarize, type Distribution } from './realovs-stats';

/** One use of a source port by the latency client's namespace: when (epoch ms), to which destination, in which phase. */
export interface PortUse {
  atMs: number;
  port: number;
  /** The destination as the client addressed it ('vip' = VIP:80, 'static' = the static address:80). */
  dst: string;
  phase: string;
}

/** A latency connect with its connect(2) call (us) and its source port. */
export interface CalledConnect {
  startMs: number;
  /** start -> 'connect' (the whole connect as the latency phase measures it), us. */
  us: number;
  /** The connect(2) call's duration, us. */
  callUs: number;
  /** start -> the call's return, us. */
  callEndUs: number;
  port: number;
  path: 'vip' | 'static';
}

/** Ages (s) of a reused port's previous use, as bucket upper bounds; the last bucket is open. */
export const REUSE_AGE_BUCKETS_S = [2, 10, 20, 40, 60];

export interface PathReuse {
  connects: number;
  slow: number;
  /** Connects whose source port this namespace had used to the same destination within windowS before. */
  reused: number;
  slowReused: number;
  /** The slow reused connects by the phase of the port's previous use. */
  slowByPreviousPhase: Record<string, number>;
  /** All reused connects, and the slow ones, by the age of the previous use (REUSE_AGE_BUCKETS_S, then older). */
  reusedByAge: number[];
  slowReusedByAge: number[];
  /** Connect times of the reused and of the fresh connects, us. */
  reusedUs: Distribution;
  freshUs: Distribution;
}

export interface ConnectCallSplit {
  /** The connect(2) call's duration by path, us. */
  callUs: Record<'vip' | 'static', Distribution>;
  /** The call's return -> 'connect' by path (the part after the client kernel's port search), us. */
  fromReturnUs: Record<'vip' | 'static', Distribution>;
  /** VIP minus static of the above (the first-packet extra measured from the connect(2) call's return). */
  extraFromReturnUs: { p50: number; p99: number; max: number };
  reuse: Record<'vip' | 'static', PathReuse>;
  /** The latency phase's TCP counters: the backend's SYNs refused by PAWS in TIME_WAIT, the latency client's SYNs sent again. */
  tcp?: TupleFate;
  /** The slowest VIP connects (at most 10): source port, time, the call's time, the previous use's age (s) and phase. */
  slowestVip: Array<{ port: number; us: number; callUs: number; ageS: number; previousPhase: string }>;
}

function ageBucket(ageS: number): number {
  const i = REUSE_AGE_BUCKETS_S.findIndex((b) => ageS < b);
  return i < 0 ? REUSE_AGE_BUCKETS_S.length : i;
}

/**
 * Per path: the connect(2) call's time, the time from its return, and the reused source ports (a previous use to the
 * same destination within windowS; history holds the earlier phases' uses, the latency connects themselves are added).
 */
export function connectCallSplit(connects: readonly CalledConnect[], history: readonly PortUse[], o: { slowUs: number; windowS: number }): ConnectCallSplit {
  const uses = [...history, ...connects.map((c) => ({ atMs: c.startMs, port: c.port, dst: c.path, phase: 'latency' }))]
    .sort((a, b) => a.atMs - b.atMs);
  // Previous uses per destination and port, in time order.
  const byKey = new Map<string, PortUse[]>();
  for (const u of uses) {
    const key = `${u.dst}/${u.port}`;
    const list = byKey.get(key);
    if (list) list.push(u);
    else byKey.set(key, [u]);
  }
  const previousUse = (c: CalledConnect) => {
    let found: PortUse | undefined;
    for (const u of byKey.get(`${c.path}/${c.port}`) ?? []) {
      if (u.atMs >= c.startMs) break;
      found = u;
    }
    return found;
  };
  const reuse = (path: 'vip' | 'static'): PathReuse => {
    const mine = connects.filter((c) => c.path === path);
    const r: PathReuse = {
      connects: mine.length, slow: 0, reused: 0, slowReused: 0, slowByPreviousPhase: {},
      reusedByAge: REUSE_AGE_BUCKETS_S.map(() => 0).concat(0), slowReusedByAge: REUSE_AGE_BUCKETS_S.map(() => 0).concat(0),
      reusedUs: summarize([]), freshUs: summarize([]),
    };
    const reusedUs: number[] = [];
    const freshUs: number[] = [];
    for (const c of mine) {
      const slow = c.us > o.slowUs;
      if (slow) r.slow++;
      const prev = previousUse(c);
      const ageS = prev ? (c.startMs - prev.atMs) / 1000 : Infinity;
      if (!prev || ageS > o.windowS) {
        freshUs.push(c.us);
        continue;
      }
      r.reused++;
      reusedUs.push(c.us);
      r.reusedByAge[ageBucket(ageS)]++;
      if (slow) {
        r.slowReused++;
        r.slowReusedByAge[ageBucket(ageS)]++;
        r.slowByPreviousPhase[prev.phase] = (r.slowByPreviousPhase[prev.phase] ?? 0) + 1;
      }
    }
    r.reusedUs = summarize(reusedUs);
    r.freshUs = summarize(freshUs);
    return r;
  };
  const slowestVip = connects.filter((c) => c.path === 'vip').sort((a, b) => b.us - a.us).slice(0, 10).map((c) => {
    const prev = previousUse(c);
    return { port: c.port, us: c.us, callUs: c.callUs, ageS: prev ? (c.startMs - prev.atMs) / 1000 : NaN, previousPhase: prev?.phase ?? '-' };
  });
  const of = (path: 'vip' | 'static', f: (c: CalledConnect) => number) => summarize(connects.filter((c) => c.path === path).map(f));
  const fromReturnUs = { vip: of('vip', (c) => c.us - c.callEndUs), static: of('static', (c) => c.us - c.callEndUs) };
  return {
    callUs: { vip: of('vip', (c) => c.callUs), static: of('static', (c) => c.callUs) },
    fromReturnUs,
    extraFromReturnUs: {
      p50: fromReturnUs.vip.p50 - fromReturnUs.static.p50, p99: fromReturnUs.vip.p99 - fromReturnUs.static.p99, max: fromReturnUs.vip.max - fromReturnUs.static.max,
    },
    reuse: { vip: reuse('vip'), static: reuse('static') }, slowestVip,
  };
}

/** One run's split as text lines. */
export function formatConnectCallSplit(s: ConnectCallSplit, o: { slowUs: number; windowS: number }): string {
  const f = (v: number) => (Number.isFinite(v) ? String(Math.round(v)) : '-');
  const d = (v: Distribution) => `${f(v.p50)} / ${f(v.p99)} / ${f(v.max)}`;
  const ages = ['<2', '2-10', '10-20', '20-40', '40-60', '>=60'];
  const path = (name: 'vip' | 'static') => {
    const r = s.reuse[name];
    return `    ${name}: ${r.connects} connects, ${r.slow} slow; source port used before to the same address within ${o.windowS} s: ${r.reused} ` +
      `(slow ${r.slowReused}); connect us p50 / p99 / max reused ${d(r.reusedUs)}, fresh ${d(r.freshUs)}\n` +
      `      reused by age of the previous use (s ${ages.join(', ')}): all ${r.reusedByAge.join(', ')}; slow ${r.slowReusedByAge.join(', ')}; ` +
      `slow by the previous use's phase: ${Object.entries(r.slowByPreviousPhase).map(([p, n]) => `${p} ${n}`).join(', ') || '-'}`;
  };
  return `  client kernel connect() call, us p50 / p99 / max: VIP ${d(s.callUs.vip)}, static ${d(s.callUs.static)}; ` +
    `from the call's return to connected: VIP ${d(s.fromReturnUs.vip)}, static ${d(s.fromReturnUs.static)}; ` +
    `extra p99 from the call's return ${f(s.extraFromReturnUs.p99)} us\n` +
    `  source ports (slow: > ${o.slowUs} us):\n${path('vip')}\n${path('static')}\n` +
    `  slowest VIP connects (source port: us, call us, previous use s before, its phase): ` +
    `${s.slowestVip.map((c) => `${c.port}: ${f(c.us)}, ${f(c.callUs)}, ${Number.isFinite(c.ageS) ? c.ageS.toFixed(1) : '-'}, ${c.previousPhase}`).join('; ')}`;
}

/**
 * The userspace tracker's warnings in an ovs-vswitchd log: a reply whose NAT entry outlived its connection ("Missing
 * parent conn", the packet then +inv) and a NAT without a free tuple ("Unable to NAT due to tuple space exhaustion").
 */
export function countTrackerWarnings(log: string): { missingParent: number; natExhausted: number } {
  const count = (re: RegExp) => (log.match(re) ?? []).length;
  return { missingParent: count(/Missing parent conn/g), natExhausted: count(/Unable to NAT due to tuple space exhaustion/g) };
}

/** The counters of /proc/net/netstat and /proc/net/snmp (`TcpExt: names` then `TcpExt: values`), as `TcpExt.PAWSTimewait` -> n. */
export function parseNetstat(text: string): Map<string, number> {
  const out = new Map<string, number>();
  const lines = text.split('\n');
  for (let i = 0; i + 1 < lines.length; i++) {
    const names = /^(\w+): (.*)$/.exec(lines[i]);
    const values = /^(\w+): (.*)$/.exec(lines[i + 1]);
    if (!names || !values || names[1] !== values[1] || /^[-\d\s]+$/.test(names[2])) continue;
    const n = names[2].trim().split(/\s+/);
    const v = values[2].trim().split(/\s+/);
    if (n.length !== v.length || !v.every((x) => /^-?\d+$/.test(x))) continue;
    n.forEach((name, k) => out.set(`${names[1]}.${name}`, Number(v[k])));
    i++;
  }
  return out;
}

/**
 * The TCP counters that tell a reused 4-tuple's fate (TIME_WAIT met, PAWS rejects, resets, SYN retransmits, listen
 * drops) and the opens for scale: each one that moved between two readings, as `name +delta`.
 */
export const TUPLE_COUNTERS = [
  'Tcp.ActiveOpens', 'Tcp.PassiveOpens', 'Tcp.AttemptFails', 'Tcp.EstabResets', 'Tcp.RetransSegs', 'Tcp.InErrs', 'Tcp.OutRsts',
  'TcpExt.TW', 'TcpExt.TWRecycled', 'TcpExt.TWKilled', 'TcpExt.PAWSActive', 'TcpExt.PAWSEstab', 'TcpExt.PAWSTimewait', 'TcpExt.PAWSOldAck',
  'TcpExt.TCPACKSkippedTimeWait', 'TcpExt.TCPTimeWaitOverflow', 'TcpExt.TCPTimeouts', 'TcpExt.TCPSynRetrans', 'TcpExt.ListenOverflows',
  'TcpExt.ListenDrops', 'TcpExt.TCPChallengeACK', 'TcpExt.TCPSYNChallenge', 'TcpExt.TCPReqQFullDrop', 'TcpExt.TCPBacklogDrop',
];

export interface TupleFate {
  backendPawsTimewait: number;
  clientSynRetrans: number;
}

/**
 * A reused 4-tuple's fate over a phase: SYNs the backend refused in TIME_WAIT because their timestamp was older than the
 * TIME_WAIT's (PAWS; it answers with the old connection's ACK), and the client's SYNs sent again (after its RST).
 */
export function tupleFate(before: { backend: Map<string, number>; client: Map<string, number> }, after: { backend: Map<string, number>; client: Map<string, number> }): TupleFate {
  const delta = (b: Map<string, number>, a: Map<string, number>, name: string) => (a.get(name) ?? NaN) - (b.get(name) ?? 0);
  return {
    backendPawsTimewait: delta(before.backend, after.backend, 'TcpExt.PAWSTimewait'),
    clientSynRetrans: delta(before.client, after.client, 'TcpExt.TCPSynRetrans'),
  };
}

export function counterDeltas(before: Map<string, number>, after: Map<string, number>, names: readonly string[] = TUPLE_COUNTERS): string {
  return names.filter((n) => after.has(n) && after.get(n) !== (before.get(n) ?? 0))
    .map((n) => `${n.replace(/^TcpExt\./, '')} +${after.get(n)! - (before.get(n) ?? 0)}`).join(', ') || 'none moved';
}
