// One backend's spec checks and the counters IPVS keeps per destination (src/lb/backend.ts): the bounds of each
// field with the field and value named, the OVERLOAD flag by the upper and lower thresholds (the kernel's
// ip_vs_bind_dest / ip_vs_unbind_dest / ip_vs_ctl update rules), ports out by one reason or two, and the weight 0
// quiesce that keeps the last weight.
import {
  Backend, LbInputError, PORT_OUT_HEALTH, PORT_OUT_OUTLIER, bindConnection, changeConnectionState, setPortOut, setThresholds, setWeight,
  unbindConnection, type BackendSpec,
} from '../../../src/lb';

const spec = (over: Partial<BackendSpec> = {}): BackendSpec => ({ id: 'vm1', ip: '10.0.0.11', ports: [8080, 8081], ...over });

function refusal(make: () => unknown): { field: string; reason: string } {
  try {
    make();
  } catch (err) {
    expect(err).toBeInstanceOf(LbInputError);
    const { field, reason } = err as LbInputError;
    return { field, reason };
  }
  throw new Error('not refused');
}

describe('Backend: the spec', () => {
  it('takes defaults: weight 1, no thresholds, up, no connections, no IPv6 address', () => {
    const b = new Backend(spec());
    expect(b).toMatchObject({
      id: 'vm1', ip: 0x0a00000b, ip6: undefined, ports: [8080, 8081], weight: 1, lastWeight: 1, upperThreshold: 0, lowerThreshold: 0,
      available: true, overloaded: false, activeConns: 0, inactiveConns: 0, completedConns: 0, lingeringConns: 0, portsOut: 0, portCursor: 0,
    });
    expect([...b.portConns]).toEqual([0, 0]);
    expect([...b.portOut]).toEqual([0, 0]);
    expect(b.servingFor(false) && b.eligibleFor(false)).toBe(true);
  });

  it("parses the IPv6 address once, keeps its own copy of the ports, and names a bad IPv6 address's backend", () => {
    const ports = [1, 65535];
    const b = new Backend(spec({ ip: 0, ip6: 'fd00::11', ports }));
    ports.push(80);
    expect(b.ports).toEqual([1, 65535]);
    expect(b.ip6 && [...b.ip6]).toEqual([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11]);
    expect(refusal(() => new Backend(spec({ ip6: 'fd00::zz' })))).toEqual({ field: 'backend vm1.ip6', reason: expect.any(String) });
  });

  it('refuses an empty id, no ports, and a port outside 1..65535, naming it', () => {
    expect(refusal(() => new Backend(spec({ id: '' })))).toEqual({ field: 'backend.id', reason: 'expected a non-empty string' });
    expect(refusal(() => new Backend(spec({ id: 7 as unknown as string })))).toEqual({ field: 'backend.id', reason: 'expected a non-empty string' });
    expect(refusal(() => new Backend(spec({ ports: [] })))).toEqual({ field: 'backend vm1.ports', reason: 'expected at least one software port' });
    expect(refusal(() => new Backend(spec({ ports: 8080 as unknown as number[] })))).toEqual({ field: 'backend vm1.ports', reason: 'expected at least one software port' });
    for (const port of [0, 65536, 80.5]) {
      expect(refusal(() => new Backend(spec({ ports: [80, port] })))).toEqual({ field: 'backend vm1.ports', reason: `expected ports 1..65535, got ${port}` });
    }
  });

  it('takes a weight 0..65535 and thresholds 0..2^31-1, and refuses a value past either end or not whole', () => {
    const b = new Backend(spec({ weight: 65535, upperThreshold: 2 ** 31 - 1, lowerThreshold: 2 ** 31 - 1 }));
    expect([b.weight, b.lastWeight, b.upperThreshold, b.lowerThreshold]).toEqual([65535, 65535, 2 ** 31 - 1, 2 ** 31 - 1]);
    expect(new Backend(spec({ weight: 0 })).eligibleFor(false)).toBe(false);
    expect(refusal(() => new Backend(spec({ weight: 65536 })))).toEqual({ field: 'backend vm1.weight', reason: 'expected an integer 0..65535, got 65536' });
    expect(refusal(() => new Backend(spec({ weight: -1 })))).toEqual({ field: 'backend vm1.weight', reason: 'expected an integer 0..65535, got -1' });
    expect(refusal(() => new Backend(spec({ weight: 1.5 })))).toEqual({ field: 'backend vm1.weight', reason: 'expected an integer 0..65535, got 1.5' });
    expect(refusal(() => new Backend(spec({ upperThreshold: 2 ** 31 }))))
      .toEqual({ field: 'backend vm1.upperThreshold', reason: `expected an integer 0..${2 ** 31 - 1}, got ${2 ** 31}` });
    expect(refusal(() => new Backend(spec({ lowerThreshold: -1 }))))
      .toEqual({ field: 'backend vm1.lowerThreshold', reason: `expected an integer 0..${2 ** 31 - 1}, got -1` });
  });
});

