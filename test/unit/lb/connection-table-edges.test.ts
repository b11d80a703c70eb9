// ConnectionTable (src/lb/conn-table.ts) at the edges its other tests pass by: what each state change does to the
// backend's counters and to the entry a caller reads back, the flags (judged, established, adopted) through
// markJudged, sighted and import, IPv6 keys read back whole, a lookup with its hash given that must probe past its home
// bucket, a removal in a probe run that wraps around the end of the buckets, and the refusals' texts.
import { Backend, ConnectionTable, connKeyFromText, hashConnKey, type ConnKey } from '../../../src/lb';
import { ipv6PairWords } from '../../../src/net/ipv6';

const vm = (id: string, ports = [8080, 8081]) => new Backend({ id, ip: '10.0.0.11', ports });
const key = (clientPort: number, proto = 6): ConnKey => ({ proto, clientIp: 0xc0a80001, clientPort, vip: 0x0a000064, vipPort: 80 });
const counters = (b: Backend) => [b.activeConns, b.inactiveConns];
/** A table of 64 buckets (the start) probes from hash & 63. */
const HOME_MASK = 63;
/** Keys whose home bucket (hash & 63) is each of `homes`, in order, found by walking client ports. */
function keysWithHomes(homes: number[]): ConnKey[] {
  const out: ConnKey[] = [];
  let port = 1;
  for (const home of homes) {
    while ((hashConnKey(key(port)) & HOME_MASK) !== home) port++;
    out.push(key(port++));
  }
  return out;
}

