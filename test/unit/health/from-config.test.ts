import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../../src/config';
import { CheckScheduler, ServiceHealthMonitor, checkSpecFromConfig, healthOptionsFromConfig } from '../../../src/health';

const full = parseConfig(readFileSync(join(__dirname, '../../../examples/full.yaml'), 'utf8'), 'full.yaml');

describe('healthOptionsFromConfig', () => {
  const scheduler = new CheckScheduler({ concurrency: 1 });
  afterAll(() => scheduler.stop());

  it('maps the annotated example to monitor options', () => {
    const opts = healthOptionsFromConfig(full.services[0], { scheduler, sourceAddresses: { ipv4: '10.0.0.1', ipv6: 'fd00::1' } });
    expect(opts.backends.map((b) => [b.id, b.tier, b.ports.join()])).toEqual([['vm1', 0, '8080,8081'], ['iface-id:vm2-eth0', 1, '8080']]);
    expect(opts.backends[1].launch).toEqual({ command: ['/usr/local/bin/start-vm', 'web'], timeoutMs: 30_000, env: { SITE: 'lab' } });
    expect(opts.backends[1].stop?.command).toBe('/usr/local/bin/stop-vm web');
    expect(opts).toMatchObject({
      intervalMs: 1000,
      riseFall: { rise: 2, fall: 2 },
      tiers: { quorum: 1, holdMs: 10_000, connsPerBackend: { high: 500, low: 400 }, queueMeasure: { high: 0.8, low: 0.5 }, dropsRising: 100, sorryBackend: 'mac:52:54:00:00:00:99' },
      launch: { readyTimeoutMs: 120_000, maxAttempts: 3, backoffBaseMs: 5000, backoffMaxMs: 60_000, rearmMs: 300_000, stopCooldownMs: 300_000 },
    });
    expect(opts.checkFor?.(opts.backends[0], 8081)).toEqual({
      kind: 'http',
      host: '10.0.0.11',
      port: 8081,
      timeoutMs: 400,
      sourceAddress: '10.0.0.1',
      path: '/healthz',
      expectStatus: [{ from: 200, to: 299 }],
      expectBody: 'ok',
      hostHeader: 'web.example',
      tlsVerify: false,
    });
    expect(() => new ServiceHealthMonitor(opts)).not.toThrow();
  });

  it('sends each check from the source address of its backend\'s family, or lets the kernel choose', () => {
    const tcp = { type: 'tcp', interval: 5, timeout: 1, rise: 1, fall: 1 } as const;
    const at = (ip: string) => ({ id: 'vm1', vnic: 'v-vm1', ip, ports: [80], tier: 0, weight: 1 });
    const both = { ipv4: '10.0.0.1', ipv6: 'fd00::1' };
    const from = (ip: string, sources?: { ipv4?: string; ipv6?: string }) => (checkSpecFromConfig(tcp, 'web', at(ip), 80, sources) as { sourceAddress?: string }).sourceAddress;
    expect([from('10.0.0.11', both), from('fd00::11', both), from('fd00::11', { ipv4: '10.0.0.1' }), from('10.0.0.11', { ipv6: 'fd00::1' }), from('fd00::11')])
      .toEqual(['10.0.0.1', 'fd00::1', undefined, undefined, undefined]);
  });

  it('gives a script check its target in VADC_* variables and compiles body patterns', () => {
    const backend = { id: 'vm1', vnic: 'v-vm1', ip: '10.0.0.11', ports: [80], tier: 0, weight: 1 };
    const script = checkSpecFromConfig({ type: 'script', interval: 5, timeout: 2, rise: 1, fall: 1, command: '/bin/check', env: { A: 'b' } }, 'web', backend, 80);
    expect(script).toEqual({ kind: 'script', command: '/bin/check', timeoutMs: 2000, env: { A: 'b', VADC_SERVICE: 'web', VADC_BACKEND: 'vm1', VADC_VNIC: 'v-vm1', VADC_IP: '10.0.0.11', VADC_PORT: '80' } });
    const udp = checkSpecFromConfig({ type: 'udp', interval: 5, timeout: 1, rise: 1, fall: 1, send: 'ping', expect_match: '^pong' }, 'dns', backend, 53);
    expect(udp).toMatchObject({ kind: 'udp', port: 53, send: 'ping', expect: /^pong/ });
  });

  it('checks a dual-stack backend at its ip and, for family ipv6, at its ip6, each from its family\'s source address', () => {
    const [api] = parseConfig(`
services:
  - name: api
    vip: 10.0.0.100
    vip6: "fd00::100"
    port: 80
    health: { type: tcp, interval: 1, timeout: 0.5 }
    backends:
      - { vnic: v-vm1, ip: 10.0.0.11, ip6: "fd00::11", ports: [8080] }
`, 'test').services;
    const opts = healthOptionsFromConfig(api, { scheduler, sourceAddresses: { ipv4: '10.0.0.1', ipv6: 'fd00::1' } });
    const [b] = opts.backends;
    expect([b.ip, b.ip6]).toEqual(['10.0.0.11', 'fd00::11']);
    expect([opts.checkFor?.(b, 8080), opts.checkFor?.(b, 8080, 'ipv4'), opts.checkFor?.(b, 8080, 'ipv6')].map((c) => c && 'host' in c && [c.host, c.sourceAddress]))
      .toEqual([['10.0.0.11', '10.0.0.1'], ['10.0.0.11', '10.0.0.1'], ['fd00::11', 'fd00::1']]);
    const script = { type: 'script', interval: 5, timeout: 2, rise: 1, fall: 1, command: '/bin/check', env: {} } as const;
    expect([checkSpecFromConfig(script, 'api', b, 8080), checkSpecFromConfig(script, 'api', b, 8080, undefined, 'ipv6')].map((c) => c.kind === 'script' && c.env?.VADC_IP))
      .toEqual(['10.0.0.11', 'fd00::11']);
    const single = { ...b, ip6: undefined };
    expect(() => checkSpecFromConfig(script, 'api', single, 8080, undefined, 'ipv6')).toThrow('service api: backend v-vm1 has no IPv6 address to check');
  });

  it('a service without a health section is passive-only', () => {
    const { health: _omit, ...passive } = full.services[0];
    expect(healthOptionsFromConfig(passive, { scheduler }).checkFor).toBeUndefined();
  });
});
