// The select groups of datapath decisions (src/flows/groups.ts) against the pipeline's group rules (checkGroup), and
// the flow that points to a group (checkFlow): what vadc builds passes, and each way of getting it wrong is named.
import {
  VADC_GROUPS, VADC_PIPELINE, buildDecisionFlow, buildDeleteDecisionFlow, buildDeleteServiceGroup, buildServiceGroup, checkFlow, checkGroup,
  buildDeleteAllDecisionFlows, isVadcGroupId, serviceGroupId, vadcGroupOf, FlowBuildError,
} from '../../../src/flows';
import type { Action, GroupMod } from '../../../src/openflow/types';

const SPEC = { serviceId: 7, zone: 2780, buckets: [{ ip: '10.0.0.11', port: 8080, weight: 3 }, { ip: '10.0.0.12', port: 8080, weight: 1 }] };
const FLOW = { serviceId: 7, protocol: 'tcp' as const, vip: '10.0.0.100', port: 80 };

function withCtActions(g: GroupMod, edit: (ct: Extract<Action, { type: 'nx_ct' }>) => Partial<Extract<Action, { type: 'nx_ct' }>>): GroupMod {
  return {
    ...g,
    buckets: g.buckets.map((b) => ({ ...b, actions: b.actions.map((a) => (a.type === 'nx_ct' ? { ...a, ...edit(a) } : a)) })),
  };
}

