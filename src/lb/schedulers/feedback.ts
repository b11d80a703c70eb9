import type { Backend } from '../backend';
import { LbInputError } from '../errors';
import type { PacketKey, Scheduler } from '../scheduler';
import { leastWeighted } from './least';

/**
 * One poll of a backend vNIC's counters, fed from outside (the OVSDB Interface statistics and the
 * OpenFlow port/queue stats of the vNIC's OVS port). Counters are cumulative, as the switch reports
 * them; the scheduler differentiates consecutive samples. Directions are the switch's view:
 * tx = towards the VM, rx = from the VM.
 */
export interface LoadSample {
  /** When the counters were read (ms). */
  at: number;
  /** Packets the VM sent (its replies): the evidence of work done. */
  rxPackets: number;
  /** Packets delivered to the VM. */
  txPackets: number;
  /** Packets the switch could not hand to the VM (its queue was full). */
  txDropped: number;
  /** Packets queued on the port's egress queue right now, when the datapath reports it. */
  txBacklog?: number;
}

export interface FeedbackOptions {
  /** EWMA weight of the newest interval (0 < alpha <= 1). */
  alpha?: number;
  /** Samples older than this are stale and the scheduler falls back to wlc (default 3 s). */
  staleAfterMs?: number;
}

interface LoadEstimate {
  last: LoadSample;
  /** Smoothed packets/s the VM emits (its replies): throughput, for the backlog term. */
  rate: number;
  /**
   * Smoothed time one connection occupies the VM, S = outstanding / rate (Little's law), in seconds per
   * reply-packet-rate unit; measured only in intervals in which the VM had connections, since an idle
   * interval says nothing about its speed.
   */
  timePerConn: number;
  /** The datapath's reported egress backlog (packets), when there is one; 0 otherwise. */
  backlog: number;
  /** Drops grew in the latest interval. */
  dropping: boolean;
  /** Busy intervals measured so far (0: no estimate of timePerConn yet). */
  busyIntervals: number;
}

/** A floor so a member that emitted nothing while busy is very expensive rather than infinite. */
const MIN_RATE = 1e-3;

/**
 * The dynamic-feedback scheduler: each new connection goes to the member with the least expected
 * wait, ((outstanding + 1) * S + backlog / rate) / weight, where outstanding is the controller's count of
 * the member's open connections and S the smoothed time per connection measured from its OVS port
 * counters (Little's law: S = outstanding / reply rate, over busy intervals only). A slow VM has a
 * large S and gets few connections; equal VMs balance because the wait grows with outstanding; an
 * idle member scores (0 + 1) * S, so it is probed again. Members whose drops grew in the last interval
 * are avoided while any other member can take the connection. With a missing or stale estimate for any
 * usable member the figures are not comparable, so it decides as wlc does.
 */
export class FeedbackScheduler implements Scheduler {
  readonly name = 'feedback' as const;
  private readonly estimates = new Map<string, LoadEstimate>();
  /** Members by id, so a sample can be paired with the member's outstanding connections at that moment. */
  private members = new Map<string, Backend>();
  private readonly alpha: number;
  private readonly staleAfterMs: number;

  constructor(opts: FeedbackOptions = {}) {
    this.alpha = opts.alpha ?? 0.5;
    this.staleAfterMs = opts.staleAfterMs ?? 3000;
    if (!(this.alpha > 0 && this.alpha <= 1)) {
      throw new LbInputError('feedback.alpha', `expected 0 < alpha <= 1, got ${this.alpha}`);
    }
  }

  onChange(backends: readonly Backend[]): void {
    this.members = new Map(backends.map((b) => [b.id, b]));
  }

  /**
   * Feed one poll for a backend (by id). `outstanding` defaults to the member's open connections now.
   * Out-of-order or counter-reset samples restart its estimate.
   */
  feed(backendId: string, sample: LoadSample, outstanding = this.members.get(backendId)?.totalConns ?? 0): void {
    const estimate = this.estimates.get(backendId);
    if (!estimate || sample.at <= estimate.last.at || sample.rxPackets < estimate.last.rxPackets
      || sample.txPackets < estimate.last.txPackets || sample.txDropped < estimate.last.txDropped) {
      this.estimates.set(backendId, { last: sample, rate: 0, timePerConn: 0, backlog: 0, dropping: false, busyIntervals: 0 });
      return;
    }
    const seconds = (sample.at - estimate.last.at) / 1000;
    const rate = (sample.rxPackets - estimate.last.rxPackets) / seconds;
    const smooth = (old: number, fresh: number, first: boolean) => (first ? fresh : this.alpha * fresh + (1 - this.alpha) * old);
    estimate.rate = smooth(estimate.rate, rate, estimate.busyIntervals === 0 && estimate.rate === 0);
    if (outstanding > 0) {
      estimate.timePerConn = smooth(estimate.timePerConn, outstanding / Math.max(rate, MIN_RATE), estimate.busyIntervals === 0);
      estimate.busyIntervals++;
    }
    estimate.backlog = sample.txBacklog ?? 0;
    estimate.dropping = sample.txDropped > estimate.last.txDropped;
    estimate.last = sample;
  }

  /** Smoothed figures for status output and tests; undefined until a busy interval was measured. */
  estimate(backendId: string): { rate: number; timePerConn: number; backlog: number; dropping: boolean } | undefined {
    const e = this.estimates.get(backendId);
    return e && e.busyIntervals > 0 ? { rate: e.rate, timePerConn: e.timePerConn, backlog: e.backlog, dropping: e.dropping } : undefined;
  }

  /** ((outstanding + 1) * S + backlog / rate) / weight: the expected wait of one more connection. */
  expectedWait(member: Backend): number {
    const e = this.estimates.get(member.id)!;
    const backlogWait = e.backlog > 0 ? e.backlog / Math.max(e.rate, MIN_RATE) : 0;
    return ((member.totalConns + 1) * e.timePerConn + backlogWait) / member.weight;
  }

  pick(backends: readonly Backend[], _pkt: PacketKey, now: number): Backend | null {
    if (this.members.size !== backends.length) this.onChange(backends);
    let anyUsable = false;
    for (const member of backends) {
      if (!member.eligible) continue;
      anyUsable = true;
      const e = this.estimates.get(member.id);
      if (!e || e.busyIntervals === 0 || now - e.last.at > this.staleAfterMs) return leastWeighted(backends);
    }
    if (!anyUsable) return null;
    return this.leastWait(backends, false) ?? this.leastWait(backends, true);
  }

  private leastWait(backends: readonly Backend[], includeDropping: boolean): Backend | null {
    let best: Backend | null = null;
    let bestWait = Infinity;
    for (const member of backends) {
      if (!member.eligible) continue;
      if (!includeDropping && this.estimates.get(member.id)!.dropping) continue;
      const wait = this.expectedWait(member);
      if (wait < bestWait) {
        best = member;
        bestWait = wait;
      }
    }
    return best;
  }
}
