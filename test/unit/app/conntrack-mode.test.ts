// Conntrack NAT mode's own behaviour: one packet-out and no flow-mod per connection, connections counted
// from the tracker (or one accounting flow each), and per-backend flows that follow location, health and
// configuration. The behaviour shared with flows mode is in behaviour.test.ts.
import { LoadBalancerApp } from '../../../src/app';
import { TABLE } from '../../../src/flows';
import { OFPRR_IDLE_TIMEOUT } from '../../../src/openflow/constants';
import type { FlowMod } from '../../../src/openflow/types';
import {
  AppHarness, backendYaml, CLIENT_PORT, delivered, flowRemovedOf, fromBackend, fromClient, NAT_MODES, VMS, ZONE,
} from '../../helpers/app-harness';

const CONNTRACK = NAT_MODES[1];
const FLOW_ACCOUNTING = NAT_MODES[2];
const TCP_ACK = 0x10;

/** web (rr) over the given VMs, dns on vm2. */
function services(vms: Array<'v-vm1' | 'v-vm2'> = ['v-vm1', 'v-vm2']): string {
  return `
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    scheduler: rr
    idle_timeout: 30
    backends:
${vms.map((vm) => backendYaml(vm, [8080])).join('\n')}
  - name: dns
    vip: 10.0.0.100
    protocol: udp
    port: 53
    scheduler: rr
    backends:
${backendYaml('v-vm2', [5353])}
`;
}

describe('conntrack mode: the first packet', () => {
  it('is committed to a backend (DNAT to its address and port) and sent out its vNIC, with no flow-mod', () => {
    const h = new AppHarness(CONNTRACK, services());
    const out = delivered(h.send(fromClient(40000)).outcomes);
    expect(out.port).toBe(VMS['v-vm1'].ofport);
    expect(h.flowModsPerPacketIn).toEqual([0]);
    expect(h.table.connections).toHaveLength(1);
    expect(h.table.connections[0]).toMatchObject({ zone: ZONE, natDst: { ip: '10.0.0.11', port: 8080 } });
  });

  it("a backend's own traffic that is not a reply switches normally", () => {
    const h = new AppHarness(CONNTRACK, services());
    expect(h.send(fromBackend('v-vm1', 41000), VMS['v-vm1'].ofport).outcomes.map((o) => o.kind)).toEqual(['normal']);
  });
});

