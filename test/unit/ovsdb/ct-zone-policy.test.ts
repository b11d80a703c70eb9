// vadc's conntrack zone timeout policy: what planZonePolicy writes for each state of the database
// (nothing there / a Datapath row / a CT_Zone row without or with a policy), as RFC 7047 operations.
import { ensureZoneTimeoutPolicy, planZonePolicy, planZoneWithoutPolicy, type ZonePolicyState } from '../../../src/ovsdb/ct-zone-policy';
import type { OvsdbClient } from '../../../src/ovsdb/client';
import { Uuid } from '../../../src/ovsdb/notation';
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

/**
 * A database and an ovs-vswitchd as OVS 3.3.9 behaves (vswitchd/bridge.c ct_zones_reconfigure): at each change of the
 * database it reconfigures (cur_cfg then reaches next_cfg) and hands the zone's policy to the datapath only when the
 * policy changed on a zone it already held; a zone new to it is taken with its policy, which then never reaches the
 * datapath (ovs-vsctl add-zone-tp, checked by ofproto/trace on 3.3.9: no timeout= in the ct action).
 */
class ModelledOvs {
  zone?: { policy?: Record<string, number> };
  private pendingPolicy?: Record<string, number>;
  nextCfg = 0;
  curCfg = 0;
  /** What ovs-vswitchd holds for the zone, and the policy its ct(commit) actions carry (undefined: none). */
  private held?: { policy?: Record<string, number> };
  inDatapath?: Record<string, number>;
  readonly transactions: string[][] = [];

  vswitchdRun(): void {
    if (!this.zone) this.held = undefined;
    else if (!this.held) this.held = { ...this.zone };
    else if (JSON.stringify(this.held.policy) !== JSON.stringify(this.zone.policy)) {
      this.held = { ...this.zone };
      this.inDatapath = this.zone.policy;
    }
    this.curCfg = this.nextCfg;
  }

  client(): OvsdbClient {
    const timeoutsOf = (row: Record<string, unknown>) => Object.fromEntries((row.timeouts as ['map', Array<[string, number]>])[1]);
    return {
      transact: async (_db: string, ops: Array<Record<string, unknown>>) => {
        this.transactions.push(ops.map((o) => `${o.op as string} ${o.table as string}`));
        let wrote = false;
        const results = ops.map((o) => {
          const row = (o.row ?? {}) as Record<string, unknown>;
          if (o.op === 'insert' && o.table === 'CT_Timeout_Policy') this.pendingPolicy = timeoutsOf(row);
          if (o.op === 'insert' && o.table === 'CT_Zone') this.zone = row.timeout_policy ? { policy: this.pendingPolicy } : {};
          if (o.op === 'update' && o.table === 'CT_Zone') this.zone = { policy: JSON.stringify(row.timeout_policy) === '["set",[]]' ? undefined : this.pendingPolicy };
          if (o.op === 'update' && o.table === 'CT_Timeout_Policy') this.zone = { policy: timeoutsOf(row) };
          if (o.op === 'mutate' && o.table === 'Open_vSwitch' && JSON.stringify(o.mutations).includes('next_cfg')) this.nextCfg++;
          if (o.op !== 'select') {
            wrote = true;
            return {};
          }
          const columns = o.columns as string[];
          if (o.table === 'Bridge') return { rows: [{ datapath_type: 'netdev' }] };
          if (o.table === 'Open_vSwitch') {
            return { rows: [{ _uuid: new Uuid(ROOT), datapaths: this.zone ? new Map([['netdev', new Uuid(DP)]]) : new Map(), next_cfg: this.nextCfg, cur_cfg: this.curCfg }].map((r) => Object.fromEntries(columns.map((c) => [c, r[c as keyof typeof r]]))) };
          }
          if (o.table === 'Datapath') return { rows: [{ ct_zones: new Map([[2780, new Uuid(ZONE_ROW)]]) }] };
          if (o.table === 'CT_Zone') return { rows: [{ timeout_policy: this.zone?.policy ? [new Uuid(POLICY)] : [] }] };
          return { rows: [{ timeouts: new Map(Object.entries(this.zone?.policy ?? {})) }] };
        });
        // ovs-vswitchd reconfigures at each change of the database (here: once the transaction is in).
        if (wrote) this.vswitchdRun();
        return results;
      },
    } as unknown as OvsdbClient;
  }
}

describe('ensureZoneTimeoutPolicy against OVS 3.3.9\'s handling of a new zone', () => {
  it('a fresh database: the zone first without a policy (applied), then the policy, which reaches the datapath', async () => {
    const ovs = new ModelledOvs();
    expect(await ensureZoneTimeoutPolicy(ovs.client(), 2780, TIMEOUTS, 100)).toEqual({ changed: ['netdev'], unconfirmed: [] });
    expect(ovs.zone).toEqual({ policy: TIMEOUTS });
    expect(ovs.inDatapath).toEqual(TIMEOUTS);
    expect(ovs.transactions.filter((t) => t.includes('insert CT_Zone'))).toEqual([['insert CT_Zone', 'insert Datapath', 'mutate Open_vSwitch', 'mutate Open_vSwitch', 'select Open_vSwitch']]);
  });

  it('the policy already in the database (created in one transaction, or ovs-vswitchd restarted since): handed on again', async () => {
    const ovs = new ModelledOvs();
    ovs.zone = { policy: { tcp_close: 3, tcp_time_wait: 2 } };
    ovs.vswitchdRun();
    expect(ovs.inDatapath).toBeUndefined();
    expect(await ensureZoneTimeoutPolicy(ovs.client(), 2780, TIMEOUTS, 100)).toEqual({ changed: [], unconfirmed: [] });
    expect(ovs.inDatapath).toEqual(TIMEOUTS);
  });

  it('an ovs-vswitchd that never applies a configuration: the policy is written all the same and the type named unconfirmed', async () => {
    const ovs = new ModelledOvs();
    ovs.vswitchdRun = () => undefined;
    expect(await ensureZoneTimeoutPolicy(ovs.client(), 2780, TIMEOUTS, 120)).toEqual({ changed: ['netdev'], unconfirmed: ['netdev'] });
    expect(ovs.zone).toEqual({ policy: TIMEOUTS });
  });
});

describe('planZoneWithoutPolicy', () => {
  it('creates the zone with no policy, clears a policy it holds, and writes nothing for a zone without one', () => {
    expect(planZoneWithoutPolicy({ rootUuid: ROOT }, 'netdev', 2780).map((o) => `${o.op} ${o.table as string}`)).toEqual(['insert CT_Zone', 'insert Datapath', 'mutate Open_vSwitch']);
    const withZone = (policyUuid?: string): ZonePolicyState => ({
      rootUuid: ROOT, datapath: { uuid: DP, zones: new Map([[2780, ZONE_ROW]]) }, zone: { uuid: ZONE_ROW, ...(policyUuid ? { policyUuid } : {}), timeouts: new Map() },
    });
    expect(planZoneWithoutPolicy(withZone(POLICY), 'netdev', 2780)).toEqual([
      { op: 'update', table: 'CT_Zone', where: [['_uuid', '==', ['uuid', ZONE_ROW]]], row: { timeout_policy: ['set', []] } },
    ]);
    expect(planZoneWithoutPolicy(withZone(), 'netdev', 2780)).toEqual([]);
  });
});
