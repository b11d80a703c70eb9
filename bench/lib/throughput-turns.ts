// The new-connection throughput of the VIP and of the static path measured by turns (issue 15): alternating chunks of
// one phase, both flow sets installed and vadc attached, so both paths see the same moments of a shared machine; the
// ratio from the chunks' sums, the spread of the pairs' ratios, and per path ovs-vswitchd's CPU, datapath counters and
// (perf) symbols per connection. Pure: chunks and text in, figures out. No I/O.
import { BenchInputError, medianSpread, perSecond } from './realovs-stats';

export type ThroughputPath = 'vip' | 'static';

export interface ThroughputChunk {
  path: ThroughputPath;
  ok: number;
  failed: number;
  /** The slowest client's time for the chunk (its own clock, first connect to last close), ms. */
  elapsedMs: number;
  /** ovs-vswitchd's CPU over the chunk (its threads' schedstat: user, system and the kernel work done in its calls), us. */
  ovsCpuUs?: number;
  /** vadc's (this process's) CPU over the chunk, us. */
  vadcCpuUs?: number;
  /** The chunk's wall time around its clients (their start and exit too), ms. */
  wallMs?: number;
  /** `dpif-netdev/pmd-stats-show` counters over the chunk (cleared before it). */
  datapath?: Record<string, number>;
}

/**
 * `pairs` chunks of each path as V S S V V S S V ...: the first of each pair alternates, so a drift over the phase
 * (the tracker filling, TIME_WAIT sockets piling up, another process's load) weighs on both paths alike.
 */
export function chunkOrder(pairs: number): ThroughputPath[] {
  if (!Number.isInteger(pairs) || pairs < 1) throw new BenchInputError(`throughput by turns needs a whole number of chunk pairs >= 1, not ${pairs}`);
  const order: ThroughputPath[] = [];
  for (let i = 0; i < pairs; i++) order.push(...(i % 2 === 0 ? ['vip', 'static'] as const : ['static', 'vip'] as const));
  return order;
}

export interface PathTotals {
  connections: number;
  failed: number;
  perSecond: number;
  /** NaN where no chunk had it. */
  ovsCpuUsPerConnection: number;
  vadcCpuUsPerConnection: number;
  /** vadc's CPU over the path's chunks' wall time, % of a core. */
  vadcCpuPercent: number;
  /** Each datapath counter summed over the path's chunks, per successful connection. */
  datapathPerConnection: Record<string, number>;
}

export interface TurnsThroughput {
  vip: PathTotals;
  static: PathTotals;
  /** VIP connections/s over static connections/s, each from its chunks' sums (all successes / all time). */
  ratio: number;
  /** Each pair's VIP rate over its static rate, in order: how much the measure moves within one run. */
  pairRatios: number[];
  pairSpread: { median: number; min: number; max: number };
  /** With a perf record of ovs-vswitchd over each chunk: its self time per connection by path. */
  profile?: ProfileSplit & { files: string[] };
}

function totals(chunks: readonly ThroughputChunk[]): PathTotals {
  const sum = (get: (c: ThroughputChunk) => number | undefined) => {
    const known = chunks.map(get).filter((v): v is number => v !== undefined);
    return known.length ? known.reduce((n, v) => n + v, 0) : NaN;
  };
  const ok = chunks.reduce((n, c) => n + c.ok, 0);
  const datapath: Record<string, number> = {};
  for (const c of chunks) for (const [k, v] of Object.entries(c.datapath ?? {})) datapath[k] = (datapath[k] ?? 0) + v;
  const vadcUs = sum((c) => c.vadcCpuUs);
  return {
    connections: ok,
    failed: chunks.reduce((n, c) => n + c.failed, 0),
    perSecond: perSecond(ok, chunks.reduce((n, c) => n + c.elapsedMs, 0)),
    ovsCpuUsPerConnection: sum((c) => c.ovsCpuUs) / ok,
    vadcCpuUsPerConnection: vadcUs / ok,
    vadcCpuPercent: (vadcUs / 1000 / sum((c) => c.wallMs)) * 100,
    datapathPerConnection: Object.fromEntries(Object.entries(datapath).map(([k, v]) => [k, v / ok])),
  };
}

