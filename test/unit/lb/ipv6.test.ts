// IPv6 in the load-balancing core (issue 16): the connection table keyed on 128-bit addresses next to IPv4 ones,
// IPVS's address fold for the hashing schedulers, and persistence by IPv6 prefix.
import {
  Backend, ConnectionTable, DestinationHashScheduler, LbService, LocalityLeastConnectionScheduler, SourceHashScheduler, connAddresses, connKeyFromText, connKeyOf, hashConnKey,
  LbInputError, type ConnKey, type PacketKey,
} from '../../../src/lb';
import { CT_ACCOUNTING_FLOW_SHAPE } from '../../../src/app/nat/flow-accounting';
import { buildCtConnectionFlow } from '../../../src/flows';
import type { FlowStats } from '../../../src/openflow';
import { foldIpv6, formatEndpoint, formatIpv6Words, ipv6Words, parseIpv6 } from '../../../src/net';
import { formatIpv6Source, formatIpv6Destination, ipv6Pair } from '../../../src/net/ipv6';
import { clientFold6, vipFold6 } from '../../../src/lb/conn-key';

const words = (text: string): Uint32Array => ipv6Words(parseIpv6(text));

/** A TCP first packet from client:port to vip:80, IPv6 as the packet-in path will make it. */
function packet6(client: string, port: number, vip = 'fd00::1:100'): PacketKey {
  const ip6 = ipv6Pair([...words(client), ...words(vip)]);
  return { proto: 6, srcIp: clientFold6(ip6), srcPort: port, dstIp: vipFold6(ip6), dstPort: 80, ip6 };
}

/**
 * The kernel's functions written out here, apart from src (no foldIpv6, no hash32): addr_fold of ip_vs_dh.c and
 * ip_vs_lblc.c (the xor of the address's four 32-bit words, host order) and hash_32 of include/linux/hash.h
 * ((val * GOLDEN_RATIO_32) >> (32 - bits), 32-bit product), computed with BigInt.
 */
function kernelAddrFold(address: string): number {
  const w = words(address);
  return (w[0] ^ w[1] ^ w[2] ^ w[3]) >>> 0;
}
function kernelHash32(value: number, bits: number): number {
  return Number(((BigInt(value) * 0x61c88647n) & 0xffffffffn) >> BigInt(32 - bits));
}

const backends = (): Backend[] => ['A', 'B', 'C'].map((id, i) => new Backend({ id, ip: 0, ip6: `fd00:2::${i + 1}`, ports: [8080] }));

describe('IPVS address fold (addr_fold in ip_vs_sh.c, ip_vs_dh.c, ip_vs_lblc.c)', () => {
  it('is the xor of the four 32-bit words', () => {
    expect(foldIpv6(words('2001:db8::1'))).toBe((0x20010db8 ^ 1) >>> 0);
    expect(foldIpv6(words('2001:db8:1:2:3:4:5:6'))).toBe((0x20010db8 ^ 0x00010002 ^ 0x00030004 ^ 0x00050006) >>> 0);
    expect(formatIpv6Words(words('2001:db8:1:2:3:4:5:6'))).toBe('2001:db8:1:2:3:4:5:6');
  });

  it("is an int32 holding the kernel's u32 bits (a fold at or above 2^31 is negative)", () => {
    expect(foldIpv6(words('fd00:10::100'))).toBe(0xfd000110 | 0);
    expect(foldIpv6(words('fd00:10::100')) >>> 0).toBe(kernelAddrFold('fd00:10::100'));
    expect(foldIpv6(words('2001:db8::1'))).toBe(kernelAddrFold('2001:db8::1'));
  });

  it('keys sh exactly as the kernel: bucket hash_32(ntohs(sport) + ntohl(fold), 8), folds above 2^31 too', () => {
    const sh = new SourceHashScheduler({ hashPort: true });
    const list = backends();
    sh.onChange(list);
    const owners = sh.bucketOwners();
    for (let port = 1000; port < 1100; port++) {
      for (const client of [`2001:db8:${port.toString(16)}::7`, `fd00:db8:${port.toString(16)}::7`]) {
        const bucket = kernelHash32((port + kernelAddrFold(client)) % 2 ** 32, 8);
        expect([client, sh.pick(list, packet6(client, port), 0)?.id]).toEqual([client, owners[bucket]?.id]);
      }
    }
  });
});

