// The connection table's interned IPv6 VIP addresses (src/lb/conn-vips.ts): one index per address while a
// connection names it, let go with its last connection, and the table's IPv6 keys still told apart and read back
// whole by both addresses when many connections share few VIP addresses or a prefix VIP names many.
import { Vip6Intern } from '../../../src/lb/conn-vips';
import { Backend, ConnectionTable, connKeyFromText, type ConnKey } from '../../../src/lb';
import { ipv6PairWords } from '../../../src/net/ipv6';

const words = (...w: number[]) => Uint32Array.from(w);

/** The table with its interned VIP count in view. */
class VipCountingTable extends ConnectionTable {
  get vipCount(): number {
    return this.vips.size;
  }
}

/** Vip6Intern.intern of the four words of `w` from `at` (as int32s, as a key's pair holds them). */
function internAt(vips: Vip6Intern, w: ArrayLike<number>, at: number): number {
  return vips.intern(w[at] | 0, w[at + 1] | 0, w[at + 2] | 0, w[at + 3] | 0);
}

describe('Vip6Intern', () => {
  it('gives one index per address, read back from its words, and a new one for an address differing in any word', () => {
    const vips = new Vip6Intern();
    const a = internAt(vips, words(9, 1, 2, 3, 4), 1);
    expect(internAt(vips, words(1, 2, 3, 4), 0)).toBe(a);
    expect([...vips.words.subarray(a * 4, a * 4 + 4)]).toEqual([1, 2, 3, 4]);
    const others = [words(0, 2, 3, 4), words(1, 0, 3, 4), words(1, 2, 0, 4), words(1, 2, 3, 0)].map((w) => internAt(vips, w, 0));
    expect(new Set([a, ...others]).size).toBe(5);
    expect(vips.size).toBe(5);
  });

  it('lets an address go with its last reference and gives its index to the next new address', () => {
    const vips = new Vip6Intern();
    const a = internAt(vips, words(1, 2, 3, 4), 0);
    internAt(vips, words(1, 2, 3, 4), 0);
    const b = internAt(vips, words(5, 6, 7, 8), 0);
    vips.release(a);
    expect(vips.size).toBe(2);
    vips.release(a);
    expect(vips.size).toBe(1);
    const c = internAt(vips, words(0xffffffff, 0, 0, 1), 0);
    expect(c).toBe(a);
    expect([...vips.words.subarray(c * 4, c * 4 + 4)]).toEqual([0xffffffff, 0, 0, 1]);
    expect(internAt(vips, words(5, 6, 7, 8), 0)).toBe(b);
  });

  it('does not find a let-go address by the words it had, once its index holds another address', () => {
    // The last address's words are kept apart for the quick compare: they must follow the index to its next address.
    const vips = new Vip6Intern();
    const a = internAt(vips, words(0xfd000000, 0, 0, 0x100), 0);
    vips.release(a);
    const c = internAt(vips, words(0xfd000000, 0, 0, 0x200), 0);
    expect(c).toBe(a);
    const again = internAt(vips, words(0xfd000000, 0, 0, 0x100), 0);
    expect(again).not.toBe(c);
    expect([...vips.words.subarray(again * 4, again * 4 + 4)]).toEqual([0xfd000000, 0, 0, 0x100]);
    expect(internAt(vips, words(0xfd000000, 0, 0, 0x200), 0)).toBe(c);
    expect(vips.size).toBe(2);
  });

  it('finds each of many addresses again (past the few it compares one by one) and holds none after all are let go', () => {
    const vips = new Vip6Intern();
    const addr = (i: number) => words(0xfd000000, 0, i >>> 16, i & 0xffff);
    const first = Array.from({ length: 100 }, (_, i) => internAt(vips, addr(i), 0));
    expect(new Set(first).size).toBe(100);
    expect(Array.from({ length: 100 }, (_, i) => internAt(vips, addr(i), 0))).toEqual(first);
    for (const i of first) {
      vips.release(i);
      vips.release(i);
    }
    expect(vips.size).toBe(0);
  });
});

describe('connection table: IPv6 connections share interned VIP addresses', () => {
  const b = new Backend({ id: 'vm1', ip: '10.0.0.11', ports: [8080] });
  const key6 = (client: number, vip: number): ConnKey => connKeyFromText(6, `2001:db8::${client.toString(16)}`, 40000, `fd00:10::${vip.toString(16)}`, 80);

  it('finds, reads back and removes connections to 40 VIP addresses of a prefix, then holds no VIP address', () => {
    const table = new VipCountingTable();
    const keys: ConnKey[] = [];
    for (let vip = 1; vip <= 40; vip++) for (let client = 1; client <= 5; client++) keys.push(key6(client, vip));
    for (const k of keys) expect(table.insert(k, b, 0, 'active', 0)).toBe(true);
    expect(table.vipCount).toBe(40);
    // The same client and ports to another VIP address is another connection.
    expect(table.lookup(key6(1, 41))).toBeNull();
    expect(table.export().map((r) => [[...ipv6PairWords(r.ip6!)], r.vip])).toEqual(keys.map((k) => [[...ipv6PairWords(k.ip6!)], k.vip]));
    // Two connections of each VIP address removed: every address is still named, so none is let go, and connections to
    // 20 new addresses get indexes of their own; the rest are still found (backward-shift deletion rehashes them by
    // their stored words).
    const [gone, kept] = [keys.filter((k) => k.ip6!.s3 <= 2), keys.filter((k) => k.ip6!.s3 > 2)];
    for (const k of gone) expect(table.remove(k)).not.toBeNull();
    expect(table.vipCount).toBe(40);
    const later = Array.from({ length: 20 }, (_, i) => key6(1, 41 + i));
    for (const k of later) table.insert(k, b, 0, 'active', 0);
    expect(table.vipCount).toBe(60);
    for (const k of gone) expect(table.lookup(k)).toBeNull();
    for (const k of [...kept, ...later]) expect(table.lookup(k)?.backend).toBe(b);
    expect(table.export().map((r) => [...ipv6PairWords(r.ip6!)])).toEqual([...kept, ...later].map((k) => [...ipv6PairWords(k.ip6!)]));
    for (const k of [...kept, ...later]) table.remove(k);
    expect(table.size).toBe(0);
    expect(table.vipCount).toBe(0);
  });

  it('keeps one VIP address for all the connections to it', () => {
    const table = new VipCountingTable();
    for (let client = 1; client <= 300; client++) table.insert(key6(client, 1), b, 0, 'active', 0);
    expect(table.vipCount).toBe(1);
    expect(table.unsighted(1, 0).map((k) => k.ip6!.d3)).toEqual(Array.from({ length: 300 }, () => 1));
  });
});
