/**
 * Conntrack mode's packet-in fast path: a service's commit packet-out (buildCtCommitPacketOut) as a
 * pre-encoded layout (src/openflow/layout.ts), patched per connection. test/unit/app/wire.test.ts compares
 * it with encode(buildCtCommitPacketOut(...)) byte for byte.
 */
import { buildCtCommitPacketOut } from '../../flows/conntrack';
import { FlowBuildError } from '../../flows/builders';
import { uint32ToIpv4 } from '../../net/ipv4';
import { numberToMac } from '../../net/mac';
import { compileLayout, u16, u32, type MessageLayout, type SlotSpecs } from '../../openflow/layout';

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

export class CtCommitWireEncoder {
  private readonly layout: MessageLayout<Slots>;
  private readonly at: { inPort: number; mark: number; backendIp: number; backendPort: number; backendMac: number; backendOfport: number };

  constructor(readonly zone: number, readonly serviceId: number) {
    this.layout = compileLayout((v) => buildCtCommitPacketOut(Buffer.alloc(0), v.clientOfport, {
      zone, serviceId, clientOfport: v.clientOfport, backendIp: uint32ToIpv4(v.backendIp), backendPort: v.backendPort,
      backendMac: numberToMac(v.backendMac), backendOfport: v.backendOfport,
    }), { clientOfport: 1, backendIp: 0x0a000003, backendPort: 2, backendMac: 0x020000000002, backendOfport: 2 }, SLOTS);
    const clientPortAt = this.layout.offsets.clientOfport;
    if (clientPortAt.length !== 2) throw new FlowBuildError(`commit packet-out layout: the client port appears ${clientPortAt.length} times, expected in_port and ct_mark`);
    const o = (k: keyof Slots) => this.layout.offset(k);
    this.at = {
      inPort: clientPortAt[0], mark: clientPortAt[1], backendIp: o('backendIp'), backendPort: o('backendPort'), backendMac: o('backendMac'), backendOfport: o('backendOfport'),
    };
  }

  /** The packet-out committing one connection whose first packet is `frame`. */
  encode(v: CtCommitValues, frame: Buffer): Buffer {
    if (!(v.clientOfport >= 1 && v.clientOfport <= 0xffff)) throw new FlowBuildError(`client port ${v.clientOfport} does not fit ct_mark's 16 bits`);
    const head = this.layout.bytes;
    const out = Buffer.allocUnsafe(head.length + frame.length);
    out.set(head, 0);
    u16(out, 2, out.length);
    // Both places hold a 32-bit field whose high half is fixed (0 for in_port, the service id for the mark).
    u16(out, this.at.inPort + 2, v.clientOfport);
    u16(out, this.at.mark + 2, v.clientOfport);
    u32(out, this.at.backendIp, v.backendIp);
    u16(out, this.at.backendPort, v.backendPort);
    out.set(v.backendMac, this.at.backendMac);
    u32(out, this.at.backendOfport, v.backendOfport);
    out.set(frame, head.length);
    return out;
  }
}
