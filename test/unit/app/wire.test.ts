// The NAT modes' fast paths write exactly what encode() writes for the built messages, over random values.
import { CtCommitWireEncoder, CtCommitWireEncoder6 } from '../../../src/app/nat/ct-commit-wire';
import { FlowPairWireEncoder, FlowPairWireEncoder6, type FlowPairService, type FlowPairValues6 } from '../../../src/app/nat/flow-pair-wire';
import { buildConnectionFlows, buildCtCommitPacketOut, buildResubmitPacketOut, FlowBuildError, type ConnectionSpec } from '../../../src/flows';
import { formatIpv6, formatIpv6Destination, formatIpv6Source, formatIpv6Words, ipv6Pair, uint32ToIpv4 } from '../../../src/net';
import { encode } from '../../../src/openflow/codec';
import { MESSAGE_SLAB_BYTES } from '../../../src/flows/memory-view';

/** A small deterministic PRNG, so a failure names a reproducible case. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s;
  };
}

const hexByte = (n: number) => (n & 0xff).toString(16).padStart(2, '0');
const macText = (bytes: Uint8Array) => [...bytes].map(hexByte).join(':');

/** encode()'s bytes of an IPv6 connection's flow pair and packet-out: the client's and the VIP's addresses from `ip6`. */
function expected6(service: FlowPairService, values: FlowPairValues6, frame: Buffer): string {
  const spec: ConnectionSpec = {
    serviceId: service.serviceId, connectionId: values.connectionId, protocol: service.protocol,
    idleTimeout: service.idleTimeout, finTimeout: service.finTimeout,
    client: { ofport: values.clientOfport, mac: macText(frame.subarray(6, 12)), ip: formatIpv6Source(values.ip6), port: values.clientPort },
    vip: { mac: service.vipMac, ip: formatIpv6Destination(values.ip6), port: service.vipPort },
    backend: { ofport: values.backendOfport, mac: macText(values.backendMac), ip: formatIpv6(values.backendIp6), port: values.backendPort },
  };
  return Buffer.concat([...buildConnectionFlows(spec).map((m) => Buffer.from(encode(m))), Buffer.from(encode(buildResubmitPacketOut(frame, values.clientOfport)))]).toString('hex');
}

