/**
 * The packet-in fast path's encoder: one new connection's forward flow-mod, reverse flow-mod and resubmit
 * packet-out as wire bytes, written from numbers into pre-encoded templates.
 *
 * The templates are the general encoder's own output for a prototype connection of the service (same
 * protocol, idle/fin timeouts, VIP MAC and port), so every fixed byte (headers, lengths, OXM and action
 * headers, padding) is encode()'s. The offsets of the per-connection values are found by walking those
 * bytes (OpenFlow 1.3 flow_mod: ofp_match OXM TLVs, then instructions and their actions), never assumed.
 * test/unit/flows/connection-wire.test.ts checks the result against encode() byte for byte.
 */
import { encode } from '../openflow/codec';
import { oxmFieldDecl } from '../openflow/oxm';
import { buildConnectionFlows, buildResubmitPacketOut, FlowBuildError, type ConnectionSpec, type L4Protocol } from './builders';
import { MAX_CONNECTION_ID } from './cookies';

/** What a service fixes for all its connection flows. */
export interface ConnectionWireService {
  serviceId: number;
  protocol: L4Protocol;
  idleTimeout: number;
  finTimeout?: number;
  vipMac: string;
  vipPort: number;
}

/** One connection's variable values, as numbers (addresses as uint32, MACs as 6 bytes at an offset). */
export interface ConnectionWireValues {
  connectionId: number;
  clientOfport: number;
  clientIp: number;
  clientPort: number;
  /** The client's MAC: 6 bytes of `clientMacSource` at `clientMacOffset` (the packet-in's eth_src). */
  clientMacSource: Uint8Array;
  clientMacOffset: number;
  vipIp: number;
  backendOfport: number;
  backendIp: number;
  backendPort: number;
  /** The backend's MAC as 6 bytes. */
  backendMac: Uint8Array;
}

/** Offsets of the per-connection values inside one flow-mod template. */
interface FlowOffsets {
  match: Map<string, number>;
  sets: Map<string, number>;
  outPort: number;
}

const OFPIT_APPLY_ACTIONS = 4;
const OFPAT_OUTPUT = 0;
const OFPAT_SET_FIELD = 25;
const FLOW_MOD_MATCH_AT = 48;
const PACKET_OUT_IN_PORT_AT = 12;
const COOKIE_LOW_WORD_AT = 12;

/** 'ipv4_src' etc. by the OXM header's class and field, for the walk. */
function oxmName(header: number): string {
  const oxmClass = header >>> 16;
  const field = (header >>> 9) & 0x7f;
  for (const name of ['in_port', 'eth_type', 'ip_proto', 'ipv4_src', 'ipv4_dst', 'tcp_src', 'tcp_dst', 'udp_src', 'udp_dst', 'eth_src', 'eth_dst']) {
    const decl = oxmFieldDecl(name);
    if (decl && decl.oxmClass === oxmClass && decl.field === field) return name;
  }
  return `oxm:${oxmClass}:${field}`;
}

/** Value offsets of a sequence of OXM TLVs in [start, end). */
function walkOxms(bytes: Buffer, start: number, end: number, into: Map<string, number>): void {
  for (let p = start; p + 4 <= end;) {
    const header = bytes.readUInt32BE(p);
    into.set(oxmName(header), p + 4);
    p += 4 + (header & 0xff);
  }
}

function walkFlowMod(bytes: Buffer): FlowOffsets {
  const offsets: FlowOffsets = { match: new Map(), sets: new Map(), outPort: -1 };
  const matchLength = bytes.readUInt16BE(FLOW_MOD_MATCH_AT + 2);
  walkOxms(bytes, FLOW_MOD_MATCH_AT + 4, FLOW_MOD_MATCH_AT + matchLength, offsets.match);
  for (let i = FLOW_MOD_MATCH_AT + ((matchLength + 7) & ~7); i + 4 <= bytes.length;) {
    const type = bytes.readUInt16BE(i);
    const length = bytes.readUInt16BE(i + 2);
    if (type === OFPIT_APPLY_ACTIONS) {
      for (let a = i + 8; a + 4 <= i + length;) {
        const actionType = bytes.readUInt16BE(a);
        const actionLength = bytes.readUInt16BE(a + 2);
        if (actionType === OFPAT_SET_FIELD) walkOxms(bytes, a + 4, a + 4 + 4 + (bytes.readUInt32BE(a + 4) & 0xff), offsets.sets);
        if (actionType === OFPAT_OUTPUT) offsets.outPort = a + 4;
        a += actionLength;
      }
    }
    i += length;
  }
  return offsets;
}

function need(map: Map<string, number>, name: string, what: string): number {
  const at = map.get(name);
  if (at === undefined) throw new FlowBuildError(`connection flow template: no ${name} in the ${what}`);
  return at;
}

/**
 * Writes a service's connection flows (forward, reverse) and the resubmit packet-out of the connection's
 * first packet as one buffer of three whole OpenFlow messages with xid 0 (the session assigns xids).
 */
export class ConnectionWireEncoder {
  private readonly forward: Buffer;
  private readonly reverse: Buffer;
  private readonly packetOutHead: Buffer;
  private readonly f: Record<'cookie' | 'inPort' | 'src' | 'dst' | 'srcPort' | 'dstPort' | 'setMac' | 'setIp' | 'setPort' | 'out', number>;
  private readonly r: Record<'cookie' | 'inPort' | 'src' | 'dst' | 'srcPort' | 'dstPort' | 'setMac' | 'setIp' | 'out', number>;
  private readonly cookieLowBase: number;

