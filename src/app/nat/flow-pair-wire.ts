/**
 * Flows mode's packet-in fast path: one new connection's forward flow-mod, reverse flow-mod and the
 * resubmit packet-out of its first packet, as wire bytes written from numbers into pre-encoded layouts
 * (src/openflow/layout.ts: encode()'s own bytes for a prototype connection of the service, with the
 * offsets of the per-connection values found by encoding). test/unit/app/wire.test.ts checks the result
 * against encode() of the built messages, byte for byte.
 */
// Buffer from its module: the global one is an accessor, a LoadGlobalIC miss and a getter call per new connection
// (~145 instructions, callgrind: docs/benchmarks.md; ct-commit-wire.ts does the same).
import { Buffer } from 'node:buffer';
import { buildConnectionFlows, buildResubmitPacketOut, FlowBuildError, type ConnectionSpec, type L4Protocol } from '../../flows/builders';
import { MAX_CONNECTION_ID } from '../../flows/cookies';
import { TABLE, type VadcTables } from '../../flows/pipeline';
import { uint32ToIpv4 } from '../../net/ipv4';
import { formatIpv6Words, type Ipv6Pair } from '../../net/ipv6';
import { numberToMac } from '../../net/mac';
import { compileLayout, u16, u32, type MessageLayout, type SlotSpecs } from '../../openflow/layout';
import { messageMemory } from '../../flows/memory-view';

/** What a service fixes for all its connection flows. */
export interface FlowPairService {
  serviceId: number;
  protocol: L4Protocol;
  idleTimeout: number;
  finTimeout?: number;
  vipMac: string;
  vipPort: number;
  /**
   * The VIP when it is one address (not a prefix): every connection has it, so the per-backend pair (pair()) carries
   * it and encodeWith writes only the client's address. For an IPv6 VIP its 16 bytes (FlowPairWireEncoder6), else the
   * uint32 (FlowPairWireEncoder). Absent: the VIP is read from each connection's values.
   */
  vip?: number | Uint8Array;
}

/** One connection's variable values, as numbers (addresses as uint32, MACs as 6 bytes at an offset). */
export interface FlowPairValues {
  connectionId: number;
  clientOfport: number;
  clientIp: number;
  clientPort: number;
  /**
   * Where the client's MAC is in the connection's first packet (the packet-in's eth_src): read from the frame the
   * encoder is given, so the fast path stores no frame in a long-lived values record (a pointer store is a write-barrier
   * call while the collector marks, and always for a new frame in an old record).
   */
  clientMacOffset: number;
  vipIp: number;
  backendOfport: number;
  backendIp: number;
  backendPort: number;
  /** The backend's MAC as 6 bytes. */
  backendMac: Uint8Array;
}

/** The layouts' slots: every per-connection value, MACs as 48-bit numbers. */
interface Slots extends Record<string, number> {
  connectionId: number; clientOfport: number; clientIp: number; clientPort: number; clientMac: number; vipIp: number;
  backendOfport: number; backendIp: number; backendPort: number; backendMac: number;
}

const SLOTS: SlotSpecs<Slots> = {
  connectionId: { bytes: 4, bits: 28 }, clientOfport: { bytes: 4 }, clientIp: { bytes: 4 }, clientPort: { bytes: 2 }, clientMac: { bytes: 6 },
  vipIp: { bytes: 4 }, backendOfport: { bytes: 4 }, backendIp: { bytes: 4 }, backendPort: { bytes: 2 }, backendMac: { bytes: 6 },
};

const PROTOTYPE: Slots = {
  connectionId: 1, clientOfport: 1, clientIp: 0x0a000001, clientPort: 1, clientMac: 0x020000000001, vipIp: 0x0a000002,
  backendOfport: 2, backendIp: 0x0a000003, backendPort: 2, backendMac: 0x020000000002,
};

