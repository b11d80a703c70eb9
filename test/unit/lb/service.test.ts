// LbService's own rules (src/lb/service.ts) that the scheduler tests reach only in passing: pools re-set with their
// schedulers kept or made, a port's health verdict, the members changing under every scheduler, the refusals that
// name what is wrong, a tracked connection opened twice, and who hears that a connection ended.
import { Backend, LbService, PORT_OUT_HEALTH, type BackendSpec, type PacketKey } from '../../../src/lb';

const spec = (id: string, ports = [80]): BackendSpec => ({ id, ip: `10.0.0.${id.charCodeAt(0) - 96}`, ports });
const pkt = (srcPort: number, srcIp = 0x0a000065): PacketKey => ({ srcIp, srcPort, dstIp: 0x0a000064, dstPort: 80, proto: 6 });
const ids = (list: readonly Backend[] | undefined) => list?.map((b) => b.id);

describe('LbService: pools re-set', () => {
  it('keeps the scheduler (and members array) of a pool whose members stay, makes one for a new pool, drops a pool left out', () => {
    const lb = new LbService([spec('a'), spec('b'), spec('c')], { scheduler: 'rr', pools: { ab: ['a', 'b'], c: ['c'] } });
    const [main, ab, c] = lb.schedulers;
    const abMembers = lb.poolMembers('ab');
    lb.setPools({ ab: ['b', 'a'], bc: ['c', 'b'] });
    expect(lb.schedulers).toHaveLength(3);
    expect(lb.schedulers[0]).toBe(main);
    expect(lb.schedulers[1]).toBe(ab);
    expect(lb.schedulers[2]).not.toBe(c);
    expect(lb.poolMembers('ab')).toBe(abMembers);
    expect(lb.poolMembers('c')).toBeUndefined();
    expect(ids(lb.poolMembers('bc'))).toEqual(['b', 'c']);
  });

  it('a pool whose members change keeps its scheduler and is told its new members', () => {
    const lb = new LbService([spec('a'), spec('b'), spec('c')], { scheduler: 'rr', pools: { ab: ['a', 'b'] } });
    const ab = lb.schedulers[1];
    const told = jest.spyOn(ab, 'onChange' as never);
    lb.setPools({ ab: ['a'] });
    expect(lb.schedulers[1]).toBe(ab);
    expect(ids(lb.poolMembers('ab'))).toEqual(['a']);
    expect(told).toHaveBeenCalledWith([lb.backendById('a')]);
    lb.setPools({ ab: ['a', 'c'] });
    expect(ids(lb.poolMembers('ab'))).toEqual(['a', 'c']);
  });

  it("a pool's names are taken even when its members stay: a backend added later under such a name joins it", () => {
    const lb = new LbService([spec('a'), spec('b')], { scheduler: 'rr', pools: { p: ['a'] } });
    lb.setPools({ p: ['a', 'z'] });
    expect(ids(lb.poolMembers('p'))).toEqual(['a']);
    lb.addBackend(spec('z'));
    expect(ids(lb.poolMembers('p'))).toEqual(['a', 'z']);
    expect(lb.open(pkt(1), 'active', 0, 'p')!.backend.id).toBe('a');
    expect(lb.open(pkt(2), 'active', 0, 'p')!.backend.id).toBe('z');
  });
});

