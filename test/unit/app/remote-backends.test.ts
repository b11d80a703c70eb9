// Remote backends (a cluster host serving a VIP with backends whose vNICs other hosts have): the chosen packet
// leaves through the host's uplink with the backend's MAC and address, and the backend's reply, arriving back
// on the uplink, is translated at this host. Health comes from the host that has the vNIC. Packets go through
// the fake flow table in every NAT mode: "does this packet reach this backend via the uplink?"
import type { RemoteBackendReport } from '../../../src/app';
import { FeedbackScheduler } from '../../../src/lb/schedulers/feedback';
import { TABLE } from '../../../src/flows';
import { OFPFC_DELETE_STRICT, OFPPS_LINK_DOWN } from '../../../src/openflow/constants';
import type { FlowMod, PacketOut } from '../../../src/openflow/types';
import {
  AppHarness, backendYaml, CLIENT_MAC, CLIENT_PORT, delivered, fieldsOf, fromClient, fromClient6, NAT_MODES, port, VIP6, VMS, type NatModeCase,
} from '../../helpers/app-harness';
import { translatedView } from '../../helpers/fake-flow-table';
import { ipv4Frame } from '../../helpers/frames';

const UPLINK = { ofport: 40, name: 'v-h1-up' };
const REMOTE = { vnic: 'v-h2vm1', ip: '10.0.0.21', mac: '02:0a:00:00:00:15' };

function services(health = ''): string {
  return `
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    scheduler: rr
    idle_timeout: 30
${health}
    backends:
${backendYaml('v-vm1', [8080])}
      - { vnic: ${REMOTE.vnic}, ip: ${REMOTE.ip}, ports: [8080] }
`;
}

function report(over: Partial<RemoteBackendReport> = {}): RemoteBackendReport {
  return { host: 'h2', service: 'web', backend: REMOTE.vnic, vnic: REMOTE.vnic, mac: REMOTE.mac, linkUp: true, health: 'up', reason: '', ...over };
}

/** The remote backend's answer as it comes back over the uplink: from its address and port to the client. */
function fromRemote(clientPort: number): Buffer {
  return ipv4Frame({ srcMac: REMOTE.mac, dstMac: CLIENT_MAC, srcIp: REMOTE.ip, dstIp: '10.0.0.101', proto: 'tcp', srcPort: 8080, dstPort: clientPort, tcpFlags: 0x12 });
}

/** Where `n` new connections' first packets went, by output port. */
function spread(h: AppHarness, n: number, firstPort: number): Map<number, number> {
  const where = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const outputs = h.send(fromClient(firstPort + i)).outcomes.filter((o) => o.kind === 'output');
    for (const o of outputs) if (o.kind === 'output') where.set(o.port, (where.get(o.port) ?? 0) + 1);
  }
  return where;
}