describe('FlowPairWireEncoder: the same bytes as encode() of the built flows and packet-out', () => {
  const services: FlowPairService[] = [
    { serviceId: 1, protocol: 'tcp', idleTimeout: 60, vipMac: '02:00:0a:00:00:64', vipPort: 80 },
    { serviceId: 0xffff, protocol: 'tcp', idleTimeout: 65535, finTimeout: 5, vipMac: 'fe:ff:ff:ff:ff:fe', vipPort: 65535 },
    { serviceId: 18, protocol: 'udp', idleTimeout: 1, vipMac: '02:00:00:00:00:01', vipPort: 53 },
    { serviceId: 31, protocol: 'udp', idleTimeout: 30, finTimeout: 7, vipMac: '02:aa:bb:cc:dd:ee', vipPort: 5353 },
  ];

  it.each(services.map((s) => [`${s.protocol} service ${s.serviceId} fin ${s.finTimeout ?? '-'}`, s] as const))('%s over random connections', (_name, service) => {
    const encoder = new FlowPairWireEncoder(service);
    const next = prng(service.serviceId * 7919 + service.vipPort);
    for (let i = 0; i < 300; i++) {
      const frame = Buffer.alloc(20 + (next() % 90));
      for (let j = 0; j < frame.length; j++) frame[j] = next() & 0xff;
      const backendMac = Buffer.from([next(), next(), next(), next(), next(), next()].map((n) => n & 0xff));
      const values = {
        connectionId: i === 0 ? 0x0fffffff : 1 + (next() % 0x0ffffffe), clientOfport: 1 + (next() % 0xfffffeff),
        clientIp: next(), clientPort: next() & 0xffff, clientMacSource: frame, clientMacOffset: 6, vipIp: next(),
        backendOfport: 1 + (next() % 0xfffffeff), backendIp: next(), backendPort: next() & 0xffff, backendMac,
      };
      const spec: ConnectionSpec = {
        serviceId: service.serviceId, connectionId: values.connectionId, protocol: service.protocol,
        idleTimeout: service.idleTimeout, finTimeout: service.finTimeout,
        client: { ofport: values.clientOfport, mac: macText(frame.subarray(6, 12)), ip: uint32ToIpv4(values.clientIp), port: values.clientPort },
        vip: { mac: service.vipMac, ip: uint32ToIpv4(values.vipIp), port: service.vipPort },
        backend: { ofport: values.backendOfport, mac: macText(backendMac), ip: uint32ToIpv4(values.backendIp), port: values.backendPort },
      };
      const expected = Buffer.concat([...buildConnectionFlows(spec).map((m) => Buffer.from(encode(m))), Buffer.from(encode(buildResubmitPacketOut(frame, values.clientOfport)))]);
      expect(encoder.encode(values, frame).toString('hex')).toBe(expected.toString('hex'));
    }
  });

  it.each(services.map((s) => [`${s.protocol} service ${s.serviceId} fin ${s.finTimeout ?? '-'}`, s] as const))('IPv6: %s over random connections', (_name, service) => {
    const encoder = new FlowPairWireEncoder6(service);
    const next = prng(service.serviceId * 104729 + service.vipPort);
    for (let i = 0; i < 300; i++) {
      const frame = Buffer.alloc(20 + (next() % 90));
      for (let j = 0; j < frame.length; j++) frame[j] = next() & 0xff;
      const backendMac = Buffer.from([next(), next(), next(), next(), next(), next()].map((n) => n & 0xff));
      // Runs of zero words too, so the addresses' text takes its '::' forms.
      const words = Uint32Array.from({ length: 8 }, (_, k) => (i % 3 === 0 && (k === 1 || k === 2 || k === 6) ? 0 : next()));
      const backendIp6 = Uint8Array.from({ length: 16 }, (_, k) => (i % 4 === 1 && k > 1 && k < 14 ? 0 : next() & 0xff));
      const values = {
        connectionId: i === 0 ? 0x0fffffff : 1 + (next() % 0x0ffffffe), clientOfport: 1 + (next() % 0xfffffeff), clientPort: next() & 0xffff,
        clientMacSource: frame, clientMacOffset: 6, ip6: ipv6Pair(words), backendOfport: 1 + (next() % 0xfffffeff), backendIp6, backendPort: next() & 0xffff, backendMac,
      };
      expect(encoder.encode(values, frame).toString('hex')).toBe(expected6(service, values, frame));
    }
  });

  // The IPv6 client's (and a prefix VIP's) words go through the DataView of the memory the message was cut from: they
  // must land at the message's own offsets whether it shares a slab with others (at any offset) or has memory of its
  // own (a message over half a slab: a jumbo frame's), and whichever of the two came before.
  it('IPv6: the addresses land where encode() puts them in a message sharing a slab and in one with its own memory', () => {
    const service = services[1];
    const encoder = new FlowPairWireEncoder6(service);
    const next = prng(0x16);
    const memories: ArrayBufferLike[] = [];
    const jumbo: ArrayBufferLike[] = [];
    for (let i = 0; i < 60; i++) {
      const frame = Buffer.alloc(i % 3 === 2 ? (MESSAGE_SLAB_BYTES >>> 1) + 100 + (next() % 5000) : 60 + (next() % 200));
      for (let j = 0; j < frame.length; j++) frame[j] = next() & 0xff;
      const values = {
        connectionId: 1 + (next() % 0x0ffffffe), clientOfport: 1 + (next() % 1000), clientPort: next() & 0xffff, clientMacSource: frame, clientMacOffset: 6,
        ip6: ipv6Pair(Array.from({ length: 8 }, () => next())), backendOfport: 3, backendIp6: Uint8Array.from({ length: 16 }, () => next() & 0xff),
        backendPort: 8080, backendMac: Buffer.from([2, 0, 0, 0, 0, 9]),
      };
      const out = encoder.encode(values, frame);
      memories.push(out.buffer);
      if (frame.length > MESSAGE_SLAB_BYTES >>> 1) jumbo.push(out.buffer);
      expect(out.toString('hex')).toBe(expected6(service, values, frame));
    }
    const sharedBy = (m: ArrayBufferLike) => memories.filter((x) => x === m).length;
    expect(jumbo.filter((m) => sharedBy(m) === 1)).toHaveLength(20);
    expect(memories.filter((m) => sharedBy(m) > 1).length).toBeGreaterThanOrEqual(30);
  });

  // A single-address VIP is written once into each backend's pair (pair()), not per connection: the bytes are still
  // encode()'s for every connection to that VIP, whatever VIP value the connection's own values carry.
  it('with a single-address VIP (IPv4 and IPv6): the pair carries the VIP, the bytes stay encode()\'s', () => {
    const vip4 = 0xc0a80a64; // 192.168.10.100: its high bit set, as an fd00:: word's
    const vip6 = Uint8Array.from([0xfd, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00]);
    const service = { serviceId: 9, protocol: 'tcp' as const, idleTimeout: 30, finTimeout: 3, vipMac: '02:00:0a:00:00:64', vipPort: 443 };
    const encoder4 = new FlowPairWireEncoder({ ...service, vip: vip4 });
    const encoder6 = new FlowPairWireEncoder6({ ...service, vip: vip6 });
    const next = prng(4242);
    for (let i = 0; i < 100; i++) {
      const frame = Buffer.alloc(60 + (next() % 40));
      for (let j = 0; j < frame.length; j++) frame[j] = next() & 0xff;
      const backendMac = Buffer.from([2, 0, 0, 0, 0, 1 + (i % 3)]);
      const common = { connectionId: 1 + (next() % 0x0ffffffe), clientOfport: 1 + (next() % 1000), clientPort: next() & 0xffff, clientMacSource: frame, clientMacOffset: 6, backendOfport: 7, backendPort: 8080 + (i % 2), backendMac };
      const spec = (client: string, vip: string, backend: string): ConnectionSpec => ({
        serviceId: service.serviceId, connectionId: common.connectionId, protocol: service.protocol, idleTimeout: service.idleTimeout, finTimeout: service.finTimeout,
        client: { ofport: common.clientOfport, mac: macText(frame.subarray(6, 12)), ip: client, port: common.clientPort },
        vip: { mac: service.vipMac, ip: vip, port: service.vipPort },
        backend: { ofport: common.backendOfport, mac: macText(backendMac), ip: backend, port: common.backendPort },
      });
      const bytesOf = (c: ConnectionSpec) => Buffer.concat([...buildConnectionFlows(c).map((m) => Buffer.from(encode(m))), Buffer.from(encode(buildResubmitPacketOut(frame, common.clientOfport)))]).toString('hex');
      // The values' own VIP is a wrong one on purpose: the fixed VIP must win.
      const v4 = { ...common, clientIp: next(), vipIp: next(), backendIp: 0x0a00000b + (i % 3) };
      expect(encoder4.encode(v4, frame).toString('hex')).toBe(bytesOf(spec(uint32ToIpv4(v4.clientIp), uint32ToIpv4(vip4), uint32ToIpv4(v4.backendIp))));
      const words = Uint32Array.from({ length: 8 }, () => next());
      const backendIp6 = Uint8Array.from({ length: 16 }, (_, k) => (k === 15 ? 0x11 + (i % 3) : k === 0 ? 0xfd : 0));
      const v6 = { ...common, ip6: ipv6Pair(words), backendIp6 };
      expect(encoder6.encode(v6, frame).toString('hex')).toBe(bytesOf(spec(formatIpv6Words(words, 0), formatIpv6(vip6), formatIpv6(backendIp6))));
    }
    expect(() => new FlowPairWireEncoder({ ...service, vip: vip6 })).toThrow(FlowBuildError);
    expect(() => new FlowPairWireEncoder6({ ...service, vip: vip4 })).toThrow(/16 bytes/);
  });

  it('refuses a connection id the cookie cannot carry', () => {
    const encoder = new FlowPairWireEncoder(services[0]);
    const frame = Buffer.alloc(60);
    const values = {
      connectionId: 0x10000000, clientOfport: 1, clientIp: 1, clientPort: 1, clientMacSource: frame, clientMacOffset: 6, vipIp: 2,
      backendOfport: 2, backendIp: 3, backendPort: 2, backendMac: Buffer.alloc(6),
    };
    expect(() => encoder.encode(values, frame)).toThrow(FlowBuildError);
    expect(() => encoder.encode({ ...values, connectionId: 0 }, frame)).toThrow(/connection id 0 is outside/);
  });
});

