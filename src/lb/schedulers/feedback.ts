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
  /** EWMA weight of the newest port-counter interval (0 < alpha <= 1). */
  alpha?: number;
  /** Port-counter samples older than this are stale: their queue terms are ignored (default 3 s). */
  staleAfterMs?: number;
  /**
   * Time constant of the connection-time estimate (ms, default 1000): a faster connection moves it by
   * 1 - exp(-dt / decay) (dt since the member's previous end), and an idle member's estimate decays towards
   * the fastest member's at the same rate, so it is tried again within a few seconds.
   */
  decayMs?: number;
  /** Members whose expected wait is within this fraction of the least are equal and take turns (default 0.25). */
  equalBand?: number;
}

/** A member's time-weighted EWMA of connection times (first packet to end), from the ends the datapath showed. */
interface ConnectionTime {
  /** Seconds. */
  ewma: number;
  /** When the last connection ended (ms). */
  at: number;
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
  /** The latest interval's drops were a real share of the member's packets (`isDropping`). */
  dropping: boolean;
  /** Intervals in which the member had work (outstanding or completed connections). */
  busyIntervals: number;
}

/**
 * The most one connection's time counts for, as a multiple of the member's current estimate (of the fastest
 * member's for a member's first end).
 */
const MAX_STEP = 4;

/**
 * Drops that mark a member dropping (avoided while another can take the connection): at least this share of the
 * packets the switch had for the VM in one statistics interval (delivered + dropped) ...
 */
const DROP_SHARE = 0.01;
/**
 * ... and at least this many. One packet a veth could not take (a one-off overflow) says nothing about the VM: with
 * "any drop" two fast VMs each losing one packet of thousands in the same poll sent every new connection to the third
 * for up to 3 s (staleAfterMs).
 */
