import { LocalityLeastConnectionScheduler, LocalityReplicatedScheduler, bindConnection, isLocalityOverloaded } from '../../../src/lb';
import { members, packet } from './fixtures';

const D1 = 0x0a000101;
const D2 = 0x0a000102;
const to = (dst: number) => packet(0xc0a80001, 5000, dst);

/** Two members and an lblcr (expiration 1 s) whose set for D1 is [B, A]: A chosen first, then overloaded at `at`. */
function replicaSetBA(at = 0): { list: ReturnType<typeof members>; lblcr: LocalityReplicatedScheduler } {
  const list = members([1, 1]);
  const lblcr = new LocalityReplicatedScheduler({ expirationMs: 1000, checkIntervalMs: 10_000_000 });
  lblcr.pick(list, to(D1), 0);
  bindConnection(list[0], 'active', 0);
  bindConnection(list[0], 'active', 0);
  lblcr.pick(list, to(D1), at);
  return { list, lblcr };
}

describe('lblc (keyed on the destination address)', () => {
  it('caches the wlc choice per destination and reuses it while it is not overloaded', () => {
    const list = members([1, 1]);
    const lblc = new LocalityLeastConnectionScheduler();
    expect(lblc.pick(list, to(D1), 0)!.id).toBe('A');
    bindConnection(list[0], 'active', 0);
    expect(lblc.pick(list, to(D2), 0)!.id).toBe('B'); // wlc: A has a connection, B none
    expect(lblc.pick(list, to(D1), 0)!.id).toBe('A'); // cached; A active 1 <= weight 1
  });

  it('leaves the cached member when active > weight and another is under half loaded', () => {
    const list = members([1, 1]);
    const lblc = new LocalityLeastConnectionScheduler();
    lblc.pick(list, to(D1), 0);
    bindConnection(list[0], 'active', 0);
    bindConnection(list[0], 'active', 0); // A: 2 > 1; B: 0*2 < 1
    expect(lblc.pick(list, to(D1), 0)!.id).toBe('B');
    expect(lblc.pick(list, to(D1), 0)!.id).toBe('B'); // the cache now says B
  });

  it('keeps an over-weight member when no other member is under half loaded', () => {
    const list = members([1, 1]);
    const lblc = new LocalityLeastConnectionScheduler();
    lblc.pick(list, to(D1), 0);
    for (let i = 0; i < 3; i++) bindConnection(list[0], 'active', 0);
    bindConnection(list[1], 'active', 0); // B: 1*2 not < 1
    expect(lblc.pick(list, to(D1), 0)!.id).toBe('A');
  });

  it('expires entries idle longer than the expiration at the periodic check', () => {
    const list = members([1, 1]);
    const lblc = new LocalityLeastConnectionScheduler({ expirationMs: 1000, checkIntervalMs: 100 });
    lblc.pick(list, to(D1), 0); // caches A
    bindConnection(list[0], 'active', 0); // wlc would now pick B, the cache still says A
    expect(lblc.pick(list, to(D1), 500)!.id).toBe('A');
    expect(lblc.pick(list, to(D2), 1500)!.id).toBe('B'); // D1 idle 1000 ms: dropped by this check
    expect(lblc.cachedDestinations).toBe(1);
    expect(lblc.pick(list, to(D1), 1600)!.id).toBe('B'); // rescheduled by wlc... B 0 vs A 256
  });

  it('returns null when no member is usable', () => {
    expect(new LocalityLeastConnectionScheduler().pick(members([0, 0]), to(D1), 0)).toBeNull();
  });
});

