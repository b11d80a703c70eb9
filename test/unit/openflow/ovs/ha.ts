// Controller HA (issue 14): roles, role status, async configuration and the errors a switch answers with.
import { OFPERR, OFPCR_ROLE_EQUAL, OFPCR_ROLE_MASTER, OFPCR_ROLE_NOCHANGE, OFPCR_ROLE_SLAVE, OFPCRR_MASTER_REQUEST } from '../../../../src/openflow';
import type { OvsCase, OvsRead } from './cases';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const GENERATION = 0x1122334455667788n;

export const HA_CASES: OvsCase[] = [
  { name: 'role_reply_master', message: { type: 'role_reply', xid: 0x11, role: OFPCR_ROLE_MASTER, generationId: GENERATION } },
  // A fresh connection's async configuration: master/equal get packet-in (no_match, action), every port status
  // and flow-removed (idle, hard, delete, group_delete); a slave gets port status only.
  { name: 'get_async_reply_default', message: { type: 'get_async_reply', xid: 0x12, packetInMask: [0x3, 0], portStatusMask: [0x7, 0x7], flowRemovedMask: [0xf, 0] } },
  { name: 'get_async_reply_after_set', message: { type: 'get_async_reply', xid: 0x14, packetInMask: [0x1, 0x6], portStatusMask: [0x5, 0x2], flowRemovedMask: [0xb, 0x4] } },
  // Sent with xid 0 to the demoted master; the generation is the new master's.
  { name: 'onf_role_status_demoted', message: { type: 'onf_role_status', xid: 0, role: OFPCR_ROLE_SLAVE, reason: OFPCRR_MASTER_REQUEST, generationId: GENERATION + 1n } },
  { name: 'role_reply_query_fresh', message: { type: 'role_reply', xid: 0x20, role: OFPCR_ROLE_EQUAL, generationId: 0xffffffffffffffffn } },
  { name: 'role_reply_query', message: { type: 'role_reply', xid: 0x15, role: OFPCR_ROLE_SLAVE, generationId: GENERATION + 1n } },
  { name: 'error_is_slave', message: {
    type: 'error', xid: 0x16, ...OFPERR.OFPBRC_IS_SLAVE,
    data: hex('040e003800000016000000000000005e00000000000000000000000000000007ffffffffffffffffffffffff000000000001000400000000'),
  } },
  { name: 'error_role_stale', message: { type: 'error', xid: 0x17, ...OFPERR.OFPRRFC_STALE, data: hex('041800180000001700000002000000001122334455667787') } },
  { name: 'error_role_bad_role', message: { type: 'error', xid: 0x18, ...OFPERR.OFPRRFC_BAD_ROLE, data: hex('041800180000001800000007000000000000000000000000') } },
  {
    name: 'error_role_unsup',
    message: { type: 'error', xid: 0x31, ...OFPERR.OFPRRFC_UNSUP, data: hex('041800180000003100000003000000000000000000000099') },
    ofctl: { errorReply: 'OFPRRFC_UNSUP', request: '041800180000003100000003000000000000000000000099' },
  },
];

/** Requests no Open vSwitch tool encodes (ovs-ofctl has no role or async command): OVS's decoder reads ours. */
export const HA_READS: OvsRead[] = [
  { message: { type: 'role_request', xid: 0x11, role: OFPCR_ROLE_MASTER, generationId: GENERATION },
    text: 'OFPT_ROLE_REQUEST (OF1.3) (xid=0x11): role=primary generation_id=1234605616436508552' },
  { message: { type: 'role_request', xid: 0x12, role: OFPCR_ROLE_NOCHANGE, generationId: 0n }, text: 'OFPT_ROLE_REQUEST (OF1.3) (xid=0x12): role=nochange' },
  { message: { type: 'role_request', xid: 0x14, role: OFPCR_ROLE_EQUAL, generationId: 5n }, text: 'OFPT_ROLE_REQUEST (OF1.3) (xid=0x14): role=equal generation_id=5' },
  { message: { type: 'get_async_request', xid: 0x15 }, text: 'OFPT_GET_ASYNC_REQUEST (OF1.3) (xid=0x15):' },
  {
    message: { type: 'set_async', xid: 0x16, packetInMask: [0x1, 0x6], portStatusMask: [0x5, 0x2], flowRemovedMask: [0xb, 0x4] },
    text: ['OFPT_SET_ASYNC (OF1.3) (xid=0x16):', ' primary:', '       PACKET_IN: no_match', '     PORT_STATUS: add modify',
      '    FLOW_REMOVED: idle hard group_delete', '     ROLE_STATUS: (off)', '    TABLE_STATUS: (off)', '  REQUESTFORWARD: (off)', '',
      ' secondary:', '       PACKET_IN: action invalid_ttl', '     PORT_STATUS: delete', '    FLOW_REMOVED: delete',
      '     ROLE_STATUS: (off)', '    TABLE_STATUS: (off)', '  REQUESTFORWARD: (off)'].join('\n'),
  },
];
