// LbService's side of passive outlier detection (src/lb/service.ts) as a caller sees it: which connection ends and
// refusals count as a port's failure and with what reason, what an ejection does to the port and the backend's
// count, a service without detection; and the smaller rules test/unit/app/outlier.test.ts reaches only through the
// controller: a persistence timeout of 0, pools whose members change at the same count, schedulers without the
// optional hooks, an adopted connection's end, closing an ended connection, and the refusals' texts.
import {
  LbService, PORT_OUT_HEALTH_IPV4, PORT_OUT_HEALTH_IPV6, PORT_OUT_OUTLIER, connKeyOf, type BackendSpec, type PacketKey, type OutlierSettings,
} from '../../../src/lb';
import { ipv6Pair } from '../../../src/net/ipv6';

const spec = (id: string, ports = [80]): BackendSpec => ({ id, ip: `10.0.0.${id.charCodeAt(0) - 96}`, ports });
const pkt = (srcPort: number, srcIp = 0x0a000065, proto = 6): PacketKey => ({ srcIp, srcPort, dstIp: 0x0a000064, dstPort: 80, proto });
/** One failure ejects a port; the ratio rule is off. */
const EAGER: OutlierSettings = {
  consecutiveFailures: 1, failureRatio: 0, windowMs: 10_000, minConnections: 10, ejectionMs: 1000, maxEjectionMs: 8000,
  maxEjectedPercent: 100, connectTimeoutMs: 2000, resetWithinMs: 1000,
};

