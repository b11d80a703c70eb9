// A shared backend-side end copy (one copy flow per backend address:port, of no service) is first read as the service
// that sends to the copy's source address:port, found from the header's numbers (IPv4) or words (IPv6): no text per copy.
import { readTransportHeader6 } from '../../../src/flows/ipv6-packets';
import { emptyTransportHeader, readTransportHeader, type TransportHeader } from '../../../src/flows/packets';
import { sharedCopyService } from '../../../src/app/end-copy-owner';
import type { ServiceState } from '../../../src/app/services';
import { ipv6Pair } from '../../../src/net/ipv6';
import { AppHarness, NAT_MODES, VMS } from '../../helpers/app-harness';
import { ipv4Frame, ipv6Frame } from '../../helpers/frames';

const FIN_ACK = 0x11;

/** Services a..d, each with one backend address:port of its own (`ips[i]`, port `ports[i]`), VIPs of `ips`' family. */
function services(ips: readonly string[], ports: readonly number[]): string {
  const v6 = ips[0].includes(':');
  const vm = ['v-vm1', 'v-vm2', 'v-vm3', 'v-vm1'] as const;
  return `
services:
${ips.map((ip, i) => `  - name: s${i}
    vip: ${v6 ? `"fd00::1${i}0"` : `10.0.0.1${i}0`}
    port: 80
    scheduler: lc
    backends:
      - { vnic: ${vm[i]}, ip: "${ip}", ports: [${ports[i]}], mac: "${VMS[vm[i]].mac}" }`).join('\n')}
`;
}

/** The header of a backend's FIN from `ip`:`port` to a client, read as the packet-in path reads it. */
function backendFin(ip: string, port: number): TransportHeader {
  const spec = { srcMac: VMS['v-vm1'].mac, dstMac: '52:54:00:00:00:65', proto: 'tcp' as const, srcPort: port, dstPort: 40000, tcpFlags: FIN_ACK };
  if (ip.includes(':')) {
    const h = { ...emptyTransportHeader(), ip6: ipv6Pair() };
    expect(readTransportHeader6(ipv6Frame({ ...spec, srcIp: ip, dstIp: 'fd00::101' }), h, true)).toBe(true);
    return h;
  }
  const h = emptyTransportHeader();
  expect(readTransportHeader(ipv4Frame({ ...spec, srcIp: ip, dstIp: '10.0.0.101' }), h)).toBe(true);
  return h;
}

describe('sharedCopyService: the service a backend address:port sends for, from the copy header', () => {
  const cases: [string, string[], number[]][] = [
    // fd00::11 and fd00::1:0:10 fold (xor of the four words) alike: the words themselves must decide.
    ['IPv6, addresses whose folds are equal', ['fd00::11', 'fd00::1:0:10', 'fd00::12', 'fd00::1:0:10'], [8080, 8080, 8080, 8081]],
    ['IPv4', ['10.0.0.11', '10.0.0.12', '10.0.0.13', '10.0.0.12'], [8080, 8080, 8080, 8081]],
  ];
  it.each(cases)('%s: each address:port gives its own service, an unknown one none', (_family, ips, ports) => {
    const h = new AppHarness(NAT_MODES[0], services(ips, ports));
    // The app's states, read-only to its callers; the index only reads them.
    const states = h.app.serviceStates() as readonly ServiceState[];
    ips.forEach((ip, i) => expect(sharedCopyService(states, backendFin(ip, ports[i]))?.config.name).toBe(`s${i}`));
    const v6 = ips[0].includes(':');
    expect(sharedCopyService(states, backendFin(ips[0], 9090))).toBeUndefined();
    expect(sharedCopyService(states, backendFin(v6 ? 'fd00::1:0:11' : '10.0.0.14', 8080))).toBeUndefined();
  });
});