describe('conntrack mode: connections counted from the tracker', () => {
  const backends = (h: AppHarness) => h.app.serviceStates()[0].lb.backends.map((b) => [b.id, b.activeConns, b.inactiveConns]);
  const apply = (h: AppHarness, entries: ReturnType<AppHarness['trackerListing']>, at: number) => h.install(h.app.applyAccounting({ source: 'tracker', entries }, at));

  it('counts a TCP connection active from its first packet (IPVS: SYN_RECV), established at the listing; closes it when the tracker shows it closing or no longer has it', () => {
    const h = new AppHarness(CONNTRACK, services());
    h.send(fromClient(40010));
    h.send(fromClient(40011));
    expect(backends(h)).toEqual([['v-vm1', 1, 0], ['v-vm2', 1, 0]]);
    const established = () => h.app.connectionRecords().map(({ record }) => h.app.serviceStates()[0].lb.connections.lookup(record)!.established);
    expect(established()).toEqual([false, false]);
    const listing = h.trackerListing();
    apply(h, listing, h.now + 100);
    expect(backends(h)).toEqual([['v-vm1', 1, 0], ['v-vm2', 1, 0]]);
    expect(established()).toEqual([true, true]);
    // vm1's connection closes (TIME_WAIT); vm2's is no longer listed but is younger than the grace period.
    apply(h, [{ ...listing[0], state: 'TIME_WAIT' }], h.now + 500);
    expect(backends(h)).toEqual([['v-vm1', 0, 0], ['v-vm2', 1, 0]]);
    // Past the grace period, a connection the tracker does not list is gone.
    apply(h, [], h.now + 5000);
    expect(backends(h)).toEqual([['v-vm1', 0, 0], ['v-vm2', 0, 0]]);
  });

  it('keeps a connection opened while a slow listing was being made: judged by when the listing was asked for', () => {
    const h = new AppHarness(CONNTRACK, services());
    h.send(fromClient(40012));
    const askedAt = h.now;
    const listing = h.trackerListing();
    // Opened just after the listing was asked for: the tracker's snapshot cannot have it.
    h.now = askedAt + 50;
    h.send(fromClient(40013));
    // The listing (100,000 entries) arrives 5 s later, past the 2 s grace.
    h.install(h.app.applyAccounting({ source: 'tracker', entries: listing, askedAt }, askedAt + 5000));
    expect(backends(h)).toEqual([['v-vm1', 1, 0], ['v-vm2', 1, 0]]);
    // The next listing, asked for past the grace and still without it: gone.
    h.install(h.app.applyAccounting({ source: 'tracker', entries: listing, askedAt: askedAt + 5100 }, askedAt + 6000));
    expect(backends(h)).toEqual([['v-vm1', 1, 0], ['v-vm2', 0, 0]]);
  });

  it('a client that reuses the port of an ended connection opens a new one: counted again, and a listing asked for before its SYN (the old TIME_WAIT entry) leaves it', () => {
    // lc: its ends are copied both ways (an rr service's client FIN is not), so the FINs end the connection at once.
    const h = new AppHarness(CONNTRACK, services(['v-vm1']).replace('scheduler: rr', 'scheduler: lc'));
    const FIN_ACK = 0x11;
    h.send(fromClient(40060));
    h.send(fromClient(40060, { flags: FIN_ACK }));
    h.send(fromBackend('v-vm1', 40060, { flags: FIN_ACK }), VMS['v-vm1'].ofport);
    expect(backends(h)).toEqual([['v-vm1', 0, 0]]);
    const askedAt = h.now;
    const oldOne = h.trackerListing('TIME_WAIT');
    h.now = askedAt + 50;
    expect(delivered(h.send(fromClient(40060)).outcomes).port).toBe(VMS['v-vm1'].ofport);
    expect(backends(h)).toEqual([['v-vm1', 1, 0]]);
    h.install(h.app.applyAccounting({ source: 'tracker', entries: oldOne, askedAt }, askedAt + 300));
    expect(backends(h)).toEqual([['v-vm1', 1, 0]]);
    expect(h.app.connectionRecords()).toHaveLength(1);
    // A listing asked for after the SYN that shows the 5-tuple closing is the new connection's end.
    h.install(h.app.applyAccounting({ source: 'tracker', entries: oldOne, askedAt: askedAt + 400 }, askedAt + 500));
    expect(backends(h)).toEqual([['v-vm1', 0, 0]]);
    expect(h.app.connectionRecords()).toHaveLength(0);
  });

  it('ignores tracker entries of another zone (they are not its connections)', () => {
    const h = new AppHarness(CONNTRACK, services());
    h.send(fromClient(40020));
    const [entry] = h.trackerListing();
    apply(h, [{ ...entry, zone: ZONE + 1 }], h.now + 5000);
    expect(h.app.connectionRecords()).toHaveLength(0);
  });

  it('a restart re-tracks only live connections of its zone, with their backend and software port', () => {
    const h = new AppHarness(CONNTRACK, services());
    h.send(fromClient(40030));
    h.send(fromClient(40031));
    const listing = h.trackerListing();
    const config = AppHarness.config(CONNTRACK, services());
    const fresh = new LoadBalancerApp(config.services, { datapath: config.datapath });
    fresh.switchUp(h.sw, h.now);
    fresh.restore(h.sw.dpid, { source: 'tracker', entries: [...listing, { ...listing[0], orig: { ...listing[0].orig, sport: 40099 }, state: 'TIME_WAIT' }, { ...listing[1], zone: 7 }] }, h.now);
    const records = fresh.connectionRecords('web').map((r) => [r.record.clientPort, r.record.backendId, r.record.softwarePort, r.record.state]);
    expect(records).toEqual([[40030, 'v-vm1', 8080, 'active'], [40031, 'v-vm2', 8080, 'active']]);
  });
});