describe('dh and lblc with IPv6 destinations, as IPVS keys them', () => {
  // 200 destinations in one /64 prefix VIP (dh and lblc are the schedulers for prefix VIPs).
  const destinations = Array.from({ length: 200 }, (_, i) => `fd00:9::${((i * 7919) & 0xffff).toString(16)}:${i.toString(16)}`);

  it('dh: bucket hash_32(ntohl(addr_fold(daddr)), 8) (ip_vs_dh_hashkey, IP_VS_DH_TAB_BITS 8)', () => {
    const dh = new DestinationHashScheduler();
    const list = backends();
    dh.onChange(list);
    const owners = dh.bucketOwners();
    const picked = new Set<string>();
    for (const dst of destinations) {
      const chosen = dh.pick(list, packet6('2001:db8::1', 40000, dst), 0)!.id;
      expect([dst, chosen]).toEqual([dst, owners[kernelHash32(kernelAddrFold(dst), 8)]!.id]);
      picked.add(chosen);
    }
    expect(picked.size).toBe(3);
  });

  it('lblc: keyed by the fold, so two destinations with one fold share an entry (the divergence in docs/schedulers.md)', () => {
    const lblc = new LocalityLeastConnectionScheduler();
    const list = backends();
    // fd00:9::7 and fd00:9::1:0:1:7 differ, but their folds agree: 0xfd000009 ^ 0x7 = 0xfd000009 ^ 0x10000 ^ 0x10007.
    expect(kernelAddrFold('fd00:9::1:0:1:7')).toBe(kernelAddrFold('fd00:9::7'));
    const first = lblc.pick(list, packet6('2001:db8::1', 40000, 'fd00:9::7'), 0)!;
    // One connection on it (not overloaded: not above its weight), so least-connection alone would pick another.
    first.activeConns = 1;
    expect(lblc.pick(list, packet6('2001:db8::2', 40001, 'fd00:9::1:0:1:7'), 1)).toBe(first);
    expect(lblc.cachedDestinations).toBe(1);
    // Another fold is another entry, and least-connection placement sends it elsewhere.
    expect(lblc.pick(list, packet6('2001:db8::3', 40002, 'fd00:9::8'), 2)).not.toBe(first);
    expect(lblc.cachedDestinations).toBe(2);
  });
});

describe('connection table with IPv6 keys', () => {
  const key6 = (client: string, port: number): ConnKey => connKeyOf(packet6(client, port));

  it('tracks, finds, exports, imports and removes IPv6 connections beside IPv4 ones', () => {
    const [a, b] = backends();
    const table = new ConnectionTable(16);
    const v4: ConnKey = { proto: 6, clientIp: 0x0a000033, clientPort: 40000, vip: 0x0a000064, vipPort: 80 };
    expect(table.insert(v4, a, 0, 'inactive', 1)).toBe(true);
    for (let i = 0; i < 200; i++) expect(table.insert(key6(`2001:db8::${i.toString(16)}`, 40000), i % 2 ? a : b, 0, 'active', 2)).toBe(true);
    expect(table.size).toBe(201);
    expect(table.lookup(key6('2001:db8::7', 40000))?.backend).toBe(a);
    expect(table.lookup(key6('2001:db8::7', 40001))).toBeNull();
    expect(table.lookup(v4)?.backend).toBe(a);
    const records = table.export();
    const r7 = records.find((r) => r.ip6 && formatIpv6Source(r.ip6) === '2001:db8::7')!;
    expect(formatIpv6Destination(r7.ip6!)).toBe('fd00::1:100');
    expect(r7).toMatchObject({ proto: 6, clientPort: 40000, vipPort: 80, backendId: 'A' });
    // The folds read back from the table as the packet-in path makes them: int32s (the VIP's is above 2^31).
    expect([r7.clientIp, r7.vip]).toEqual([clientFold6(r7.ip6!), vipFold6(r7.ip6!)]);
    expect(r7.vip).toBeLessThan(0);
    const copy = new ConnectionTable(16);
    expect(copy.import(records, (id) => [a, b].find((x) => x.id === id))).toEqual({ imported: 201, skipped: [] });
    expect(copy.lookup(key6('2001:db8::c7', 40000))?.backend).toBe(a);
    expect(table.remove(key6('2001:db8::7', 40000))?.backend).toBe(a);
    expect(table.lookup(key6('2001:db8::7', 40000))).toBeNull();
    expect(table.lookup(key6('2001:db8::8', 40000))?.backend).toBe(b);
  });

  it('never confuses addresses with the same fold, nor an IPv6 key with the IPv4 key of its fold', () => {
    const [a, b, c] = backends();
    const table = new ConnectionTable(16);
    // Swapping two words keeps the xor fold, and so clientIp/vip, the same.
    const k1 = key6('1:2:3:4::', 5000);
    const k2 = key6('3:4:1:2::', 5000);
    expect(k1.clientIp).toBe(k2.clientIp);
    // The IPv4 key with the same 32-bit numbers (an IPv4 key holds uint32s, a fold is an int32).
    const asV4: ConnKey = { proto: 6, clientIp: k1.clientIp >>> 0, clientPort: 5000, vip: k1.vip >>> 0, vipPort: 80 };
    expect(table.insert(k1, a, 0, 'inactive', 0)).toBe(true);
    expect(table.insert(k2, b, 0, 'inactive', 0)).toBe(true);
    expect(table.insert(asV4, c, 0, 'inactive', 0)).toBe(true);
    expect([table.lookup(k1)?.backend.id, table.lookup(k2)?.backend.id, table.lookup(asV4)?.backend.id]).toEqual(['A', 'B', 'C']);
    expect(hashConnKey(k1)).not.toBe(hashConnKey(k2));
    table.remove(k2);
    expect([table.lookup(k1)?.backend.id, table.lookup(k2), table.lookup(asV4)?.backend.id]).toEqual(['A', null, 'C']);
  });
});