describe.each(NAT_MODES.map((m) => [m.name, m] as [string, NatModeCase]))('remote backends (%s)', (_name, mode) => {
  it('a backend another host published is reached through the uplink; its reply over the uplink reaches the client from the VIP', () => {
    const h = new AppHarness(mode, services(), { uplink: UPLINK });
    // Not published yet: only the local backend takes connections.
    expect([...spread(h, 4, 20000).keys()]).toEqual([VMS['v-vm1'].ofport]);
    h.install(h.app.setRemoteBackends([report()], h.now));
    expect(h.app.locationOf('web', REMOTE.vnic)).toMatchObject({ ofport: UPLINK.ofport, mac: REMOTE.mac, remoteHost: 'h2', linkUp: true });
    h.install(h.app.setHealth('web', 'v-vm1', false)); // the local one out: every new connection must go remote
    const sent = h.send(fromClient(21000)).outcomes;
    const out = delivered(sent);
    expect(out.port).toBe(UPLINK.ofport);
    expect(out.fields).toMatchObject({ eth_dst: REMOTE.mac, ipv4_dst: REMOTE.ip, tcp_dst: 8080, ipv4_src: '10.0.0.101' });
    // Past a patch port (the lab's uplinks) the next bridge matches what OVS's translation carries: the backend too,
    // not the VIP (conntrack mode's commit packet-out, whose ct(nat) the translation does not see by itself).
    const leaving = sent.find((o) => o.kind === 'output')!;
    expect(leaving.kind === 'output' && translatedView(leaving)).toMatchObject({ eth_dst: REMOTE.mac, ipv4_dst: REMOTE.ip, tcp_dst: 8080 });
    const reply = delivered(h.send(fromRemote(21000), UPLINK.ofport).outcomes);
    expect(reply.port).toBe(CLIENT_PORT);
    expect(reply.fields).toMatchObject({ ipv4_src: '10.0.0.100', tcp_src: 80, ipv4_dst: '10.0.0.101', tcp_dst: 21000 });
    // The connection's next packet goes the same way without the controller.
    const before = h.packetIns;
    expect(delivered(h.send(fromClient(21000, { flags: 0x10 })).outcomes).port).toBe(UPLINK.ofport);
    expect(h.packetIns).toBe(before);
    expect(h.events.some((e) => e.kind === 'backend_located' && /on host h2: through uplink port 40/.test(e.message))).toBe(true);
  });

  it("spreads over local and remote backends alike (rr)", () => {
    const h = new AppHarness(mode, services(), { uplink: UPLINK });
    h.install(h.app.setRemoteBackends([report()], h.now));
    const where = spread(h, 20, 22000);
    expect(where.get(UPLINK.ofport)).toBe(10);
    expect(where.get(VMS['v-vm1'].ofport)).toBe(10);
  });

  it("feedback weighs a remote backend by its own host's published queue measure as well as its own estimate", () => {
    const h = new AppHarness(mode, services().replace('scheduler: rr', 'scheduler: feedback'), { uplink: UPLINK });
    h.install(h.app.setRemoteBackends([report()], h.now));
    expect(spread(h, 4, 23000).size).toBe(2);
    // One statistics interval measures both alike here (two open connections each, the same packets).
    for (const [backend, at, rx] of [['v-vm1', h.now, 0], [REMOTE.vnic, h.now, 0], ['v-vm1', h.now + 1000, 100], [REMOTE.vnic, h.now + 1000, 100]] as const) {
      h.install(h.app.feedLoad('web', backend, { at, rxPackets: rx, txPackets: rx, txDropped: 0 }));
    }
    h.now += 1000;
    const alike = spread(h, 6, 23100);
    expect([alike.get(UPLINK.ofport), alike.get(VMS['v-vm1'].ofport)]).toEqual([3, 3]);
    // Its host says it is far busier than this host sees (its own clients): new connections stay local.
    h.install(h.app.setRemoteBackends([report({ queueMeasure: 1e9 })], h.now));
    expect([...spread(h, 6, 23200).entries()]).toEqual([[VMS['v-vm1'].ofport, 6]]);
    // No longer published: the remote one (5 open here against 11) catches up.
    h.install(h.app.setRemoteBackends([report()], h.now));
    expect(spread(h, 6, 23300).get(UPLINK.ofport)).toBeGreaterThanOrEqual(5);
  });

  it("keeps the published wait of a remote backend when a config change rebuilds the service's scheduler", () => {
    const feedback = services().replace('scheduler: rr', 'scheduler: feedback');
    const h = new AppHarness(mode, feedback, { uplink: UPLINK });
    /** One statistics interval that measures both backends alike (as in the test above). */
    const measureAlike = () => {
      for (const [backend, at, rx] of [['v-vm1', h.now, 0], [REMOTE.vnic, h.now, 0], ['v-vm1', h.now + 1000, 100], [REMOTE.vnic, h.now + 1000, 100]] as const) {
        h.install(h.app.feedLoad('web', backend, { at, rxPackets: rx, txPackets: rx, txDropped: 0 }));
      }
      h.now += 1000;
    };
    h.install(h.app.setRemoteBackends([report({ queueMeasure: 1e9 })], h.now));
    expect(spread(h, 4, 23500).size).toBe(2); // no estimate yet: as wlc
    measureAlike();
    expect([...spread(h, 4, 23600).entries()]).toEqual([[VMS['v-vm1'].ofport, 4]]);
    // A change of shape (here the outlier settings) builds the service anew, its scheduler with it; no new report
    // comes (its host's figures did not change). Once the new scheduler has measured, the published wait still counts.
    const rebuilt = feedback.replace('    idle_timeout: 30\n', '    idle_timeout: 30\n    outlier: { enabled: false }\n');
    expect(rebuilt).toContain('outlier: { enabled: false }');
    const before = h.app.serviceStates()[0].lb.schedulers[0];
    h.install(h.app.setServices(AppHarness.config(mode, rebuilt).services, h.now));
    const after = h.app.serviceStates()[0].lb.schedulers[0];
    expect(after).toBeInstanceOf(FeedbackScheduler);
    expect(after).not.toBe(before);
    expect(spread(h, 4, 23650).size).toBe(2); // the new scheduler has no estimate yet: as wlc
    measureAlike();
    expect([...spread(h, 6, 23700).entries()]).toEqual([[VMS['v-vm1'].ofport, 6]]);
  });

  it("follows the owning host's verdict, not this host's checks", () => {
    const h = new AppHarness(mode, services(), { uplink: UPLINK });
    h.install(h.app.setRemoteBackends([report()], h.now));
    h.install(h.app.setHealth('web', 'v-vm1', false));
    h.install(h.app.setRemoteBackends([report({ health: 'down', reason: 'tcp 8080: connection refused' })], h.now));
    const refused = h.send(fromClient(23000)).outcomes;
    expect(refused.filter((o) => o.kind === 'output' && o.port === UPLINK.ofport)).toEqual([]);
    // A local verdict on a remote backend changes nothing: its host judges it.
    h.install(h.app.setHealth('web', REMOTE.vnic, true));
    expect(h.send(fromClient(23001)).outcomes.filter((o) => o.kind === 'output' && o.port === UPLINK.ofport)).toEqual([]);
    h.install(h.app.setRemoteBackends([report({ health: 'up' })], h.now));
    h.install(h.app.setHealth('web', REMOTE.vnic, false));
    expect(delivered(h.send(fromClient(23002)).outcomes).port).toBe(UPLINK.ofport);
  });

  it('is in the rotation as the routing lists it, as a local backend is (the routing counts its host\'s verdict: test/unit/daemon/remote-verdicts.test.ts)', () => {
    const h = new AppHarness(mode, services('    health: { type: tcp, interval: 1, rise: 1, fall: 1 }'), { uplink: UPLINK });
    h.install(h.app.setRemoteBackends([report()], h.now));
    h.install(h.app.setHealth('web', 'v-vm1', false)); // the local one out: every new connection must go remote
    h.install(h.app.setRouting('web', { kind: 'tier', backends: [REMOTE.vnic] }));
    expect(delivered(h.send(fromClient(23500)).outcomes).port).toBe(UPLINK.ofport);
    // A routing that leaves it out (its host's verdict down here, its vNIC unreachable from here), refuses, or sends
    // to the sorry backend takes it out like any other.
    for (const [i, routing] of ([{ kind: 'tier', backends: ['v-vm1'] }, { kind: 'refuse' }] as const).entries()) {
      h.install(h.app.setRouting('web', routing));
      expect(h.send(fromClient(23501 + i)).outcomes.filter((o) => o.kind === 'output' && o.port === UPLINK.ofport)).toEqual([]);
    }
  });

  it.each([
    ['its host fails it', { health: 'down', reason: 'http 8080: timeout' }],
    // Its host publishes a link down as health 'down' (the case above), except while the backend drains: then the
    // report says draining, and only its link tells.
    ["its vNIC's link goes down at its host while it drains", { health: 'draining', reason: 'link down', linkUp: false }],
  ] as const)('a remote backend loses its established connections here at once when %s (as a local one on its own verdict); the others keep theirs', (_when, cutOff) => {
    const other = { vnic: 'v-h3vm1', ip: '10.0.0.31', mac: '02:0a:00:00:00:1f' };
    const yaml = services().replace(`      - { vnic: ${REMOTE.vnic}`, `      - { vnic: ${other.vnic}, ip: ${other.ip}, ports: [8080] }\n      - { vnic: ${REMOTE.vnic}`);
    const h = new AppHarness(mode, yaml, { uplink: UPLINK });
    const both = () => [report(), report({ host: 'h3', backend: other.vnic, vnic: other.vnic, mac: other.mac })];
    h.install(h.app.setRemoteBackends(both(), h.now));
    h.install(h.app.setHealth('web', 'v-vm1', false)); // every connection goes remote
    const to = new Map<string, number>(); // backend address -> a client port whose connection it has
    for (let clientPort = 27000; to.size < 2; clientPort++) {
      const out = delivered(h.send(fromClient(clientPort)).outcomes);
      expect(out.port).toBe(UPLINK.ofport);
      to.set(String(out.fields.ipv4_dst), clientPort);
    }
    expect(h.app.connectionCount('web', REMOTE.vnic)).toBe(1);
    // h2 cuts its backend off: its connection's next packet no longer leaves for it; h3's still does, in the datapath.
    h.install(h.app.setRemoteBackends([report(cutOff), both()[1]], h.now));
    expect(h.app.connectionCount('web', REMOTE.vnic)).toBe(0);
    const cut = h.send(fromClient(to.get(REMOTE.ip)!, { flags: 0x10 })).outcomes;
    expect(cut.filter((o) => o.kind === 'output' && o.port === UPLINK.ofport)).toEqual([]);
    const before = h.packetIns;
    expect(delivered(h.send(fromClient(to.get(other.ip)!, { flags: 0x10 })).outcomes)).toMatchObject({ port: UPLINK.ofport, fields: { ipv4_dst: other.ip } });
    expect(h.packetIns).toBe(before);
    expect(h.app.connectionCount('web', other.vnic)).toBe(1);
    // Back up at its host: new connections reach it again.
    h.install(h.app.setRemoteBackends(both(), h.now));
    const back = new Set<string>();
    for (let clientPort = 27500; clientPort < 27510; clientPort++) back.add(String(delivered(h.send(fromClient(clientPort)).outcomes).fields.ipv4_dst));
    expect(back).toContain(REMOTE.ip);
  });

  it("a dual-stack remote backend cut off by its host loses its connections of both families here", () => {
    const yaml = services().replace('    vip: 10.0.0.100\n', `    vip: 10.0.0.100\n    vip6: "${VIP6}"\n`)
      .replace(`ip: ${REMOTE.ip}, ports`, `ip: ${REMOTE.ip}, ip6: "fd00::21", ports`).replace('mac: "52:54:00:00:00:11" }', `mac: "52:54:00:00:00:11", ip6: "${VMS['v-vm1'].ip6}" }`);
    const h = new AppHarness(mode, yaml, { uplink: UPLINK });
    h.install(h.app.setRemoteBackends([report()], h.now));
    h.install(h.app.setHealth('web', 'v-vm1', false)); // every connection goes remote
    expect(delivered(h.send(fromClient(27600)).outcomes)).toMatchObject({ port: UPLINK.ofport, fields: { ipv4_dst: REMOTE.ip } });
    expect(delivered(h.send(fromClient6(27601)).outcomes)).toMatchObject({ port: UPLINK.ofport, fields: { ipv6_dst: 'fd00::21' } });
    expect(h.app.connectionCount('web', REMOTE.vnic)).toBe(2);
    h.install(h.app.setRemoteBackends([report({ health: 'down', reason: 'http 8080: timeout' })], h.now));
    expect(h.app.connectionCount('web', REMOTE.vnic)).toBe(0);
    for (const next of [fromClient(27600, { flags: 0x10 }), fromClient6(27601, { flags: 0x10 })]) {
      expect(h.send(next).outcomes.filter((o) => o.kind === 'output' && o.port === UPLINK.ofport)).toEqual([]);
    }
  });

  it("'unknown' passes only for a service without active checks; a vNIC link down at its host fails it", () => {
    const passive = new AppHarness(mode, services(), { uplink: UPLINK });
    passive.install(passive.app.setHealth('web', 'v-vm1', false));
    passive.install(passive.app.setRemoteBackends([report({ health: 'unknown' })], passive.now));
    expect(delivered(passive.send(fromClient(24000)).outcomes).port).toBe(UPLINK.ofport);
    passive.install(passive.app.setRemoteBackends([report({ health: 'unknown', linkUp: false })], passive.now));
    expect(passive.send(fromClient(24001)).outcomes.filter((o) => o.kind === 'output' && o.port === UPLINK.ofport)).toEqual([]);

    const active = new AppHarness(mode, services('    health: { type: tcp, interval: 2, timeout: 1 }'), { uplink: UPLINK });
    active.install(active.app.setHealth('web', 'v-vm1', false));
    active.install(active.app.setRemoteBackends([report({ health: 'unknown' })], active.now));
    expect(active.send(fromClient(24002)).outcomes.filter((o) => o.kind === 'output' && o.port === UPLINK.ofport)).toEqual([]);
  });

  it('is not located without a MAC, without an uplink port, or with the uplink down; this host\'s own vNIC wins', () => {
    const h = new AppHarness(mode, services(), { uplink: UPLINK });
    h.install(h.app.setRemoteBackends([report({ mac: undefined })], h.now));
    expect(h.app.locationOf('web', REMOTE.vnic)).toBeUndefined();
    h.install(h.app.setRemoteBackends([report()], h.now));
    h.sw.ports.set(UPLINK.ofport, port(UPLINK.ofport, UPLINK.name, OFPPS_LINK_DOWN));
    h.install(h.app.portStatus(h.sw, { type: 'port_status', xid: 0, reason: 2, desc: h.sw.ports.get(UPLINK.ofport)! }, h.now));
    expect(h.app.locationOf('web', REMOTE.vnic)?.linkUp).toBe(false);
    // The VM moved here: its own port is used, the report ignored.
    h.sw.ports.set(7, port(7, REMOTE.vnic));
    h.install(h.app.portStatus(h.sw, { type: 'port_status', xid: 0, reason: 0, desc: h.sw.ports.get(7)! }, h.now));
    expect(h.app.locationOf('web', REMOTE.vnic)).toMatchObject({ ofport: 7 });
    expect(h.app.locationOf('web', REMOTE.vnic)?.remoteHost).toBeUndefined();

    const noUplink = new AppHarness(mode, services());
    noUplink.install(noUplink.app.setRemoteBackends([report()], noUplink.now));
    expect(noUplink.app.locationOf('web', REMOTE.vnic)).toBeUndefined();
  });
});

