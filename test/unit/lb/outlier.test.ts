import {
  Backend, DEFAULT_OUTLIER_OPTIONS, DEFAULT_OUTLIER_SETTINGS, LbInputError, LbService, OutlierDetector, PORT_OUT_HEALTH, pickPortIndex, setPortOut,
  connKeyOf, type ConnKey, type OutlierOptions,
} from '../../../src/lb';
import { DEFAULT_OUTLIER_CONFIG, parseServiceConfig } from '../../../src/config';
import { outlierSettingsOf } from '../../../src/app/services';
import { packet } from './fixtures';
import { ipv6Pair } from '../../../src/net/ipv6';

const FAIL = { ok: false as const, reason: 'reset by the backend 1 ms after the first packet' };
const OK = { ok: true as const };
const opts = (o: Partial<OutlierOptions> = {}): OutlierOptions => ({ ...DEFAULT_OUTLIER_OPTIONS, ...o });

function detector(o: Partial<OutlierOptions> = {}, members = [{ id: 'A', ports: [8080, 8081] }, { id: 'B', ports: [8080] }]) {
  const d = new OutlierDetector(opts(o));
  d.setMembers(members, 0);
  return d;
}

describe('outlier detector (pure)', () => {
  describe('judgeAtReadings (successes come only at the readings)', () => {
    it('awaitsReading: a run of connections placed on a port with no success since, connect_timeout after the one that made it, once', () => {
      const d = detector({ consecutiveFailures: 3, judgeAtReadings: true });
      d.reading(0);
      d.placed('A', 0, 1000);
      d.placed('A', 0, 1100);
      expect(d.awaitsReading(5000, 2000)).toBe(false); // two: not a run that could eject
      d.placed('A', 0, 1200);
      expect(d.awaitsReading(3199, 2000)).toBe(false); // the third is not connect_timeout old yet
      expect(d.awaitsReading(3200, 2000)).toBe(true); // a reading now judges all three
      d.reading(3200);
      d.placed('A', 0, 3300);
      expect(d.awaitsReading(9000, 2000)).toBe(false); // one reading per run
      d.observe('A', 0, OK, 9000); // a copy or a reading showed one that worked: the run is over
      for (const t of [9100, 9200]) d.placed('A', 0, t);
      expect(d.awaitsReading(20_000, 2000)).toBe(false);
      d.placed('A', 0, 9300); // a new run
      expect(d.awaitsReading(11_300, 2000)).toBe(true);
      // A reading asked for after the run was judgeable counts (a regular one, or another port's).
      d.reading(11_400);
      expect(d.awaitsReading(11_500, 2000)).toBe(false);
      // Another port's run; and none for a port out of service (ejected): it takes no connections.
      for (const t of [12_000, 12_100, 12_200]) d.placed('B', 0, t);
      expect(d.awaitsReading(14_200, 2000)).toBe(true);
      for (const t of [14_300, 14_301, 14_302]) d.observe('B', 0, FAIL, t);
      expect(d.reading(14_400).map((c) => c.kind)).toEqual(['ejected']);
      expect(d.awaitsReading(30_000, 2000)).toBe(false);
    });

    it('awaitsReading with consecutive_failures off: min_connections make the run', () => {
      const d = detector({ consecutiveFailures: 0, minConnections: 5, judgeAtReadings: true });
      for (const t of [0, 1, 2, 3]) d.placed('A', 1, t);
      expect(d.awaitsReading(10_000, 2000)).toBe(false);
      d.placed('A', 1, 4);
      expect(d.awaitsReading(10_000, 2000)).toBe(true);
      // Without judgeAtReadings (flows mode: every reading comes each poll anyway) nothing is counted or awaited.
      const flows = detector({ consecutiveFailures: 3 });
      for (const t of [0, 1, 2]) flows.placed('A', 0, t);
      expect(flows.awaitsReading(10_000, 2000)).toBe(false);
    });

    it('a healthy port whose refusals are interleaved with successes not yet read is not ejected', () => {
      const d = detector({ consecutiveFailures: 3, failureRatio: 0, judgeAtReadings: true });
      // Three refusals come at once within an interval; the connections that worked between them come at the reading.
      for (const t of [100, 200, 300, 400]) expect(d.observe('A', 0, FAIL, t)).toEqual([]);
      expect(d.observe('A', 0, OK, 1000)).toEqual([]);
      expect(d.reading(1000)).toEqual([]);
      expect(d.isEjected('A', 0)).toBe(false);
      // The next interval the same: its refusals are judged against its own reading, not added to the last ones.
      for (const t of [1100, 1200]) d.observe('A', 0, FAIL, t);
      d.observe('A', 0, OK, 2000);
      expect(d.reading(2000)).toEqual([]);
      expect(d.isEjected('A', 0)).toBe(false);
    });

    it('a dead port is ejected at the reading after its refusals, not before; its other port and backend are untouched', () => {
      const d = detector({ consecutiveFailures: 3, failureRatio: 0, judgeAtReadings: true });
      for (const t of [100, 200, 300]) expect(d.observe('A', 0, FAIL, t)).toEqual([]);
      d.observe('A', 1, OK, 1000);
      d.observe('B', 0, OK, 1000);
      expect(d.reading(1000)).toEqual([
        { kind: 'ejected', backend: 'A', port: 8080, portIndex: 0, until: 3000, ejections: 1, reason: '3 consecutive failures; last: reset by the backend 1 ms after the first packet' },
      ]);
      expect([d.isEjected('A', 0), d.isEjected('A', 1), d.isEjected('B', 0)]).toEqual([true, false, false]);
      expect(d.reading(2000)).toEqual([]); // judged once
    });

    it('a reading judges only the failures that came before it was asked for; wantsReading says when one is worth asking for', () => {
      const d = detector({ consecutiveFailures: 3, failureRatio: 0, judgeAtReadings: true });
      d.observe('A', 0, FAIL, 100);
      d.observe('A', 0, FAIL, 200);
      expect(d.wantsReading).toBe(false);
      d.observe('A', 0, FAIL, 300);
      expect(d.wantsReading).toBe(true);
      // A listing asked for at 250, before the third: it could not show a success made after it.
      expect(d.reading(250)).toEqual([]);
      expect(d.isEjected('A', 0)).toBe(false);
      expect(d.wantsReading).toBe(true);
      expect(d.reading(310)).toEqual([expect.objectContaining({ kind: 'ejected', backend: 'A', portIndex: 0, until: 2310, reason: expect.stringMatching(/^3 consecutive failures/) })]);
      expect(d.wantsReading).toBe(false);
    });

    it('refusals spread over readings add up when no success comes between them', () => {
      const d = detector({ consecutiveFailures: 3, failureRatio: 0, judgeAtReadings: true });
      d.observe('A', 0, FAIL, 100);
      expect(d.reading(1000)).toEqual([]);
      d.observe('A', 0, FAIL, 3_600_000);
      expect(d.reading(3_601_000)).toEqual([]);
      d.observe('A', 0, FAIL, 7_200_000);
      expect(d.reading(7_201_000)).toEqual([expect.objectContaining({ kind: 'ejected', backend: 'A', portIndex: 0 })]);
    });

    it('the failure ratio is judged at the reading too, with the successes it brings', () => {
      const d = detector({ consecutiveFailures: 0, failureRatio: 0.5, minConnections: 10, judgeAtReadings: true });
      for (let i = 0; i < 6; i++) d.observe('A', 0, FAIL, 100 + i);
      for (let i = 0; i < 14; i++) d.observe('A', 0, OK, 900);
      expect(d.reading(900)).toEqual([]); // 6 of 20
      for (let i = 0; i < 30; i++) d.observe('A', 0, FAIL, 1000 + i);
      expect(d.reading(2000)).toEqual([expect.objectContaining({ kind: 'ejected', reason: expect.stringMatching(/^36 of 50 connections failed/) })]);
    });
  });

  it('ejects a port after N consecutive failures, and a success in between restarts the count', () => {
    const d = detector({ consecutiveFailures: 3, failureRatio: 0 });
    expect(d.observe('A', 0, FAIL, 100)).toEqual([]);
    expect(d.observe('A', 0, FAIL, 110)).toEqual([]);
    expect(d.observe('A', 0, OK, 120)).toEqual([]);
    expect(d.observe('A', 0, FAIL, 130)).toEqual([]);
    expect(d.observe('A', 0, FAIL, 140)).toEqual([]);
    const changes = d.observe('A', 0, FAIL, 150);
    expect(changes).toEqual([{ kind: 'ejected', backend: 'A', port: 8080, portIndex: 0, until: 2150, ejections: 1, reason: expect.stringMatching(/^3 consecutive failures; last: reset by the backend/) }]);
    expect(d.isEjected('A', 0)).toBe(true);
    // The other port of the same backend, and the other backend, are untouched.
    expect(d.isEjected('A', 1)).toBe(false);
    expect(d.isEjected('B', 0)).toBe(false);
  });

  it('ejects on the failure ratio of a window once it has enough connections', () => {
    const d = detector({ consecutiveFailures: 0, failureRatio: 0.5, minConnections: 4, windowMs: 1000 });
    // fail, ok, fail: 2 of 3, not enough connections yet; the fourth (a failure) makes 3 of 4.
    expect(d.observe('B', 0, FAIL, 0)).toEqual([]);
    expect(d.observe('B', 0, OK, 10)).toEqual([]);
    expect(d.observe('B', 0, FAIL, 20)).toEqual([]);
    expect(d.observe('B', 0, FAIL, 30)).toEqual([expect.objectContaining({ kind: 'ejected', reason: expect.stringMatching(/^3 of 4 connections failed within 1000 ms/) })]);
  });

  it('starts a new window when the last one is over', () => {
    const d = detector({ consecutiveFailures: 0, failureRatio: 0.5, minConnections: 4, windowMs: 1000 });
    for (const t of [0, 10, 20]) d.observe('B', 0, FAIL, t);
    // 1 s later: the old failures no longer count.
    expect(d.observe('B', 0, FAIL, 1020)).toEqual([]);
    expect(d.observe('B', 0, OK, 1030)).toEqual([]);
    expect(d.observe('B', 0, OK, 1040)).toEqual([]);
    expect(d.observe('B', 0, OK, 1050)).toEqual([]);
  });

  it('asks for a probe when the ejection ends; a passing probe re-admits, a failing one doubles the ejection up to the maximum', () => {
    const d = detector({ consecutiveFailures: 1, ejectionMs: 1000, maxEjectionMs: 3000 });
    d.observe('B', 0, FAIL, 0);
    expect(d.tick(999)).toEqual([]);
    expect(d.tick(1000)).toEqual([{ kind: 'probe', backend: 'B', port: 8080, portIndex: 0 }]);
    expect(d.tick(1100)).toEqual([]); // one probe at a time
    expect(d.isEjected('B', 0)).toBe(true); // still out while it is probed
    expect(d.probeResult('B', 0, false, 'connection refused', 1200)).toEqual([expect.objectContaining({ kind: 'ejected', until: 3200, ejections: 2 })]);
    d.tick(3200);
    expect(d.probeResult('B', 0, false, 'connection refused', 3300)).toEqual([expect.objectContaining({ kind: 'ejected', until: 6300, ejections: 3 })]); // capped at 3000
    d.tick(6300);
    expect(d.probeResult('B', 0, true, 'connected', 6400)).toEqual([{ kind: 'readmitted', backend: 'B', port: 8080, portIndex: 0, reason: 'probe passed: connected' }]);
    expect(d.isEjected('B', 0)).toBe(false);
    // Re-admitted: the next ejection is the first again.
    expect(d.observe('B', 0, FAIL, 7000)).toEqual([expect.objectContaining({ until: 8000, ejections: 1 })]);
  });

  it('ignores a probe result nobody asked for', () => {
    const d = detector({ consecutiveFailures: 1 });
    expect(d.probeResult('B', 0, true, 'connected', 0)).toEqual([]);
    d.observe('B', 0, FAIL, 0);
    expect(d.probeResult('B', 0, true, 'connected', 10)).toEqual([]); // ejected, but its probe is not due yet
    expect(d.isEjected('B', 0)).toBe(true);
  });

  it('re-admits a port on a connection that worked while it was out', () => {
    const d = detector({ consecutiveFailures: 1 });
    d.observe('B', 0, FAIL, 0);
    expect(d.observe('B', 0, OK, 50)).toEqual([expect.objectContaining({ kind: 'readmitted', reason: 'a connection succeeded' })]);
  });

  it('never takes out whole backends beyond max_ejected_percent, but always allows one', () => {
    const three = [{ id: 'A', ports: [80] }, { id: 'B', ports: [80] }, { id: 'C', ports: [80] }];
    const d = detector({ consecutiveFailures: 1, maxEjectedPercent: 50 }, three);
    expect(d.observe('A', 0, FAIL, 0)).toHaveLength(1);
    expect(d.observe('B', 0, FAIL, 0)).toEqual([]); // 2 of 3 would be over 50 %
    expect(d.isEjected('B', 0)).toBe(false);
    const none = detector({ consecutiveFailures: 1, maxEjectedPercent: 0 }, three);
    expect(none.observe('A', 0, FAIL, 0)).toHaveLength(1);
    // Ports of a backend that keeps another one serving do not count.
    const ports = detector({ consecutiveFailures: 1, maxEjectedPercent: 0 }, [{ id: 'A', ports: [80, 81] }, { id: 'B', ports: [80] }]);
    expect(ports.observe('B', 0, FAIL, 0)).toHaveLength(1);
    expect(ports.observe('A', 0, FAIL, 0)).toHaveLength(1);
    expect(ports.observe('A', 1, FAIL, 0)).toEqual([]);
  });

  it('keeps a member\'s record across setMembers while it is the same member, forgets a replaced one', () => {
    const a = { id: 'A', ports: [80] };
    const d = detector({ consecutiveFailures: 1 }, [a]);
    d.observe('A', 0, FAIL, 0);
    d.setMembers([a, { id: 'B', ports: [80] }], 10);
    expect(d.isEjected('A', 0)).toBe(true);
    d.setMembers([{ id: 'A', ports: [80] }], 20);
    expect(d.isEjected('A', 0)).toBe(false);
    expect(d.ejected()).toEqual([]);
  });

  it('refuses invalid options with the field named', () => {
    expect(() => new OutlierDetector(opts({ failureRatio: 1.5 }))).toThrow(LbInputError);
    expect(() => new OutlierDetector(opts({ maxEjectionMs: 10, ejectionMs: 100 }))).toThrow(/outlier.maxEjectionMs/);
    expect(() => new OutlierDetector(opts({ consecutiveFailures: -1 }))).toThrow(/outlier.consecutiveFailures/);
  });
});

