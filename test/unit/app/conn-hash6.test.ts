// The packet-in hashes an IPv6 connection's key with its single VIP's words mixed once (ServiceState.vip6Mix) and a
// prefix VIP's per key: in every NAT mode, the connection it places must be the one the generic key of the same
// 5-tuple names, and a connection tracked by the generic path must be known to the packet-in.
import { connKeyFromText, vipMix6 } from '../../../src/lb/conn-key';
import { ipv6Frame } from '../../helpers/frames';
import { AppHarness, CLIENT6, CLIENT_MAC, NAT_MODES, VMS, dualStackService, delivered, prefixAndHostServices6 } from '../../helpers/app-harness';

const SERVICES = prefixAndHostServices6();

const syn = (dst: string, clientPort: number, dstMac: string) =>
  ipv6Frame({ srcMac: CLIENT_MAC, dstMac, srcIp: CLIENT6, dstIp: dst, proto: 'tcp', srcPort: clientPort, dstPort: 80 });

describe.each(NAT_MODES)('IPv6 connection keys of the packet-in and of the generic path agree ($name)', (mode) => {
  it('a single VIP (mixed once) and addresses of a prefix VIP (mixed per key): placed connections are tracked under their text keys', () => {
    const h = new AppHarness(mode, SERVICES);
    const [pfx6, host6] = h.app.serviceStates();
    expect(host6.vip6Mix).toBe(vipMix6(host6.vip6!.words!, 0));
    expect(pfx6.vip6Mix).toBeUndefined();
    const placed: Array<[string, number]> = [['fd00:9::5', 45000], ['fd00:9::7', 45001], ['fd00:9::1:2', 45002], ['fd00:9::5', 45003]];
    for (const [dst, port] of placed) delivered(h.send(syn(dst, port, (dst === 'fd00:9::5' ? host6 : pfx6).config.vip_mac)).outcomes);
    const tracked = (dst: string, port: number) => (dst === 'fd00:9::5' ? host6 : pfx6).lb.connections.has(connKeyFromText(6, CLIENT6, port, dst, 80));
    expect(placed.map(([dst, port]) => tracked(dst, port))).toEqual([true, true, true, true]);
    expect([host6.lb.connections.size, pfx6.lb.connections.size]).toEqual([2, 2]);
    // Not the same 5-tuple, not the same connection.
    expect(tracked('fd00:9::5', 45001)).toBe(false);
    expect(tracked('fd00:9::7', 45000)).toBe(false);
  });

  it('a connection the generic path tracks (LbService.open, as a restore re-tracks) is a known one to the packet-in', () => {
    const h = new AppHarness(mode, SERVICES);
    const [pfx6, host6] = h.app.serviceStates();
    for (const [service, dst] of [[host6, 'fd00:9::5'], [pfx6, 'fd00:9::8']] as const) {
      const k = connKeyFromText(6, CLIENT6, 46000, dst, 80);
      expect(service.lb.open({ srcIp: k.clientIp, srcPort: 46000, dstIp: k.vip, dstPort: 80, proto: 6, ip6: k.ip6 }, 'active', h.now)).not.toBeNull();
      const before = [service.decisions, service.repeats];
      h.send(syn(dst, 46000, service.config.vip_mac));
      expect([dst, service.decisions, service.repeats]).toEqual([dst, before[0], before[1] + 1]);
    }
  });

  it("a dual-stack service's IPv6 connections (its vip6 mixed once) are tracked under their text keys; its IPv4 ones as before", () => {
    const h = new AppHarness(mode, dualStackService());
    const [web] = h.app.serviceStates();
    expect(web.vip6Mix).toBe(vipMix6(web.vip6!.words!, 0));
    const to = delivered(h.send(syn('fd00::100', 47000, web.config.vip_mac)).outcomes);
    expect(Object.values(VMS).map((vm) => vm.ip6)).toContain(to.fields.ipv6_dst);
    expect(web.lb.connections.has(connKeyFromText(6, CLIENT6, 47000, 'fd00::100', 80))).toBe(true);
    expect(web.lb.connections.has(connKeyFromText(6, CLIENT6, 47001, 'fd00::100', 80))).toBe(false);
  });
});