describe('remote backends in flows mode: the reply guard over the uplink (issue 13)', () => {
  const GUARDED = { name: 'flows', datapath: 'datapath: { nat: flows }' } as unknown as NatModeCase; // reply_guard 5000 by default

  it("a remote connection's SYN-ACK that a stale datapath entry kept from its reverse flow comes up, not untranslated to the client", () => {
    const h = new AppHarness(GUARDED, services(), { uplink: UPLINK });
    h.install(h.app.setRemoteBackends([report()], h.now));
    h.install(h.app.setHealth('web', 'v-vm1', false)); // every new connection goes remote
    expect(delivered(h.send(fromClient(27000)).outcomes).port).toBe(UPLINK.ofport);
    // The datapath acts as if the reverse flow were not there yet (megaflows cached before it: docs/pipeline.md).
    const reverse = h.sent.filter((m): m is FlowMod => m.type === 'flow_mod' && m.tableId === TABLE.REVERSE && m.priority === 1000).at(-1)!;
    expect(reverse.match).toContainEqual({ field: 'in_port', value: UPLINK.ofport });
    h.table.apply({ ...reverse, command: OFPFC_DELETE_STRICT }, h.now / 1000);
    const reply = fieldsOf(fromRemote(27000));
    const up = h.table.process(reply, UPLINK.ofport);
    expect(up).toEqual([expect.objectContaining({ kind: 'controller', tableId: TABLE.REVERSE })]);
    const answer = h.app.packetIn(h.sw, {
      type: 'packet_in', xid: 0, bufferId: 0xffffffff, totalLen: 0, reason: 1, tableId: TABLE.REVERSE,
      cookie: (up[0] as { cookie: bigint }).cookie, match: [{ field: 'in_port', value: UPLINK.ofport }], data: fromRemote(27000),
    }, h.now);
    expect(answer.map((m) => m.type)).toEqual(['flow_mod', 'packet_out']);
    // Sent back through the tables, where the reverse flow is by then: it leaves translated, to the client.
    h.table.apply(reverse, h.now / 1000);
    h.table.apply(answer[0] as FlowMod, h.now / 1000);
    const out = delivered(h.table.executePacketOut(reply, UPLINK.ofport, (answer[1] as PacketOut).actions));
    expect(out).toMatchObject({ port: CLIENT_PORT, fields: { ipv4_src: '10.0.0.100', tcp_src: 80, tcp_dst: 27000 } });
  });
});

