// The select groups of datapath decisions (src/flows/groups.ts) against the pipeline's group rules (checkGroup), and
// the flow that points to a group (checkFlow): what vadc builds passes, and each way of getting it wrong is named.
import {
  VADC_GROUPS, VADC_PIPELINE, buildDecisionFlow, buildDeleteDecisionFlow, buildDeleteServiceGroup, buildServiceGroup, checkFlow, checkGroup,
  serviceGroupId, FlowBuildError,
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
    expect(checkFlow(foreign, VADC_PIPELINE)).toEqual([`group 5 is not one of vadc's (0x${VADC_GROUPS.base.toString(16)} + service id)`]);
    expect(checkFlow({ ...flow, tableId: 2 }, VADC_PIPELINE)).toContain('action group is not allowed in table vip-reverse');
  });

  it('refuses what it cannot build: a bucket weight outside 16 bits, a group without buckets, a service id without a group', () => {
    expect(() => buildServiceGroup({ ...SPEC, buckets: [{ ip: '10.0.0.11', port: 80, weight: 65536 }] }, false)).toThrow(new FlowBuildError('bucket weight 65536 is outside 1..65535'));
    expect(() => buildServiceGroup({ ...SPEC, buckets: [] }, false)).toThrow(FlowBuildError);
    expect(() => serviceGroupId(0)).toThrow(FlowBuildError);
  });
});
