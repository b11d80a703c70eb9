import { LocalityLeastConnectionScheduler, LocalityReplicatedScheduler, bindConnection } from '../../../src/lb';
import { members, packet } from './fixtures';

const D1 = 0x0a000101;
const D2 = 0x0a000102;
const to = (dst: number) => packet(0xc0a80001, 5000, dst);

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
    const list = members([1, 1]);
    const lblcr = new LocalityReplicatedScheduler({ expirationMs: 1000, checkIntervalMs: 10_000_000 });
    lblcr.pick(list, to(D1), 0);
    bindConnection(list[0], 'active', 0);
    bindConnection(list[0], 'active', 0);
    lblcr.pick(list, to(D1), 10); // set [B, A]
    expect(lblcr.replicas(D1)).toHaveLength(2);
    lblcr.pick(list, to(D1), 500);
    expect(lblcr.replicas(D1)).toHaveLength(2); // not yet
    expect(lblcr.pick(list, to(D1), 1011)!.id).toBe('B');
    expect(lblcr.replicas(D1).map((b) => b.id)).toEqual(['B']); // A, the most loaded, left
  });
});
