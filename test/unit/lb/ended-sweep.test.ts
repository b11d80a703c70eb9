// ConnectionTable.sweepEnded: ended connections leave the table once the datapath has let them go (the tracker's close
// timeout after their end), without waiting for a reading, and nothing else does.
import { Backend, ConnKey, ConnectionTable } from '../../../src/lb';

const vm = (id: string) => new Backend({ id, ip: '10.0.0.11', ports: [8080] });
const key = (clientPort: number): ConnKey => ({ proto: 6, clientIp: 0xc0a80001, clientPort, vip: 0x0a000064, vipPort: 80 });
const ports = (t: ConnectionTable) => t.export().map((r) => r.clientPort).sort((a, b) => a - b);

describe('ConnectionTable.sweepEnded', () => {
  it('lets go of ended entries endedKeptMs after their end; closing, live and younger ones stay', () => {
    const b = vm('vm1');
    const t = new ConnectionTable(64, { endedKeptMs: 2000 });
    for (const p of [1, 2, 3, 4]) t.insert(key(p), b, 0, 'active', 0);
    t.markEnd(key(1), 'client', true, 100); // a RST: ended
    t.markEnd(key(2), 'client', false, 100); // one FIN: closing
    t.markEnd(key(3), 'client', false, 500);
    t.markEnd(key(3), 'backend', false, 600); // both FINs: ended at 600
    expect(t.sweepEnded(2099, Infinity)).toBe(0);
    expect(t.sweepEnded(2100, Infinity)).toBe(1);
    expect(ports(t)).toEqual([2, 3, 4]);
    expect(t.sweepEnded(2600, Infinity)).toBe(1);
    expect(ports(t)).toEqual([2, 4]);
    // Counted once: ended connections were uncounted at their end, and the sweep uncounts nothing again.
    expect([b.activeConns, b.inactiveConns, b.totalConns]).toEqual([1, 1, 2]);
    expect(t.sweepEnded(1e9, Infinity)).toBe(0);
  });

  it('at most max a call, oldest first', () => {
    const t = new ConnectionTable(64, { endedKeptMs: 1000 });
    const b = vm('vm1');
    for (let p = 1; p <= 10; p++) {
      t.insert(key(p), b, 0, 'active', 0);
      t.markEnd(key(p), 'backend', true, p);
    }
    expect(t.sweepEnded(5000, 4)).toBe(4);
    expect(ports(t)).toEqual([5, 6, 7, 8, 9, 10]);
    expect(t.sweepEnded(5000, 100)).toBe(6);
    expect(t.size).toBe(0);
  });

  it('passes over an entry removed (its slot reused by a live one), reopened, or seen again since its end', () => {
    const b = vm('vm1');
    const t = new ConnectionTable(64, { endedKeptMs: 1000 });
    for (const p of [1, 2, 3]) t.insert(key(p), b, 0, 'active', 0);
    for (const p of [1, 2, 3]) t.markEnd(key(p), 'client', true, 10);
    t.remove(key(1)); // the reading let it go: its slot is free ...
    t.insert(key(9), b, 0, 'active', 20); // ... and taken by a live connection
    expect(t.reopen(key(2), 30)).not.toBeNull(); // a reused port's SYN: live again
    t.sighted(key(3), 1, 500, false); // a listing still showed it at 500
    expect(t.sweepEnded(1010, Infinity)).toBe(0);
    expect(ports(t)).toEqual([2, 3, 9]);
    expect(t.sweepEnded(1500, Infinity)).toBe(1); // 3, a close timeout after it was seen last
    expect(ports(t)).toEqual([2, 9]);
    expect([b.activeConns, b.totalConns]).toEqual([2, 2]);
  });

  it('without endedKeptMs (flows mode: flow removals tell) nothing is swept; a bad time is refused', () => {
    const t = new ConnectionTable();
    t.insert(key(1), vm('vm1'), 0, 'active', 0);
    t.markEnd(key(1), 'client', true, 10);
    expect(t.sweepEnded(1e9, Infinity)).toBe(0);
    expect(t.size).toBe(1);
    expect(() => new ConnectionTable(64, { endedKeptMs: -1 })).toThrow(/conn\.endedKeptMs.*expected a time >= 0/);
  });
});
