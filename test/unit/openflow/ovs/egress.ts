// Egress queues (issue 17): a table-0 flow with a meter instruction, set_queue and goto_table (what
// src/flows/egress.ts builds), and the kbit/s meter that polices a queue. Every field distinct and non-default;
// ovs-ofctl writes the bytes.
import { OFPFC_ADD, OFPG_ANY, OFPP_ANY, OFP_NO_BUFFER } from '../../../../src/openflow';
import { OFPMC_ADD, OFPMF_BURST, OFPMF_KBPS, OFPMF_STATS } from '../../../../src/openflow/constants';
import type { OvsCase } from './cases';

export const EGRESS_CASES: OvsCase[] = [
  {
    name: 'flow_mod_meter_set_queue_goto',
    message: {
      type: 'flow_mod', xid: 2, cookie: 0xadc0_8000_0000_0003n, cookieMask: 0n, tableId: 0, command: OFPFC_ADD,
      idleTimeout: 0, hardTimeout: 0, priority: 15, bufferId: OFP_NO_BUFFER, outPort: OFPP_ANY, outGroup: OFPG_ANY, flags: 0,
      match: [{ field: 'in_port', value: 7 }],
      instructions: [
        { type: 'meter', meterId: 0x0adc0003 },
        { type: 'apply_actions', actions: [{ type: 'set_queue', queueId: 3 }] },
        { type: 'goto_table', tableId: 2 },
      ],
    },
    ofctl: { command: 'add-flow', args: ['cookie=0xadc0800000000003,table=0,priority=15,in_port=7,actions=meter:182190083,set_queue:3,goto_table:2'] },
  },
  {
    name: 'meter_mod_add_kbps_burst',
    message: {
      type: 'meter_mod', xid: 2, command: OFPMC_ADD, flags: OFPMF_KBPS | OFPMF_BURST | OFPMF_STATS, meterId: 0x0adc0003,
      bands: [{ type: 'drop', rate: 50000, burstSize: 10000 }],
    },
    ofctl: { command: 'add-meter', args: ['meter=182190083,kbps,burst,stats,band=type=drop,rate=50000,burst_size=10000'] },
  },
];
