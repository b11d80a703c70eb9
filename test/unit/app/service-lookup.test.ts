// ServiceTable's lookups (lookup, lookup6, owner, owner6) are an index: one map per prefix length in use, longest first.
// Their answers must stay those of the scan they replaced (every VIP of the port, longest prefix first, configuration
// order among equal lengths), over random services (both families, dual stack, prefixes that nest and collide,
// duplicated VIPs, ports, protocols) and packets to their VIPs, into their prefixes, near them and anywhere.
import { ServiceTable, type ServiceState } from '../../../src/app/services';
import { parseConfig, type ServiceConfig } from '../../../src/config';
import { foldIpv6, formatIpv6, formatIpv6Words, ipv6Pair, ipv6Words, parseIpv6 } from '../../../src/net/ipv6';
import { containsIpv4, containsIpv6Words, ipv4Mask } from '../../../src/net/prefix';
import { ipv4ToUint32, uint32ToIpv4 } from '../../../src/net/ipv4';
import { fuzzSeed, rng } from '../../helpers/fuzz';

// A dual-stack service (its backend has both addresses); each test service is a copy with its own VIPs, unvalidated, so
// that VIPs may repeat and overlap as the table must still answer for.
const { vip6: _vip6, ...BASE } = parseConfig(`
services:
  - { name: base, vip: 10.0.0.1, vip6: "fd09::100", port: 80, backends: [{ vnic: v1, ip: 10.9.0.1, ip6: "fd09::1", ports: [8080] }] }
`).services[0];

const PROTO = { tcp: 6, udp: 17 } as const;

function tableOf(configs: ServiceConfig[]): ServiceTable {
  const t = new ServiceTable();
  t.configure(configs);
  return t;
}

function service(name: string, vip: string, extra: Partial<ServiceConfig> = {}): ServiceConfig {
  return { ...BASE, name, vip, ...extra } as ServiceConfig;
}

// ------------------------------------------------------------------ the scan the index replaced, as it was

/** The port's services of a family, longest prefix first, configuration order among equal lengths (a stable sort). */
function candidates(t: ServiceTable, proto: number, port: number, length: (s: ServiceState) => number | undefined): ServiceState[] {
  return t.all.filter((s) => s.proto === proto && s.config.port === port && length(s) !== undefined).sort((a, b) => length(b)! - length(a)!);
}

function scanLookup(t: ServiceTable, proto: number, port: number, dst: number): ServiceState | undefined {
  for (const s of candidates(t, proto, port, (x) => (x.vip.family === 4 ? x.vip.length : undefined))) if (containsIpv4(s.vip, dst)) return s;
  return undefined;
}

function scanOwner(t: ServiceTable, dst: number): ServiceState | undefined {
  let best: ServiceState | undefined;
  for (const s of t.all) if (containsIpv4(s.vip, dst) && (!best || s.vip.length > best.vip.length)) best = s;
  return best;
}

function scanLookup6(t: ServiceTable, proto: number, port: number, words: Uint32Array): ServiceState | undefined {
  for (const s of candidates(t, proto, port, (x) => x.vip6?.length)) if (containsIpv6Words(s.vip6!, words, 0)) return s;
  return undefined;
}

function scanOwner6(t: ServiceTable, words: Uint32Array): ServiceState | undefined {
  let best: ServiceState | undefined;
  for (const s of t.all) if (s.vip6 !== undefined && containsIpv6Words(s.vip6, words, 0) && (!best || s.vip6.length > best.vip6!.length)) best = s;
  return best;
}

// ------------------------------------------------------------------ random services and addresses

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const below = (r: Rand, n: number): number => Math.floor(r() * n);

const LENGTHS4 = [32, 32, 32, 32, 32, 31, 30, 28, 24, 24, 22, 16, 8];
const LENGTHS6 = [128, 128, 128, 128, 128, 127, 120, 112, 96, 64, 64, 48, 32];

/** An address of a small space (10.0.0-3.x), so VIPs meet and nest. */
const near4 = (r: Rand): number => ((10 << 24) | (below(r, 4) << 8) | below(r, 256)) >>> 0;