describe('lblcr (a replica set per destination address)', () => {
  it('adds the wlc choice to the set when the set minimum is overloaded, and uses the set minimum', () => {
    const list = members([1, 1, 1]);
    const lblcr = new LocalityReplicatedScheduler();
    expect(lblcr.pick(list, to(D1), 0)!.id).toBe('A');
    bindConnection(list[0], 'active', 0);
    bindConnection(list[0], 'active', 0); // A overloaded by the lblc rule
    expect(lblcr.pick(list, to(D1), 1)!.id).toBe('B');
    expect(lblcr.replicas(D1).map((b) => b.id)).toEqual(['B', 'A']);
    bindConnection(list[1], 'active', 0); // B: 256, A: 512 -> set minimum B, not overloaded
    expect(lblcr.pick(list, to(D1), 2)!.id).toBe('B');
  });

  it('drops the most loaded member from a set unchanged for the expiration time', () => {
    const { list, lblcr } = replicaSetBA(10); // set [B, A]
    expect(lblcr.replicas(D1)).toHaveLength(2);
    lblcr.pick(list, to(D1), 500);
    expect(lblcr.replicas(D1)).toHaveLength(2); // not yet
    expect(lblcr.pick(list, to(D1), 1011)!.id).toBe('B');
    expect(lblcr.replicas(D1).map((b) => b.id)).toEqual(['B']); // A, the most loaded, left
  });
});

