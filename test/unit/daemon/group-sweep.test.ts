// A daemon reads a switch's groups when it connects, and deletes vadc's select groups (its id range) that its
// configuration does not want there, an earlier run's; another controller's groups on the bridge stay. Flows mode makes
// no groups, so every one of vadc's is stray (a restart from conntrack mode). The same for the flows of services the
// configuration no longer has: their service flows are read (cookie kind `service`) and each such id's flows deleted;
// and for VIPs: their VIP flows are read (kind `vip`) and each cookie whose VIP tag no configured VIP has deleted.
// "Up" is not "holds the flows": status shows flowsSyncedAt once the switch answered the barrier sent after the
// connect's flows (a probe sent in between met a table without the VIP's flows: docs/benchmarks.md, reattach).
import { parseConfig } from '../../../src/config';
import { VadcDaemon } from '../../../src/daemon/daemon';
import { serviceIds } from '../../../src/app';
import { allFlowsOfKind, allFlowsOfService, exactCookie, makeCookie, serviceGroupId, vipCookie, type CookieKind } from '../../../src/flows';
import { OFPFC_DELETE, OFPGC_DELETE, OFPGT_SELECT, type FlowMod, type FlowStats, type GroupMod, type OfpMessage } from '../../../src/openflow';
import { noVswitchd } from '../../helpers/nat-mode';
import { FakeSwitch, port } from '../controller/fake-switch';

let daemon: VadcDaemon | undefined;
let sw: FakeSwitch | undefined;

afterEach(async () => {
  sw?.destroy();
  await daemon?.stop();
});

const CONFIG = `
controller: { listen: "tcp:127.0.0.1:0", ha: { election: none } }
datapath: { nat: flows }
services:
  - { name: web, vip: 10.0.0.100, port: 80, backends: [{ vnic: v1, ip: 10.0.0.11, ports: [8080], mac: "52:54:00:00:00:11" }] }
`;

test('on connect: the groups are read, vadc\'s strays are deleted (both families\' ids), a foreign group is not', async () => {
  daemon = new VadcDaemon({ probeVswitchd: noVswitchd, config: parseConfig(CONFIG, 'test'), configText: CONFIG, ovsdb: false });
  const [bound] = await daemon.start();
  sw = await FakeSwitch.connect(Number(bound.split(':').pop()), { dpid: 0x8n, ports: [port(1, 'v1')] });
  const fake = sw;
  const request = await fake.next((m) => m.type === 'multipart_request' && m.body.mpType === 'group_desc');
  const stray = [serviceGroupId(123), serviceGroupId(123, true)];
  const foreign = 7;
  const desc = (groupId: number) => ({ groupType: OFPGT_SELECT, groupId, buckets: [] });
  fake.send({ type: 'multipart_reply', xid: request.xid, flags: 0, body: { mpType: 'group_desc', entries: [foreign, ...stray].map(desc) } });
  const isGroupDelete = (m: OfpMessage): m is GroupMod => m.type === 'group_mod' && m.command === OFPGC_DELETE;
  await fake.next((m) => isGroupDelete(m) && m.groupId === stray[1]);
  // One answer, one batch: both strays deleted, in the order read, and nothing else.
  expect(fake.received.filter(isGroupDelete).map((m) => m.groupId)).toEqual(stray);
}, 20_000);

/** A daemon with CONFIG and a fake switch connected to it; the switch's first flow read of cookie kind `kind`. */
async function connectAndAwaitFlowRead(dpid: bigint, kind: CookieKind): Promise<{ fake: FakeSwitch; xid: number }> {
  daemon = new VadcDaemon({ probeVswitchd: noVswitchd, config: parseConfig(CONFIG, 'test'), configText: CONFIG, ovsdb: false });
  const [bound] = await daemon.start();
  sw = await FakeSwitch.connect(Number(bound.split(':').pop()), { dpid, ports: [port(1, 'v1')] });
  const { cookie, cookieMask } = allFlowsOfKind(kind);
  const request = await sw.next((m) => m.type === 'multipart_request' && m.body.mpType === 'flow' && m.body.cookie === cookie && m.body.cookieMask === cookieMask);
  return { fake: sw, xid: request.xid };
}