describe('datapath decision groups and flows', () => {
  it('what vadc builds passes the checks', () => {
    expect(checkGroup(buildServiceGroup(SPEC, false), VADC_PIPELINE)).toEqual([]);
    expect(checkGroup(buildServiceGroup(SPEC, true), VADC_PIPELINE)).toEqual([]);
    expect(checkGroup(buildDeleteServiceGroup(7), VADC_PIPELINE)).toEqual([]);
    expect(checkFlow(buildDecisionFlow(FLOW), VADC_PIPELINE)).toEqual([]);
    expect(checkFlow(buildDeleteDecisionFlow(FLOW), VADC_PIPELINE)).toEqual([]);
    expect(serviceGroupId(7)).toBe(VADC_GROUPS.base + 7);
  });

  it('names each broken rule of a group', () => {
    const good = buildServiceGroup(SPEC, false);
    expect(checkGroup({ ...good, groupId: 12 }, VADC_PIPELINE)).toEqual(["group 12 is not one of vadc's"]);
    expect(checkGroup({ ...good, groupType: 0 }, VADC_PIPELINE)).toEqual(['group type 0 is not select']);
    expect(checkGroup({ ...good, buckets: [] }, VADC_PIPELINE)).toEqual(['a select group without buckets drops every packet sent to it']);
    expect(checkGroup({ ...good, buckets: [{ ...good.buckets[0], weight: 0 }] }, VADC_PIPELINE)).toEqual(['bucket 0 has weight 0 (leave it out instead)']);
    expect(checkGroup(withCtActions(good, () => ({ flags: 0 })), VADC_PIPELINE)).toEqual(["bucket 0's ct does not commit", "bucket 1's ct does not commit"]);
    expect(checkGroup(withCtActions(good, () => ({ recircTable: 2 })), VADC_PIPELINE)[0]).toBe("bucket 0's ct goes to table 2, not vip-forward (1)");
    expect(checkGroup(withCtActions(good, (ct) => ({ actions: [...ct.actions, { type: 'set_field', field: { field: 'ipv4_dst', value: '10.0.0.9' } }] })), VADC_PIPELINE)[0])
      .toBe("bucket 0: a bucket's ct may only write ct_mark and NAT, not set_field to ipv4_dst");
    expect(checkGroup({ ...good, buckets: [{ ...good.buckets[0], actions: [{ type: 'output', port: 1, maxLen: 0 }] }] }, VADC_PIPELINE))
      .toEqual(['bucket 0 must do exactly one ct(commit, ...)']);
    expect(checkGroup({ ...buildDeleteServiceGroup(7), buckets: good.buckets }, VADC_PIPELINE)).toEqual(['a group delete carries no buckets']);
  });

  it("refuses a flow that points to a group that is not vadc's, or a group action outside table 1", () => {
    const flow = buildDecisionFlow(FLOW);
    const foreign = { ...flow, instructions: [{ type: 'apply_actions' as const, actions: [{ type: 'group' as const, groupId: 5 }] }] };
    expect(checkFlow(foreign, VADC_PIPELINE)).toEqual([`group 5 is not one of vadc's (0x${VADC_GROUPS.base.toString(16)} or 0x${VADC_GROUPS.ipv6Base.toString(16)} + service id)`]);
    // A dual-stack service's IPv6 group is vadc's; the ids just outside either range are not.
    const to = (groupId: number) => checkFlow({ ...flow, instructions: [{ type: 'apply_actions' as const, actions: [{ type: 'group' as const, groupId }] }] }, VADC_PIPELINE);
    expect([to(serviceGroupId(7, true)), to(VADC_GROUPS.ipv6Base), to(VADC_GROUPS.ipv6Base + 0x10000)].map((p) => p.length)).toEqual([0, 1, 1]);
    expect(checkGroup(buildServiceGroup({ ...SPEC, dualStackIpv6: true }, false), VADC_PIPELINE)).toEqual([]);
    const six = buildDecisionFlow({ ...FLOW, vip: 'fd00::100', dualStackIpv6: true });
    expect(six.instructions).toEqual([{ type: 'apply_actions', actions: [{ type: 'group', groupId: 0x0add0007 }] }]);
    expect(checkFlow(six, VADC_PIPELINE)).toEqual([]);
    expect(checkFlow({ ...flow, tableId: 2 }, VADC_PIPELINE)).toContain('action group is not allowed in table vip-reverse');
  });

  it('refuses what it cannot build: a bucket weight outside 16 bits, a group without buckets, a service id without a group', () => {
    expect(() => buildServiceGroup({ ...SPEC, buckets: [{ ip: '10.0.0.11', port: 80, weight: 65536 }] }, false)).toThrow(new FlowBuildError('bucket weight 65536 is outside 1..65535'));
    expect(() => buildServiceGroup({ ...SPEC, buckets: [] }, false)).toThrow(FlowBuildError);
    expect(() => serviceGroupId(0)).toThrow(FlowBuildError);
  });

  it('gives a group to service ids 1..65535 and takes bucket weights 1..65535, naming what it refuses', () => {
    expect(serviceGroupId(1)).toBe(0x0adc0001);
    expect(serviceGroupId(0xffff)).toBe(0x0adcffff);
    expect([serviceGroupId(1, true), serviceGroupId(0xffff, true)]).toEqual([0x0add0001, 0x0addffff]);
    expect(buildDeleteServiceGroup(7, true).groupId).toBe(0x0add0007);
    // A single-stack service's spec leaves dualStackIpv6 out: its delete takes the IPv4 group, never the IPv6 one.
    expect([buildDeleteServiceGroup(7).groupId, buildDeleteServiceGroup(7, undefined).groupId]).toEqual([0x0adc0007, 0x0adc0007]);
    for (const id of [0, -1, 0x10000, 1.5]) expect(() => serviceGroupId(id)).toThrow(new FlowBuildError(`service id ${id} has no group id (1..65535)`));
    const withWeight = (weight: number): GroupMod => buildServiceGroup({ ...SPEC, buckets: [{ ip: '10.0.0.11', port: 80, weight }] }, false);
    expect(withWeight(1).buckets.map((b) => b.weight)).toEqual([1]);
    expect(withWeight(0xffff).buckets.map((b) => b.weight)).toEqual([0xffff]);
    // 1.5 is >= 1 and <= 65535 but not a whole number: each of the three conditions refuses on its own.
    for (const weight of [0, 1.5, 0x10000]) expect(() => withWeight(weight)).toThrow(new FlowBuildError(`bucket weight ${weight} is outside 1..65535`));
    expect(() => buildServiceGroup({ ...SPEC, buckets: [] }, false))
      .toThrow(new FlowBuildError("service 7's group needs at least one bucket (remove the group instead)"));
  });

  // The groups' buckets are compared byte for byte with ovs-ofctl's encoding (test/unit/openflow/ovs/groups.ts); the
  // decision flow is not (ovs-ofctl orders the match fields differently), so here it is field by field.
  it('builds the decision flow of an IPv4 TCP and an IPv6 UDP VIP, and deletes exactly it', () => {
    const fixed = {
      type: 'flow_mod', xid: 0, cookieMask: 0n, tableId: 1, idleTimeout: 0, hardTimeout: 0, priority: 400,
      bufferId: 0xffffffff, outPort: 0xffffffff, outGroup: 0xffffffff, flags: 0,
    };
    // +trk+new, and not +est, +rpl, +inv or +dnat (the tracker has not translated it yet).
    const newUntranslated = { field: 'ct_state', value: 0x21, mask: 0xbb };
    expect(buildDecisionFlow(FLOW)).toEqual({
      ...fixed, command: 0, cookie: 0xadc0_7000_7000_0000n,
      match: [newUntranslated, { field: 'eth_type', value: 0x0800 }, { field: 'ip_proto', value: 6 }, { field: 'ipv4_dst', value: '10.0.0.100' }, { field: 'tcp_dst', value: 80 }],
      instructions: [{ type: 'apply_actions', actions: [{ type: 'group', groupId: 0x0adc0007 }] }],
    });
    const flow6 = { serviceId: 0xffff, protocol: 'udp' as const, vip: 'fd00::100', port: 53 };
    expect(buildDecisionFlow(flow6)).toEqual({
      ...fixed, command: 0, cookie: 0xadc0_7fff_f000_0000n,
      match: [newUntranslated, { field: 'eth_type', value: 0x86dd }, { field: 'ip_proto', value: 17 }, { field: 'ipv6_dst', value: 'fd00::100' }, { field: 'udp_dst', value: 53 }],
      instructions: [{ type: 'apply_actions', actions: [{ type: 'group', groupId: 0x0adcffff }] }],
    });
    expect(checkFlow(buildDecisionFlow(flow6), VADC_PIPELINE)).toEqual([]);
    // Delete strict (OFPFC_DELETE_STRICT, 4): the same table, priority and match; every decision flow's cookie kind, no instructions.
    expect(buildDeleteDecisionFlow(FLOW)).toEqual({
      ...fixed, command: 4, cookie: 0xadc0_7000_0000_0000n, cookieMask: 0xffff_f000_0000_0000n, match: buildDecisionFlow(FLOW).match, instructions: [],
    });
  });

  it("vadc's group ids: both families' ranges, a service id 1..65535 each, nothing around them", () => {
    const { base, ipv6Base } = VADC_GROUPS;
    const ours = [base + 1, base + 0xffff, ipv6Base + 1, ipv6Base + 0xffff];
    expect(ours.map(isVadcGroupId)).toEqual([true, true, true, true]);
    expect(ours.map(vadcGroupOf)).toEqual([
      { serviceId: 1, dualStackIpv6: false }, { serviceId: 0xffff, dualStackIpv6: false }, { serviceId: 1, dualStackIpv6: true }, { serviceId: 0xffff, dualStackIpv6: true },
    ]);
    // Each id maps back to the group serviceGroupId gives.
    expect(ours.map((id) => { const g = vadcGroupOf(id)!; return serviceGroupId(g.serviceId, g.dualStackIpv6); })).toEqual(ours);
    for (const id of [0, 7, base - 1, base, ipv6Base, ipv6Base + 0x10000, 0xffffff00]) expect([id, isVadcGroupId(id), vadcGroupOf(id)]).toEqual([id, false, undefined]);
  });

  it('the connect-time delete takes every decision flow, in every table, by the cookie kind alone', () => {
    expect(buildDeleteAllDecisionFlows()).toMatchObject({
      type: 'flow_mod', command: 3, tableId: 0xff, cookie: 0xadc0_7000_0000_0000n, cookieMask: 0xffff_f000_0000_0000n, match: [], instructions: [],
    });
    expect(checkFlow(buildDeleteAllDecisionFlows(), VADC_PIPELINE)).toEqual([]);
  });
});