describe('LbService: members and their verdicts', () => {
  it("a failing port's verdict sends new connections to the other port, and none when both fail", () => {
    const lb = new LbService([spec('a', [80, 81])], { scheduler: 'rr' });
    lb.setPortHealthy('a', 80, false);
    expect(lb.backendById('a')!.portOut[0]).toBe(PORT_OUT_HEALTH);
    expect(lb.open(pkt(1), 'active', 0)!.softwarePort).toBe(81);
    lb.setPortHealthy('a', 81, false);
    expect(lb.open(pkt(2), 'active', 0)).toBeNull();
    lb.setPortHealthy('a', 80, true);
    expect(lb.open(pkt(3), 'active', 0)!.softwarePort).toBe(80);
    expect(() => lb.setPortHealthy('a', 82, false)).toThrow('backend.port: backend a has no software port 82');
    expect(() => lb.setPortHealthy('x', 80, false)).toThrow('backend.id: no backend x in this service');
  });

  it('every change of members, weights, thresholds or ports reaches the service scheduler and each pool scheduler', () => {
    const lb = new LbService([spec('a'), spec('b')], { scheduler: 'wrr', pools: { p: ['b'] } });
    const [main, pool] = lb.schedulers;
    const mainTold = jest.spyOn(main, 'onChange' as never);
    const poolTold = jest.spyOn(pool, 'onChange' as never);
    lb.setWeight('b', 3);
    lb.setThresholds('a', 5, 1);
    lb.setPortHealthy('b', 80, false);
    expect(mainTold).toHaveBeenCalledTimes(3);
    expect(poolTold).toHaveBeenCalledTimes(3);
    expect(poolTold).toHaveBeenLastCalledWith([lb.backendById('b')]);
    expect([lb.backendById('b')!.weight, lb.backendById('a')!.upperThreshold, lb.backendById('a')!.lowerThreshold]).toEqual([3, 5, 1]);
    lb.removeBackend('b');
    expect(mainTold).toHaveBeenLastCalledWith([lb.backendById('a')]);
    expect(poolTold).toHaveBeenLastCalledWith([]);
  });

  it('takes a threshold: the only backend overloaded takes no more, until the limit is raised', () => {
    const lb = new LbService([spec('a')], { scheduler: 'rr' });
    lb.setThresholds('a', 1, 0);
    expect(lb.open(pkt(1), 'active', 0)).not.toBeNull();
    expect(lb.open(pkt(2), 'active', 0)).toBeNull();
    lb.setThresholds('a', 2, 0);
    expect(lb.open(pkt(3), 'active', 0)).not.toBeNull();
  });

  it('a backend marked down takes nothing new; an unknown one is named', () => {
    const lb = new LbService([spec('a')], { scheduler: 'rr' });
    lb.setAvailable('a', false);
    expect(lb.open(pkt(1), 'active', 0)).toBeNull();
    lb.setAvailable('a', true);
    expect(lb.open(pkt(1), 'active', 0)!.backend.id).toBe('a');
    expect(() => lb.setAvailable('x', true)).toThrow('backend.id: no backend x in this service');
    expect(() => lb.setWeight('x', 1)).toThrow('backend.id: no backend x in this service');
    expect(() => lb.removeBackend('x')).toThrow('backend.id: no backend x in this service');
  });

  it('takersVersion moves at every change of who may take new connections, never back to a version seen, and not when a health result changes nothing', () => {
    const lb = new LbService([spec('a', [80, 81]), spec('b')], { scheduler: 'rr', pools: { p: ['a'] } });
    // A caller looks again only when the version differs from the one it kept: a version seen before would hide a change.
    const seen = [lb.takersVersion];
    const after = (change: () => void) => {
      change();
      seen.push(lb.takersVersion);
    };
    after(() => lb.setAvailable('a', false));
    after(() => lb.setWeight('b', 3));
    after(() => lb.setAvailable('a', true));
    after(() => lb.setThresholds('b', 10, 5));
    after(() => lb.setPortHealthy('a', 81, false));
    after(() => lb.addBackend(spec('c')));
    after(() => lb.setAvailable('c', false));
    after(() => lb.removeBackend('c'));
    expect(new Set(seen).size).toBe(seen.length);
    const kept = lb.takersVersion;
    lb.setAvailable('a', true);
    lb.setAvailable('b', true);
    expect(lb.takersVersion).toBe(kept);
  });

  it('refuses a duplicate backend, at construction and when added; a Backend given is used as it is', () => {
    expect(() => new LbService([spec('a'), spec('a')], { scheduler: 'rr' })).toThrow('backend.id: duplicate backend a');
    const given = new Backend(spec('b'));
    const lb = new LbService([spec('a'), given], { scheduler: 'rr' });
    expect(lb.backends[1]).toBe(given);
    expect(() => lb.addBackend(spec('b'))).toThrow('backend.id: duplicate backend b');
    expect(ids(lb.backends)).toEqual(['a', 'b']);
  });
});

