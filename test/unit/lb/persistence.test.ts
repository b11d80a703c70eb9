import { Backend, PersistenceTable } from '../../../src/lb';
import { ipv6Pair, parseIpv6, type Ipv6Pair } from '../../../src/net/ipv6';

// The persistence templates on their own (IPVS persistent services: ip_vs_sched_persist and the template's
// n_control), below LbService: which clients share a template, how long it lives, when it is dropped.

const A = () => new Backend({ id: 'A', ip: '10.0.0.11', ports: [8080] });
const B = () => new Backend({ id: 'B', ip: '10.0.0.12', ports: [8080] });
const CLIENT = 0x0a000033; // 10.0.0.51
const TIMEOUT = 10_000;

/** An IPv6 client address as a packet's `ip6` carries it (its client words; the VIP's, unread here, zero). */
function words(text: string): Ipv6Pair {
  const bytes = parseIpv6(text);
  const client = Array.from({ length: 4 }, (_, i) => ((bytes[4 * i] << 24) | (bytes[4 * i + 1] << 16) | (bytes[4 * i + 2] << 8) | bytes[4 * i + 3]) >>> 0);
  return ipv6Pair([...client, 0, 0, 0, 0]);
}

describe('persistence templates', () => {
  it('counts its templates: one per client key, none after the last one expired', () => {
    const a = A();
    const table = new PersistenceTable({ timeoutMs: TIMEOUT });
    expect(table.size).toBe(0);
    table.connectionOpened(CLIENT, undefined, a, 0);
    table.connectionOpened(CLIENT + 1, undefined, a, 0);
    table.connectionOpened(CLIENT, undefined, a, 0);
    expect(table.size).toBe(2);
    table.connectionClosed(CLIENT + 1, undefined, a, 0);
    expect(table.lookup(CLIENT + 1, undefined, [a], TIMEOUT)).toBeNull();
    expect(table.size).toBe(1);
  });

  it('a second connection of the client on the same backend keeps the template alive while it is open', () => {
    const a = A();
    const table = new PersistenceTable({ timeoutMs: TIMEOUT });
    table.connectionOpened(CLIENT, undefined, a, 0);
    table.connectionOpened(CLIENT, undefined, a, 1_000);
    table.connectionClosed(CLIENT, undefined, a, 2_000); // one of the two ended, one still open
    expect(table.lookup(CLIENT, undefined, [a], 2_000 + 5 * TIMEOUT)).toBe(a);
    table.connectionClosed(CLIENT, undefined, a, 100_000); // the last one ended: the timer starts
    expect(table.lookup(CLIENT, undefined, [a], 100_000 + TIMEOUT - 1)).toBe(a);
    expect(table.lookup(CLIENT, undefined, [a], 100_000 + TIMEOUT)).toBeNull();
  });

  it('a connection placed on another backend replaces the template (one open connection, on the new backend)', () => {
    const a = A();
    const b = B();
    const table = new PersistenceTable({ timeoutMs: TIMEOUT });
    table.connectionOpened(CLIENT, undefined, a, 0);
    table.connectionOpened(CLIENT, undefined, b, 0);
    expect(table.lookup(CLIENT, undefined, [a, b], 1)).toBe(b);
    table.connectionClosed(CLIENT, undefined, b, 1);
    expect(table.lookup(CLIENT, undefined, [a, b], 1 + TIMEOUT)).toBeNull(); // its only connection ended
  });

  it("a connection that ends on another backend than the template's leaves the template's count alone", () => {
    const a = A();
    const b = B();
    const table = new PersistenceTable({ timeoutMs: TIMEOUT });
    table.connectionOpened(CLIENT, undefined, a, 0);
    table.connectionClosed(CLIENT, undefined, b, 1); // e.g. a connection placed before the template moved
    expect(table.lookup(CLIENT, undefined, [a, b], 1 + 5 * TIMEOUT)).toBe(a); // A's connection is still open
  });

  it('a close for a client without a template is ignored', () => {
    const a = A();
    const table = new PersistenceTable({ timeoutMs: TIMEOUT });
    expect(() => table.connectionClosed(CLIENT, undefined, a, 0)).not.toThrow();
    expect(table.size).toBe(0);
    expect(table.lookup(CLIENT, undefined, [a], 0)).toBeNull();
  });

  it('more closes than opens do not leave a debt: the next connection keeps the template alive again', () => {
    const a = A();
    const table = new PersistenceTable({ timeoutMs: TIMEOUT });
    table.connectionOpened(CLIENT, undefined, a, 0);
    table.connectionClosed(CLIENT, undefined, a, 1);
    table.connectionClosed(CLIENT, undefined, a, 2); // a duplicate end: the count stays at 0
    expect(table.lookup(CLIENT, undefined, [a], 3)).toBe(a);
    table.connectionOpened(CLIENT, undefined, a, 3);
    expect(table.lookup(CLIENT, undefined, [a], 3 + 5 * TIMEOUT)).toBe(a);
  });

  it('IPv4 clients in one persistent netmask share a template, others do not', () => {
    const a = A();
    const b = B();
    const table = new PersistenceTable({ timeoutMs: TIMEOUT, netmask: 0xffffff00 });
    table.connectionOpened(0x0a000133, undefined, a, 0); // 10.0.1.51
    expect(table.lookup(0x0a0001fe, undefined, [a, b], 1)).toBe(a); // 10.0.1.254: the same /24
    expect(table.lookup(0x0a000233, undefined, [a, b], 1)).toBeNull(); // 10.0.2.51
  });

  it('IPv6 clients share a template by a prefix length that is not a multiple of 32 (/56)', () => {
    const a = A();
    const b = B();
    const table = new PersistenceTable({ timeoutMs: TIMEOUT, prefixLength6: 56 });
    table.connectionOpened(0, words('2001:db8:0:aa00::1'), a, 0);
    expect(table.lookup(0, words('2001:db8:0:aaff:ffff::9'), [a, b], 1)).toBe(a); // bits 56.. differ only
    expect(table.lookup(0, words('2001:db8:0:bb00::1'), [a, b], 1)).toBeNull(); // bit 48..55 differ
    expect(table.lookup(0, words('2001:db8:0:ab00::1'), [a, b], 1)).toBeNull(); // bit 55 differs
    expect(table.lookup(0, words('2001:db8:1:aa00::1'), [a, b], 1)).toBeNull(); // bit 47 differs
    expect(table.lookup(0, words('2001:db9:0:aa00::1'), [a, b], 1)).toBeNull(); // the first word differs
  });

  it('IPv6 clients by /20 and /100: the partial word masked, the words after it ignored', () => {
    const a = A();
    const by20 = new PersistenceTable({ timeoutMs: TIMEOUT, prefixLength6: 20 });
    by20.connectionOpened(0, words('2001:0db8::1'), a, 0);
    expect(by20.lookup(0, words('2001:0fff:1:2:3:4:5:6'), [a], 1)).toBe(a);
    expect(by20.lookup(0, words('2001:1db8::1'), [a], 1)).toBeNull();
    const by100 = new PersistenceTable({ timeoutMs: TIMEOUT, prefixLength6: 100 });
    by100.connectionOpened(0, words('2001:db8::1:0:0'), a, 0);
    expect(by100.lookup(0, words('2001:db8::1:fff:ffff'), [a], 1)).toBe(a);
    expect(by100.lookup(0, words('2001:db8::1:1000:0'), [a], 1)).toBeNull();
  });

  it('with expire_quiescent_template a quiesced backend loses its clients; without it they stay', () => {
    for (const expireQuiescent of [true, false, undefined]) {
      const a = A();
      const table = new PersistenceTable({ timeoutMs: TIMEOUT, expireQuiescent });
      table.connectionOpened(CLIENT, undefined, a, 0);
      expect(table.lookup(CLIENT, undefined, [a], 1)).toBe(a); // weight 1
      a.weight = 0;
      expect([expireQuiescent, table.lookup(CLIENT, undefined, [a], 2)]).toEqual([expireQuiescent, expireQuiescent === true ? null : a]);
    }
  });

  it('with expire_quiescent_template a backend that is not quiesced keeps its clients', () => {
    const a = A();
    a.weight = 3;
    const table = new PersistenceTable({ timeoutMs: TIMEOUT, expireQuiescent: true });
    table.connectionOpened(CLIENT, undefined, a, 0);
    expect(table.lookup(CLIENT, undefined, [a], 1)).toBe(a);
  });

  it('drops the template of a backend that is down or no longer a member', () => {
    const a = A();
    const b = B();
    const table = new PersistenceTable({ timeoutMs: TIMEOUT });
    table.connectionOpened(CLIENT, undefined, a, 0);
    expect(table.lookup(CLIENT, undefined, [b], 1)).toBeNull();
    expect(table.size).toBe(0);
    table.connectionOpened(CLIENT, undefined, a, 1);
    a.available = false;
    expect(table.lookup(CLIENT, undefined, [a, b], 2)).toBeNull();
    expect(table.size).toBe(0);
  });
});
