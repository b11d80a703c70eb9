// A client that opens a new connection from the source port of one that has ended (Linux reuses a port at once when
// the server closed first, and a bind-before-connect client picks ports at random) must be placed like any new
// connection when the backend of the ended one no longer serves: removed from the service, or down. In flows mode
// the ended connection's flow pair stays in the switch until it idles out (fin_timeout is off by default), and a SYN
// that meets its forward flow never comes up to vadc. Seen once as a retried e2e (schedulers.e2e, mh, flows mode:
// after vm3 was removed one client was still answered by vm3).
import { Backend } from '../../../src/lb';
import { OFPFC_DELETE, OFPP_LOCAL } from '../../../src/openflow/constants';
import type { FlowMod } from '../../../src/openflow/types';
import { AppHarness, delivered, fakeSwitch, fromBackend, fromClient, NAT_MODES, openTcp as open, VMS, webOver, type VmName } from '../../helpers/app-harness';

const FIN_ACK = 0x11;
const ACK = 0x10;

const ALL: VmName[] = ['v-vm1', 'v-vm2', 'v-vm3'];

/**
 * Both sides' FINs: the connection has ended (its flows stay until they idle out). With the tracker counting, an rr
 * service's client FIN is not copied (the next poll shows the end): that reading comes too, listing this connection
 * closing and the others as they are.
 */
function end(h: AppHarness, clientPort: number, vm: VmName, reading = true): void {
  h.send(fromClient(clientPort, { flags: FIN_ACK }));
  h.send(fromBackend(vm, clientPort, { flags: FIN_ACK }), VMS[vm].ofport);
  h.send(fromClient(clientPort, { flags: ACK }));
  if (!reading || h.app.accountingSource !== 'tracker') return;
  const entries = h.trackerListing().map((e) => (e.orig.sport === clientPort ? { ...e, state: 'TIME_WAIT' } : e));
  h.install(h.app.applyAccounting({ source: 'tracker', entries }, h.now));
}

describe.each(NAT_MODES.map((m) => [m.name, m] as const))('a client port reused after its connection ended, %s mode', (_name, mode) => {
  it('reaches a serving backend after the old backend was removed from the service', () => {
    const h = new AppHarness(mode, webOver(ALL));
    const old = open(h, 40002);
    end(h, 40002, old);
    h.now += 1000;
    const rest = ALL.filter((vm) => vm !== old);
    h.install(h.app.setServices(AppHarness.config(mode, webOver(rest)).services, h.now));
    const again = delivered(h.send(fromClient(40002)).outcomes).port;
    expect(rest.map((vm) => VMS[vm].ofport)).toContain(again);
  });

  it("forgets only the ended connections: an established one on the removed backend keeps its way", () => {
    const h = new AppHarness(mode, webOver(['v-vm1', 'v-vm2']));
    expect([open(h, 40002), open(h, 40003), open(h, 40004)]).toEqual(['v-vm1', 'v-vm2', 'v-vm1']);
    end(h, 40002, 'v-vm1');
    h.now += 1000;
    h.install(h.app.setServices(AppHarness.config(mode, webOver(['v-vm2'])).services, h.now));
    expect(delivered(h.send(fromClient(40004, { flags: ACK })).outcomes).port).toBe(VMS['v-vm1'].ofport);
    expect(delivered(h.send(fromClient(40002)).outcomes).port).toBe(VMS['v-vm2'].ofport);
  });

  it('goes to the old backend while it still serves (a backend holding the old connection in TIME_WAIT sorts it out)', () => {
    const h = new AppHarness(mode, webOver(ALL));
    const old = open(h, 40005);
    // Before the tracker's next reading (after it, the old connection is forgotten and the SYN is placed afresh).
    end(h, 40005, old, false);
    h.now += 1000;
    expect(delivered(h.send(fromClient(40005)).outcomes).port).toBe(VMS[old].ofport);
  });

  it('reaches a serving backend after the old backend went down', () => {
    const h = new AppHarness(mode, webOver(ALL));
    const old = open(h, 40003);
    end(h, 40003, old);
    h.now += 1000;
    h.install(h.app.setHealth('web', old, false));
    const again = delivered(h.send(fromClient(40003)).outcomes).port;
    expect(ALL.filter((vm) => vm !== old).map((vm) => VMS[vm].ofport)).toContain(again);
  });
});

describe('which backends stopped, looked at only when it can have changed (flows mode)', () => {
  const flows = NAT_MODES[0];

  it('an input that changes no backend (a load sample, a reading) does not ask every backend again; a weight does', () => {
    const h = new AppHarness(flows, webOver(ALL));
    const asked = jest.spyOn(Backend.prototype, 'takesNew');
    try {
      h.install(h.app.feedLoad('web', 'v-vm1', { at: h.now, rxPackets: 10, txPackets: 10, txDropped: 0 }));
      h.install(h.app.applyAccounting({ source: 'flow_stats', entries: [] }, h.now));
      expect(asked).not.toHaveBeenCalled();
      h.install(h.app.setWeight('web', 'v-vm2', 0));
      expect(asked).toHaveBeenCalled();
    } finally {
      asked.mockRestore();
    }
  });

  it("forgets a stopped backend's ended connections on its own switch only, not on every connected switch", () => {
    const h = new AppHarness(flows, webOver(ALL));
    // A second switch with none of the VMs: the backends' connections are all on the harness's switch.
    const other = fakeSwitch(0xdefn);
    for (const portNo of [...other.ports.keys()]) if (portNo !== OFPP_LOCAL) other.ports.delete(portNo);
    h.app.switchUp(other, h.now);
    const old = open(h, 40006);
    end(h, 40006, old);
    h.now += 1000;
    const batches = h.app.setHealth('web', old, false);
    const forgets = (dpid: bigint): FlowMod[] => (batches.find((b) => b.dpid === dpid)?.msgs ?? [])
      .filter((m): m is FlowMod => m.type === 'flow_mod' && m.command === OFPFC_DELETE && m.match.some((f) => f.field === 'tcp_src' && f.value === 40006));
    expect(forgets(h.sw.dpid)).toHaveLength(1);
    expect(forgets(other.dpid)).toEqual([]);
    h.install(batches.filter((b) => b.dpid === h.sw.dpid));
    expect(ALL.filter((vm) => vm !== old).map((vm) => VMS[vm].ofport)).toContain(delivered(h.send(fromClient(40006)).outcomes).port);
  });
});