describe('openUntracked: the packet-in path places a connection it has just looked up', () => {
  it('places and tracks it as open() does, and refuses a key already tracked with a typed error', () => {
    const lb = new LbService(backends(), { scheduler: 'rr' });
    const viaOpen = new LbService(backends(), { scheduler: 'rr' });
    for (let i = 0; i < 4; i++) {
      const pkt = packet6(`2001:db8::${i + 1}`, 1000 + i);
      const placed = lb.openUntracked(connKeyOf(pkt), pkt, 'inactive', i)!;
      expect(placed.backend.id).toBe(viaOpen.open(pkt, 'inactive', i)!.backend.id);
      expect(lb.connections.lookup(connKeyOf(pkt))?.backend.id).toBe(placed.backend.id);
    }
    const again = packet6('2001:db8::1', 1000);
    expect(() => lb.openUntracked(connKeyOf(again), again, 'inactive', 9)).toThrow(LbInputError);
    expect(lb.connections.size).toBe(4);
  });
});

describe('persistence by IPv6 prefix (IPVS: the persistent netmask of an IPv6 service is a prefix length)', () => {
  it('sends clients of one /64 to one backend and keeps a /128 per client by default', () => {
    const by64 = new LbService(backends(), { scheduler: 'rr', persistence: { timeoutMs: 60_000, prefixLength6: 64 } });
    const first = by64.open(packet6('2001:db8:0:1::a', 1000), 'active', 0)!.backend.id;
    for (let i = 1; i < 10; i++) expect(by64.open(packet6(`2001:db8:0:1:${i}::b`, 1000 + i), 'active', i)!.backend.id).toBe(first);
    expect(by64.open(packet6('2001:db8:0:2::a', 2000), 'active', 20)!.backend.id).not.toBe(first);

    const by128 = new LbService(backends(), { scheduler: 'rr', persistence: { timeoutMs: 60_000 } });
    const ids = [0, 1, 2].map((i) => by128.open(packet6(`2001:db8::${i + 1}`, 3000), 'active', i)!.backend.id);
    expect(new Set(ids).size).toBe(3);
    expect(by128.open(packet6('2001:db8::2', 3001), 'active', 5)!.backend.id).toBe(ids[1]);
  });
});

describe('IPv6 keys from and to text (flows, the tracker, status and conns views)', () => {
  it('builds the same key as the packet path, shows it in RFC 5952 form with brackets, and refuses mixed families', () => {
    const fromText = connKeyFromText(6, '2001:DB8:0:0::7', 40000, 'fd00:0::1:100', 80);
    expect(fromText).toEqual(connKeyOf(packet6('2001:db8::7', 40000)));
    expect(connAddresses(fromText)).toEqual({ client: '2001:db8::7', vip: 'fd00::1:100' });
    expect(formatEndpoint('2001:db8::7', 40000)).toBe('[2001:db8::7]:40000');
    expect(formatEndpoint('10.0.0.1', 80)).toBe('10.0.0.1:80');
    expect(connAddresses(connKeyFromText(17, '10.0.0.51', 5000, '10.0.0.100', 53))).toEqual({ client: '10.0.0.51', vip: '10.0.0.100' });
    expect(() => connKeyFromText(6, '10.0.0.51', 1, 'fd00::1', 80)).toThrow(LbInputError);
  });

  it("reads an IPv6 connection's conntrack accounting flow back as its key", () => {
    const flow = buildCtConnectionFlow({
      serviceId: 7, connectionId: 42, protocol: 'tcp', idleTimeout: 60,
      client: { ofport: 3, mac: '52:54:00:00:00:c1', ip: '2001:db8::7', port: 40000 },
      vip: { mac: '02:00:0a:00:01:00', ip: 'fd00::1:100', port: 80 },
      backend: { ofport: 5, mac: '52:54:00:00:00:b1', ip: 'fd00:2::7', port: 8080 },
    });
    const key = CT_ACCOUNTING_FLOW_SHAPE.key(flow as unknown as FlowStats, 6);
    expect(key).toEqual(connKeyOf(packet6('2001:db8::7', 40000)));
  });
});
