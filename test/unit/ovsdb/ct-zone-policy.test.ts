// vadc's conntrack zone timeout policy: what planZonePolicy writes for each state of the database
// (nothing there / a Datapath row / a CT_Zone row without or with a policy), as RFC 7047 operations.
import { planZonePolicy, type ZonePolicyState } from '../../../src/ovsdb/ct-zone-policy';
import { parseConfig } from '../../../src/config';

const ROOT = '11111111-1111-1111-1111-111111111111';
const DP = '22222222-2222-2222-2222-222222222222';
const ZONE_ROW = '33333333-3333-3333-3333-333333333333';
const POLICY = '44444444-4444-4444-4444-444444444444';
const TIMEOUTS = { tcp_time_wait: 2, tcp_close: 3 };

const timeoutsJson = ['map', [['tcp_time_wait', 2], ['tcp_close', 3]]];
const vadcTag = ['map', [['vadc', 'true']]];

describe('planZonePolicy', () => {
  it('with no Datapath row for the type: creates policy, zone and datapath, and links the datapath from the root row', () => {
    expect(planZonePolicy({ rootUuid: ROOT }, 'netdev', 2780, TIMEOUTS)).toEqual([
      { op: 'insert', table: 'CT_Timeout_Policy', row: { timeouts: timeoutsJson, external_ids: vadcTag }, 'uuid-name': 'policy' },
      { op: 'insert', table: 'CT_Zone', row: { timeout_policy: ['named-uuid', 'policy'] }, 'uuid-name': 'zone' },
      { op: 'insert', table: 'Datapath', row: { datapath_version: '0', ct_zones: ['map', [[2780, ['named-uuid', 'zone']]]] }, 'uuid-name': 'dp' },
      { op: 'mutate', table: 'Open_vSwitch', where: [['_uuid', '==', ['uuid', ROOT]]], mutations: [['datapaths', 'insert', ['map', [['netdev', ['named-uuid', 'dp']]]]]] },
    ]);
  });

  it('with a Datapath row but no zone: adds the zone to its ct_zones', () => {
    const state: ZonePolicyState = { rootUuid: ROOT, datapath: { uuid: DP, zones: new Map([[7, ZONE_ROW]]) } };
    const ops = planZonePolicy(state, 'system', 2780, TIMEOUTS);
    expect(ops.map((o) => `${o.op} ${o.table as string}`)).toEqual(['insert CT_Timeout_Policy', 'insert CT_Zone', 'mutate Datapath']);
    expect(ops[2]).toEqual({ op: 'mutate', table: 'Datapath', where: [['_uuid', '==', ['uuid', DP]]], mutations: [['ct_zones', 'insert', ['map', [[2780, ['named-uuid', 'zone']]]]]] });
  });

  it('with the zone but no policy: gives the zone a new policy', () => {
    const state: ZonePolicyState = { rootUuid: ROOT, datapath: { uuid: DP, zones: new Map([[2780, ZONE_ROW]]) }, zone: { uuid: ZONE_ROW, timeouts: new Map() } };
    const ops = planZonePolicy(state, 'netdev', 2780, TIMEOUTS);
    expect(ops).toEqual([
      { op: 'insert', table: 'CT_Timeout_Policy', row: { timeouts: timeoutsJson, external_ids: vadcTag }, 'uuid-name': 'policy' },
      { op: 'update', table: 'CT_Zone', where: [['_uuid', '==', ['uuid', ZONE_ROW]]], row: { timeout_policy: ['named-uuid', 'policy'] } },
    ]);
  });

  it('with a policy: rewrites it when it differs, and writes nothing when it already matches', () => {
    const zone = (timeouts: Map<string, number>) => ({ uuid: ZONE_ROW, policyUuid: POLICY, timeouts });
    const differing: ZonePolicyState = { rootUuid: ROOT, datapath: { uuid: DP, zones: new Map([[2780, ZONE_ROW]]) }, zone: zone(new Map([['tcp_time_wait', 30]])) };
    expect(planZonePolicy(differing, 'netdev', 2780, TIMEOUTS)).toEqual([
      { op: 'update', table: 'CT_Timeout_Policy', where: [['_uuid', '==', ['uuid', POLICY]]], row: { timeouts: timeoutsJson, external_ids: vadcTag } },
    ]);
    const same: ZonePolicyState = { ...differing, zone: zone(new Map([['tcp_close', 3], ['tcp_time_wait', 2]])) };
    expect(planZonePolicy(same, 'netdev', 2780, TIMEOUTS)).toEqual([]);
  });
});

describe('datapath.ct_timeouts in the configuration', () => {
  it('defaults to short close states, takes any OVS timeout key, and names a bad one with its path', () => {
    expect(parseConfig('', 'x.yaml').datapath.ct_timeouts).toEqual({ tcp_time_wait: 2, tcp_close: 2 });
    expect(parseConfig('datapath: { nat: conntrack, ct_timeouts: { udp_single: 5 } }', 'x.yaml').datapath.ct_timeouts).toEqual({ udp_single: 5 });
    expect(() => parseConfig('datapath: { ct_timeouts: { tcp_closing: 5 } }', 'x.yaml')).toThrow(/datapath\.ct_timeouts/);
    expect(() => parseConfig('datapath: { ct_timeouts: { tcp_close: -1 } }', 'x.yaml')).toThrow(/datapath\.ct_timeouts\.tcp_close/);
  });
});
