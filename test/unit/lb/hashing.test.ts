import {
  type Backend, DestinationHashScheduler, HASH_TABLE_SIZE, type Scheduler, MaglevScheduler, SourceHashScheduler, hash32, setWeight,
} from '../../../src/lb';
import { fnv1a32, mix32, MH_SEED_1, MH_SEED_2 } from '../../../src/lb/hash';
import { members, packet } from './fixtures';

function ownerCounts(owners: readonly ({ id: string } | undefined)[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of owners) if (o) counts[o.id] = (counts[o.id] ?? 0) + 1;
  return counts;
}

describe('hash_32(x, 8)', () => {
  it('is the top 8 bits of the 32-bit product with 0x61C88647', () => {
    expect(hash32(1, 8)).toBe(0x61); // 0x61C88647
    expect(hash32(2, 8)).toBe(0xc3); // 0xC3910C8E
    expect(hash32(0x0a000001, 8)).toBe(Math.imul(0x0a000001, 0x61c88647) >>> 24);
  });
});

describe('fnv1a32 (the Maglev permutation of a backend id)', () => {
  it('gives the published FNV-1a 32-bit test values', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });
});

describe('dh', () => {
  it('fills the 256 buckets round-robin, one per member, whatever the weights', () => {
    const dh = new DestinationHashScheduler();
    dh.onChange(members([5, 1, 1]));
    expect(ownerCounts(dh.bucketOwners())).toEqual({ A: 86, B: 85, C: 85 });
  });

  it('maps a destination to bucket hash_32(daddr, 8): stable per key', () => {
    const list = members([1, 1, 1]);
    const dh = new DestinationHashScheduler();
    // daddr 1 -> bucket 0x61 = 97; 97 mod 3 = 1 -> B
    expect(dh.pick(list, packet(7, 7, 1), 0)!.id).toBe('B');
    for (let src = 0; src < 20; src++) expect(dh.pick(list, packet(src, 1000 + src, 1), 0)!.id).toBe('B');
    // daddr 2 -> bucket 0xc3 = 195; 195 mod 3 = 0 -> A
    expect(dh.pick(list, packet(7, 7, 2), 0)!.id).toBe('A');
  });

  it('gives no destination when the hashed member is unusable', () => {
    const list = members([1, 1, 1]);
    list[1].available = false;
    expect(new DestinationHashScheduler().pick(list, packet(7, 7, 1), 0)).toBeNull();
  });
});

describe('sh', () => {
  it('fills consecutive buckets by weight: 1,2,1 -> 64,128,64 of 256', () => {
    const sh = new SourceHashScheduler();
    sh.onChange(members([1, 2, 1]));
    expect(ownerCounts(sh.bucketOwners())).toEqual({ A: 64, B: 128, C: 64 });
    expect(HASH_TABLE_SIZE).toBe(256);
  });

  it('keeps a client on one member; bucket = hash_32(saddr + 0, 8)', () => {
    const list = members([1, 1]);
    const sh = new SourceHashScheduler();
    // saddr 1 -> bucket 97 (odd) -> B in the A,B,A,B... table
    for (let port = 1000; port < 1010; port++) expect(sh.pick(list, packet(1, port), 0)!.id).toBe('B');
    const spread = new Set<string>();
    for (let src = 0; src < 64; src++) spread.add(sh.pick(list, packet(0xc0a80000 + src, 1), 0)!.id);
    expect([...spread].sort()).toEqual(['A', 'B']);
  });

  it('with the port flag spreads one client over members by its source port', () => {
    const list = members([1, 1]);
    const sh = new SourceHashScheduler({ hashPort: true });
    const seen = new Set<string>();
    for (let port = 1000; port < 1016; port++) seen.add(sh.pick(list, packet(1, port), 0)!.id);
    expect([...seen].sort()).toEqual(['A', 'B']);
    expect(sh.pick(list, packet(1, 1234), 0)).toBe(sh.pick(list, packet(1, 1234), 0));
  });

  it('without fallback refuses when the hashed member is quiesced; with fallback probes onwards', () => {
    const list = members([1, 1]);
    setWeight(list[1], 0); // B keeps its buckets (last weight) but takes no new connections
    expect(new SourceHashScheduler().pick(list, packet(1, 1), 0)).toBeNull();
    // fallback: offset 0 -> bucket (97 + 97) mod 256 = 194 (even) -> A
    expect(new SourceHashScheduler({ fallback: true }).pick(list, packet(1, 1), 0)!.id).toBe('A');
  });
});

