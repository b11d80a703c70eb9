// Where a new connection's first-packet time goes, from one packet capture (pcapng, dumpcap with several interfaces):
// the client's OVS port, the backend's OVS port and the loopback carrying the OpenFlow connection. Per connection (the
// client's port and initial sequence number; conntrack NAT keeps both): the SYN entering OVS, the packet-in leaving
// OVS, vadc's packet-out, the SYN leaving OVS to the backend, the backend's SYN-ACK and the SYN-ACK reaching the
// client's port. Kernel timestamps on every interface, one clock. Pure: bytes in, figures out.
import { summarize, type Distribution } from './realovs-stats';

export class TraceInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TraceInputError';
  }
}

export interface CapturedPacket {
  /** The capturing interface's name (pcapng if_name). */
  iface: string;
  /** Capture time, microseconds since the epoch. */
  us: number;
  /** The link-layer frame (Ethernet) as captured. */
  frame: Buffer;
}

const SHB = 0x0a0d0d0a;
const IDB = 1;
const EPB = 6;
const LINKTYPE_ETHERNET = 1;

/** The packets of a pcapng file (little- or big-endian sections; Ethernet interfaces only), in file order. */
export function readPcapng(file: Buffer): CapturedPacket[] {
  const packets: CapturedPacket[] = [];
  let ifaces: Array<{ name: string; tsPerSecond: number; linkType: number }> = [];
  let le = true;
  let at = 0;
  while (at + 12 <= file.length) {
    const typeLe = file.readUInt32LE(at);
    if (typeLe === SHB) {
      const magic = file.readUInt32LE(at + 8);
      if (magic === 0x1a2b3c4d) le = true;
      else if (magic === 0x4d3c2b1a) le = false;
      else throw new TraceInputError(`pcapng section at byte ${at} has byte-order magic 0x${magic.toString(16)}`);
      ifaces = [];
    }
    const u32 = (o: number) => (le ? file.readUInt32LE(o) : file.readUInt32BE(o));
    const u16 = (o: number) => (le ? file.readUInt16LE(o) : file.readUInt16BE(o));
    const type = u32(at);
    const len = u32(at + 4);
    if (len < 12 || len % 4 !== 0 || at + len > file.length) {
      throw new TraceInputError(`pcapng block at byte ${at} has length ${len} (${file.length - at} bytes left)`);
    }
    if (type === IDB) {
      const iface = { name: `if${ifaces.length}`, tsPerSecond: 1e6, linkType: u16(at + 8) };
      for (let o = at + 16; o + 4 <= at + len - 4;) {
        const code = u16(o);
        const optLen = u16(o + 2);
        if (code === 0) break;
        if (code === 2) iface.name = file.toString('utf8', o + 4, o + 4 + optLen).replace(/\0+$/, '');
        if (code === 9) {
          const r = file[o + 4];
          iface.tsPerSecond = r & 0x80 ? 2 ** (r & 0x7f) : 10 ** r;
        }
        o += 4 + ((optLen + 3) & ~3);
      }
      ifaces.push(iface);
    } else if (type === EPB) {
      const iface = ifaces[u32(at + 8)];
      if (!iface) throw new TraceInputError(`packet at byte ${at} names interface ${u32(at + 8)}, of ${ifaces.length} described`);
      const ticks = u32(at + 12) * 2 ** 32 + u32(at + 16);
      const capLen = u32(at + 20);
      if (iface.linkType === LINKTYPE_ETHERNET) {
        packets.push({ iface: iface.name, us: (ticks / iface.tsPerSecond) * 1e6, frame: file.subarray(at + 28, at + 28 + capLen) });
      }
    }
    at += len;
  }
  return packets;
}

export interface TcpSegment {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  syn: boolean;
  ackFlag: boolean;
  payload: Buffer;
}

