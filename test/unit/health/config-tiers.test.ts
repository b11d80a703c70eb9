// Tier and sorry-backend settings that cannot work are rejected where they enter: the configuration
// (every problem with the path to fix), the running daemon's applyConfig, and the health module itself.
import { ConfigError, parseConfig } from '../../../src/config';
import { VadcDaemon } from '../../../src/daemon/daemon';
import { ServiceHealthMonitor } from '../../../src/health';
import { RuntimeError } from '../../../src/runtime/types';
import { noVswitchd } from '../../helpers/nat-mode';

function config(backends: string, extra = ''): string {
  return `
controller: { listen: "tcp:127.0.0.1:0" }
ovsdb: unix:/nonexistent/db.sock
services:
  - name: web
    vip: 10.0.0.100
    port: 80
${extra}    backends:
${backends}`;
}

const GOOD = config('      - { vnic: v-vm1, ip: 10.0.0.11, ports: [8080] }');
const TIER_GAP = config(`      - { vnic: v-vm1, ip: 10.0.0.11, ports: [8080], tier: 0 }
      - { vnic: v-vm2, ip: 10.0.0.12, ports: [8080], tier: 2 }`);

function issuesOf(text: string): string[] {
  try {
    parseConfig(text, 'test');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('the configuration was accepted');
}

describe('tier configuration errors', () => {
  it('a tier with no tier below it names the backend path', () => {
    expect(issuesOf(TIER_GAP)).toEqual(['services[0].backends[1].tier: tier 2 has no backend in tier 1; tiers must be contiguous from 0']);
  });

  it('a quorum larger than the primary tier and a sorry backend that is also tiered are each named', () => {
    const issues = issuesOf(config(`      - { name: a, vnic: v-vm1, ip: 10.0.0.11, ports: [8080] }
      - { name: b, vnic: v-vm2, ip: 10.0.0.12, ports: [8080], tier: 1 }`, `    quorum: 2
    sorry_backend: { name: b, vnic: v-vm3, ip: 10.0.0.13, ports: [8080] }
`));
    expect(issues).toEqual(expect.arrayContaining([
      'services[0].quorum: 2 exceeds the 1 tier-0 backend(s)',
      'services[0].sorry_backend.name: "b" is also a tiered backend; the sorry backend must be a separate one',
    ]));
  });

  it('the running daemon refuses such a configuration as invalid input and keeps its own', async () => {
    const daemon = new VadcDaemon({ probeVswitchd: noVswitchd, config: parseConfig(GOOD, 'good'), configText: GOOD, ovsdb: false });
    try {
      const attempt = daemon.applyConfig(TIER_GAP);
      await expect(attempt).rejects.toBeInstanceOf(RuntimeError);
      await expect(attempt).rejects.toMatchObject({ code: 'invalid', message: expect.stringContaining('services[0].backends[1].tier') });
      expect(daemon.configText()).toBe(GOOD);
    } finally {
      await daemon.stop();
    }
  });

  it('the health module rejects a sorry backend that is also tiered and a backend listed twice', () => {
    const base = {
      service: 'web', intervalMs: 1000, riseFall: { rise: 1, fall: 1 },
      launch: { readyTimeoutMs: 1000, maxAttempts: 1, backoffBaseMs: 0, backoffMaxMs: 0, rearmMs: 0 },
    };
    const vm1 = { id: 'vm1', vnic: 'v-vm1', ip: '10.0.0.11', ports: [80], tier: 0, weight: 1 };
    expect(() => new ServiceHealthMonitor({ ...base, backends: [vm1], tiers: { holdMs: 0, sorryBackend: 'vm1' } }))
      .toThrow('service web: the sorry backend vm1 must not also be a tiered backend');
    expect(() => new ServiceHealthMonitor({ ...base, backends: [vm1, vm1], tiers: { holdMs: 0 } }))
      .toThrow('service web: backend vm1 is listed twice');
  });
});