describe('mh (Maglev)', () => {
  const clients = Array.from({ length: 5000 }, (_, i) => 0xc0a80000 + i * 7919);

  it('rejects a table size that is not prime', () => {
    expect(() => new MaglevScheduler({ tableSize: 12 })).toThrow(/prime/);
  });

  it('gives equal weights equal slots and weights by repeated turns', () => {
    const equal = new MaglevScheduler({ tableSize: 13 });
    equal.onChange(members([1, 1, 1]));
    const counts = ownerCounts(equal.slotOwners());
    expect(Object.values(counts).sort()).toEqual([4, 4, 5]); // 13 slots, one claim per member per round
    const weighted = new MaglevScheduler();
    weighted.onChange(members([1, 3]));
    // each round A claims 1 slot, B 3: 4093 = 1023 rounds * 4 + 1 -> A 1024, B 3069
    expect(ownerCounts(weighted.slotOwners())).toEqual({ A: 1024, B: 3069 });
  });

  it('is stable per client and moves only a small share of other keys when a member is removed', () => {
    const list = members([1, 1, 1, 1, 1]);
    const mh = new MaglevScheduler();
    const before = clients.map((ip) => mh.pick(list, packet(ip, 1), 0)!.id);
    expect(clients.map((ip) => mh.pick(list, packet(ip, 2), 0)!.id)).toEqual(before);
    const withoutC = list.filter((b) => b.id !== 'C');
    const after = clients.map((ip) => mh.pick(withoutC, packet(ip, 1), 0)!.id);
    let otherMoved = 0;
    let others = 0;
    before.forEach((id, i) => {
      if (id === 'C') expect(after[i]).not.toBe('C');
      else {
        others++;
        if (after[i] !== id) otherMoved++;
      }
    });
    // Maglev's disruption is near-minimal, not zero: a few slots of survivors are reshuffled.
    expect(otherMoved / others).toBeLessThan(0.05);
  });

  it('keeps a quiesced member in the table (no reshuffle); fallback finds another member', () => {
    const list = members([1, 1]);
    const plain = new MaglevScheduler({ tableSize: 13 });
    const owner = plain.pick(list, packet(42, 1), 0)!;
    setWeight(owner, 0);
    expect(plain.pick(list, packet(42, 1), 0)).toBeNull();
    const other = list.find((b) => b !== owner)!;
    expect(new MaglevScheduler({ tableSize: 13, fallback: true }).pick(list, packet(42, 1), 0)).toBe(other);
  });
});

