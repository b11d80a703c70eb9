// Pieces both NAT modes use.
import { connectionsOfService } from '../../flows/cookies';
import { TABLE } from '../../flows/pipeline';
import { ipv4ToUint32 } from '../../net/ipv4';
import { macBytes } from '../../net/mac';
import { OFPFC_DELETE, OFPG_ANY, OFPP_ANY, OFP_NO_BUFFER } from '../../openflow/constants';
import type { FlowMod } from '../../openflow/types';

/**
 * Deletes every connection flow of one backend of a service: forward flows by out_port, reverse ones (flows
 * mode only) by in_port. The selector takes connection flows only, never a conntrack-mode backend flow.
 */
export function deleteBackendConnectionFlows(serviceId: number, ofport: number, withReverse: boolean): FlowMod[] {
  const { cookie, cookieMask } = connectionsOfService(serviceId);
  const base: FlowMod = {
    type: 'flow_mod', xid: 0, cookie, cookieMask, tableId: TABLE.FORWARD, command: OFPFC_DELETE, idleTimeout: 0, hardTimeout: 0,
    priority: 0, bufferId: OFP_NO_BUFFER, outPort: ofport, outGroup: OFPG_ANY, flags: 0, match: [], instructions: [],
  };
  return withReverse ? [base, { ...base, tableId: TABLE.REVERSE, outPort: OFPP_ANY, match: [{ field: 'in_port', value: ofport }] }] : [base];
}

/**
 * Backend addresses and MACs as the fast paths write them (uint32, 6 bytes), converted once per distinct
 * text: there are a few per backend, and a packet-in must not parse text. Bounded: a flood of distinct
 * texts (backends churning through MACs) only costs a rebuild.
 */
export class AddressMemo {
  private readonly ips = new Map<string, number>();
  private readonly macs = new Map<string, Buffer>();

  ip(text: string): number {
    let value = this.ips.get(text);
    if (value === undefined) {
      if (this.ips.size >= 4096) this.ips.clear();
      value = ipv4ToUint32(text);
      this.ips.set(text, value);
    }
    return value;
  }

  mac(text: string): Buffer {
    let bytes = this.macs.get(text);
    if (bytes === undefined) {
      if (this.macs.size >= 4096) this.macs.clear();
      bytes = macBytes(text);
      this.macs.set(text, bytes);
    }
    return bytes;
  }
}