function vip4(r: Rand): string {
  const length = pick(r, LENGTHS4);
  const net = (near4(r) & ipv4Mask(length)) >>> 0;
  // The same single address written both ways: one VIP.
  return length === 32 ? (r() < 0.2 ? `${uint32ToIpv4(net)}/32` : uint32ToIpv4(net)) : `${uint32ToIpv4(net)}/${length}`;
}

/** fd00:0:0:X::Y in a small space, as 16 bytes. */
function near6(r: Rand): Uint8Array {
  const bytes = parseIpv6('fd00::');
  bytes[7] = below(r, 4);
  bytes[15] = below(r, 256);
  if (r() < 0.2) bytes[11] = below(r, 2);
  return bytes;
}

function masked6(bytes: Uint8Array, length: number): Uint8Array {
  const out = bytes.slice();
  for (let bit = length; bit < 128; bit++) out[bit >> 3] &= ~(0x80 >> (bit & 7));
  return out;
}

function vip6(r: Rand): string {
  const length = pick(r, LENGTHS6);
  const net = formatIpv6(masked6(near6(r), length));
  return length === 128 ? net : `${net}/${length}`;
}

function randomServices(r: Rand, count: number): ServiceConfig[] {
  return Array.from({ length: count }, (_, i) => {
    const port = pick(r, [80, 80, 81, 443]);
    const protocol = pick(r, ['tcp', 'tcp', 'udp'] as const);
    const family = r();
    if (family < 0.5) return service(`s${i}`, vip4(r), { port, protocol });
    if (family < 0.75) return service(`s${i}`, vip6(r), { port, protocol });
    return service(`s${i}`, vip4(r), { port, protocol, vip6: vip6(r) });
  });
}

/** IPv4 destinations: each VIP's network, addresses inside each prefix, near addresses and random ones. */
function addresses4(r: Rand, t: ServiceTable): number[] {
  const out: number[] = [];
  for (const s of t.all) {
    if (s.vip.family !== 4) continue;
    out.push(s.vip.base, (s.vip.base | (below(r, 2 ** 31) & ~s.vip.mask)) >>> 0, (s.vip.base ^ (1 << below(r, 32))) >>> 0);
  }
  for (let i = 0; i < 200; i++) out.push(near4(r), below(r, 2 ** 32));
  return out;
}

/** IPv6 destinations: each VIP's network, inside each prefix, one bit off, its fold's twins (same fold, not it), random. */
function addresses6(r: Rand, t: ServiceTable): Uint32Array[] {
  const out: Uint32Array[] = [];
  for (const s of t.all) {
    const vip = s.vip6;
    if (vip === undefined) continue;
    const net = vip.words!.slice(0, 4);
    const inside = near6(r);
    for (let bit = 0; bit < vip.length; bit++) inside[bit >> 3] = (inside[bit >> 3] & ~(0x80 >> (bit & 7))) | (vip.bytes![bit >> 3] & (0x80 >> (bit & 7)));
    const flipped = net.slice();
    flipped[below(r, 4)] ^= 1 << below(r, 32);
    const bit = 1 << below(r, 32);
    const twin = Uint32Array.from([net[0] ^ bit, net[1] ^ bit, net[2], net[3]]);
    out.push(net, ipv6Words(inside), flipped, twin);
  }
  for (let i = 0; i < 200; i++) {
    out.push(ipv6Words(near6(r)), Uint32Array.from([below(r, 2 ** 32), below(r, 2 ** 32), below(r, 2 ** 32), below(r, 2 ** 32)]));
  }
  return out;
}

const nameOf = (s: ServiceState | undefined) => s?.config.name;