/** A flow-stats entry with this cookie (the sweeps read only the cookies). */
const statsOf = (cookie: bigint): FlowStats => ({
  tableId: 0, durationSec: 1, durationNsec: 0, priority: 100, idleTimeout: 0, hardTimeout: 0, flags: 0, cookie,
  packetCount: 0n, byteCount: 0n, match: [], instructions: [],
});

test("on connect: the service flows are read, every flow of a service id the configuration does not have is deleted, the configured service's are not", async () => {
  const { fake, xid } = await connectAndAwaitFlowRead(0x9n, 'service');
  const web = serviceIds(['web']).get('web')!;
  const gone = web === 123 ? 124 : 123;
  const entries = [web, gone, gone].map((id) => statsOf(makeCookie('service', id)));
  fake.send({ type: 'multipart_reply', xid, flags: 0, body: { mpType: 'flow', entries } });
  const deletesByService = (m: OfpMessage): m is FlowMod => m.type === 'flow_mod' && m.command === OFPFC_DELETE && m.cookieMask === allFlowsOfService(gone).cookieMask;
  await fake.next((m) => deletesByService(m) && m.cookie === allFlowsOfService(gone).cookie);
  // One delete, of the stray id only (all its kinds: the mask leaves the kind out).
  expect(fake.received.filter(deletesByService).map((m) => m.cookie)).toEqual([allFlowsOfService(gone).cookie]);
}, 20_000);

test("on connect: the VIP flows are read, each VIP tag the configuration does not have is deleted by its cookie, the configured VIP's flows are not", async () => {
  const { fake, xid } = await connectAndAwaitFlowRead(0xan, 'vip');
  // The configured VIP's flows, a VIP removed while vadc was away (two flows), an older vadc's untagged VIP flow.
  const kept = vipCookie('10.0.0.100');
  const gone = vipCookie('10.0.0.200');
  const untagged = makeCookie('vip');
  fake.send({ type: 'multipart_reply', xid, flags: 0, body: { mpType: 'flow', entries: [kept, gone, gone, untagged, kept].map(statsOf) } });
  const exactDelete = (m: OfpMessage): m is FlowMod => m.type === 'flow_mod' && m.command === OFPFC_DELETE && m.cookieMask === exactCookie(kept).cookieMask;
  await fake.next((m) => exactDelete(m) && m.cookie === gone);
  // One delete per stray cookie, the configured VIP's cookie not among them.
  expect(fake.received.filter(exactDelete).map((m) => m.cookie).sort()).toEqual([gone, untagged].sort());
}, 20_000);

test('a switch is synced only once it answered the barrier sent after the connect\'s flows', async () => {
  daemon = new VadcDaemon({ probeVswitchd: noVswitchd, config: parseConfig(CONFIG, 'test'), configText: CONFIG, ovsdb: false });
  const [bound] = await daemon.start();
  sw = await FakeSwitch.connect(Number(bound.split(':').pop()), { dpid: 0xbn, ports: [port(1, 'v1')], answerBarriers: false });
  const barrier = await sw.nextOfType('barrier_request');
  const before = sw.received.slice(0, sw.received.indexOf(barrier));
  const isVipFlow = (m: OfpMessage) => m.type === 'flow_mod' && m.match.some((f) => f.field === 'ipv4_dst');
  // The barrier follows the connect's flows, the VIP's among them.
  expect(before.filter(isVipFlow).length).toBeGreaterThan(0);
  const d = daemon;
  expect(d.status().switches).toHaveLength(1);
  expect(d.status().switches[0].flowsSyncedAt).toBeUndefined();
  sw.send({ type: 'barrier_reply', xid: barrier.xid });
  const t0 = Date.now();
  while (d.status().switches[0].flowsSyncedAt === undefined && Date.now() - t0 < 5000) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(d.status().switches[0].flowsSyncedAt).toBeGreaterThanOrEqual(d.status().switches[0].connectedAt);
}, 20_000);