/** An Ethernet/IPv4/TCP frame's TCP fields (undefined for anything else or a frame cut short). */
export function tcpOf(frame: Buffer): TcpSegment | undefined {
  if (frame.length < 14 + 20 || frame.readUInt16BE(12) !== 0x0800) return undefined;
  const ip = 14;
  const ihl = (frame[ip] & 0x0f) * 4;
  if (frame[ip + 9] !== 6 || frame.length < ip + ihl + 20) return undefined;
  const ipEnd = Math.min(frame.length, ip + frame.readUInt16BE(ip + 2));
  const tcp = ip + ihl;
  const flags = frame[tcp + 13];
  const addr = (o: number) => `${frame[o]}.${frame[o + 1]}.${frame[o + 2]}.${frame[o + 3]}`;
  return {
    src: addr(ip + 12), dst: addr(ip + 16), sport: frame.readUInt16BE(tcp), dport: frame.readUInt16BE(tcp + 2),
    seq: frame.readUInt32BE(tcp + 4), ack: frame.readUInt32BE(tcp + 8), syn: (flags & 0x02) !== 0, ackFlag: (flags & 0x10) !== 0,
    payload: frame.subarray(tcp + (frame[tcp + 12] >> 4) * 4, ipEnd),
  };
}

export interface OfMessageSeen {
  us: number;
  toController: boolean;
  type: number;
  bytes: Buffer;
}

const OFP_VERSION_13 = 4;

/**
 * The OpenFlow messages on the controller's connection(s), each with the time of the segment that completed it. Each
 * direction's stream is joined by sequence number (a segment seen twice is skipped); a stream that does not start at a
 * message boundary, or loses a segment, is dropped up to the next segment that starts with a 1.3 header.
 */
export function openflowMessages(packets: readonly CapturedPacket[], controllerPort: number): OfMessageSeen[] {
  const streams = new Map<string, { next: number; pending: Buffer }>();
  const out: OfMessageSeen[] = [];
  for (const p of packets) {
    const t = tcpOf(p.frame);
    if (!t || (t.sport !== controllerPort && t.dport !== controllerPort)) continue;
    if (t.syn) continue;
    const key = `${t.src}:${t.sport}>${t.dst}:${t.dport}`;
    const toController = t.dport === controllerPort;
    let s = streams.get(key);
    if (t.payload.length === 0) continue;
    if (s && t.seq !== s.next) {
      if (((t.seq - s.next) | 0) < 0) continue; // already seen
      s = undefined; // a gap: start again at this segment
    }
    if (!s) {
      if (t.payload[0] !== OFP_VERSION_13) continue;
      s = { next: t.seq, pending: Buffer.alloc(0) };
      streams.set(key, s);
    }
    s.next = (t.seq + t.payload.length) >>> 0;
    let buf = s.pending.length ? Buffer.concat([s.pending, t.payload]) : t.payload;
    while (buf.length >= 8) {
      const length = buf.readUInt16BE(2);
      if (buf[0] !== OFP_VERSION_13 || length < 8) {
        streams.delete(key); // lost the framing
        buf = Buffer.alloc(0);
        break;
      }
      if (buf.length < length) break;
      out.push({ us: p.us, toController, type: buf[1], bytes: buf.subarray(0, length) });
      buf = buf.subarray(length);
    }
    if (streams.has(key)) s.pending = Buffer.from(buf);
  }
  return out;
}

const OFPT_PACKET_IN = 10;
const OFPT_PACKET_OUT = 13;
const OFPT_MULTIPART_REQUEST = 18;

/** The Ethernet frame a packet_in or packet_out carries (undefined for other messages or none). */
export function carriedFrame(msg: OfMessageSeen): Buffer | undefined {
  const b = msg.bytes;
  if (msg.type === OFPT_PACKET_IN && b.length >= 32) {
    const matchLen = b.readUInt16BE(26);
    return b.subarray(24 + ((matchLen + 7) & ~7) + 2);
  }
  if (msg.type === OFPT_PACKET_OUT && b.length >= 24) return b.subarray(24 + b.readUInt16BE(16));
  return undefined;
}

export interface TraceRoles {
  /** Interface names as captured. */
  clientIface: string;
  backendIface: string;
  controllerPort: number;
  clientIp: string;
  backendIp: string;
  /** Destination address -> path name (e.g. the VIP -> 'vip', the static address -> 'static'). */
  paths: Record<string, string>;
}

/** One connection's moments, us since the epoch (absent: not seen). */
export interface ConnectionTrace {
  path: string;
  clientPort: number;
  /** SYNs the client's port saw for this connection (more than 1: retransmitted). */
  syns: number;
  synIn: number;
  packetIn?: number;
  packetOut?: number;
  synToBackend?: number;
  synAckFromBackend?: number;
  synAckToClient?: number;
  /** The source port the backend saw, when the tracker translated it (a NAT tuple still taken by an earlier connection). */
  backendPort?: number;
}

