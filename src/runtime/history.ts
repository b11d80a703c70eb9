/**
 * What the daemon remembers of its own status: a window of samples (the dashboard's last 15 minutes survive a
 * page reload) and, per backend, the figures operators look at first on a load balancer's stats page: when the
 * health state last changed, how often and how long the backend was down (counted from the first time it was
 * up: before that it is starting), and the most connections it held at a sample.
 * Pure: it is fed status snapshots with their time and keeps everything in bounded arrays (the window holds at
 * most windowMs / intervalMs samples; a series leaves with its last sample).
 */
import type { BackendStatus, HealthState, StatusSnapshot } from './types';

/** Columnar: one time axis and, per series, one value per time (null where the series did not exist yet). */
export interface StatusHistory {
  intervalMs: number;
  windowMs: number;
  times: number[]; // ms since epoch
  services: Array<{ service: string; decisions: Array<number | null>; refused: Array<number | null> }>;
  backends: Array<{
    service: string;
    backend: string;
    active: Array<number | null>;
    inactive: Array<number | null>;
    total: Array<number | null>;
    packets: Array<number | null>;
    bytes: Array<number | null>;
    queue: Array<number | null>;
    health: Array<HealthState | null>;
  }>;
  switches: Array<{ dpid: string; packetIns: Array<number | null>; flowModsSent: Array<number | null>; errorsReceived: Array<number | null> }>;
}

export type BackendLedgerFigures = Required<Pick<BackendStatus, 'stateSince' | 'downTransitions' | 'downtimeMs' | 'maxConns'>>;

interface LedgerEntry extends BackendLedgerFigures {
  health: HealthState;
  seenAt: number;
  /** Down time and transitions count from the first time the backend is up: before that it is starting (not located yet, first checks). */
  everUp: boolean;
}

/**
 * One series of the window (a service, a backend or a switch): `columns` figures per sample, in a ring of
 * maxPoints samples allocated when the series first appears (NaN = absent at that sample, shown as null). The window
 * allocates nothing per sample, so its memory does not grow with time: the Map-per-sample window it replaces held
 * ~1.1 KB a sample and grew for its first 15 minutes by ~0.5 MiB (450 samples), which the resilience soak took for a
 * creep of the live heap (issue 18, 2026-12-06).
 */
interface Series {
  names: string[];
  columns: number;
  values: Float64Array;
  /** The sequence number of the last sample it was present in: it leaves once that sample leaves the window. */
  lastSeq: number;
}

const HEALTH_STATES: readonly HealthState[] = ['up', 'down', 'unknown', 'draining', 'drained', 'launching'];
const SERVICE_COLUMNS = 2; // decisions, refused
const BACKEND_COLUMNS = 7; // active, inactive, total, packets, bytes, queue, health (index into HEALTH_STATES)
const SWITCH_COLUMNS = 3; // packetIns, flowModsSent, errorsReceived

const key = (service: string, backend: string) => `${service}\u0000${backend}`;

export class HistoryLedger {
  private readonly ledger = new Map<string, LedgerEntry>();
  readonly maxPoints: number;
  /** The samples' times, a ring: sample number n is at n % maxPoints. */
  private readonly times: Float64Array;
  /** Samples recorded so far (the next one's number). */
  private seq = 0;
  private readonly services = new Map<string, Series>();
  private readonly backends = new Map<string, Series>();
  private readonly switches = new Map<string, Series>();

  constructor(readonly opts: { intervalMs: number; windowMs: number }) {
    if (!(opts.intervalMs > 0) || !(opts.windowMs >= opts.intervalMs)) throw new RangeError(`history needs 0 < intervalMs <= windowMs, got ${opts.intervalMs} and ${opts.windowMs}`);
    this.maxPoints = Math.ceil(opts.windowMs / opts.intervalMs);
    this.times = new Float64Array(this.maxPoints);
  }

  /** Updates the per-backend figures from a snapshot (on every sample and every event, so state changes are timed well). */
  observe(status: StatusSnapshot, now: number): void {
    const present = new Set<string>();
    for (const s of status.services) {
      for (const b of s.backends) {
        const k = key(s.name, b.id);
        present.add(k);
        const conns = b.activeConns + b.inactiveConns;
        const prev = this.ledger.get(k);
        if (!prev) {
          this.ledger.set(k, { health: b.health, seenAt: now, stateSince: now, downTransitions: 0, downtimeMs: 0, maxConns: conns, everUp: b.health === 'up' });
          continue;
        }
        const elapsed = Math.max(0, now - prev.seenAt);
        if (prev.health === 'down' && prev.everUp) prev.downtimeMs += elapsed;
        if (b.health !== prev.health) {
          prev.stateSince = now;
          if (b.health === 'down' && prev.everUp) prev.downTransitions++;
        }
        if (b.health === 'up') prev.everUp = true;
        prev.health = b.health;
        prev.seenAt = now;
        prev.maxConns = Math.max(prev.maxConns, conns);
      }
    }
    // A backend removed from the configuration starts afresh if it is added again.
    for (const k of [...this.ledger.keys()]) if (!present.has(k)) this.ledger.delete(k);
  }