describe('remote backends with datapath decisions (conntrack)', () => {
  const datapathServices = services().replace('    scheduler: rr\n', '    scheduler: rr\n    decisions: datapath\n');

  it("the service's select group gets a bucket for the remote backend; its connections leave through the uplink with no packet-in", () => {
    const h = new AppHarness(NAT_MODES[1], datapathServices, { uplink: UPLINK });
    expect(datapathServices).toContain('decisions: datapath');
    h.install(h.app.setRemoteBackends([report()], h.now));
    const where = spread(h, 200, 25000);
    expect(h.packetIns).toBe(0);
    expect(where.get(UPLINK.ofport)).toBeGreaterThan(60);
    expect(where.get(VMS['v-vm1'].ofport)).toBeGreaterThan(60);
    const remoteConn = h.table.connections.find((c) => c.natDst?.ip === REMOTE.ip)!;
    const reply = delivered(h.send(fromRemote(remoteConn.orig.sport), UPLINK.ofport).outcomes);
    expect(reply).toMatchObject({ port: CLIENT_PORT, fields: { ipv4_src: '10.0.0.100', tcp_src: 80 } });
    // Its host fails it: the bucket goes, and new connections stay local.
    h.install(h.app.setRemoteBackends([report({ health: 'down' })], h.now));
    expect(spread(h, 50, 26000).get(UPLINK.ofport)).toBeUndefined();
  });
});
