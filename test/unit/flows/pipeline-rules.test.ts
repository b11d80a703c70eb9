// The pipeline's declared rules (src/flows/pipeline.ts) as checkFlow applies them, each written out here by hand
// from the specification rather than read from the table under test: the OXM prerequisites of OpenFlow 1.3.5
// section 7.2.3.6, the conntrack tuple fields' need for +trk, each table's miss against the flow that installs it,
// and the first table's bounds.
import { OFPP_CONTROLLER, OFPP_NORMAL } from '../../../src/openflow/constants';
import type { FlowMod, Oxm, OxmFieldName } from '../../../src/openflow/types';
import { MAX_FIRST_TABLE, VADC_PIPELINE, buildCtPipelineFlows, buildPipelineFlows, checkFlow, vadcPipeline, vadcTables, type Pipeline } from '../../../src/flows';

const BASE: FlowMod = buildPipelineFlows()[0];
const IPV4: Oxm = { field: 'eth_type', value: 0x0800 };
const IPV6: Oxm = { field: 'eth_type', value: 0x86dd };
const ARP: Oxm = { field: 'eth_type', value: 0x0806 };
const TRK: Oxm = { field: 'ct_state', value: 0x20, mask: 0x20 };
const proto = (value: number): Oxm => ({ field: 'ip_proto', value });

/** Field, a value, what it needs (in the order it is checked), the problem when the last need is missing or wrong. */
const CASES: Array<[OxmFieldName, number | string, Oxm[], string]> = [
  ['ip_proto', 6, [IPV4], 'match field ip_proto needs eth_type = 0x800 or 0x86dd'],
  ['ipv4_src', '10.0.0.1', [IPV4], 'match field ipv4_src needs eth_type = 0x800'],
  ['ipv4_dst', '10.0.0.1', [IPV4], 'match field ipv4_dst needs eth_type = 0x800'],
  ['ipv6_src', 'fd00::1', [IPV6], 'match field ipv6_src needs eth_type = 0x86dd'],
  ['ipv6_dst', 'fd00::1', [IPV6], 'match field ipv6_dst needs eth_type = 0x86dd'],
  ['icmpv6_type', 128, [IPV6, proto(58)], 'match field icmpv6_type needs ip_proto = 0x3a'],
  ['icmpv6_code', 0, [IPV6, proto(58)], 'match field icmpv6_code needs ip_proto = 0x3a'],
  ['ct_nw_src', '10.0.0.1', [TRK, IPV4], 'match field ct_nw_src needs eth_type = 0x800'],
  ['ct_nw_dst', '10.0.0.1', [TRK, IPV4], 'match field ct_nw_dst needs eth_type = 0x800'],
  ['ct_ipv6_src', 'fd00::1', [TRK, IPV6], 'match field ct_ipv6_src needs eth_type = 0x86dd'],
  ['ct_ipv6_dst', 'fd00::1', [TRK, IPV6], 'match field ct_ipv6_dst needs eth_type = 0x86dd'],
  ['tcp_src', 80, [IPV4, proto(6)], 'match field tcp_src needs ip_proto = 0x6'],
  ['tcp_dst', 80, [IPV6, proto(6)], 'match field tcp_dst needs ip_proto = 0x6'],
  ['tcp_flags', 2, [IPV4, proto(6)], 'match field tcp_flags needs ip_proto = 0x6'],
  ['udp_src', 53, [IPV4, proto(17)], 'match field udp_src needs ip_proto = 0x11'],
  ['udp_dst', 53, [IPV6, proto(17)], 'match field udp_dst needs ip_proto = 0x11'],
  ['icmpv4_type', 8, [IPV4, proto(1)], 'match field icmpv4_type needs ip_proto = 0x1'],
  ['icmpv4_code', 0, [IPV4, proto(1)], 'match field icmpv4_code needs ip_proto = 0x1'],
  ['arp_op', 1, [ARP], 'match field arp_op needs eth_type = 0x806'],
  ['arp_spa', '10.0.0.1', [ARP], 'match field arp_spa needs eth_type = 0x806'],
  ['arp_tpa', '10.0.0.1', [ARP], 'match field arp_tpa needs eth_type = 0x806'],
];

/** One table that allows every field, so that only the prerequisites speak. */
const EVERY_FIELD: Pipeline = [{
  ...VADC_PIPELINE[0],
  matchFields: [...CASES.map(([field]) => field), 'eth_type', 'ct_state', 'ct_tp_src', 'ct_tp_dst', 'ct_nw_proto', 'icmpv6_type', 'icmpv6_code', 'ipv6_nd_target'],
}];
const problems = (match: Oxm[]) => checkFlow({ ...BASE, match }, EVERY_FIELD);

