// A vadc restarted with a configuration that lost a service finds the earlier run's flows of it on the switch (its
// service, connection, backend flows: they stay while vadc is away). The daemon reads the switch's service flows on
// connect and hands the ids to app.serviceFlowsFound: every flow of an id no configured service has goes, by the
// cookie's service bits; the services still configured keep theirs, their live connections' flows too.
import { LoadBalancerApp, serviceIds } from '../../../src/app';
import { buildVipFlows, makeCookie, parseCookie } from '../../../src/flows';
import { AppHarness, CLIENT6, CLIENT_MAC, defaultServices, delivered, fromClient, NAT_MODES, VIP_MAC, webOver } from '../../helpers/app-harness';
import { arpRequest, ipv4Frame, neighborSolicitation } from '../../helpers/frames';

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

// The same restart's VIPs: the earlier run's VIP flows (ARP/ND and echo to vadc, the refusal of the rest) of a VIP
// the configuration lost stay on the switch, and send every packet to that address to vadc, which answers none of
// them. The daemon reads the VIP flows (cookie kind `vip`) and hands their cookies to app.vipFlowsFound: each VIP tag
// no configured VIP has goes; an older vadc's VIP flows (tag 0) too, once the connect's flows have replaced the
// configured VIPs' own.
const LOST = `
  - { name: old, vip: 10.0.0.200, port: 80, backends: [{ vnic: v-vm1, ip: 10.0.0.11, ports: [8080], mac: "52:54:00:00:00:11" }] }
  - { name: old6, vip: "fd00::200", port: 80, backends: [{ vnic: v-vm1, ip: "fd00::11", ports: [8080], mac: "52:54:00:00:00:11" }] }
`;

describe.each(NAT_MODES)('a restart whose configuration lost VIPs ($name)', (mode) => {
  it("the lost VIPs' flows go, and an older vadc's untagged ones; the kept VIP still answers ARP and serves its connections", () => {
    const h = new AppHarness(mode, defaultServices(), { leftBy: mode, leftServices: `${defaultServices()}${LOST}` });
    // An older vadc's VIP flows (cookie without a VIP tag): of a VIP it had (10.0.0.201) and of the kept one.
    h.install([...buildVipFlows('10.0.0.201'), ...buildVipFlows('10.0.0.100')].map((f) => ({ ...f, cookie: makeCookie('vip') })));
    h.install(h.app.switchUp(h.sw, h.now));
    const web = delivered(h.send(fromClient(40000)).outcomes);

    /** Where a frame goes: to vadc (a packet-in; with the replies it got), or the switch's own forwarding. */
    const fate = (frame: Buffer) => {
      const before = h.packetIns;
      const { outcomes, replies } = h.send(frame);
      return h.packetIns > before ? `vadc, ${replies.length} replies` : outcomes.map((o) => o.kind).join(',');
    };
    const arp = (ip: string) => arpRequest(CLIENT_MAC, '10.0.0.101', ip);
    const tcpTo = (ip: string) => ipv4Frame({ srcMac: CLIENT_MAC, dstMac: VIP_MAC, srcIp: '10.0.0.101', dstIp: ip, proto: 'tcp', srcPort: 40100, dstPort: 22, tcpFlags: 0x02 });
    const ping = (ip: string) => ipv4Frame({ srcMac: CLIENT_MAC, dstMac: VIP_MAC, srcIp: '10.0.0.101', dstIp: ip, proto: 'icmp' });
    const ns = (ip: string) => neighborSolicitation(CLIENT_MAC, CLIENT6, ip);
    const lost = () => [fate(arp('10.0.0.200')), fate(tcpTo('10.0.0.200')), fate(ns('fd00::200')), fate(ping('10.0.0.201')), fate(tcpTo('10.0.0.201'))];
    // Before the sweep: every one of them goes up to vadc, which answers nothing.
    expect(lost()).toEqual(Array(5).fill('vadc, 0 replies'));

    const cookiesOf = (kind: string) => h.table.flows().filter((f) => parseCookie(f.cookie)?.kind === kind).map((f) => f.cookie);
    h.install(h.app.serviceFlowsFound(h.sw.dpid, cookiesOf('service').map((c) => parseCookie(c)!.serviceId)));
    h.install(h.app.vipFlowsFound(h.sw.dpid, cookiesOf('vip')));
    expect(lost()).toEqual(Array(5).fill('normal'));
    // The kept VIP: ARP and ping answered, web's connection still on its backend without a packet-in, a new one placed.
    expect([fate(arp('10.0.0.100')), fate(ping('10.0.0.100'))]).toEqual(['vadc, 1 replies', 'vadc, 1 replies']);
    const packetIns = h.packetIns;
    expect(delivered(h.send(fromClient(40000, { flags: 0x10 })).outcomes).port).toBe(web.port);
    expect(h.packetIns).toBe(packetIns);
    expect(delivered(h.send(fromClient(40001)).outcomes).port).toBeGreaterThan(0);
    // A second reading finds nothing more to delete.
    expect(h.app.vipFlowsFound(h.sw.dpid, cookiesOf('vip')).flatMap((b) => b.msgs)).toEqual([]);
  });
});