describe('conntrack mode: backend flows follow location, health and configuration', () => {
  const flowsTo = (h: AppHarness, ofport: number) => h.forwardFlows(500).filter((f: FlowMod) =>
    f.instructions.some((i) => i.type === 'apply_actions' && i.actions.some((a) => a.type === 'output' && a.port === ofport)));

  it('a failed backend loses its flow at once (the verdict returns the delete)', () => {
    const h = new AppHarness(CONNTRACK, services());
    expect(flowsTo(h, VMS['v-vm1'].ofport)).toHaveLength(1);
    const verdict = h.app.setHealth('web', 'v-vm1', false);
    expect(verdict.flatMap((b) => b.msgs).map((m) => m.type)).toEqual(['flow_mod']);
    h.install(verdict);
    expect(flowsTo(h, VMS['v-vm1'].ofport)).toHaveLength(0);
    expect(flowsTo(h, VMS['v-vm2'].ofport)).toHaveLength(2); // vm2 serves web and dns
    h.install(h.app.setHealth('web', 'v-vm1', true));
    expect(flowsTo(h, VMS['v-vm1'].ofport)).toHaveLength(1);
  });

  it('a backend whose port moves gets its flow moved', () => {
    const h = new AppHarness(CONNTRACK, services());
    h.sw.ports.delete(VMS['v-vm1'].ofport);
    h.sw.ports.set(7, { ...h.sw.ports.get(CLIENT_PORT)!, portNo: 7, name: 'v-vm1' });
    h.install(h.app.portStatus(h.sw, { type: 'port_status', xid: 0, reason: 0, desc: h.sw.ports.get(7)! }, h.now));
    expect(flowsTo(h, VMS['v-vm1'].ofport)).toHaveLength(0);
    expect(flowsTo(h, 7)).toHaveLength(1);
  });

  it('a backend taken out of the configuration keeps its established connection until it ends', () => {
    const h = new AppHarness(CONNTRACK, services());
    h.send(fromClient(40050)); // vm1
    h.send(fromBackend('v-vm1', 40050), VMS['v-vm1'].ofport);
    h.install(h.app.setServices(AppHarness.config(CONNTRACK, services(['v-vm2'])).services, h.now));
    expect(delivered(h.send(fromClient(40050, { flags: TCP_ACK })).outcomes).port).toBe(VMS['v-vm1'].ofport);
    expect(delivered(h.send(fromClient(40051)).outcomes).port).toBe(VMS['v-vm2'].ofport);
    expect(flowsTo(h, VMS['v-vm1'].ofport)).toHaveLength(1);
    // The connection ends: the retired backend's flow goes with it.
    h.install(h.app.applyAccounting({ source: 'tracker', entries: h.trackerListing('TIME_WAIT') }, h.now + 5000));
    expect(flowsTo(h, VMS['v-vm1'].ofport)).toHaveLength(0);
    expect(flowsTo(h, VMS['v-vm2'].ofport)).toHaveLength(2);
  });
});

describe('conntrack mode with flow accounting', () => {
  it('adds one accounting flow per connection; its removal ends the connection', () => {
    const h = new AppHarness(FLOW_ACCOUNTING, services());
    h.send(fromClient(40060));
    expect(h.flowModsPerPacketIn).toEqual([1]);
    h.send(fromBackend('v-vm1', 40060), VMS['v-vm1'].ofport);
    const accounting = h.table.flows(TABLE.FORWARD).filter((f) => f.priority === 1000);
    expect(accounting).toHaveLength(1);
    // The established packets now count on the accounting flow, and still reach the backend.
    expect(delivered(h.send(fromClient(40060, { flags: TCP_ACK })).outcomes).port).toBe(VMS['v-vm1'].ofport);
    expect(h.table.packetCount(accounting[0])).toBe(1);
    expect(h.app.connectionRecords('web')).toHaveLength(1);
    h.install(h.app.flowRemoved(h.sw, flowRemovedOf(accounting[0], OFPRR_IDLE_TIMEOUT, 1n), h.now));
    expect(h.app.connectionRecords('web')).toHaveLength(0);
  });
});
