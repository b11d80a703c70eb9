// Datapath decisions (issue 15): the select group of a service as vadc builds it (src/flows/groups.ts), its
// modification and removal, and the group statistics and description requests, against ovs-ofctl's own encoding;
// the replies (which no OVS tool encodes) as ovs-ofctl ofp-print reads vadc's encoding of them and as a real
// ovs-vswitchd sent them. The cases are built when asked for, inside a test, not while jest collects the file: built
// at collection, every src/flows mutant they reach is "static" to Stryker (re-run with every test, and a mutant that
// throws there is a runtime error, not a kill).
import { buildDeleteServiceGroup, buildServiceGroup } from '../../../../src/flows/groups';
import type { OfpMessage } from '../../../../src/openflow';
import type { OvsCase, OvsRead } from './cases';

const SERVICE = 0x1234;
/** serviceGroupId(SERVICE), written out: vadc's base 0x0adc0000 plus the service id. */
const GROUP = 0x0adc1234;
const SPEC = { serviceId: SERVICE, zone: 2780, buckets: [{ ip: '10.0.0.11', port: 8080, weight: 30 }, { ip: '10.0.0.12', port: 8081, weight: 7 }] };
/** The group test/e2e/openflow-ovs.e2e.ts adds to a private ovs-vswitchd for its desc and stats replies. */
export const GROUP_SPEC = SPEC;
const bucketText = (ip: string, port: number, weight: number): string => `bucket=weight:${weight},actions=ct(commit,zone=2780,table=1,`
  + `exec(move:OXM_OF_IN_PORT[0..15]->NXM_NX_CT_MARK[0..15],load:0x1234->NXM_NX_CT_MARK[16..31]),nat(dst=${ip}:${port}))`;
const GROUP_TEXT = `group_id=${GROUP},type=select,${bucketText('10.0.0.11', 8080, 30)},${bucketText('10.0.0.12', 8081, 7)}`;
// IPv6 backends, and the weights' two ends (1 and 65535), for another service and zone.
const SERVICE6 = 0x1235;
const GROUP6 = 0x0adc1235;
const SPEC6 = { serviceId: SERVICE6, zone: 2781, buckets: [{ ip: 'fd00::11', port: 8080, weight: 65535 }, { ip: 'fd00:2::7', port: 443, weight: 1 }] };
const bucketText6 = (ip: string, port: number, weight: number): string => `bucket=weight:${weight},actions=ct(commit,zone=2781,table=1,`
  + `exec(move:OXM_OF_IN_PORT[0..15]->NXM_NX_CT_MARK[0..15],load:0x1235->NXM_NX_CT_MARK[16..31]),nat(dst=[${ip}]:${port}))`;
const GROUP6_TEXT = `group_id=${GROUP6},type=select,${bucketText6('fd00::11', 8080, 65535)},${bucketText6('fd00:2::7', 443, 1)}`;
/** ovs-ofctl numbers its one request xid 2. */
const xid2 = <M extends OfpMessage>(m: M): M => ({ ...m, xid: 2 });

export const groupCases = (): OvsCase[] => [
  { name: 'group_mod_add_service_select', ofctl: { command: 'add-group', args: [GROUP_TEXT] }, message: xid2(buildServiceGroup(SPEC, false)) },
  { name: 'group_mod_modify_service_select', ofctl: { command: 'mod-group', args: [GROUP_TEXT] }, message: xid2(buildServiceGroup(SPEC, true)) },
  { name: 'group_mod_delete_service', ofctl: { command: 'del-groups', args: [`group_id=${GROUP}`] }, message: xid2(buildDeleteServiceGroup(SERVICE)) },
  { name: 'group_mod_add_service_select_ipv6', ofctl: { command: 'add-group', args: [GROUP6_TEXT] }, message: xid2(buildServiceGroup(SPEC6, false)) },
  {
    name: 'multipart_request_group_stats', ofctl: { command: 'dump-group-stats', args: [`group_id=${GROUP}`] },
    message: { type: 'multipart_request', xid: 2, flags: 0, body: { mpType: 'group', groupId: GROUP } },
  },
  { name: 'multipart_request_group_desc', ofctl: { command: 'dump-groups', args: [] }, message: { type: 'multipart_request', xid: 2, flags: 0, body: { mpType: 'group_desc' } } },
  // What a private ovs-vswitchd (3.1, dummy datapath) answered after vadc's group_mod for SPEC and its decision flow
  // (test/e2e/openflow-ovs.e2e.ts): the description gives back exactly the buckets vadc sent; the statistics show the
  // flow's reference and no packet yet (the duration is that run's own).
  {
    name: 'multipart_reply_group_desc_service',
    message: {
      type: 'multipart_reply', xid: 0x25, flags: 0,
      body: { mpType: 'group_desc', entries: [{ groupType: 1, groupId: GROUP, buckets: buildServiceGroup(SPEC, false).buckets }] },
    },
  },
  {
    name: 'multipart_reply_group_stats_service',
    message: {
      type: 'multipart_reply', xid: 0x26, flags: 0, body: {
        mpType: 'group', entries: [{
          groupId: GROUP, refCount: 1, packetCount: 0n, byteCount: 0n, durationSec: 0, durationNsec: 26000000,
          bucketStats: [{ packetCount: 0n, byteCount: 0n }, { packetCount: 0n, byteCount: 0n }],
        }],
      },
    },
  },
];

/** How ofp-print shows a bucket (it prints nat inside exec's parentheses). */
const printedBucket = (ip: string, port: number, weight: number): string => `bucket=weight:${weight},actions=ct(commit,table=1,zone=2780,`
  + `exec(move:OXM_OF_IN_PORT[0..15]->NXM_NX_CT_MARK[0..15],load:0x1234->NXM_NX_CT_MARK[16..31],nat(dst=${ip}:${port})))`;

export const groupReads = (): OvsRead[] => [
  {
    message: {
      type: 'multipart_reply', xid: 0x21, flags: 0,
      body: { mpType: 'group_desc', entries: [{ groupType: 1, groupId: GROUP, buckets: buildServiceGroup(SPEC, false).buckets }] },
    },
    text: [
      'OFPST_GROUP_DESC reply (OF1.3) (xid=0x21):',
      ` group_id=${GROUP},type=select,${printedBucket('10.0.0.11', 8080, 30)},${printedBucket('10.0.0.12', 8081, 7)}`,
    ].join('\n'),
  },
  {
    message: {
      type: 'multipart_reply', xid: 0x22, flags: 0, body: {
        mpType: 'group', entries: [{
          groupId: GROUP, refCount: 1, packetCount: 3001n, byteCount: 222074n, durationSec: 95, durationNsec: 500000000,
          bucketStats: [{ packetCount: 2401n, byteCount: 177674n }, { packetCount: 600n, byteCount: 44400n }],
        }],
      },
    },
    text: [
      'OFPST_GROUP reply (OF1.3) (xid=0x22):',
      ` group_id=${GROUP},duration=95.500s,ref_count=1,packet_count=3001,byte_count=222074,`
        + 'bucket0:packet_count=2401,byte_count=177674,bucket1:packet_count=600,byte_count=44400',
    ].join('\n'),
  },
];
