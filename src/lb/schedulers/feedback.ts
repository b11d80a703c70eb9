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
  /** Cumulative completed connections at the last sample. */
  lastCompleted: number;
  /** Smoothed reply packets/s the VM emits: for the backlog term and status output. */
  rate: number;
  /** Smoothed connections completed per second (throughput, Little's lambda). */
  completions: number;
  /** Smoothed outstanding connections (Little's L). */
  outstanding: number;
  /** The datapath's reported egress backlog (packets), when there is one; 0 otherwise. */
  backlog: number;
  /** Drops grew in the latest interval. */
  dropping: boolean;
  /** Intervals in which the member had work (outstanding or completed connections). */
  busyIntervals: number;
}

/** Floors so a member that finished nothing while busy is very expensive rather than infinite. */
const MIN_RATE = 1e-3;

/** What the scheduler reads of a member at sample time. */
export interface MemberLoad {
  /** Open connections now. */
  outstanding: number;
  /** Connections ended on it so far (cumulative). */
  completed: number;
}

/**
 * The dynamic-feedback scheduler: each new connection goes to the member with the least expected
 * wait, ((outstanding + 1) * S + backlog / rate) / weight. S, the time one connection spends on the
 * VM, comes from Little's law over the sampled intervals, S = L / lambda, with L the smoothed number of
 * its open connections and lambda the smoothed rate at which its connections complete. A slow VM holds
 * its connections longer, so its S is large and it gets few new connections; equal VMs balance (S does
 * not grow with the share a VM was given); an idle VM keeps its last S and is probed again. The OVS
 * port counters give the queue side: drops growing (avoid the member while another can take the
 * connection) and a reported egress backlog. With a missing or stale estimate for any usable member the
 * figures are not comparable, so it decides as wlc does.
 */
export class FeedbackScheduler implements Scheduler {
  readonly name = 'feedback' as const;
  private readonly estimates = new Map<string, LoadEstimate>();
  /** Members by id, so a sample can be paired with the member's connection counts at that moment. */
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
   * Feed one poll of a backend's port counters (by id). The member's connection counts are read from
   * it unless given. Out-of-order or counter-reset samples restart its estimate.
   */
  feed(backendId: string, sample: LoadSample, load?: MemberLoad): void {
    const member = this.members.get(backendId);
    const now: MemberLoad = load ?? { outstanding: member?.totalConns ?? 0, completed: member?.completedConns ?? 0 };
    const estimate = this.estimates.get(backendId);
    if (!estimate || sample.at <= estimate.last.at || sample.rxPackets < estimate.last.rxPackets
      || sample.txPackets < estimate.last.txPackets || sample.txDropped < estimate.last.txDropped
      || now.completed < estimate.lastCompleted) {
      this.estimates.set(backendId, {
        last: sample, lastCompleted: now.completed, rate: 0, completions: 0, outstanding: 0, backlog: 0, dropping: false, busyIntervals: 0,
      });
      return;
    }
    const seconds = (sample.at - estimate.last.at) / 1000;
    const rate = (sample.rxPackets - estimate.last.rxPackets) / seconds;
    const completed = now.completed - estimate.lastCompleted;
    const first = estimate.busyIntervals === 0;
    const smooth = (old: number, fresh: number) => (first ? fresh : this.alpha * fresh + (1 - this.alpha) * old);
    // An idle interval says nothing about the VM's speed: the estimate is kept as it was.
    if (now.outstanding > 0 || completed > 0) {
      estimate.rate = smooth(estimate.rate, rate);
      estimate.completions = smooth(estimate.completions, completed / seconds);
      estimate.outstanding = smooth(estimate.outstanding, now.outstanding);
      estimate.busyIntervals++;
    }
    estimate.backlog = sample.txBacklog ?? 0;
    estimate.dropping = sample.txDropped > estimate.last.txDropped;
    estimate.last = sample;
    estimate.lastCompleted = now.completed;
  }

  /** Smoothed figures for status output and tests; undefined until a busy interval was measured. */
  estimate(backendId: string): { rate: number; completions: number; outstanding: number; timePerConn: number; backlog: number; dropping: boolean } | undefined {
    const e = this.estimates.get(backendId);
    if (!e || e.busyIntervals === 0) return undefined;
    return { rate: e.rate, completions: e.completions, outstanding: e.outstanding, timePerConn: timePerConn(e), backlog: e.backlog, dropping: e.dropping };
  }

  /** ((outstanding + 1) * S + backlog / rate) / weight: the expected wait of one more connection. */
  expectedWait(member: Backend): number {
    const e = this.estimates.get(member.id)!;
    const backlogWait = e.backlog > 0 ? e.backlog / Math.max(e.rate, MIN_RATE) : 0;
    return ((member.totalConns + 1) * timePerConn(e) + backlogWait) / member.weight;
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

/** Little's law: time in system = mean number in system / throughput (at least one connection's worth). */
function timePerConn(e: LoadEstimate): number {
  return Math.max(e.outstanding, 1) / Math.max(e.completions, MIN_RATE);
}