/** The slots of one message that this encoder stores by hand (the rest of the message is fixed). */
function only<K extends keyof Slots>(keys: readonly K[]): SlotSpecs<Slots> {
  return Object.fromEntries(keys.map((k) => [k, SLOTS[k]])) as unknown as SlotSpecs<Slots>;
}

const PACKET_OUT_IN_PORT: SlotSpecs<{ inPort: number }> = { inPort: { bytes: 4 } };

/** The three messages a connection's encoding holds (forward, reverse, packet-out), two of them flow-mods. */
export const FLOW_PAIR_MESSAGES = 3;
export const FLOW_PAIR_FLOW_MODS = 2;

/**
 * Writes a service's connection flows (forward, reverse) and the resubmit packet-out of the connection's
 * first packet as one buffer of three whole OpenFlow messages with xid 0 (the session assigns xids).
 */
export class FlowPairWireEncoder {
  private readonly forward: MessageLayout<Slots>;
  private readonly reverse: MessageLayout<Slots>;
  private readonly packetOut: MessageLayout<{ inPort: number }>;
  private readonly f: Record<'connectionId' | 'clientOfport' | 'clientIp' | 'vipIp' | 'clientPort' | 'backendMac' | 'backendIp' | 'backendPort' | 'backendOfport', number>;
  private readonly r: Record<'connectionId' | 'backendOfport' | 'backendIp' | 'clientIp' | 'backendPort' | 'clientPort' | 'clientMac' | 'vipIp' | 'clientOfport', number>;
  private readonly cookieLowBase: number;
  /** Where each connection's own values go in its message (the pair's offsets, then the packet-out's). */
  private readonly at: ConnectionOffsets;
  private readonly client: ClientOffsets;
  /** service.vip when the VIP is one IPv4 address: in every pair, never written per connection. */
  private readonly fixedVip: number | undefined;

  constructor(readonly service: FlowPairService, tables: VadcTables = TABLE) {
    if (service.vip instanceof Uint8Array) throw new FlowBuildError('an IPv4 flow pair takes its VIP as a uint32, not 16 bytes');
    this.fixedVip = service.vip;
    const spec = (v: Slots) => connectionSpec(service, v);
    this.forward = compileLayout((v) => buildConnectionFlows(spec(v), tables)[0], PROTOTYPE,
      only(['connectionId', 'clientOfport', 'clientIp', 'vipIp', 'clientPort', 'backendMac', 'backendIp', 'backendPort', 'backendOfport']));
    this.reverse = compileLayout((v) => buildConnectionFlows(spec(v), tables)[1], PROTOTYPE,
      only(['connectionId', 'backendOfport', 'backendIp', 'clientIp', 'backendPort', 'clientPort', 'clientMac', 'vipIp', 'clientOfport']));
    this.packetOut = packetOutLayout();
    const fo = (k: keyof Slots) => this.forward.offset(k);
    const ro = (k: keyof Slots) => this.reverse.offset(k);
    this.f = {
      connectionId: fo('connectionId'), clientOfport: fo('clientOfport'), clientIp: fo('clientIp'), vipIp: fo('vipIp'), clientPort: fo('clientPort'),
      backendMac: fo('backendMac'), backendIp: fo('backendIp'), backendPort: fo('backendPort'), backendOfport: fo('backendOfport'),
    };
    this.r = {
      connectionId: ro('connectionId'), backendOfport: ro('backendOfport'), backendIp: ro('backendIp'), clientIp: ro('clientIp'),
      backendPort: ro('backendPort'), clientPort: ro('clientPort'), clientMac: ro('clientMac'), vipIp: ro('vipIp'), clientOfport: ro('clientOfport'),
    };
    this.at = connectionOffsets(this.forward.bytes.length, this.f, this.r, this.reverse.bytes.length, this.packetOut);
    this.client = clientOffsets(this.forward.bytes.length, [this.f.clientIp, this.f.clientPort, this.f.vipIp], [this.r.clientIp, this.r.clientPort, this.r.vipIp]);
    this.cookieLowBase = cookieLowBase(service.serviceId);
  }