describe('ports out of rotation', () => {
  it('the port picker skips a port that is out while another serves; all out: the backend is not eligible', () => {
    const b = new Backend({ id: 'A', ip: 1, ports: [8080, 8081] });
    setPortOut(b, 1, PORT_OUT_HEALTH, true);
    expect([0, 1, 2, 3].map(() => b.ports[pickPortIndex(b)])).toEqual([8080, 8080, 8080, 8080]);
    expect(b.eligibleFor(false)).toBe(true);
    setPortOut(b, 0, PORT_OUT_HEALTH, true);
    expect(b.eligibleFor(false)).toBe(false);
    expect(b.servingFor(false)).toBe(false);
    setPortOut(b, 1, PORT_OUT_HEALTH, false);
    setPortOut(b, 0, PORT_OUT_HEALTH, false);
    expect(b.portsOut).toBe(0);
    expect(new Set([0, 1, 2, 3].map(() => b.ports[pickPortIndex(b)]))).toEqual(new Set([8080, 8081]));
  });

  it('with every port out, the port picker skips none: fewest connections, ties in rotation, as with none out', () => {
    const b = new Backend({ id: 'A', ip: 1, ports: [8080, 8081, 8082] });
    for (const index of [0, 1, 2]) setPortOut(b, index, PORT_OUT_HEALTH, true);
    expect(b.portsOut).toBe(3);
    expect([0, 1, 2, 3].map(() => b.ports[pickPortIndex(b)])).toEqual([8080, 8081, 8082, 8080]);
    b.portConns[0] = 2;
    b.portConns[1] = 0;
    b.portConns[2] = 1;
    expect(b.ports[pickPortIndex(b)]).toBe(8081);
  });
});

