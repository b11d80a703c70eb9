import { join } from 'node:path';
import { ConfigError, deriveVipMac, loadConfig, parseConfig } from '../../../src/config';
import { issuesOf } from '../../helpers/config-issues';

const examples = join(__dirname, '../../../examples');


/** A valid one-service config with `extra` lines spliced into the service, or backends replaced. */
function service(extra = '', backends = `
      - vnic: v-vm1
        ip: 10.0.0.11
        ports: [8080]`): string {
  return `services:
  - name: web
    vip: 10.0.0.100
    port: 80
${extra}
    backends:${backends}
`;
}

describe('examples', () => {
  it('loads the issue example as is, with defaults applied', async () => {
    const config = await loadConfig(join(examples, 'vadc.yaml'));
    expect(config.controller).toEqual({ listen: 'tcp:127.0.0.1:6653', echo_interval: 5, ha: { election: 'auto', dir: '/var/lib/vadc/ha', takeover_after: 500 } });
    expect(config.ovsdb).toBe('unix:/var/run/openvswitch/db.sock');
    const [web] = config.services;
    expect(web).toMatchObject({ name: 'web', vip: '10.0.0.100', protocol: 'tcp', port: 80, scheduler: 'wlc', persistence: 0, idle_timeout: 60 });
    expect(web.vip_mac).toBe('02:00:0a:00:00:64');
    expect(web.backends.map((b) => [b.name, b.ip, b.ports, b.weight, b.tier])).toEqual([
      ['v-vm1', '10.0.0.11', [8080, 8081], 1, 0],
      ['v-vm2', '10.0.0.12', [8080], 1, 0],
    ]);
  });

  it('loads the lab example with a health check and a UDP service', async () => {
    const config = await loadConfig(join(examples, 'lab.yaml'));
    expect(config.services.map((s) => `${s.name} ${s.vip}:${s.port}/${s.protocol} ${s.scheduler}`)).toEqual([
      'web 10.0.0.100:80/tcp rr',
      'dns 10.0.0.100:53/udp sh',
    ]);
    expect(config.services[0].health).toMatchObject({ type: 'http', path: '/', interval: 2, timeout: 1, rise: 2, fall: 2 });
  });
});

describe('defaults', () => {
  it('fills every default for an empty document', () => {
    const config = parseConfig('', 'empty.yaml');
    expect(config).toEqual({
      controller: { listen: 'tcp:127.0.0.1:6653', echo_interval: 5, ha: { election: 'auto', dir: '/var/lib/vadc/ha', takeover_after: 500 } },
      datapath: { nat: 'auto', first_table: 0, ct_zone: 2780, accounting: 'conntrack', end_copies: 5000, reply_guard: 5000, listing_share: 0.005, ct_timeouts: { tcp_time_wait: 2, tcp_close: 2 } },
      ovsdb: 'unix:/var/run/openvswitch/db.sock',
      services: [],
      limits: {
        openflow_handshaking: 32, openflow_switches: 256, openflow_reply_bytes: 64 * 1024 * 1024, api_connections: 64, metrics_connections: 16,
      },
    });
  });

  it('keeps an explicit vip_mac, lower-cased', () => {
    expect(parseConfig(service('    vip_mac: 02:AA:BB:CC:DD:EE')).services[0].vip_mac).toBe('02:aa:bb:cc:dd:ee');
  });
});

describe('deriveVipMac', () => {
  it('is 02:00 followed by the VIP bytes: locally administered, unicast, stable', () => {
    expect(deriveVipMac('192.168.1.254')).toBe('02:00:c0:a8:01:fe');
    expect(deriveVipMac('10.1.0.0/16')).toBe('02:00:0a:01:00:00');
    const firstOctet = parseInt(deriveVipMac('1.2.3.4').slice(0, 2), 16);
    expect(firstOctet & 0b10).toBe(0b10);
    expect(firstOctet & 0b01).toBe(0);
  });
});

