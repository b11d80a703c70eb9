// checkFlow and checkGroup (src/flows/check.ts) at the edges of each rule: the commands that must pin vadc's
// cookie magic, a delete's table and match, the match's raw fields, duplicates, masks and prerequisites, the
// priority bands' ends, the meter instruction, the group ids vadc owns and what a bucket's ct may do. Each
// refusal is named; what vadc may do passes with no problem at all.
import {
  OFPFC_ADD, OFPFC_DELETE, OFPFC_DELETE_STRICT, OFPFC_MODIFY, OFPFC_MODIFY_STRICT, OFPGC_ADD, OFPGC_DELETE, OFPGC_MODIFY, OFPTT_ALL,
} from '../../../src/openflow/constants';
import type { Action, FlowMod, GroupMod, Instruction, Oxm } from '../../../src/openflow/types';
import { VADC_GROUPS, VADC_PIPELINE, buildConnectionFlows, buildServiceFlows, buildServiceGroup, checkFlow, checkGroup } from '../../../src/flows';

const VIP = { ip: '10.0.0.100', mac: '02:00:0a:00:00:64', port: 80 };
const [forward] = buildConnectionFlows({
  serviceId: 7, connectionId: 1, protocol: 'tcp', vip: VIP, idleTimeout: 60,
  client: { ofport: 5, mac: '52:54:00:00:00:c1', ip: '10.0.0.51', port: 40000 },
  backend: { ofport: 2, mac: '52:54:00:00:00:01', ip: '10.0.0.11', port: 8080 },
});
/** The service's table-0 entry (classify: the table that allows a meter). */
const entry = buildServiceFlows({ serviceId: 7, vip: VIP.ip, protocol: 'tcp', port: 80 }).find((f) => f.tableId === 0 && f.command === OFPFC_ADD)!;
const ALL_BITS = 0xffffffffffffffffn;
const RAW: Oxm = { field: 'raw', bytes: Buffer.from('ffff0204abcd', 'hex') };
const GROUP = buildServiceGroup({ serviceId: 7, zone: 2780, buckets: [{ ip: '10.0.0.11', port: 8080, weight: 1 }] }, false);

const check = (change: Partial<FlowMod>, base: FlowMod = forward) => checkFlow({ ...base, ...change }, VADC_PIPELINE);
const withActions = (actions: Action[], base: FlowMod = forward) => check({ instructions: [{ type: 'apply_actions', actions }] }, base);
const ctOf = (group: GroupMod) => group.buckets[0].actions[0] as Extract<Action, { type: 'nx_ct' }>;
const withCtInner = (actions: Action[]): GroupMod => ({
  ...GROUP, buckets: [{ ...GROUP.buckets[0], actions: [{ ...ctOf(GROUP), actions }] }],
});

describe('checkFlow: commands', () => {
  it('takes the flows it starts from as they are', () => {
    expect(check({})).toEqual([]);
    expect(check({}, entry)).toEqual([]);
  });

  it.each([OFPFC_MODIFY, OFPFC_MODIFY_STRICT, OFPFC_DELETE, OFPFC_DELETE_STRICT])('command %i must pin the cookie magic, and may once it does', (command) => {
    expect(check({ command, cookieMask: 0n })).toEqual(['delete/modify must pin the vadc cookie magic (it could touch flows vadc does not own)']);
    expect(check({ command, cookieMask: ALL_BITS })).toEqual([]);
  });

  it('an add need not pin anything, and an unknown command is named', () => {
    expect(check({ command: OFPFC_ADD, cookieMask: 0n })).toEqual([]);
    expect(check({ command: 7 })).toEqual(['unknown flow-mod command 7']);
  });
});

describe('checkFlow: tables and deletes', () => {
  const del = { command: OFPFC_DELETE, cookieMask: ALL_BITS };

  it('a delete may name every table (OFPTT_ALL); an add may not, nor a delete an undeclared table', () => {
    expect(check({ ...del, tableId: OFPTT_ALL })).toEqual([]);
    expect(check({ tableId: OFPTT_ALL })).toEqual(['table 255 is not in the pipeline']);
    expect(check({ ...del, tableId: 9 })).toEqual(['table 9 is not in the pipeline']);
  });

  it("a delete over every table still has its match checked, against no table's field list", () => {
    expect(check({ ...del, tableId: OFPTT_ALL, match: [RAW] })).toEqual(['raw OXM in a vadc match']);
    expect(check({ ...del, tableId: OFPTT_ALL, match: [{ field: 'vlan_vid', value: 1 }] })).toEqual([]);
    // An add to an undeclared table is refused for the table alone.
    expect(check({ tableId: 9, match: [RAW] })).toEqual(['table 9 is not in the pipeline']);
  });

  it("a delete in a declared table has its match checked against the table, and nothing else (priority, cookie, instructions)", () => {
    expect(check({ ...del, priority: 700, instructions: [{ type: 'goto_table', tableId: 2 }] })).toEqual([]);
    expect(check({ ...del, match: [...forward.match, { field: 'vlan_vid', value: 1 }] }))
      .toEqual(['match field vlan_vid is not allowed in table vip-forward']);
  });
});

