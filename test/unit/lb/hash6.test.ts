// The IPv6 key's hash mixes its VIP's words first, so a service with one VIP address mixes them once (vipMix6) and the
// packet-in mixes only the client's words (hashConnKey6). Both ways must give the index the same number for the same
// 5-tuple, or a connection placed by the packet-in would be unknown to every other path (and the other way round).
import { Backend } from '../../../src/lb/backend';
import { connKeyFromText, hashConnKey, hashConnKey6, vipMix6, type ConnKey } from '../../../src/lb/conn-key';
import { ConnectionTable } from '../../../src/lb/conn-table';
import { copyIpv6Pair, ipv6Pair, ipv6PairWords, ipv6Words, parseIpv6 } from '../../../src/net/ipv6';
import { parsePrefix } from '../../../src/net/prefix';

/** A deterministic stream of 32-bit words (xorshift32), so a failure names a key that can be rebuilt. */
function words(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
}

function randomKey6(next: () => number): ConnKey {
  const ip6 = ipv6Pair(Array.from({ length: 8 }, () => next()));
  return { proto: next() & 1 ? 6 : 17, clientIp: 0, clientPort: next() & 0xffff, vip: 0, vipPort: next() & 0xffff, ip6 };
}

describe('hashConnKey6 (the VIP mixed once) against hashConnKey (every word per key)', () => {
  it('gives the same hash for 2,000 keys, the VIP mix taken from the key or from the VIP as configured', () => {
    const next = words(0x6c7);
    for (let n = 0; n < 2000; n++) {
      const k = randomKey6(next);
      expect([n, hashConnKey6(vipMix6(ipv6PairWords(k.ip6!), 4), k)]).toEqual([n, hashConnKey(k)]);
    }
    const k = connKeyFromText(6, '2001:db8::51', 40001, 'fd00:9::5', 80);
    expect(hashConnKey6(vipMix6(parsePrefix('fd00:9::5').words!, 0), k)).toBe(hashConnKey(k));
  });

  it('mixes in every address word, both ports and the protocol (a change of any one changes the hash)', () => {
    const next = words(0x16);
    for (let n = 0; n < 200; n++) {
      const k = randomKey6(next);
      const h = hashConnKey(k);
      for (let i = 0; i < 8; i++) {
        const flipped = ipv6PairWords(k.ip6!);
        flipped[i] ^= 1 << (n % 32);
        const other = { ...k, ip6: ipv6Pair(flipped) };
        expect([n, i, hashConnKey(other) !== h]).toEqual([n, i, true]);
        if (i < 4) expect([n, i, hashConnKey6(vipMix6(flipped, 4), other) !== h]).toEqual([n, i, true]);
      }
      expect(hashConnKey({ ...k, clientPort: k.clientPort ^ 1 })).not.toBe(h);
      expect(hashConnKey({ ...k, vipPort: k.vipPort ^ 1 })).not.toBe(h);
      expect(hashConnKey({ ...k, proto: k.proto === 6 ? 17 : 6 })).not.toBe(h);
    }
  });

  it('a connection inserted with the premixed hash (the packet-in) is found, ended and removed by text keys (the other paths), and the other way round', () => {
    const table = new ConnectionTable();
    const backend = new Backend({ id: 'vm1', ip: 0, ip6: 'fd00::11', ports: [8080] });
    const vip = 'fd00:9::5';
    const mix = vipMix6(ipv6Words(parseIpv6(vip)), 0);
    // The packet-in's scratch key: the header's eight words, reused for every packet.
    const scratch: ConnKey = { proto: 6, clientIp: 0, clientPort: 0, vip: 0, vipPort: 80, ip6: ipv6Pair() };
    const fill = (client: string, port: number) => {
      const w = new Uint32Array(8);
      ipv6Words(parseIpv6(client), 0, w, 0);
      ipv6Words(parseIpv6(vip), 0, w, 4);
      copyIpv6Pair(scratch.ip6!, ipv6Pair(w));
      scratch.clientPort = port;
      return hashConnKey6(mix, scratch);
    };
    // Enough connections to grow the table (64 slots at first) and rehash the index.
    for (let i = 0; i < 300; i++) {
      const hash = fill(`2001:db8::${i.toString(16)}`, 40000 + i);
      expect(table.lookup(scratch, hash)).toBeNull();
      expect(table.insert(scratch, backend, 0, 'active', 1000, hash)).toBe(true);
    }
    for (let i = 0; i < 300; i++) expect([i, table.has(connKeyFromText(6, `2001:db8::${i.toString(16)}`, 40000 + i, vip, 80))]).toEqual([i, true]);
    expect(table.has(connKeyFromText(6, '2001:db8::1', 40000, vip, 80))).toBe(false);
    expect(table.has(connKeyFromText(6, '2001:db8::1', 40001, 'fd00:9::6', 80))).toBe(false);
    // Inserted through the generic path, found through the premixed one.
    table.insert(connKeyFromText(6, '2001:db8::ffff', 50000, vip, 80), backend, 0, 'active', 1000);
    expect(table.lookup(scratch, fill('2001:db8::ffff', 50000))).not.toBeNull();
    // Removal by a text key re-hashes the slot's own words: every other connection stays findable by the premixed hash.
    for (let i = 0; i < 300; i += 2) expect(table.remove(connKeyFromText(6, `2001:db8::${i.toString(16)}`, 40000 + i, vip, 80))).not.toBeNull();
    for (let i = 0; i < 300; i++) expect([i, table.lookup(scratch, fill(`2001:db8::${i.toString(16)}`, 40000 + i)) !== null]).toEqual([i, i % 2 === 1]);
    expect(table.size).toBe(151);
  });
});