/** The phase's figures from its chunks in the order they ran (chunkOrder's: each pair one VIP and one static chunk). */
export function turnsThroughput(chunks: readonly ThroughputChunk[]): TurnsThroughput {
  if (chunks.length === 0 || chunks.length % 2 !== 0) throw new BenchInputError(`throughput by turns: ${chunks.length} chunks, not whole pairs`);
  const pairRatios: number[] = [];
  for (let i = 0; i < chunks.length; i += 2) {
    const pair = [chunks[i], chunks[i + 1]];
    const vip = pair.find((c) => c.path === 'vip');
    const statik = pair.find((c) => c.path === 'static');
    if (!vip || !statik) throw new BenchInputError(`throughput by turns: chunks ${i + 1} and ${i + 2} are not one VIP and one static chunk`);
    pairRatios.push(perSecond(vip.ok, vip.elapsedMs) / perSecond(statik.ok, statik.elapsedMs));
  }
  const vip = totals(chunks.filter((c) => c.path === 'vip'));
  const statik = totals(chunks.filter((c) => c.path === 'static'));
  return { vip, static: statik, ratio: vip.perSecond / statik.perSecond, pairRatios, pairSpread: medianSpread(pairRatios) };
}

/**
 * The counters of `ovs-appctl dpif-netdev/pmd-stats-show`: the "main thread" section's (the userspace datapath polls
 * veth ports there) or, without one, the first section's; averages and ratios ("avg. ...") left out, as they do not add.
 */
export function parsePmdCounters(text: string): Record<string, number> {
  const lines = text.split('\n');
  const main = lines.findIndex((l) => /^main thread:/.test(l));
  const out: Record<string, number> = {};
  for (const line of lines.slice(main >= 0 ? main + 1 : 0)) {
    if (main >= 0 && /^\S/.test(line)) break; // the next thread's section
    const m = /^\s+([a-z][a-z .-]*?):\s+(\d+)(?:\s|$)/.exec(line);
    if (m && !m[1].startsWith('avg') && !(m[1] in out)) out[m[1]] = Number(m[2]);
  }
  return out;
}

/** The sum of the CPU times (ns, the first field) of schedstat texts: one per thread of a process. */
export function schedstatCpuNs(texts: readonly string[]): number {
  return texts.reduce((n, t) => {
    const v = Number(t.trim().split(/\s+/)[0]);
    if (!Number.isFinite(v)) throw new BenchInputError(`not a schedstat line: ${JSON.stringify(t.slice(0, 60))}`);
    return n + v;
  }, 0);
}

/** Self time by symbol from `perf report --stdio --no-children -g none --sort sym -F period,sample,sym` (period in ns for cpu-clock). */
export function parsePerfSymbols(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)\s+\d+\s+(\[[.k]\]\s+.*?)\s*$/.exec(line);
    if (m) out.set(m[2], (out.get(m[2]) ?? 0) + Number(m[1]));
  }
  return out;
}

/** Where a symbol of ovs-vswitchd's belongs, by name: a rough map of the datapath's work, first match wins. */
const USER_CATEGORIES: Array<[string, RegExp]> = [
  ['conntrack', /conntrack|conn_key|conn_|ct_|nat_|tcp_valid|expectation|zone_limit/],
  ['datapath lookup (dpcls, emc, smc, cmap, miniflow)', /dpcls|emc_|smc_|cmap|miniflow|netdev_flow|dp_netdev_input|dfc_|fast_path|subtable|hash/],
  ['upcall and translation (ofproto, xlate, classifier)', /upcall|xlate|ofproto|rule_|classifier|cls_|trie|revalid|ukey/],
  ['packet actions and recirculation', /odp_execute|dp_execute|recirc|packet_set|dp_packet|batch|group/],
  ['unresolved address', /^\[\.\] 0x[0-9a-f]+$/],
];
const KERNEL_CATEGORIES: Array<[string, RegExp]> = [
  ['kernel: TCP/IP of the namespaces (softirq in its calls)', /tcp|ip_|inet|netif|napi|skb|veth|dev_|nf_|sk_|sock_def|softirq|net_rx|ipv4|neigh|eth_/],
];

export function symbolCategory(symbol: string): string {
  const kernel = symbol.startsWith('[k]');
  for (const [name, re] of kernel ? KERNEL_CATEGORIES : USER_CATEGORIES) if (re.test(symbol)) return name;
  return kernel ? 'kernel: other' : 'userspace: other';
}

export interface ProfileRow {
  what: string;
  vipUs: number;
  staticUs: number;
  extraUs: number;
}

export interface ProfileSplit {
  categories: ProfileRow[];
  symbols: ProfileRow[];
  total: ProfileRow;
}

/**
 * ovs-vswitchd's self time per connection (us), VIP against static, by category and by the symbols that add most:
 * from each path's summed perf periods (ns) and its connections.
 */