describe('outlier probes per family (a dual-stack backend)', () => {
  const fail = (family: 'ipv4' | 'ipv6') => ({ ...FAIL, family });

  it('a probe goes to the family whose failure ejected the port; a failed probe keeps that family, a re-admission forgets it', () => {
    const d = detector({ consecutiveFailures: 2, ejectionMs: 1000 });
    d.observe('B', 0, fail('ipv4'), 0);
    expect(d.observe('B', 0, fail('ipv6'), 10)).toEqual([expect.objectContaining({ kind: 'ejected', family: 'ipv6' })]);
    expect(d.tick(1010)).toEqual([{ kind: 'probe', backend: 'B', port: 8080, portIndex: 0, family: 'ipv6' }]);
    expect(d.probeResult('B', 0, false, 'connection refused', 1020)).toEqual([expect.objectContaining({ kind: 'ejected', ejections: 2, until: 3020, family: 'ipv6' })]);
    expect(d.tick(3020)).toEqual([{ kind: 'probe', backend: 'B', port: 8080, portIndex: 0, family: 'ipv6' }]);
    expect(d.probeResult('B', 0, true, 'connected', 3030)).toEqual([expect.objectContaining({ kind: 'readmitted' })]);
    d.observe('B', 0, fail('ipv4'), 4000);
    expect(d.observe('B', 0, fail('ipv4'), 4010)).toEqual([expect.objectContaining({ kind: 'ejected', family: 'ipv4' })]);
    expect(d.tick(5010)).toEqual([{ kind: 'probe', backend: 'B', port: 8080, portIndex: 0, family: 'ipv4' }]);
  });

  it('an outcome without a family (a single-family caller) asks for a probe without one', () => {
    const d = detector({ consecutiveFailures: 1, ejectionMs: 1000 });
    expect(d.observe('B', 0, FAIL, 0)).toEqual([expect.not.objectContaining({ family: expect.anything() })]);
    expect(d.tick(1000)).toEqual([{ kind: 'probe', backend: 'B', port: 8080, portIndex: 0 }]);
  });

  it('LbService: IPv6 connections reset early or never established eject with family ipv6; IPv4 ones with ipv4', () => {
    const settings = { ...DEFAULT_OUTLIER_SETTINGS, consecutiveFailures: 3, failureRatio: 0, connectTimeoutMs: 2000 };
    const dual = () => new LbService([{ id: 'D', ip: 0x0a00000b, ip6: 'fd00::11', ports: [8080] }], { scheduler: 'rr', outlier: settings });
    const pkt6 = (port: number) => ({ srcIp: 1, srcPort: port, dstIp: 2, dstPort: 80, proto: 6, ip6: ipv6Pair([0xfd000000, 0, 0, 0x101, 0xfd000000, 0, 0, 0x100]) });
    const reset = dual();
    for (let i = 0; i < 3; i++) {
      reset.open(pkt6(5000 + i), 'active', i * 10);
      reset.end(connKeyOf(pkt6(5000 + i)), 'backend', true, i * 10 + 1);
    }
    expect(reset.takeOutlierChanges()).toEqual([expect.objectContaining({ kind: 'ejected', backend: 'D', family: 'ipv6' })]);
    expect(reset.outlierTick(100_000)).toEqual([{ kind: 'probe', backend: 'D', port: 8080, portIndex: 0, family: 'ipv6' }]);
    const silent = dual();
    for (let i = 0; i < 3; i++) silent.open(pkt6(6000 + i), 'active', 0);
    silent.judgeOpenConnections(2000);
    expect(silent.takeOutlierChanges()).toEqual([expect.objectContaining({ kind: 'ejected', family: 'ipv6', reason: expect.stringMatching(/not established/) })]);
    const silent4 = dual();
    for (let i = 0; i < 3; i++) silent4.open(packet(0xc0a80001, 7000 + i), 'active', 0);
    silent4.judgeOpenConnections(2000);
    expect(silent4.takeOutlierChanges()).toEqual([expect.objectContaining({ kind: 'ejected', family: 'ipv4' })]);
  });
});