// The edges of the hashing tables (issue 18: the mutants of maglev.ts and hashing.ts that survived).
describe('mh and sh/dh at their edges', () => {
  const ids = (owners: readonly ({ id: string } | undefined)[]) => owners.map((o) => o?.id ?? '-').join('');

  it('mh takes a prime table size only, naming a refused one, and no more backends than slots', () => {
    const refusal = (tableSize: number) => { try { return new MaglevScheduler({ tableSize }).tableSize; } catch (e) { return (e as Error).message; } };
    expect([refusal(2), refusal(13)]).toEqual([2, 13]);
    for (const bad of [1, 4, 9, 25, 13.5]) expect(refusal(bad)).toBe(`mh.tableSize: expected a prime, got ${bad}`);
    const mh = new MaglevScheduler({ tableSize: 2 });
    expect(() => mh.onChange(members([1, 1, 1]))).toThrow('mh: 3 backends do not fit a table of 2');
    mh.onChange(members([1, 1]));
    expect(ids(mh.slotOwners()).split('').sort().join('')).toBe('AB');
    expect(new MaglevScheduler().slotOwners()).toEqual([]);
  });

  it('mh: turns are the weights over their gcd, shifted down to 6 bits, at least one for a weighted member', () => {
    const table = (weights: number[]) => { const mh = new MaglevScheduler({ tableSize: 251 }); mh.onChange(members(weights)); return ids(mh.slotOwners()); };
    expect(table([2, 4])).toBe(table([1, 2])); // the gcd divides out
    expect(table([2, 4])).not.toBe(table([1, 1]));
    expect(table([2, 512])).toBe(table([1, 32])); // 256 turns shifted by fls(256) - 6 = 3: 32, and 1 >> 3 kept as 1
    expect(table([3, 192])).toBe(table([1, 64])); // 64 turns: fls(64) = 7, shifted by 1 to 32, and 1 >> 1 kept as 1
    expect(table([0, 1])).toBe('B'.repeat(251)); // a member created with weight 0 (last weight 0) takes no turn
  });

  it('mh without a weighted member has an empty table of the full size and picks nothing, with or without fallback', () => {
    for (const fallback of [false, true]) {
      const mh = new MaglevScheduler({ tableSize: 13, fallback });
      const list = members([0, 0]);
      expect(mh.pick(list, packet(1), 0)).toBeNull();
      expect(mh.slotOwners()).toHaveLength(13);
      expect(mh.slotOwners().every((o) => o === undefined)).toBe(true);
    }
  });

  it('mh and sh with fallback and every member quiesced probe the whole table and give null', () => {
    const list = members([1, 1]);
    const mh = new MaglevScheduler({ tableSize: 13, fallback: true });
    const sh = new SourceHashScheduler({ fallback: true });
    mh.onChange(list);
    sh.onChange(list);
    for (const m of list) setWeight(m, 0);
    expect([mh.pick(list, packet(7), 0), sh.pick(list, packet(7), 0)]).toEqual([null, null]);
  });

  it('sh with fallback never gives the quiesced member: every client lands on the other', () => {
    const list = members([1, 1]);
    const sh = new SourceHashScheduler({ fallback: true });
    sh.onChange(list);
    setWeight(list[0], 0);
    const picked = new Set(Array.from({ length: 64 }, (_, i) => sh.pick(list, packet(0xc0a80000 + i), 0)?.id ?? '-'));
    expect([...picked]).toEqual(['B']);
  });

  it('with the port flag, sh and mh hash the address plus the port (the kernel adds them)', () => {
    const list = members([1, 1, 1, 1, 1]);
    const sh = new SourceHashScheduler({ hashPort: true });
    const mh = new MaglevScheduler({ tableSize: 251, hashPort: true });
    const pairs = Array.from({ length: 40 }, (_, i) => [packet(0xc0a80000 + 1000 + i, 5000 - i), packet(0xc0a80000 + 1000 + 2 * i, 5000 - 2 * i)]);
    for (const [p, q] of pairs) {
      expect([sh.pick(list, p, 0)?.id, mh.pick(list, p, 0)?.id]).toEqual([sh.pick(list, q, 0)?.id, mh.pick(list, q, 0)?.id]);
    }
    // ... and different sums do spread (the flag is not ignored).
    expect(new Set(pairs.map(([p], i) => sh.pick(list, { ...p, srcPort: p.srcPort + i * 7 }, 0)?.id)).size).toBeGreaterThan(1);
  });

  it('dh and sh with no members have 256 empty buckets and pick nothing', () => {
    const dh = new DestinationHashScheduler();
    const sh = new SourceHashScheduler({ fallback: true });
    expect([dh.bucketOwners().length, sh.bucketOwners().length]).toEqual([HASH_TABLE_SIZE, HASH_TABLE_SIZE]);
    expect([dh.pick([], packet(), 0), sh.pick([], packet(), 0)]).toEqual([null, null]);
    expect([dh.bucketOwners().length, sh.bucketOwners().length]).toEqual([HASH_TABLE_SIZE, HASH_TABLE_SIZE]);
  });

  // The permutation itself (NSDI'16 section 3.4): member i's j-th preferred slot is (offset_i + j * skip_i) mod M,
  // offset = h1(id) mod M, skip = h2(id) mod (M - 1) + 1; members take turns (weight/gcd each) claiming their
  // next preferred slot not yet taken. Written here as the paper writes it (j * skip), not as the code walks it.
  it('mh fills the table as the Maglev paper populates it', () => {
    for (const [size, weights] of [[13, [2, 1, 1]], [251, [3, 1, 2, 5]], [7, [1, 1, 1, 1, 1, 1, 1]]] as const) {
      const list = members([...weights]);
      const offset = list.map((b) => mix32(fnv1a32(b.id), MH_SEED_1) % size);
      const skip = list.map((b) => (mix32(fnv1a32(b.id), MH_SEED_2) % (size - 1)) + 1);
      const j = list.map(() => 0);
      const want: string[] = new Array<string>(size).fill('-');
      let filled = 0;
      fill: for (;;) {
        for (let i = 0; i < list.length; i++) {
          for (let turn = 0; turn < weights[i]; turn++) {
            let slot: number;
            do slot = (offset[i] + j[i]++ * skip[i]) % size; while (want[slot] !== '-');
            want[slot] = list[i].id;
            if (++filled === size) break fill;
          }
        }
      }
      const mh = new MaglevScheduler({ tableSize: size });
      mh.onChange(list);
      expect(ids(mh.slotOwners())).toBe(want.join(''));
    }
  });

  /**
   * Quiesces each of 40 clients' own member (of three) and checks the scheduler's fallback against the kernel's probe
   * order: for offset 0, 1, ..., size - 1 the slot `slotOf(addr, roffset)`, roffset = (offset + home) mod size, home the
   * client's own slot; the first eligible member found.
   */
  function expectKernelFallbackOrder<S extends Scheduler>(
    make: () => S, owners: (scheduler: S) => readonly (Backend | undefined)[], size: number, slotOf: (addr: number, roffset: number) => number,
  ): void {
    const found = new Set<string>();
    for (let c = 0; c < 40; c++) {
      const list = members([1, 1, 1]);
      const scheduler = make();
      const addr = (0xc0a80000 + c * 7919) >>> 0;
      const own = scheduler.pick(list, packet(addr, 1), 0)!;
      setWeight(own, 0);
      const table = owners(scheduler);
      const home = slotOf(addr, 0);
      let want: unknown = null;
      for (let offset = 0; offset < size; offset++) {
        const member = table[slotOf(addr, (offset + home) % size)]!;
        if (member.eligibleFor(false)) { want = member; break; }
      }
      const got = scheduler.pick(list, packet(addr, 1), 0);
      expect(got).toBe(want);
      found.add(`${own.id}>${got!.id}`);
    }
    // Both other members are reached from some quiesced owner: the walk's order decides, not one fixed choice.
    expect(found.size).toBeGreaterThan(3);
  }

  // The kernel's ip_vs_mh_get_fallback: the slot of hash(address + port + roffset).
  it('mh fallback probes the slots ip_vs_mh_get_fallback probes, in its order', () => {
    const size = 13;
    expectKernelFallbackOrder(() => new MaglevScheduler({ tableSize: size, fallback: true }), (mh) => mh.slotOwners(),
      size, (addr, roffset) => mix32((roffset + addr) >>> 0, MH_SEED_1) % size);
  });

  // The kernel's ip_vs_sh_get_fallback: the bucket ip_vs_sh_hashkey(addr, port, roffset) = (roffset + hash_32(addr + port, 8)) mod 256.
  it('sh fallback probes the buckets ip_vs_sh_get_fallback probes, in its order', () => {
    expectKernelFallbackOrder(() => new SourceHashScheduler({ fallback: true }), (sh) => sh.bucketOwners(),
      HASH_TABLE_SIZE, (addr, roffset) => (roffset + hash32(addr, 8)) % HASH_TABLE_SIZE);
  });
});