describe('OXM prerequisites (OpenFlow 1.3.5, 7.2.3.6)', () => {
  it.each(CASES)('%s: passes with what it needs, is refused without it or with another value', (field, value, needs, problem) => {
    const oxm = { field, value } as Oxm;
    expect(problems([...needs, oxm])).toEqual([]);
    expect(problems([...needs.slice(0, -1), oxm])).toContain(problem);
    const last = needs.at(-1)!;
    const wrong = { ...last, value: last.field === 'eth_type' ? (last.value === 0x0806 ? 0x0800 : 0x0806) : 99 } as Oxm;
    expect(problems([...needs.slice(0, -1), wrong, oxm])).toContain(problem);
  });

  it('ip_proto takes either IP ethertype', () => {
    expect(problems([IPV6, proto(6)])).toEqual([]);
    expect(problems([IPV4, proto(17)])).toEqual([]);
  });

  it('ipv6_nd_target needs a neighbour solicitation or advertisement type and code 0', () => {
    const nd = (type: number, code: number): Oxm[] => [
      IPV6, proto(58), { field: 'icmpv6_type', value: type }, { field: 'icmpv6_code', value: code }, { field: 'ipv6_nd_target', value: 'fe80::1' },
    ];
    expect(problems(nd(135, 0))).toEqual([]);
    expect(problems(nd(136, 0))).toEqual([]);
    expect(problems(nd(137, 0))).toEqual(['match field ipv6_nd_target needs icmpv6_type = 0x87 or 0x88']);
    expect(problems(nd(136, 1))).toEqual(['match field ipv6_nd_target needs icmpv6_code = 0x0']);
  });

  it('fields without prerequisites pass alone', () => {
    for (const oxm of [{ field: 'in_port', value: 1 }, { field: 'ct_state', value: 0x20 }, { field: 'ct_mark', value: 1 }] as Oxm[]) {
      expect(checkFlow({ ...BASE, match: [oxm] }, [{ ...EVERY_FIELD[0], matchFields: ['in_port', 'ct_state', 'ct_mark'] }])).toEqual([]);
    }
  });

  it.each(['ct_nw_src', 'ct_nw_dst', 'ct_ipv6_src', 'ct_ipv6_dst', 'ct_tp_src', 'ct_tp_dst', 'ct_nw_proto'] as OxmFieldName[])(
    'the conntrack tuple field %s needs ct_state +trk', (field) => {
      const eth = field.startsWith('ct_ipv6') ? IPV6 : IPV4;
      const value = field.startsWith('ct_ipv6') ? 'fd00::1' : field.startsWith('ct_nw_s') || field.startsWith('ct_nw_d') ? '10.0.0.1' : 6;
      const oxm = { field, value } as Oxm;
      expect(problems([TRK, eth, oxm])).toEqual([]);
      expect(problems([eth, oxm])).toEqual([`match field ${field} needs ct_state with +trk`]);
    },
  );
});

describe('the tables', () => {
  it("each table's declared miss is what its miss flow does", () => {
    const missFlows = [...buildPipelineFlows(), ...buildCtPipelineFlows()].filter((f) => f.priority === 0 && f.match.length === 0);
    const port = { normal: OFPP_NORMAL, controller: OFPP_CONTROLLER } as Record<string, number>;
    for (const table of VADC_PIPELINE) {
      const flow = missFlows.find((f) => f.tableId === table.id);
      expect(flow?.instructions).toEqual([{ type: 'apply_actions', actions: [{ type: 'output', port: port[table.miss], maxLen: expect.any(Number) }] }]);
    }
  });

  it('moves every table id and goto target with the first table, within 0..251', () => {
    const shifted = vadcPipeline(MAX_FIRST_TABLE);
    expect(shifted.map((t) => t.id)).toEqual([251, 252, 253, 254]);
    expect(shifted[0].nextTables).toEqual([252, 253]);
    expect(vadcTables(MAX_FIRST_TABLE)).toEqual({ CLASSIFY: 251, FORWARD: 252, REVERSE: 253, CT_REPLY: 254 });
    expect(vadcTables()).toEqual({ CLASSIFY: 0, FORWARD: 1, REVERSE: 2, CT_REPLY: 3 });
    for (const bad of [-1, 0.5, 252, Number.NaN]) expect(() => vadcTables(bad)).toThrow(`first table ${bad} is outside 0..251`);
  });
});
