// Passive outlier detection (Envoy's outlier ejection, fed by what the datapath already shows vadc): each
// software port of each backend counts its connections' outcomes; consecutive failures, or a failure ratio over
// a window, eject the port for an ejection time, after which it is probed (an active connect by the caller)
// and re-admitted when the probe passes, or ejected again for twice as long. Pure: every input takes `now`
// and returns what it caused.
import type { AddressFamily } from './backend';
import { LbInputError } from './errors';

export interface OutlierOptions {
  /** Failures in a row that eject a port (0: this rule is off). */
  consecutiveFailures: number;
  /** Failed share of a window's outcomes that ejects a port (0: this rule is off). */
  failureRatio: number;
  /** The ratio's window (ms): outcomes are counted in consecutive windows of this length. */
  windowMs: number;
  /** Outcomes a window needs before its ratio is believed. */
  minConnections: number;
  /** The first ejection's length (ms); each further ejection in a row doubles it, up to maxEjectionMs. */
  ejectionMs: number;
  maxEjectionMs: number;
  /** The most backends of a service taken out whole at once, as a percentage of its backends (at least one). */
  maxEjectedPercent: number;
  /**
   * Successes come only at the accounting's readings (conntrack mode's tracker: a connection that worked is seen
   * there, not copied at its end), while failures (a backend's RST copy) come at once: a failure then ejects nothing
   * by itself; each reading(askedAt) judges the failures that came before it was asked for, after the successes it
   * shows (wantsReading: a port's failures would eject it now, so a reading is worth asking for at once). Absent or
   * false: a failure is judged as it comes.
   */
  judgeAtReadings?: boolean;
}

/** judgeAtReadings: the latest failure times a port keeps (a reading judges those before it was asked for). */
const MAX_FAILURE_TIMES = 64;

export const DEFAULT_OUTLIER_OPTIONS: Readonly<OutlierOptions> = {
  consecutiveFailures: 3,
  failureRatio: 0.5,
  windowMs: 10_000,
  minConnections: 10,
  ejectionMs: 2000,
  maxEjectionMs: 30_000,
  maxEjectedPercent: 50,
};

/** One connection's outcome as the datapath showed it. */
export type Outcome =
  | { ok: true }
  /**
   * reason: e.g. 'reset by the backend 3 ms after the first packet', 'not established within 2000 ms'; family: the
   * connection's (a dual-stack backend's ejected port is probed at that family's address).
   */
  | { ok: false; reason: string; family?: AddressFamily };

/**
 * What an input caused: a port taken out, a probe due, a port back in. `family` (ejected, probe): the family of the
 * failed connection that ejected the port, when known: the probe goes to the backend's address of that family (a
 * dual-stack backend whose IPv6 application died would pass an IPv4 probe and come back at once).
 */
export type OutlierChange =
  | { kind: 'ejected'; backend: string; port: number; portIndex: number; until: number; ejections: number; reason: string; family?: AddressFamily }
  | { kind: 'probe'; backend: string; port: number; portIndex: number; family?: AddressFamily }
  | { kind: 'readmitted'; backend: string; port: number; portIndex: number; reason: string };

/** A port's record: its streak, its window, and its ejection if any. */
interface PortRecord {
  consecutive: number;
  windowStart: number;
  windowTotal: number;
  windowFailed: number;
  /** Ejections in a row (reset when a probe or connection passes). */
  ejections: number;
  /** 'serving', 'ejected' (until `until`), or 'probing' (a probe was asked for, its result not back yet). */
  phase: 'serving' | 'ejected' | 'probing';
  until: number;
  /** The family of the failure that ejected the port (its probe's), while ejected or probing. */
  family?: AddressFamily;
  /**
   * judgeAtReadings: the last failure counted and not judged yet, and when the streak's latest failures came (at most
   * MAX_FAILURE_TIMES: a reading judges those that came before it was asked for; older ones count as before it).
   */
  pending?: { reason: string; family?: AddressFamily; times: number[] };
  /**
   * judgeAtReadings: connections placed on the port since its last success (placed), and when the one that made them a
   * run that could eject it was: a port that answers nothing sends no copy at all, and only a reading tells.
   */
  unanswered: number;
  runAt: number;
}