describe('ServiceTable lookups against the scan they replaced', () => {
  const seed = fuzzSeed();

  it.each([1, 5, 30, 300])(`%i random services (seed ${seed}): every lookup, lookup6, owner and owner6 answers as the scan`, (count) => {
    const mismatches: string[] = [];
    const seen = { lookupHits: 0, prefixHits: 0, exactOverPrefix: 0, lookup6Hits: 0, prefix6Hits: 0, ownerHits: 0, owner6Hits: 0 };
    for (let round = 0; round < (count >= 300 ? 4 : 40); round++) {
      const r = rng(seed + count * 1000 + round);
      const t = tableOf(randomServices(r, count));
      for (const dst of addresses4(r, t)) {
        for (const proto of Object.values(PROTO)) {
          for (const port of [80, 81, 443, 8080]) {
            const want = scanLookup(t, proto, port, dst);
            const got = t.lookup(proto, port, dst);
            if (got !== want) mismatches.push(`lookup(${proto}, ${port}, ${uint32ToIpv4(dst)}): ${nameOf(got)}, the scan ${nameOf(want)}`);
            if (want) {
              seen.lookupHits++;
              if (want.vip.length < 32) seen.prefixHits++;
              else if (candidates(t, proto, port, (x) => (x.vip.family === 4 ? x.vip.length : undefined)).some((x) => x.vip.length < 32 && containsIpv4(x.vip, dst))) seen.exactOverPrefix++;
            }
          }
        }
        const want = scanOwner(t, dst);
        if (want) seen.ownerHits++;
        if (t.owner(dst) !== want) mismatches.push(`owner(${uint32ToIpv4(dst)}): ${nameOf(t.owner(dst))}, the scan ${nameOf(want)}`);
      }
      for (const words of addresses6(r, t)) {
        const text = formatIpv6Words(words);
        for (const proto of Object.values(PROTO)) {
          for (const port of [80, 81, 443]) {
            const want = scanLookup6(t, proto, port, words);
            // Without the fold (lookup6 makes it), with it, from the middle of a header, and from a pair's d0..d3 as the
            // packet-in reads it (lookupPair6).
            const header = new Uint32Array(8);
            header.set(words, 4);
            const got = [
              t.lookup6(proto, port, words), t.lookup6(proto, port, words, 0, foldIpv6(words)), t.lookup6(proto, port, header, 4, foldIpv6(header, 4)),
              t.lookupPair6(proto, port, ipv6Pair(header), foldIpv6(header, 4)),
            ];
            for (const g of got) if (g !== want) mismatches.push(`lookup6(${proto}, ${port}, ${text}): ${nameOf(g)}, the scan ${nameOf(want)}`);
            if (want) {
              seen.lookup6Hits++;
              if (want.vip6!.length < 128) seen.prefix6Hits++;
            }
          }
        }
        const want = scanOwner6(t, words);
        if (want) seen.owner6Hits++;
        if (t.owner6(words) !== want) mismatches.push(`owner6(${text}): ${nameOf(t.owner6(words))}, the scan ${nameOf(want)}`);
      }
    }
    expect(mismatches.slice(0, 10)).toEqual([]);
    // The random cases reach what the index must get right: single and prefix VIPs of both families, and a single VIP
    // winning over a prefix that holds it too (with one service per table, only a few of these).
    expect(seen.lookupHits).toBeGreaterThan(10);
    expect(seen.prefixHits).toBeGreaterThan(count === 1 ? 0 : 10);
    expect(seen.lookup6Hits).toBeGreaterThan(10);
    expect(seen.prefix6Hits).toBeGreaterThan(count === 1 ? 0 : 10);
    expect(seen.ownerHits).toBeGreaterThan(10);
    expect(seen.owner6Hits).toBeGreaterThan(10);
    if (count >= 30) expect(seen.exactOverPrefix).toBeGreaterThan(0);
  });
});

