// Pieces both NAT modes use.
import { connectionsOfService } from '../../flows/cookies';
import { TABLE } from '../../flows/pipeline';
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