describe('CtCommitWireEncoder: the same bytes as encode(buildCtCommitPacketOut(...))', () => {
  it('for varied zones, services and values', () => {
    const next = prng(7);
    for (const [zone, serviceId, protocol] of [[0, 1, 'tcp'], [4321, 0x1234, 'udp'], [65535, 65535, 'tcp']] as const) {
      const encoder = new CtCommitWireEncoder(zone, serviceId, protocol);
      for (let i = 0; i < 200; i++) {
        const mac = Buffer.from(Array.from({ length: 6 }, () => next() & 0xff));
        const values = { clientOfport: 1 + (next() % 0xffff), backendIp: next(), backendPort: next() & 0xffff, backendMac: mac, backendOfport: 1 + (next() % 0xfffffeff) };
        const frame = Buffer.from(Array.from({ length: next() % 120 }, () => next() & 0xff));
        const expected = encode(buildCtCommitPacketOut(frame, values.clientOfport, {
          zone, serviceId, protocol, clientOfport: values.clientOfport, backendIp: uint32ToIpv4(values.backendIp), backendPort: values.backendPort,
          backendMac: macText(mac), backendOfport: values.backendOfport,
        }));
        expect(encoder.encode(values, frame).toString('hex')).toBe(Buffer.from(expected).toString('hex'));
      }
    }
  });

  it('IPv6: for varied zones, services, addresses and values', () => {
    const next = prng(11);
    for (const [zone, serviceId, protocol] of [[0, 1, 'udp'], [4321, 0x1234, 'tcp'], [65535, 65535, 'tcp']] as const) {
      const encoder = new CtCommitWireEncoder6(zone, serviceId, protocol);
      for (let i = 0; i < 200; i++) {
        const mac = Buffer.from(Array.from({ length: 6 }, () => next() & 0xff));
        // Runs of zero groups too, so the address text takes its '::' forms.
        const ip6 = Uint8Array.from({ length: 16 }, (_, k) => (i % 3 === 0 && k > 3 && k < 12 ? 0 : next() & 0xff));
        const values = { clientOfport: 1 + (next() % 0xffff), backendIp6: ip6, backendPort: next() & 0xffff, backendMac: mac, backendOfport: 1 + (next() % 0xfffffeff) };
        const frame = Buffer.from(Array.from({ length: next() % 120 }, () => next() & 0xff));
        const expected = encode(buildCtCommitPacketOut(frame, values.clientOfport, {
          zone, serviceId, protocol, clientOfport: values.clientOfport, backendIp: formatIpv6(ip6), backendPort: values.backendPort,
          backendMac: macText(mac), backendOfport: values.backendOfport,
        }));
        expect(encoder.encode(values, frame).toString('hex')).toBe(Buffer.from(expected).toString('hex'));
      }
    }
  });

  it("refuses a client port that does not fit ct_mark's 16 bits", () => {
    expect(() => new CtCommitWireEncoder(4321, 5, 'tcp').encode({ clientOfport: 0x10000, backendIp: 1, backendPort: 1, backendMac: Buffer.alloc(6), backendOfport: 1 }, Buffer.alloc(0)))
      .toThrow(/16 bits/);
  });
});