describe('LbService: connections', () => {
  it('open gives a tracked connection its placement again without counting it twice; openUntracked refuses it', () => {
    const lb = new LbService([spec('a'), spec('b')], { scheduler: 'rr' });
    const first = lb.open(pkt(1), 'active', 0)!;
    expect(lb.open(pkt(1), 'active', 1)).toEqual(first);
    expect(first.backend.activeConns).toBe(1);
    expect(() => lb.openUntracked({ proto: 6, clientIp: 0x0a000065, clientPort: 1, vip: 0x0a000064, vipPort: 80 }, pkt(1), 'active', 2))
      .toThrow(/already tracked/);
    expect(lb.close({ proto: 6, clientIp: 0x0a000065, clientPort: 9, vip: 0x0a000064, vipPort: 80 }, 3)).toBe(false);
  });

  it("tells the service's scheduler and the schedulers of the pools holding the backend how long a connection lasted", () => {
    const lb = new LbService([spec('a'), spec('b')], { scheduler: 'feedback', pools: { pa: ['a'], pb: ['b'] } });
    const [main, pa, pb] = lb.schedulers;
    const heard = [jest.spyOn(main, 'connectionEnded' as never), jest.spyOn(pa, 'connectionEnded' as never), jest.spyOn(pb, 'connectionEnded' as never)];
    const key = { proto: 6, clientIp: 0x0a000065, clientPort: 7, vip: 0x0a000064, vipPort: 80 };
    expect(lb.end(key, 'client', false, 50)).toBeNull();
    const placed = lb.open(pkt(7), 'active', 100, 'pa')!;
    expect(lb.end(key, 'client', false, 150)).toBe('closing');
    expect(heard.map((h) => h.mock.calls.length)).toEqual([0, 0, 0]);
    expect(lb.end(key, 'backend', false, 400)).toBe('ended');
    expect(heard[0]).toHaveBeenCalledWith(placed.backend, 300, 400);
    expect(heard[1]).toHaveBeenCalledWith(placed.backend, 300, 400);
    expect(heard[2]).not.toHaveBeenCalled();
  });

  it("reopen (a client reusing an ended connection's port) counts it on its backend again and holds the client's template; not a connection unknown or still open", () => {
    const key = { proto: 6, clientIp: 0x0a000065, clientPort: 7, vip: 0x0a000064, vipPort: 80 };
    // The same service and steps twice, with and without the reopen: the template's timeout is 1000 ms.
    const run = (reopenAt20: boolean) => {
      const lb = new LbService([spec('a'), spec('b')], { scheduler: 'rr', persistence: { timeoutMs: 1000 } });
      expect(lb.reopen(key, 0)).toBe(false);
      const placed = lb.open(pkt(7), 'active', 0)!;
      expect(lb.reopen(key, 5)).toBe(false);
      expect(placed.backend.activeConns).toBe(1);
      expect(lb.end(key, 'client', true, 10)).toBe('ended');
      expect(placed.backend.activeConns).toBe(0);
      if (reopenAt20) {
        expect(lb.reopen(key, 20)).toBe(true);
        expect(placed.backend.activeConns).toBe(1);
        expect(lb.reopen(key, 30)).toBe(false);
      }
      // Past the template's timeout from the end: only a connection still open under it keeps it.
      const later = lb.open(pkt(8), 'active', 1510)!;
      return [placed.backend.id, later.backend.id];
    };
    expect(run(true)).toEqual(['a', 'a']);
    expect(run(false)).toEqual(['a', 'b']);
  });
});