// The edges of the overload rule, the cache's ageing and validity, and the replica sets (issue 18: the mutants of
// locality.ts that survived).
describe('locality schedulers at their edges', () => {
  const dst = (i: number) => 0x0a010000 + i;

  it('a member over its weight is overloaded only while another is under half loaded (exactly half is not)', () => {
    const [a, b] = members([1, 2]);
    bindConnection(a, 'active', 0);
    expect(isLocalityOverloaded(a, [a, b])).toBe(false); // active 1 = weight 1
    bindConnection(a, 'active', 0);
    expect(isLocalityOverloaded(a, [a, b])).toBe(true); // B: 0 of 2
    bindConnection(b, 'active', 0);
    expect(isLocalityOverloaded(a, [a, b])).toBe(false); // B: 1 of 2, exactly half
  });

  it('checks for idle entries once per check interval (60 s by default), from the first pick', () => {
    const list = members([1, 1]);
    const lblc = new LocalityLeastConnectionScheduler({ expirationMs: 100, checkIntervalMs: 1000 });
    lblc.pick(list, to(dst(1)), 0);
    lblc.pick(list, to(dst(2)), 500); // no check before 1000: dst 1 stays, idle or not
    expect(lblc.cachedDestinations).toBe(2);
    lblc.pick(list, to(dst(3)), 1000); // the check: both idle >= 100
    expect(lblc.cachedDestinations).toBe(1);
    const byDefault = new LocalityLeastConnectionScheduler({ expirationMs: 1 });
    byDefault.pick(list, to(dst(1)), 0);
    byDefault.pick(list, to(dst(2)), 59_999);
    expect(byDefault.cachedDestinations).toBe(2);
    byDefault.pick(list, to(dst(3)), 60_000);
    expect(byDefault.cachedDestinations).toBe(1);
  });

  it('drops an entry idle for the expiration time (24 h by default), measured from its last use', () => {
    const list = members([1, 1]);
    const lblc = new LocalityLeastConnectionScheduler({ checkIntervalMs: 1 });
    const day = 24 * 60 * 60 * 1000;
    lblc.pick(list, to(dst(1)), 5000);
    lblc.pick(list, to(dst(2)), 5000 + day - 1);
    expect(lblc.cachedDestinations).toBe(2);
    lblc.pick(list, to(dst(2)), 5000 + day);
    expect(lblc.cachedDestinations).toBe(1);
    const late = new LocalityLeastConnectionScheduler({ expirationMs: 10_000, checkIntervalMs: 1 });
    late.pick(list, to(dst(1)), 5000);
    late.pick(list, to(dst(2)), 6000); // dst 1 idle 1 s of 10
    expect(late.cachedDestinations).toBe(2);
  });

  it('a table larger than maxEntries (16 x 1024 by default) drops entries idle for the entry timeout (6 min by default)', () => {
    const list = members([1, 1]);
    const small = new LocalityLeastConnectionScheduler({ maxEntries: 2, entryTimeoutMs: 10, checkIntervalMs: 100 });
    small.pick(list, to(dst(1)), 0);
    small.pick(list, to(dst(2)), 0);
    small.pick(list, to(dst(3)), 100); // 2 entries at the check: not more than maxEntries, nothing dropped
    expect(small.cachedDestinations).toBe(3);
    small.pick(list, to(dst(4)), 200); // 3 > 2: every entry idle >= 10 ms goes
    expect(small.cachedDestinations).toBe(1);
    const byDefault = new LocalityLeastConnectionScheduler();
    for (let i = 0; i <= 16 * 1024; i++) byDefault.pick(list, to(dst(i)), 0);
    byDefault.pick(list, to(dst(0)), 6 * 60 * 1000 - 1); // the check at 60 s intervals: 16,385 entries, none idle 6 min
    expect(byDefault.cachedDestinations).toBe(16 * 1024 + 1);
    byDefault.pick(list, to(dst(0)), 6 * 60 * 1000 + 60_000); // the next check: all but dst 0 idle 6 min or more
    expect(byDefault.cachedDestinations).toBe(1);
    const notLarge = new LocalityLeastConnectionScheduler();
    for (let i = 0; i < 16 * 1024; i++) notLarge.pick(list, to(dst(i)), 0);
    notLarge.pick(list, to(dst(0)), 60 * 60 * 1000);
    expect(notLarge.cachedDestinations).toBe(16 * 1024);
  });

  it('lblc leaves a cached member that is down, quiesced, OVERLOAD or no longer in the service', () => {
    const cases: Array<[string, (a: ReturnType<typeof members>[number]) => void, boolean]> = [
      ['down', (a) => { a.available = false; }, true],
      ['quiesced', (a) => { a.weight = 0; }, true],
      ['OVERLOAD', (a) => { a.overloaded = true; }, true],
      ['removed', () => undefined, false],
    ];
    for (const [name, change, keep] of cases) {
      const list = members([1, 1]);
      const lblc = new LocalityLeastConnectionScheduler();
      expect(lblc.pick(list, to(D1), 0)!.id).toBe('A');
      bindConnection(list[1], 'active', 0); // wlc alone would keep A
      change(list[0]);
      expect([name, lblc.pick(keep ? list : [list[1]], to(D1), 1)!.id]).toEqual([name, 'B']);
    }
  });

  it('lblc with nothing usable returns null and caches nothing, and picks again once a member is back', () => {
    const list = members([1, 1]);
    const lblc = new LocalityLeastConnectionScheduler();
    expect(lblc.pick(list, to(D1), 0)!.id).toBe('A');
    for (const m of list) m.weight = 0;
    expect(lblc.pick(list, to(D1), 1)).toBeNull();
    expect(lblc.pick(list, to(D2), 1)).toBeNull();
    expect(lblc.cachedDestinations).toBe(1);
    list[1].weight = 1;
    expect(lblc.pick(list, to(D1), 2)!.id).toBe('B');
    expect(lblc.pick(list, to(D2), 2)!.id).toBe('B');
  });

  it('lblcr: the wlc choice that is already in the set (its own least, overloaded by the locality rule) is not added twice', () => {
    // A (weight 4) holds D1's set and gets 5 active connections: more than its weight while B (weight 2, none active)
    // is under half loaded, so lblc's rule calls A overloaded; but B's 1000 inactive connections make its overhead per
    // weight (1000 / 2 = 500) larger than A's (5 * 256 / 4 = 320), so the wlc choice over all members is A again.
    const list = members([4, 2]);
    const lblcr = new LocalityReplicatedScheduler({ expirationMs: 1000, checkIntervalMs: 10_000_000 });
    expect(lblcr.pick(list, to(D1), 0)!.id).toBe('A');
    for (let i = 0; i < 5; i++) bindConnection(list[0], 'active', 0);
    for (let i = 0; i < 1000; i++) bindConnection(list[1], 'inactive', 0);
    expect(isLocalityOverloaded(list[0], list)).toBe(true);
    expect(lblcr.pick(list, to(D1), 10)!.id).toBe('A');
    expect(lblcr.replicas(D1).map((b) => b.id)).toEqual(['A']);
  });

  it('lblcr: no set for an unknown destination or when nothing is usable; a set member that left the service is not used', () => {
    const list = members([1, 1]);
    const lblcr = new LocalityReplicatedScheduler();
    expect(lblcr.replicas(D1)).toEqual([]);
    expect(lblcr.pick(members([0, 0]), to(D1), 0)).toBeNull();
    expect(lblcr.replicas(D1)).toEqual([]);
    expect(lblcr.pick(list, to(D1), 0)!.id).toBe('A');
    expect(lblcr.pick([list[1]], to(D1), 1)!.id).toBe('B');
    expect(lblcr.replicas(D1).map((b) => b.id)).toEqual(['B', 'A']);
    for (const m of list) m.weight = 0;
    expect(lblcr.pick(list, to(D1), 2)).toBeNull();
    expect(lblcr.replicas(D1).map((b) => b.id)).toEqual(['B', 'A']);
  });

  it('lblcr shrinks a set only when it has more than one member and was unchanged for more than the expiration time', () => {
    const list = members([1, 1]);
    const lblcr = new LocalityReplicatedScheduler({ expirationMs: 1000, checkIntervalMs: 10_000_000 });
    lblcr.pick(list, to(D1), 10); // set [A]
    bindConnection(list[0], 'active', 0);
    bindConnection(list[0], 'active', 0); // A overloaded by the lblc rule
    expect(lblcr.pick(list, to(D1), 5000)!.id).toBe('B'); // a one-member set is not shrunk: B joins it
    expect(lblcr.replicas(D1).map((b) => b.id)).toEqual(['B', 'A']);
    lblcr.pick(list, to(D1), 6000); // exactly 1000 ms unchanged: kept
    expect(lblcr.replicas(D1)).toHaveLength(2);
    lblcr.pick(list, to(D1), 6001);
    expect(lblcr.replicas(D1).map((b) => b.id)).toEqual(['B']);
  });

  it('lblcr drops the most loaded weighted member, the first of equals, never a quiesced one; with none weighted, none', () => {
    const setOf = (ids: string) => {
      const made = replicaSetBA();
      expect(made.lblcr.replicas(D1).map((b) => b.id).join('')).toBe(ids);
      return made;
    };
    const ids = (l: LocalityReplicatedScheduler) => l.replicas(D1).map((b) => b.id).join('');
    const first = setOf('BA'); // B the most loaded, and first in the set
    for (let i = 0; i < 3; i++) bindConnection(first.list[1], 'active', 0);
    first.lblcr.pick(first.list, to(D1), 2000);
    expect(ids(first.lblcr)).toBe('A');
    const equal = setOf('BA');
    for (let i = 0; i < 2; i++) bindConnection(equal.list[1], 'active', 0); // 512 each
    equal.lblcr.pick(equal.list, to(D1), 2000);
    expect(ids(equal.lblcr)).toBe('A');
    const quiesced = setOf('BA');
    quiesced.list[0].weight = 0; // A, the most loaded, is not weighted: B goes (still this pick's choice)
    expect(quiesced.lblcr.pick(quiesced.list, to(D1), 2000)!.id).toBe('B');
    expect(ids(quiesced.lblcr)).toBe('A');
    const none = setOf('BA');
    for (const m of none.list) m.weight = 0;
    expect(none.lblcr.pick(none.list, to(D1), 2000)).toBeNull();
    expect(ids(none.lblcr)).toBe('BA');
  });

  it('lblcr weighs the load by the weight when it picks the member a shrinking set drops', () => {
    const ids = (l: LocalityReplicatedScheduler) => l.replicas(D1).map((b) => b.id).join('');
    // Set [B, A], A with 2 active (overhead 512). B weight 4 with 3 active: 768 / 4 = 192 per weight against A's
    // 512 / 1: A goes.
    const heavyA = replicaSetBA();
    heavyA.list[1].weight = 4;
    for (let i = 0; i < 3; i++) bindConnection(heavyA.list[1], 'active', 0);
    heavyA.lblcr.pick(heavyA.list, to(D1), 2000);
    expect(ids(heavyA.lblcr)).toBe('B');
    // A weight 4 (512 / 4 = 128 per weight), B weight 1 with 1 active (256): B goes.
    const heavyB = replicaSetBA();
    heavyB.list[0].weight = 4;
    bindConnection(heavyB.list[1], 'active', 0);
    heavyB.lblcr.pick(heavyB.list, to(D1), 2000);
    expect(ids(heavyB.lblcr)).toBe('A');
  });
});