// Both NAT modes' messages, in both families, are cut one after another from the same memory (messageMemory): each
// must keep its own bytes while later ones are written, a jumbo frame's (memory of its own) among them.
describe('fast-path messages cut from shared memory keep their bytes after later ones', () => {
  it('flow pairs and commits of both families, interleaved, with jumbo frames', () => {
    const next = prng(0x5eed);
    const service: FlowPairService = { serviceId: 5, protocol: 'tcp', idleTimeout: 30, finTimeout: 2, vipMac: '02:00:0a:00:00:64', vipPort: 80 };
    const pair4 = new FlowPairWireEncoder(service);
    const pair6 = new FlowPairWireEncoder6(service);
    const commit4 = new CtCommitWireEncoder(9, 5, 'tcp');
    const commit6 = new CtCommitWireEncoder6(9, 5, 'udp');
    const kept: { out: Buffer; expected: string }[] = [];
    for (let i = 0; i < 400; i++) {
      const frame = Buffer.alloc(i % 97 === 13 ? (MESSAGE_SLAB_BYTES >>> 1) + 1 + (next() % 3000) : 54 + (next() % 60));
      for (let j = 0; j < frame.length; j++) frame[j] = next() & 0xff;
      const mac = Buffer.from(Array.from({ length: 6 }, () => next() & 0xff));
      const clientOfport = 1 + (next() % 0xfffe);
      const connectionId = 1 + (next() % 0x0ffffffe);
      const clientPort = next() & 0xffff;
      const backendIp6 = Uint8Array.from({ length: 16 }, () => next() & 0xff);
      let out: Buffer;
      let expected: string;
      switch (i % 4) {
        case 0: {
          const v = { connectionId, clientOfport, clientIp: next(), clientPort, clientMacSource: frame, clientMacOffset: 6, vipIp: next(), backendOfport: 3, backendIp: next(), backendPort: 8080, backendMac: mac };
          out = pair4.encode(v, frame);
          const spec: ConnectionSpec = {
            serviceId: service.serviceId, connectionId, protocol: service.protocol, idleTimeout: service.idleTimeout, finTimeout: service.finTimeout,
            client: { ofport: clientOfport, mac: macText(frame.subarray(6, 12)), ip: uint32ToIpv4(v.clientIp), port: clientPort },
            vip: { mac: service.vipMac, ip: uint32ToIpv4(v.vipIp), port: service.vipPort },
            backend: { ofport: 3, mac: macText(mac), ip: uint32ToIpv4(v.backendIp), port: 8080 },
          };
          expected = Buffer.concat([...buildConnectionFlows(spec).map((m) => Buffer.from(encode(m))), Buffer.from(encode(buildResubmitPacketOut(frame, clientOfport)))]).toString('hex');
          break;
        }
        case 1: {
          const v = { connectionId, clientOfport, clientPort, clientMacSource: frame, clientMacOffset: 6, ip6: ipv6Pair(Array.from({ length: 8 }, () => next())), backendOfport: 4, backendIp6, backendPort: 443, backendMac: mac };
          out = pair6.encode(v, frame);
          expected = expected6(service, v, frame);
          break;
        }
        case 2: {
          const backendIp = next();
          out = commit4.encode({ clientOfport, backendIp, backendPort: 8080, backendMac: mac, backendOfport: 3 }, frame);
          expected = Buffer.from(encode(buildCtCommitPacketOut(frame, clientOfport, {
            zone: 9, serviceId: 5, protocol: 'tcp', clientOfport, backendIp: uint32ToIpv4(backendIp), backendPort: 8080, backendMac: macText(mac), backendOfport: 3,
          }))).toString('hex');
          break;
        }
        default:
          out = commit6.encode({ clientOfport, backendIp6, backendPort: 53, backendMac: mac, backendOfport: 4 }, frame);
          expected = Buffer.from(encode(buildCtCommitPacketOut(frame, clientOfport, {
            zone: 9, serviceId: 5, protocol: 'udp', clientOfport, backendIp: formatIpv6(backendIp6), backendPort: 53, backendMac: macText(mac), backendOfport: 4,
          }))).toString('hex');
      }
      expect(out.toString('hex')).toBe(expected);
      kept.push({ out, expected });
    }
    // Every message, read again after all the others were written.
    const changed = kept.filter(({ out, expected }) => out.toString('hex') !== expected);
    expect(changed).toHaveLength(0);
    // They did share memory: far fewer memories than messages.
    expect(new Set(kept.map(({ out }) => out.buffer)).size).toBeLessThan(kept.length / 4);
  });
});
