import { Backend, ConnKey, ConnectionTable, LbService, connKeyFromText, connKeyOf, hashConnKey } from '../../../src/lb';
import { packet } from './fixtures';

const vm = (id: string, ports = [8080, 8081]) => new Backend({ id, ip: '10.0.0.11', ports });
const key = (clientPort: number, proto = 6): ConnKey =>
  ({ proto, clientIp: 0xc0a80001, clientPort, vip: 0x0a000064, vipPort: 80 });

describe('connection table', () => {
  it('inserts, looks up and removes in step with the backend counters', () => {
    const b = vm('vm1');
    const table = new ConnectionTable();
    expect(table.insert(key(1), b, 0, 'inactive', 100)).toBe(true);
    expect(table.insert(key(2), b, 1, 'active', 101)).toBe(true);
    expect(table.insert(key(1), b, 1, 'active', 102)).toBe(false); // already tracked
    expect([b.activeConns, b.inactiveConns, ...b.portConns]).toEqual([1, 1, 1, 1]);
    expect(table.lookup(key(1))).toEqual({
      backend: b, portIndex: 0, softwarePort: 8080, state: 'inactive', created: 100, lastSeen: 100, ended: false, closing: false, judged: false, established: false, timed: true,
    });
    expect(table.lookup(key(1, 17))).toBeNull(); // UDP with the same numbers is another connection
    table.setState(key(1), 'active'); // SYN handshake completed
    expect([b.activeConns, b.inactiveConns]).toEqual([2, 0]);
    table.touch(key(1), 150);
    expect(table.lookup(key(1))!.lastSeen).toBe(150);
    expect(table.remove(key(2))!.softwarePort).toBe(8081);
    expect(table.remove(key(2))).toBeNull();
    expect([b.activeConns, b.inactiveConns, ...b.portConns, table.size]).toEqual([1, 0, 1, 0, 1]);
  });

  it('endedOf: the ended connections of the named backends only, at most max of them', () => {
    const [a, b] = [vm('vm1'), vm('vm2')];
    const table = new ConnectionTable();
    for (const p of [1, 2, 3]) table.insert(key(p), a, 0, 'active', 100);
    table.insert(key(4), b, 0, 'active', 100);
    table.markEnd(key(1), 'client', true, 110);
    table.markEnd(key(2), 'client', false, 110); // closing, not ended
    table.markEnd(key(3), 'client', true, 110);
    table.markEnd(key(4), 'client', true, 110);
    expect(table.endedOf(new Set(['vm1']), 10).map((r) => [r.clientPort, r.backendId]).sort()).toEqual([[1, 'vm1'], [3, 'vm1']]);
    expect(table.endedOf(new Set(['vm1', 'vm2']), 10)).toHaveLength(3);
    expect(table.endedOf(new Set(['vm1', 'vm2']), 2)).toHaveLength(2);
    expect(table.endedOf(new Set(['vm3']), 10)).toEqual([]);
  });

  it('keeps each connection on its own backend with more backends than intern() compares before its Map (12)', () => {
    const backends = Array.from({ length: 12 }, (_, i) => vm(`vm${i}`));
    const table = new ConnectionTable();
    // Interned in one order, used again in another: every entry and counter must name the backend it was given.
    for (let round = 0; round < 2; round++) {
      backends.forEach((b, i) => table.insert(key(100 * round + (round === 0 ? i : 11 - i)), round === 0 ? b : backends[11 - i], 0, 'active', 100));
    }
    for (let i = 0; i < 12; i++) {
      expect(table.lookup(key(i))!.backend).toBe(backends[i]);
      expect(table.lookup(key(100 + 11 - i))!.backend).toBe(backends[11 - i]);
    }
    expect(backends.map((b) => b.activeConns)).toEqual(Array(12).fill(2));
    expect(table.export().map((r) => r.backendId)).toEqual([...backends.map((b) => b.id), ...backends.map((b) => b.id).reverse()]);
  });

  it('FIN/RST: the first FIN makes a connection closing (inactive), the other side or a RST ends it once, remove after uncounts nothing', () => {
    const b = vm('vm1');
    const table = new ConnectionTable();
    table.insert(key(1), b, 0, 'active', 100);
    table.insert(key(2), b, 1, 'active', 100);
    expect(table.markEnd(key(1), 'backend', false, 150)?.outcome).toBe('closing');
    expect([b.activeConns, b.inactiveConns, b.completedConns]).toEqual([1, 1, 0]);
    expect(table.markEnd(key(1), 'backend', false, 151)?.outcome).toBe('unchanged'); // retransmitted
    expect(table.setState(key(1), 'active')).toBe(false); // a late reading does not reopen it
    expect(table.markEnd(key(1), 'client', false, 152)).toMatchObject({ outcome: 'ended', entry: { created: 100, ended: true } });
    expect([b.activeConns, b.inactiveConns, b.completedConns, ...b.portConns]).toEqual([1, 0, 1, 0, 1]);
    expect(table.markEnd(key(2), 'client', true, 160)?.outcome).toBe('ended'); // RST
    expect(table.markEnd(key(2), 'backend', false, 161)?.outcome).toBe('unchanged');
    expect(table.markEnd(key(3), 'client', true, 160)).toBeNull();
    expect(table.remove(key(1))?.ended).toBe(true);
    expect(table.remove(key(2))?.ended).toBe(true);
    expect([b.activeConns, b.inactiveConns, b.completedConns, ...b.portConns, table.size]).toEqual([0, 0, 2, 0, 0, 0]);
  });

  it('tells apart two connections whose 32-bit hashes collide (a hash match is not a key match)', () => {
    const [a, b] = collidingKeys();
    expect(hashConnKey(a)).toBe(hashConnKey(b));
    const vm1 = vm('vm1');
    const vm2 = vm('vm2');
    const table = new ConnectionTable();
    expect(table.insert(a, vm1, 0, 'active', 1)).toBe(true);
    expect(table.lookup(b)).toBeNull(); // b is a new connection, not a's
    expect(table.has(b)).toBe(false);
    expect(table.touch(b, 5)).toBe(false);
    expect(table.setState(b, 'inactive')).toBe(false);
    expect(table.remove(b)).toBeNull();
    expect(table.insert(b, vm2, 1, 'inactive', 2)).toBe(true);
    expect(table.lookup(a)).toMatchObject({ backend: vm1, softwarePort: 8080, created: 1 });
    expect(table.lookup(b)).toMatchObject({ backend: vm2, softwarePort: 8081, created: 2 });
    expect(table.remove(a)!.backend).toBe(vm1);
    expect(table.lookup(b)!.backend).toBe(vm2); // b's probe run survives a's removal
    expect(table.lookup(a)).toBeNull();
    expect([vm1.activeConns, vm2.inactiveConns, table.size]).toEqual([0, 1, 1]);
  });

  it('tells apart colliding connections that share their ports and differ only in client address and VIP', () => {
    // Each field of the key is compared, not only the ports. The pair was found by a birthday search over random
    // addresses (~195k keys); the hash is a bijection of each field alone, so a colliding pair differs in two.
    const a: ConnKey = { proto: 6, clientIp: 2489402054, clientPort: 40000, vip: 3135632007, vipPort: 80 };
    const b: ConnKey = { proto: 6, clientIp: 2530743554, clientPort: 40000, vip: 3522412051, vipPort: 80 };
    expect(hashConnKey(a)).toBe(hashConnKey(b));
    const vm1 = vm('vm1');
    const table = new ConnectionTable();
    table.insert(a, vm1, 0, 'active', 1);
    expect(table.lookup(b)).toBeNull();
    expect(table.insert(b, vm1, 1, 'active', 2)).toBe(true);
    expect(table.remove(a)).toMatchObject({ portIndex: 0, created: 1 });
    expect(table.lookup(b)).toMatchObject({ portIndex: 1, created: 2 });
  });

  // IPv6 pairs found by birthday searches (~75k and ~150k keys, the hash with the VIP's words mixed first); each pair's
  // hashes are asserted equal.
  it('tells apart colliding IPv6 connections with the same ports that differ in their addresses', () => {
    const a = connKeyFromText(6, '2001:db8::a5ab:1687', 40000, '2001:db8:1::2809:327a', 443);
    const b = connKeyFromText(6, '2001:db8::d854:925f', 40000, '2001:db8:1::9f5:bd50', 443);
    expect(hashConnKey(a)).toBe(hashConnKey(b));
    expectTwoConnections(a, b);
  });

  it('tells apart colliding IPv6 connections between the same addresses that differ in protocol and ports', () => {
    const a = connKeyFromText(6, '2001:db8::5', 48314, '2001:db8:1::1', 19284);
    const b = connKeyFromText(17, '2001:db8::5', 38790, '2001:db8:1::1', 62833);
    expect(hashConnKey(a)).toBe(hashConnKey(b));
    expectTwoConnections(a, b);
  });

  it('tracks an IPv6 connection once (a second insert of the same key is refused)', () => {
    const table = new ConnectionTable();
    const b = vm('vm1');
    const k = () => connKeyFromText(6, '2001:db8::5', 40000, '2001:db8:1::1', 443); // a fresh key object each time
    expect(table.insert(k(), b, 0, 'active', 1)).toBe(true);
    expect(table.insert(k(), b, 1, 'active', 2)).toBe(false);
    expect([table.size, b.activeConns, ...b.portConns]).toEqual([1, 1, 1, 0]);
  });

  it("looks up and inserts by the hash its caller took once (a new connection's packet-in), both families, hashes past 2^31 too", () => {
    const keys: ConnKey[] = [];
    for (let i = 0; i < 200; i++) {
      keys.push(i % 2 === 0 ? key(20000 + i) : connKeyFromText(6, `2001:db8::${i.toString(16)}`, 20000 + i, '2001:db8:1::1', 443));
    }
    // Hashes with the top bit set too: the index stores them as int32 whatever form the caller passes.
    expect(keys.filter((k) => hashConnKey(k) >= 2 ** 31).length).toBeGreaterThan(50);
    const table = new ConnectionTable(16);
    const b = vm('vm1');
    for (const k of keys) {
      const hash = hashConnKey(k);
      expect(table.lookup(k, hash)).toBeNull();
      expect(table.insert(k, b, 0, 'active', 1, hash)).toBe(true);
    }
    for (const k of keys) {
      expect(table.lookup(k)).toMatchObject({ backend: b });
      expect(table.lookup(k, hashConnKey(k))).toMatchObject({ backend: b });
      expect(table.insert(k, b, 0, 'active', 2, hashConnKey(k))).toBe(false);
      expect(table.remove(k)).not.toBeNull();
    }
    expect(table.size).toBe(0);
    // The hash given is the one probed: a tracked key looked up by another bucket's hash is not found.
    const [one] = keys;
    table.insert(one, b, 0, 'active', 3);
    expect(table.lookup(one, hashConnKey(one) ^ 1)).toBeNull();
    expect(table.lookup(one)).not.toBeNull();
  });

  it('an accounting reading sights listed connections (seen, established made active) and names the unlisted old ones', () => {
    const b = vm('vm1');
    const table = new ConnectionTable();
    table.insert(key(1), b, 0, 'inactive', 100);
    table.insert(key(2), b, 0, 'inactive', 100);
    table.insert(key(3), b, 0, 'active', 100);
    table.insert(key(4), b, 1, 'inactive', 190); // younger than the reading's cut
    table.markEnd(key(3), 'client', false, 120); // closing: a reading does not make it active again
    expect(table.sighted(key(1), 7, 200, true)).toBe(true);
    expect(table.sighted(key(3), 7, 200, true)).toBe(true);
    expect(table.sighted(key(9), 7, 200, true)).toBe(false); // not tracked
    expect(table.lookup(key(1))).toMatchObject({ state: 'active', lastSeen: 200 });
    expect(table.lookup(key(3))).toMatchObject({ state: 'inactive', lastSeen: 200 });
    expect(table.lookup(key(2))).toMatchObject({ state: 'inactive', lastSeen: 100 });
    expect([b.activeConns, b.inactiveConns]).toEqual([1, 3]);
    // Not listed in reading 7 and created by 150: key 2 only (key 4 is younger).
    expect(table.unsighted(7, 150)).toEqual([key(2)]);
    expect(table.unsighted(7, 190).map((k) => k.clientPort)).toEqual([2, 4]);
    // The next reading has listed nothing yet; a slot freed and reused is not taken as listed.
    table.remove(key(1));
    table.insert(key(5), b, 0, 'inactive', 100);
    expect(table.unsighted(7, 150).map((k) => k.clientPort)).toEqual([2, 5]);
    expect(table.unsighted(8, 150).map((k) => k.clientPort)).toEqual([2, 3, 5]);
  });

  it('rejects a port index the backend does not have', () => {
    expect(() => new ConnectionTable().insert(key(1), vm('vm1'), 5, 'active', 0)).toThrow(/no port index 5/);
  });

  it('grows past its initial capacity and reuses freed slots', () => {
    const b = vm('vm1');
    const table = new ConnectionTable(16);
    for (let p = 1; p <= 5000; p++) table.insert(key(p), b, p % 2, p % 3 ? 'active' : 'inactive', p);
    expect(table.size).toBe(5000);
    expect(table.lookup(key(4999))).toMatchObject({ portIndex: 1, created: 4999 });
    for (let p = 1; p <= 5000; p += 2) table.remove(key(p));
    for (let p = 10001; p <= 12500; p++) table.insert(key(p), b, 0, 'active', p);
    expect(table.lookup(key(12500))).toMatchObject({ created: 12500 });
    expect(table.lookup(key(4998))).toMatchObject({ created: 4998, portIndex: 0 });
    expect(table.size).toBe(5000);
    expect(b.activeConns + b.inactiveConns).toBe(5000);
  });

  it('exports and imports (a restart rebuilding from switch flows) with the same counters', () => {
    const service = new LbService([
      { id: 'vm1', ip: '10.0.0.11', ports: [8080, 8081] }, { id: 'vm2', ip: '10.0.0.12', ports: [9000] },
    ], { scheduler: 'rr' });
    for (let p = 1; p <= 5; p++) service.open(packet(1, p), p === 5 ? 'inactive' : 'active', p);
    service.connections.touch(connKeyOf(packet(1, 1)), 77);
    const records = service.connections.export();

    const restarted = new LbService([
      { id: 'vm1', ip: '10.0.0.11', ports: [8080, 8081] }, { id: 'vm2', ip: '10.0.0.12', ports: [9000] },
    ], { scheduler: 'rr' });
    const stranger = { ...records[0], clientPort: 999, backendId: 'vm9' };
    const badPort = { ...records[0], clientPort: 998, softwarePort: 1 };
    const result = restarted.connections.import([...records, records[0], stranger, badPort], (id) => restarted.backendById(id));
    expect(result.imported).toBe(5);
    expect(result.skipped.map((s) => s.reason)).toEqual(['already tracked', 'unknown backend vm9', 'backend vm1 has no port 1']);
    for (const id of ['vm1', 'vm2']) {
      const before = service.backendById(id)!;
      const after = restarted.backendById(id)!;
      expect([after.activeConns, after.inactiveConns, ...after.portConns])
        .toEqual([before.activeConns, before.inactiveConns, ...before.portConns]);
    }
    expect(restarted.connections.lookup(connKeyOf(packet(1, 1)))).toMatchObject({ created: 1, lastSeen: 77 });
    expect(restarted.connections.export()).toEqual(records);
  });
});