describe('connection table: state changes as the counters and entries show them', () => {
  it('setState moves a connection between active and inactive once, and saying its state again changes nothing', () => {
    const b = vm('vm1');
    const table = new ConnectionTable();
    table.insert(key(1), b, 0, 'active', 0);
    table.insert(key(2), b, 0, 'inactive', 0);
    expect(table.setState(key(1), 'active')).toBe(true);
    expect(table.setState(key(2), 'inactive')).toBe(true);
    expect(counters(b)).toEqual([1, 1]);
    expect(table.setState(key(1), 'inactive')).toBe(true);
    expect(counters(b)).toEqual([0, 2]);
    // Saying 'inactive' establishes nothing; 'active' does, and stays said after the connection leaves ESTABLISHED.
    expect(table.lookup(key(2))).toMatchObject({ state: 'inactive', established: false });
    expect(table.lookup(key(1))).toMatchObject({ state: 'inactive', established: true });
    expect(table.setState(key(2), 'active')).toBe(true);
    expect(table.lookup(key(2))).toMatchObject({ state: 'active', established: true });
    expect(counters(b)).toEqual([1, 1]);
  });

  it('a closing connection can still be made inactive (not active again)', () => {
    const b = vm('vm1');
    const table = new ConnectionTable();
    table.insert(key(1), b, 0, 'inactive', 0);
    table.markEnd(key(1), 'client', false, 5);
    expect(table.setState(key(1), 'inactive')).toBe(true);
    expect(table.setState(key(1), 'active')).toBe(false);
    expect(counters(b)).toEqual([0, 1]);
  });

  it('reopen counts an ended connection again (a reused client port), from now, on its port, once; not one that has not ended', () => {
    const b = vm('vm1');
    const table = new ConnectionTable();
    table.insert(key(1), b, 1, 'active', 0);
    expect(table.reopen(key(1), 5)).toBeNull();
    table.markJudged(key(1));
    table.markEnd(key(1), 'client', true, 10);
    expect([...counters(b), b.portConns[1]]).toEqual([0, 0, 0]);
    expect(table.reopen(key(1), 20)).toMatchObject({ state: 'active', ended: false, created: 20, lastSeen: 20, judged: true, softwarePort: 8081 });
    expect([...counters(b), b.portConns[1]]).toEqual([1, 0, 1]);
    expect(table.reopen(key(1), 30)).toBeNull();
    expect(table.reopen(key(9), 30)).toBeNull();
    // It ends again as any connection does.
    expect(table.markEnd(key(1), 'backend', true, 40)?.outcome).toBe('ended');
    expect(counters(b)).toEqual([0, 0]);
  });

  it("a reading that sees a connection established marks it so and makes an inactive one active, once", () => {
    const b = vm('vm1');
    const table = new ConnectionTable();
    table.insert(key(1), b, 0, 'inactive', 0);
    table.insert(key(2), b, 0, 'active', 0);
    expect(table.sighted(key(1), 1, 10, true)).toBe(true);
    expect(table.sighted(key(2), 1, 10, true)).toBe(true);
    expect(counters(b)).toEqual([2, 0]);
    expect(table.lookup(key(1))).toMatchObject({ state: 'active', established: true, lastSeen: 10 });
    expect(table.lookup(key(2))).toMatchObject({ state: 'active', established: true });
  });

  it('touch, markJudged and markReplied say whether the key is tracked', () => {
    const table = new ConnectionTable();
    table.insert(key(1), vm('vm1'), 0, 'active', 0);
    expect(table.touch(key(1), 5)).toBe(true);
    expect(table.lookup(key(1))!.judged).toBe(false);
    expect(table.markJudged(key(1))).toBe(true);
    expect(table.lookup(key(1))!.judged).toBe(true);
    expect(table.markJudged(key(9))).toBe(false);
    expect(table.markReplied(key(1))).toBe(true);
    expect(table.markReplied(key(9))).toBe(false);
  });

  it('exports an inactive connection as inactive', () => {
    const table = new ConnectionTable();
    table.insert(key(1), vm('vm1'), 1, 'inactive', 7);
    expect(table.export()).toEqual([expect.objectContaining({ clientPort: 1, state: 'inactive', softwarePort: 8081, created: 7 })]);
  });

  it('judges TCP and UDP only, and gives the age from the first packet', () => {
    const table = new ConnectionTable();
    const b = vm('vm1');
    table.insert(key(1), b, 0, 'inactive', 1000);
    table.insert(key(2, 132), b, 0, 'inactive', 1000); // SCTP: neither
    table.insert(key(3, 17), b, 0, 'inactive', 1000);
    const judged: unknown[] = [];
    table.judgeOpen(4000, 2000, (_b, _p, ok, age, proto) => judged.push([proto, ok, age]), 500);
    expect(judged).toEqual([[6, false, 3000], [17, false, 3000]]);
  });
});

describe('connection table: imported connections', () => {
  const record = (clientPort: number, state: 'active' | 'inactive') =>
    ({ ...key(clientPort), backendId: 'vm1', softwarePort: 8080, state, created: 5, lastSeen: 6 });

  it('an imported connection is adopted (not timed), established when it was active, and judged unless asked', () => {
    const b = vm('vm1');
    const table = new ConnectionTable();
    const byId = (id: string) => (id === 'vm1' ? b : undefined);
    expect(table.import([record(1, 'active'), record(2, 'inactive')], byId)).toEqual({ imported: 2, skipped: [] });
    expect(table.import([record(3, 'inactive')], byId, { judge: true }).imported).toBe(1);
    expect(table.lookup(key(1))).toMatchObject({ state: 'active', established: true, timed: false, judged: true, lastSeen: 6 });
    expect(table.lookup(key(2))).toMatchObject({ state: 'inactive', established: false, timed: false, judged: true });
    expect(table.lookup(key(3))).toMatchObject({ established: false, timed: false, judged: false });
    expect(table.import([record(4, 'active')], () => undefined).skipped).toEqual([{ record: record(4, 'active'), reason: 'unknown backend vm1' }]);
  });
});