describe('schema errors name the path and what was expected', () => {
  it('reports a bad weight with its full path and the value given', () => {
    const text = service('', `
      - vnic: v-vm1
        ip: 10.0.0.11
        ports: [8080]
      - vnic: v-vm2
        ip: 10.0.0.12
        ports: [8080]
        weight: x`);
    expect(issuesOf(text)).toEqual([
      { path: 'services[0].backends[1].weight', message: 'expected an integer 0..65535, got "x"' },
    ]);
  });

  it('rejects unknown keys at every level, naming the key and the allowed ones', () => {
    const issues = issuesOf(`controller:\n  listen: tcp:127.0.0.1:6653\n  lisen: x\nbogus: 1\n` + service('    colour: red'));
    expect(issues.map((i) => i.path).sort()).toEqual(['bogus', 'controller.lisen', 'services[0].colour']);
    expect(issues.find((i) => i.path === 'controller.lisen')?.message).toBe('unknown key; allowed here: listen, ssl, echo_interval, ha');
  });

  it('datapath.listing_share: a fraction 0.0001..1, named with the value given', () => {
    expect(issuesOf(`datapath: { listing_share: 0 }\n${service('')}`)).toEqual([{ path: 'datapath.listing_share', message: 'expected a fraction 0.0001..1, got 0' }]);
    expect(issuesOf(`datapath: { listing_share: 2 }\n${service('')}`)).toEqual([{ path: 'datapath.listing_share', message: 'expected a fraction 0.0001..1, got 2' }]);
    expect(parseConfig(`datapath: { listing_share: 0.02 }\n${service('')}`).datapath.listing_share).toBe(0.02);
  });

  it('reports missing required keys', () => {
    expect(issuesOf('services:\n  - name: web\n    vip: 10.0.0.100\n    backends: []\n')).toEqual(
      expect.arrayContaining([{ path: 'services[0].port', message: 'missing; expected a port number 1..65535' }]),
    );
  });

  it.each([
    ['    scheduler: fastest', 'services[0].scheduler', 'expected one of rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, mh, feedback, got "fastest"'],
    ['    protocol: sctp', 'services[0].protocol', 'expected one of tcp, udp, got "sctp"'],
    ['    idle_timeout: 70000', 'services[0].idle_timeout', 'expected an integer 1..65535 (seconds), got 70000'],
    ['    vip_mac: 01:00:5e:00:00:01', 'services[0].vip_mac', 'expected a unicast MAC aa:bb:cc:dd:ee:ff, got "01:00:5e:00:00:01"'],
    ['    mh_table_size: 1000', 'services[0].mh_table_size', expect.stringContaining('expected one of 251, 509')],
    ['    health: {type: ping}', 'services[0].health.type', expect.stringContaining('type one of tcp, http, https, udp, script')],
  ])('%s', (line, path, message) => {
    expect(issuesOf(service(line))).toEqual([{ path, message }]);
  });

  it.each([
    ['vip: 10.0.0.100', 'vip: 10.0.0.300', 'services[0].vip', 'expected an IPv4 or IPv6 address or prefix (a.b.c.d/len, x:y::/len), got "10.0.0.300": "10.0.0.300" is not an IPv4 or IPv6 address'],
    ['vip: 10.0.0.100', 'vip: 10.0.0.1/24', 'services[0].vip', 'expected an IPv4 or IPv6 address or prefix (a.b.c.d/len, x:y::/len), got "10.0.0.1/24": 10.0.0.1/24: host bits are set; the network is 10.0.0.0/24'],
    ['vip: 10.0.0.100', 'vip: 10.0.0.0/33', 'services[0].vip', 'expected an IPv4 or IPv6 address or prefix (a.b.c.d/len, x:y::/len), got "10.0.0.0/33": 10.0.0.0/33: prefix length "33" is not 0..32'],
    ['vip: 10.0.0.100', 'vip: "fd00::1/64"', 'services[0].vip', 'expected an IPv4 or IPv6 address or prefix (a.b.c.d/len, x:y::/len), got "fd00::1/64": fd00::1/64: host bits are set; the network is fd00::/64'],
    ['vip: 10.0.0.100', 'vip: "ff02::1"', 'services[0].vip', 'expected a unicast VIP: ff02::1 is a multicast address (ff00::/8)'],
    ['vip: 10.0.0.100', 'vip: "fe80::1"', 'services[0].vip', 'expected a unicast VIP: fe80::1 is a link-local address (fe80::/10), which needs a zone'],
    ['vip: 10.0.0.100', 'vip: "::ffff:10.0.0.1"', 'services[0].vip', 'expected a unicast VIP: ::ffff:a00:1 is an IPv4-mapped address (::ffff:0:0/96)'],
    ['port: 80', 'port: 0', 'services[0].port', 'expected a port number 1..65535, got 0'],
  ])('%s -> %s', (original, replacement, path, message) => {
    expect(issuesOf(service().replace(original, replacement))).toEqual([{ path, message }]);
  });

  it('validates backend addresses, vNIC selectors and port ranges', () => {
    const issues = issuesOf(service('', `
      - vnic: mac:zz:00:00:00:00:01
        ip: 10.0.0
        ports: [8080, 70000]`));
    expect(issues).toEqual([
      { path: 'services[0].backends[0].vnic', message: 'expected mac:aa:bb:cc:dd:ee:ff, got "mac:zz:00:00:00:00:01"' },
      { path: 'services[0].backends[0].ip', message: 'expected an IPv4 or IPv6 address, got "10.0.0"' },
      { path: 'services[0].backends[0].ports[1]', message: 'expected a port number 1..65535, got 70000' },
    ]);
  });

  it('validates targets', () => {
    expect(issuesOf('ovsdb: http://x\ncontroller:\n  listen: tcp:127.0.0.1:99999\n')).toEqual([
      { path: 'controller.listen', message: 'port 99999 is out of range 0..65535' },
      { path: 'ovsdb', message: 'expected unix:PATH or tcp:HOST:PORT or ssl:HOST:PORT, got "http://x"' },
    ]);
  });

  it('reports YAML syntax errors with line and column', () => {
    const issues = issuesOf('services:\n  - name: web\n    vip: [10.0.0.1\n');
    expect(issues.length).toBeGreaterThan(0);
    expect(issues[0].path).toBe('');
    expect(issues[0].message).toMatch(/^line \d+, col \d+: YAML [A-Z_]+: /);
  });

  it('reports an alias used before its anchor as a ConfigError, not a ReferenceError (found by the 100k fuzz, seed 20261205)', () => {
    expect(issuesOf('ovsdb: *sock\napi: { listen: &sock unix:/a }\n')).toEqual([
      { path: '', message: 'YAML alias: Unresolved alias (the anchor must be set before the alias): sock' },
    ]);
  });

  it('reports duplicate YAML keys', () => {
    expect(issuesOf('ovsdb: unix:/a\novsdb: unix:/b\n')[0].message).toMatch(/^line 2, col 1: YAML DUPLICATE_KEY/);
  });

  it('refuses mapping keys that are lists or mappings, with where they are, and prints no yaml warning', () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      expect(issuesOf('ovsdb: unix:/a\n? [a, b]\n: 1\n')).toEqual([{ path: '', message: 'line 2, col 3: a mapping key must be a plain value, not a list' }]);
      expect(issuesOf('services:\n  - { name: web, {x: 1}: 2 }\n')).toEqual([{ path: '', message: 'line 2, col 18: a mapping key must be a plain value, not a mapping' }]);
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
  });

  it('puts source, paths and messages in the error text', () => {
    expect(() => parseConfig('bogus: 1', 'my.yaml')).toThrow('my.yaml: invalid configuration\n  bogus: unknown key');
  });

  it('fails loadConfig on a missing file with a ConfigError', async () => {
    await expect(loadConfig('/nonexistent/vadc.yaml')).rejects.toThrow(ConfigError);
  });
});