/**
 * Each connection's trace, in the order their first SYN was seen. The packets are taken in time order: dumpcap writes
 * each interface's packets in batches, so a file of several interfaces is not in time order.
 */
export function connectionTraces(captured: readonly CapturedPacket[], roles: TraceRoles): ConnectionTrace[] {
  const packets = inTimeOrder(captured);
  const byKey = new Map<string, ConnectionTrace>();
  const keyOf = (port: number, isn: number) => `${port}/${isn >>> 0}`;
  // The backend's side by the initial sequence number alone when the port is not the client's: the tracker moved it.
  const byIsn = new Map<number, ConnectionTrace>();
  const atBackend = (port: number, isn: number) => {
    const c = byKey.get(keyOf(port, isn));
    if (c) return c;
    const moved = byIsn.get(isn >>> 0);
    if (moved && moved.clientPort !== port) moved.backendPort = port;
    return moved;
  };
  const first = (c: ConnectionTrace | undefined, field: 'packetIn' | 'packetOut' | 'synToBackend' | 'synAckFromBackend' | 'synAckToClient', us: number) => {
    if (c && c[field] === undefined) c[field] = us;
  };
  for (const p of packets) {
    if (p.iface !== roles.clientIface && p.iface !== roles.backendIface) continue;
    const t = tcpOf(p.frame);
    if (!t || !t.syn) continue;
    if (p.iface === roles.clientIface) {
      if (!t.ackFlag && t.src === roles.clientIp) {
        const path = roles.paths[t.dst];
        if (path === undefined) continue;
        const key = keyOf(t.sport, t.seq);
        const c = byKey.get(key);
        if (c) c.syns++;
        else {
          const trace: ConnectionTrace = { path, clientPort: t.sport, syns: 1, synIn: p.us };
          byKey.set(key, trace);
          byIsn.set(t.seq >>> 0, trace);
        }
      } else if (t.ackFlag && t.dst === roles.clientIp) {
        first(byKey.get(keyOf(t.dport, t.ack - 1)), 'synAckToClient', p.us);
      }
    } else if (!t.ackFlag && t.dst === roles.backendIp) {
      first(atBackend(t.sport, t.seq), 'synToBackend', p.us);
    } else if (t.ackFlag && t.src === roles.backendIp) {
      first(atBackend(t.dport, t.ack - 1), 'synAckFromBackend', p.us);
    }
  }
  for (const m of openflowMessages(packets, roles.controllerPort)) {
    const inner = carriedFrame(m);
    const t = inner && tcpOf(inner);
    if (!t || !t.syn || t.ackFlag || t.src !== roles.clientIp) continue;
    first(byKey.get(keyOf(t.sport, t.seq)), m.type === OFPT_PACKET_IN ? 'packetIn' : 'packetOut', m.us);
  }
  return [...byKey.values()];
}

/** The packets sorted by capture time (stable: one interface's packets keep their order). */
export function inTimeOrder(packets: readonly CapturedPacket[]): CapturedPacket[] {
  return packets.map((p, i) => ({ p, i })).sort((a, b) => a.p.us - b.p.us || a.i - b.i).map(({ p }) => p);
}

/** When the controller's multipart requests (its statistics polls) crossed the wire, us since the epoch. */
export function multipartRequestTimes(packets: readonly CapturedPacket[], controllerPort: number): number[] {
  return openflowMessages(packets, controllerPort).filter((m) => !m.toController && m.type === OFPT_MULTIPART_REQUEST).map((m) => m.us);
}

/** A pause of vadc's process (a GC), us since the epoch. */
export interface Pause {
  startUs: number;
  durationUs: number;
}

export interface PathSplit {
  connections: number;
  /** Connections missing a moment (retransmitted SYNs are counted apart). */
  incomplete: number;
  retransmitted: number;
  /** Connections whose source port reached the backend changed (the tracker's NAT found the tuple taken). */
  portTranslated: number;
  /** SYN in -> SYN-ACK at the client's port: the whole first round trip as OVS's ports see it. */
  total: Distribution;
  /** SYN in -> SYN to the backend. */
  toBackend: Distribution;
  /** Backend: SYN out -> its SYN-ACK back. */
  backend: Distribution;
  /** The backend's SYN-ACK -> at the client's port. */
  back: Distribution;
  /** Controller path only: SYN in -> packet-in on the wire (OVS's upcall and packet-in). */
  ovsIn?: Distribution;
  /** Packet-in on the wire -> packet-out on the wire (vadc: wake-up, read, decode, decide, write). */
  vadc?: Distribution;
  /** Packet-out on the wire -> SYN to the backend (OVS executes the commit and the output). */
  ovsOut?: Distribution;
}