export interface OutlierMember {
  id: string;
  ports: readonly number[];
}

export function validateOutlierOptions(o: OutlierOptions): void {
  const check = (field: string, ok: boolean, what: string, value: number) => {
    if (!ok) throw new LbInputError(`outlier.${field}`, `expected ${what}, got ${value}`);
  };
  check('consecutiveFailures', Number.isInteger(o.consecutiveFailures) && o.consecutiveFailures >= 0, 'an integer >= 0', o.consecutiveFailures);
  check('failureRatio', o.failureRatio >= 0 && o.failureRatio <= 1, 'a ratio 0..1', o.failureRatio);
  check('windowMs', o.windowMs > 0, 'a positive window', o.windowMs);
  check('minConnections', Number.isInteger(o.minConnections) && o.minConnections >= 1, 'an integer >= 1', o.minConnections);
  check('ejectionMs', o.ejectionMs > 0, 'a positive time', o.ejectionMs);
  check('maxEjectionMs', o.maxEjectionMs >= o.ejectionMs, `a time >= ejectionMs (${o.ejectionMs})`, o.maxEjectionMs);
  check('maxEjectedPercent', o.maxEjectedPercent >= 0 && o.maxEjectedPercent <= 100, 'a percentage 0..100', o.maxEjectedPercent);
}

/**
 * One service's outlier detector. Ports are judged one by one (a VM whose one application died keeps serving
 * on its other ports); a backend whose every port is ejected counts against `maxEjectedPercent`, and a
 * failure that would take out one backend too many is counted but ejects nothing (as Envoy: a service whose
 * backends all fail keeps trying them rather than refusing everyone).
 */
export class OutlierDetector {
  private readonly records = new Map<string, PortRecord[]>();
  private members: readonly OutlierMember[] = [];
  /** judgeAtReadings: see wantsReading. */
  private readingWanted = false;
  /** judgeAtReadings: when the last reading was asked for (awaitsReading: one per run). */
  private lastReadingAt = -Infinity;

  constructor(private readonly opts: OutlierOptions) {
    validateOutlierOptions(opts);
  }

  get options(): Readonly<OutlierOptions> {
    return this.opts;
  }

  /** The service's backends now; records of backends that stay are kept, those of removed ones dropped. */
  setMembers(members: readonly OutlierMember[], now: number): void {
    const next = new Map<string, PortRecord[]>();
    for (const m of members) {
      // A member replaced by a new object (same id, new ports or a new backend) starts afresh, as its port flags do.
      const kept = this.members.find((old) => old.id === m.id) === m ? this.records.get(m.id) : undefined;
      next.set(m.id, kept ?? m.ports.map(() => freshRecord(now)));
    }
    this.records.clear();
    for (const [id, r] of next) this.records.set(id, r);
    this.members = members;
  }

  /** Whether the port takes no new connections now. */
  isEjected(backend: string, portIndex: number): boolean {
    const r = this.records.get(backend)?.[portIndex];
    return r !== undefined && r.phase !== 'serving';
  }

  /** One connection's outcome on the backend's port. */
  observe(backend: string, portIndex: number, outcome: Outcome, now: number): OutlierChange[] {
    const record = this.records.get(backend)?.[portIndex];
    const member = this.members.find((m) => m.id === backend);
    if (!record || !member) return [];
    if (now - record.windowStart >= this.opts.windowMs) {
      record.windowStart = now;
      record.windowTotal = 0;
      record.windowFailed = 0;
    }
    record.windowTotal++;
    if (outcome.ok) {
      record.consecutive = 0;
      record.unanswered = 0;
      record.pending = undefined;
      // A connection that worked while ejected (one placed just before) proves the port as a probe would.
      if (record.phase !== 'serving') return [this.readmit(member, portIndex, record, 'a connection succeeded')];
      record.ejections = 0;
      return [];
    }
    record.consecutive++;
    record.windowFailed++;
    if (record.phase !== 'serving') return [];
    if (this.opts.judgeAtReadings) {
      const times = record.pending?.times ?? [];
      if (times.length >= MAX_FAILURE_TIMES) times.shift();
      times.push(now);
      record.pending = { reason: outcome.reason, ...(outcome.family ? { family: outcome.family } : {}), times };
      if (this.wouldEject(record, 0)) this.readingWanted = true;
      return [];
    }
    return this.judge(member, portIndex, record, outcome.reason, outcome.family, now);
  }