describe('service membership changes keep established connections', () => {
  it('a removed backend keeps its tracked connections until they end', () => {
    const service = new LbService([
      { id: 'A', ip: '10.0.0.11', ports: [8080] }, { id: 'B', ip: '10.0.0.12', ports: [8080] },
    ], { scheduler: 'rr' });
    service.open(packet(1, 1), 'active', 0); // A
    service.removeBackend('A');
    expect(service.connections.lookup(connKeyOf(packet(1, 1)))!.backend.id).toBe('A');
    expect(service.open(packet(1, 1), 'active', 1)!.backend.id).toBe('A'); // same connection, same place
    expect(service.open(packet(1, 2), 'active', 1)!.backend.id).toBe('B');
    const added = service.addBackend({ id: 'C', ip: '10.0.0.13', ports: [8080] });
    expect(service.open(packet(1, 3), 'active', 1)!.backend).toBe(added);
    expect(service.close(connKeyOf(packet(1, 1)), 2)).toBe(true);
  });
});

describe('connection table index under churn (open addressing, backward-shift deletion)', () => {
  it('agrees with a Map over random inserts and removes, through growth, with export in insertion order', () => {
    const b = vm('vm1');
    const table = new ConnectionTable(16);
    const reference = new Map<string, ConnKey>();
    const text = (k: ConnKey) => `${k.proto}/${k.clientIp}/${k.clientPort}/${k.vip}/${k.vipPort}`;
    let s = 99;
    // The LCG's high bits (its low bits cycle with short periods).
    const next = () => (s = (s * 1103515245 + 12345) >>> 0) >>> 12;
    // A small key space, so removes hit live keys and probe runs collide and wrap.
    const randomKey = (): ConnKey => ({
      proto: next() % 2 ? 6 : 17, clientIp: 0xc0a80000 + (next() % 40), clientPort: next() % 30, vip: 0x0a000064 + (next() % 2), vipPort: 80,
    });
    for (let i = 0; i < 20000; i++) {
      const k = randomKey();
      const present = reference.has(text(k));
      if (next() % 3 === 0) {
        expect(table.remove(k) !== null).toBe(present);
        reference.delete(text(k));
      } else {
        expect(table.insert(k, b, 0, 'inactive', i)).toBe(!present);
        if (!present) reference.set(text(k), k);
      }
      expect(table.size).toBe(reference.size);
      if (i % 997 === 0) {
        for (const known of reference.values()) expect(table.has(known)).toBe(true);
        expect(table.export().map(text)).toEqual([...reference.keys()]);
      }
    }
    expect(reference.size).toBeGreaterThan(100);
    expect(b.inactiveConns).toBe(reference.size);
    for (const k of [...reference.values()]) expect(table.remove(k)).not.toBeNull();
    expect([table.size, table.export().length, b.inactiveConns]).toEqual([0, 0, 0]);
  });
});