describe('cross-field rules', () => {
  const backend = (vnic: string, ip: string, extra = '') => `
      - vnic: ${vnic}
        ip: ${ip}
        ports: [8080]${extra}`;

  it('needs a Maglev table that holds every backend the service can have, tagged ones included', () => {
    const tagged = '    scheduler: mh\n    mh_table_size: 251\n    backends_from: { external_ids: { vadc-service: web }, ports: [8080], max_backends: 251 }';
    expect(issuesOf(service(tagged))).toEqual([
      { path: 'services[0].mh_table_size', message: 'a Maglev table of 251 slots cannot hold 1 backends + max_backends 251: use mh_table_size 509 or more' },
    ]);
    expect(parseConfig(service(tagged.replace('max_backends: 251', 'max_backends: 250'))).services[0].mh_table_size).toBe(251);
    // Without mh the table size is not used, so nothing is said.
    expect(parseConfig(service(tagged.replace('scheduler: mh', 'scheduler: rr'))).services[0].scheduler).toBe('rr');
  });

  it('writes a VIP in canonical form, so one address is one VIP', () => {
    expect(parseConfig(service().replace('vip: 10.0.0.100', 'vip: 10.0.0.100/32')).services[0].vip).toBe('10.0.0.100');
  });

  it('refuses a backend address that is a VIP or lies inside a VIP prefix (any service, either family), fixed tagged addresses too', () => {
    const reach = 'vadc answers ARP and neighbor solicitations for every address of a VIP and takes their packets to the service, '
      + 'so this backend could not be reached; give it an address outside every VIP';
    // A prefix VIP of another service holds the first service's backend.
    const text = `services:
  - {name: web, vip: 10.0.0.100, port: 80, backends: [{vnic: a, ip: 10.0.1.7, ports: [1]}, {vnic: b, ip: 10.0.2.9, ports: [1]}]}
  - {name: wide, vip: 10.0.1.0/24, port: 81, scheduler: dh, backends: [{vnic: c, ip: 10.0.0.100, ports: [1]}]}
`;
    expect(issuesOf(text)).toEqual([
      { path: 'services[0].backends[0].ip', message: `10.0.1.7 lies inside the VIP prefix services[1].vip 10.0.1.0/24 (service wide): ${reach}` },
      { path: 'services[1].backends[0].ip', message: `10.0.0.100 is the VIP services[0].vip 10.0.0.100 (service web): ${reach}` },
    ]);
    // Just outside the prefix, and a different address than the VIP: accepted.
    expect(parseConfig(text.replace('10.0.1.7', '10.0.2.7').replace('ip: 10.0.0.100,', 'ip: 10.0.0.101,')).services).toHaveLength(2);
    // IPv6: a dual-stack backend's ip6 inside the service's own vip6 prefix; the sorry backend and backends_from's ips.
    const dual = `services:
  - name: web
    vip: 10.0.0.100
    vip6: fd00:1::/64
    port: 80
    scheduler: dh
    backends: [{vnic: a, ip: 10.0.1.7, ip6: "fd00:1::7", ports: [1]}]
    sorry_backend: {vnic: s, ip: 10.0.0.100, ip6: "fd00:2::5", ports: [1]}
    backends_from: {external_ids: {vadc-service: web}, ports: [1], ips: {"iface-id:x": 10.0.3.3}, ips6: {"iface-id:x": "fd00:1::99"}}
`;
    expect(issuesOf(dual)).toEqual([
      { path: 'services[0].sorry_backend.ip', message: 'must differ from the VIP 10.0.0.100' },
      { path: 'services[0].backends[0].ip6', message: `fd00:1::7 lies inside the VIP prefix services[0].vip6 fd00:1::/64 (service web): ${reach}` },
      { path: 'services[0].backends_from.ips6.iface-id:x', message: `fd00:1::99 lies inside the VIP prefix services[0].vip6 fd00:1::/64 (service web): ${reach}` },
    ]);
  });

  it('rejects the same VIP written two ways on one port (10.0.0.100 and 10.0.0.100/32)', () => {
    const text = `services:
  - {name: web, vip: 10.0.0.100, port: 80, backends: [{vnic: a, ip: 10.0.0.11, ports: [1]}]}
  - {name: web2, vip: 10.0.0.100/32, port: 80, backends: [{vnic: a, ip: 10.0.0.11, ports: [1]}]}
`;
    // The issue's case: with a destination-keyed scheduler the /32 was taken as a prefix VIP, and both passed.
    expect(issuesOf(text.replaceAll('port: 80,', 'port: 80, scheduler: dh,'))).toEqual([
      { path: 'services[1].vip', message: 'duplicate VIP 10.0.0.100:80/tcp (also services[0])' },
    ]);
    expect(issuesOf(text)).toEqual([{ path: 'services[1].vip', message: 'duplicate VIP 10.0.0.100:80/tcp (also services[0])' }]);
  });

  it('rejects duplicate service names and duplicate vip:port/protocol', () => {
    const text = `services:
  - {name: web, vip: 10.0.0.100, port: 80, backends: [{vnic: a, ip: 10.0.0.11, ports: [1]}]}
  - {name: web, vip: 10.0.0.100, port: 80, backends: [{vnic: a, ip: 10.0.0.11, ports: [1]}]}
  - {name: dns, vip: 10.0.0.100, port: 80, protocol: udp, backends: [{vnic: a, ip: 10.0.0.11, ports: [1]}]}
`;
    expect(issuesOf(text)).toEqual([
      { path: 'services[1].name', message: 'duplicate service name "web" (also services[0])' },
      { path: 'services[1].vip', message: 'duplicate VIP 10.0.0.100:80/tcp (also services[0])' },
    ]);
  });

  it('takes a pinned service id 1..65535 and rejects one used twice or out of range', () => {
    const text = `services:
  - {name: web, id: 7, vip: 10.0.0.100, port: 80, backends: [{vnic: a, ip: 10.0.0.11, ports: [1]}]}
  - {name: tls, id: 7, vip: 10.0.0.100, port: 443, backends: [{vnic: a, ip: 10.0.0.11, ports: [1]}]}
  - {name: dns, id: 8, vip: 10.0.0.100, port: 53, protocol: udp, backends: [{vnic: a, ip: 10.0.0.11, ports: [1]}]}
`;
    expect(issuesOf(text)).toEqual([
      { path: 'services[1].id', message: "duplicate service id 7 (also services[0]): every flow's cookie names its service by id" },
    ]);
    expect(parseConfig(text.replace('id: 7, vip: 10.0.0.100, port: 443', 'vip: 10.0.0.100, port: 443')).services.map((s) => s.id)).toEqual([7, undefined, 8]);
    for (const bad of ['0', '65536', '1.5', '"7"']) {
      expect(() => parseConfig(text.replace('id: 8', `id: ${bad}`))).toThrow(/services\[2\]\.id: expected an integer 1\.\.65535 \(the service id in its flows' cookies\)/);
    }
  });

  it('rejects services on one VIP that disagree on its MAC', () => {
    const text = `services:
  - {name: web, vip: 10.0.0.100, port: 80, backends: [{vnic: a, ip: 10.0.0.11, ports: [1]}]}
  - {name: tls, vip: 10.0.0.100, vip_mac: "02:00:00:00:00:01", port: 443, backends: [{vnic: a, ip: 10.0.0.11, ports: [1]}]}
`;
    expect(issuesOf(text)).toEqual([
      { path: 'services[1].vip_mac', message: '02:00:00:00:00:01 differs from 02:00:0a:00:00:64 of services[0] on the same VIP 10.0.0.100' },
    ]);
  });

  it('rejects backends with no ports, duplicate ports, and a backend on the VIP', () => {
    const text = service('', `
      - vnic: v-vm1
        ip: 10.0.0.11
        ports: []
      - vnic: v-vm2
        ip: 10.0.0.100
        ports: [8080, 8080]`);
    expect(issuesOf(text)).toEqual([
      { path: 'services[0].backends[0].ports', message: 'expected at least one software port; a backend with no ports cannot serve' },
      { path: 'services[0].backends[1].ports[1]', message: 'duplicate port 8080' },
      { path: 'services[0].backends[1].ip', message: 'must differ from the VIP 10.0.0.100' },
    ]);
  });

  it('rejects a service with no backends', () => {
    expect(issuesOf(service('', ' []'))).toEqual([{ path: 'services[0].backends', message: 'expected at least one backend, or backends_from to find them by tag' }]);
  });

  it('rejects duplicate backend names', () => {
    expect(issuesOf(service('', backend('v-vm1', '10.0.0.11') + backend('v-vm1', '10.0.0.12')))).toEqual([
      { path: 'services[0].backends[1].name', message: 'duplicate backend "v-vm1" (also backends[0]); give each a distinct name' },
    ]);
  });

  it('rejects tier gaps and a quorum above the number of primaries', () => {
    const text = service('    quorum: 2', backend('v-vm1', '10.0.0.11') + backend('v-vm2', '10.0.0.12', '\n        tier: 2'));
    expect(issuesOf(text)).toEqual([
      { path: 'services[0].backends[1].tier', message: 'tier 2 has no backend in tier 1; tiers must be contiguous from 0' },
      { path: 'services[0].quorum', message: '2 exceeds the 1 tier-0 backend(s)' },
    ]);
  });

  it('accepts contiguous tiers, a sorry backend, hooks and health checks', () => {
    const text = service(
      `    quorum: 1
    sorry_backend: {vnic: v-sorry, ip: 10.0.0.99, ports: [8080]}
    launch: {command: [/usr/bin/systemctl, start, web], env: {MODE: prod}}
    stop: {command: "systemctl stop web", timeout: 5}
    health: {type: udp, send: ping, expect: pong, interval: 1, timeout: 0.5}`,
      backend('v-vm1', '10.0.0.11') + backend('v-vm2', '10.0.0.12', '\n        tier: 1'),
    );
    const web = parseConfig(text).services[0];
    expect(web.sorry_backend?.name).toBe('v-sorry');
    expect(web.launch).toEqual({
      command: ['/usr/bin/systemctl', 'start', 'web'], timeout: 30, env: { MODE: 'prod' },
      ready_timeout: 120, max_attempts: 3, backoff: 5, backoff_max: 60, rearm: 300,
    });
    expect(web.stop).toEqual({ command: 'systemctl stop web', timeout: 5, env: {}, cooldown: 300 });
    expect(web.health).toMatchObject({ type: 'udp', send: 'ping', rise: 2, fall: 2 });
  });

  it('rejects thresholds out of order, scheduler flags of another scheduler, fin_timeout on udp', () => {
    const text = service(
      '    protocol: udp\n    fin_timeout: 5\n    scheduler: sh\n    scheduler_flags: [sh-port, mh-fallback]',
      backend('v-vm1', '10.0.0.11', '\n        u_threshold: 10\n        l_threshold: 20'),
    );
    expect(issuesOf(text)).toEqual([
      { path: 'services[0].scheduler_flags[1]', message: 'mh-fallback applies to the mh scheduler, not sh' },
      { path: 'services[0].fin_timeout', message: 'only meaningful for tcp services' },
      { path: 'services[0].backends[0].l_threshold', message: 'must not exceed u_threshold (10)' },
    ]);
  });

  it('accepts an IPv6 VIP with IPv6 backends, both written back in RFC 5952 form', () => {
    const config = parseConfig(service('', backend('v-vm1', '"FD00:0:0::0B"') + backend('v-vm2', '"fd00::c"'))
      .replace('vip: 10.0.0.100', 'vip: "fd00:0::0064"'));
    expect(config.services[0].vip).toBe('fd00::64');
    expect(config.services[0].vip_mac).toBe('02:06:00:00:00:64');
    expect(config.services[0].backends.map((b) => b.ip)).toEqual(['fd00::b', 'fd00::c']);
  });

  it('refuses a service mixing address families, naming the backend and the way out', () => {
    const mixed = 'is an IPv4 address in a service whose VIP fd00::64 is IPv6: vadc does not translate between address families; '
      + 'give this backend its IPv6 address (dual stack: an IPv4 vip, an IPv6 vip6, and each backend\'s ip and ip6)';
    expect(issuesOf(service('', backend('v-vm1', '"fd00::b"') + backend('v-vm2', '10.0.0.12')).replace('vip: 10.0.0.100', 'vip: "fd00::64"')))
      .toEqual([{ path: 'services[0].backends[1].ip', message: `10.0.0.12 ${mixed}` }]);
    expect(issuesOf(service('    sorry_backend: {vnic: v-sorry, ip: "fd00::99", ports: [80]}')).map((i) => i.path)).toEqual(['services[0].sorry_backend.ip']);
  });

  it('accepts an IPv4 and an IPv6 service side by side on the same backend vNICs (dual stack)', () => {
    const text = `services:
  - {name: web4, vip: 10.0.0.100, port: 80, backends: [{vnic: v-vm1, ip: 10.0.0.11, ports: [8080]}]}
  - {name: web6, vip: "fd00::100", port: 80, backends: [{vnic: v-vm1, ip: "fd00::11", ports: [8080]}]}
`;
    expect(parseConfig(text).services.map((s) => [s.vip, s.backends[0].ip])).toEqual([['10.0.0.100', '10.0.0.11'], ['fd00::100', 'fd00::11']]);
  });

  describe('dual stack: one service with an IPv4 vip and an IPv6 vip6', () => {
    const dual = (backends: string, extra = '') => `services:
  - name: web
    vip: 10.0.0.100
    vip6: "FD00:0::100"
    port: 80
${extra}
    backends:${backends}
`;
    const both = (vnic: string, ip: string, ip6: string, extra = '') => backend(vnic, ip, `\n        ip6: "${ip6}"${extra}`);

    it('accepts it, the IPv6 addresses written back in RFC 5952 form; single-family configs have no vip6 or ip6', () => {
      const config = parseConfig(dual(both('v-vm1', '10.0.0.11', 'FD00::0:11') + both('v-vm2', '10.0.0.12', 'fd00::12')));
      expect(config.services[0].vip6).toBe('fd00::100');
      expect(config.services[0].backends.map((b) => [b.ip, b.ip6])).toEqual([['10.0.0.11', 'fd00::11'], ['10.0.0.12', 'fd00::12']]);
      const single = parseConfig(service()).services[0];
      expect(single.vip6).toBeUndefined();
      expect(single.backends[0].ip6).toBeUndefined();
    });

    it('refuses two VIPs of one family, each way round', () => {
      expect(issuesOf(dual(both('v-vm1', '10.0.0.11', 'fd00::11')).replace('"FD00:0::100"', '10.0.0.101'))).toEqual([{
        path: 'services[0].vip6', message: 'expected an IPv6 address or prefix, got the IPv4 address 10.0.0.101: a service has at most one VIP per family (the IPv4 one is vip)',
      }]);
      expect(issuesOf(dual(both('v-vm1', '10.0.0.11', 'fd00::11')).replace('vip: 10.0.0.100', 'vip: "fd00::101"')).map((i) => i.path)).toEqual([
        'services[0].vip', 'services[0].backends[0].ip',
      ]);
      expect(issuesOf(dual(both('v-vm1', '10.0.0.11', 'fd00::11')).replace('vip: 10.0.0.100', 'vip: "fd00::101"'))[0].message)
        .toBe('a dual-stack service (with vip6) has its IPv4 address or prefix in vip, got the IPv6 address fd00::101: a service has at most one VIP per family');
    });

    it('needs both addresses of every backend (the sorry backend too), each of its family and not the VIP', () => {
      expect(issuesOf(dual(both('v-vm1', '10.0.0.11', 'fd00::11') + backend('v-vm2', '10.0.0.12')))).toEqual([{
        path: 'services[0].backends[1].ip6',
        message: 'required in a dual-stack service: the backend\'s IPv6 address, for the connections to vip6 fd00::100 (vadc does not translate between address families)',
      }]);
      expect(issuesOf(dual(both('v-vm1', '10.0.0.11', '10.0.0.21')))).toEqual([
        { path: 'services[0].backends[0].ip6', message: 'expected an IPv6 address, got the IPv4 address 10.0.0.21 (the IPv4 one is ip)' },
      ]);
      expect(issuesOf(dual(both('v-vm1', '10.0.0.11', 'fd00::100')))).toEqual([{ path: 'services[0].backends[0].ip6', message: 'must differ from the VIP fd00::100' }]);
      expect(issuesOf(dual(both('v-vm1', '10.0.0.11', 'fd00::11'), '    sorry_backend: {vnic: v-sorry, ip: 10.0.0.99, ports: [80]}')).map((i) => i.path))
        .toEqual(['services[0].sorry_backend.ip6']);
      // A backend listing its IPv6 address as ip names the family the service wants there.
      expect(issuesOf(dual(both('v-vm1', '"fd00::21"', 'fd00::11')))[0].message).toMatch(/^fd00::21 is an IPv6 address in a service whose VIP 10.0.0.100 is IPv4: .* in ip \(its IPv6 one in ip6\)$/);
    });

    it('tagged VMs: fixed IPv4 addresses in ips and IPv6 ones in ips6; ip6_key and ips6 only in a dual-stack service', () => {
      const b = both('v-vm1', '10.0.0.11', 'fd00::11');
      const tagged = (from: string) => dual(b, `    backends_from: { external_ids: { vadc-service: web }, ports: [8080]${from} }`);
      expect(parseConfig(tagged(', ips: { tap-a: 10.0.0.21 }, ips6: { tap-a: "FD00::21" }')).services[0].backends_from?.ips6).toEqual({ 'tap-a': 'fd00::21' });
      expect(issuesOf(tagged(', ips: { tap-a: "fd00::21" }, ips6: { tap-a: 10.0.0.21, tap-b: "fd00::100", tap-c: "fd00::11" }'))).toEqual([
        {
          path: 'services[0].backends_from.ips.tap-a',
          message: 'fd00::21 is an IPv6 address and the VIP 10.0.0.100 is IPv4: vadc does not translate between address families (a dual-stack service\'s IPv6 addresses go in ips6)',
        },
        {
          path: 'services[0].backends_from.ips6.tap-a',
          message: '10.0.0.21 is an IPv4 address and the VIP fd00::100 is IPv6: vadc does not translate between address families (a dual-stack service\'s IPv4 addresses go in ips)',
        },
        { path: 'services[0].backends_from.ips6.tap-b', message: 'must differ from the VIP fd00::100' },
        { path: 'services[0].backends_from.ips6.tap-c', message: 'fd00::11 is also the address of backends[0]; a VM is either configured or tagged, not both' },
      ]);
      const single = (from: string) => service(`    backends_from: { external_ids: { vadc-service: web }, ports: [8080]${from} }`, backend('v-vm1', '10.0.0.11'));
      expect(issuesOf(single(', ip6_key: ip6, ips6: { tap-a: "fd00::21" }'))).toEqual([
        { path: 'services[0].backends_from.ip6_key', message: 'only a dual-stack service (with vip6) takes ip6_key; this service\'s VMs\' address key is ip_key' },
        { path: 'services[0].backends_from.ips6', message: 'only a dual-stack service (with vip6) takes ips6; this service\'s VMs\' fixed addresses are in ips' },
      ]);
    });

    it('refuses ip6 in a single-family service', () => {
      expect(issuesOf(service('', backend('v-vm1', '10.0.0.11', '\n        ip6: "fd00::11"')))).toEqual([
        { path: 'services[0].backends[0].ip6', message: 'only a dual-stack service (with vip6) takes a backend\'s ip6; this service\'s VIP is 10.0.0.100' },
      ]);
    });

    it('takes datapath decisions (a group per VIP) and tagged VMs (both addresses)', () => {
      const b = both('v-vm1', '10.0.0.11', 'fd00::11');
      expect(parseConfig(dual(b, '    scheduler: rr\n    decisions: datapath')).services[0].decisions).toBe('datapath');
      expect(parseConfig(dual(b, '    backends_from: { external_ids: { vadc-service: web }, ports: [8080], ip6_key: addr6 }')).services[0].backends_from?.ip6_key).toBe('addr6');
      expect(parseConfig(dual(b, '    persistence: 60')).services[0].persistence).toBe(60);
    });

    it('takes a prefix VIP in either family or both (destination-keyed schedulers), written back canonical; refuses the wrong family, other schedulers and datapath decisions', () => {
      const b = both('v-vm1', '10.0.0.11', 'fd00::11');
      const prefixes = (vip: string, vip6: string, extra = '    scheduler: dh') => dual(b, extra).replace('vip: 10.0.0.100', `vip: ${vip}`).replace('"FD00:0::100"', `"${vip6}"`);
      expect(parseConfig(prefixes('10.0.9.0/30', 'FD00:9:0::/126')).services[0]).toMatchObject({ vip: '10.0.9.0/30', vip6: 'fd00:9::/126' });
      expect(parseConfig(prefixes('10.0.9.4', 'fd00:9::/126')).services[0]).toMatchObject({ vip: '10.0.9.4', vip6: 'fd00:9::/126' });
      expect(parseConfig(prefixes('10.0.9.0/30', 'fd00:9::4')).services[0]).toMatchObject({ vip: '10.0.9.0/30', vip6: 'fd00:9::4' });
      // vip6 is checked as vip is: a prefix with host bits set names the network meant.
      expect(issuesOf(prefixes('10.0.9.0/30', 'fd00:9::1/126'))).toEqual([{
        path: 'services[0].vip6', message: 'expected an IPv4 or IPv6 address or prefix (a.b.c.d/len, x:y::/len), got "fd00:9::1/126": fd00:9::1/126: host bits are set; the network is fd00:9::/126',
      }]);
      expect(issuesOf(prefixes('10.0.9.0/30', '10.0.8.0/30'))).toEqual([{
        path: 'services[0].vip6', message: 'expected an IPv6 address or prefix, got the IPv4 prefix 10.0.8.0/30: a service has at most one VIP per family (the IPv4 one is vip)',
      }]);
      // The scheduler rule names the VIP that is a prefix.
      expect(issuesOf(prefixes('10.0.9.4', 'fd00:9::/126', '    scheduler: rr'))).toEqual([
        { path: 'services[0].vip6', message: 'a VIP prefix needs a destination-keyed scheduler (lblc, lblcr, dh), not rr' },
      ]);
      // Datapath decisions: a select group hashes the 5-tuple, so no prefix VIP of either family (and no destination-keyed scheduler).
      const datapath = issuesOf(`datapath: { nat: conntrack }\n${prefixes('10.0.9.0/30', 'fd00:9::4', '    scheduler: rr\n    decisions: datapath')}`);
      expect(datapath).toEqual([
        { path: 'services[0].vip', message: 'a VIP prefix needs a destination-keyed scheduler (lblc, lblcr, dh), not rr' },
        {
          path: 'services[0].decisions', message: 'datapath decisions need single-address VIPs, and vip 10.0.9.0/30 is a prefix: its connections are spread by destination '
            + '(lblc, lblcr, dh), which an OpenFlow 1.3 select group cannot do (it hashes the whole 5-tuple); use decisions: controller',
        },
      ]);
    });

    it('takes a persistence prefix per family: persistence_prefix for the IPv4 clients (0..32), persistence_prefix6 for the IPv6 ones', () => {
      const b = both('v-vm1', '10.0.0.11', 'fd00::11');
      const parsed = parseConfig(dual(b, '    persistence: 60\n    persistence_prefix: 24\n    persistence_prefix6: 64')).services[0];
      expect([parsed.persistence_prefix, parsed.persistence_prefix6]).toEqual([24, 64]);
      expect(issuesOf(dual(b, '    persistence: 60\n    persistence_prefix: 64'))).toEqual([
        { path: 'services[0].persistence_prefix', message: '64 is longer than an IPv4 address (the VIP 10.0.0.100 is IPv4): 0..32' },
      ]);
      expect(issuesOf(dual(b, '    persistence_prefix6: 64'))).toEqual([{ path: 'services[0].persistence_prefix6', message: 'only meaningful with persistence (seconds > 0)' }]);
      expect(issuesOf(service('    persistence: 60\n    persistence_prefix6: 64', backend('v-vm1', '10.0.0.11')))).toEqual([{
        path: 'services[0].persistence_prefix6',
        message: 'only a dual-stack service (with vip6) takes persistence_prefix6; this service\'s clients\' prefix length is persistence_prefix',
      }]);
    });

    it('counts each VIP as a listener: a single-family service on either of them collides', () => {
      const other = (vip: string) => `  - {name: other, vip: "${vip}", port: 80, backends: [{vnic: v-vm9, ip: "${vip.includes(':') ? 'fd00::99' : '10.0.0.99'}", ports: [80]}]}\n`;
      expect(issuesOf(dual(both('v-vm1', '10.0.0.11', 'fd00::11')) + other('fd00::100'))).toEqual([
        { path: 'services[1].vip', message: 'duplicate VIP [fd00::100]:80/tcp (also services[0])' },
        { path: 'services[1].vip_mac', message: '02:06:00:00:01:00 differs from 02:00:0a:00:00:64 of services[0] on the same VIP fd00::100' },
      ]);
    });
  });

  it('refuses IPv6 backends that no host can have, and fixed tagged addresses of the other family', () => {
    const v6 = (ip: string) => issuesOf(service('', backend('v-vm1', `"${ip}"`)).replace('vip: 10.0.0.100', 'vip: "fd00::64"'));
    expect(v6('::1')).toEqual([{ path: 'services[0].backends[0].ip', message: 'expected a unicast host address: ::1 is the loopback address ::1' }]);
    expect(v6('fe80::5%eth0')).toEqual([{ path: 'services[0].backends[0].ip', message: 'expected an IPv4 or IPv6 address, got "fe80::5%eth0"' }]);
    const tagged6 = (ips: string) => `services:\n  - {name: w, vip: "fd00::1", port: 80, backends: [], backends_from: {external_ids: {vadc-service: w}, ports: [80]${ips}}}\n`;
    expect(parseConfig(tagged6('')).services[0].backends_from?.ip_key).toBe('ip');
    expect(parseConfig(tagged6(', ip_key: ip6, ips: {"iface-id:p-1": "FD00:0::b"}')).services[0].backends_from?.ips).toEqual({ 'iface-id:p-1': 'fd00::b' });
    expect(issuesOf(tagged6(', ips: {"iface-id:p-1": 10.0.0.11}'))).toEqual([{
      path: 'services[0].backends_from.ips.iface-id:p-1', message: '10.0.0.11 is an IPv4 address and the VIP fd00::1 is IPv6: vadc does not translate between address families',
    }]);
  });

  it('takes persistence_prefix as the netmask of an IPv4 VIP and the prefix length of an IPv6 one', () => {
    const with6 = (extra: string) => service(`    persistence: 300\n${extra}`, backend('v-vm1', '"fd01::b"')).replace('vip: 10.0.0.100', 'vip: "fd00::64"');
    expect(parseConfig(with6('    persistence_prefix: 64\n')).services[0].persistence_prefix).toBe(64);
    expect(parseConfig(service('    persistence: 300\n    persistence_prefix: 24\n')).services[0].persistence_prefix).toBe(24);
    expect(issuesOf(service('    persistence: 300\n    persistence_prefix: 64\n'))).toEqual([{
      path: 'services[0].persistence_prefix', message: '64 is longer than an IPv4 address (the VIP 10.0.0.100 is IPv4): 0..32',
    }]);
    expect(issuesOf(with6('    persistence_prefix: 129\n'))).toEqual([{ path: 'services[0].persistence_prefix', message: 'expected an integer 0..128 (prefix length: 0..32 for an IPv4 VIP), got 129' }]);
    expect(issuesOf(service('    persistence_prefix: 24\n'))).toEqual([{ path: 'services[0].persistence_prefix', message: 'only meaningful with persistence (seconds > 0)' }]);
  });

  it('allows an IPv6 VIP prefix for destination-keyed schedulers, not one reaching into multicast', () => {
    const v6 = (vip: string) => service('    scheduler: dh', backend('v-vm1', '"fd01::b"')).replace('vip: 10.0.0.100', `vip: "${vip}"`);
    expect(parseConfig(v6('fd00:1::/64')).services[0].vip).toBe('fd00:1::/64');
    expect(issuesOf(v6('f000::/4'))).toEqual([{ path: 'services[0].vip', message: 'expected a prefix of unicast addresses: f000::/4 reaches into link-local fe80::/10' }]);
  });

  it('allows a VIP prefix only for destination-keyed schedulers', () => {
    expect(parseConfig(service('    scheduler: lblc').replace('10.0.0.100', '10.2.0.0/16')).services[0].vip).toBe('10.2.0.0/16');
    expect(issuesOf(service('    scheduler: rr').replace('10.0.0.100', '10.2.0.0/16'))).toEqual([
      { path: 'services[0].vip', message: 'a VIP prefix needs a destination-keyed scheduler (lblc, lblcr, dh), not rr' },
    ]);
  });

  it('requires ssl settings for ssl transports and a token for a tcp API', () => {
    expect(issuesOf('controller: {listen: "ssl:0.0.0.0:6653"}\napi: {listen: "tcp:0.0.0.0:8000"}\n')).toEqual([
      { path: 'controller.ssl', message: 'required when controller.listen is ssl: (cert, key, ca)' },
      { path: 'api.token', message: 'required for tcp:0.0.0.0:8000: a tcp listener is reachable by every local user (and beyond loopback by the network)' },
    ]);
  });

  it('rejects a health timeout not shorter than the interval', () => {
    expect(issuesOf(service('    health: {type: tcp, interval: 2, timeout: 2}'))).toEqual([
      { path: 'services[0].health.timeout', message: 'must be shorter than health.interval (2 s)' },
    ]);
  });
});

describe('health and failover settings (used by src/health)', () => {
  it('accepts status codes and ranges, body text or pattern, and failover bands', () => {
    const web = parseConfig(service(`    health: {type: https, expect_status: [200, "300-399"], expect_body_match: "^ok", tls_verify: true}
    failover: {hold: 30, conns_per_backend: {high: 100, low: 80}}`)).services[0];
    expect(web.health).toMatchObject({ type: 'https', path: '/', expect_status: [200, '300-399'], expect_body_match: '^ok', tls_verify: true });
    expect(web.failover).toEqual({ hold: 30, conns_per_backend: { high: 100, low: 80 } });
  });

  it.each([
    ['    health: {type: http, expect_status: 700}', 'services[0].health.expect_status', 'expected an HTTP status 100..599 or a range "200-299", got 700'],
    ['    health: {type: http, expect_body_match: "(unclosed"}', 'services[0].health.expect_body_match', expect.stringMatching(/^not a valid regular expression: /)],
    ['    health: {type: http, expect_body: ok, expect_body_match: ok}', 'services[0].health.expect_body_match', 'give expect_body or expect_body_match, not both'],
    ['    health: {type: http, tls_verify: true}', 'services[0].health.tls_verify', 'only meaningful for https checks'],
    ['    health: {type: udp, send: x, expect: a, expect_match: b}', 'services[0].health.expect_match', 'give expect or expect_match, not both'],
    ['    health: {type: script}', 'services[0].health.command', 'missing; expected a command string or a non-empty list of arguments'],
    ['    failover: {queue_measure: {high: 1, low: 2}}', 'services[0].failover.queue_measure.low', 'must not exceed high (1)'],
    ['    launch: {command: x, backoff: 10, backoff_max: 5}', 'services[0].launch.backoff_max', 'must be at least launch.backoff (10 s)'],
    ['    sorry_backend: {vnic: v-vm1, ip: 10.0.0.9, ports: [80]}', 'services[0].sorry_backend.name', '"v-vm1" is also a tiered backend; the sorry backend must be a separate one'],
  ])('%s', (line, path, message) => {
    expect(issuesOf(service(line))).toEqual([{ path, message }]);
  });
});

describe('the annotated full example', () => {
  it('loads, so every key it documents is accepted', async () => {
    const config = await loadConfig(join(examples, 'full.yaml'));
    expect(config.services[0].backends.map((b) => b.name)).toEqual(['vm1', 'iface-id:vm2-eth0']);
    expect(config.services[0].backends_from).toMatchObject({ external_ids: { 'vadc-service': 'web' }, ports: [8080], ip_key: 'ip' });
    expect(config.services[0].sorry_backend?.name).toBe('mac:52:54:00:00:00:99');
    expect(config.log).toEqual({ level: 'info', format: 'json' });
    expect(config.services[1].payload_rules?.rules.map((r) => r.name)).toEqual(['version-2', 'hello', 'bulk']);
    expect(config.services[2]).toMatchObject({ vip: '10.0.0.101', vip6: 'fd00::101', backends: [{ ip6: 'fd00::41' }, { ip6: 'fd00::42' }] });
    expect(config.egress).toEqual({ port: 'eth1', qos_type: 'linux-htb', max_rate: 10_000_000_000, police: false });
    expect(config.services[0].backends[0].queue).toEqual({ min_rate: 100_000_000, max_rate: 500_000_000, priority: 1 });
    expect(config.cluster).toMatchObject({ host: 'hv-07', group: 'web-tier', uplink: 'eth1', report_interval: 10 });
  });
});

describe('the cluster: key', () => {
  it('a host joins a cluster with remotes, a name and optionally a group, an uplink and a cache path; services may be empty', () => {
    const config = parseConfig('cluster:\n  remotes: unix:/a,tcp:10.0.0.2:6641\n  host: hv-07.rack1\n  group: web\n  uplink: eth1\nservices: []\n');
    expect(config.cluster).toEqual({ remotes: 'unix:/a,tcp:10.0.0.2:6641', host: 'hv-07.rack1', group: 'web', uplink: 'eth1' });
    expect(config.services).toEqual([]);
  });

  it('bad remotes, names and keys are named with their path', () => {
    expect(issuesOf('cluster:\n  remotes: http://x\n  host: h 1\n  colour: red\n')).toEqual([
      { path: 'cluster.remotes', message: expect.stringMatching(/http:\/\/x/) },
      { path: 'cluster.host', message: 'expected a host name ([A-Za-z0-9_.-], 1..63), got "h 1"' },
      { path: 'cluster.colour', message: 'unknown key; allowed here: remotes, host, group, uplink, policy_cache, report_interval' },
    ]);
    expect(issuesOf('cluster:\n  remotes: unix:/a\n')).toEqual([{ path: 'cluster.host', message: 'missing; expected a host name ([A-Za-z0-9_.-], 1..63)' }]);
  });

  it('report_interval: seconds between reports when nothing changed, 0.1..3600; absent: 10', () => {
    const base = 'cluster:\n  remotes: unix:/a\n  host: h1\n';
    expect(parseConfig(`${base}  report_interval: 2.5\n`).cluster?.report_interval).toBe(2.5);
    expect(parseConfig(`${base}  report_interval: 0.1\n`).cluster?.report_interval).toBe(0.1);
    expect(parseConfig(base).cluster?.report_interval).toBeUndefined();
    for (const bad of ['0', '-1', '0.05', '3601', '"10s"', 'null', '[1]']) {
      expect(issuesOf(`${base}  report_interval: ${bad}\n`)).toEqual([
        { path: 'cluster.report_interval', message: expect.stringMatching(/^expected a number of seconds 0\.1\.\.3600/) },
      ]);
    }
  });

  it('ssl: remotes need the controller\'s TLS files', () => {
    expect(issuesOf('cluster:\n  remotes: ssl:10.0.0.1:6641\n  host: h1\n')).toEqual([
      { path: 'controller.ssl', message: 'required when cluster.remotes has an ssl: remote (the same cert, key and ca are used)' },
    ]);
  });
});

describe('controller.ha', () => {
  it('names the bad value and the range', () => {
    expect(() => parseConfig('controller: { ha: { takeover_after: 50 } }', 'x.yaml')).toThrow(/controller\.ha\.takeover_after.*200\.\.60000/);
    expect(() => parseConfig('controller: { ha: { election: raft } }', 'x.yaml')).toThrow(/controller\.ha\.election/);
    expect(() => parseConfig('controller: { ha: { dir: relative/dir } }', 'x.yaml')).toThrow(/controller\.ha\.dir/);
  });
  it('cluster election needs a cluster: section', () => {
    expect(issuesOf('controller: { ha: { election: cluster } }\n')).toEqual([
      { path: 'controller.ha.election', message: 'cluster needs a cluster: section (the pair elects through the cluster store); use host or auto without one' },
    ]);
    expect(parseConfig('controller: { ha: { election: cluster } }\ncluster: { remotes: "tcp:10.0.0.1:6641", host: h1 }\n', 'x.yaml').controller.ha.election).toBe('cluster');
  });
});

describe('backends_from: VMs that join by tag', () => {
  const tagged = (from: string, backends = '') => `services:
  - name: web
    vip: 10.0.0.100
    port: 80
    backends_from: ${from}
${backends}`;

  it('needs no configured backend, and fills its defaults', () => {
    const [web] = parseConfig(tagged('{ external_ids: { vadc-service: web }, ports: [8080] }'), 't.yaml').services;
    expect(web.backends).toEqual([]);
    expect(web.backends_from).toEqual({ external_ids: { 'vadc-service': 'web' }, ports: [8080], ip_key: 'ip', ips: {}, weight: 1, max_backends: 256 });
  });

  it('works beside configured backends, and takes fixed addresses by any vNIC selector', () => {
    const [web] = parseConfig(tagged(
      '{ external_ids: { vadc-service: web, env: prod }, ports: [8080, 8081], ips: { "vm-uuid:0b5c": 10.0.0.21, "iface-id:p-2": 10.0.0.22, tap7: 10.0.0.23 }, weight: 3 }',
      '    backends: [{ vnic: "iface-id:fixed", ip: 10.0.0.11, ports: [8080] }]',
    ), 't.yaml').services;
    expect(web.backends.map((b) => b.name)).toEqual(['iface-id:fixed']);
    expect(web.backends_from?.ips).toEqual({ 'vm-uuid:0b5c': '10.0.0.21', 'iface-id:p-2': '10.0.0.22', tap7: '10.0.0.23' });
  });

  it.each([
    ['{ ports: [8080] }', 'services[0].backends_from.external_ids', 'missing; expected a mapping of external_ids keys to values, e.g. { vadc-service: web }'],
    ['{ external_ids: {}, ports: [8080] }', 'services[0].backends_from.external_ids', 'expected 1..16 external_ids pairs, all of which an interface must carry'],
    ['{ external_ids: { "bad key": x }, ports: [8080] }', 'services[0].backends_from.external_ids.bad key', 'expected an external_ids key ([A-Za-z0-9_.:-], 1..64), got "bad key"'],
    ['{ external_ids: { vadc-service: "" }, ports: [8080] }', 'services[0].backends_from.external_ids.vadc-service', 'expected a non-empty external_ids value, got ""'],
    ['{ external_ids: { vadc-service: web } }', 'services[0].backends_from.ports', 'missing; expected a list of port numbers'],
    ['{ external_ids: { vadc-service: web }, ports: [] }', 'services[0].backends_from.ports', 'expected at least one software port'],
    ['{ external_ids: { vadc-service: web }, ports: [8080, 8080] }', 'services[0].backends_from.ports[1]', 'duplicate port 8080'],
    ['{ external_ids: { vadc-service: web }, ports: [8080], ips: { "vm-uuid:": 10.0.0.5 } }', 'services[0].backends_from.ips.vm-uuid:', 'expected an id after "vm-uuid:"'],
    ['{ external_ids: { vadc-service: web }, ports: [8080], ips: { "host:x": 10.0.0.5 } }', 'services[0].backends_from.ips.host:x',
      'expected an interface name or one of iface-id:, mac:, vm-uuid:, vm-id:, got "host:x"'],
    ['{ external_ids: { vadc-service: web }, ports: [8080], ips: { tap1: 10.0.0.100 } }', 'services[0].backends_from.ips.tap1', 'must differ from the VIP 10.0.0.100'],
    ['{ external_ids: { vadc-service: web }, ports: [8080], ips: { tap1: 10.0.0.5, tap2: 10.0.0.5 } }', 'services[0].backends_from.ips.tap2',
      '10.0.0.5 is also given to tap1; each VM needs its own address'],
    ['{ external_ids: { vadc-service: web }, ports: [8080], max_backends: 0 }', 'services[0].backends_from.max_backends', 'expected an integer 1..4096, got 0'],
    ['{ external_ids: { vadc-service: web }, ports: [8080], by: name }', 'services[0].backends_from.by',
      'unknown key; allowed here: external_ids, ports, ip_key, ips, ip6_key, ips6, weight, max_backends, tags'],
  ])('rejects %s', (from, path, message) => {
    expect(issuesOf(tagged(from))).toEqual([{ path, message }]);
  });

  it('rejects a fixed address that is also a configured backend\'s', () => {
    expect(issuesOf(tagged('{ external_ids: { t: web }, ports: [80], ips: { tap1: 10.0.0.11 } }', '    backends: [{ vnic: tap9, ip: 10.0.0.11, ports: [80] }]'))).toEqual([
      { path: 'services[0].backends_from.ips.tap1', message: '10.0.0.11 is also the address of backends[0]; a VM is either configured or tagged, not both' },
    ]);
  });

  it('counts tagged backends as tier 0 and does not hold quorum against the configured ones alone', () => {
    const text = tagged('{ external_ids: { t: web }, ports: [80] }', '    quorum: 3\n    backends: [{ vnic: tap9, ip: 10.0.0.11, ports: [80], tier: 1 }]');
    expect(parseConfig(text, 't.yaml').services[0].quorum).toBe(3);
  });

  it('accepts vm-uuid: and vm-id: as a backend vNIC and rejects unknown selector kinds', () => {
    const ok = service('', '\n      - { vnic: "vm-uuid:0b5c", ip: 10.0.0.11, ports: [80] }\n      - { vnic: "vm-id:77aa", ip: 10.0.0.12, ports: [80] }');
    expect(parseConfig(ok, 't.yaml').services[0].backends.map((b) => b.name)).toEqual(['vm-uuid:0b5c', 'vm-id:77aa']);
    expect(issuesOf(service('', '\n      - { vnic: "uuid:0b5c", ip: 10.0.0.11, ports: [80] }'))).toEqual([
      { path: 'services[0].backends[0].vnic', message: 'expected an interface name or one of iface-id:, mac:, vm-uuid:, vm-id:, got "uuid:0b5c"' },
    ]);
  });
});

describe('relocate: the corrective action for a backend that stays overloaded', () => {
  const withRelocate = (relocate: string) => service(`    relocate: ${relocate}`);

  it('fills its defaults: a long timeout for live migrations, one attempt, one at a time', () => {
    const [web] = parseConfig(withRelocate('{ command: [/usr/local/bin/migrate-vm], conns_above: 100 }'), 't.yaml').services;
    expect(web.relocate).toEqual({
      command: ['/usr/local/bin/migrate-vm'], timeout: 600, env: {}, conns_above: 100, overloaded_for: 60, max_attempts: 1,
      backoff: 30, backoff_max: 300, rearm: 600, max_concurrent: 1,
    });
  });

  it.each([
    ['{ command: [/usr/local/bin/migrate-vm] }', 'services[0].relocate.conns_above', 'missing; expected a non-negative integer'],
    ['{ command: [bin/migrate-vm], conns_above: 5 }', 'services[0].relocate.command[0]', expect.stringContaining('absolute')],
    ['{ command: [/usr/local/bin/migrate-vm], conns_above: 5, backoff: 60, backoff_max: 10 }', 'services[0].relocate.backoff_max', 'must be at least relocate.backoff (60 s)'],
    ['{ command: [/usr/local/bin/migrate-vm], conns_above: 5, max_concurrent: 0 }', 'services[0].relocate.max_concurrent', 'expected an integer 1..64, got 0'],
  ])('rejects %s', (relocate, path, message) => {
    expect(issuesOf(withRelocate(relocate))).toEqual([{ path, message }]);
  });
});