describe('LbService with outlier detection (what the datapath shows)', () => {
  const settings = { ...DEFAULT_OUTLIER_SETTINGS, consecutiveFailures: 3, failureRatio: 0 };
  const keyOf = (port: number): ConnKey => ({ proto: 6, clientIp: 0xc0a80001, clientPort: port, vip: 0x0a000064, vipPort: 80 });

  function service() {
    return new LbService([
      { id: 'A', ip: 0x0a00000b, ports: [8080, 8081] },
      { id: 'B', ip: 0x0a00000c, ports: [8080] },
    ], { scheduler: 'rr', outlier: settings });
  }

  /** Opens a connection from client port `n`; returns where it went. */
  function open(lb: LbService, n: number, now: number) {
    const p = lb.open(packet(0xc0a80001, n), 'inactive', now)!;
    return { key: keyOf(n), backend: p.backend.id, port: p.softwarePort };
  }

  it('three backend resets right after the first packet take the port out; it gets no new connection until a probe passes', () => {
    const lb = service();
    const failed: string[] = [];
    let now = 0;
    let n = 1000;
    // Port 8081 of A refuses (the backend answers the SYN with a RST); the others answer and close with a FIN.
    while (lb.takeOutlierChanges().length === 0 && now < 10_000) {
      const c = open(lb, n++, now);
      const dead = c.backend === 'A' && c.port === 8081;
      lb.end(c.key, 'backend', dead, now + 2);
      if (dead) failed.push(`${c.backend}:${c.port}`);
      now += 50;
    }
    expect(failed).toEqual(['A:8081', 'A:8081', 'A:8081']);
    expect(lb.ejectedPorts()).toEqual([{ backend: 'A', port: 8081, until: expect.any(Number), ejections: 1 }]);
    const placed = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const c = open(lb, n++, now);
      placed.add(`${c.backend}:${c.port}`);
      lb.end(c.key, 'backend', false, now + 2);
    }
    expect(placed).toEqual(new Set(['A:8080', 'B:8080']));
    expect(lb.outlierTick(now)).toEqual([]); // not over yet
    const probes = lb.outlierTick(now + settings.ejectionMs);
    // The family of the connections that failed (where the probe goes on a dual-stack backend).
    expect(probes).toEqual([{ kind: 'probe', backend: 'A', port: 8081, portIndex: 1, family: 'ipv4' }]);
    lb.outlierProbeResult('A', 1, true, 'connected', now + settings.ejectionMs + 5);
    expect(lb.takeOutlierChanges()).toEqual([expect.objectContaining({ kind: 'readmitted', port: 8081 })]);
    const after = new Set<string>();
    for (let i = 0; i < 6; i++) after.add(`${open(lb, n++, now + 3000).backend}:${open(lb, n++, now + 3000).port}`);
    expect([...after].some((s) => s.endsWith(':8081'))).toBe(true);
  });

  it('a backend RST later than reset_within, a client RST, and a FIN are not failures', () => {
    const lb = service();
    for (let i = 0; i < 10; i++) {
      const c = open(lb, 2000 + i, i * 10);
      if (i % 3 === 0) lb.end(c.key, 'backend', true, i * 10 + settings.resetWithinMs + 1);
      else if (i % 3 === 1) lb.end(c.key, 'client', true, i * 10 + 1);
      else lb.end(c.key, 'backend', false, i * 10 + 1);
    }
    expect(lb.takeOutlierChanges()).toEqual([]);
    expect(lb.ejectedPorts()).toEqual([]);
  });

  it('connections never established by the connect timeout are failures; established ones are not', () => {
    const lb = new LbService([{ id: 'A', ip: 1, ports: [80] }, { id: 'B', ip: 2, ports: [80] }], { scheduler: 'rr', outlier: settings });
    const conns = [0, 1, 2, 3, 4, 5].map((i) => open(lb, 3000 + i, 0));
    for (const c of conns) if (c.backend === 'A') lb.connections.setState(c.key, 'active');
    lb.judgeOpenConnections(settings.connectTimeoutMs - 1);
    expect(lb.takeOutlierChanges()).toEqual([]); // not timed out yet
    lb.judgeOpenConnections(settings.connectTimeoutMs);
    expect(lb.takeOutlierChanges()).toEqual([expect.objectContaining({ kind: 'ejected', backend: 'B', reason: expect.stringMatching(/not established 2000 ms after the first packet/) })]);
    // Each connection is judged once.
    lb.judgeOpenConnections(settings.connectTimeoutMs * 2);
    expect(lb.takeOutlierChanges()).toEqual([]);
  });

  it('connections re-tracked after a restart are not judged (their outcome belongs to the previous life)', () => {
    const lb = new LbService([{ id: 'A', ip: 1, ports: [80] }], { scheduler: 'rr', outlier: settings });
    const records = [0, 1, 2, 3].map((i) => ({ ...keyOf(5000 + i), backendId: 'A', softwarePort: 80, state: 'inactive' as const, created: 0, lastSeen: 0 }));
    expect(lb.connections.import(records, (id) => lb.backendById(id)).imported).toBe(4);
    lb.judgeOpenConnections(100_000);
    for (const r of records) lb.end(r, 'backend', true, 100_001);
    expect(lb.takeOutlierChanges()).toEqual([]);
  });

  it('UDP flows: answered ones worked, unanswered udpReplyWithinMs after the first datagram failed, only when the reading sees replies', () => {
    const udp = { ...settings, udpReplyWithinMs: 1000 };
    const lb = new LbService([{ id: 'A', ip: 1, ports: [53] }, { id: 'B', ip: 2, ports: [53] }], { scheduler: 'rr', outlier: udp });
    const flows = [0, 1, 2, 3, 4, 5].map((i) => {
      const pkt = { ...packet(0xc0a80001, 6000 + i), dstPort: 53, proto: 17 };
      const placed = lb.open(pkt, 'inactive', 0)!;
      return { key: { proto: 17, clientIp: pkt.srcIp, clientPort: pkt.srcPort, vip: pkt.dstIp, vipPort: 53 }, backend: placed.backend.id };
    });
    for (const f of flows) if (f.backend === 'A') expect(lb.connections.markReplied(f.key)).toBe(true);
    lb.judgeOpenConnections(5000, false);
    expect(lb.takeOutlierChanges()).toEqual([]); // this reading cannot tell a reply: nothing judged
    lb.judgeOpenConnections(999, true);
    expect(lb.takeOutlierChanges()).toEqual([]); // B's flows not past udpReplyWithinMs yet
    lb.judgeOpenConnections(1000, true);
    expect(lb.takeOutlierChanges()).toEqual([expect.objectContaining({
      kind: 'ejected', backend: 'B', reason: expect.stringMatching(/3 consecutive failures; last: no reply 1000 ms after the first datagram \(udp_reply_within 1000 ms\)/),
    })]);
    expect(lb.ejectedPorts().map((p) => p.backend)).toEqual(['B']);
  });

  it('a refusal of a connection vadc does not track (a datapath decision) is a failure of that backend port', () => {
    const lb = service();
    lb.refusedUntracked('A', 8081, 'ipv4', 10);
    lb.refusedUntracked('A', 8081, 'ipv4', 20);
    lb.refusedUntracked('A', 9999, 'ipv4', 25); // no such port: nothing
    lb.refusedUntracked('Z', 8081, 'ipv4', 25); // no such backend: nothing
    expect(lb.takeOutlierChanges()).toEqual([]);
    lb.refusedUntracked('A', 8081, 'ipv4', 30);
    expect(lb.takeOutlierChanges()).toEqual([expect.objectContaining({ kind: 'ejected', backend: 'A', port: 8081, reason: expect.stringMatching(/refused the connection/) })]);
  });

  it('without outlier settings nothing is judged', () => {
    const lb = new LbService([{ id: 'A', ip: 1, ports: [80] }], { scheduler: 'rr' });
    for (let i = 0; i < 5; i++) lb.end(open(lb, 4000 + i, 0).key, 'backend', true, 1);
    lb.judgeOpenConnections(100_000);
    expect(lb.takeOutlierChanges()).toEqual([]);
    expect(lb.backendById('A')!.eligibleFor(false)).toBe(true);
  });
});