describe('connection table: keys and buckets', () => {
  it('reads IPv6 keys back with every word of both addresses (unsighted, export)', () => {
    const table = new ConnectionTable();
    const b = vm('vm1');
    const k1 = connKeyFromText(6, '2001:db8:1:2:3:4:5:6', 40000, 'fd00:1:2:3:4:5:6:7', 80);
    const k2 = connKeyFromText(6, '2001:db8:a:b:c:d:e:f', 40001, 'fd00:1:2:3:4:5:6:7', 80);
    table.insert(k1, b, 0, 'active', 0);
    table.insert(k2, b, 0, 'active', 0);
    expect(table.lookup(k1)).not.toBeNull();
    expect(table.lookup(k2)).not.toBeNull();
    const keys = table.unsighted(1, 10);
    expect(keys.map((k) => [...ipv6PairWords(k.ip6!)])).toEqual([[...ipv6PairWords(k1.ip6!)], [...ipv6PairWords(k2.ip6!)]]);
    expect(keys.map((k) => table.lookup(k)?.backend)).toEqual([b, b]);
  });

  it('refuses keys of two address families and port indexes the backend does not have, naming them', () => {
    expect(() => connKeyFromText(6, '10.0.0.1', 1, 'fd00::1', 80)).toThrow('conn: client 10.0.0.1 and VIP fd00::1 are of different address families');
    const table = new ConnectionTable();
    const b = vm('vm1');
    for (const bad of [-1, 2, 0.5]) {
      expect(() => table.insert(key(1), b, bad, 'active', 0)).toThrow(`conn.portIndex: backend vm1 has no port index ${bad}`);
    }
    expect(table.size).toBe(0);
  });

  it('a table asked for no initial room still tracks connections', () => {
    const table = new ConnectionTable(0);
    const b = vm('vm1');
    for (let p = 1; p <= 40; p++) expect(table.insert(key(p), b, 0, 'active', 0)).toBe(true);
    expect(table.lookup(key(40))!.backend).toBe(b);
    expect(table.size).toBe(40);
  });

  it('a lookup with its hash given finds a key that sits past its home bucket', () => {
    const table = new ConnectionTable();
    const b = vm('vm1');
    const [first, second] = keysWithHomes([10, 10]);
    table.insert(first, b, 0, 'active', 1);
    table.insert(second, b, 1, 'active', 2);
    expect(table.lookup(second, hashConnKey(second))).toMatchObject({ portIndex: 1, created: 2 });
    expect(table.lookup(first, hashConnKey(first))).toMatchObject({ portIndex: 0, created: 1 });
  });

  it('a lookup with its hash given tells apart two keys whose 32-bit hashes collide', () => {
    // The colliding pair of connection-table.test.ts (a birthday search).
    const a: ConnKey = { proto: 6, clientIp: 2489402054, clientPort: 40000, vip: 3135632007, vipPort: 80 };
    const c: ConnKey = { proto: 6, clientIp: 2530743554, clientPort: 40000, vip: 3522412051, vipPort: 80 };
    expect(hashConnKey(a)).toBe(hashConnKey(c));
    const table = new ConnectionTable();
    table.insert(a, vm('vm1'), 0, 'active', 1);
    expect(table.lookup(c, hashConnKey(c))).toBeNull();
  });

  it('removing from a probe run that wraps past the last bucket keeps the run reachable', () => {
    // Homes 62, 63, 63: the third key wraps to bucket 0. Removing the first must not move the third before its home.
    const [a, b, c] = keysWithHomes([62, 63, 63]);
    const table = new ConnectionTable();
    const backend = vm('vm1');
    for (const k of [a, b, c]) table.insert(k, backend, 0, 'active', 0);
    expect(table.remove(a)).not.toBeNull();
    expect(table.lookup(b)).not.toBeNull();
    expect(table.lookup(c)).not.toBeNull();
    expect(table.remove(b)).not.toBeNull();
    expect(table.lookup(c)).not.toBeNull();
  });

  it('says how long an ended connection lingers', () => {
    expect(new ConnectionTable(64, { endLingerMs: 1234 }).endLingerMs).toBe(1234);
  });
});
