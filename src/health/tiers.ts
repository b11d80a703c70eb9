import type { HealthEvent } from './events';

/**
 * Tiered failover as a pure function of (state, backend views, policy, now). New connections go to the lowest
 * tier that is available (enough healthy backends) and not overloaded; traffic returns to a lower tier only
 * after it has stayed eligible for `holdMs`, and overload clears only below the low threshold, so it does not flap.
 */
export interface TierBackendView {
  backend: string;
  tier: number;
  /** Health verdict; 'unknown' backends are neither counted healthy nor reported as failures. */
  health: 'unknown' | 'up' | 'down';
  /** Draining backends take no new connections and do not count toward quorum. */
  draining: boolean;
  activeConns: number;
  /** The feedback scheduler's queue measure, when sampled. */
  queueMeasure?: number;
  /** Cumulative dropped packets on the backend's vNIC (OVSDB/OpenFlow statistics). */
  drops?: number;
}

/** Overloaded above `high`; recovered only at or below `low` (low = high: no hysteresis band). */
export interface Hysteresis {
  high: number;
  low: number;
}

export interface TierPolicy {
  /** Healthy backends a tier needs (capped at the tier's size). Default 1. */
  quorum?: number;
  /** Mean active connections per healthy backend of the tier. */
  connsPerBackend?: Hysteresis;
  /** Largest queue measure among the tier's healthy backends. */
  queueMeasure?: Hysteresis;
  /** Growth of the tier's drop counters between two evaluations that marks it overloaded; it recovers when they stop growing. */
  dropsRising?: number;
  /** How long a lower tier must stay eligible before traffic fails back to it. */
  holdMs: number;
  /** Backend id served when no tier is available. */
  sorryBackend?: string;
}

export type Routing =
  | { kind: 'tier'; tier: number; backends: string[] }
  | { kind: 'sorry'; backend: string }
  | { kind: 'refuse' };

interface TierMemory {
  overloaded: boolean;
  overloadReason?: string;
  eligibleSince?: number;
  lastDrops?: number;
}

export interface FailoverState {
  routing: Routing;
  tiers: Record<number, TierMemory>;
  /** False until the first routing decision: entering the first tier at start-up is not a failback. */
  started: boolean;
}

export interface FailoverStep {
  state: FailoverState;
  events: HealthEvent[];
  /** Tiers below the one serving (or all, when none serves) that have too few healthy backends, lowest first: launch candidates. */
  tiersNeeded: number[];
}

export function initialFailoverState(): FailoverState {
  return { routing: { kind: 'refuse' }, tiers: {}, started: false };
}

export function validateTierPolicy(policy: TierPolicy): void {
  if (policy.quorum !== undefined && (!Number.isInteger(policy.quorum) || policy.quorum < 1)) throw new RangeError(`quorum must be an integer >= 1, got ${policy.quorum}`);
  for (const [name, h] of [['connsPerBackend', policy.connsPerBackend], ['queueMeasure', policy.queueMeasure]] as const) {
    if (h && !(h.low >= 0 && h.low <= h.high)) throw new RangeError(`${name}: expected 0 <= low <= high, got low ${h.low}, high ${h.high}`);
  }
  if (!(policy.holdMs >= 0)) throw new RangeError(`holdMs must be >= 0, got ${policy.holdMs}`);
}

interface TierFacts {
  tier: number;
  healthy: TierBackendView[];
  size: number;
  quorum: number;
}

function tierFacts(backends: readonly TierBackendView[], policy: TierPolicy): TierFacts[] {
  const tiers = [...new Set(backends.map((b) => b.tier))].sort((a, b) => a - b);
  return tiers.map((tier) => {
    const members = backends.filter((b) => b.tier === tier);
    return {
      tier,
      healthy: members.filter((b) => b.health === 'up' && !b.draining),
      size: members.length,
      quorum: Math.min(policy.quorum ?? 1, members.length),
    };
  });
}

/** Applies the overload hysteresis to one tier: returns its new memory. */
function updateOverload(facts: TierFacts, before: TierMemory, policy: TierPolicy): TierMemory {
  const drops = facts.healthy.reduce((sum, b) => sum + (b.drops ?? 0), 0);
  const dropsGrowth = before.lastDrops === undefined ? 0 : drops - before.lastDrops;
  const n = facts.healthy.length;
  const conns = n ? facts.healthy.reduce((s, b) => s + b.activeConns, 0) / n : 0;
  const queue = Math.max(0, ...facts.healthy.map((b) => b.queueMeasure ?? 0));
  const over: string[] = [];
  const stillAboveLow: string[] = [];
  if (policy.connsPerBackend) {
    if (conns > policy.connsPerBackend.high) over.push(`${round(conns)} active connections per backend > ${policy.connsPerBackend.high}`);
    if (conns > policy.connsPerBackend.low) stillAboveLow.push('connections');
  }
  if (policy.queueMeasure) {
    if (queue > policy.queueMeasure.high) over.push(`queue measure ${round(queue)} > ${policy.queueMeasure.high}`);
    if (queue > policy.queueMeasure.low) stillAboveLow.push('queue');
  }
  if (policy.dropsRising !== undefined && dropsGrowth > 0) {
    if (dropsGrowth >= policy.dropsRising) over.push(`drops rising by ${dropsGrowth}`);
    stillAboveLow.push('drops');
  }
  const overloaded = before.overloaded ? stillAboveLow.length > 0 : over.length > 0;
  return {
    ...before,
    overloaded,
    overloadReason: overloaded ? (before.overloaded ? before.overloadReason : over.join('; ')) : undefined,
    lastDrops: drops,
  };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

function sameRouting(a: Routing, b: Routing): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'tier' && b.kind === 'tier') return a.tier === b.tier && a.backends.join() === b.backends.join();
  return true;
}

