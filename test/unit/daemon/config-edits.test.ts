// The control API's add-service as the daemon makes it: an edit of the configuration's services, then the same parse
// and rules as a `config apply` (src/daemon/config-edits.ts, then parseConfig). Prefix VIPs go through that path.
import { stringify } from 'yaml';
import { ConfigError, parseConfig } from '../../../src/config';
import { parseServiceSpec } from '../../../src/api/schemas';
import { editConfig } from '../../../src/daemon/config-edits';

const base = parseConfig(`services:
  - {name: web, vip: 10.0.0.100, port: 80, backends: [{vnic: v1, ip: 10.0.0.11, ports: [8080]}]}
`);

function addService(body: unknown) {
  return parseConfig(stringify(editConfig(base, [], { op: 'add_service', spec: parseServiceSpec(body) })), 'add service');
}

function issuesOfAdding(body: unknown): string[] {
  try {
    addService(body);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected the added service to be refused');
}

describe('add service through the control API: prefix VIPs', () => {
  const backends = [{ vnic: 'v2', ip: '10.0.0.12', ip6: 'fd00::12', ports: [8080] }];

  it('takes a prefix VIP of either family (dh), written back canonical', () => {
    const added = addService({ name: 'tenant', vip: '10.0.9.0/30', vip6: 'fd00:9:0::/126', port: 80, scheduler: 'dh', backends });
    expect(added.services.map((s) => [s.name, s.vip, s.vip6])).toEqual([['web', '10.0.0.100', undefined], ['tenant', '10.0.9.0/30', 'fd00:9::/126']]);
  });

  it('refuses, with the rule that applies, a prefix with a scheduler that does not key on the destination, host bits set, and a backend inside it', () => {
    expect(issuesOfAdding({ name: 'tenant', vip: '10.0.9.0/30', port: 80, scheduler: 'rr', backends: [{ vnic: 'v2', ip: '10.0.0.12', ports: [8080] }] }))
      .toEqual(['services[1].vip: a VIP prefix needs a destination-keyed scheduler (lblc, lblcr, dh), not rr']);
    expect(issuesOfAdding({ name: 'tenant', vip: '10.0.9.1/30', port: 80, scheduler: 'dh', backends: [{ vnic: 'v2', ip: '10.0.0.12', ports: [8080] }] }))
      .toEqual([expect.stringMatching(/^services\[1\]\.vip: .*host bits are set; the network is 10\.0\.9\.0\/30$/)]);
    expect(issuesOfAdding({ name: 'tenant', vip: '10.0.0.0/27', port: 81, scheduler: 'dh', backends: [{ vnic: 'v2', ip: '10.0.0.12', ports: [8080] }] }))
      .toEqual([
        expect.stringMatching(/^services\[0\]\.backends\[0\]\.ip: 10\.0\.0\.11 lies inside the VIP prefix services\[1\]\.vip 10\.0\.0\.0\/27 \(service tenant\)/),
        expect.stringMatching(/^services\[1\]\.backends\[0\]\.ip: 10\.0\.0\.12 lies inside the VIP prefix services\[1\]\.vip 10\.0\.0\.0\/27 \(service tenant\)/),
      ]);
  });

  it('refuses what is no address or prefix at the API, naming the field', () => {
    for (const vip of ['10.0.0.0/x', '10.0.0.0/24/1', '10.0.0.0/', 'fe80::1%eth0/64', 'web']) {
      expect(() => parseServiceSpec({ name: 'x', vip, port: 80, backends })).toThrow(
        'invalid request body: vip: must be an IPv4 or IPv6 address, or a prefix a.b.c.d/len or x:y::/len (lblc, lblcr, dh)',
      );
    }
  });
});
