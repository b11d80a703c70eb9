import { Backend, LbService, connKeyOf, pickPortIndex } from '../../../src/lb';
import { packet } from './fixtures';

describe('software port picker', () => {
  it('takes the port with the fewest outstanding connections, ties in rotation', () => {
    const b = new Backend({ id: 'vm1', ip: '10.0.0.11', ports: [8080, 8081, 8082] });
    const ports = () => b.ports[pickPortIndex(b)];
    expect([ports(), ports(), ports(), ports()]).toEqual([8080, 8081, 8082, 8080]);
    b.portConns[1] = 0;
    b.portConns[0] = 2;
    b.portConns[2] = 1;
    expect(ports()).toBe(8081);
  });

  it('takes the least loaded port even when it is not next in rotation, walking forward from the cursor', () => {
    const b = new Backend({ id: 'vm1', ip: '10.0.0.11', ports: [8080, 8081, 8082] });
    b.portConns.set([3, 2, 1]);
    expect(b.ports[pickPortIndex(b)]).toBe(8082); // the cursor was on 8080
    b.portConns.set([5, 5, 0]);
    b.portCursor = 1;
    expect(b.ports[pickPortIndex(b)]).toBe(8082); // 8081, 8082, 8080: the last port is reached going forward
    expect(b.portCursor).toBe(0);
  });

  it('rr over three VMs gives each VM every third connection, whatever their port counts', () => {
    const service = new LbService([
      { id: 'vm1', ip: '10.0.0.11', ports: [8080] },
      { id: 'vm2', ip: '10.0.0.12', ports: [8080, 8081] },
      { id: 'vm3', ip: '10.0.0.13', ports: [8080, 8081, 8082] },
    ], { scheduler: 'rr' });
    const placed = Array.from({ length: 9 }, (_, i) => {
      const p = service.open(packet(1, 2000 + i), 'active', 0)!;
      return `${p.backend.id}:${p.softwarePort}`;
    });
    expect(placed).toEqual([
      'vm1:8080', 'vm2:8080', 'vm3:8080',
      'vm1:8080', 'vm2:8081', 'vm3:8081',
      'vm1:8080', 'vm2:8080', 'vm3:8082',
    ]);
  });

  it('prefers the port whose connections ended', () => {
    const service = new LbService([{ id: 'vm1', ip: '10.0.0.11', ports: [8080, 8081] }], { scheduler: 'rr' });
    service.open(packet(1, 1), 'active', 0); // 8080
    service.open(packet(1, 2), 'active', 0); // 8081
    service.open(packet(1, 3), 'active', 0); // 8080 (tie, rotation)
    service.close(connKeyOf(packet(1, 2)), 1);
    expect(service.open(packet(1, 4), 'active', 1)!.softwarePort).toBe(8081);
  });
});

describe('persistence (client affinity)', () => {
  const make = () => new LbService([
    { id: 'A', ip: '10.0.0.11', ports: [8080] },
    { id: 'B', ip: '10.0.0.12', ports: [8080] },
  ], { scheduler: 'rr', persistence: { timeoutMs: 10_000 } });

  it('keeps a client on its backend while the template lives, others rotate', () => {
    const service = make();
    expect(service.open(packet(1, 1), 'active', 0)!.backend.id).toBe('A');
    expect(service.open(packet(1, 2), 'active', 0)!.backend.id).toBe('A');
    expect(service.open(packet(2, 1), 'active', 0)!.backend.id).toBe('B');
    expect(service.open(packet(1, 3), 'active', 0)!.backend.id).toBe('A');
  });

  it('lives while its connections are open, then timeoutMs after the last one ended', () => {
    const service = make();
    service.open(packet(1, 1), 'active', 0);
    expect(service.open(packet(1, 2), 'active', 60_000)!.backend.id).toBe('A'); // open conns keep it
    service.close(connKeyOf(packet(1, 1)), 70_000);
    service.close(connKeyOf(packet(1, 2)), 70_000);
    expect(service.place(packet(1, 3), 79_999)!.backend.id).toBe('A');
    expect(service.place(packet(1, 3), 80_000)!.backend.id).toBe('B'); // expired: rr goes on to B
  });

  it('drops the affinity when the backend goes down, keeps it when quiesced', () => {
    const service = make();
    service.open(packet(1, 1), 'active', 0);
    service.setWeight('A', 0);
    expect(service.place(packet(1, 2), 1)!.backend.id).toBe('A'); // IPVS default: quiesced keeps affinity
    service.setAvailable('A', false);
    expect(service.place(packet(1, 3), 2)!.backend.id).toBe('B');
  });
});
