import type { Backend } from '../backend';
import type { PacketKey, Scheduler } from '../scheduler';
import { leastWeighted } from './least';

/** Cache ageing, as ip_vs_lblc/ip_vs_lblcr (times in ms). */
export interface LocalityOptions {
  /** Entries idle this long are dropped by the periodic check (sysctl lblc_expiration, 24 h). */
  expirationMs?: number;
  /** When the table holds more than maxEntries, entries idle this long go first (ENTRY_TIMEOUT, 6 min). */
  entryTimeoutMs?: number;
  /** How often the check runs (CHECK_EXPIRE_INTERVAL, 60 s); it runs inside pick, driven by `now`. */
  checkIntervalMs?: number;
  /** Table size above which the short timeout applies (kernel: 16 x 1024 buckets). */
  maxEntries?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

interface Ageing {
  expirationMs: number;
  entryTimeoutMs: number;
  checkIntervalMs: number;
  maxEntries: number;
}

function ageing(opts: LocalityOptions): Ageing {
  return {
    expirationMs: opts.expirationMs ?? DAY_MS,
    entryTimeoutMs: opts.entryTimeoutMs ?? 6 * 60 * 1000,
    checkIntervalMs: opts.checkIntervalMs ?? 60 * 1000,
    maxEntries: opts.maxEntries ?? 16 * 1024,
  };
}

/**
 * The lblc "overloaded" rule (not the OVERLOAD flag): the member has more active connections than
 * its weight while some member is under half loaded (activeconns * 2 < weight).
 */
export function isLocalityOverloaded(member: Backend, backends: readonly Backend[]): boolean {
  if (member.activeConns <= member.weight) return false;
  for (const other of backends) {
    if (other.activeConns * 2 < other.weight) return true;
  }
  return false;
}

interface Aged {
  lastUse: number;
}

/** Drop idle entries the way ip_vs_lblc_check_expire does, at most once per check interval. */
class AgeingTable<E extends Aged> {
  readonly entries = new Map<number, E>();
  private nextCheck = -Infinity;
  constructor(private readonly ageing: Ageing) {}

  sweep(now: number): void {
    if (now < this.nextCheck) return;
    this.nextCheck = now + this.ageing.checkIntervalMs;
    const large = this.entries.size > this.ageing.maxEntries;
    const idleLimit = large ? this.ageing.entryTimeoutMs : this.ageing.expirationMs;
    for (const [key, entry] of this.entries) {
      if (now - entry.lastUse >= idleLimit) this.entries.delete(key);
    }
  }
}

/** A cached member is still valid if it is in the service, up (for the packet's family), weighted and not overloaded. */
function stillGood(member: Backend, backends: readonly Backend[], pkt: PacketKey): boolean {
  return member.servingFor(pkt.ip6 !== undefined) && member.weight > 0 && !member.overloaded && backends.includes(member)
    && !isLocalityOverloaded(member, backends);
}

/**
 * ip_vs_lblc: locality-based least connection keyed on the packet's DESTINATION address. For one VIP
 * all connections share that key, so it sticks to one member until it is overloaded; it is meant for
 * services matching many destinations (a prefix). Missing or invalid cache entry: pick by wlc and cache.
 */
export class LocalityLeastConnectionScheduler implements Scheduler {
  readonly name = 'lblc' as const;
  private readonly table: AgeingTable<{ member: Backend; lastUse: number }>;
  constructor(opts: LocalityOptions = {}) {
    this.table = new AgeingTable(ageing(opts));
  }

  get cachedDestinations(): number {
    return this.table.entries.size;
  }

  pick(backends: readonly Backend[], pkt: PacketKey, now: number): Backend | null {
    this.table.sweep(now);
    const entry = this.table.entries.get(pkt.dstIp);
    if (entry) {
      entry.lastUse = now;
      if (stillGood(entry.member, backends, pkt)) return entry.member;
    }
    const chosen = leastWeighted(backends, pkt);
    if (!chosen) return null;
    if (entry) entry.member = chosen;
    else this.table.entries.set(pkt.dstIp, { member: chosen, lastUse: now });
    return chosen;
  }
}

interface ReplicaSet {
  /** Most recently added first, as the kernel's list_add. */
  members: Backend[];
  lastModified: number;
  lastUse: number;
}

/** ip_vs_dest_set_min: the set member with the least overhead/weight, skipping OVERLOAD and down ones. */
function setLeast(set: ReplicaSet, backends: readonly Backend[], pkt: PacketKey): Backend | null {
  return leastWeighted(set.members.filter((m) => backends.includes(m)), pkt);
}

/** ip_vs_dest_set_max: the most loaded weighted member, the one a shrinking set drops. */
function setMost(set: ReplicaSet): Backend | null {
  let most: Backend | null = null;
  for (const member of set.members) {
    if (member.weight <= 0) continue;
    if (most === null || most.overhead * member.weight < member.overhead * most.weight) most = member;
  }
  return most;
}

/**
 * ip_vs_lblcr: like lblc, but each destination address maps to a SET of members (replication).
 * Use the set's wlc minimum unless it is missing or overloaded; then add the wlc minimum of all
 * members to the set. A set with more than one member unchanged for `expirationMs` drops its most
 * loaded member.
 */
export class LocalityReplicatedScheduler implements Scheduler {
  readonly name = 'lblcr' as const;
  private readonly table: AgeingTable<ReplicaSet>;
  private readonly expirationMs: number;
  constructor(opts: LocalityOptions = {}) {
    const settings = ageing(opts);
    this.table = new AgeingTable(settings);
    this.expirationMs = settings.expirationMs;
  }

  /** The replica set for a destination address (for tests and status output). */
  replicas(dstIp: number): readonly Backend[] {
    return this.table.entries.get(dstIp)?.members ?? [];
  }

  pick(backends: readonly Backend[], pkt: PacketKey, now: number): Backend | null {
    this.table.sweep(now);
    const set = this.table.entries.get(pkt.dstIp);
    if (!set) {
      const chosen = leastWeighted(backends, pkt);
      if (chosen) this.table.entries.set(pkt.dstIp, { members: [chosen], lastModified: now, lastUse: now });
      return chosen;
    }
    set.lastUse = now;
    const least = setLeast(set, backends, pkt);
    if (set.members.length > 1 && now - set.lastModified > this.expirationMs) {
      const most = setMost(set);
      if (most) {
        set.members.splice(set.members.indexOf(most), 1);
        set.lastModified = now;
      }
    }
    if (least && !isLocalityOverloaded(least, backends)) return least;
    const chosen = leastWeighted(backends, pkt);
    if (!chosen) return null;
    if (!set.members.includes(chosen)) {
      set.members.unshift(chosen);
      set.lastModified = now;
    }
    return chosen;
  }
}
