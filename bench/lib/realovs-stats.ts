// Pure helpers of the real-OVS and scale benchmarks: distribution summaries, the "extra delay" of one
// distribution over another, iperf3 JSON, flow counts from ovs-ofctl text, CPU shares. No I/O.
import { percentile } from '../../src/bench/stats';

export class BenchInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchInputError';
  }
}

export interface Distribution {
  samples: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/** p50/p99/max/mean of raw samples (any unit); NaN fields for no samples. */
export function summarize(values: readonly number[]): Distribution {
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    samples: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
    mean: sorted.length ? sum / sorted.length : NaN,
  };
}

/**
 * What `subject` adds over `baseline`, rank by rank: p50 minus p50, p99 minus p99, max minus max. The
 * first-packet delay of a new connection is its connect time through the controller minus the connect
 * time over a flow already installed, so both distributions come from the same run.
 */
export function extraOver(subject: Distribution, baseline: Distribution): Pick<Distribution, 'p50' | 'p99' | 'max'> {
  return { p50: subject.p50 - baseline.p50, p99: subject.p99 - baseline.p99, max: subject.max - baseline.max };
}

/** Median of several runs and their spread (min, max). */
export function medianSpread(values: readonly number[]): { median: number; min: number; max: number } {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (finite.length === 0) return { median: NaN, min: NaN, max: NaN };
  const mid = finite.length >> 1;
  const median = finite.length % 2 ? finite[mid] : (finite[mid - 1] + finite[mid]) / 2;
  return { median, min: finite[0], max: finite[finite.length - 1] };
}

export interface Iperf3Result {
  /** Goodput the receiver saw, bits/s. */
  receivedBps: number;
  sentBps: number;
  retransmits: number;
  seconds: number;
}

/** The totals of `iperf3 -J` (TCP): end.sum_received / end.sum_sent; a clear error for anything else. */
export function parseIperf3Json(text: string): Iperf3Result {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new BenchInputError(`iperf3 output is not JSON: ${(err as Error).message}`);
  }
  const root = doc as { error?: unknown; end?: { sum_received?: Record<string, unknown>; sum_sent?: Record<string, unknown> } };
  if (typeof root?.error === 'string') throw new BenchInputError(`iperf3 failed: ${root.error}`);
  const received = root?.end?.sum_received;
  const sent = root?.end?.sum_sent;
  const number = (obj: Record<string, unknown> | undefined, key: string, what: string): number => {
    const v = obj?.[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new BenchInputError(`iperf3 JSON has no numeric ${what}.${key}`);
    return v;
  };
  return {
    receivedBps: number(received, 'bits_per_second', 'end.sum_received'),
    sentBps: number(sent, 'bits_per_second', 'end.sum_sent'),
    retransmits: typeof sent?.retransmits === 'number' ? sent.retransmits : 0,
    seconds: number(received, 'seconds', 'end.sum_received'),
  };
}

export interface FlowCounts {
  /** Flows per table. */
  byTable: Map<number, number>;
  total: number;
}

/** Counts the flows of `ovs-ofctl dump-flows` output (one flow per line with `table=` or a cookie). */
export function countDumpedFlows(text: string): FlowCounts {
  const byTable = new Map<number, number>();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!/\bcookie=0x[0-9a-f]+/i.test(line)) continue; // headers such as "OFPST_FLOW reply (OF1.3) ..."
    const table = /\btable=(\d+)/.exec(line);
    const id = table ? Number(table[1]) : 0;
    byTable.set(id, (byTable.get(id) ?? 0) + 1);
    total++;
  }
  return { byTable, total };
}

/** CPU share of one process over a wall-clock window, in percent of one core. */
export function cpuPercent(cpuMicros: number, wallMs: number): number {
  if (!(wallMs > 0)) throw new BenchInputError(`wall time must be > 0 ms, got ${wallMs}`);
  return (cpuMicros / 1000 / wallMs) * 100;
}

