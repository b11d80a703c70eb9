import { Backend, LbService, bindConnection, connKeyOf, setThresholds, unbindConnection } from '../../../src/lb';
import { packet } from './fixtures';

function backend(upper: number, lower: number): Backend {
  return new Backend({ id: 'A', ip: '10.0.0.11', ports: [8080], upperThreshold: upper, lowerThreshold: lower });
}

describe('upper/lower connection thresholds and OVERLOAD', () => {
  it('sets OVERLOAD when active + inactive reaches the upper threshold', () => {
    const b = backend(4, 0);
    for (let i = 0; i < 3; i++) bindConnection(b, i % 2 ? 'active' : 'inactive', 0);
    expect(b.overloaded).toBe(false);
    bindConnection(b, 'active', 0);
    expect(b.overloaded).toBe(true);
  });

  it('without a lower threshold clears it only when count * 4 < upper * 3', () => {
    const b = backend(4, 0);
    for (let i = 0; i < 4; i++) bindConnection(b, 'active', 0);
    unbindConnection(b, 'active', 0); // 3*4 = 12, not < 12
    expect(b.overloaded).toBe(true);
    unbindConnection(b, 'active', 0); // 2*4 = 8 < 12
    expect(b.overloaded).toBe(false);
  });

  it('with a lower threshold clears it when the count drops below it', () => {
    const b = backend(4, 2);
    for (let i = 0; i < 4; i++) bindConnection(b, 'active', 0);
    unbindConnection(b, 'active', 0);
    unbindConnection(b, 'active', 0); // 2, not < 2
    expect(b.overloaded).toBe(true);
    unbindConnection(b, 'active', 0);
    expect(b.overloaded).toBe(false);
  });

  it('raising the upper threshold clears OVERLOAD at once', () => {
    const b = backend(1, 0);
    bindConnection(b, 'active', 0);
    expect(b.overloaded).toBe(true);
    setThresholds(b, 10, 0);
    expect(b.overloaded).toBe(false);
  });

  it('an overloaded backend takes no new connections; all overloaded -> null', () => {
    const service = new LbService(
      [{ id: 'A', ip: '10.0.0.11', ports: [8080], upperThreshold: 1 }, { id: 'B', ip: '10.0.0.12', ports: [8080], upperThreshold: 1 }],
      { scheduler: 'rr' },
    );
    expect(service.open(packet(1, 1), 'active', 0)!.backend.id).toBe('A');
    expect(service.open(packet(1, 2), 'active', 0)!.backend.id).toBe('B');
    expect(service.open(packet(1, 3), 'active', 0)).toBeNull();
    service.close(connKeyOf(packet(1, 1)), 1);
    expect(service.open(packet(1, 4), 'active', 1)!.backend.id).toBe('A');
  });
});

describe('weight 0 quiesces', () => {
  it('takes no new connections but keeps the established ones counted', () => {
    const service = new LbService(
      [{ id: 'A', ip: '10.0.0.11', ports: [8080] }, { id: 'B', ip: '10.0.0.12', ports: [8080] }],
      { scheduler: 'rr' },
    );
    service.open(packet(1, 1), 'active', 0);
    service.setWeight('A', 0);
    expect([2, 3, 4].map((p) => service.open(packet(1, p), 'active', 0)!.backend.id).join('')).toBe('BBB');
    expect(service.backendById('A')!.activeConns).toBe(1);
    expect(service.connections.lookup(connKeyOf(packet(1, 1)))!.backend.id).toBe('A');
  });
});