const MIN_DROPS = 2;

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
 * The dynamic-feedback scheduler: each new connection goes to the member with the least expected wait,
 *
 *   cost = ((open connections + 1) * T + backlog / rate) / weight
 *
 * T, the time one connection spends on the member, is a time-weighted EWMA of its connections' measured
 * times (first packet to the FIN/RST that ended it, as the datapath's copies showed them): each end moves it
 * by 1 - exp(-dt / tau), dt since the member's previous end, tau = decay up and down, one end counting at most
 * 4x the estimate (a first end 4x the fastest member's), so the estimate is time-based whatever the member's
 * rate, and a member that turned slow, whose ends are spaced by their length, is believed within a second
 * (after Finagle/Linkerd's peak EWMA, without its fast rise: one outlier of a busy member does not take it out). An idle member's T
 * decays towards the fastest member's with the same time constant: a member that was slow is tried again
 * within a few seconds and one fast answer brings it back. Until a member has ended a connection, T is
 * Little's law over its port counters, S = L / lambda (smoothed open connections over completions per
 * second), and a member with neither counts as the fastest member (so it is tried and measured); the
 * counters also give the queue terms: a reported egress backlog, and drops (at least 1 % of the member's
 * packets in the interval, two at least: avoid the member while another can take the connection). A slow
 * application and a slow network both lengthen T.
 * Members within `equalBand` of the least cost are equal and take turns (no flapping between equals by a
 * few milliseconds of noise). With no estimate for some usable member the figures are not comparable, so
 * it decides as wlc does.
 */
export class FeedbackScheduler implements Scheduler {
  readonly name = 'feedback' as const;
  private readonly estimates = new Map<string, LoadEstimate>();
  private readonly connTimes = new Map<string, ConnectionTime>();
  /** Members by id, so a sample can be paired with the member's connection counts at that moment. */
  private members = new Map<string, Backend>();
  /** What the host that has a member's vNIC publishes as its expected wait (s): a cluster's remote backends. */
  private readonly published = new Map<string, number>();
  private readonly alpha: number;
  private readonly staleAfterMs: number;
  private readonly decayMs: number;
  private readonly equalBand: number;
  /** Where the turn among equal members continues (an index into the members list). */
  private cursor = 0;
  /** Scratch: each usable member's cost in the pick being made. */
  private costs = new Float64Array(8);

  constructor(opts: FeedbackOptions = {}) {
    this.alpha = opts.alpha ?? 0.5;
    this.staleAfterMs = opts.staleAfterMs ?? 3000;
    this.decayMs = opts.decayMs ?? 1000;
    this.equalBand = opts.equalBand ?? 0.25;
    if (!(this.alpha > 0 && this.alpha <= 1)) {
      throw new LbInputError('feedback.alpha', `expected 0 < alpha <= 1, got ${this.alpha}`);
    }
    if (!(this.decayMs > 0)) throw new LbInputError('feedback.decayMs', `expected a positive time constant, got ${this.decayMs}`);
    if (!(this.equalBand >= 0)) throw new LbInputError('feedback.equalBand', `expected a fraction >= 0, got ${this.equalBand}`);
  }

  onChange(backends: readonly Backend[]): void {
    this.members = new Map(backends.map((b) => [b.id, b]));
  }

  /**
   * The expected wait (s) that the host owning a member's vNIC publishes (its own connections and measure), or
   * undefined when none is published (a local member, or the host published none). A member's cost is then the
   * larger of this host's estimate and the published one: a backend that its own host finds busy or slow is
   * avoided by every host, though each host counts only the connections it placed itself.
   */
  setPublishedWait(backendId: string, seconds: number | undefined): void {
    if (seconds !== undefined && Number.isFinite(seconds) && seconds >= 0) this.published.set(backendId, seconds);
    else this.published.delete(backendId);
  }

  /** A connection on `backend` ended `durationMs` after its first packet: the time-weighted EWMA of its connection time. */
  connectionEnded(backend: Backend, durationMs: number, now: number): void {
    const seconds = Math.max(0, durationMs) / 1000;
    const t = this.connTimes.get(backend.id);
    if (!t) {
      // A member's first end counts at most MAX_STEP times the fastest member's estimate: one SYN retransmitted
      // after 1 s would otherwise mark a fast VM slow for seconds, and with few connections it would learn otherwise slowly.
      const fastest = this.fastest(now);
      this.connTimes.set(backend.id, { ewma: Number.isFinite(fastest) ? Math.min(seconds, fastest * MAX_STEP) : seconds, at: now });
      return;
    }
    // The same time constant up and down: one slow answer among a busy member's ends (10 ms after the previous one)
    // moves it by 1 % of the difference, as one fast answer does, so noise does not take a busy member out of the
    // equal band. A member that turned slow still shows it soon: its ends are spaced by their length, so each
    // moves T by 1 - exp(-length / tau) (18 % for a 200 ms answer). One end counts at most MAX_STEP times the
    // estimate: a SYN retransmitted after 1 s says little about a VM answering in 20 ms.
    const sample = Math.min(seconds, t.ewma * MAX_STEP);
    const keep = Math.exp(-Math.max(0, now - t.at) / this.decayMs);
    t.ewma = t.ewma * keep + sample * (1 - keep);
    t.at = Math.max(t.at, now);
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
    estimate.dropping = isDropping(sample.txPackets - estimate.last.txPackets, sample.txDropped - estimate.last.txDropped);
    estimate.last = sample;
    estimate.lastCompleted = now.completed;
  }

  /**
   * Smoothed figures for status output and tests; undefined until the member has a time per connection.
   * timePerConn (s) is the one the scheduler uses: the connection-time estimate, else Little's law.
   */
  estimate(backendId: string): {
    rate: number; completions: number; outstanding: number; timePerConn: number; backlog: number; dropping: boolean; connectionTime?: number;
  } | undefined {
    const e = this.estimates.get(backendId);
    const t = this.connTimes.get(backendId);
    const queue = e && e.busyIntervals > 0 ? e : undefined;
    if (!queue && !t) return undefined;
    return {
      rate: queue?.rate ?? 0, completions: queue?.completions ?? 0, outstanding: queue?.outstanding ?? 0,
      timePerConn: t ? t.ewma : timePerConn(queue!), backlog: queue?.backlog ?? 0, dropping: queue?.dropping ?? false,
      ...(t ? { connectionTime: t.ewma } : {}),
    };
  }

  /** ((open + 1) * T + backlog / rate) / weight: the expected wait of one more connection (s), Infinity without an estimate. */
  expectedWait(member: Backend, now?: number): number {
    return this.cost(member, now ?? this.lastMeasured(member), this.fastest(now ?? 0));
  }

  pick(backends: readonly Backend[], pkt: PacketKey, now: number): Backend | null {
    if (this.members.size !== backends.length) this.onChange(backends);
    if (this.costs.length < backends.length) this.costs = new Float64Array(backends.length * 2);
    const floor = this.fastest(now);
    let least = Infinity;
    let leastAvoiding = Infinity;
    let anyUsable = false;
    const ipv6 = pkt.ip6 !== undefined;
    for (let i = 0; i < backends.length; i++) {
      const member = backends[i];
      this.costs[i] = NaN;
      if (!member.eligibleFor(ipv6)) continue;
      anyUsable = true;
      const cost = this.cost(member, now, floor);
      if (!Number.isFinite(cost)) return leastWeighted(backends, pkt);
      this.costs[i] = cost;
      if (cost < least) least = cost;
      if (!this.dropping(member.id, now) && cost < leastAvoiding) leastAvoiding = cost;
    }
    if (!anyUsable) return null;
    // Dropping (isDropping): avoid the member while another can take the connection.
    const avoid = leastAvoiding !== Infinity;
    const limit = (avoid ? leastAvoiding : least) * (1 + this.equalBand);
    for (let k = 0; k < backends.length; k++) {
      const i = (this.cursor + k) % backends.length;
      const cost = this.costs[i];
      if (!(cost <= limit) || (avoid && this.dropping(backends[i].id, now))) continue;
      this.cursor = i + 1;
      return backends[i];
    }
    return null;
  }

  /** The member's expected wait at `now`, given the fastest member's T (what an idle member decays to). */
  private cost(member: Backend, now: number, floor: number): number {
    const t = this.timePerConnection(member, now, floor);
    if (t === undefined) return Infinity;
    const e = this.estimates.get(member.id);
    const fresh = e && e.busyIntervals > 0 && now - e.last.at <= this.staleAfterMs;
    const backlogWait = fresh && e.backlog > 0 ? e.backlog / Math.max(e.rate, MIN_RATE) : 0;
    const local = ((member.totalConns + 1) * t + backlogWait) / member.weight;
    const published = this.published.get(member.id);
    return published !== undefined && published > local ? published : local;
  }

  /**
   * T at `now`: the connection-time estimate (an idle member's decayed towards `floor`, the fastest member's),
   * else Little's law over fresh port counters, else `floor` itself: a member that has not ended a connection
   * yet is taken to be as fast as the fastest, so it is tried and measured. Undefined when nothing is known.
   */
  private timePerConnection(member: Backend, now: number, floor: number): number | undefined {
    const t = this.connTimes.get(member.id);
    if (t) {
      if (member.totalConns > 0 || t.ewma <= floor) return t.ewma;
      return floor + (t.ewma - floor) * Math.exp(-Math.max(0, now - t.at) / this.decayMs);
    }
    const e = this.estimates.get(member.id);
    if (e && e.busyIntervals > 0 && now - e.last.at <= this.staleAfterMs) return timePerConn(e);
    return Number.isFinite(floor) ? floor : undefined;
  }

  /** The least connection-time estimate among the members (Infinity when none has one). */
  private fastest(_now: number): number {
    let floor = Infinity;
    for (const id of this.members.keys()) {
      const t = this.connTimes.get(id);
      if (t && t.ewma < floor) floor = t.ewma;
    }
    return floor;
  }

  private dropping(id: string, now: number): boolean {
    const e = this.estimates.get(id);
    return e !== undefined && e.dropping && now - e.last.at <= this.staleAfterMs;
  }

  private lastMeasured(member: Backend): number {
    return Math.max(this.connTimes.get(member.id)?.at ?? 0, this.estimates.get(member.id)?.last.at ?? 0);
  }
}

/** Whether an interval's tx drops mark the member dropping: MIN_DROPS at least, and DROP_SHARE of what the switch had for it. */
function isDropping(delivered: number, dropped: number): boolean {
  return dropped >= MIN_DROPS && dropped / (delivered + dropped) >= DROP_SHARE;
}

/** Little's law: time in system = mean number in system / throughput (at least one connection's worth). */
function timePerConn(e: LoadEstimate): number {
  return Math.max(e.outstanding, 1) / Math.max(e.completions, MIN_RATE);
}