  /** Bytes of the three messages for one new connection whose first packet is `frame`. */
  encode(v: FlowPairValues, frame: Buffer): Buffer {
    return this.encodeWith(this.pair(v.backendIp, v.backendPort, v.backendMac, v.backendOfport), v, frame);
  }

  /**
   * The forward and reverse flow-mods with one backend port's values written in, then the packet-out's head, for
   * encodeWith (flows mode keeps them per backend location, so a connection writes only its own values).
   */
  pair(backendIp: number, backendPort: number, backendMac: Uint8Array, backendOfport: number): Buffer {
    const pair = headOf(this.forward.bytes, this.reverse.bytes, this.packetOut.bytes);
    u32(pair, this.f.backendIp, backendIp);
    u32(pair, this.forward.bytes.length + this.r.backendIp, backendIp);
    if (this.fixedVip !== undefined) {
      u32(pair, this.f.vipIp, this.fixedVip);
      u32(pair, this.forward.bytes.length + this.r.vipIp, this.fixedVip);
    }
    return writePairBackendPort(pair, this.forward.bytes.length, this.f, this.r, backendPort, backendMac, backendOfport);
  }

  /** encode() from a `pair` made for the connection's backend port: the backend values in `v` are not read. */
  encodeWith(pair: Buffer, v: FlowPairValues, frame: Buffer): Buffer {
    const out = connectionMessage(pair, this.at, this.cookieLowBase, v, frame);
    // Through the view the message's memory came with (as connectionMessage's own words).
    const view = messageMemory.view;
    const at = messageMemory.at;
    const o = this.client;
    view.setUint32(at + o.forward, v.clientIp);
    view.setUint32(at + o.reverse, v.clientIp);
    view.setUint16(at + o.forwardPort, v.clientPort);
    view.setUint16(at + o.reversePort, v.clientPort);
    if (this.fixedVip === undefined) {
      view.setUint32(at + o.forwardVip, v.vipIp);
      view.setUint32(at + o.reverseVip, v.vipIp);
    }
    return out;
  }
}

/** Where both flow-mods hold the connection id, the backend's port, MAC and OpenFlow port, and the client's. */
interface PairOffsets {
  f: { connectionId: number; clientOfport: number; backendMac: number; backendPort: number; backendOfport: number };
  r: { connectionId: number; backendOfport: number; backendPort: number; clientMac: number; clientOfport: number };
}

/** Where every connection writes its own values in its message, whichever its family (offsets from the message's start). */
interface ConnectionOffsets {
  forwardCookie: number;
  reverseCookie: number;
  /** The client's OpenFlow port: the forward flow's in_port match, the reverse's output, the packet-out's in_port. */
  forwardInPort: number;
  reverseOutPort: number;
  packetOutInPort: number;
  /** The reverse flow's eth_dst: the client's MAC, from the packet's eth_src. */
  clientMac: number;
  /** Where the packet-out starts (its length is written at 2 past it). */
  packetOut: number;
}

function connectionOffsets(
  fwdLen: number, f: { connectionId: number; clientOfport: number }, r: { connectionId: number; clientOfport: number; clientMac: number }, revLen: number,
  packetOut: MessageLayout<{ inPort: number }>,
): ConnectionOffsets {
  const po = fwdLen + revLen;
  return {
    forwardCookie: f.connectionId, reverseCookie: fwdLen + r.connectionId, forwardInPort: f.clientOfport, reverseOutPort: fwdLen + r.clientOfport,
    packetOutInPort: po + packetOut.offset('inPort'), clientMac: fwdLen + r.clientMac, packetOut: po,
  };
}

/** Where a connection's client address and port, and a prefix VIP's address, go in its message (either family's address). */
interface ClientOffsets {
  forward: number;
  reverse: number;
  forwardPort: number;
  reversePort: number;
  forwardVip: number;
  reverseVip: number;
}