export function profileSplit(vip: ReadonlyMap<string, number>, statik: ReadonlyMap<string, number>, vipConnections: number, staticConnections: number,
  topSymbols = 12): ProfileSplit {
  if (!(vipConnections > 0) || !(staticConnections > 0)) throw new BenchInputError('a profile split needs connections on both paths');
  const row = (what: string, vNs: number, sNs: number): ProfileRow => {
    const vipUs = vNs / 1000 / vipConnections;
    const staticUs = sNs / 1000 / staticConnections;
    return { what, vipUs, staticUs, extraUs: vipUs - staticUs };
  };
  const byCategory = (m: ReadonlyMap<string, number>) => {
    const out = new Map<string, number>();
    for (const [sym, ns] of m) out.set(symbolCategory(sym), (out.get(symbolCategory(sym)) ?? 0) + ns);
    return out;
  };
  const vc = byCategory(vip);
  const sc = byCategory(statik);
  const total = (m: ReadonlyMap<string, number>) => [...m.values()].reduce((n, v) => n + v, 0);
  const byExtra = (a: ProfileRow, b: ProfileRow) => b.extraUs - a.extraUs || a.what.localeCompare(b.what);
  const categories = [...new Set([...vc.keys(), ...sc.keys()])].map((c) => row(c, vc.get(c) ?? 0, sc.get(c) ?? 0)).sort(byExtra);
  const symbols = [...new Set([...vip.keys(), ...statik.keys()])].map((s) => row(s, vip.get(s) ?? 0, statik.get(s) ?? 0)).sort(byExtra).slice(0, topSymbols);
  return { categories, symbols, total: row('all of ovs-vswitchd', total(vip), total(statik)) };
}

const f = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
/** Whether run `run` (0-based) takes the SYN-to-group pipeline: on, off, or abba (runs 2 and 3 of each 4: A B B A). */
export function synToGroupInRun(mode: 'off' | 'on' | 'abba', run: number): boolean {
  return mode === 'on' || (mode === 'abba' && (run % 4 === 1 || run % 4 === 2));
}

/** The datapath counters printed per connection, in this order. */
const COUNTERS = ['packets received', 'packet recirculations', 'megaflow hits', 'emc hits', 'miss with success upcall', 'miss with failed upcall'];

/**
 * The throughput by turns of each run, for people: the ratio, its pairs' spread, the old measure's ratio beside it if
 * it ran, and per path what a connection cost ovs-vswitchd (CPU, datapath counters; with a profile, where its time went).
 */
export function formatTurns(runs: ReadonlyArray<{ turns?: TurnsThroughput; phases?: { ratio: number }; pipeline?: string }>): string {
  const lines: string[] = [];
  runs.forEach((r, i) => {
    const t = r.turns;
    if (!t) return;
    const vs = (get: (p: PathTotals) => number, digits: number) => `${f(get(t.vip), digits)} / ${f(get(t.static), digits)}`;
    lines.push(`run ${i + 1}${r.pipeline && r.pipeline !== 'vadc' ? ` (pipeline ${r.pipeline})` : ''} by turns: ratio ${f(t.ratio, 3)} (${f(t.vip.perSecond)} / ${f(t.static.perSecond)} conn/s); pairs ${t.pairRatios.map((x) => f(x, 3)).join(' ')}` +
      `${r.phases ? `; old measure (phases, controller detached for the static one) ${f(r.phases.ratio, 3)}` : ''}`);
    lines.push(`  per connection, VIP / static: ovs-vswitchd CPU us ${vs((p) => p.ovsCpuUsPerConnection, 0)}; ` +
      `${COUNTERS.map((k) => `${k} ${vs((p) => p.datapathPerConnection[k] ?? NaN, 2)}`).join('; ')}; vadc CPU us ${vs((p) => p.vadcCpuUsPerConnection, 0)}`);
    if (t.profile) {
      const row = (x: ProfileRow) => `    ${f(x.vipUs, 1)} / ${f(x.staticUs, 1)} (${x.extraUs >= 0 ? '+' : ''}${f(x.extraUs, 1)})  ${x.what}`;
      lines.push(`  ovs-vswitchd's self time per connection (perf cpu-clock), us VIP / static (extra):\n${row(t.profile.total)}\n  by category:\n` +
        `${t.profile.categories.map(row).join('\n')}\n  symbols adding most:\n${t.profile.symbols.map(row).join('\n')}\n  recordings: ${t.profile.files.join(' ')}`);
    }
  });
  const pipelines = [...new Set(runs.map((r) => r.pipeline ?? 'vadc'))];
  if (pipelines.length > 1) {
    lines.push(`ratio by pipeline, median (runs): ${pipelines.map((p) => {
      const ratios = runs.filter((r) => (r.pipeline ?? 'vadc') === p && r.turns).map((r) => r.turns!.ratio);
      return `${p} ${f(medianSpread(ratios).median, 3)} (${ratios.map((x) => f(x, 3)).join(' ')})`;
    }).join('; ')}`);
  }
  return lines.join('\n');
}