  /** judgeAtReadings: some port's failures would eject it if the next reading shows no success on it. */
  get wantsReading(): boolean {
    return this.readingWanted;
  }

  /**
   * judgeAtReadings: a reading asked for at `askedAt` was applied (its successes observed): the failures that came
   * before it was asked for are judged now; later ones wait for the next reading. A success the reading showed reset
   * its port's run of failures, whichever came first (the listing does not tell when a connection worked): a healthy
   * port whose refusals are interleaved with connections that worked is not ejected, and a port that died is ejected
   * at the first reading asked for after its failures that shows no success on it: at most one reading after it would
   * have been when judged at once (wantsReading lets the caller ask for that reading at once), and one more when
   * successes from before its death were not read yet when its refusals came.
   */
  reading(askedAt: number): OutlierChange[] {
    this.readingWanted = false;
    this.lastReadingAt = Math.max(this.lastReadingAt, askedAt);
    const out: OutlierChange[] = [];
    for (const member of this.members) {
      this.records.get(member.id)!.forEach((r, i) => {
        const pending = r.pending;
        if (!pending || r.phase !== 'serving') return;
        const later = pending.times.filter((t) => t > askedAt).length;
        const judged = this.judge(member, i, r, pending.reason, pending.family, askedAt, later);
        out.push(...judged);
        if (judged.length === 0 && later === 0) r.pending = undefined;
        else if (judged.length === 0 && this.wouldEject(r, 0)) this.readingWanted = true;
      });
    }
    return out;
  }

  /**
   * judgeAtReadings: a TCP connection was placed on the port at `now`. A port that answers nothing (a black hole: the
   * SYN goes, no SYN-ACK, no RST) sends no end copy, so its failures are known only at a reading; these counts tell
   * when one is worth asking for (awaitsReading).
   */
  placed(backend: string, portIndex: number, now: number): void {
    if (!this.opts.judgeAtReadings) return;
    const record = this.records.get(backend)?.[portIndex];
    if (record && ++record.unanswered === this.runLength()) record.runAt = now;
  }

  /** Failures that could eject a port: consecutive_failures, or min_connections where that rule is off. */
  private runLength(): number {
    return this.opts.consecutiveFailures > 0 ? this.opts.consecutiveFailures : this.opts.minConnections;
  }

  /**
   * judgeAtReadings: whether a reading at `now` would judge a run of unanswered connections that could eject a port:
   * some port in service has had as many connections placed since its last success as eject it (runLength), the last
   * of those `connectTimeoutMs` ago or more (a reading judges each failed if it never established), and no reading was
   * asked for since then (one per run). Where the listing is spaced (end copies tell ends and successes), a
   * black-holing backend is then judged at the first poll connect_timeout after its run, not at the next regular
   * listing. A port whose connections outlast connect_timeout with no short one among them asks too (its successes
   * come only with a reading): one reading per run of such connections.
   */
  awaitsReading(now: number, connectTimeoutMs: number): boolean {
    if (!this.opts.judgeAtReadings) return false;
    const runs = this.runLength();
    for (const records of this.records.values()) {
      for (const r of records) {
        if (r.phase === 'serving' && r.unanswered >= runs && now - r.runAt >= connectTimeoutMs && this.lastReadingAt < r.runAt + connectTimeoutMs) return true;
      }
    }
    return false;
  }

  /**
   * Whether the port's failures so far, less the `later` latest (not judged yet), eject it: the consecutive rule, then
   * the window's ratio. Why, or undefined.
   */
  private ejectionCause(record: PortRecord, later: number): string | undefined {
    const { consecutiveFailures: n, failureRatio, minConnections } = this.opts;
    const consecutive = record.consecutive - later;
    const [total, failed] = [record.windowTotal - later, record.windowFailed - later];
    if (n > 0 && consecutive >= n) return `${consecutive} consecutive failures`;
    if (failureRatio > 0 && total >= minConnections && failed / total >= failureRatio) {
      return `${failed} of ${total} connections failed within ${this.opts.windowMs} ms`;
    }
    return undefined;
  }