/** ClientOffsets from the forward's and the reverse's offsets of [client address, client port, VIP address]. */
function clientOffsets(fwdLen: number, [client, port, vip]: readonly number[], r: readonly number[]): ClientOffsets {
  return { forward: client, reverse: fwdLen + r[0], forwardPort: port, reversePort: fwdLen + r[1], forwardVip: vip, reverseVip: fwdLen + r[2] };
}

/** The resubmit packet-out of a connection's first packet without the packet: its in_port found as a slot. */
const packetOutLayout = () => compileLayout((v) => buildResubmitPacketOut(Buffer.alloc(0), v.inPort), { inPort: 1 }, PACKET_OUT_IN_PORT);

/** The cookie's low word: service id bits 31..28 (its low 4 bits), connection id bits 27..0. */
const cookieLowBase = (serviceId: number): number => ((serviceId & 0xf) << 28) >>> 0;

/**
 * The forward flow-mod's bytes, the reverse's and the packet-out's head (all but the packet), in a new buffer: a
 * connection's message then starts with one copy of it (a copy less than the pair and the head apart, ~160
 * instructions a connection: docs/benchmarks.md).
 */
function headOf(forward: Buffer, reverse: Buffer, packetOutHead: Buffer): Buffer {
  const head = Buffer.allocUnsafe(forward.length + reverse.length + packetOutHead.length);
  head.set(forward, 0);
  head.set(reverse, forward.length);
  head.set(packetOutHead, forward.length + reverse.length);
  return head;
}

/** A backend port's port number, MAC (forward) and OpenFlow port, written into both flow-mods of a pair. */
function writePairBackendPort(
  pair: Buffer, fwdLen: number, f: PairOffsets['f'], r: PairOffsets['r'], backendPort: number, backendMac: Uint8Array, backendOfport: number,
): Buffer {
  pair.set(backendMac, f.backendMac);
  u16(pair, f.backendPort, backendPort);
  u32(pair, f.backendOfport, backendOfport);
  u32(pair, fwdLen + r.backendOfport, backendOfport);
  u16(pair, fwdLen + r.backendPort, backendPort);
  return pair;
}

/**
 * The three messages' buffer for one connection, cut from messageMemory: the head (see pair()) and the packet, with the
 * connection's cookie, the client's OpenFlow port (both flow-mods, the packet-out's in_port) and MAC (the reverse's eth_dst, from the
 * packet's eth_src) and the packet-out's length written in. The caller writes the client's addresses and
 * port through messageMemory's view. Words go through the view: a Buffer takes a 32-bit word as four byte stores.
 */
function connectionMessage(
  head: Buffer, o: ConnectionOffsets, cookieLowBase: number, v: { connectionId: number; clientOfport: number; clientMacOffset: number },
  frame: Buffer,
): Buffer {
  if (!(v.connectionId >= 1 && v.connectionId <= MAX_CONNECTION_ID)) throw new FlowBuildError(`connection id ${v.connectionId} is outside 1..${MAX_CONNECTION_ID}`);
  const memory = messageMemory;
  const out = memory.joined(head, frame);
  const view = memory.view;
  const at = memory.at;
  const cookieLow = (cookieLowBase | v.connectionId) >>> 0;
  view.setUint32(at + o.forwardCookie, cookieLow);
  view.setUint32(at + o.reverseCookie, cookieLow);
  const clientOfport = v.clientOfport;
  view.setUint32(at + o.forwardInPort, clientOfport);
  view.setUint32(at + o.reverseOutPort, clientOfport);
  view.setUint32(at + o.packetOutInPort, clientOfport);
  view.setUint16(at + o.packetOut + 2, out.length - o.packetOut);
  const macAt = v.clientMacOffset;
  const setMac = o.clientMac;
  for (let i = 0; i < 6; i++) out[setMac + i] = frame[macAt + i];
  return out;
}

