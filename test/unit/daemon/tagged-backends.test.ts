// VMs that join by tag: which OVSDB Interface rows become which backends of which service (pure).
import { parseConfig, type ServiceConfig } from '../../../src/config';
import { selectorsOf, stableSelector, taggedBackendsOf, taggedChanges, withTaggedBackends } from '../../../src/daemon/tagged-backends';
import type { InterfaceRow } from '../../../src/ovsdb';

let uuid = 0;
function iface(name: string, externalIds: Record<string, string>, extra: Partial<InterfaceRow> = {}): InterfaceRow {
  uuid++;
  return { uuid: `00000000-0000-4000-8000-${String(uuid).padStart(12, '0')}`, name, type: '', externalIds, statistics: {}, options: {}, ...extra };
}

function services(yaml: string): ServiceConfig[] {
  return parseConfig(`services:\n${yaml}`, 'test.yaml').services;
}

const WEB = `  - name: web
    vip: 10.0.0.100
    port: 80
    backends_from: { external_ids: { vadc-service: web }, ports: [8080] }
`;

const tag = { 'vadc-service': 'web' };

describe('stableSelector and selectorsOf', () => {
  it('follows a vNIC by its port id, else its MAC, else its name', () => {
    expect(stableSelector(iface('tap1', { 'iface-id': 'p-1', 'attached-mac': '02:00:00:00:00:01' }))).toBe('iface-id:p-1');
    expect(stableSelector(iface('tap1', { 'attached-mac': '02:00:00:00:00:AA' }))).toBe('mac:02:00:00:00:00:aa');
    expect(stableSelector(iface('tap1', { 'attached-mac': 'not-a-mac' }))).toBe('tap1');
    expect(stableSelector(iface('tap1', {}))).toBe('tap1');
  });

  it('names every way an interface can be selected: iface-id, MAC, vm-uuid (os-vif), vm-id (libvirt), name', () => {
    const row = iface('tap1', { 'iface-id': 'p-1', 'vm-uuid': 'os-1', 'vm-id': 'lv-1' }, { macInUse: '02:00:00:00:00:01' });
    expect(selectorsOf(row)).toEqual(['iface-id:p-1', 'mac:02:00:00:00:00:01', 'vm-uuid:os-1', 'vm-id:lv-1', 'tap1']);
  });
});