/** a and b, colliding keys, are two connections: neither is found for the other, each keeps its own entry. */
function expectTwoConnections(a: ConnKey, b: ConnKey): void {
  const vm1 = vm('vm1');
  const table = new ConnectionTable();
  expect(table.insert(a, vm1, 0, 'active', 1)).toBe(true);
  expect(table.lookup(b)).toBeNull();
  expect(table.insert(b, vm1, 1, 'inactive', 2)).toBe(true);
  expect(table.lookup(a)).toMatchObject({ portIndex: 0, created: 1 });
  expect(table.lookup(b)).toMatchObject({ portIndex: 1, created: 2 });
  expect(table.remove(a)).toMatchObject({ portIndex: 0 });
  expect(table.lookup(b)).toMatchObject({ portIndex: 1, created: 2 });
  expect(table.lookup(a)).toBeNull();
}

/**
 * Two distinct keys with the same 32-bit index hash, by a birthday search over pseudo-random client
 * addresses and ports (deterministic: a fixed LCG seed; the first pair turns up after ~41k keys).
 */
function collidingKeys(): [ConnKey, ConnKey] {
  let seed = 1;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  const seen = new Map<number, ConnKey>();
  for (let i = 0; i < 1_000_000; i++) {
    const k: ConnKey = { proto: 6, clientIp: next(), clientPort: next() >>> 16, vip: 0x0a000064, vipPort: 80 };
    const h = hashConnKey(k);
    const other = seen.get(h);
    if (other) return [other, k];
    seen.set(h, k);
  }
  throw new Error('no colliding keys in 1M: widen the search');
}