/** The connection whose flows have the slots' values. */
function connectionSpec(s: FlowPairService, v: Slots): ConnectionSpec {
  return {
    serviceId: s.serviceId, connectionId: v.connectionId, protocol: s.protocol, idleTimeout: s.idleTimeout, finTimeout: s.finTimeout,
    client: { ofport: v.clientOfport, mac: numberToMac(v.clientMac), ip: uint32ToIpv4(v.clientIp), port: v.clientPort },
    vip: { mac: s.vipMac, ip: uint32ToIpv4(v.vipIp), port: s.vipPort },
    backend: { ofport: v.backendOfport, mac: numberToMac(v.backendMac), ip: uint32ToIpv4(v.backendIp), port: v.backendPort },
  };
}

/**
 * An IPv6 connection's variable values: the ports and MACs as for IPv4; the client's and the VIP's addresses as
 * the header's eight words (client s0..s3, VIP d0..d3: the packet-in path's TransportHeader.ip6) and the backend's as
 * its 16 bytes (lb Backend.ip6).
 */
export interface FlowPairValues6 extends Omit<FlowPairValues, 'clientIp' | 'vipIp' | 'backendIp'> {
  ip6: Ipv6Pair;
  backendIp6: Uint8Array;
}

/** Slots of the IPv6 pair: each address as four 32-bit words (found one by one, then checked side by side). */
interface Slots6 extends Record<string, number> {
  connectionId: number; clientOfport: number; clientPort: number; clientMac: number; backendOfport: number; backendPort: number; backendMac: number;
  client0: number; client1: number; client2: number; client3: number; vip0: number; vip1: number; vip2: number; vip3: number;
  backend0: number; backend1: number; backend2: number; backend3: number;
}

const WORD = { bytes: 4 } as const;
const SLOTS6: SlotSpecs<Slots6> = {
  connectionId: SLOTS.connectionId, clientOfport: SLOTS.clientOfport, clientPort: SLOTS.clientPort, clientMac: SLOTS.clientMac,
  backendOfport: SLOTS.backendOfport, backendPort: SLOTS.backendPort, backendMac: SLOTS.backendMac,
  client0: WORD, client1: WORD, client2: WORD, client3: WORD, vip0: WORD, vip1: WORD, vip2: WORD, vip3: WORD,
  backend0: WORD, backend1: WORD, backend2: WORD, backend3: WORD,
};

// Every word distinct, so each slot is found by its own bytes.
const PROTOTYPE6: Slots6 = {
  connectionId: 1, clientOfport: 1, clientPort: 1, clientMac: 0x020000000001, backendOfport: 2, backendPort: 2, backendMac: 0x020000000002,
  client0: 0xfd000000, client1: 0x00000001, client2: 0x00000002, client3: 0x00000003,
  vip0: 0xfd000000 + 4, vip1: 0x00000005, vip2: 0x00000006, vip3: 0x00000007,
  backend0: 0xfd000000 + 8, backend1: 0x00000009, backend2: 0x0000000a, backend3: 0x0000000b,
};

type Address = 'client' | 'vip' | 'backend';
const wordsOf = (a: Address) => [`${a}0`, `${a}1`, `${a}2`, `${a}3`] as const;

/** The offset of an address's 16 bytes in a layout (its four words must lie side by side, as one OXM value). */
function addressOffset(layout: MessageLayout<Slots6>, a: Address, what: string): number {
  const at = wordsOf(a).map((k) => layout.offset(k));
  if (at.some((o, i) => o !== at[0] + 4 * i)) throw new FlowBuildError(`${what} layout: the ${a} address's words are not contiguous (${at.join(', ')})`);
  return at[0];
}

/**
 * FlowPairWireEncoder for an IPv6 service: the same three messages with ipv6_* matches and rewrites, each address
 * written as 16 bytes (from the header's words, or the backend's bytes). Without it each IPv6 connection built and
 * encoded two flow-mods and a packet-out through the codec (7.7x an IPv4 connection's cost, docs/benchmarks.md).
 */
