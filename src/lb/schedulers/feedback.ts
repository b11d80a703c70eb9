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
  /** Smoothed packets/s the VM emits. */
  rate: number;
  /** Smoothed packets waiting for the VM: backlog if reported, else growth of tx over rx. */
  queue: number;
  /** Drops grew in the latest interval. */
  dropping: boolean;
  intervals: number;
}

/** A floor so a member that emitted nothing still compares (it is then very expensive, not infinite). */
const MIN_RATE = 1e-3;

/**
 * The dynamic-feedback scheduler: each new connection goes to the member with the least expected
 * wait, (outstanding + queue + 1) / (rate * weight), where outstanding is the controller's count of
 * open connections, queue and rate are smoothed from the samples. Members whose drops grew in the
 * last interval are avoided while any other member can take the connection. With a missing or stale
 * sample for any usable member the estimates are not comparable, so it decides as wlc does.
 */
export class FeedbackScheduler implements Scheduler {
  readonly name = 'feedback' as const;
  private readonly estimates = new Map<string, LoadEstimate>();
  private readonly alpha: number;
  private readonly staleAfterMs: number;

  constructor(opts: FeedbackOptions = {}) {
    this.alpha = opts.alpha ?? 0.5;
    this.staleAfterMs = opts.staleAfterMs ?? 3000;
    if (!(this.alpha > 0 && this.alpha <= 1)) {
      throw new LbInputError('feedback.alpha', `expected 0 < alpha <= 1, got ${this.alpha}`);
    }
  }

  /** Feed one poll for a backend (by id). Out-of-order or counter-reset samples restart its estimate. */
  feed(backendId: string, sample: LoadSample): void {
    const estimate = this.estimates.get(backendId);
    if (!estimate || sample.at <= estimate.last.at || sample.rxPackets < estimate.last.rxPackets
      || sample.txPackets < estimate.last.txPackets || sample.txDropped < estimate.last.txDropped) {
      this.estimates.set(backendId, { last: sample, rate: 0, queue: 0, dropping: false, intervals: 0 });
      return;
    }
    const seconds = (sample.at - estimate.last.at) / 1000;
    const replies = sample.rxPackets - estimate.last.rxPackets;
    const delivered = sample.txPackets - estimate.last.txPackets;
    const rate = replies / seconds;
    const queue = sample.txBacklog ?? Math.max(0, estimate.queue + delivered - replies);
    const smooth = (old: number, fresh: number) =>
      estimate.intervals === 0 ? fresh : this.alpha * fresh + (1 - this.alpha) * old;
    estimate.rate = smooth(estimate.rate, rate);
    estimate.queue = smooth(estimate.queue, queue);
    estimate.dropping = sample.txDropped > estimate.last.txDropped;
    estimate.last = sample;
    estimate.intervals++;
  }

  /** Smoothed figures for status output and tests. */
  estimate(backendId: string): { rate: number; queue: number; dropping: boolean } | undefined {
    const e = this.estimates.get(backendId);
    return e && e.intervals > 0 ? { rate: e.rate, queue: e.queue, dropping: e.dropping } : undefined;
  }

  /** (outstanding + queue + 1) / (rate * weight): the expected wait of one more connection. */
  expectedWait(member: Backend): number {
    const e = this.estimates.get(member.id)!;
    return (member.totalConns + e.queue + 1) / (Math.max(e.rate, MIN_RATE) * member.weight);
  }

  pick(backends: readonly Backend[], _pkt: PacketKey, now: number): Backend | null {
    let anyUsable = false;
    for (const member of backends) {
      if (!member.eligible) continue;
      anyUsable = true;
      const e = this.estimates.get(member.id);
      if (!e || e.intervals === 0 || now - e.last.at > this.staleAfterMs) return leastWeighted(backends);
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
