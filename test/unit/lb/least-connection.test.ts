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

describe("ended connections linger in the overhead, as IPVS's TIME_WAIT and CLOSE count inactive", () => {
  const key = (port: number) => connKeyOf(packet(1, port));
  /** Opens a connection (active, as the packet-in path opens TCP) and ends it with both FINs at `at`. */
  const endOne = (service: LbService, port: number, opened: number, at: number) => {
    const placed = service.open(packet(1, port), 'active', opened)!;
    service.end(key(port), 'backend', false, at);
    expect(service.end(key(port), 'client', false, at)).toBe('ended');
    return placed.backend;
  };

  it('an ended connection is no longer open but counts 1 in its member\'s overhead for endLingerMs, then not', () => {
    const service = new LbService(members([1, 1]), { scheduler: 'lc', endLingerMs: 1000 });
    const a = endOne(service, 1000, 0, 10);
    expect([a.id, a.activeConns, a.inactiveConns, a.totalConns, a.lingeringConns, a.overhead]).toEqual(['A', 0, 0, 0, 1, 1]);
    // A ended one a moment ago, B none: lc picks B (without the linger both are at 0 and A, the first, wins).
    expect(service.place(packet(1, 2000), 999)!.backend.id).toBe('B');
    expect(service.connections.lingering).toBe(1);
    // 1 s after its end it stops counting: a tie again, and the first wins.
    expect(service.place(packet(1, 2001), 1010)!.backend.id).toBe('A');
    expect([a.lingeringConns, a.overhead, service.connections.lingering]).toEqual([0, 0, 0]);
  });

  it('an open connection (active from its first packet) outweighs 255 lingering ones; 256 tie; the first wins', () => {
    const service = new LbService(members([1, 1]), { scheduler: 'lc' });
    const list = service.backends;
    service.open(packet(1, 1), 'active', 0); // A: one open, 256
    for (let i = 0; i < 255; i++) {
      service.connections.insert(key(2000 + i), list[1], 0, 'active', 0);
      service.end(key(2000 + i), 'client', true, 100); // a RST ends it (IPVS: CLOSE, inactive)
    }
    expect([list[1].overhead, list[1].totalConns]).toEqual([255, 0]);
    expect(service.place(packet(1, 3000), 200)!.backend.id).toBe('B');
    service.connections.insert(key(2255), list[1], 0, 'active', 0);
    service.end(key(2255), 'client', true, 100);
    expect(service.place(packet(1, 3001), 200)!.backend.id).toBe('A');
  });

  it('keeps counting after the datapath forgot the connection, and uncounts it once (no double uncount)', () => {
    const service = new LbService(members([1, 1]), { scheduler: 'lc' });
    const a = endOne(service, 1000, 0, 10);
    expect(service.close(key(1000), 20)).toBe(true);
    expect([a.totalConns, a.lingeringConns, a.portConns[0]]).toEqual([0, 1, 0]);
    service.connections.expireLingering(1010);
    expect([a.totalConns, a.lingeringConns, a.inactiveConns, a.activeConns]).toEqual([0, 0, 0, 0]);
  });

  it("the lingering are not open connections: thresholds and totals leave them out, wlc counts them as IPVS's inactive, sed and nq ignore them", () => {
    const service = new LbService(members([1, 1], { upperThreshold: 1 }), { scheduler: 'wlc' });
    const a = endOne(service, 1000, 0, 10);
    expect([a.overloaded, a.totalConns, a.lingeringConns]).toEqual([false, 0, 1]);
    expect(new WeightedLeastConnectionScheduler().pick(service.backends, packet(), 20)!.id).toBe('B');
    expect(new ShortestExpectedDelayScheduler().pick(service.backends, packet(), 20)!.id).toBe('A');
    expect(new NeverQueueScheduler().pick(service.backends, packet(), 20)!.id).toBe('A');
  });

  it('endLingerMs 0: an ended connection stops counting at its end (the old behaviour)', () => {
    const service = new LbService(members([1, 1]), { scheduler: 'lc', endLingerMs: 0 });
    const a = endOne(service, 1000, 0, 10);
    expect([a.lingeringConns, a.overhead, service.connections.lingering]).toEqual([0, 0, 0]);
    expect(service.place(packet(1, 2000), 11)!.backend.id).toBe('A');
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
