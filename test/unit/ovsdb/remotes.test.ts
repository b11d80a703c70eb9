/** Remote lists, backoff with jitter, and the `_Server` verdict: pure functions. */
import {
  OvsdbTargetError,
  backoffDelay,
  checkBackoffPolicy,
  findServerDb,
  judgeMember,
  parseRemotes,
  shuffled,
  uuid,
  type Row,
  type ServerDbInfo,
} from '../../../src/ovsdb';

describe('parseRemotes', () => {
  test('a comma-separated list of unix, tcp and ssl targets, in order, spaces trimmed', () => {
    expect(parseRemotes('unix:/a.sock, tcp:127.0.0.1:6641,ssl:[::1]:6643').map((t) => t.text)).toEqual([
      'unix:/a.sock',
      'tcp:127.0.0.1:6641',
      'ssl:[::1]:6643',
    ]);
    expect(parseRemotes('tcp:db.example:6641')[0]).toMatchObject({ kind: 'tcp', host: 'db.example', port: 6641 });
  });

  test.each([
    ['nothing', '', 'no remote given'],
    ['an empty entry', 'unix:/a,,unix:/b', 'empty remote'],
    ['a trailing comma', 'unix:/a,', 'empty remote'],
    ['an unknown kind', 'unix:/a,udp:1.2.3.4:5', 'expected unix:PATH'],
    ['a duplicate', 'unix:/a,unix:/a', 'unix:/a is listed twice'],
    ['65 remotes', Array.from({ length: 65 }, (_, i) => `unix:/s${i}`).join(','), 'more than 64 remotes'],
  ])('%s is refused', (_, text, reason) => {
    expect(() => parseRemotes(text)).toThrow(OvsdbTargetError);
    expect(() => parseRemotes(text)).toThrow(reason);
  });
});

test('shuffled keeps every remote once, in a random order', () => {
  const items = ['a', 'b', 'c', 'd', 'e'];
  const orders = new Set(Array.from({ length: 200 }, () => shuffled(items).join('')));
  for (const order of orders) expect([...order].sort().join('')).toBe('abcde');
  expect(orders.size).toBeGreaterThan(20);
  expect(items.join('')).toBe('abcde');
});

describe('backoffDelay', () => {
  const policy = { initialMs: 500, maxMs: 8000, jitter: 0.25 };

  test('doubles from the initial pause to the maximum, without jitter at the midpoint', () => {
    expect([1, 2, 3, 4, 5, 6, 50].map((n) => backoffDelay(n, policy, () => 0.5))).toEqual([500, 1000, 2000, 4000, 8000, 8000, 8000]);
  });

  test('jitter spreads each pause within +-25 %, reaching both ends', () => {
    expect(backoffDelay(3, policy, () => 0)).toBe(1500);
    expect(backoffDelay(3, policy, () => 0.999999)).toBe(2500);
    const seen = Array.from({ length: 2000 }, () => backoffDelay(5, policy));
    expect(Math.min(...seen)).toBeGreaterThanOrEqual(6000);
    expect(Math.max(...seen)).toBeLessThanOrEqual(10000);
    expect(new Set(seen).size).toBeGreaterThan(100);
  });

  test('bad policies are refused with the option named', () => {
    expect(() => checkBackoffPolicy({ initialMs: 0, maxMs: 10, jitter: 0 })).toThrow('backoffInitialMs must be > 0');
    expect(() => checkBackoffPolicy({ initialMs: 100, maxMs: 10, jitter: 0 })).toThrow('backoffMaxMs (10) must be >= backoffInitialMs (100)');
    expect(() => checkBackoffPolicy({ initialMs: 1, maxMs: 10, jitter: 2 })).toThrow('backoffJitter must be within 0..1');
  });
});

describe('the _Server verdict on a member', () => {
  const CID = '11111111-1111-4111-8111-111111111111';
  const member = (extra: Partial<ServerDbInfo>): ServerDbInfo => ({
    name: 'DB', model: 'clustered', connected: true, leader: true, clusterId: CID, index: 10, ...extra,
  });
  const req = { db: 'DB', leaderOnly: false, minIndex: 0 };

  test('findServerDb reads the row of the database; default-valued columns may be absent', () => {
    const rows = new Map<string, Row>([
      ['a', { name: 'Other', model: 'standalone', connected: true, leader: true }],
      ['b', { name: 'DB', model: 'clustered', connected: true, cid: [uuid(CID)], index: 7 }],
    ]);
    expect(findServerDb(rows, 'DB')).toEqual({ name: 'DB', model: 'clustered', connected: true, leader: false, clusterId: CID, index: 7 });
    expect(findServerDb(rows, 'Missing')).toBeUndefined();
  });

  test.each([
    ['missing database', undefined, req, 'no-database'],
    ['clustered, cut off from its cluster', member({ connected: false }), req, 'not-connected'],
    ['a follower when the leader is needed', member({ leader: false }), { ...req, leaderOnly: true }, 'not-leader'],
    ['behind data already seen', member({ index: 9 }), { ...req, minIndex: 10 }, 'stale'],
    ['another cluster', member({}), { ...req, clusterId: '22222222-2222-4222-8222-222222222222' }, 'other-cluster'],
    ['a relay when the leader is needed', member({ model: 'relay', leader: false }), { ...req, leaderOnly: true }, 'not-leader'],
    ['a relay cut off from its source', member({ model: 'relay', connected: false }), req, 'not-connected'],
  ])('refused: %s', (_, info, requirements, problem) => {
    expect(judgeMember(info, requirements)).toMatchObject({ usable: false, problem });
  });

  test.each([
    ['the leader', member({}), { ...req, leaderOnly: true, minIndex: 10, clusterId: CID }],
    ['a connected follower for reads', member({ leader: false }), req],
    ['a standalone server, leader-only', member({ model: 'standalone', clusterId: undefined, index: undefined }), { ...req, leaderOnly: true, minIndex: 99 }],
  ])('usable: %s', (_, info, requirements) => {
    expect(judgeMember(info, requirements)).toEqual({ usable: true });
  });
});