describe('taggedBackendsOf', () => {
  const [web] = services(WEB);

  it('makes a backend of each interface that carries every pair of the tag, addressed by its external_ids:ip', () => {
    const rows = [
      iface('tap-b', { ...tag, 'iface-id': 'port-b', ip: '10.0.0.12' }),
      iface('tap-a', { ...tag, 'iface-id': 'port-a', ip: '10.0.0.11/24' }),
      iface('tap-c', { 'vadc-service': 'db', 'iface-id': 'port-c', ip: '10.0.0.13' }),
      iface('tap-d', { 'iface-id': 'port-d', ip: '10.0.0.14' }),
    ];
    const { backends, problems } = taggedBackendsOf(web, rows);
    expect(problems).toEqual([]);
    expect(backends).toEqual([
      { name: 'iface-id:port-a', vnic: 'iface-id:port-a', ip: '10.0.0.11', ports: [8080], weight: 1, u_threshold: 0, l_threshold: 0, tier: 0, iface: 'tap-a' },
      { name: 'iface-id:port-b', vnic: 'iface-id:port-b', ip: '10.0.0.12', ports: [8080], weight: 1, u_threshold: 0, l_threshold: 0, tier: 0, iface: 'tap-b' },
    ]);
  });

  it('gives every backend it finds backends_from.tags (payload rules pools select by them)', () => {
    const [tagged] = services(WEB.replace('ports: [8080] }', 'ports: [8080], tags: [quic-v2] }'));
    const { backends } = taggedBackendsOf(tagged, [iface('tap-a', { ...tag, 'iface-id': 'port-a', ip: '10.0.0.11' })]);
    expect(backends.map((b) => [b.name, b.tags])).toEqual([['iface-id:port-a', ['quic-v2']]]);
  });

  it('needs every pair of a tag with several', () => {
    const [svc] = services(WEB.replace('{ vadc-service: web }', '{ vadc-service: web, env: prod }'));
    const rows = [
      iface('tap-a', { ...tag, env: 'prod', 'iface-id': 'a', ip: '10.0.0.11' }),
      iface('tap-b', { ...tag, env: 'test', 'iface-id': 'b', ip: '10.0.0.12' }),
      iface('tap-c', { ...tag, 'iface-id': 'c', ip: '10.0.0.13' }),
    ];
    expect(taggedBackendsOf(svc, rows).backends.map((b) => b.name)).toEqual(['iface-id:a']);
  });

  it('takes a fixed address from backends_from.ips by any of the interface ids when it carries none', () => {
    const [svc] = services(WEB.replace('ports: [8080] }', `ports: [8080], ips: { "vm-uuid:os-1": 10.0.0.21, "vm-id:lv-2": 10.0.0.22, "mac:02:00:00:00:00:AA": 10.0.0.23, tap-n: 10.0.0.24, "iface-id:p-5": 10.0.0.25 } }`));
    const rows = [
      iface('tap1', { ...tag, 'iface-id': 'p-1', 'vm-uuid': 'os-1' }),
      iface('tap2', { ...tag, 'iface-id': 'p-2', 'vm-id': 'lv-2' }),
      iface('tap3', { ...tag, 'attached-mac': '02:00:00:00:00:aa' }),
      iface('tap-n', { ...tag }),
      // Its own address wins over the fixed one.
      iface('tap5', { ...tag, 'iface-id': 'p-5', ip: '10.0.0.35' }),
    ];
    expect(taggedBackendsOf(svc, rows).backends.map((b) => `${b.name} ${b.ip}`)).toEqual([
      'iface-id:p-1 10.0.0.21', 'iface-id:p-2 10.0.0.22', 'iface-id:p-5 10.0.0.35', 'mac:02:00:00:00:00:aa 10.0.0.23', 'tap-n 10.0.0.24',
    ]);
  });

  it("an IPv6 service takes each VM's IPv6 address (ip_key: ip6 on a dual-stack VM), in RFC 5952 form, and refuses an IPv4 one", () => {
    const [web6] = services(`  - name: web6
    vip: "fd00::100"
    port: 80
    backends_from: { external_ids: { vadc-service: web }, ports: [8080], ip_key: ip6, ips: { "iface-id:p-3": "fd00::13" } }
`);
    const rows = [
      iface('tap1', { ...tag, 'iface-id': 'p-1', ip: '10.0.0.11', ip6: 'FD00:0:0::B/64' }),
      iface('tap2', { ...tag, 'iface-id': 'p-2', ip: '10.0.0.12', ip6: '10.0.0.12' }),
      iface('tap3', { ...tag, 'iface-id': 'p-3', ip: '10.0.0.13' }),
      iface('tap4', { ...tag, 'iface-id': 'p-4', ip6: 'fd00::100' }),
      iface('tap5', { ...tag, 'iface-id': 'p-5', ip6: 'fe80::5' }),
    ];
    const { backends, problems } = taggedBackendsOf(web6, rows);
    expect(backends.map((b) => [b.name, b.ip])).toEqual([['iface-id:p-1', 'fd00::b'], ['iface-id:p-3', 'fd00::13']]);
    expect(problems.map((p) => `${p.iface}: ${p.message}`)).toEqual([
      'tap2: external_ids:ip6="10.0.0.12" is not an IPv6 address (the service\'s VIP is IPv6)',
      "tap4: its address fd00::100 is the service's VIP",
      expect.stringMatching(/^tap5: external_ids:ip6="fe80::5" is not a unicast host address: /),
    ]);
  });

  it('a dual-stack service takes each VM\'s IPv4 (ip_key) and IPv6 (ip6_key, default ip6) addresses, fixed ones from ips and ips6; a VM without both cannot serve', () => {
    const dual = (from = '') => services(`  - name: web
    vip: 10.0.0.100
    vip6: "fd00::100"
    port: 80
    backends_from: { external_ids: { vadc-service: web }, ports: [8080]${from} }
    backends:
      - { vnic: tap-s, ip: 10.0.0.40, ip6: "fd00::40", ports: [8080] }
`)[0];
    const rows = [
      iface('tap1', { ...tag, 'iface-id': 'p-1', ip: '10.0.0.11', ip6: 'FD00:0::B/64' }),
      iface('tap2', { ...tag, 'iface-id': 'p-2', ip: '10.0.0.12' }),
      iface('tap3', { ...tag, 'iface-id': 'p-3', ip: '10.0.0.13', ip6: '10.0.0.13' }),
      iface('tap4', { ...tag, 'iface-id': 'p-4', ip: '10.0.0.14', ip6: 'fd00::100' }),
      iface('tap5', { ...tag, 'iface-id': 'p-5', ip: '10.0.0.15', ip6: 'fd00::40' }),
      iface('tap6', { ...tag, 'iface-id': 'p-6', ip: '10.0.0.16', ip6: 'fd00::b' }),
      iface('tap7', { ...tag, 'iface-id': 'p-7' }),
    ];
    const { backends, problems } = taggedBackendsOf(dual(), rows);
    expect(backends.map((b) => [b.name, b.ip, b.ip6])).toEqual([['iface-id:p-1', '10.0.0.11', 'fd00::b']]);
    expect(problems.map((p) => `${p.iface}: ${p.message}`)).toEqual([
      'tap2: carries the tag but no IPv6 address: no external_ids:ip6, and backends_from.ips6 has none of iface-id:p-2, tap2',
      'tap3: external_ids:ip6="10.0.0.13" is not an IPv6 address (the service\'s vip6 is IPv6)',
      "tap4: its address fd00::100 is the service's VIP",
      "tap5: its address fd00::40 is already the configured backend tap-s's",
      "tap6: its address fd00::b is already the tagged backend iface-id:p-1's",
      'tap7: carries the tag but no address: no external_ids:ip, and backends_from.ips has none of iface-id:p-7, tap7',
    ]);
    // ip6_key names another key; ips and ips6 give a VM without keys both addresses.
    const fixed = dual(', ip6_key: addr6, ips: { "iface-id:p-7": 10.0.0.17 }, ips6: { "iface-id:p-7": "fd00::17" }');
    expect(taggedBackendsOf(fixed, [iface('tap2', { ...tag, 'iface-id': 'p-2', ip: '10.0.0.12', addr6: 'fd00::c' }), rows[6]]).backends.map((b) => [b.name, b.ip, b.ip6]))
      .toEqual([['iface-id:p-2', '10.0.0.12', 'fd00::c'], ['iface-id:p-7', '10.0.0.17', 'fd00::17']]);
    // A new IPv6 address alone is a backend that left and one that joined.
    const before = withTaggedBackends([dual()], [rows[0]]).tagged;
    const after = withTaggedBackends([dual()], [iface('tap1', { ...tag, 'iface-id': 'p-1', ip: '10.0.0.11', ip6: 'fd00::1b' })]).tagged;
    expect(taggedChanges(before, after).map((c) => [c.joined.map((b) => b.ip6), c.left.map((b) => b.ip6)])).toEqual([[['fd00::1b'], ['fd00::b']]]);
  });

  it('reads the address from the key ip_key names', () => {
    const [svc] = services(WEB.replace('ports: [8080] }', 'ports: [8080], ip_key: neutron-ip }'));
    const rows = [iface('tap1', { ...tag, 'iface-id': 'p-1', 'neutron-ip': '10.0.0.31', ip: '10.0.0.99' })];
    expect(taggedBackendsOf(svc, rows).backends.map((b) => b.ip)).toEqual(['10.0.0.31']);
  });

  it('reports, and leaves out, tagged interfaces that cannot serve', () => {
    const [svc] = services(`${WEB}    backends:
      - { name: fixed, vnic: iface-id:fixed, ip: 10.0.0.50, ports: [8080] }
`);
    const rows = [
      iface('tap1', { ...tag, 'iface-id': 'p-1' }),
      iface('tap2', { ...tag, 'iface-id': 'p-2', ip: 'ten.zero' }),
      iface('tap3', { ...tag, 'iface-id': 'p-3', ip: '224.0.0.1' }),
      iface('tap4', { ...tag, 'iface-id': 'p-4', ip: '10.0.0.100' }),
      iface('tap5', { ...tag, 'iface-id': 'p-5', ip: '10.0.0.50' }),
      iface('tap6', { ...tag, 'iface-id': 'p-6', ip: '10.0.0.11' }),
      iface('tap7', { ...tag, 'iface-id': 'p-7', ip: '10.0.0.11' }),
      iface('tap8', { ...tag, 'iface-id': 'has space', ip: '10.0.0.18' }),
    ];
    const { backends, problems } = taggedBackendsOf(svc, rows);
    expect(backends.map((b) => b.name)).toEqual(['iface-id:p-6']);
    expect(problems.map((p) => `${p.iface}: ${p.message}`)).toEqual([
      'tap1: carries the tag but no address: no external_ids:ip, and backends_from.ips has none of iface-id:p-1, tap1',
      'tap2: external_ids:ip="ten.zero" is not an IPv4 address (the service\'s VIP is IPv4)',
      expect.stringMatching(/^tap3: external_ids:ip="224.0.0.1" is not a unicast host address: /),
      "tap4: its address 10.0.0.100 is the service's VIP",
      "tap5: its address 10.0.0.50 is already the configured backend fixed's",
      "tap7: its address 10.0.0.11 is already the tagged backend iface-id:p-6's",
      'tap8: "iface-id:has space" cannot name a backend (1..64 of A-Z a-z 0-9 _ . : -)',
    ]);
    expect(problems.every((p) => p.service === 'web')).toBe(true);
  });

  it('leaves out a tagged VM whose address is another service\'s VIP or lies inside a VIP prefix (any service, either family)', () => {
    const all = services(`${WEB}  - { name: wide, vip: 10.0.1.0/24, port: 81, scheduler: dh, backends: [{ vnic: v-x, ip: 10.0.2.2, ports: [1] }] }
  - { name: dns, vip: 10.0.0.53, port: 53, protocol: udp, backends: [{ vnic: v-y, ip: 10.0.2.3, ports: [53] }] }
`);
    const rows = [
      iface('tap1', { ...tag, 'iface-id': 'p-1', ip: '10.0.1.7' }),
      iface('tap2', { ...tag, 'iface-id': 'p-2', ip: '10.0.0.53' }),
      iface('tap3', { ...tag, 'iface-id': 'p-3', ip: '10.0.2.7' }),
    ];
    const { services: out, problems } = withTaggedBackends(all, rows);
    expect(out[0].backends.map((b) => b.ip)).toEqual(['10.0.2.7']);
    const unreachable = 'vadc answers ARP and neighbor solicitations for every address of a VIP, so it could not be reached';
    expect(problems.map((p) => `${p.service} ${p.iface}: ${p.message}`)).toEqual([
      `web tap1: its address 10.0.1.7 lies inside the VIP prefix services[1].vip 10.0.1.0/24 (service wide): ${unreachable}`,
      `web tap2: its address 10.0.0.53 is the VIP services[2].vip 10.0.0.53 (service dns): ${unreachable}`,
    ]);
    // Alone (the service's own VIPs only), the other services' VIPs are not known.
    expect(taggedBackendsOf(all[0], rows).backends.map((b) => b.ip)).toEqual(['10.0.1.7', '10.0.0.53', '10.0.2.7']);
  });

  it('leaves a tagged interface that is also configured to the configured backend, quietly', () => {
    const [svc] = services(`${WEB}    backends:
      - { name: mine, vnic: vm-uuid:os-1, ip: 10.0.0.50, ports: [9090] }
`);
    const rows = [iface('tap1', { ...tag, 'iface-id': 'p-1', 'vm-uuid': 'os-1', ip: '10.0.0.50' })];
    expect(taggedBackendsOf(svc, rows)).toEqual({ backends: [], problems: [] });
  });

  it('makes one backend of two interfaces with the same port id (a VM mid-migration)', () => {
    const rows = [iface('tap-new', { ...tag, 'iface-id': 'p-1', ip: '10.0.0.11' }), iface('tap-old', { ...tag, 'iface-id': 'p-1', ip: '10.0.0.11' })];
    expect(taggedBackendsOf(web, rows)).toEqual({ backends: [expect.objectContaining({ name: 'iface-id:p-1', iface: 'tap-new' })], problems: [] });
  });

  it('takes at most max_backends, in interface name order, and says which were left out', () => {
    const [svc] = services(WEB.replace('ports: [8080] }', 'ports: [8080], max_backends: 2 }'));
    const rows = [3, 1, 2].map((n) => iface(`tap${n}`, { ...tag, 'iface-id': `p-${n}`, ip: `10.0.0.1${n}` }));
    const { backends, problems } = taggedBackendsOf(svc, rows);
    expect(backends.map((b) => b.iface)).toEqual(['tap1', 'tap2']);
    expect(problems.map((p) => `${p.iface}: ${p.message}`)).toEqual(['tap3: left out: backends_from.max_backends (2) tagged backends are already in the service']);
  });
});

