/**
 * Flows mode's packet-in fast path: one new connection's forward flow-mod, reverse flow-mod and the
 * resubmit packet-out of its first packet, as wire bytes written from numbers into pre-encoded layouts
 * (src/openflow/layout.ts: encode()'s own bytes for a prototype connection of the service, with the
 * offsets of the per-connection values found by encoding). test/unit/app/wire.test.ts checks the result
 * against encode() of the built messages, byte for byte.
 */
import { buildConnectionFlows, buildResubmitPacketOut, FlowBuildError, type ConnectionSpec, type L4Protocol } from '../../flows/builders';
import { MAX_CONNECTION_ID } from '../../flows/cookies';
import { TABLE, type VadcTables } from '../../flows/pipeline';
import { uint32ToIpv4 } from '../../net/ipv4';
import { numberToMac } from '../../net/mac';
import { compileLayout, u16, u32, type MessageLayout, type SlotSpecs } from '../../openflow/layout';

/** What a service fixes for all its connection flows. */
export interface FlowPairService {
  serviceId: number;
  protocol: L4Protocol;
  idleTimeout: number;
  finTimeout?: number;
  vipMac: string;
  vipPort: number;
}

/** One connection's variable values, as numbers (addresses as uint32, MACs as 6 bytes at an offset). */
export interface FlowPairValues {
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
  private readonly packetOutInPort: number;

  constructor(readonly service: FlowPairService, tables: VadcTables = TABLE) {
    const spec = (v: Slots) => connectionSpec(service, v);
    this.forward = compileLayout((v) => buildConnectionFlows(spec(v), tables)[0], PROTOTYPE,
      only(['connectionId', 'clientOfport', 'clientIp', 'vipIp', 'clientPort', 'backendMac', 'backendIp', 'backendPort', 'backendOfport']));
    this.reverse = compileLayout((v) => buildConnectionFlows(spec(v), tables)[1], PROTOTYPE,
      only(['connectionId', 'backendOfport', 'backendIp', 'clientIp', 'backendPort', 'clientPort', 'clientMac', 'vipIp', 'clientOfport']));
    this.packetOut = compileLayout((v) => buildResubmitPacketOut(Buffer.alloc(0), v.inPort), { inPort: 1 }, PACKET_OUT_IN_PORT);
    this.packetOutInPort = this.packetOut.offset('inPort');
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
    // The cookie's low word: service id bits 31..28 (its low 4 bits), connection id bits 27..0.
    this.cookieLowBase = ((service.serviceId & 0xf) << 28) >>> 0;
  }

  /** Bytes of the three messages for one new connection whose first packet is `frame`. */
  encode(v: FlowPairValues, frame: Buffer): Buffer {
    if (!(v.connectionId >= 1 && v.connectionId <= MAX_CONNECTION_ID)) throw new FlowBuildError(`connection id ${v.connectionId} is outside 1..${MAX_CONNECTION_ID}`);
    const forward = this.forward.bytes;
    const reverse = this.reverse.bytes;
    const head = this.packetOut.bytes;
    const fwdLen = forward.length;
    const poAt = fwdLen + reverse.length;
    const poLen = head.length + frame.length;
    const out = Buffer.allocUnsafe(poAt + poLen);
    const cookieLow = (this.cookieLowBase | v.connectionId) >>> 0;
    // TypedArray.set and plain byte stores: Buffer.copy and write*BE add argument checks per call.
    out.set(forward, 0);
    const f = this.f;
    u32(out, f.connectionId, cookieLow);
    u32(out, f.clientOfport, v.clientOfport);
    u32(out, f.clientIp, v.clientIp);
    u32(out, f.vipIp, v.vipIp);
    u16(out, f.clientPort, v.clientPort);
    out.set(v.backendMac, f.backendMac);
    u32(out, f.backendIp, v.backendIp);
    u16(out, f.backendPort, v.backendPort);
    u32(out, f.backendOfport, v.backendOfport);

    out.set(reverse, fwdLen);
    const r = this.r;
    u32(out, fwdLen + r.connectionId, cookieLow);
    u32(out, fwdLen + r.backendOfport, v.backendOfport);
    u32(out, fwdLen + r.backendIp, v.backendIp);
    u32(out, fwdLen + r.clientIp, v.clientIp);
    u16(out, fwdLen + r.backendPort, v.backendPort);
    u16(out, fwdLen + r.clientPort, v.clientPort);
    const mac = v.clientMacSource;
    const macAt = v.clientMacOffset;
    const setMac = fwdLen + r.clientMac;
    for (let i = 0; i < 6; i++) out[setMac + i] = mac[macAt + i];
    u32(out, fwdLen + r.vipIp, v.vipIp);
    u32(out, fwdLen + r.clientOfport, v.clientOfport);

    out.set(head, poAt);
    u16(out, poAt + 2, poLen);
    u32(out, poAt + this.packetOutInPort, v.clientOfport);
    out.set(frame, poAt + head.length);
    return out;
  }
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
