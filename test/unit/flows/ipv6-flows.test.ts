// The conntrack-mode flows for IPv6 VIPs and backends (issue 16): every flow passes the pipeline checker, and Open
// vSwitch's own decoder (ovs-ofctl ofp-print, which checks OXM prerequisites) reads each as the flow meant.
import {
  VADC_PIPELINE, buildCtBackendFlow, buildCtCommitPacketOut, buildCtConnectionFlow, buildCtReplyFlows, buildCtServiceFlows, buildServiceFlows,
  buildVipFlows, checkFlow, ctConnectionFromFlow, FlowBuildError, PRIORITY, type ConnectionSpec,
} from '../../../src/flows';
import { encode, type FlowMod, type FlowStats } from '../../../src/openflow';
import { ovsOfctl, ovsPrint } from '../../helpers/ovs-capture';

const VIP = 'fd00::1:100';
const VIP_MAC = '02:00:0a:00:01:00';
const conn: ConnectionSpec = {
  serviceId: 7, connectionId: 42, protocol: 'tcp', idleTimeout: 60, finTimeout: 5,
  client: { ofport: 3, mac: '52:54:00:00:00:c1', ip: '2001:db8:1::51', port: 40000 },
  vip: { mac: VIP_MAC, ip: VIP, port: 80 },
  backend: { ofport: 5, mac: '52:54:00:00:00:b1', ip: 'fd00:2::7', port: 8080 },
};

const flows = (): FlowMod[] => [
  ...buildVipFlows(VIP), ...buildVipFlows('fd00:9::/64'),
  ...buildServiceFlows({ serviceId: 7, vip: VIP, protocol: 'tcp', port: 80 }),
  ...buildCtServiceFlows({ serviceId: 8, vip: 'fd00:9::/64', protocol: 'udp', port: 53 }, 9),
  ...buildCtReplyFlows({ serviceId: 7, protocol: 'tcp', zone: 9, vipMac: VIP_MAC, backends: [{ ip: 'fd00:2::7', port: 8080 }, { ip: '10.0.2.7', port: 8080 }] }),
  buildCtBackendFlow({ serviceId: 7, ip: 'fd00:2::7', mac: '52:54:00:00:00:b1', ofport: 5 }),
  buildCtConnectionFlow(conn),
];

describe('IPv6 flows of conntrack mode', () => {
  it('pass the pipeline checker', () => {
    for (const flow of flows()) expect({ flow: flow.match, problems: checkFlow(flow, VADC_PIPELINE) }).toEqual({ flow: flow.match, problems: [] });
  });

  it('put an IPv6 VIP in its own bands, longest prefix first and control above service above refuse', () => {
    const [ns, echo, refuse] = buildVipFlows(VIP);
    const [service] = buildServiceFlows({ serviceId: 7, vip: VIP, protocol: 'tcp', port: 80 });
    expect([refuse.priority, service.priority, ns.priority, echo.priority])
      .toEqual([PRIORITY.VIP_REFUSE6.min + 128, PRIORITY.SERVICE6.min + 128, PRIORITY.VIP_CONTROL6.min + 128, PRIORITY.VIP_CONTROL6.min + 128]);
    expect(PRIORITY.VIP_REFUSE6.max).toBeLessThan(PRIORITY.SERVICE6.min);
    expect(PRIORITY.SERVICE6.max).toBeLessThan(PRIORITY.VIP_CONTROL6.min);
    expect(buildServiceFlows({ serviceId: 8, vip: 'fd00:9::/64', protocol: 'udp', port: 53 })[0].priority).toBe(PRIORITY.SERVICE6.min + 64);
  });

  it('read back from the accounting flow as the same connection, and refuse a connection that mixes families', () => {
    const flow = buildCtConnectionFlow(conn);
    const stats = { ...flow, durationSec: 0, durationNsec: 0, packetCount: 0n, byteCount: 0n } as unknown as FlowStats;
    expect(ctConnectionFromFlow(stats)).toEqual({ ...conn, client: { ...conn.client, mac: '' }, vip: { ...conn.vip, mac: '' } });
    expect(() => buildCtConnectionFlow({ ...conn, backend: { ...conn.backend, ip: '10.0.2.7' } })).toThrow(FlowBuildError);
  });

  it('are read by ovs-ofctl as meant (IPv6 matches with their prerequisites, ct nat to [addr]:port)', () => {
    const binary = ovsOfctl();
    const printed = (m: Parameters<typeof encode>[0]): string => ovsPrint(binary, encode(m)).replace(/\s+/g, ' ').replace(/ cookie:0x[0-9a-f]+/, '');
    const [ns, echo, refuse, nsPrefix] = flows();
    expect(printed(ns)).toContain(`icmp6,icmp_type=135,icmp_code=0,nd_target=${VIP} actions=CONTROLLER:65535`);
    expect(printed(echo)).toContain(`icmp6,ipv6_dst=${VIP},icmp_type=128 actions=CONTROLLER:65535`);
    expect(printed(refuse)).toContain(`ipv6,ipv6_dst=${VIP} actions=CONTROLLER:65535`);
    expect(printed(nsPrefix)).toContain('icmp6,icmp_type=135,icmp_code=0 actions=CONTROLLER:65535');
    const all = flows().map(printed);
    expect(all.find((t) => t.includes('tp_dst=80 '))).toContain(`tcp6,ipv6_dst=${VIP},tp_dst=80 actions=goto_table:1`);
    expect(all.find((t) => t.includes('tp_dst=53 '))).toContain('udp6,ipv6_dst=fd00:9::/64,tp_dst=53 actions=ct(table=1,zone=9,nat)');
    expect(all.find((t) => t.includes('ipv6_src=fd00:2::7'))).toContain('tcp6,ipv6_src=fd00:2::7,tp_src=8080 actions=ct(table=3,zone=9,nat)');
    expect(all.filter((t) => t.includes('ct_state=+rpl+trk')).map((t) => /ct_mark=[^ ,]+(,\w+)?/.exec(t)?.[0])).toEqual(['ct_mark=0x70000/0xffff0000,ip', 'ct_mark=0x70000/0xffff0000,ipv6']);
    expect(all.find((t) => t.includes('+dnat'))).toContain('ipv6,ipv6_dst=fd00:2::7 actions=set_field:52:54:00:00:00:b1->eth_dst,output:5');
    expect(all[all.length - 1]).toContain(`tcp6,in_port=3,ipv6_src=2001:db8:1::51,ipv6_dst=fd00:2::7,tp_src=40000,tp_dst=8080`);
    expect(all[all.length - 1]).toContain(`ct_ipv6_dst=${VIP}`);
    const commit = printed(buildCtCommitPacketOut(Buffer.alloc(60), 3, {
      zone: 9, serviceId: 7, protocol: 'tcp', clientOfport: 3, backendIp: 'fd00:2::7', backendPort: 8080, backendMac: '52:54:00:00:00:b1', backendOfport: 5,
    }));
    expect(commit).toContain('actions=ct(commit,zone=9,exec(set_field:0x70003->ct_mark,nat(dst=[fd00:2::7]:8080))),set_field:52:54:00:00:00:b1->eth_dst,'
      + 'set_field:fd00:2::7->ipv6_dst,set_field:8080->tcp_dst,output:5');
  });
});
