// Connection-end copies (issue 12): a flow matching TCP flags whose controller action is rate-limited by a meter of
// its own, and that meter. Every field distinct and non-default; ovs-ofctl writes the bytes.
import { OFPFC_ADD, OFPFF_SEND_FLOW_REM, OFPG_ANY, OFPP_ANY, OFP_NO_BUFFER } from '../../../../src/openflow';
import type { OvsCase, OvsRead } from './cases';

const OFPMC_ADD = 0;
const OFPMF_PKTPS = 0x2;
const OFPMF_BURST = 0x4;
const OFPMF_STATS = 0x8;

export const END_COPY_CASES: OvsCase[] = [
  {
    name: 'flow_mod_tcp_flags_controller_meter',
    message: {
      type: 'flow_mod', xid: 2, cookie: 0xadc0_6001_2000_0000n, cookieMask: 0n, tableId: 0, command: OFPFC_ADD,
      idleTimeout: 0, hardTimeout: 0, priority: 172, bufferId: OFP_NO_BUFFER, outPort: OFPP_ANY, outGroup: OFPG_ANY,
      flags: OFPFF_SEND_FLOW_REM,
      match: [
        // ovs-ofctl's order: eth_type, ipv4_dst, ip_proto, tcp_dst, then the experimenter field.
        { field: 'eth_type', value: 0x0800 }, { field: 'ipv4_dst', value: '10.9.8.7' }, { field: 'ip_proto', value: 6 },
        { field: 'tcp_dst', value: 8080 }, { field: 'tcp_flags', value: 0x004, mask: 0x004 },
      ],
      instructions: [
        { type: 'apply_actions', actions: [{ type: 'nx_controller2', maxLen: 96, controllerId: 3, meterId: 0x1234 }] },
        { type: 'goto_table', tableId: 1 },
      ],
    },
    ofctl: {
      command: 'add-flow',
      args: ['cookie=0xadc0600120000000,table=0,priority=172,send_flow_rem,tcp,nw_dst=10.9.8.7,tp_dst=8080,tcp_flags=+rst,'
        + 'actions=controller(max_len=96,id=3,meter_id=4660),goto_table:1'],
    },
  },
  {
    name: 'flow_mod_tcp_flags_unmasked',
    message: {
      type: 'flow_mod', xid: 2, cookie: 0n, cookieMask: 0n, tableId: 0, command: OFPFC_ADD,
      idleTimeout: 0, hardTimeout: 0, priority: 0x8000, bufferId: OFP_NO_BUFFER, outPort: OFPP_ANY, outGroup: OFPG_ANY, flags: 0,
      match: [{ field: 'eth_type', value: 0x0800 }, { field: 'ip_proto', value: 6 }, { field: 'tcp_flags', value: 0x011 }],
      instructions: [],
    },
    ofctl: { command: 'add-flow', args: ['tcp,tcp_flags=0x011,actions=drop'] },
  },
  {
    name: 'meter_mod_add_pktps_burst',
    message: {
      type: 'meter_mod', xid: 2, command: OFPMC_ADD, flags: OFPMF_PKTPS | OFPMF_BURST | OFPMF_STATS, meterId: 0x1234,
      bands: [{ type: 'drop', rate: 5000, burstSize: 750 }],
    },
    ofctl: { command: 'add-meter', args: ['meter=4660,pktps,burst,stats,band=type=drop,rate=5000,burst_size=750'] },
  },
];

/** The Nicira form of the TCP flags field (NXM_NX_TCP_FLAGS), which ovs-ofctl never writes in OpenFlow 1.3: OVS reads ours. */
export const END_COPY_READS: OvsRead[] = [
  {
    message: {
      type: 'flow_mod', xid: 5, cookie: 0n, cookieMask: 0n, tableId: 2, command: OFPFC_ADD, idleTimeout: 0, hardTimeout: 0,
      priority: 30, bufferId: OFP_NO_BUFFER, outPort: OFPP_ANY, outGroup: OFPG_ANY, flags: 0,
      match: [{ field: 'eth_type', value: 0x0800 }, { field: 'ip_proto', value: 6 }, { field: 'tcp_flags_nxm', value: 0x001, mask: 0x001 }],
      instructions: [{ type: 'apply_actions', actions: [{ type: 'nx_controller2', maxLen: 128, meterId: 9 }] }],
    },
    text: 'OFPT_FLOW_MOD (OF1.3) (xid=0x5): ADD table:2 priority=30,tcp,tcp_flags=+fin actions=controller(max_len=128,meter_id=9)',
  },
];