describe('LbService: what counts as a failure of a port', () => {
  it("a backend's reset within resetWithinMs of the first packet ejects its port, with the connection's age in the reason", () => {
    const lb = new LbService([spec('a', [80, 81])], { scheduler: 'rr', outlier: EAGER });
    const placed = lb.open(pkt(1), 'active', 100)!;
    expect(lb.end(connKeyOf(pkt(1)), 'backend', true, 1100)).toBe('ended'); // 1000 ms: at the bound, still a failure
    expect(lb.takeOutlierChanges()).toEqual([expect.objectContaining({
      kind: 'ejected', backend: 'a', port: placed.softwarePort, reason: '1 consecutive failures; last: reset by the backend 1000 ms after the first packet', family: 'ipv4',
    })]);
    const a = lb.backendById('a')!;
    expect(a.outlierEjections).toBe(1);
    expect(a.portOut[placed.portIndex] & PORT_OUT_OUTLIER).toBe(PORT_OUT_OUTLIER);
    expect(lb.ejectedPorts()).toEqual([expect.objectContaining({ backend: 'a', port: placed.softwarePort })]);
    // The other port takes the next connection.
    expect(lb.open(pkt(2), 'active', 1200)!.softwarePort).not.toBe(placed.softwarePort);
  });

  it("a backend's later reset, its FIN, and a client's reset are no failure", () => {
    const lb = new LbService([spec('a')], { scheduler: 'rr', outlier: EAGER });
    lb.open(pkt(1), 'active', 0);
    lb.end(connKeyOf(pkt(1)), 'backend', true, 1001);
    lb.open(pkt(2), 'active', 0);
    lb.end(connKeyOf(pkt(2)), 'backend', false, 10);
    lb.open(pkt(3), 'active', 0);
    lb.end(connKeyOf(pkt(3)), 'client', true, 10);
    expect(lb.takeOutlierChanges()).toEqual([]);
    expect(lb.backendById('a')!.outlierEjections).toBe(0);
    expect(lb.open(pkt(4), 'active', 20)).not.toBeNull();
  });

  it('a backend refusing a connection vadc does not track ejects that port; an unknown backend or port changes nothing', () => {
    const lb = new LbService([spec('a', [80, 81])], { scheduler: 'rr', outlier: EAGER });
    lb.refusedUntracked('x', 80, 'ipv4', 0);
    lb.refusedUntracked('a', 82, 'ipv4', 0);
    expect(lb.takeOutlierChanges()).toEqual([]);
    lb.refusedUntracked('a', 81, 'ipv6', 0);
    expect(lb.takeOutlierChanges()).toEqual([expect.objectContaining({
      kind: 'ejected', backend: 'a', port: 81, portIndex: 1, reason: '1 consecutive failures; last: the backend refused the connection (RST answering its SYN)', family: 'ipv6',
    })]);
  });

  it('an ejection that ends is probed; a passed probe readmits the port, and the scheduler hears both changes', () => {
    const lb = new LbService([spec('a'), spec('b')], { scheduler: 'rr', outlier: EAGER });
    const told = jest.spyOn(lb.scheduler, 'onChange' as never);
    lb.refusedUntracked('a', 80, 'ipv4', 0);
    expect(told).toHaveBeenCalledTimes(1);
    expect(lb.outlierTick(500)).toEqual([]);
    expect(lb.outlierTick(1000)).toEqual([expect.objectContaining({ kind: 'probe', backend: 'a', port: 80 })]);
    lb.outlierProbeResult('a', 0, true, 'probe passed', 1010);
    expect(lb.takeOutlierChanges().map((c) => c.kind)).toEqual(['ejected', 'readmitted']);
    expect(lb.backendById('a')!.portOut[0] & PORT_OUT_OUTLIER).toBe(0);
    expect(lb.backendById('a')!.outlierEjections).toBe(1);
    expect(told).toHaveBeenCalledTimes(2);
    // Taken: the next call has nothing.
    expect(lb.takeOutlierChanges()).toEqual([]);
  });

  it('UDP flows are judged by their replies only when the reading can tell a reply', () => {
    const lb = new LbService([spec('a')], { scheduler: 'rr', outlier: { ...EAGER, udpReplyWithinMs: 500 } });
    lb.open(pkt(1, 0x0a000065, 17), 'inactive', 0);
    lb.judgeOpenConnections(1000);
    expect(lb.takeOutlierChanges()).toEqual([]);
    lb.judgeOpenConnections(1000, true);
    expect(lb.takeOutlierChanges()).toEqual([expect.objectContaining({ kind: 'ejected', backend: 'a', reason: '1 consecutive failures; last: no reply 1000 ms after the first datagram (udp_reply_within 500 ms)' })]);
  });

  it('a service without outlier detection ignores every outcome and has nothing ejected', () => {
    const lb = new LbService([spec('a')], { scheduler: 'rr' });
    lb.open(pkt(1), 'active', 0);
    lb.end(connKeyOf(pkt(1)), 'backend', true, 1);
    lb.refusedUntracked('a', 80, 'ipv4', 2);
    lb.judgeOpenConnections(10_000, true);
    expect(lb.outlierTick(10_000)).toEqual([]);
    lb.outlierProbeResult('a', 0, false, 'probe failed', 10_000);
    expect(lb.ejectedPorts()).toEqual([]);
    expect(lb.takeOutlierChanges()).toEqual([]);
    expect(lb.backendById('a')!.outlierEjections).toBe(0);
  });
});