describe('Backend: counters and flags', () => {
  it('overhead weighs an active connection as 256 inactive ones and counts the lingering; totalConns does not', () => {
    const b = new Backend(spec());
    b.activeConns = 2;
    b.inactiveConns = 3;
    b.lingeringConns = 5;
    expect(b.overhead).toBe(2 * 256 + 3 + 5);
    expect(b.totalConns).toBe(5);
  });

  it('serves while one port serves; eligible also needs a weight and no OVERLOAD', () => {
    const b = new Backend(spec());
    setPortOut(b, 0, PORT_OUT_HEALTH, true);
    expect([b.servingFor(false), b.eligibleFor(false), b.portsOut]).toEqual([true, true, 1]);
    setPortOut(b, 1, PORT_OUT_OUTLIER, true);
    expect([b.servingFor(false), b.eligibleFor(false), b.portsOut]).toEqual([false, false, 2]);
    setPortOut(b, 1, PORT_OUT_OUTLIER, false);
    b.overloaded = true;
    expect([b.servingFor(false), b.eligibleFor(false)]).toEqual([true, false]);
    b.overloaded = false;
    b.available = false;
    expect([b.servingFor(false), b.eligibleFor(false)]).toEqual([false, false]);
  });

  it('a port is out while any reason holds it; setting or clearing a reason twice counts once', () => {
    const b = new Backend(spec());
    setPortOut(b, 1, PORT_OUT_HEALTH, true);
    setPortOut(b, 1, PORT_OUT_HEALTH, true);
    setPortOut(b, 1, PORT_OUT_OUTLIER, true);
    expect([b.portOut[1], b.portsOut]).toEqual([PORT_OUT_HEALTH | PORT_OUT_OUTLIER, 1]);
    setPortOut(b, 1, PORT_OUT_HEALTH, false);
    expect([b.portOut[1], b.portsOut]).toEqual([PORT_OUT_OUTLIER, 1]);
    setPortOut(b, 1, PORT_OUT_OUTLIER, false);
    setPortOut(b, 1, PORT_OUT_OUTLIER, false);
    expect([b.portOut[1], b.portsOut]).toEqual([0, 0]);
    expect(b.portOut[0]).toBe(0);
  });

  it('refuses a port index the backend does not have', () => {
    const b = new Backend(spec());
    for (const index of [-1, 2, 0.5]) {
      expect(refusal(() => setPortOut(b, index, PORT_OUT_HEALTH, true))).toEqual({ field: 'backend vm1.port', reason: `no port index ${index}` });
    }
    setPortOut(b, 1, PORT_OUT_HEALTH, true);
    expect(b.portsOut).toBe(1);
  });

  it('weight 0 quiesces and keeps the last weight; a bad weight is refused and changes nothing', () => {
    const b = new Backend(spec({ weight: 3 }));
    setWeight(b, 0);
    expect([b.weight, b.lastWeight, b.eligibleFor(false)]).toEqual([0, 3, false]);
    setWeight(b, 5);
    expect([b.weight, b.lastWeight]).toEqual([5, 5]);
    expect(refusal(() => setWeight(b, 65536))).toEqual({ field: 'backend vm1.weight', reason: 'expected an integer 0..65535, got 65536' });
    expect([b.weight, b.lastWeight]).toEqual([5, 5]);
  });

  it('sets OVERLOAD when the total reaches the upper threshold, counting per port and state', () => {
    const b = new Backend(spec({ upperThreshold: 3 }));
    bindConnection(b, 'active', 0);
    bindConnection(b, 'inactive', 1);
    expect([b.activeConns, b.inactiveConns, [...b.portConns], b.overloaded]).toEqual([1, 1, [1, 1], false]);
    bindConnection(b, 'inactive', 1);
    expect([b.activeConns, b.inactiveConns, [...b.portConns], b.overloaded]).toEqual([1, 2, [1, 2], true]);
    const unlimited = new Backend(spec());
    for (let i = 0; i < 5; i++) bindConnection(unlimited, 'active', 0);
    expect(unlimited.overloaded).toBe(false);
  });

  it('clears OVERLOAD below the lower threshold, or below 3/4 of the upper when there is no lower one', () => {
    const withLower = new Backend(spec({ upperThreshold: 4, lowerThreshold: 2 }));
    for (let i = 0; i < 4; i++) bindConnection(withLower, 'inactive', 0);
    expect(withLower.overloaded).toBe(true);
    unbindConnection(withLower, 'inactive', 0);
    unbindConnection(withLower, 'inactive', 0);
    expect([withLower.totalConns, withLower.overloaded]).toEqual([2, true]);
    unbindConnection(withLower, 'inactive', 0);
    expect([withLower.totalConns, withLower.overloaded, withLower.completedConns, withLower.portConns[0]]).toEqual([1, false, 3, 1]);

    const threeQuarters = new Backend(spec({ upperThreshold: 4 }));
    for (let i = 0; i < 4; i++) bindConnection(threeQuarters, 'active', 1);
    unbindConnection(threeQuarters, 'active', 1);
    expect([threeQuarters.totalConns, threeQuarters.overloaded]).toEqual([3, true]);
    unbindConnection(threeQuarters, 'active', 1);
    expect([threeQuarters.activeConns, threeQuarters.overloaded]).toEqual([2, false]);

    const none = new Backend(spec());
    bindConnection(none, 'active', 0);
    none.overloaded = true;
    unbindConnection(none, 'active', 0);
    expect(none.overloaded).toBe(false);
  });

  it('raising or removing the upper threshold clears OVERLOAD; lowering or keeping it does not', () => {
    const b = new Backend(spec({ upperThreshold: 2 }));
    const overload = (upper: number, lower = 0) => {
      b.overloaded = true;
      setThresholds(b, upper, lower);
      return b.overloaded;
    };
    expect(overload(2)).toBe(true);
    expect(overload(1)).toBe(true);
    expect(overload(3, 1)).toBe(false);
    expect([b.upperThreshold, b.lowerThreshold]).toEqual([3, 1]);
    expect(overload(0)).toBe(false);
    expect(refusal(() => setThresholds(b, 1, -1))).toEqual({ field: 'backend vm1.lowerThreshold', reason: `expected an integer 0..${2 ** 31 - 1}, got -1` });
    expect(refusal(() => setThresholds(b, 2 ** 31, 0)))
      .toEqual({ field: 'backend vm1.upperThreshold', reason: `expected an integer 0..${2 ** 31 - 1}, got ${2 ** 31}` });
    setThresholds(b, 2 ** 31 - 1, 0);
    expect(b.upperThreshold).toBe(2 ** 31 - 1);
  });

  it('moves a connection between active and inactive, and not at all when the state stays', () => {
    const b = new Backend(spec());
    bindConnection(b, 'inactive', 0);
    changeConnectionState(b, 'inactive', 'inactive');
    expect([b.activeConns, b.inactiveConns]).toEqual([0, 1]);
    changeConnectionState(b, 'inactive', 'active');
    expect([b.activeConns, b.inactiveConns]).toEqual([1, 0]);
    changeConnectionState(b, 'active', 'active');
    expect([b.activeConns, b.inactiveConns]).toEqual([1, 0]);
    changeConnectionState(b, 'active', 'inactive');
    expect([b.activeConns, b.inactiveConns]).toEqual([0, 1]);
  });
});
