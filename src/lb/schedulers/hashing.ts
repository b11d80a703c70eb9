import type { Backend } from '../backend';
import { hash32 } from '../hash';
import type { PacketKey, Scheduler } from '../scheduler';

export const HASH_TABLE_BITS = 8;
export const HASH_TABLE_SIZE = 1 << HASH_TABLE_BITS;

/** Not usable for the hashing schedulers: no member, down (or not serving the packet's family), quiesced or OVERLOAD. */
function unusable(member: Backend | undefined, pkt: PacketKey): boolean {
  return member === undefined || !member.eligibleFor(pkt.ip6 !== undefined);
}

/** Builds the 256-bucket table when the members, or their weights, change. */
abstract class BucketScheduler {
  protected members: readonly Backend[] = [];
  protected buckets: (Backend | undefined)[] = new Array(HASH_TABLE_SIZE).fill(undefined);

  /** Which member each bucket holds (for tests counting spread, and status output). */
  bucketOwners(): readonly (Backend | undefined)[] {
    return this.buckets;
  }

  onChange(backends: readonly Backend[]): void {
    this.members = backends;
    this.buckets = new Array(HASH_TABLE_SIZE).fill(undefined);
    if (backends.length === 0) return;
    let member = 0;
    let turns = 0;
    for (let i = 0; i < HASH_TABLE_SIZE; i++) {
      this.buckets[i] = backends[member];
      if (++turns >= this.turnsFor(backends[member])) {
        member = (member + 1) % backends.length;
        turns = 0;
      }
    }
  }

  protected sync(backends: readonly Backend[]): void {
    if (backends !== this.members) this.onChange(backends);
  }

  protected abstract turnsFor(member: Backend): number;
}

/**
 * ip_vs_dh: bucket = hash_32(destination address, 8); the kernel fills the buckets round-robin, one
 * per member, whatever the weights. The chosen member down/quiesced/overloaded: no destination.
 * Meaningful for services matching many destination addresses (one VIP hashes to one bucket).
 */
export class DestinationHashScheduler extends BucketScheduler implements Scheduler {
  readonly name = 'dh' as const;

  protected turnsFor(): number {
    return 1;
  }

  pick(backends: readonly Backend[], pkt: PacketKey, _now: number): Backend | null {
    this.sync(backends);
    const member = this.buckets[hash32(pkt.dstIp, HASH_TABLE_BITS)];
    return unusable(member, pkt) ? null : member!;
  }
}

export interface SourceHashOptions {
  /** IP_VS_SVC_F_SCHED_SH_PORT: hash the client port too (spreads one client's connections). */
  hashPort?: boolean;
  /** IP_VS_SVC_F_SCHED_SH_FALLBACK: probe further buckets when the chosen member is unusable. */
  fallback?: boolean;
}

/**
 * ip_vs_sh: each member fills as many consecutive buckets as its (last non-zero) weight, cycling
 * until all 256 are filled; bucket = (offset + hash_32(source address + port, 8)) mod 256.
 */
export class SourceHashScheduler extends BucketScheduler implements Scheduler {
  readonly name = 'sh' as const;
  constructor(private readonly opts: SourceHashOptions = {}) {
    super();
  }

  protected turnsFor(member: Backend): number {
    return member.lastWeight;
  }

  pick(backends: readonly Backend[], pkt: PacketKey, _now: number): Backend | null {
    this.sync(backends);
    const port = this.opts.hashPort ? pkt.srcPort : 0;
    const home = bucketOf(pkt.srcIp, port, 0);
    const first = this.buckets[home];
    if (first === undefined) return null;
    if (!unusable(first, pkt)) return first;
    if (!this.opts.fallback) return null;
    // As ip_vs_sh_get_fallback: re-hash with growing offsets until a usable member turns up.
    for (let offset = 0; offset < HASH_TABLE_SIZE; offset++) {
      const member = this.buckets[bucketOf(pkt.srcIp, port, (offset + home) % HASH_TABLE_SIZE)];
      if (!unusable(member, pkt)) return member!;
    }
    return null;
  }
}

function bucketOf(addr: number, port: number, offset: number): number {
  return (offset + hash32((addr + port) >>> 0, HASH_TABLE_BITS)) % HASH_TABLE_SIZE;
}
