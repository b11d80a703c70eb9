// A vadc restarted with a configuration that lost a service finds the earlier run's flows of it on the switch (its
// service, connection, backend flows: they stay while vadc is away). The daemon reads the switch's service flows on
// connect and hands the ids to app.serviceFlowsFound: every flow of an id no configured service has goes, by the
// cookie's service bits; the services still configured keep theirs, their live connections' flows too.
import { LoadBalancerApp, serviceIds } from '../../../src/app';
import { parseCookie } from '../../../src/flows';
import { AppHarness, defaultServices, delivered, fromClient, NAT_MODES, webOver } from '../../helpers/app-harness';

/** The service ids the flows on the switch carry (pipeline and VIP flows carry none). */
const idsOnSwitch = (h: AppHarness) => new Set(h.table.flows().flatMap((f) => {
  const id = parseCookie(f.cookie)?.serviceId ?? 0;
  return id > 0 ? [id] : [];
}));

describe.each(NAT_MODES)('a restart whose configuration lost a service ($name)', (mode) => {
  it("the earlier run's flows of the lost service go; the kept service's live connection still reaches its backend with no packet-in", () => {
    // The earlier run: web (TCP 80) and dns (UDP 53), each with a live connection.
    const h = new AppHarness(mode, defaultServices());
    const web = delivered(h.send(fromClient(40000)).outcomes);
    delivered(h.send(fromClient(40001, { proto: 'udp' })).outcomes);
    const before = serviceIds(['web', 'dns']);
    const webId = serviceIds(['web']).get('web')!;
    expect(before.get('web')).toBe(webId); // the same name keeps its id, so its flows are its own
    const dnsId = before.get('dns')!;
    expect(idsOnSwitch(h)).toEqual(new Set([webId, dnsId]));

    // The restart: web alone. The switch keeps what the earlier run installed; the connect adds the new run's flows.
    const config = AppHarness.config(mode, webOver(['v-vm1', 'v-vm2', 'v-vm3']));
    const next = new LoadBalancerApp(config.services, { datapath: config.datapath, emit: () => undefined });
    h.answer = (packetIn) => next.packetIn(h.sw, packetIn, h.now);
    h.install(next.switchUp(h.sw, h.now));
    expect(idsOnSwitch(h)).toEqual(new Set([webId, dnsId]));

    // What the daemon's read of the service flows finds (cookie kind `service`).
    const found = h.table.flows().flatMap((f) => {
      const parts = parseCookie(f.cookie);
      return parts?.kind === 'service' ? [parts.serviceId] : [];
    });
    h.install(next.serviceFlowsFound(h.sw.dpid, found));
    expect(idsOnSwitch(h)).toEqual(new Set([webId]));
    // Asked again (a second reading): nothing more goes.
    expect(next.serviceFlowsFound(h.sw.dpid, [webId]).flatMap((b) => b.msgs)).toEqual([]);

    const packetIns = h.packetIns;
    const again = delivered(h.send(fromClient(40000, { flags: 0x10 })).outcomes);
    expect(again.port).toBe(web.port);
    expect(h.packetIns).toBe(packetIns);
  });
});