describe('withTaggedBackends and taggedChanges', () => {
  it('adds the tagged backends after the configured ones, only to services with backends_from', () => {
    const list = services(`${WEB}    backends:
      - { vnic: tap-s, ip: 10.0.0.40, ports: [8080] }
  - name: other
    vip: 10.0.0.101
    port: 80
    backends: [{ vnic: tap-o, ip: 10.0.0.41, ports: [80] }]
`);
    const rows = [iface('tap1', { ...tag, 'iface-id': 'p-1', ip: '10.0.0.11' })];
    const result = withTaggedBackends(list, rows);
    expect(result.services[0].backends.map((b) => b.name)).toEqual(['tap-s', 'iface-id:p-1']);
    expect(result.services[0].backends[1]).not.toHaveProperty('iface');
    expect(result.services[1]).toBe(list[1]);
    expect([...result.tagged.keys()]).toEqual(['web']);
    // The configuration itself is not changed.
    expect(list[0].backends.map((b) => b.name)).toEqual(['tap-s']);
  });

  it('reports who joined and who left, and a new address as both', () => {
    const [svc] = services(WEB);
    const before = withTaggedBackends([svc], [
      iface('tap1', { ...tag, 'iface-id': 'p-1', ip: '10.0.0.11' }),
      iface('tap2', { ...tag, 'iface-id': 'p-2', ip: '10.0.0.12' }),
    ]).tagged;
    const after = withTaggedBackends([svc], [
      // The same VM restarted on another tap: the same backend, nothing changed.
      iface('tap9', { ...tag, 'iface-id': 'p-1', ip: '10.0.0.11' }),
      iface('tap3', { ...tag, 'iface-id': 'p-3', ip: '10.0.0.13' }),
    ]).tagged;
    const changes = taggedChanges(before, after);
    expect(changes.map((c) => ({ service: c.service, joined: c.joined.map((b) => b.name), left: c.left.map((b) => b.name) }))).toEqual([
      { service: 'web', joined: ['iface-id:p-3'], left: ['iface-id:p-2'] },
    ]);
    const readdressed = withTaggedBackends([svc], [iface('tap1', { ...tag, 'iface-id': 'p-1', ip: '10.0.0.19' })]).tagged;
    expect(taggedChanges(withTaggedBackends([svc], [iface('tap1', { ...tag, 'iface-id': 'p-1', ip: '10.0.0.11' })]).tagged, readdressed))
      .toEqual([{ service: 'web', joined: [expect.objectContaining({ ip: '10.0.0.19' })], left: [expect.objectContaining({ ip: '10.0.0.11' })] }]);
    expect(taggedChanges(after, after)).toEqual([]);
  });
});