  constructor(readonly service: ConnectionWireService) {
    const prototype = buildConnectionFlows(prototypeSpec(service));
    this.forward = Buffer.from(encode(prototype[0]));
    this.reverse = Buffer.from(encode(prototype[1]));
    this.packetOutHead = Buffer.from(encode(buildResubmitPacketOut(Buffer.alloc(0), 1)));
    const fo = walkFlowMod(this.forward);
    const ro = walkFlowMod(this.reverse);
    const src = `${service.protocol}_src`;
    const dst = `${service.protocol}_dst`;
    this.f = {
      cookie: COOKIE_LOW_WORD_AT, inPort: need(fo.match, 'in_port', 'forward match'), src: need(fo.match, 'ipv4_src', 'forward match'),
      dst: need(fo.match, 'ipv4_dst', 'forward match'), srcPort: need(fo.match, src, 'forward match'), dstPort: need(fo.match, dst, 'forward match'),
      setMac: need(fo.sets, 'eth_dst', 'forward actions'), setIp: need(fo.sets, 'ipv4_dst', 'forward actions'),
      setPort: need(fo.sets, dst, 'forward actions'), out: fo.outPort,
    };
    this.r = {
      cookie: COOKIE_LOW_WORD_AT, inPort: need(ro.match, 'in_port', 'reverse match'), src: need(ro.match, 'ipv4_src', 'reverse match'),
      dst: need(ro.match, 'ipv4_dst', 'reverse match'), srcPort: need(ro.match, src, 'reverse match'), dstPort: need(ro.match, dst, 'reverse match'),
      setMac: need(ro.sets, 'eth_dst', 'reverse actions'), setIp: need(ro.sets, 'ipv4_src', 'reverse actions'), out: ro.outPort,
    };
    if (this.f.out < 0 || this.r.out < 0) throw new FlowBuildError('connection flow template: no output action');
    // The cookie's low word: service id bits 31..28 (its low 4 bits), connection id bits 27..0.
    this.cookieLowBase = ((service.serviceId & 0xf) << 28) >>> 0;
  }

  /** Bytes of the three messages for one new connection whose first packet is `frame`. */
  encode(v: ConnectionWireValues, frame: Buffer): Buffer {
    if (!(v.connectionId >= 1 && v.connectionId <= MAX_CONNECTION_ID)) throw new FlowBuildError(`connection id ${v.connectionId} is outside 1..${MAX_CONNECTION_ID}`);
    const fwdLen = this.forward.length;
    const poAt = fwdLen + this.reverse.length;
    const poLen = this.packetOutHead.length + frame.length;
    const out = Buffer.allocUnsafe(poAt + poLen);
    const cookieLow = (this.cookieLowBase | v.connectionId) >>> 0;
    // TypedArray.set and plain byte stores: Buffer.copy and write*BE add argument checks per call.
    out.set(this.forward, 0);
    const f = this.f;
    u32(out, f.cookie, cookieLow);
    u32(out, f.inPort, v.clientOfport);
    u32(out, f.src, v.clientIp);
    u32(out, f.dst, v.vipIp);
    u16(out, f.srcPort, v.clientPort);
    u16(out, f.dstPort, this.service.vipPort);
    out.set(v.backendMac, f.setMac);
    u32(out, f.setIp, v.backendIp);
    u16(out, f.setPort, v.backendPort);
    u32(out, f.out, v.backendOfport);

    out.set(this.reverse, fwdLen);
    const r = this.r;
    u32(out, fwdLen + r.cookie, cookieLow);
    u32(out, fwdLen + r.inPort, v.backendOfport);
    u32(out, fwdLen + r.src, v.backendIp);
    u32(out, fwdLen + r.dst, v.clientIp);
    u16(out, fwdLen + r.srcPort, v.backendPort);
    u16(out, fwdLen + r.dstPort, v.clientPort);
    const mac = v.clientMacSource;
    const macAt = v.clientMacOffset;
    const setMac = fwdLen + r.setMac;
    for (let i = 0; i < 6; i++) out[setMac + i] = mac[macAt + i];
    u32(out, fwdLen + r.setIp, v.vipIp);
    u32(out, fwdLen + r.out, v.clientOfport);

    out.set(this.packetOutHead, poAt);
    u16(out, poAt + 2, poLen);
    u32(out, poAt + PACKET_OUT_IN_PORT_AT, v.clientOfport);
    out.set(frame, poAt + this.packetOutHead.length);
    return out;
  }
}

/** Big-endian stores without Buffer's per-call argument checks (the packet-in fast paths' templates). */
export function u32(b: Buffer, at: number, value: number): void {
  b[at] = value >>> 24;
  b[at + 1] = value >>> 16;
  b[at + 2] = value >>> 8;
  b[at + 3] = value;
}

export function u16(b: Buffer, at: number, value: number): void {
  b[at] = value >>> 8;
  b[at + 1] = value;
}

/** The three messages a connection's encoding holds (forward, reverse, packet-out), two of them flow-mods. */
export const CONNECTION_WIRE_MESSAGES = 3;
export const CONNECTION_WIRE_FLOW_MODS = 2;

/** A connection of the service with placeholder per-connection values (all overwritten per connection). */
function prototypeSpec(s: ConnectionWireService): ConnectionSpec {
  return {
    serviceId: s.serviceId, connectionId: 1, protocol: s.protocol, idleTimeout: s.idleTimeout, finTimeout: s.finTimeout,
    client: { ofport: 1, mac: '02:00:00:00:00:01', ip: '10.0.0.1', port: 1 },
    vip: { mac: s.vipMac, ip: '10.0.0.2', port: s.vipPort },
    backend: { ofport: 2, mac: '02:00:00:00:00:02', ip: '10.0.0.3', port: 2 },
  };
}

/** A MAC text as its 6 bytes (for ConnectionWireValues.backendMac). */
export function macBytes(mac: string): Buffer {
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) throw new FlowBuildError(`not a MAC: ${mac}`);
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}