describe('LbService: smaller rules', () => {
  it('a persistence timeout of 0 is no persistence: a client with an open connection is scheduled anew', () => {
    const lb = new LbService([spec('a'), spec('b')], { scheduler: 'rr', persistence: { timeoutMs: 0 } });
    const first = lb.open(pkt(1), 'active', 0)!.backend.id;
    expect(lb.open(pkt(2), 'active', 0)!.backend.id).not.toBe(first);
  });

  it('a pool whose members change at the same count takes the new members', () => {
    const lb = new LbService([spec('a'), spec('b'), spec('c')], { scheduler: 'rr', pools: { p: ['a', 'b'] } });
    lb.setPools({ p: ['a', 'c'] });
    expect(lb.poolMembers('p')!.map((b) => b.id)).toEqual(['a', 'c']);
    lb.setPools({ p: ['b', 'c'] });
    expect(lb.poolMembers('p')!.map((b) => b.id)).toEqual(['b', 'c']);
  });

  it('pools work with a scheduler that has neither onChange nor connectionEnded (lc)', () => {
    const lb = new LbService([spec('a'), spec('b')], { scheduler: 'lc', pools: { p: ['a'] } });
    lb.setPools({ p: ['b'] });
    lb.setPools({ p: ['a', 'b'], q: ['a'] });
    lb.setWeight('a', 2);
    const placed = lb.open(pkt(1), 'active', 0, 'q')!;
    expect(placed.backend.id).toBe('a');
    expect(lb.end(connKeyOf(pkt(1)), 'client', true, 5)).toBe('ended');
  });

  it("an adopted connection's end is not told to the scheduler as a duration", () => {
    const lb = new LbService([spec('a')], { scheduler: 'rr' });
    const ended = jest.fn();
    (lb.scheduler as { connectionEnded?: unknown }).connectionEnded = ended;
    const key = connKeyOf(pkt(1));
    lb.connections.import([{ ...key, backendId: 'a', softwarePort: 80, state: 'active', created: 0, lastSeen: 0 }], (id) => lb.backendById(id));
    expect(lb.end(key, 'client', true, 50)).toBe('ended');
    lb.open(pkt(2), 'active', 100);
    lb.end(connKeyOf(pkt(2)), 'client', true, 150);
    expect(ended.mock.calls).toEqual([[lb.backendById('a'), 50, 150]]);
  });

  it("closing a connection that already ended does not release its client's template twice", () => {
    const lb = new LbService([spec('a'), spec('b')], { scheduler: 'rr', persistence: { timeoutMs: 100 } });
    const bound = lb.open(pkt(1), 'active', 0)!.backend.id;
    expect(lb.open(pkt(2), 'active', 0)!.backend.id).toBe(bound);
    lb.end(connKeyOf(pkt(1)), 'client', true, 10);
    expect(lb.close(connKeyOf(pkt(1)), 20)).toBe(true);
    // pkt(2)'s connection is still open: the template holds past its timeout.
    expect(lb.open(pkt(3), 'active', 1000)!.backend.id).toBe(bound);
  });

  it("a client's persistent backend counts in a pool only when the pool holds it", () => {
    const lb = new LbService([spec('a'), spec('b')], { scheduler: 'rr', persistence: { timeoutMs: 1000 }, pools: { ab: ['a', 'b'], b: ['b'] } });
    const x = 0x0a000001;
    const y = 0x0a000002;
    expect(lb.open(pkt(1, y), 'active', 0, 'ab')!.backend.id).toBe('a'); // the pool's cursor moves on to b
    expect(lb.open(pkt(2, x), 'active', 0)!.backend.id).toBe('a'); // x bound to a
    expect(lb.open(pkt(3, x), 'active', 0, 'ab')!.backend.id).toBe('a'); // a is in ab: the binding holds
    expect(lb.open(pkt(4, x), 'active', 0, 'b')!.backend.id).toBe('b'); // not in b: scheduled there
  });

  it("a family's health verdict keeps the port from that family's connections only", () => {
    const lb = new LbService([{ id: 'a', ip: '10.0.0.1', ip6: 'fd00::1', ports: [80, 81] }], { scheduler: 'rr' });
    const v6 = (srcPort: number): PacketKey => ({ ...pkt(srcPort), ip6: ipv6Pair([0xfd000000, 0, 0, 0x51, 0xfd000000, 0, 0, 0x100]) });
    lb.setPortHealthy('a', 80, false, 'ipv6');
    lb.setPortHealthy('a', 81, false, 'ipv4');
    expect([...lb.backendById('a')!.portOut]).toEqual([PORT_OUT_HEALTH_IPV6, PORT_OUT_HEALTH_IPV4]);
    for (let i = 1; i <= 3; i++) {
      expect(lb.open(v6(i), 'active', 0)!.softwarePort).toBe(81);
      expect(lb.open(pkt(10 + i), 'active', 0)!.softwarePort).toBe(80);
    }
  });

  it('names an unknown pool and a connection tracked twice', () => {
    const lb = new LbService([spec('a')], { scheduler: 'rr', pools: { p: ['a'] } });
    expect(() => lb.open(pkt(1), 'active', 0, 'nope')).toThrow('pool: no pool nope in this service');
    lb.open(pkt(1), 'active', 0);
    expect(() => lb.openUntracked(connKeyOf(pkt(1)), pkt(1), 'active', 0))
      .toThrow('conn: openUntracked: the connection is already tracked (look it up first, or call open)');
  });
});