  /** Adds one sample to the window (and observes it). */
  record(status: StatusSnapshot, now: number): void {
    this.observe(status, now);
    const slot = this.seq % this.maxPoints;
    this.times[slot] = now;
    for (const sv of status.services) {
      this.put(this.services, sv.name, [sv.name], SERVICE_COLUMNS, slot, sv.decisions, sv.refused);
      for (const b of sv.backends) {
        this.put(this.backends, key(sv.name, b.id), [sv.name, b.id], BACKEND_COLUMNS, slot, b.activeConns, b.inactiveConns, b.totalConns,
          b.packets, b.bytes, b.queueMeasure ?? NaN, HEALTH_STATES.indexOf(b.health));
      }
    }
    for (const sw of status.switches) this.put(this.switches, sw.dpid, [sw.dpid], SWITCH_COLUMNS, slot, sw.packetIns, sw.flowModsSent, sw.errorsReceived);
    // Absent from this sample: null here; absent from every sample of the window: gone.
    for (const series of [this.services, this.backends, this.switches]) {
      for (const [k, x] of series) {
        if (x.lastSeq === this.seq) continue;
        if (this.seq - x.lastSeq >= this.maxPoints) series.delete(k);
        else x.values.fill(NaN, slot * x.columns, (slot + 1) * x.columns);
      }
    }
    this.seq++;
  }

  /** Writes a series' figures at `slot`, making the series (all absent) when it first appears. */
  private put(series: Map<string, Series>, k: string, names: string[], columns: number, slot: number, ...figures: number[]): void {
    let x = series.get(k);
    if (!x) {
      x = { names, columns, values: new Float64Array(this.maxPoints * columns).fill(NaN), lastSeq: this.seq };
      series.set(k, x);
    }
    x.lastSeq = this.seq;
    x.values.set(figures, slot * columns);
  }

  /** The per-backend figures, with the downtime counted up to `now` while the backend is still down. */
  figures(service: string, backend: string, now: number): BackendLedgerFigures | undefined {
    const e = this.ledger.get(key(service, backend));
    if (!e) return undefined;
    const ongoing = e.health === 'down' && e.everUp ? Math.max(0, now - e.seenAt) : 0;
    return { stateSince: e.stateSince, downTransitions: e.downTransitions, downtimeMs: e.downtimeMs + ongoing, maxConns: e.maxConns };
  }

  /** The samples of the last `windowMs` (default: the whole window) before `now`. */
  history(now: number, windowMs = this.opts.windowMs): StatusHistory {
    const slots: number[] = [];
    for (let n = Math.max(0, this.seq - this.maxPoints); n < this.seq; n++) {
      const slot = n % this.maxPoints;
      if (this.times[slot] > now - windowMs) slots.push(slot);
    }
    const times = slots.map((slot) => this.times[slot]);
    const value = (x: Series, slot: number, c: number) => {
      const v = x.values[slot * x.columns + c];
      return Number.isNaN(v) ? null : v;
    };
    const column = (x: Series, c: number) => slots.map((slot) => value(x, slot, c));
    // A series is listed when it is present in a sample of the asked window (its first figure is never absent then).
    const listed = (series: Map<string, Series>) => [...series.values()].filter((x) => slots.some((slot) => value(x, slot, 0) !== null));
    const services = listed(this.services).map((x) => ({ service: x.names[0], decisions: column(x, 0), refused: column(x, 1) }));
    const backends = listed(this.backends).map((x) => ({
      service: x.names[0], backend: x.names[1],
      active: column(x, 0), inactive: column(x, 1), total: column(x, 2), packets: column(x, 3), bytes: column(x, 4), queue: column(x, 5),
      health: column(x, 6).map((v) => (v === null ? null : HEALTH_STATES[v] ?? null)),
    }));
    const switches = listed(this.switches).map((x) => ({ dpid: x.names[0], packetIns: column(x, 0), flowModsSent: column(x, 1), errorsReceived: column(x, 2) }));
    return { intervalMs: this.opts.intervalMs, windowMs, times, services, backends, switches };
  }

  /** The bytes the window's figures take: fixed per series (allocated when it first appears), not per sample. */
  get windowBytes(): number {
    let bytes = this.times.byteLength;
    for (const series of [this.services, this.backends, this.switches]) for (const x of series.values()) bytes += x.values.byteLength;
    return bytes;
  }
}