describe('checkFlow: the match', () => {
  const eth = (value: number, mask?: number): Oxm => (mask === undefined ? { field: 'eth_type', value } : { field: 'eth_type', value, mask });
  const others = forward.match.filter((m) => m.field !== 'eth_type');

  it('names a raw OXM and a field that appears twice', () => {
    expect(check({ match: [...forward.match, RAW] })).toEqual(['raw OXM in a vadc match']);
    expect(check({ match: [...forward.match, { field: 'ip_proto', value: 6 }] })).toEqual(['match field ip_proto appears twice']);
  });

  it('a masked field meets no prerequisite; a wrong value names every value that would', () => {
    expect(check({ match: [eth(0x0800, 0xffff), ...others] })).toEqual(expect.arrayContaining([
      'match field ip_proto needs eth_type = 0x800 or 0x86dd', 'match field ipv4_src needs eth_type = 0x800',
    ]));
    expect(check({ match: [eth(0x86dd), ...others] })).toEqual(['match field ipv4_src needs eth_type = 0x800', 'match field ipv4_dst needs eth_type = 0x800']);
  });

  it('checks each prerequisite of a field with two (ipv6_nd_target: an NS/NA type and code 0)', () => {
    const nd = (type: number, code: number): Oxm[] => [
      { field: 'eth_type', value: 0x86dd }, { field: 'ip_proto', value: 58 }, { field: 'icmpv6_type', value: type },
      { field: 'icmpv6_code', value: code }, { field: 'ipv6_nd_target', value: 'fe80::1' },
    ];
    expect(check({ match: nd(135, 0) }, entry)).toEqual([]);
    expect(check({ match: nd(136, 0) }, entry)).toEqual([]);
    expect(check({ match: nd(128, 0) }, entry)).toEqual(['match field ipv6_nd_target needs icmpv6_type = 0x87 or 0x88']);
    expect(check({ match: nd(135, 1) }, entry)).toEqual(['match field ipv6_nd_target needs icmpv6_code = 0x0']);
  });

  it('takes a ct tuple field with ct_state +trk, masked or not, and only then', () => {
    const tuple: Oxm[] = [{ field: 'eth_type', value: 0x0800 }, { field: 'ct_nw_dst', value: '10.0.0.100' }];
    const ct = (value: number, mask?: number): Oxm => (mask === undefined ? { field: 'ct_state', value } : { field: 'ct_state', value, mask });
    expect(check({ match: [ct(0x20), ...tuple] })).toEqual([]);
    expect(check({ match: [ct(0x22, 0x30), ...tuple] })).toEqual([]);
    expect(check({ match: [ct(0x22, 0x12), ...tuple] })).toEqual(['match field ct_nw_dst needs ct_state with +trk']);
    expect(check({ match: [ct(0x02), ...tuple] })).toEqual(['match field ct_nw_dst needs ct_state with +trk']);
  });

  it('reads +trk from the ct_state field only, and only from a number (value and mask)', () => {
    const tuple: Oxm[] = [{ field: 'eth_type', value: 0x0800 }, { field: 'ct_nw_dst', value: '10.0.0.100' }];
    // in_port 32 has the +trk bit's value; it is not ct_state.
    expect(check({ match: [{ field: 'in_port', value: 0x20 }, ...tuple] })).toEqual(['match field ct_nw_dst needs ct_state with +trk']);
    expect(check({ match: [{ field: 'ct_state', value: 0x20n }, ...tuple] })).toEqual(['match field ct_nw_dst needs ct_state with +trk']);
    expect(check({ match: [{ field: 'ct_state', value: 0x20, mask: 0x20n }, ...tuple] })).toEqual(['match field ct_nw_dst needs ct_state with +trk']);
  });
});

