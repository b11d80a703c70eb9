import type { Backend } from '../backend';
import { LbInputError } from '../errors';
import { fnv1a32, mix32, MH_SEED_1, MH_SEED_2 } from '../hash';
import type { PacketKey, Scheduler } from '../scheduler';
import { gcd } from './wrr';

/** The kernel's choice of table sizes (primes), 4093 by default. */
export const MAGLEV_DEFAULT_TABLE_SIZE = 4093;
/** IP_VS_MH_TAB_BITS: weights/gcd are shifted down to at most this many bits so tables stay fair. */
const WEIGHT_BITS = 6;

export interface MaglevOptions {
  /** A prime; small ones (e.g. 13) make hand-traced tests possible. */
  tableSize?: number;
  /** IP_VS_SVC_F_SCHED_MH_PORT: hash the client port as well as the address. */
  hashPort?: boolean;
  /** IP_VS_SVC_F_SCHED_MH_FALLBACK: walk the table when the chosen member is unusable. */
  fallback?: boolean;
}

function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

/** Highest set bit, 1-based (the kernel's fls). */
function fls(x: number): number {
  return x === 0 ? 0 : 32 - Math.clz32(x);
}

/**
 * ip_vs_mh: Maglev consistent hashing (NSDI'16 section 3.4). Each member gets a permutation of the
 * table slots from two hashes of its identity (offset, skip); members take turns claiming their next
 * free preferred slot, weight/gcd turns each, until the table is full. Removing a member mostly moves
 * only the keys it held. The kernel keys on the member's address; we key on its stable id (a vNIC
 * can change address) and use mix32 instead of hsiphash (see docs/schedulers.md).
 */
export class MaglevScheduler implements Scheduler {
  readonly name = 'mh' as const;
  readonly tableSize: number;
  private members: readonly Backend[] = [];
  private lookup: (Backend | undefined)[] = [];

  constructor(private readonly opts: MaglevOptions = {}) {
    this.tableSize = opts.tableSize ?? MAGLEV_DEFAULT_TABLE_SIZE;
    if (!isPrime(this.tableSize)) {
      throw new LbInputError('mh.tableSize', `expected a prime, got ${this.tableSize}`);
    }
  }

  /** Which member each slot holds. */
  slotOwners(): readonly (Backend | undefined)[] {
    return this.lookup;
  }

  onChange(backends: readonly Backend[]): void {
    if (backends.length > this.tableSize) {
      throw new LbInputError('mh', `${backends.length} backends do not fit a table of ${this.tableSize}`);
    }
    this.members = backends;
    const size = this.tableSize;
    this.lookup = new Array(size).fill(undefined);
    let g = 0;
    let maxWeight = 0;
    for (const b of backends) {
      if (b.lastWeight > 0) g = g > 0 ? gcd(b.lastWeight, g) : b.lastWeight;
      maxWeight = Math.max(maxWeight, b.lastWeight);
    }
    if (g < 1) return; // no weighted member: an empty table, every pick fails
    const shift = Math.max(0, fls(Math.floor(maxWeight / g)) - WEIGHT_BITS);
    const next = backends.map((b) => mix32(fnv1a32(b.id), MH_SEED_1) % size);
    const skip = backends.map((b) => (mix32(fnv1a32(b.id), MH_SEED_2) % (size - 1)) + 1);
    const turns = backends.map((b) => (Math.floor(b.lastWeight / g) >> shift) || (b.lastWeight !== 0 ? 1 : 0));
    const taken = new Uint8Array(size);
    let filled = 0;
    while (filled < size) {
      for (let m = 0; m < backends.length; m++) {
        for (let turn = 0; turn < turns[m]; turn++) {
          while (taken[next[m]]) next[m] = (next[m] + skip[m]) % size;
          taken[next[m]] = 1;
          this.lookup[next[m]] = backends[m];
          if (++filled === size) return;
        }
      }
    }
  }

  pick(backends: readonly Backend[], pkt: PacketKey, _now: number): Backend | null {
    if (backends !== this.members) this.onChange(backends);
    const port = this.opts.hashPort ? pkt.srcPort : 0;
    const home = this.slotOf(pkt.srcIp, port, 0);
    const first = this.lookup[home];
    if (first === undefined) return null;
    const ipv6 = pkt.ip6 !== undefined;
    if (first.eligibleFor(ipv6)) return first;
    if (!this.opts.fallback) return null;
    for (let offset = 0; offset < this.tableSize; offset++) {
      const member = this.lookup[this.slotOf(pkt.srcIp, port, (offset + home) % this.tableSize)];
      if (member === undefined) return null;
      if (member.eligibleFor(ipv6)) return member;
    }
    return null;
  }

  private slotOf(addr: number, port: number, offset: number): number {
    return mix32((offset + port + addr) >>> 0, MH_SEED_1) % this.tableSize;
  }
}
