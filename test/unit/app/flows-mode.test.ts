// Flows NAT mode's own behaviour: a forward and a reverse flow per connection, the pair deleted together,
// half pairs cleaned up after a restart. The behaviour shared with conntrack mode is in behaviour.test.ts.
import { LoadBalancerApp } from '../../../src/app';
import { TABLE } from '../../../src/flows';
import { REPLY_GUARD_METER_ID } from '../../../src/flows/reply-guard';
import { createReplyGuard } from '../../../src/app/nat/reply-guard';
import { checkFlow, makeCookie, parseCookie, PRIORITY, vadcPipeline, vadcTables } from '../../../src/flows';
import { OFPFC_ADD, OFPFC_DELETE, OFPFC_DELETE_STRICT, OFPP_LOCAL, OFPRR_DELETE, OFPRR_IDLE_TIMEOUT } from '../../../src/openflow/constants';
import type { FlowMod, MeterMod, PacketOut } from '../../../src/openflow/types';
import { FakeDatapathCache } from '../../helpers/fake-flow-table';
import {
  AppHarness, CLIENT_PORT, delivered, fieldsOf, flowRemovedOf, CLIENT6, fromBackend, fromBackend6, fromClient, fromClient6, ipv6Services, LOCAL_MAC, NAT_MODES, VMS,
} from '../../helpers/app-harness';

const FLOWS = NAT_MODES[0];