export interface SlowConnection {
  path: string;
  clientPort: number;
  /** The source port the backend saw, when the tracker translated it. */
  backendPort?: number;
  totalUs: number;
  ovsInUs: number;
  vadcUs: number;
  ovsOutUs: number;
  backendUs: number;
  backUs: number;
  /** Of vadc's span, the time GC pauses covered. */
  gcInVadcUs: number;
  /** Since the controller's last statistics request before the SYN (a poll nearby?), ms. */
  sinceLastStatsRequestMs: number;
}

export interface TraceSplit {
  byPath: Record<string, PathSplit>;
  /** The slowest connections of the controller path, slowest first. */
  slowest: SlowConnection[];
}

/** The split of each path's first round trip, and the `slowest` slowest connections of the controller path in detail. */
export function splitTraces(traces: readonly ConnectionTrace[], opts: { pauses?: readonly Pause[]; statsRequests?: readonly number[]; slowest?: number } = {}): TraceSplit {
  const byPath: Record<string, PathSplit> = {};
  const paths = [...new Set(traces.map((t) => t.path))];
  const done = traces.filter((t) => t.synAckToClient !== undefined && t.synToBackend !== undefined && t.synAckFromBackend !== undefined);
  for (const path of paths) {
    const all = traces.filter((t) => t.path === path);
    const ok = done.filter((t) => t.path === path);
    const viaController = ok.filter((t) => t.packetIn !== undefined && t.packetOut !== undefined);
    const d = (f: (t: ConnectionTrace) => number, of: readonly ConnectionTrace[] = ok) => summarize(of.map(f));
    byPath[path] = {
      connections: all.length,
      incomplete: all.length - ok.length,
      retransmitted: all.filter((t) => t.syns > 1).length,
      portTranslated: all.filter((t) => t.backendPort !== undefined).length,
      total: d((t) => t.synAckToClient! - t.synIn),
      toBackend: d((t) => t.synToBackend! - t.synIn),
      backend: d((t) => t.synAckFromBackend! - t.synToBackend!),
      back: d((t) => t.synAckToClient! - t.synAckFromBackend!),
      ...(viaController.length ? {
        ovsIn: d((t) => t.packetIn! - t.synIn, viaController),
        vadc: d((t) => t.packetOut! - t.packetIn!, viaController),
        ovsOut: d((t) => t.synToBackend! - t.packetOut!, viaController),
      } : {}),
    };
  }
  const pauses = opts.pauses ?? [];
  const requests = [...(opts.statsRequests ?? [])].sort((a, b) => a - b);
  // Datapath decisions (no packet-in at all): the slowest VIP connections, their controller spans NaN.
  const decidedByController = (t: ConnectionTrace) => t.packetIn !== undefined && t.packetOut !== undefined;
  const anyPacketIn = done.some(decidedByController);
  const slowest = done.filter((t) => (anyPacketIn ? decidedByController(t) : t.path === 'vip'))
    .sort((a, b) => (b.synAckToClient! - b.synIn) - (a.synAckToClient! - a.synIn))
    .slice(0, opts.slowest ?? 10)
    .map((t): SlowConnection => {
      const gc = pauses.reduce((n, p) => n + Math.max(0, Math.min(t.packetOut!, p.startUs + p.durationUs) - Math.max(t.packetIn!, p.startUs)), 0);
      const last = requests.filter((r) => r <= t.synIn).pop();
      return {
        path: t.path, clientPort: t.clientPort, ...(t.backendPort !== undefined ? { backendPort: t.backendPort } : {}), totalUs: t.synAckToClient! - t.synIn, ovsInUs: t.packetIn! - t.synIn,
        vadcUs: t.packetOut! - t.packetIn!, ovsOutUs: t.synToBackend! - t.packetOut!, backendUs: t.synAckFromBackend! - t.synToBackend!,
        backUs: t.synAckToClient! - t.synAckFromBackend!, gcInVadcUs: gc, sinceLastStatsRequestMs: last === undefined ? NaN : (t.synIn - last) / 1000,
      };
    });
  return { byPath, slowest };
}