  private wouldEject(record: PortRecord, later: number): boolean {
    return this.ejectionCause(record, later) !== undefined;
  }

  /** Ejects the port if its failures (less the `later` latest) call for it and the service may lose it. */
  private judge(
    member: OutlierMember, portIndex: number, record: PortRecord, lastReason: string, family: AddressFamily | undefined, now: number, later = 0,
  ): OutlierChange[] {
    const why = this.ejectionCause(record, later);
    if (!why || !this.mayEject(member.id, portIndex)) return [];
    return [this.eject(member, portIndex, record, `${why}; last: ${lastReason}`, now, family)];
  }

  /** Ejections that ended: their probes are due (the caller connects to the port and reports probeResult). */
  tick(now: number): OutlierChange[] {
    const out: OutlierChange[] = [];
    for (const member of this.members) {
      const records = this.records.get(member.id)!;
      records.forEach((r, i) => {
        if (r.phase !== 'ejected' || now < r.until) return;
        r.phase = 'probing';
        out.push({ kind: 'probe', backend: member.id, port: member.ports[i], portIndex: i, ...(r.family ? { family: r.family } : {}) });
      });
    }
    return out;
  }

  /** The probe asked for by tick: passed (re-admitted) or failed (ejected again, for longer). */
  probeResult(backend: string, portIndex: number, ok: boolean, reason: string, now: number): OutlierChange[] {
    const record = this.records.get(backend)?.[portIndex];
    const member = this.members.find((m) => m.id === backend);
    if (!record || !member || record.phase !== 'probing') return [];
    if (ok) return [this.readmit(member, portIndex, record, `probe passed: ${reason}`)];
    // Ejected again for the same family: the next probe goes where this one failed.
    return [this.eject(member, portIndex, record, `probe failed: ${reason}`, now, record.family)];
  }

  /** Every port ejected or being probed now, for status. */
  ejected(): { backend: string; port: number; until: number; ejections: number }[] {
    const out: { backend: string; port: number; until: number; ejections: number }[] = [];
    for (const m of this.members) {
      this.records.get(m.id)!.forEach((r, i) => {
        if (r.phase !== 'serving') out.push({ backend: m.id, port: m.ports[i], until: r.until, ejections: r.ejections });
      });
    }
    return out;
  }

  /** Ejecting this port keeps the backends out whole within maxEjectedPercent (at least one may always go). */
  private mayEject(backend: string, portIndex: number): boolean {
    const wouldBeWhole = this.records.get(backend)!.every((r, i) => i === portIndex || r.phase !== 'serving');
    if (!wouldBeWhole) return true;
    let whole = 0;
    for (const [id, records] of this.records) if (id !== backend && records.every((r) => r.phase !== 'serving')) whole++;
    const allowed = Math.max(1, Math.floor((this.members.length * this.opts.maxEjectedPercent) / 100));
    return whole + 1 <= allowed;
  }

  private eject(member: OutlierMember, portIndex: number, record: PortRecord, reason: string, now: number, family: AddressFamily | undefined): OutlierChange {
    record.ejections++;
    record.family = family;
    const length = Math.min(this.opts.maxEjectionMs, this.opts.ejectionMs * 2 ** Math.min(30, record.ejections - 1));
    record.phase = 'ejected';
    record.until = now + length;
    record.consecutive = 0;
    record.pending = undefined;
    record.windowStart = now;
    record.windowTotal = 0;
    record.windowFailed = 0;
    return {
      kind: 'ejected', backend: member.id, port: member.ports[portIndex], portIndex, until: record.until, ejections: record.ejections, reason,
      ...(family ? { family } : {}),
    };
  }

  private readmit(member: OutlierMember, portIndex: number, record: PortRecord, reason: string): OutlierChange {
    record.phase = 'serving';
    record.ejections = 0;
    record.consecutive = 0;
    record.unanswered = 0;
    record.pending = undefined;
    record.family = undefined;
    return { kind: 'readmitted', backend: member.id, port: member.ports[portIndex], portIndex, reason };
  }
}

function freshRecord(now: number): PortRecord {
  return { consecutive: 0, windowStart: now, windowTotal: 0, windowFailed: 0, ejections: 0, phase: 'serving', until: 0, unanswered: 0, runAt: 0 };
}