export class FlowPairWireEncoder6 {
  private readonly forward: MessageLayout<Slots6>;
  private readonly reverse: MessageLayout<Slots6>;
  private readonly packetOut: MessageLayout<{ inPort: number }>;
  private readonly f: Record<'connectionId' | 'clientOfport' | 'client' | 'vip' | 'clientPort' | 'backendMac' | 'backend' | 'backendPort' | 'backendOfport', number>;
  private readonly r: Record<'connectionId' | 'backendOfport' | 'backend' | 'client' | 'backendPort' | 'clientPort' | 'clientMac' | 'vip' | 'clientOfport', number>;
  private readonly cookieLowBase: number;
  /** Where each connection's own values go in its message (the pair's offsets, then the packet-out's). */
  private readonly at: ConnectionOffsets;
  private readonly client: ClientOffsets;
  /** service.vip when the VIP is one IPv6 address: in every pair, never written per connection. */
  private readonly fixedVip: Uint8Array | undefined;

  constructor(readonly service: FlowPairService, tables: VadcTables = TABLE) {
    if (typeof service.vip === 'number' || (service.vip !== undefined && service.vip.length !== 16)) throw new FlowBuildError('an IPv6 flow pair takes its VIP as 16 bytes');
    this.fixedVip = service.vip;
    const spec = (v: Slots6) => connectionSpec6(service, v);
    const slots = (keys: readonly (keyof Slots6)[]) => Object.fromEntries(keys.map((k) => [k, SLOTS6[k]])) as unknown as SlotSpecs<Slots6>;
    this.forward = compileLayout((v) => buildConnectionFlows(spec(v), tables)[0], PROTOTYPE6,
      slots(['connectionId', 'clientOfport', ...wordsOf('client'), ...wordsOf('vip'), 'clientPort', 'backendMac', ...wordsOf('backend'), 'backendPort', 'backendOfport']));
    this.reverse = compileLayout((v) => buildConnectionFlows(spec(v), tables)[1], PROTOTYPE6,
      slots(['connectionId', 'backendOfport', ...wordsOf('backend'), ...wordsOf('client'), 'backendPort', 'clientPort', 'clientMac', ...wordsOf('vip'), 'clientOfport']));
    this.packetOut = packetOutLayout();
    const fo = (k: keyof Slots6) => this.forward.offset(k);
    const ro = (k: keyof Slots6) => this.reverse.offset(k);
    this.f = {
      connectionId: fo('connectionId'), clientOfport: fo('clientOfport'), clientPort: fo('clientPort'), backendMac: fo('backendMac'),
      backendPort: fo('backendPort'), backendOfport: fo('backendOfport'),
      client: addressOffset(this.forward, 'client', 'forward flow'), vip: addressOffset(this.forward, 'vip', 'forward flow'),
      backend: addressOffset(this.forward, 'backend', 'forward flow'),
    };
    this.r = {
      connectionId: ro('connectionId'), backendOfport: ro('backendOfport'), backendPort: ro('backendPort'), clientPort: ro('clientPort'),
      clientMac: ro('clientMac'), clientOfport: ro('clientOfport'),
      backend: addressOffset(this.reverse, 'backend', 'reverse flow'), client: addressOffset(this.reverse, 'client', 'reverse flow'),
      vip: addressOffset(this.reverse, 'vip', 'reverse flow'),
    };
    this.at = connectionOffsets(this.forward.bytes.length, this.f, this.r, this.reverse.bytes.length, this.packetOut);
    this.client = clientOffsets(this.forward.bytes.length, [this.f.client, this.f.clientPort, this.f.vip], [this.r.client, this.r.clientPort, this.r.vip]);
    this.cookieLowBase = cookieLowBase(service.serviceId);
  }