describe('checkFlow: priorities, instructions and actions', () => {
  it("takes both ends of a band and refuses the priorities just outside", () => {
    // classify's SERVICE band is 100..132; 99 and 133 are in none of its bands.
    expect(check({ priority: 100 }, entry)).toEqual([]);
    expect(check({ priority: 132 }, entry)).toEqual([]);
    expect(check({ priority: 99 }, entry)).toHaveLength(1);
    expect(check({ priority: 133 }, entry)).toHaveLength(1);
  });

  it('a meter comes first, and only in a table that allows meters; other instructions are named', () => {
    const meter: Instruction = { type: 'meter', meterId: 1 };
    expect(check({ instructions: [meter, ...entry.instructions] }, entry)).toEqual([]);
    expect(check({ instructions: [...entry.instructions, meter] }, entry)).toEqual(['a meter instruction must come first (it polices before any action)']);
    expect(check({ instructions: [meter, ...forward.instructions] })).toEqual(['instruction meter is not used by the vadc pipeline']);
    expect(check({ instructions: [{ type: 'write_actions', actions: [] }] })).toEqual(['instruction write_actions is not used by the vadc pipeline']);
    // Also in the table that allows meters, and first.
    expect(check({ instructions: [{ type: 'write_actions', actions: [] }] }, entry)).toEqual(['instruction write_actions is not used by the vadc pipeline']);
  });

  it('names a raw set_field, and both problems of an action that is not allowed and sets a field', () => {
    expect(withActions([{ type: 'set_field', field: RAW }])).toEqual(['set_field raw is not allowed in table vip-forward']);
    expect(withActions([{ type: 'set_field', field: { field: 'ipv4_src', value: '10.0.0.1' } }], entry)).toEqual([
      'action set_field is not allowed in table classify', 'set_field ipv4_src is not allowed in table classify',
    ]);
    expect(withActions([{ type: 'set_field', field: { field: 'ipv4_dst', value: '10.0.0.1' } }])).toEqual([]);
  });

  it("takes a group at each end of vadc's two id ranges and none outside them", () => {
    const group = (groupId: number) => withActions([{ type: 'group', groupId }]);
    for (const base of [VADC_GROUPS.base, VADC_GROUPS.ipv6Base]) {
      expect(group(base + 1)).toEqual([]);
      expect(group(base + VADC_GROUPS.maxServiceId)).toEqual([]);
      expect(group(base)).toHaveLength(1);
      expect(group(base + VADC_GROUPS.maxServiceId + 1)).toHaveLength(1);
    }
  });
});

describe('checkGroup', () => {
  it('takes an add and a modify, names an unknown command', () => {
    expect(checkGroup(GROUP, VADC_PIPELINE)).toEqual([]);
    expect(checkGroup({ ...GROUP, command: OFPGC_MODIFY }, VADC_PIPELINE)).toEqual([]);
    expect(checkGroup({ ...GROUP, command: OFPGC_ADD, groupId: VADC_GROUPS.ipv6Base + 7 }, VADC_PIPELINE)).toEqual([]);
    expect(checkGroup({ ...GROUP, command: 5 }, VADC_PIPELINE)).toEqual(['unknown group-mod command 5']);
  });

  it('a delete of a foreign group is named for its id alone', () => {
    expect(checkGroup({ ...GROUP, command: OFPGC_DELETE, groupId: 12, buckets: [] }, VADC_PIPELINE)).toEqual(["group 12 is not one of vadc's"]);
    expect(checkGroup({ ...GROUP, command: OFPGC_DELETE, groupId: 12 }, VADC_PIPELINE))
      .toEqual(["group 12 is not one of vadc's", 'a group delete carries no buckets']);
  });

  it('names a pipeline without the table the buckets recirculate to', () => {
    const noForward = VADC_PIPELINE.filter((t) => t.name !== VADC_GROUPS.bucketRecircTable);
    expect(checkGroup(GROUP, noForward)).toEqual([
      'table vip-forward is not in the pipeline', "bucket 0's ct goes to table 1, not vip-forward (undefined)",
    ]);
  });

  it('a bucket does exactly one ct: none, or one more action, is refused', () => {
    const one = 'bucket 0 must do exactly one ct(commit, ...)';
    expect(checkGroup({ ...GROUP, buckets: [{ ...GROUP.buckets[0], actions: [] }] }, VADC_PIPELINE)).toEqual([one]);
    expect(checkGroup({ ...GROUP, buckets: [{ ...GROUP.buckets[0], actions: [ctOf(GROUP), ctOf(GROUP)] }] }, VADC_PIPELINE)).toEqual([one]);
  });

  it("a bucket's ct may write ct_mark (move, load or set_field) and NAT, and nothing else", () => {
    expect(checkGroup(withCtInner([
      { type: 'nx_reg_move', nBits: 16, srcOfs: 0, dstOfs: 0, srcField: 'in_port', dstField: 'ct_mark' },
      { type: 'nx_reg_load', ofsNbits: 15, dst: 'ct_mark', value: 1n },
      { type: 'set_field', field: { field: 'ct_mark', value: 1 } },
      { type: 'nx_nat', flags: 0 },
    ]), VADC_PIPELINE)).toEqual([]);
    expect(checkGroup(withCtInner([
      { type: 'nx_reg_move', nBits: 16, srcOfs: 0, dstOfs: 0, srcField: 'in_port', dstField: 'reg0' },
      { type: 'nx_reg_load', ofsNbits: 15, dst: 0x10004, value: 1n },
      { type: 'output', port: 1, maxLen: 0 },
    ]), VADC_PIPELINE)).toEqual([
      "bucket 0: a bucket's ct may only write ct_mark and NAT, not nx_reg_move to reg0",
      "bucket 0: a bucket's ct may only write ct_mark and NAT, not nx_reg_load to 65540",
      "bucket 0: a bucket's ct may only write ct_mark and NAT, not output",
    ]);
  });
});
