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

interface Point {
  t: number;
  services: Map<string, { decisions: number; refused: number }>;
  backends: Map<string, { active: number; inactive: number; total: number; packets: number; bytes: number; queue: number | null; health: HealthState }>;
  switches: Map<string, { packetIns: number; flowModsSent: number; errorsReceived: number }>;
}

const key = (service: string, backend: string) => `${service}\u0000${backend}`;

export class HistoryLedger {
  private readonly points: Point[] = [];
  private readonly ledger = new Map<string, LedgerEntry>();
  readonly maxPoints: number;

  constructor(readonly opts: { intervalMs: number; windowMs: number }) {
    if (!(opts.intervalMs > 0) || !(opts.windowMs >= opts.intervalMs)) throw new RangeError(`history needs 0 < intervalMs <= windowMs, got ${opts.intervalMs} and ${opts.windowMs}`);
    this.maxPoints = Math.ceil(opts.windowMs / opts.intervalMs);
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
    const point: Point = { t: now, services: new Map(), backends: new Map(), switches: new Map() };
    for (const s of status.services) {
      point.services.set(s.name, { decisions: s.decisions, refused: s.refused });
      for (const b of s.backends) {
        point.backends.set(key(s.name, b.id), {
          active: b.activeConns, inactive: b.inactiveConns, total: b.totalConns, packets: b.packets, bytes: b.bytes,
          queue: b.queueMeasure ?? null, health: b.health,
        });
      }
    }
    for (const sw of status.switches) point.switches.set(sw.dpid, { packetIns: sw.packetIns, flowModsSent: sw.flowModsSent, errorsReceived: sw.errorsReceived });
    this.points.push(point);
    while (this.points.length > this.maxPoints) this.points.shift();
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
    const points = this.points.filter((p) => p.t > now - windowMs);
    const times = points.map((p) => p.t);
    const column = <V, R>(get: (p: Point) => V | undefined, pick: (v: V) => R) => points.map((p) => {
      const v = get(p);
      return v === undefined ? null : pick(v);
    });
    const services = [...new Set(points.flatMap((p) => [...p.services.keys()]))].map((service) => ({
      service,
      decisions: column((p) => p.services.get(service), (v) => v.decisions),
      refused: column((p) => p.services.get(service), (v) => v.refused),
    }));
    const backends = [...new Set(points.flatMap((p) => [...p.backends.keys()]))].map((k) => {
      const [service, backend] = k.split('\u0000');
      const at = (p: Point) => p.backends.get(k);
      return {
        service, backend,
        active: column(at, (v) => v.active), inactive: column(at, (v) => v.inactive), total: column(at, (v) => v.total),
        packets: column(at, (v) => v.packets), bytes: column(at, (v) => v.bytes), queue: column(at, (v) => v.queue), health: column(at, (v) => v.health),
      };
    });
    const switches = [...new Set(points.flatMap((p) => [...p.switches.keys()]))].map((dpid) => {
      const at = (p: Point) => p.switches.get(dpid);
      return { dpid, packetIns: column(at, (v) => v.packetIns), flowModsSent: column(at, (v) => v.flowModsSent), errorsReceived: column(at, (v) => v.errorsReceived) };
    });
    return { intervalMs: this.opts.intervalMs, windowMs, times, services, backends, switches };
  }
}
