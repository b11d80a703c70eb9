/**
 * Conntrack mode's packet-in fast path: a service's commit packet-out (buildCtCommitPacketOut) as a
 * pre-encoded layout (src/openflow/layout.ts), patched per connection. test/unit/app/wire.test.ts compares
 * it with encode(buildCtCommitPacketOut(...)) byte for byte. IPv6 services have their own (CtCommitWireEncoder6).
 * Each encoder makes a head (the bytes before the frame) with one backend port's values written in (`head`), which
 * the caller may keep per backend location; `commit` then writes only the client's port, the length and the frame.
 */
// Buffer from its module: the global one is a LoadGlobalIC call in the optimized commit (~160 instructions per new connection, callgrind).
import { Buffer } from 'node:buffer';
import { buildCtCommitPacketOut } from '../../flows/conntrack';
import { FlowBuildError, type L4Protocol } from '../../flows/builders';
import { uint32ToIpv4 } from '../../net/ipv4';
import { formatIpv6Words } from '../../net/ipv6';
import { numberToMac } from '../../net/mac';
import { compileLayout, u16, u32, type MessageLayout, type SlotSpecs } from '../../openflow/layout';
import { messageMemory } from '../../flows/memory-view';

/** The per-connection values of a commit packet-out, as numbers (the fast path's input). */
export interface CtCommitValues {
  clientOfport: number;
  backendIp: number;
  backendPort: number;
  /** The backend's MAC as 6 bytes. */
  backendMac: Uint8Array;
  backendOfport: number;
}

interface Slots extends Record<string, number> {
  clientOfport: number; backendIp: number; backendPort: number; backendMac: number; backendOfport: number;
}

// The client's port is both the packet-out's in_port and the low half of ct_mark (16 bits: see connectionMark).
const SLOTS: SlotSpecs<Slots> = {
  clientOfport: { bytes: 4, bits: 16 }, backendIp: { bytes: 4 }, backendPort: { bytes: 2 }, backendMac: { bytes: 6 }, backendOfport: { bytes: 4 },
};

export class CtCommitWireEncoder implements CommitEncoder<number> {
  private readonly layout: MessageLayout<Slots>;
  private readonly at: CommitOffsets & { backendIp: readonly number[] };

  constructor(readonly zone: number, readonly serviceId: number, readonly protocol: L4Protocol) {
    this.layout = compileLayout((v) => buildCtCommitPacketOut(Buffer.alloc(0), v.clientOfport, {
      zone, serviceId, protocol, clientOfport: v.clientOfport, backendIp: uint32ToIpv4(v.backendIp), backendPort: v.backendPort,
      backendMac: numberToMac(v.backendMac), backendOfport: v.backendOfport,
    }), { clientOfport: 1, backendIp: 0x0a000003, backendPort: 2, backendMac: 0x020000000002, backendOfport: 2 }, SLOTS);
    const { clientOfport: clientPortAt, backendIp, backendPort } = this.layout.offsets;
    if (clientPortAt.length !== 2) throw new FlowBuildError(`commit packet-out layout: the client port appears ${clientPortAt.length} times, expected in_port and ct_mark`);
    twice('backend address', backendIp);
    twice('backend port', backendPort);
    const o = (k: keyof Slots) => this.layout.offset(k);
    this.at = {
      inPort: clientPortAt[0], mark: clientPortAt[1], backendIp, backendPort, backendMac: o('backendMac'), backendOfport: o('backendOfport'),
    };
  }

  /** The packet-out committing one connection whose first packet is `frame`. */
  encode(v: CtCommitValues, frame: Buffer): Buffer {
    return this.commit(this.head(v.backendIp, v.backendPort, v.backendMac, v.backendOfport), v.clientOfport, frame);
  }

  head(backendIp: number, backendPort: number, backendMac: Uint8Array, backendOfport: number): Buffer {
    const head = Buffer.from(this.layout.bytes);
    for (const at of this.at.backendIp) u32(head, at, backendIp);
    return writeBackendPort(head, this.at, backendPort, backendMac, backendOfport);
  }

  commit(head: Buffer, clientOfport: number, frame: Buffer): Buffer {
    return commitFromHead(head, this.at, clientOfport, frame);
  }
}

/** Either family's encoder as conntrack mode's fast path uses it: a head per backend port, then a commit per connection. */
export interface CommitEncoder<Ip extends number | Uint8Array> {
  readonly protocol: L4Protocol;
  /** The commit's bytes before the frame with one backend port's values written in (the backend's address in its family's form). */
  head(ip: Ip, port: number, mac: Uint8Array, ofport: number): Buffer;
  /** The packet-out committing a connection from client port `clientOfport` to the backend port `head` was made for. */
  commit(head: Buffer, clientOfport: number, frame: Buffer): Buffer;
}

/** Where a commit head's per-connection and per-backend values go. */
interface CommitOffsets {
  inPort: number;
  mark: number;
  backendPort: readonly number[];
  backendMac: number;
  backendOfport: number;
}

/** A backend port's port number, MAC and OpenFlow port, written into a commit head. */
function writeBackendPort(head: Buffer, at: CommitOffsets, backendPort: number, backendMac: Uint8Array, backendOfport: number): Buffer {
  for (const o of at.backendPort) u16(head, o, backendPort);
  head.set(backendMac, at.backendMac);
  u32(head, at.backendOfport, backendOfport);
  return head;
}