function describeRouting(r: Routing): string {
  return r.kind === 'tier' ? `tier ${r.tier}` : r.kind === 'sorry' ? `sorry backend ${r.backend}` : 'refusing new connections';
}

export function evaluateFailover(state: FailoverState, backends: readonly TierBackendView[], policy: TierPolicy, now: number): FailoverStep {
  const facts = tierFacts(backends, policy);
  const tiers: Record<number, TierMemory> = {};
  const why: string[] = [];
  const tiersNeeded: number[] = [];
  let lowestEligible: TierFacts | undefined;
  let highestAvailable: TierFacts | undefined;
  for (const f of facts) {
    const available = f.healthy.length >= f.quorum && f.healthy.length > 0;
    const memory = updateOverload(f, state.tiers[f.tier] ?? { overloaded: false }, policy);
    const eligible = available && !memory.overloaded;
    tiers[f.tier] = { ...memory, eligibleSince: eligible ? (memory.eligibleSince ?? now) : undefined };
    if (available) highestAvailable = f;
    if (eligible) {
      lowestEligible ??= f;
      continue;
    }
    if (!lowestEligible) {
      why.push(available ? `tier ${f.tier} overloaded: ${memory.overloadReason}` : `tier ${f.tier} unavailable: ${f.healthy.length} of ${f.size} backends healthy, quorum ${f.quorum}`);
      if (!available) tiersNeeded.push(f.tier);
    }
  }

  const current = state.routing;
  let target: TierFacts | undefined = lowestEligible;
  let reason = why.join('; ');
  if (target && current.kind === 'tier' && target.tier < current.tier) {
    const currentFacts = facts.find((f) => f.tier === current.tier);
    const currentStillEligible = currentFacts !== undefined && tiers[current.tier].eligibleSince !== undefined;
    const heldFor = now - (tiers[target.tier].eligibleSince ?? now);
    if (currentStillEligible && heldFor < policy.holdMs) target = currentFacts;
    else reason = `tier ${target.tier} recovered: ${target.healthy.length} healthy, eligible for ${heldFor} ms`;
  }
  if (!target && highestAvailable) {
    // Every available tier is overloaded: the last one absorbs the overflow rather than refusing clients.
    target = highestAvailable;
    reason = `all tiers overloaded; ${reason}`;
  }
  if (target && current.kind !== 'tier' && !reason) reason = `tier ${target.tier} available: ${target.healthy.length} healthy`;

  // At start-up (nothing routed yet) a higher tier must not take the service just because its checks
  // answered first: wait until every backend of the lower tiers has had its first verdict.
  const awaitingLowerTier = target !== undefined && current.kind !== 'tier'
    && backends.some((b) => b.tier < target!.tier && b.health === 'unknown');
  const routing: Routing = awaitingLowerTier
    ? current
    : target
    ? { kind: 'tier', tier: target.tier, backends: target.healthy.map((b) => b.backend) }
    : policy.sorryBackend
      ? { kind: 'sorry', backend: policy.sorryBackend }
      : { kind: 'refuse' };

  const events: HealthEvent[] = [];
  const routingKindChanged = routing.kind !== current.kind || (routing.kind === 'tier' && current.kind === 'tier' && routing.tier !== current.tier);
  const stillStarting = backends.every((b) => b.health === 'unknown');
  const quietStart = !state.started && routing.kind === 'tier';
  if (routingKindChanged && !stillStarting && !quietStart) {
    const data = { from: describeRouting(current), to: describeRouting(routing) };
    if (routing.kind !== 'tier') {
      events.push({ kind: 'nothing_healthy', level: 'error', time: now, reason: `${reason || 'no backend'}; ${describeRouting(routing)}`, data });
    } else if (current.kind === 'tier' && routing.tier > current.tier) {
      events.push({ kind: 'failover', level: 'warn', time: now, tier: routing.tier, reason, data });
    } else {
      events.push({ kind: 'failback', level: 'info', time: now, tier: routing.tier, reason, data });
    }
  }
  const started = state.started || !stillStarting;
  return { state: { routing: sameRouting(routing, current) ? current : routing, tiers, started }, events, tiersNeeded };
}