describe('outlier configuration', () => {
  const base = { name: 'web', vip: '10.0.0.100', port: 80, backends: [{ vnic: 'v1', ip: '10.0.0.11', ports: [8080] }] };

  it('a TCP service without an outlier section gets the documented defaults, the same as the schema\'s', () => {
    const service = parseServiceConfig(base, 'test');
    expect(outlierSettingsOf(service)).toEqual(DEFAULT_OUTLIER_SETTINGS);
    expect(outlierSettingsOf({ ...service, outlier: DEFAULT_OUTLIER_CONFIG })).toEqual({ ...DEFAULT_OUTLIER_SETTINGS, udpReplyWithinMs: 0 });
    expect(DEFAULT_OUTLIER_SETTINGS).toMatchObject({ consecutiveFailures: 3, connectTimeoutMs: 2000, ejectionMs: 2000 });
  });

  it('is off for UDP services and when disabled', () => {
    expect(outlierSettingsOf(parseServiceConfig({ ...base, protocol: 'udp' }, 'test'))).toBeUndefined();
    expect(outlierSettingsOf(parseServiceConfig({ ...base, outlier: { enabled: false } }, 'test'))).toBeUndefined();
    expect(outlierSettingsOf(parseServiceConfig({ ...base, protocol: 'udp', outlier: { consecutive_failures: 4 } }, 'test'))).toBeUndefined();
  });

  it('a UDP service that sets udp_reply_within is judged, with it in milliseconds', () => {
    expect(outlierSettingsOf(parseServiceConfig({ ...base, protocol: 'udp', outlier: { udp_reply_within: 0.5 } }, 'test')))
      .toEqual({ ...DEFAULT_OUTLIER_SETTINGS, udpReplyWithinMs: 500 });
    expect(outlierSettingsOf(parseServiceConfig({ ...base, protocol: 'udp', outlier: { udp_reply_within: 1, enabled: false } }, 'test'))).toBeUndefined();
    expect(() => parseServiceConfig({ ...base, outlier: { udp_reply_within: -1 } }, 'test')).toThrow(/outlier.udp_reply_within.*expected a number of seconds 0..3600/s);
  });

  it('converts seconds to milliseconds', () => {
    const s = outlierSettingsOf(parseServiceConfig({ ...base, outlier: { consecutive_failures: 5, ejection_time: 0.5, max_ejection_time: 4, connect_timeout: 1.5 } }, 'test'));
    expect(s).toMatchObject({ consecutiveFailures: 5, ejectionMs: 500, maxEjectionMs: 4000, connectTimeoutMs: 1500 });
  });

  it('names the path and what was expected for invalid settings', () => {
    expect(() => parseServiceConfig({ ...base, outlier: { failure_ratio: 2 } }, 'test')).toThrow(/outlier.failure_ratio.*expected a ratio 0..1, got 2/s);
    expect(() => parseServiceConfig({ ...base, outlier: { ejection_time: 10, max_ejection_time: 5 } }, 'test')).toThrow(/max_ejection_time.*expected max_ejection_time >= ejection_time \(10 s\), got 5/s);
    expect(() => parseServiceConfig({ ...base, outlier: { consecutive: 3 } }, 'test')).toThrow(/consecutive/);
  });
});

