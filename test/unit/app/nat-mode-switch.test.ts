// A vadc restarted with another NAT mode on a bridge the old mode left (an edited `datapath.nat`, or a cluster
// group's NAT override applied at the restart): vadc never wipes a bridge, so the new mode must not be shadowed by
// flows only the old one installs. Does the first connection's reply reach the client from the VIP?
import { AppHarness, CLIENT_PORT, delivered, fromBackend, fromClient, NAT_MODES, VIP_MAC, VMS } from '../../helpers/app-harness';

const SWITCHES = NAT_MODES.flatMap((from) => NAT_MODES.filter((to) => to.name !== from.name).map((to) => ({ from, to, name: `${from.name} -> ${to.name}` })));

describe.each(SWITCHES)('a bridge left by another NAT mode ($name)', ({ from, to }) => {
  it("answers a new connection through the VIP and translates the backend's reply", () => {
    const h = new AppHarness(to, undefined, { leftBy: from });
    const syn = delivered(h.send(fromClient(40100)).outcomes);
    expect(syn).toMatchObject({ port: VMS['v-vm1'].ofport, fields: { ipv4_dst: '10.0.0.11', tcp_dst: 8080 } });
    const reply = delivered(h.send(fromBackend('v-vm1', 40100), VMS['v-vm1'].ofport).outcomes);
    expect(reply.port).toBe(CLIENT_PORT);
    expect(reply.fields).toMatchObject({ eth_src: VIP_MAC, ipv4_src: '10.0.0.100', tcp_src: 80, ipv4_dst: '10.0.0.101', tcp_dst: 40100 });
  });
});