describe('ServiceTable lookups, case by case', () => {
  const configs = [
    service('wide', '10.0.0.0/16', { port: 80 }),
    service('net', '10.0.1.0/24', { port: 80 }),
    service('host', '10.0.1.5', { port: 80, vip6: 'fd00::5' }),
    // The same address again, written as a prefix: the first in the configuration wins, as the scan found it.
    service('host-again', '10.0.1.5/32', { port: 80 }),
    service('dns', '10.0.1.5', { port: 53, protocol: 'udp' }),
    service('net6', 'fd00::/64', { port: 80 }),
  ];
  const t = tableOf(configs);
  const at = ipv4ToUint32;
  const words = (text: string) => ipv6Words(parseIpv6(text));

  it('longest prefix first, configuration order among equals, protocol and port apart', () => {
    expect(nameOf(t.lookup(6, 80, at('10.0.1.5')))).toBe('host');
    expect(nameOf(t.lookup(6, 80, at('10.0.1.6')))).toBe('net');
    expect(nameOf(t.lookup(6, 80, at('10.0.2.6')))).toBe('wide');
    expect(t.lookup(6, 80, at('10.1.0.1'))).toBeUndefined();
    expect(nameOf(t.lookup(17, 53, at('10.0.1.5')))).toBe('dns');
    expect(t.lookup(6, 53, at('10.0.1.5'))).toBeUndefined();
    expect(t.lookup(17, 80, at('10.0.1.5'))).toBeUndefined();
    expect(nameOf(t.owner(at('10.0.1.5')))).toBe('host');
    expect(nameOf(t.owner(at('10.0.1.200')))).toBe('net');
  });

  it('a dual-stack service is found by each of its VIPs; a single IPv6 VIP before the prefix that holds it', () => {
    expect(nameOf(t.lookup6(6, 80, words('fd00::5')))).toBe('host');
    expect(nameOf(t.lookup6(6, 80, words('fd00::6')))).toBe('net6');
    expect(nameOf(t.owner6(words('fd00::5')))).toBe('host');
    expect(t.lookup6(6, 80, words('fd00:0:0:1::5'))).toBeUndefined();
    expect(t.owner6(words('fd01::5'))).toBeUndefined();
  });

  it("lookupPair6 (the packet-in's) checks a port's one longest address first and takes the levels for any other", () => {
    const t6 = tableOf([
      service('one', '10.0.2.1', { port: 80, vip6: 'fd00::5' }),
      // The same address again: the first in the configuration wins, as the scan found it.
      service('one-again', '10.0.2.2', { port: 80, vip6: 'fd00::5' }),
      service('net6', '10.0.2.3', { port: 80, vip6: 'fd00::/64' }),
      // Two addresses on a port: no first check, the levels find each.
      service('a', '10.0.2.4', { port: 81, vip6: 'fd00::7' }),
      service('b', '10.0.2.5', { port: 81, vip6: 'fd00::8' }),
    ]);
    const pair6 = (proto: number, port: number, text: string) => {
      const header = new Uint32Array(8);
      header.set(words(text), 4);
      return nameOf(t6.lookupPair6(proto, port, ipv6Pair(header), foldIpv6(header, 4)));
    };
    expect(pair6(6, 80, 'fd00::5')).toBe('one');
    expect(pair6(6, 80, 'fd00::6')).toBe('net6');
    // fd00::5's fold (the xor of its words) without being it: not the first address; inside the /64.
    expect(pair6(6, 80, 'fd00::1:0:1:5')).toBe('net6');
    expect(pair6(6, 80, 'fd01::5')).toBeUndefined();
    expect(pair6(17, 80, 'fd00::5')).toBeUndefined();
    expect(pair6(6, 81, 'fd00::7')).toBe('a');
    expect(pair6(6, 81, 'fd00::8')).toBe('b');
    expect(pair6(6, 81, 'fd00::5')).toBeUndefined();
    for (const [port, text] of [[80, 'fd00::5'], [80, 'fd00::1:0:1:5'], [81, 'fd00::8']] as const) {
      expect(pair6(6, port, text)).toBe(nameOf(t6.lookup6(6, port, words(text))));
    }
  });

  it('a reconfiguration rebuilds the index: a removed service is no longer found, the one under it is', () => {
    const next = tableOf(configs);
    next.configure(configs.filter((c) => c.name !== 'host'));
    expect(nameOf(next.lookup(6, 80, at('10.0.1.5')))).toBe('host-again');
    expect(nameOf(next.lookup6(6, 80, words('fd00::5')))).toBe('net6');
    next.configure(configs.filter((c) => !c.name.startsWith('host')));
    expect(nameOf(next.lookup(6, 80, at('10.0.1.5')))).toBe('net');
    expect(nameOf(next.owner(at('10.0.1.5')))).toBe('dns');
  });
});
