import {
  carriedFrame, connectionTraces, multipartRequestTimes, openflowMessages, readPcapng, splitTraces, tcpOf, TraceInputError,
} from '../lib/first-packet-trace';

// A pcapng file built here: one section, interfaces by name, enhanced packet blocks with microsecond stamps.
function block(type: number, body: Buffer): Buffer {
  const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
  const head = Buffer.alloc(8);
  head.writeUInt32LE(type, 0);
  head.writeUInt32LE(12 + padded.length, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt32LE(12 + padded.length, 0);
  return Buffer.concat([head, padded, tail]);
}

function pcapng(ifaces: string[], packets: Array<{ iface: number; us: number; frame: Buffer }>, tsresol?: number): Buffer {
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(0x1a2b3c4d, 0);
  shb.writeUInt16LE(1, 4);
  shb.writeBigInt64LE(-1n, 8);
  const blocks = [block(0x0a0d0d0a, shb)];
  for (const name of ifaces) {
    const opts: Buffer[] = [];
    const nameBytes = Buffer.from(name);
    const opt = Buffer.alloc(4);
    opt.writeUInt16LE(2, 0);
    opt.writeUInt16LE(nameBytes.length, 2);
    opts.push(opt, nameBytes, Buffer.alloc((4 - (nameBytes.length % 4)) % 4));
    if (tsresol !== undefined) {
      const r = Buffer.alloc(8);
      r.writeUInt16LE(9, 0);
      r.writeUInt16LE(1, 2);
      r[4] = tsresol;
      opts.push(r);
    }
    opts.push(Buffer.alloc(4)); // opt_endofopt
    const head = Buffer.alloc(8);
    head.writeUInt16LE(1, 0); // Ethernet
    blocks.push(block(1, Buffer.concat([head, ...opts])));
  }
  const perSecond = tsresol === undefined ? 1e6 : 10 ** tsresol;
  for (const p of packets) {
    const head = Buffer.alloc(20);
    const ticks = BigInt(Math.round((p.us / 1e6) * perSecond));
    head.writeUInt32LE(p.iface, 0);
    head.writeUInt32LE(Number(ticks >> 32n), 4);
    head.writeUInt32LE(Number(ticks & 0xffffffffn), 8);
    head.writeUInt32LE(p.frame.length, 12);
    head.writeUInt32LE(p.frame.length, 16);
    blocks.push(block(6, Buffer.concat([head, p.frame])));
  }
  return Buffer.concat(blocks);
}

function tcpFrame(o: { src: string; dst: string; sport: number; dport: number; seq: number; ack?: number; flags: number; payload?: Buffer }): Buffer {
  const payload = o.payload ?? Buffer.alloc(0);
  const f = Buffer.alloc(14 + 20 + 20 + payload.length);
  f.writeUInt16BE(0x0800, 12);
  f[14] = 0x45;
  f.writeUInt16BE(40 + payload.length, 16);
  f[14 + 9] = 6;
  Buffer.from(o.src.split('.').map(Number)).copy(f, 14 + 12);
  Buffer.from(o.dst.split('.').map(Number)).copy(f, 14 + 16);
  f.writeUInt16BE(o.sport, 34);
  f.writeUInt16BE(o.dport, 36);
  f.writeUInt32BE(o.seq >>> 0, 38);
  f.writeUInt32BE((o.ack ?? 0) >>> 0, 42);
  f[46] = 5 << 4;
  f[47] = o.flags;
  payload.copy(f, 54);
  return f;
}

const SYN = 0x02;
const SYNACK = 0x12;
const PSHACK = 0x18;
const CLIENT = '10.9.0.101';
const BACKEND = '10.9.0.11';
const VIP = '10.9.0.100';
const STATIC = '10.9.0.99';
const CTL = 6653;

function packetIn(inner: Buffer, xid: number): Buffer {
  const match = Buffer.alloc(16); // type OXM, length 12 (+4 pad)
  match.writeUInt16BE(1, 0);
  match.writeUInt16BE(12, 2);
  const m = Buffer.concat([Buffer.alloc(24), match, Buffer.alloc(2), inner]);
  m[0] = 4;
  m[1] = 10;
  m.writeUInt16BE(m.length, 2);
  m.writeUInt32BE(xid, 4);
  return m;
}

function packetOut(inner: Buffer, actions: number): Buffer {
  const m = Buffer.concat([Buffer.alloc(24), Buffer.alloc(actions), inner]);
  m[0] = 4;
  m[1] = 13;
  m.writeUInt16BE(m.length, 2);
  m.writeUInt16BE(actions, 16);
  return m;
}

function ofMessage(type: number, bodyLen = 8): Buffer {
  const m = Buffer.alloc(bodyLen);
  m[0] = 4;
  m[1] = type;
  m.writeUInt16BE(bodyLen, 2);
  return m;
}

describe('first-packet trace', () => {
  const clientSyn = (sport: number, dst: string, isn: number) => tcpFrame({ src: CLIENT, dst, sport, dport: 80, seq: isn, flags: SYN });
  const backendSyn = (sport: number, isn: number, dport = 8080) => tcpFrame({ src: CLIENT, dst: BACKEND, sport, dport, seq: isn, flags: SYN });
  const backendSynAck = (sport: number, isn: number, from = 8080) => tcpFrame({ src: BACKEND, dst: CLIENT, sport: from, dport: sport, seq: 7, ack: isn + 1, flags: SYNACK });
  const clientSynAck = (sport: number, isn: number, src: string) => tcpFrame({ src, dst: CLIENT, sport: 80, dport: sport, seq: 7, ack: isn + 1, flags: SYNACK });
  const toCtl = (seq: number, payload: Buffer) => tcpFrame({ src: '127.0.0.1', dst: '127.0.0.1', sport: 50000, dport: CTL, seq, flags: PSHACK, payload });
  const fromCtl = (seq: number, payload: Buffer) => tcpFrame({ src: '127.0.0.1', dst: '127.0.0.1', sport: CTL, dport: 50000, seq, flags: PSHACK, payload });

  it('splits each path\'s first round trip at the captured moments (VIP through vadc, static without it)', () => {
    const pi = packetIn(clientSyn(40001, VIP, 1000), 1);
    const po = packetOut(clientSyn(40001, VIP, 1000), 40);
    const stats = ofMessage(18, 16);
    // Interfaces: 0 lo, 1 the client's port, 2 the backend's port.
    const file = pcapng(['lo', 'perf-c1', 'perf-vm1'], [
      { iface: 0, us: 1_000_000_000, frame: fromCtl(1, stats) },
      { iface: 1, us: 1_000_001_000, frame: clientSyn(40001, VIP, 1000) },
      // The packet-in cut over two segments; the second completes it.
      { iface: 0, us: 1_000_001_100, frame: toCtl(500, pi.subarray(0, 30)) },
      { iface: 0, us: 1_000_001_150, frame: toCtl(530, pi.subarray(30)) },
      { iface: 0, us: 1_000_001_150, frame: toCtl(500, pi.subarray(0, 30)) }, // seen again: skipped
      { iface: 0, us: 1_000_001_450, frame: fromCtl(1 + stats.length, po) },
      { iface: 2, us: 1_000_001_500, frame: backendSyn(40001, 1000) },
      { iface: 2, us: 1_000_001_560, frame: backendSynAck(40001, 1000) },
      { iface: 1, us: 1_000_001_600, frame: clientSynAck(40001, 1000, VIP) },
      { iface: 1, us: 1_000_002_000, frame: clientSyn(40002, STATIC, 2000) },
      { iface: 2, us: 1_000_002_030, frame: backendSyn(40002, 2000, 8090) },
      { iface: 2, us: 1_000_002_090, frame: backendSynAck(40002, 2000, 8090) },
      { iface: 1, us: 1_000_002_100, frame: clientSynAck(40002, 2000, STATIC) },
      { iface: 1, us: 1_000_003_000, frame: clientSyn(40003, VIP, 3000) }, // never answered
      { iface: 1, us: 1_000_004_000, frame: clientSyn(40003, VIP, 3000) }, // retransmitted
    ]);
    const packets = readPcapng(file);
    expect(packets.map((p) => p.iface)).toEqual(['lo', 'perf-c1', 'lo', 'lo', 'lo', 'lo', 'perf-vm1', 'perf-vm1', 'perf-c1', 'perf-c1', 'perf-vm1', 'perf-vm1', 'perf-c1', 'perf-c1', 'perf-c1']);
    const roles = { clientIface: 'perf-c1', backendIface: 'perf-vm1', controllerPort: CTL, clientIp: CLIENT, backendIp: BACKEND, paths: { [VIP]: 'vip', [STATIC]: 'static' } };
    const traces = connectionTraces(packets, roles);
    expect(traces).toHaveLength(3);
    expect(traces[0]).toMatchObject({ path: 'vip', clientPort: 40001, syns: 1, synIn: 1_000_001_000, packetIn: 1_000_001_150, packetOut: 1_000_001_450 });
    expect(traces[2]).toMatchObject({ path: 'vip', clientPort: 40003, syns: 2 });
    const statsAt = multipartRequestTimes(packets, CTL);
    expect(statsAt).toEqual([1_000_000_000]);
    const split = splitTraces(traces, { pauses: [{ startUs: 1_000_001_200, durationUs: 100 }], statsRequests: statsAt });
    expect(split.byPath.vip).toMatchObject({ connections: 2, incomplete: 1, retransmitted: 1 });
    expect(split.byPath.vip.total.p50).toBeCloseTo(600, 3);
    expect(split.byPath.vip.ovsIn!.p50).toBeCloseTo(150, 3);
    expect(split.byPath.vip.vadc!.p50).toBeCloseTo(300, 3);
    expect(split.byPath.vip.ovsOut!.p50).toBeCloseTo(50, 3);
    expect(split.byPath.vip.backend.p50).toBeCloseTo(60, 3);
    expect(split.byPath.vip.back.p50).toBeCloseTo(40, 3);
    expect(split.byPath.static).toMatchObject({ connections: 1, incomplete: 0, retransmitted: 0 });
    expect(split.byPath.static.toBackend.p50).toBeCloseTo(30, 3);
    expect(split.byPath.static.vadc).toBeUndefined();
    expect(split.slowest).toHaveLength(1);
    expect(split.slowest[0].gcInVadcUs).toBeCloseTo(100, 3);
    expect(split.slowest[0].sinceLastStatsRequestMs).toBeCloseTo(1, 3);
  });

  it('takes the packets in time order, not file order (dumpcap writes each interface\'s packets in batches)', () => {
    const file = pcapng(['perf-c1', 'perf-vm1'], [
      { iface: 1, us: 2_000_000_030, frame: backendSyn(40002, 2000, 8090) },
      { iface: 1, us: 2_000_000_090, frame: backendSynAck(40002, 2000, 8090) },
      { iface: 0, us: 2_000_000_000, frame: clientSyn(40002, STATIC, 2000) },
      { iface: 0, us: 2_000_000_100, frame: clientSynAck(40002, 2000, STATIC) },
    ]);
    const roles = { clientIface: 'perf-c1', backendIface: 'perf-vm1', controllerPort: CTL, clientIp: CLIENT, backendIp: BACKEND, paths: { [STATIC]: 'static' } };
    const split = splitTraces(connectionTraces(readPcapng(file), roles));
    expect(split.byPath.static).toMatchObject({ connections: 1, incomplete: 0 });
    expect(split.byPath.static.toBackend.p50).toBeCloseTo(30, 3);
  });

  it('follows a connection whose source port the tracker translated, by its initial sequence number at the backend', () => {
    const file = pcapng(['perf-c1', 'perf-vm1'], [
      { iface: 0, us: 3_000_000_000, frame: clientSyn(40010, VIP, 5000) },
      // The backend sees port 40011: the NAT tuple with 40010 was still taken.
      { iface: 1, us: 3_000_000_040, frame: backendSyn(40011, 5000) },
      { iface: 1, us: 3_000_010_040, frame: backendSynAck(40011, 5000) },
      { iface: 0, us: 3_000_010_100, frame: clientSynAck(40010, 5000, VIP) },
      { iface: 0, us: 3_000_020_000, frame: clientSyn(40012, VIP, 6000) },
      { iface: 1, us: 3_000_020_040, frame: backendSyn(40012, 6000) },
      { iface: 1, us: 3_000_020_100, frame: backendSynAck(40012, 6000) },
      { iface: 0, us: 3_000_020_140, frame: clientSynAck(40012, 6000, VIP) },
    ]);
    const roles = { clientIface: 'perf-c1', backendIface: 'perf-vm1', controllerPort: CTL, clientIp: CLIENT, backendIp: BACKEND, paths: { [VIP]: 'vip' } };
    const traces = connectionTraces(readPcapng(file), roles);
    expect(traces.map((t) => t.backendPort)).toEqual([40011, undefined]);
    const split = splitTraces(traces);
    expect(split.byPath.vip).toMatchObject({ connections: 2, incomplete: 0, portTranslated: 1 });
    expect(split.byPath.vip.backend.max).toBeCloseTo(10_000, 3);
    expect(split.slowest[0]).toMatchObject({ clientPort: 40010, backendPort: 40011 });
    expect(split.slowest[1].backendPort).toBeUndefined();
  });

  it('reads messages that share a segment, and nanosecond stamps', () => {
    const two = Buffer.concat([ofMessage(2), ofMessage(3)]);
    const packets = readPcapng(pcapng(['lo'], [{ iface: 0, us: 5_000_000, frame: toCtl(1, two) }], 9));
    expect(packets[0].us).toBeCloseTo(5_000_000, 3);
    expect(openflowMessages(packets, CTL).map((m) => [m.type, m.toController])).toEqual([[2, true], [3, true]]);
  });

  it('drops a stream that does not start at a message, and picks it up at the next message', () => {
    const packets = readPcapng(pcapng(['lo'], [
      { iface: 0, us: 1, frame: toCtl(1, Buffer.from([0, 0, 0])) },
      { iface: 0, us: 2, frame: toCtl(4, ofMessage(2)) },
    ]));
    expect(openflowMessages(packets, CTL).map((m) => m.us)).toEqual([2]);
  });

  it('finds the frame a packet-in and a packet-out carry', () => {
    const inner = clientSyn(40001, VIP, 77);
    for (const bytes of [packetIn(inner, 1), packetOut(inner, 24)]) {
      const frame = carriedFrame({ us: 0, toController: bytes[1] === 10, type: bytes[1], bytes });
      expect(tcpOf(frame!)).toMatchObject({ sport: 40001, dport: 80, seq: 77, syn: true, ackFlag: false, dst: VIP });
    }
  });

  it('refuses a file that is not pcapng, by where and why', () => {
    const bad = Buffer.alloc(16);
    bad.writeUInt32LE(0x0a0d0d0a, 0);
    bad.writeUInt32LE(16, 4);
    bad.writeUInt32LE(0xdeadbeef, 8);
    expect(() => readPcapng(bad)).toThrow(TraceInputError);
    expect(() => readPcapng(bad)).toThrow(/byte 0 has byte-order magic 0xdeadbeef/);
  });
});