// The edges of each rule and option, one at a time (issue 18: the mutants of outlier.ts that survived).
describe('outlier detector at its edges', () => {
  it('refuses each option just outside its range with the field, what was expected and the value; takes the edges', () => {
    const refused = (o: Partial<OutlierOptions>) => { try { new OutlierDetector(opts(o)); return 'accepted'; } catch (e) { return (e as Error).message; } };
    expect(refused({ consecutiveFailures: 1.5 })).toBe('outlier.consecutiveFailures: expected an integer >= 0, got 1.5');
    expect(refused({ failureRatio: -0.1 })).toBe('outlier.failureRatio: expected a ratio 0..1, got -0.1');
    expect(refused({ failureRatio: 1.01 })).toBe('outlier.failureRatio: expected a ratio 0..1, got 1.01');
    expect(refused({ windowMs: 0 })).toBe('outlier.windowMs: expected a positive window, got 0');
    expect(refused({ minConnections: 0 })).toBe('outlier.minConnections: expected an integer >= 1, got 0');
    expect(refused({ minConnections: 2.5 })).toBe('outlier.minConnections: expected an integer >= 1, got 2.5');
    expect(refused({ ejectionMs: 0, maxEjectionMs: 10 })).toBe('outlier.ejectionMs: expected a positive time, got 0');
    expect(refused({ ejectionMs: 100, maxEjectionMs: 99 })).toBe('outlier.maxEjectionMs: expected a time >= ejectionMs (100), got 99');
    expect(refused({ maxEjectedPercent: -1 })).toBe('outlier.maxEjectedPercent: expected a percentage 0..100, got -1');
    expect(refused({ maxEjectedPercent: 101 })).toBe('outlier.maxEjectedPercent: expected a percentage 0..100, got 101');
    for (const edge of [{ consecutiveFailures: 0 }, { failureRatio: 0 }, { failureRatio: 1 }, { windowMs: 1 }, { minConnections: 1 },
      { ejectionMs: 100, maxEjectionMs: 100 }, { maxEjectedPercent: 0 }, { maxEjectedPercent: 100 }]) {
      expect([edge, refused(edge)]).toEqual([edge, 'accepted']);
    }
    expect(new OutlierDetector(opts({ windowMs: 1234 })).options).toEqual(opts({ windowMs: 1234 }));
  });

  it('before any members, and for a backend or port it does not know, it reports nothing and changes nothing', () => {
    const empty = new OutlierDetector(opts({ consecutiveFailures: 1 }));
    expect([empty.tick(0), empty.ejected(), empty.observe('A', 0, FAIL, 0), empty.probeResult('A', 0, false, 'x', 0)]).toEqual([[], [], [], []]);
    const d = detector({ consecutiveFailures: 1 });
    for (const [backend, port] of [['Z', 0], ['A', 2], ['B', 1]] as const) {
      expect([backend, port, d.isEjected(backend, port), d.observe(backend, port, FAIL, 0), d.probeResult(backend, port, true, 'ok', 0)])
        .toEqual([backend, port, false, [], []]);
    }
    expect(d.ejected()).toEqual([]);
  });

  it('keeps the records of members that stay when the list is reordered', () => {
    const a = { id: 'A', ports: [80] };
    const b = { id: 'B', ports: [80] };
    const d = detector({ consecutiveFailures: 1 }, [a, b]);
    d.observe('B', 0, FAIL, 0);
    d.setMembers([b, a], 10);
    expect([d.isEjected('A', 0), d.isEjected('B', 0)]).toEqual([false, true]);
  });

  it('a failure while the port is out ejects it no further', () => {
    const d = detector({ consecutiveFailures: 1 });
    expect(d.observe('B', 0, FAIL, 0)).toHaveLength(1);
    expect(d.observe('B', 0, FAIL, 10)).toEqual([]);
    expect(d.ejected()).toEqual([{ backend: 'B', port: 8080, until: 2000, ejections: 1 }]);
  });

  it('a window lasts windowMs from its start, which is when the member was set', () => {
    const ratio = { consecutiveFailures: 0, failureRatio: 0.5, minConnections: 4, windowMs: 1000 };
    const d = detector(ratio);
    for (const t of [0, 10, 20]) d.observe('B', 0, FAIL, t);
    expect(d.observe('B', 0, FAIL, 1000)).toEqual([]); // exactly windowMs later: a new window, 1 of 1
    const late = new OutlierDetector(opts(ratio));
    late.setMembers([{ id: 'B', ports: [80] }], 5000);
    for (const t of [5000, 5010, 5020]) expect(late.observe('B', 0, FAIL, t)).toEqual([]);
    expect(late.observe('B', 0, FAIL, 5999)).toHaveLength(1); // 4 of 4 within the window that began at 5000
  });

  it('the ratio rule ejects at exactly the ratio, not below it, and is off at 0', () => {
    const ratio = { consecutiveFailures: 0, failureRatio: 0.5, minConnections: 4, windowMs: 1000 };
    const at = detector(ratio);
    for (const [t, o] of [[0, OK], [1, FAIL], [2, OK]] as const) expect(at.observe('B', 0, o, t)).toEqual([]);
    expect(at.observe('B', 0, FAIL, 3)).toEqual([expect.objectContaining({ kind: 'ejected', reason: expect.stringMatching(/^2 of 4 connections failed/) })]);
    const below = detector(ratio);
    for (const [t, o] of [[0, OK], [1, OK], [2, OK], [3, FAIL]] as const) expect(below.observe('B', 0, o, t)).toEqual([]);
    const off = detector({ ...ratio, failureRatio: 0, minConnections: 1 });
    for (const t of [0, 1, 2, 3, 4]) expect(off.observe('B', 0, FAIL, t)).toEqual([]);
  });

  it("a failed probe's ejection names the probe's reason", () => {
    const d = detector({ consecutiveFailures: 1, ejectionMs: 1000 });
    d.observe('B', 0, FAIL, 0);
    d.tick(1000);
    expect(d.probeResult('B', 0, false, 'connection refused', 1000)).toEqual([{
      kind: 'ejected', backend: 'B', port: 8080, portIndex: 0, until: 3000, ejections: 2, reason: 'probe failed: connection refused',
    }]);
  });

  it('a backend with one port out and another serving does not count against max_ejected_percent', () => {
    const members = [{ id: 'A', ports: [80, 81] }, { id: 'B', ports: [80] }, { id: 'C', ports: [80] }];
    const d = detector({ consecutiveFailures: 1, maxEjectedPercent: 34 }, members); // one whole backend of three
    expect(d.observe('A', 0, FAIL, 0)).toHaveLength(1);
    expect(d.observe('B', 0, FAIL, 0)).toHaveLength(1); // A is not out whole: B may go
    expect(d.observe('C', 0, FAIL, 0)).toEqual([]);
  });
});
