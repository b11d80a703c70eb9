import {
  LbService, LeastConnectionScheduler, NeverQueueScheduler, ShortestExpectedDelayScheduler,
  WeightedLeastConnectionScheduler, bindConnection, connKeyOf,
} from '../../../src/lb';
import { members, packet } from './fixtures';

describe('lc / wlc follow open and closed connections', () => {
  it('lc sends each new connection to the member with the least active*256 + inactive', () => {
    const service = new LbService(members([1, 1, 1]), { scheduler: 'lc' });
    const placed = [0, 1, 2, 3].map((i) => service.open(packet(1, 1000 + i), 'active', 0)!.backend.id);
    expect(placed.join('')).toBe('ABCA'); // all equal -> first in list order wins
    service.close(connKeyOf(packet(1, 1001)), 1); // B's connection ends
    expect(service.open(packet(1, 2000), 'active', 1)!.backend.id).toBe('B');
  });

  it('an active connection weighs 256 inactive ones', () => {
    const list = members([1, 1]);
    bindConnection(list[0], 'active', 0);
    for (let i = 0; i < 255; i++) bindConnection(list[1], 'inactive', 0);
    expect(new LeastConnectionScheduler().pick(list, packet(), 0)!.id).toBe('B');
    bindConnection(list[1], 'inactive', 0); // 256 inactive == 1 active: tie, first wins
    expect(new LeastConnectionScheduler().pick(list, packet(), 0)!.id).toBe('A');
  });

  it('wlc divides by weight by cross-multiplying; ties go to the first in list order', () => {
    const list = members([1, 3]);
    bindConnection(list[0], 'active', 0); // A: 256/1
    for (let i = 0; i < 3; i++) bindConnection(list[1], 'active', 0); // B: 768/3 = 256: tie
    const wlc = new WeightedLeastConnectionScheduler();
    expect(wlc.pick(list, packet(), 0)!.id).toBe('A');
    bindConnection(list[0], 'inactive', 0); // A: 257/1 > 256
    expect(wlc.pick(list, packet(), 0)!.id).toBe('B');
  });

  it('wlc over a service spreads by weight as connections accumulate', () => {
    const service = new LbService(members([1, 2]), { scheduler: 'wlc' });
    const counts: Record<string, number> = { A: 0, B: 0 };
    for (let i = 0; i < 30; i++) counts[service.open(packet(1, 1000 + i), 'active', 0)!.backend.id]++;
    expect(counts).toEqual({ A: 10, B: 20 });
  });

  it('skips quiesced and overloaded members; null when none is left', () => {
    const list = members([0, 1]);
    const wlc = new WeightedLeastConnectionScheduler();
    expect(wlc.pick(list, packet(), 0)!.id).toBe('B');
    list[1].overloaded = true;
    expect(wlc.pick(list, packet(), 0)).toBeNull();
    expect(new LeastConnectionScheduler().pick(list, packet(), 0)).toBeNull();
  });
});

describe('sed and nq', () => {
  // A: weight 10 with one active connection. B: weight 1, idle.
  // sed: A costs (1+1)/10 = 0.2, B costs (0+1)/1 = 1 -> A. nq: B is idle -> B at once.
  const setup = () => {
    const list = members([10, 1]);
    bindConnection(list[0], 'active', 0);
    return list;
  };

  it('sed picks the least (active + 1) / weight', () => {
    expect(new ShortestExpectedDelayScheduler().pick(setup(), packet(), 0)!.id).toBe('A');
  });

  it('nq takes an idle member first, whatever its weight', () => {
    expect(new NeverQueueScheduler().pick(setup(), packet(), 0)!.id).toBe('B');
  });

  it('sed ignores inactive connections', () => {
    const list = members([1, 1]);
    for (let i = 0; i < 50; i++) bindConnection(list[0], 'inactive', 0);
    bindConnection(list[1], 'active', 0);
    expect(new ShortestExpectedDelayScheduler().pick(list, packet(), 0)!.id).toBe('A');
  });

  it('nq with no idle member decides as sed', () => {
    const list = members([1, 4]);
    bindConnection(list[0], 'active', 0); // (1+1)/1 = 2
    for (let i = 0; i < 4; i++) bindConnection(list[1], 'active', 0); // (4+1)/4 = 1.25
    expect(new NeverQueueScheduler().pick(list, packet(), 0)!.id).toBe('B');
  });
});
