import { parseConfig } from '../../../src/config';
import { issuesOf } from '../../helpers/config-issues';

/** A UDP (or `protocol`) service with three backends and the given payload_rules section (YAML, indented 4). */
function config(section: string, protocol = 'udp', extra = ''): string {
  return `services:
  - name: game
    vip: 10.0.0.100
    port: 7777
    protocol: ${protocol}
${extra}
    backends:
      - { name: vm1, vnic: v-vm1, ip: 10.0.0.11, ports: [7777] }
      - { name: vm2, vnic: v-vm2, ip: 10.0.0.12, ports: [7777] }
      - { name: vm3, vnic: v-vm3, ip: 10.0.0.13, ports: [7777] }
    payload_rules:
${section.split('\n').map((l) => `      ${l}`).join('\n')}
`;
}


const POOLS = `pools:
  v1: [vm1, vm2]
  v2: [vm3]
default_pool: v1`;

describe('payload_rules config', () => {
  it('parses rules with bytes, masks, prefixes and lengths, names them by position and normalises hex', () => {
    const parsed = parseConfig(config(`${POOLS}
rules:
  - { name: version-2, offset: 1, bytes: "0x02", pool: v2 }
  - { offset: 4, bytes: "00:07", mask: "FF FF", pool: v2 }
  - { prefix: "4845", length: { min: 10 }, pool: v1 }
malformed: refuse`), 'test.yaml');
    const rules = parsed.services[0].payload_rules!;
    expect(rules.rules).toEqual([
      { name: 'version-2', offset: 1, bytes: '02', pool: 'v2' },
      { name: 'rule-2', offset: 4, bytes: '0007', mask: 'ffff', pool: 'v2' },
      { name: 'rule-3', offset: 0, prefix: '4845', length: { min: 10, max: 65527 }, pool: 'v1' },
    ]);
    expect(rules).toMatchObject({ default_pool: 'v1', malformed: 'refuse', pools: { v1: ['vm1', 'vm2'], v2: ['vm3'] } });
  });

  it('refuses rules on a TCP service, saying TCP payload routing needs a proxy', () => {
    const issues = issuesOf(config(POOLS, 'tcp'));
    expect(issues).toHaveLength(1);
    expect(issues[0].path).toBe('services[0].payload_rules');
    expect(issues[0].message).toMatch(/payload rules are for UDP services: .*handshake.*proxy.*out of scope/);
  });

  it('refuses datapath decisions, which never show vadc the first datagram', () => {
    const issues = issuesOf(config(POOLS, 'udp', '    decisions: datapath\n    scheduler: rr'));
    expect(issues.map((i) => i.path)).toEqual(['services[0].payload_rules']);
    expect(issues[0].message).toMatch(/need decisions: controller/);
  });

  it('names an empty pool', () => {
    expect(issuesOf(config('pools: { v1: [vm1], empty: [] }\ndefault_pool: v1'))).toEqual([
      { path: 'services[0].payload_rules.pools.empty', message: 'expected at least one backend; an empty pool could serve no flow' },
    ]);
  });

  it('names a pool entry that is not a backend of the service, and one listed twice', () => {
    expect(issuesOf(config('pools: { v1: [vm1, vm9, vm1] }\ndefault_pool: v1'))).toEqual([
      { path: 'services[0].payload_rules.pools.v1[1]', message: '"vm9" is not a backend of this service (its backends: vm1, vm2, vm3)' },
      { path: 'services[0].payload_rules.pools.v1[2]', message: 'backend "vm1" is listed twice' },
    ]);
  });

  it('takes pools by tag, from backends\' and backends_from\'s tags, and names a tag no backend carries', () => {
    const text = config('pools: { v1: [vm1, { tag: blue }], v2: [{ tag: green }] }\ndefault_pool: v1', 'udp',
      '    backends_from: { external_ids: { vadc-service: game }, ports: [7777], tags: [green] }')
      .replace('ports: [7777] }\n      - { name: vm2', 'ports: [7777], tags: [blue] }\n      - { name: vm2');
    expect(parseConfig(text, 'test.yaml').services[0].payload_rules!.pools).toEqual({ v1: ['vm1', { tag: 'blue' }], v2: [{ tag: 'green' }] });
    expect(issuesOf(config('pools: { v1: [vm1, { tag: red }, { tag: red }] }\ndefault_pool: v1'))).toEqual([
      { path: 'services[0].payload_rules.pools.v1[1].tag', message: 'no backend carries the tag red (give backends, or backends_from, tags: [red])' },
      { path: 'services[0].payload_rules.pools.v1[2]', message: 'tag red is listed twice' },
      { path: 'services[0].payload_rules.pools.v1[2].tag', message: 'no backend carries the tag red (give backends, or backends_from, tags: [red])' },
    ]);
  });

  it('names rules and a default pool that point at no pool', () => {
    const issues = issuesOf(config(`pools: { v1: [vm1] }
rules:
  - { prefix: "01", pool: v3 }
default_pool: v4`));
    expect(issues).toEqual([
      { path: 'services[0].payload_rules.default_pool', message: 'no pool named "v4" (pools: v1)' },
      { path: 'services[0].payload_rules.rules[0].pool', message: 'no pool named "v3" (pools: v1)' },
    ]);
  });

  it('refuses bytes beyond the largest datagram, for the VIP family', () => {
    const issues = issuesOf(config(`${POOLS}
rules:
  - { offset: 65506, bytes: "0102", pool: v2 }
  - { offset: 65506, bytes: "01", pool: v2 }`));
    expect(issues).toEqual([
      { path: 'services[0].payload_rules.rules[0].offset', message: expect.stringMatching(/bytes 65506\.\.65507 lie beyond the largest IPv4 UDP payload \(65507 bytes\)/) },
    ]);
    expect(issuesOf(config(`${POOLS}
rules:
  - { offset: 70000, bytes: "01", pool: v2 }`))).toEqual([
      { path: 'services[0].payload_rules.rules[0].offset', message: 'expected an offset 0..65527 (bytes into the UDP payload), got 70000' },
    ]);
  });

  it('checks masks and conditions', () => {
    const issues = issuesOf(config(`${POOLS}
rules:
  - { bytes: "0102", mask: "ff", pool: v2 }
  - { bytes: "0f", mask: "f0", pool: v2 }
  - { pool: v2 }
  - { prefix: "01", bytes: "02", pool: v2 }
  - { offset: 3, pool: v2, length: { min: 5 } }
  - { prefix: "0102", length: { min: 9, max: 1 }, pool: v2 }`));
    expect(issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'services[0].payload_rules.rules[0].mask: expected 2 bytes, as long as bytes; got 1',
      'services[0].payload_rules.rules[1].bytes: byte 0 has bits the mask clears, so the rule could never match; clear them in bytes too',
      expect.stringMatching(/^services\[0\]\.payload_rules\.rules\[2\]: a rule needs bytes, prefix or length/),
      'services[0].payload_rules.rules[3].prefix: give prefix (bytes at offset 0) or bytes at an offset, not both',
      'services[0].payload_rules.rules[4].offset: an offset needs bytes to compare there',
      'services[0].payload_rules.rules[5].length.min: must not exceed length.max (1)',
      'services[0].payload_rules.rules[5].length.max: the rule reads bytes up to 1, so no payload of at most 1 bytes could match',
    ]);
  });

  it('refuses text that is not hex bytes', () => {
    const issues = issuesOf(config(`${POOLS}
rules:
  - { bytes: "0g", pool: v2 }
  - { prefix: "123", pool: v2 }`));
    expect(issues.map((i) => i.path)).toEqual(['services[0].payload_rules.rules[0].bytes', 'services[0].payload_rules.rules[1].prefix']);
    expect(issues[0].message).toBe('expected hex bytes, e.g. "0a1b" or "0a:1b" (1..64 bytes), got "0g"');
  });

  it('refuses unknown keys and a bad malformed action', () => {
    const issues = issuesOf(config(`${POOLS}
malformed: drop
rules:
  - { prefix: "01", pool: v2, tag: x }`));
    expect(issues.map((i) => i.path)).toEqual(['services[0].payload_rules.rules[0].tag', 'services[0].payload_rules.malformed']);
    expect(issues[0].message).toMatch(/unknown key; allowed here: name, offset, bytes, mask, prefix, length, pool/);
    expect(issues[1].message).toBe('expected one of default, refuse, got "drop"');
  });
});