  /** Bytes of the three messages for one new IPv6 connection whose first packet is `frame`. */
  encode(v: FlowPairValues6, frame: Buffer): Buffer {
    return this.encodeWith(this.pair(v.backendIp6, v.backendPort, v.backendMac, v.backendOfport), v, frame);
  }

  /** FlowPairWireEncoder.pair for IPv6: the backend's address as its 16 bytes. */
  pair(backendIp6: Uint8Array, backendPort: number, backendMac: Uint8Array, backendOfport: number): Buffer {
    if (backendIp6.length !== 16) throw new FlowBuildError(`an IPv6 address is 16 bytes, got ${backendIp6.length}`);
    const pair = headOf(this.forward.bytes, this.reverse.bytes, this.packetOut.bytes);
    pair.set(backendIp6, this.f.backend);
    pair.set(backendIp6, this.forward.bytes.length + this.r.backend);
    if (this.fixedVip !== undefined) {
      pair.set(this.fixedVip, this.f.vip);
      pair.set(this.fixedVip, this.forward.bytes.length + this.r.vip);
    }
    return writePairBackendPort(pair, this.forward.bytes.length, this.f, this.r, backendPort, backendMac, backendOfport);
  }

  /** encode() from a `pair` made for the connection's backend port: the backend values in `v` are not read. */
  encodeWith(pair: Buffer, v: FlowPairValues6, frame: Buffer): Buffer {
    const out = connectionMessage(pair, this.at, this.cookieLowBase, v, frame);
    const w = v.ip6;
    // The client's address (and a prefix VIP's) as 32-bit words through the DataView its memory came with: 16
    // single-byte stores an address cost ~15 instructions each, and a view reached through `out.buffer` ~110 a message
    // (callgrind, docs/benchmarks.md).
    const view = messageMemory.view;
    const at = messageMemory.at;
    const o = this.client;
    writeAddressTwice(view, at + o.forward, at + o.reverse, w.s0, w.s1, w.s2, w.s3);
    view.setUint16(at + o.forwardPort, v.clientPort);
    view.setUint16(at + o.reversePort, v.clientPort);
    if (this.fixedVip === undefined) writeAddressTwice(view, at + o.forwardVip, at + o.reverseVip, w.d0, w.d1, w.d2, w.d3);
    return out;
  }
}

/**
 * One IPv6 address (its four words w0..w3) big-endian at `a` and at `b` in the view (the forward and the reverse
 * flow-mod). The words come as numbers, read once by the caller: V8 reloads a typed array's element after any store
 * through a view (they may alias), with its map and bounds checks (~37 instructions a connection, callgrind,
 * docs/benchmarks.md); the pair's int32 fields are plain loads. setUint32 takes an int32's bits.
 */
function writeAddressTwice(view: DataView<ArrayBufferLike>, a: number, b: number, w0: number, w1: number, w2: number, w3: number): void {
  view.setUint32(a, w0);
  view.setUint32(a + 4, w1);
  view.setUint32(a + 8, w2);
  view.setUint32(a + 12, w3);
  view.setUint32(b, w0);
  view.setUint32(b + 4, w1);
  view.setUint32(b + 8, w2);
  view.setUint32(b + 12, w3);
}

function connectionSpec6(s: FlowPairService, v: Slots6): ConnectionSpec {
  const address = (a: Address) => formatIpv6Words(wordsOf(a).map((k) => v[k]));
  return {
    serviceId: s.serviceId, connectionId: v.connectionId, protocol: s.protocol, idleTimeout: s.idleTimeout, finTimeout: s.finTimeout,
    client: { ofport: v.clientOfport, mac: numberToMac(v.clientMac), ip: address('client'), port: v.clientPort },
    vip: { mac: s.vipMac, ip: address('vip'), port: s.vipPort },
    backend: { ofport: v.backendOfport, mac: numberToMac(v.backendMac), ip: address('backend'), port: v.backendPort },
  };
}