/** A head (see `head`) and the frame, with the client's port in in_port and ct_mark: one connection's commit. */
function commitFromHead(head: Buffer, at: CommitOffsets, clientOfport: number, frame: Buffer): Buffer {
  if (!(clientOfport >= 1 && clientOfport <= 0xffff)) throw new FlowBuildError(`client port ${clientOfport} does not fit ct_mark's 16 bits`);
  const memory = messageMemory;
  const out = memory.joined(head, frame);
  const view = memory.view;
  const o = memory.at;
  view.setUint16(o + 2, out.length);
  // Both places hold a 32-bit field whose high half is fixed (0 for in_port, the service id for the mark).
  view.setUint16(o + at.inPort + 2, clientOfport);
  view.setUint16(o + at.mark + 2, clientOfport);
  return out;
}

/** The backend's address and port are in the commit's nat() and set again after it (buildCtCommitPacketOut). */
function twice(what: string, offsets: readonly number[]): void {
  if (offsets.length !== 2) throw new FlowBuildError(`commit packet-out layout: the ${what} appears ${offsets.length} times, expected in nat() and its set_field`);
}

/** An IPv6 connection's commit values: the backend's address as its 16 bytes (lb Backend.ip6). */
export interface CtCommitValues6 extends Omit<CtCommitValues, 'backendIp'> {
  backendIp6: Uint8Array;
}

interface Slots6 extends Record<string, number> {
  clientOfport: number; backendWord0: number; backendWord1: number; backendWord2: number; backendWord3: number;
  backendPort: number; backendMac: number; backendOfport: number;
}

const SLOTS6: SlotSpecs<Slots6> = {
  clientOfport: { bytes: 4, bits: 16 }, backendWord0: { bytes: 4 }, backendWord1: { bytes: 4 }, backendWord2: { bytes: 4 }, backendWord3: { bytes: 4 },
  backendPort: { bytes: 2 }, backendMac: { bytes: 6 }, backendOfport: { bytes: 4 },
};

/**
 * CtCommitWireEncoder for an IPv6 service: the same packet-out with nat(dst=[addr]:port), the address's four words
 * found as four slots that must lie side by side (the 16 bytes are then written at once).
 */
export class CtCommitWireEncoder6 implements CommitEncoder<Uint8Array> {
  private readonly layout: MessageLayout<Slots6>;
  private readonly at: CommitOffsets & { backendIp: readonly number[] };

  constructor(readonly zone: number, readonly serviceId: number, readonly protocol: L4Protocol) {
    this.layout = compileLayout((v) => buildCtCommitPacketOut(Buffer.alloc(0), v.clientOfport, {
      zone, serviceId, protocol, clientOfport: v.clientOfport, backendIp: formatIpv6Words([v.backendWord0, v.backendWord1, v.backendWord2, v.backendWord3]),
      backendPort: v.backendPort, backendMac: numberToMac(v.backendMac), backendOfport: v.backendOfport,
    }), {
      clientOfport: 1, backendWord0: 0xfd000000, backendWord1: 0x00010002, backendWord2: 0x00030004, backendWord3: 0x00050006,
      backendPort: 2, backendMac: 0x020000000002, backendOfport: 2,
    }, SLOTS6);
    const clientPortAt = this.layout.offsets.clientOfport;
    if (clientPortAt.length !== 2) throw new FlowBuildError(`commit packet-out layout: the client port appears ${clientPortAt.length} times, expected in_port and ct_mark`);
    const o = (k: keyof Slots6) => this.layout.offset(k);
    const { backendWord0, backendWord1, backendWord2, backendWord3, backendPort } = this.layout.offsets;
    twice('backend address', backendWord0);
    twice('backend port', backendPort);
    // Each place holds the four words side by side (the 16 bytes are written at once).
    for (let k = 0; k < backendWord0.length; k++) {
      const words = [backendWord0[k], backendWord1[k], backendWord2[k], backendWord3[k]];
      if (words.some((at, i) => at !== words[0] + 4 * i)) throw new FlowBuildError(`commit packet-out layout: the IPv6 address's words are not contiguous (${words.join(', ')})`);
    }
    this.at = {
      inPort: clientPortAt[0], mark: clientPortAt[1], backendIp: backendWord0, backendPort, backendMac: o('backendMac'), backendOfport: o('backendOfport'),
    };
  }

  /** The packet-out committing one IPv6 connection whose first packet is `frame`. */
  encode(v: CtCommitValues6, frame: Buffer): Buffer {
    return this.commit(this.head(v.backendIp6, v.backendPort, v.backendMac, v.backendOfport), v.clientOfport, frame);
  }

  head(backendIp6: Uint8Array, backendPort: number, backendMac: Uint8Array, backendOfport: number): Buffer {
    if (backendIp6.length !== 16) throw new FlowBuildError(`an IPv6 address is 16 bytes, got ${backendIp6.length}`);
    const head = Buffer.from(this.layout.bytes);
    for (const at of this.at.backendIp) head.set(backendIp6, at);
    return writeBackendPort(head, this.at, backendPort, backendMac, backendOfport);
  }

  commit(head: Buffer, clientOfport: number, frame: Buffer): Buffer {
    return commitFromHead(head, this.at, clientOfport, frame);
  }
}
