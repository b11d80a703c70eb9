// Flows NAT mode's own behaviour: a forward and a reverse flow per connection, the pair deleted together,
// half pairs cleaned up after a restart. The behaviour shared with conntrack mode is in behaviour.test.ts.
import { LoadBalancerApp } from '../../../src/app';
import { TABLE } from '../../../src/flows';
import { OFPFC_DELETE, OFPRR_DELETE, OFPRR_IDLE_TIMEOUT } from '../../../src/openflow/constants';
import type { FlowMod } from '../../../src/openflow/types';
import { AppHarness, CLIENT_PORT, delivered, fieldsOf, flowRemovedOf, fromClient, NAT_MODES } from '../../helpers/app-harness';

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

  it('flow statistics mark a TCP connection established once its reply half carried packets', () => {
    const h = new AppHarness(FLOWS);
    h.send(fromClient(47006));
    expect(h.app.connectionRecords()[0].record.state).toBe('inactive');
    h.install(h.app.applyAccounting({ source: 'flow_stats', entries: h.connectionFlowStats(5n) }, h.now));
    expect(h.app.connectionRecords()[0].record.state).toBe('active');
    const backend = h.app.serviceStates()[0].backends.get('v-vm1')!;
    expect([backend.packets, backend.bytes]).toEqual([10, 600]);
  });
});