/** Connections per second from a count and a wall time in ms. */
export function perSecond(count: number, wallMs: number): number {
  if (!(wallMs > 0)) throw new BenchInputError(`wall time must be > 0 ms, got ${wallMs}`);
  return (count * 1000) / wallMs;
}

/** `ovs-appctl dpctl/ct-stats-show [zone=N] verbose`: the tracker's connections in all, per protocol, and TCP's by state. */
export interface CtStats {
  total: number;
  byProto: Map<string, number>;
  tcpStates: Map<string, number>;
}

/** The tracker's TCP states as OVS names them (ct_dpif_tcp_state_string). */
const TCP_STATES = ['CLOSED', 'LISTEN', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'CLOSE_WAIT', 'FIN_WAIT_1', 'CLOSING', 'LAST_ACK', 'FIN_WAIT_2', 'TIME_WAIT', 'MAX_NUM'];

/**
 * Parses ct-stats-show text: "Total: N", a "PROTO: N" line per protocol and, with `verbose`, TCP's connections per
 * state below it ("[ESTABLISHED]=N" in OVS 3.1; "ESTABLISHED: N" taken too).
 */
export function parseCtStats(text: string): CtStats {
  const total = /^\s*Total:\s*(\d+)\s*$/m.exec(text);
  if (!total) throw new BenchInputError(`not ct-stats-show output (no "Total:" line): ${JSON.stringify(text.slice(0, 200))}`);
  const byProto = new Map<string, number>();
  const tcpStates = new Map<string, number>();
  for (const line of text.split('\n')) {
    const state = /^\s*\[?([A-Z_0-9]+)\]?\s*[:=]?\s*(\d+)\s*$/.exec(line);
    if (state && TCP_STATES.includes(state[1])) {
      tcpStates.set(state[1], Number(state[2]));
      continue;
    }
    const proto = /^\s*([A-Za-z0-9]+):\s*(\d+)\s*$/.exec(line);
    if (proto && proto[1] !== 'Total') byProto.set(proto[1], Number(proto[2]));
  }
  return { total: Number(total[1]), byProto, tcpStates };
}

/**
 * Runs `during` while `work` is still going (sampling counters mid-way), then gives work's result or throws its
 * error. A handler is on `work` from the start: a rejection while `during` still sleeps is caught here, not an
 * unhandled rejection that ends Node before the caller's finally takes the lab down (2026-12-05 17:36: a refused
 * iperf3 through the VIP left lab perf up).
 */
export async function whilePending<T>(work: Promise<T>, during: () => Promise<void>): Promise<T> {
  const settled = work.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }));
  await during();
  const outcome = await settled;
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/**
 * `attempt` again while it fails with "Connection refused", up to `tries` in all, `delayMs` apart (each retry
 * reported to `onRetry`); any other error at once. An iperf3 server closes its listening socket when a test ends and
 * opens a new one for the next (iperf_server_api.c: cleanup_server, then iperf_run_server's iperf_server_listen), so
 * a client that connects right after the previous test is refused (measured on loopback: once in 10 tests, 0.5 ms
 * after the client exited). The VIP iperf3 starts right after the direct one: with datapath decisions its SYN
 * reaches the server with no packet-in on the way, and was refused so (2026-12-05 17:36).
 */
export async function retryRefused<T>(attempt: () => Promise<T>, tries: number, delayMs: number, onRetry: (error: Error) => void): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (n >= tries || !/Connection refused/.test((err as Error).message)) throw err;
      onRetry(err as Error);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

/** `ovs-appctl coverage/show`'s counters: each line "NAME  rates ...  total: N" as NAME -> N. */
export function parseCoverage(text: string): Map<string, number> {
  const counters = new Map<string, number>();
  for (const m of text.matchAll(/^(\w+)\s+.*total: (\d+)\s*$/gm)) counters.set(m[1], Number(m[2]));
  return counters;
}

/** The counters that moved from `before` to `after`, largest change first. */
export function coverageDelta(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): Array<[string, number]> {
  return [...after].map(([name, n]): [string, number] => [name, n - (before.get(name) ?? 0)]).filter(([, d]) => d !== 0).sort((a, b) => b[1] - a[1]);
}
