// Conntrack mode's tracker accounting with IPv6 connections (issue 16): OVS lists an IPv6 tuple as src=ADDR,dst=ADDR
// (lib/ct-dpif.c ct_dpif_format_tuple); vadc keys it on all 128 bits of both addresses, so two connections whose
// addresses fold to the same 32 bits are told apart.
import { parseConntrackDump, type ConntrackEntry } from '../../../src/flows/conntrack-dump';
import { connKeyFromText } from '../../../src/lb';
import { AppHarness, backendYaml, NAT_MODES, ZONE } from '../../helpers/app-harness';
import { formatIpv6Source, formatIpv6Destination } from '../../../src/net/ipv6';

const CONNTRACK = NAT_MODES[1];
const SERVICES = `
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    scheduler: rr
    backends:
${backendYaml('v-vm1', [8080])}
`;

/** A dump line as OVS prints an IPv6 TCP connection of service `serviceId` in vadc's zone. */
function line(client: string, sport: number, state: string, serviceId: number): string {
  const mark = ((serviceId << 16) | 10) >>> 0;
  return `tcp,orig=(src=${client},dst=fd00::1:100,sport=${sport},dport=80),reply=(src=fd00:2::11,dst=${client},sport=8080,dport=${sport}),`
    + `zone=${ZONE},mark=${mark},protoinfo=(state=${state})`;
}

describe('tracker listing with IPv6 connections', () => {
  it('parses an IPv6 tuple into its words and folds, and reports a bad one as malformed', () => {
    const { entries, malformed } = parseConntrackDump(`${line('2001:db8::51', 40000, 'ESTABLISHED', 7)}\n${line('2001:db8::zz', 40001, 'ESTABLISHED', 7)}`);
    expect(entries).toHaveLength(1);
    const e = entries[0];
    expect([formatIpv6Source(e.orig.ip6!), formatIpv6Destination(e.orig.ip6!), formatIpv6Source(e.reply.ip6!)]).toEqual(['2001:db8::51', 'fd00::1:100', 'fd00:2::11']);
    expect(e.orig).toMatchObject({ src: (0x20010db8 ^ 0x51) >>> 0, sport: 40000, dport: 80 });
    expect(malformed.map((m) => m.reason)).toEqual(['orig: not an IPv6 pair: 2001:db8::zz / fd00::1:100']);
  });

  it('keeps a listed IPv6 connection (active once ESTABLISHED) and closes the unlisted one with the same folds', () => {
    const h = new AppHarness(CONNTRACK, SERVICES);
    const service = h.app.serviceStates()[0];
    const vm1 = service.lb.backends[0];
    // Swapping two words keeps the xor fold: the two clients' keys differ only in their words.
    const listed = connKeyFromText(6, '1:2:3:4::', 40000, 'fd00::1:100', 80);
    const unlisted = connKeyFromText(6, '3:4:1:2::', 40000, 'fd00::1:100', 80);
    expect(listed.clientIp).toBe(unlisted.clientIp);
    service.lb.connections.insert(listed, vm1, 0, 'inactive', h.now);
    service.lb.connections.insert(unlisted, vm1, 0, 'inactive', h.now);
    const entries: ConntrackEntry[] = parseConntrackDump(line('1:2:3:4::', 40000, 'ESTABLISHED', service.id)).entries;
    h.install(h.app.applyAccounting({ source: 'tracker', entries }, h.now + 5000));
    expect(service.lb.connections.export().map((r) => [formatIpv6Source(r.ip6!), r.state])).toEqual([['1:2:3:4::', 'active']]);
    expect([vm1.activeConns, vm1.inactiveConns]).toEqual([1, 0]);
    h.install(h.app.applyAccounting({ source: 'tracker', entries: [] }, h.now + 10000));
    expect(service.lb.connections.size).toBe(0);
  });
});
