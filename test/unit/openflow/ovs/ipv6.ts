// IPv6 (issue 16): every IPv6 OXM field vadc matches or sets, as ovs-ofctl encodes a flow that uses it. Each value
// is distinct and not a default (OVS stores a masked value with its mask applied, and drops ND fields unless
// icmp_code is 0, so those keep code 0 and the unreachable flow carries a code) (a masked source prefix, a flow label with a sparse mask, ND targets and link-layer
// addresses, the conntrack original-direction IPv6 tuple and a ct nat to an IPv6 backend). ipv6_exthdr is not here:
// ovs-ofctl cannot encode it (OVS has no such field); the tshark oracle covers it (../tshark-ipv6.test.ts).
import type { OfpMessage } from '../../../../src/openflow';
import type { OvsCase } from './cases';

const flowMod = (priority: number, match: Extract<OfpMessage, { type: 'flow_mod' }>['match'],
  instructions: Extract<OfpMessage, { type: 'flow_mod' }>['instructions']): OfpMessage => ({
  type: 'flow_mod', xid: 2, cookie: 0n, cookieMask: 0n, tableId: 0, command: 0, idleTimeout: 0, hardTimeout: 0, priority,
  bufferId: 0xffffffff, outPort: 0xffffffff, outGroup: 0xffffffff, flags: 0, match, instructions,
});

const IPV6_TCP = 'table=0,priority=100,tcp6,ipv6_src=2001:db8::/32,ipv6_dst=fd00::1:100,ipv6_label=0x12345/0xff0ff,tp_dst=443,'
  + 'actions=set_field:fd00:2::7->ipv6_dst,output:2';
const ND_NS = 'priority=200,icmp6,icmp_type=135,icmp_code=0,nd_target=fd00::1:100,nd_sll=02:00:00:00:0a:0b,actions=CONTROLLER:65535';
const ND_NA = 'priority=201,icmp6,icmp_type=136,icmp_code=0,nd_target=fd00::1:101,nd_tll=02:00:00:00:0a:0c,actions=drop';
const ICMPV6_UNREACH = 'priority=202,icmp6,ipv6_src=2001:db8:0:1::1:9,ipv6_dst=fd00::1:100,ipv6_label=0x54321,icmp_type=1,icmp_code=4,actions=drop';
const CT_IPV6 = 'priority=300,ipv6,ct_state=+trk-inv,ct_nw_proto=6,ct_ipv6_src=2001:db8::9,ct_ipv6_dst=fd00::1:100,ct_tp_dst=80,'
  + 'actions=ct(commit,zone=5,nat(dst=[fd00:2::7]:8080))';

export const IPV6_CASES: OvsCase[] = [
  {
    name: 'flow_mod_ipv6_tcp_set_ipv6_dst',
    ofctl: { command: 'add-flow', args: [IPV6_TCP] },
    message: flowMod(100, [
      { field: 'eth_type', value: 0x86dd },
      { field: 'ipv6_src', value: '2001:db8::', mask: 'ffff:ffff::' },
      { field: 'ipv6_dst', value: 'fd00::1:100' },
      { field: 'ipv6_flabel', value: 0x12045, mask: 0xff0ff },
      { field: 'ip_proto', value: 6 },
      { field: 'tcp_dst', value: 443 },
    ], [{ type: 'apply_actions', actions: [
      { type: 'set_field', field: { field: 'ipv6_dst', value: 'fd00:2::7' } },
      { type: 'output', port: 2, maxLen: 0 },
    ] }]),
  },
  {
    name: 'flow_mod_nd_solicitation',
    ofctl: { command: 'add-flow', args: [ND_NS] },
    message: flowMod(200, [
      { field: 'eth_type', value: 0x86dd }, { field: 'ip_proto', value: 58 },
      { field: 'icmpv6_type', value: 135 }, { field: 'icmpv6_code', value: 0 },
      { field: 'ipv6_nd_target', value: 'fd00::1:100' }, { field: 'ipv6_nd_sll', value: '02:00:00:00:0a:0b' },
    ], [{ type: 'apply_actions', actions: [{ type: 'output', port: 0xfffffffd, maxLen: 0xffff }] }]),
  },
  {
    name: 'flow_mod_nd_advertisement',
    ofctl: { command: 'add-flow', args: [ND_NA] },
    message: flowMod(201, [
      { field: 'eth_type', value: 0x86dd }, { field: 'ip_proto', value: 58 },
      { field: 'icmpv6_type', value: 136 }, { field: 'icmpv6_code', value: 0 },
      { field: 'ipv6_nd_target', value: 'fd00::1:101' }, { field: 'ipv6_nd_tll', value: '02:00:00:00:0a:0c' },
    ], []),
  },
  {
    name: 'flow_mod_icmpv6_port_unreachable',
    ofctl: { command: 'add-flow', args: [ICMPV6_UNREACH] },
    message: flowMod(202, [
      { field: 'eth_type', value: 0x86dd }, { field: 'ipv6_src', value: '2001:db8:0:1::1:9' }, { field: 'ipv6_dst', value: 'fd00::1:100' },
      { field: 'ipv6_flabel', value: 0x54321 }, { field: 'ip_proto', value: 58 },
      { field: 'icmpv6_type', value: 1 }, { field: 'icmpv6_code', value: 4 },
    ], []),
  },
  {
    name: 'flow_mod_ct_ipv6_tuple_nat',
    ofctl: { command: 'add-flow', args: [CT_IPV6] },
    message: flowMod(300, [
      { field: 'eth_type', value: 0x86dd },
      { field: 'ct_state', value: 0x20, mask: 0x30 },
      { field: 'ct_ipv6_src', value: '2001:db8::9' },
      { field: 'ct_ipv6_dst', value: 'fd00::1:100' },
      { field: 'ct_nw_proto', value: 6 },
      { field: 'ct_tp_dst', value: 80 },
    ], [{ type: 'apply_actions', actions: [{
      type: 'nx_ct', flags: 1, zoneSrc: 0, zoneOfsNbits: 5, recircTable: 255, alg: 0,
      actions: [{ type: 'nx_nat', flags: 2, rangeIpv6Min: 'fd00:2::7', rangeProtoMin: 8080 }],
    }] }]),
  },
];