describe('flows mode', () => {
  it('answers a new connection with its forward and reverse flow, then the packet resubmitted through them', () => {
    const h = new AppHarness(FLOWS);
    delivered(h.send(fromClient(47000)).outcomes);
    expect(h.flowModsPerPacketIn).toEqual([2]);
    expect(h.sent.slice(-3).map((m) => [m.type, m.type === 'flow_mod' ? m.tableId : '-'])).toEqual([['flow_mod', TABLE.FORWARD], ['flow_mod', TABLE.REVERSE], ['packet_out', '-']]);
  });

  it('a flow-removed of the forward flow deletes the reverse half too; one removed by a delete needs nothing more', () => {
    const h = new AppHarness(FLOWS);
    h.send(fromClient(47001));
    const fwd = h.forwardFlows(1000)[0];
    const out = h.app.flowRemoved(h.sw, flowRemovedOf(fwd, OFPRR_IDLE_TIMEOUT), h.now).flatMap((b) => b.msgs);
    expect(out).toEqual([expect.objectContaining({ type: 'flow_mod', command: OFPFC_DELETE, cookie: fwd.cookie })]);
    expect(h.app.connectionRecords()).toHaveLength(0);
    h.send(fromClient(47002));
    const second = h.forwardFlows(1000).find((f) => f.cookie !== fwd.cookie)!;
    expect(h.app.flowRemoved(h.sw, flowRemovedOf(second, OFPRR_DELETE), h.now).flatMap((b) => b.msgs)).toEqual([]);
  });

  it('a reverse flow idled out after the backend\'s FIN (its idle timeout cut by fin_timeout) ends the connection; one idled out at full length does not', () => {
    const h = new AppHarness(FLOWS);
    h.send(fromClient(47010));
    const reverse = h.sent.filter((m) => m.type === 'flow_mod' && m.tableId === TABLE.REVERSE).at(-1) as FlowMod;
    // One-way traffic: the reverse half idled out at the service's idle timeout; the forward half keeps the connection.
    expect(h.app.flowRemoved(h.sw, flowRemovedOf(reverse, OFPRR_IDLE_TIMEOUT), h.now).flatMap((b) => b.msgs)).toEqual([]);
    // OVS reports the idle timeout fin_timeout left it: the backend closed or reset the connection.
    const cut = { ...flowRemovedOf(reverse, OFPRR_IDLE_TIMEOUT), idleTimeout: 1 };
    expect(h.app.flowRemoved(h.sw, cut, h.now).flatMap((b) => b.msgs)).toEqual([expect.objectContaining({ type: 'flow_mod', command: OFPFC_DELETE, cookie: reverse.cookie })]);
    // The delete takes the forward half, whose removal closes the connection.
    expect(h.app.connectionRecords()).toHaveLength(1);
    const forward = h.forwardFlows(1000).find((f) => f.cookie === reverse.cookie)!;
    h.app.flowRemoved(h.sw, flowRemovedOf(forward, OFPRR_DELETE), h.now);
    expect(h.app.connectionRecords()).toHaveLength(0);
  });

  describe('the datapath cache: a connection costs one packet-in', () => {
    const TCP = { SYN: 0x02, ACK: 0x10, PSH_ACK: 0x18 };

    it('the client\'s ACK and data after the decision take the new forward flow, not the SYN\'s cached way to the controller', () => {
      const h = new AppHarness(FLOWS);
      h.datapath = new FakeDatapathCache(h.table);
      const first = delivered(h.send(fromClient(47100)).outcomes);
      expect(h.packetIns).toBe(1);
      // The revalidators have not caught up with the connection's flows: the SYN's cache entry is still there.
      for (const flags of [TCP.ACK, TCP.PSH_ACK, TCP.ACK]) {
        const out = h.send(fromClient(47100, { flags })).outcomes;
        expect(out.map((o) => o.kind)).toEqual(['output']);
        const { port, fields } = delivered(out);
        expect([port, fields.ipv4_dst, fields.tcp_dst, fields.tcp_flags]).toEqual([first.port, first.fields.ipv4_dst, first.fields.tcp_dst, flags]);
      }
      expect(h.packetIns).toBe(1);
      expect(h.datapath.upcalls).toBe(2);
      expect(h.app.serviceStates()[0]).toMatchObject({ decisions: 1, repeats: 0 });
    });

    it('an IPv6 service brings the IPv6 SYN flow: its client\'s ACK after the decision takes the forward flow too', () => {
      const h = new AppHarness(FLOWS, ipv6Services());
      h.datapath = new FakeDatapathCache(h.table);
      const first = delivered(h.send(fromClient6(47110)).outcomes);
      const out = h.send(fromClient6(47110, { flags: TCP.ACK })).outcomes;
      expect(out.map((o) => o.kind)).toEqual(['output']);
      expect(delivered(out).port).toBe(first.port);
      expect(delivered(out).fields.ipv6_dst).toBe(first.fields.ipv6_dst);
      expect(h.packetIns).toBe(1);
      expect(h.table.flows(TABLE.FORWARD).filter((f) => f.priority === PRIORITY.NEW_CONNECTION.min).map((f) => f.match[0])).toEqual([
        { field: 'eth_type', value: 0x0800 }, { field: 'eth_type', value: 0x86dd },
      ]);
    });

    it('a retransmitted SYN and another connection\'s SYN still come up: the first is resubmitted, the second decided', () => {
      const h = new AppHarness(FLOWS);
      h.datapath = new FakeDatapathCache(h.table);
      const first = delivered(h.send(fromClient(47101)).outcomes);
      expect(delivered(h.send(fromClient(47101)).outcomes)).toEqual(first);
      expect(h.flowModsPerPacketIn).toEqual([2, 0]);
      delivered(h.send(fromClient(47102)).outcomes);
      expect(h.flowModsPerPacketIn).toEqual([2, 0, 2]);
      expect(h.app.connectionRecords()).toHaveLength(2);
      // The status says which packet-ins were decisions and which repeats (the bench's breakdown).
      expect(h.app.serviceStates()[0]).toMatchObject({ decisions: 2, repeats: 1, guardedReplies: 0 });
    });

    it('the SYN has a table-1 flow of its own in flows mode, below every connection flow and checked against the pipeline', () => {
      const h = new AppHarness(FLOWS);
      const syn = h.table.flows(TABLE.FORWARD).filter((f) => f.priority === PRIORITY.NEW_CONNECTION.min);
      expect(syn).toEqual([expect.objectContaining({ cookie: makeCookie('pipeline') })]);
      expect(syn[0].match).toEqual([
        { field: 'eth_type', value: 0x0800 }, { field: 'ip_proto', value: 6 }, { field: 'tcp_flags', value: TCP.SYN, mask: TCP.SYN | TCP.ACK },
      ]);
      expect(PRIORITY.NEW_CONNECTION.min).toBeLessThan(PRIORITY.CONNECTION.min);
    });
  });

  describe('reply guard (datapath.reply_guard)', () => {
    const GUARDED = { name: 'flows', datapath: 'datapath: { nat: flows, reply_guard: 5000 }' } as unknown as typeof FLOWS;
    const TCP = { SYN_ACK: 0x12, ACK: 0x10, PSH_ACK: 0x18 };
    /** A connection's SYN-ACK as the datapath saw it while a stale cache entry hid its reverse flow (the flow taken away). */
    function staleSynAck(h: AppHarness, clientPort: number) {
      h.send(fromClient(clientPort));
      const reverse = h.sent.filter((m): m is FlowMod => m.type === 'flow_mod' && m.tableId === TABLE.REVERSE && m.priority === 1000).at(-1)!;
      const inPortOxm = reverse.match.find((m) => m.field === 'in_port');
      const backend = inPortOxm && inPortOxm.field !== 'raw' ? Number(inPortOxm.value) : NaN;
      const vm = (Object.keys(VMS) as (keyof typeof VMS)[]).find((k) => VMS[k].ofport === backend)!;
      h.table.apply({ ...reverse, command: OFPFC_DELETE_STRICT }, h.now / 1000);
      return { reverse, backend, frame: fromBackend(vm, clientPort) };
    }

    it('a SYN-ACK no connection flow took comes up and goes back through the tables: translated once the reverse flow is there', () => {
      const h = new AppHarness(GUARDED);
      const { reverse, backend, frame } = staleSynAck(h, 47020);
      const reply = fieldsOf(frame);
      const up = h.table.process(reply, backend);
      expect(up).toEqual([expect.objectContaining({ kind: 'controller', tableId: TABLE.REVERSE })]);
      const answer = h.app.packetIn(h.sw, {
        type: 'packet_in', xid: 0, bufferId: 0xffffffff, totalLen: frame.length, reason: 1, tableId: TABLE.REVERSE,
        cookie: (up[0] as { cookie: bigint }).cookie, match: [{ field: 'in_port', value: backend }], data: frame,
      }, h.now);
      expect(answer).toEqual([expect.objectContaining({ type: 'flow_mod', priority: 900 }), expect.objectContaining({ type: 'packet_out', inPort: backend })]);
      expect(h.app.serviceStates()[0]).toMatchObject({ decisions: 1, repeats: 0, guardedReplies: 1 });
      // By the time the packet-out runs, the reverse flow is in the tables, above the direct-reply flow of the same
      // 5-tuple: the reply leaves translated, to the client.
      h.table.apply(reverse, h.now / 1000);
      h.table.apply(answer[0] as FlowMod, h.now / 1000);
      const out = delivered(h.table.executePacketOut(reply, backend, (answer[1] as PacketOut).actions));
      expect(out.port).toBe(CLIENT_PORT);
      expect(out.fields.ipv4_src).toBe('10.0.0.100');
    });

    it('a SYN-ACK of no connection comes up once, leaves an exact direct-reply flow, then goes NORMAL; the guard goes through one meter of its own', () => {
      const h = new AppHarness(GUARDED);
      const vm1 = VMS['v-vm1'].ofport;
      const other = h.send(fromBackend('v-vm1', 40000), vm1);
      expect(h.packetIns).toBe(1);
      expect(other.outcomes.map((o) => o.kind)).toEqual(['normal']);
      expect(other.outcomes[0].kind === 'normal' && other.outcomes[0].fields.ipv4_src).toBe(VMS['v-vm1'].ip);
      // The direct connection gets an exact flow (so the datapath caches exact entries for it, never a wildcarded
      // "backend -> client: NORMAL" that a later VIP connection's segments would meet), idling out after 10 s.
      const direct = h.sent.filter((m): m is FlowMod => m.type === 'flow_mod' && m.priority === 900);
      expect(direct).toEqual([expect.objectContaining({ tableId: TABLE.REVERSE, idleTimeout: 10 })]);
      expect(direct[0].match).toEqual([
        { field: 'in_port', value: vm1 }, { field: 'eth_type', value: 0x0800 }, { field: 'ip_proto', value: 6 },
        { field: 'ipv4_src', value: VMS['v-vm1'].ip }, { field: 'ipv4_dst', value: '10.0.0.101' }, { field: 'tcp_src', value: 8080 }, { field: 'tcp_dst', value: 40000 },
      ]);
      // Its next segments stay in the datapath.
      expect(h.send(fromBackend('v-vm1', 40000, { flags: TCP.ACK }), vm1).outcomes.map((o) => o.kind)).toEqual(['normal']);
      expect(h.packetIns).toBe(1);
      const guards = h.sent.filter((m): m is FlowMod => m.type === 'flow_mod' && m.priority === 600);
      expect(guards.length).toBeGreaterThan(0);
      const meterIds = new Set(guards.flatMap((g) => g.instructions.flatMap((i) => (i.type === 'apply_actions' ? i.actions : []))
        .map((a) => (a.type === 'nx_controller2' ? a.meterId : undefined))));
      expect([...meterIds]).toEqual([REPLY_GUARD_METER_ID]);
      const meter = h.sent.filter((m): m is MeterMod => m.type === 'meter_mod' && m.meterId === REPLY_GUARD_METER_ID).at(-1)!;
      expect(meter.bands).toEqual([expect.objectContaining({ type: 'drop', rate: 5000 })]);
    });

    it('an IPv6 direct connection\'s SYN-ACK gets its exact direct-reply flow too', () => {
      const guard = createReplyGuard(5000, vadcTables(0));
      const [flow, out] = guard.passOn(fromBackend6('v-vm2', 40003), VMS['v-vm2'].ofport, 7);
      expect(out).toEqual(expect.objectContaining({ type: 'packet_out', inPort: VMS['v-vm2'].ofport }));
      expect(flow).toEqual(expect.objectContaining({ type: 'flow_mod', priority: 900, cookie: makeCookie('service', 7) }));
      expect((flow as FlowMod).match).toEqual([
        { field: 'in_port', value: VMS['v-vm2'].ofport }, { field: 'eth_type', value: 0x86dd }, { field: 'ip_proto', value: 6 },
        { field: 'ipv6_src', value: VMS['v-vm2'].ip6 }, { field: 'ipv6_dst', value: CLIENT6 }, { field: 'tcp_src', value: 8080 }, { field: 'tcp_dst', value: 40003 },
      ]);
      expect(checkFlow(flow as FlowMod, vadcPipeline(0))).toEqual([]);
    });

    it('only a SYN-ACK comes up: a backend\'s ACKs and data of no connection go NORMAL without vadc', () => {
      const h = new AppHarness(GUARDED);
      const vm1 = VMS['v-vm1'].ofport;
      for (const flags of [TCP.ACK, TCP.PSH_ACK]) {
        const out = h.send(fromBackend('v-vm1', 40001, { flags }), vm1);
        expect(out.outcomes.map((o) => o.kind)).toEqual(['normal']);
      }
      expect(h.packetIns).toBe(0);
    });

    it('replies to the host (the bridge\'s LOCAL MAC: health checks) never come up, SYN-ACKs included', () => {
      const h = new AppHarness(GUARDED);
      const out = h.send(fromBackend('v-vm1', 40002, { dstMac: LOCAL_MAC }), VMS['v-vm1'].ofport);
      expect(out.outcomes.map((o) => o.kind)).toEqual(['normal']);
      expect(h.packetIns).toBe(0);
    });

    it('follows the LOCAL port\'s MAC: a changed one is exempted and the old one taken back', () => {
      const h = new AppHarness(GUARDED);
      const changed = '02:00:00:00:00:aa';
      h.sw.ports.set(OFPP_LOCAL, { ...h.sw.ports.get(OFPP_LOCAL)!, hwAddr: changed });
      const msgs = h.app.portStatus(h.sw, { type: 'port_status', xid: 0, reason: 2, desc: h.sw.ports.get(OFPP_LOCAL)! }, h.now).flatMap((b) => b.msgs);
      expect(msgs).toEqual([
        expect.objectContaining({ type: 'flow_mod', command: OFPFC_DELETE_STRICT, priority: 700, match: [{ field: 'eth_dst', value: LOCAL_MAC }] }),
        expect.objectContaining({ type: 'flow_mod', command: OFPFC_ADD, priority: 700, match: [{ field: 'eth_dst', value: changed }] }),
      ]);
      // Nothing changed: nothing sent.
      expect(h.app.portStatus(h.sw, { type: 'port_status', xid: 0, reason: 2, desc: h.sw.ports.get(OFPP_LOCAL)! }, h.now).flatMap((b) => b.msgs)).toEqual([]);
    });

    it('off with reply_guard: 0: no guard flows, no meter, a stale SYN-ACK goes NORMAL', () => {
      const h = new AppHarness({ name: 'flows', datapath: 'datapath: { nat: flows, reply_guard: 0 }' } as unknown as typeof FLOWS);
      expect(h.sent.some((m) => (m.type === 'flow_mod' && (m.priority === 600 || m.priority === 700)) || (m.type === 'meter_mod' && m.meterId === REPLY_GUARD_METER_ID))).toBe(false);
      const { backend, frame } = staleSynAck(h, 47021);
      expect(h.table.process(fieldsOf(frame), backend).map((o) => o.kind)).toEqual(['normal']);
    });
  });

  it('the next packet of a connection stays in the datapath', () => {
    const h = new AppHarness(FLOWS);
    h.send(fromClient(47003));
    const again = h.table.process(fieldsOf(fromClient(47003, { flags: 0x10 })), CLIENT_PORT, h.now / 1000);
    expect(again.some((o) => o.kind === 'controller')).toBe(false);
  });

  it('after a restart, a half pair (forward flow without its reverse) is deleted, not re-tracked', () => {
    const h = new AppHarness(FLOWS);
    h.send(fromClient(47004));
    h.send(fromClient(47005));
    const stats = h.connectionFlowStats();
    const halfCookie = stats.find((s) => s.tableId === TABLE.FORWARD)!.cookie;
    const withoutOneReverse = stats.filter((s) => !(s.cookie === halfCookie && s.tableId === TABLE.REVERSE));
    const config = AppHarness.config(FLOWS);
    const events: string[] = [];
    const fresh = new LoadBalancerApp(config.services, { emit: (e) => events.push(e.message) });
    fresh.switchUp(h.sw, h.now);
    const cleanup = fresh.restore(h.sw.dpid, { source: 'flow_stats', entries: withoutOneReverse }, h.now).flatMap((b) => b.msgs);
    expect(cleanup).toEqual([expect.objectContaining({ type: 'flow_mod', command: OFPFC_DELETE, cookie: halfCookie })]);
    expect(fresh.connectionRecords()).toHaveLength(1);
    expect(events).toContain("re-tracked 1 established connection(s) from the switch's flows, removed 1 half pair(s)");
  });

  it('after a restart, a new connection takes an id past every connection id the switch holds', () => {
    const h = new AppHarness(FLOWS);
    for (let port = 47010; port < 47015; port++) h.send(fromClient(port));
    const stats = h.connectionFlowStats();
    const highest = Math.max(...stats.map((s) => parseCookie(s.cookie)!.connectionId));
    const restarted = new AppHarness(FLOWS);
    restarted.app.restore(restarted.sw.dpid, { source: 'flow_stats', entries: stats }, restarted.now);
    expect(restarted.app.connectionRecords()).toHaveLength(5);
    const before = restarted.sent.length;
    restarted.send(fromClient(47020));
    const ids = restarted.sent.slice(before).filter((m): m is FlowMod => m.type === 'flow_mod').map((m) => parseCookie(m.cookie)!.connectionId);
    expect(ids.length).toBeGreaterThan(0);
    expect(Math.min(...ids)).toBe(highest + 1);
  });

  it('a restore does not re-track a connection whose flow went after its reading was asked for (removed before the import)', () => {
    const h = new AppHarness(FLOWS);
    h.send(fromClient(47030));
    h.send(fromClient(47031));
    const listing = h.connectionFlowStats();
    const [endedForward] = h.forwardFlows(1000);
    const fresh = new LoadBalancerApp(AppHarness.config(FLOWS).services, { emit: () => undefined });
    fresh.switchUp(h.sw, h.now);
    const askedAt = h.now;
    // The connection idles out after the switch made the listing; its flow_removed is handled before the import.
    fresh.flowRemoved(h.sw, flowRemovedOf(endedForward, OFPRR_IDLE_TIMEOUT), askedAt + 5);
    fresh.restore(h.sw.dpid, { source: 'flow_stats', entries: listing, askedAt }, askedAt + 10);
    const clientPorts = fresh.connectionRecords().map((r) => r.record.clientPort);
    expect(clientPorts).toHaveLength(1);
    expect(endedForward.match).not.toContainEqual({ field: 'tcp_src', value: clientPorts[0] });
    // A removal seen before the reading was asked for says nothing of what it lists (that flow was gone before it).
    const later = new LoadBalancerApp(AppHarness.config(FLOWS).services, { emit: () => undefined });
    later.switchUp(h.sw, h.now);
    later.flowRemoved(h.sw, flowRemovedOf(endedForward, OFPRR_IDLE_TIMEOUT), askedAt - 1);
    later.restore(h.sw.dpid, { source: 'flow_stats', entries: listing, askedAt }, askedAt + 10);
    expect(later.connectionRecords()).toHaveLength(2);
  });

  it('flow statistics mark a TCP connection established once its reply half carried packets (it counts active from its SYN)', () => {
    const h = new AppHarness(FLOWS);
    h.send(fromClient(47006));
    const { record } = h.app.connectionRecords()[0];
    const lb = h.app.serviceStates()[0].lb;
    expect(lb.connections.lookup(record)).toMatchObject({ state: 'active', established: false });
    h.install(h.app.applyAccounting({ source: 'flow_stats', entries: h.connectionFlowStats(5n) }, h.now));
    expect(lb.connections.lookup(record)).toMatchObject({ state: 'active', established: true });
    const backend = h.app.serviceStates()[0].backends.get('v-vm1')!;
    expect([backend.packets, backend.bytes]).toEqual([10, 600]);
  });
  describe('a known connection whose flows are gone (the resubmit would come straight back up)', () => {
    const TCP = { SYN: 0x02, ACK: 0x10, PSH_ACK: 0x18 };
    type Vm = keyof typeof VMS;
    const vmAt = (ofport: number) => (Object.keys(VMS) as Vm[]).find((k) => VMS[k].ofport === ofport)!;
    /** Every connection flow taken out of the switch, with no flow_removed to the app (a delete it did not see end). */
    function dropConnectionFlows(h: AppHarness): void {
      const gone = h.table.flows().filter((f) => parseCookie(f.cookie)?.kind === 'connection');
      expect(gone.length).toBeGreaterThanOrEqual(2);
      for (const f of gone) h.table.apply({ ...f, command: OFPFC_DELETE_STRICT }, h.now / 1000);
    }
    const cases = [
      {
        name: 'an IPv4 TCP segment', services: undefined, first: (p: number) => fromClient(p), next: (p: number, flags: number) => fromClient(p, { flags }),
        reply: (vm: Vm, p: number, port: number) => fromBackend(vm, p, { backendPort: port, flags: TCP.ACK }),
        leaves: { ipv4_src: '10.0.0.100', tcp_src: 80 },
      },
      {
        name: 'a retransmitted IPv4 SYN', services: undefined, first: (p: number) => fromClient(p), next: (p: number) => fromClient(p),
        reply: (vm: Vm, p: number, port: number) => fromBackend(vm, p, { backendPort: port }),
        leaves: { ipv4_src: '10.0.0.100', tcp_src: 80 },
      },
      {
        name: 'an IPv4 UDP datagram', services: undefined, first: (p: number) => fromClient(p, { proto: 'udp' }), next: (p: number) => fromClient(p, { proto: 'udp' }),
        reply: (vm: Vm, p: number, port: number) => fromBackend(vm, p, { proto: 'udp', backendPort: port }),
        leaves: { ipv4_src: '10.0.0.100', udp_src: 53 },
      },
      {
        name: 'an IPv6 TCP segment', services: ipv6Services(), first: (p: number) => fromClient6(p), next: (p: number, flags: number) => fromClient6(p, { flags }),
        reply: (vm: Vm, p: number, port: number) => fromBackend6(vm, p, { backendPort: port, flags: TCP.ACK }),
        leaves: { ipv6_src: 'fd00::100', tcp_src: 80 },
      },
    ];

    it.each(cases)('$name reaches its backend with at most one more packet-in, and the connection has its flows again', (c) => {
      const h = new AppHarness(FLOWS, c.services);
      // What the switch does with a resubmit no flow takes: it comes up again (bounded here; OVS never stops).
      h.followPacketIns = 8;
      const clientPort = 47300;
      const first = delivered(h.send(c.first(clientPort)).outcomes);
      dropConnectionFlows(h);
      const before = h.packetIns;
      const again = delivered(h.send(c.next(clientPort, TCP.ACK)).outcomes);
      expect(h.packetIns - before).toBeLessThanOrEqual(2);
      // The same backend and software port as before (the connection's placement, not a new decision).
      expect([again.port, again.fields.eth_dst, again.fields.ipv4_dst ?? again.fields.ipv6_dst, again.fields.tcp_dst ?? again.fields.udp_dst])
        .toEqual([first.port, first.fields.eth_dst, first.fields.ipv4_dst ?? first.fields.ipv6_dst, first.fields.tcp_dst ?? first.fields.udp_dst]);
      expect(h.app.connectionRecords()).toHaveLength(1);
      expect(h.app.serviceStates().reduce((n, s) => n + s.decisions, 0)).toBe(1);
      expect(h.app.serviceStates().reduce((n, s) => n + s.flowsResent, 0)).toBe(1);
      // Its flows are back: the next packet stays in the datapath, and the backend's answer reaches the client translated.
      const settled = h.packetIns;
      expect(delivered(h.send(c.next(clientPort, TCP.PSH_ACK)).outcomes).port).toBe(first.port);
      const backendPort = Number(first.fields.tcp_dst ?? first.fields.udp_dst);
      const answer = delivered(h.send(c.reply(vmAt(first.port), clientPort, backendPort), first.port).outcomes);
      expect(answer.port).toBe(CLIENT_PORT);
      expect(answer.fields).toMatchObject(c.leaves);
      expect(h.packetIns).toBe(settled);
    });

    it('a stale datapath cache entry of a connection whose flows are there still costs no flow-mod', () => {
      const h = new AppHarness(FLOWS);
      h.datapath = new FakeDatapathCache(h.table);
      h.followPacketIns = 8;
      const first = delivered(h.send(fromClient(47310)).outcomes);
      // The SYN's cached way up takes its retransmission: the resubmit meets the connection's flows in the tables.
      expect(delivered(h.send(fromClient(47310)).outcomes)).toEqual(first);
      expect(h.flowModsPerPacketIn).toEqual([2, 0]);
      expect(h.packetIns).toBe(2);
      expect(h.app.serviceStates()[0]).toMatchObject({ repeats: 1, flowsResent: 0 });
    });

    it('flows the switch never takes: three packet-ins at most, then the connection is forgotten and its next segment refused', () => {
      const h = new AppHarness(FLOWS);
      h.followPacketIns = 8;
      h.send(fromClient(47320));
      dropConnectionFlows(h);
      // From now on the switch refuses every flow-mod (a full table, say): the app's flows never arrive.
      h.answer = (packetIn) => h.app.packetIn(h.sw, packetIn, h.now).filter((m) => m.type !== 'flow_mod');
      const before = h.packetIns;
      const { outcomes } = h.send(fromClient(47320, { flags: TCP.ACK }));
      expect(outcomes.filter((o) => o.kind === 'controller')).toEqual([]);
      expect(h.packetIns - before).toBeLessThanOrEqual(3);
      expect(h.app.connectionRecords()).toHaveLength(0);
      // The client's retransmission is a segment of an unknown connection: a RST, one packet-in.
      const retry = h.send(fromClient(47320, { flags: TCP.ACK }));
      expect(retry.replies.map((po) => po.actions)).toEqual([[expect.objectContaining({ type: 'output', port: CLIENT_PORT })]]);
      expect(Number(fieldsOf(retry.replies[0].data).tcp_flags) & 0x04).toBe(0x04);
    });
  });
});
