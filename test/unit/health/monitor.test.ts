import net from 'node:net';
import { CheckScheduler, ServiceHealthMonitor, checkSpecFromConfig, type HookContext, type HookResult, type LaunchPolicy, type MonitoredBackend, type ServiceHealthOptions } from '../../../src/health';
import type { VadcEvent } from '../../../src/runtime/types';

const LAUNCH: LaunchPolicy = { readyTimeoutMs: 10_000, maxAttempts: 2, backoffBaseMs: 1000, backoffMaxMs: 1000, rearmMs: 60_000 };
const PASS = { ok: true, reason: 'connected', output: '', durationMs: 1 };
const HOOK = { command: ['/usr/local/bin/start-vm'], timeoutMs: 5000 };

const primary: MonitoredBackend = { id: 'p1', vnic: 'v-p1', ip: '10.0.0.11', ports: [80], tier: 0, weight: 3 };
const secondary: MonitoredBackend = { id: 's1', vnic: 'v-s1', ip: '10.0.0.21', ports: [80], tier: 1, weight: 1, launch: HOOK };

/** A monitor on a hand-driven clock with a hook runner whose results the test decides. */
function harness(hookResults: HookResult[], extra: Partial<ServiceHealthOptions> = {}) {
  let clock = 0;
  const events: VadcEvent[] = [];
  const hookCalls: HookContext[] = [];
  const monitor = new ServiceHealthMonitor({
    service: 'web',
    backends: [primary, secondary],
    intervalMs: 1000,
    riseFall: { rise: 2, fall: 2 },
    tiers: { holdMs: 5000 },
    launch: LAUNCH,
    now: () => clock,
    runHook: async (_hook, ctx) => {
      hookCalls.push(ctx);
      return hookResults.shift() ?? { ok: false, reason: 'no more scripted results', output: '', durationMs: 0 };
    },
    ...extra,
  });
  monitor.on('event', (e: VadcEvent) => events.push(e));
  const settle = () => new Promise((r) => setImmediate(r));
  return { monitor, events, hookCalls, settle, at: (t: number) => (clock = t), kinds: () => events.map((e) => `${e.kind}${e.backend ? ':' + e.backend : ''}`) };
}

describe('ServiceHealthMonitor', () => {
  it('fails over to a secondary it launches with the hook, and routes to it once healthy', async () => {
    const h = harness([{ ok: true, reason: 'exit code 0', output: 'Domain s1 started', durationMs: 5 }]);
    h.monitor.vnicChanged('p1', { present: true, linkState: 'up', adminState: 'up' });
    h.monitor.vnicChanged('s1', { present: false });
    h.monitor.checkResult('p1', 80, PASS);
    expect(h.monitor.routing()).toEqual({ kind: 'tier', tier: 0, backends: ['p1'] });
    expect(h.hookCalls).toEqual([]);

    h.at(1000);
    h.monitor.vnicChanged('p1', { present: false });
    expect(h.monitor.routing()).toEqual({ kind: 'refuse' });
    expect(h.hookCalls).toEqual([
      { action: 'launch', service: 'web', backend: 's1', vnic: 'v-s1', ip: '10.0.0.21', tier: 1, reason: 'tier 1 needed and vNIC v-s1 is absent', attempt: 1 },
    ]);
    expect(h.monitor.stateOf('s1').health).toBe('launching');
    await h.settle();

    h.at(3000);
    h.monitor.vnicChanged('s1', { present: true });
    h.monitor.checkResult('s1', 80, PASS);
    expect(h.monitor.routing()).toEqual({ kind: 'tier', tier: 1, backends: ['s1'] });
    // No active check in this harness: the vNIC coming up is the pass.
    expect(h.kinds()).toEqual([
      'port_up:p1',
      'backend_up:p1',
      'backend_down:s1',
      'backend_down:p1',
      'nothing_healthy',
      'launch_started:s1',
      'port_up:s1',
      'backend_up:s1',
      'launch_succeeded:s1',
      'failback',
    ]);
    const nothing = h.events.find((e) => e.kind === 'nothing_healthy');
    expect(nothing?.level).toBe('error');
  });

  it('reports a failing launch hook loudly, retries once, then gives up', async () => {
    const notFound = { ok: false, reason: 'not found: /usr/local/bin/start-vm does not exist', output: '', durationMs: 0 };
    const h = harness([notFound, notFound]);
    h.monitor.vnicChanged('p1', { present: true });
    h.monitor.vnicChanged('s1', { present: false });
    h.monitor.checkResult('p1', 80, PASS);
    h.monitor.portStatus('p1', false);
    await h.settle();
    h.at(1000);
    h.monitor.tick();
    await h.settle();
    const failures = h.events.filter((e) => e.kind === 'launch_failed');
    expect(failures.map((e) => [e.level, e.data?.willRetry])).toEqual([['error', true], ['error', false]]);
    expect(failures[1].message).toBe('launch failed: backend s1: gave up after 2 attempt(s): launch hook failed: not found: /usr/local/bin/start-vm does not exist');
    expect(h.hookCalls.map((c) => c.attempt)).toEqual([1, 2]);
  });

  it('on a standby no hook runs (its master launches the VM); promoted, it launches what is still needed', async () => {
    let master = false;
    const h = harness([{ ok: true, reason: 'exit code 0', output: '', durationMs: 5 }], { mayRunHooks: () => master });
    h.monitor.vnicChanged('p1', { present: true });
    h.monitor.vnicChanged('s1', { present: false });
    h.monitor.checkResult('p1', 80, PASS);
    h.at(1000);
    h.monitor.vnicChanged('p1', { present: false });
    for (let t = 1250; t <= 5000; t += 250) {
      h.at(t);
      h.monitor.tick();
    }
    await h.settle();
    expect(h.monitor.routing()).toEqual({ kind: 'refuse' });
    expect(h.hookCalls).toEqual([]);
    expect(h.kinds()).not.toContain('launch_started:s1');

    master = true;
    h.monitor.reconsider();
    await h.settle();
    expect(h.hookCalls.map((c) => [c.action, c.backend, c.attempt])).toEqual([['launch', 's1', 1]]);
    expect(h.monitor.stateOf('s1').health).toBe('launching');
  });

  it('a launch that failed while master is not retried once this instance is a standby', async () => {
    let master = true;
    const h = harness([{ ok: false, reason: 'exit code 1', output: '', durationMs: 0 }], { mayRunHooks: () => master });
    h.monitor.vnicChanged('p1', { present: true });
    h.monitor.vnicChanged('s1', { present: false });
    h.monitor.checkResult('p1', 80, PASS);
    h.monitor.portStatus('p1', false);
    await h.settle();
    expect(h.hookCalls.length).toBe(1);
    master = false;
    h.at(60_000); // far past the 1 s backoff
    h.monitor.tick();
    await h.settle();
    expect(h.hookCalls.length).toBe(1);
  });

  it('drains: weight 0 at once, drained when the last connection ends, enable restores the weight', () => {
    const h = harness([]);
    h.monitor.updateLoad('p1', { activeConns: 2 });
    h.monitor.drain('p1');
    expect(h.monitor.weightOf('p1')).toBe(0);
    expect(h.monitor.stateOf('p1')).toEqual({ health: 'draining', reason: 'draining: weight 0' });
    h.monitor.updateLoad('p1', { activeConns: 0 });
    expect(h.kinds()).toEqual(['backend_draining:p1', 'backend_drained:p1']);
    h.monitor.enable('p1');
    expect(h.monitor.weightOf('p1')).toBe(3);
  });

  it('without active checks, follows the vNIC alone', () => {
    const h = harness([]);
    h.monitor.vnicChanged('p1', { present: true });
    expect(h.monitor.portsFor('p1')).toEqual([80]);
    h.monitor.portStatus('p1', false);
    expect(h.monitor.portsFor('p1')).toEqual([]);
    h.monitor.portStatus('p1', true);
    expect(h.monitor.portsFor('p1')).toEqual([80]);
  });

  it('rejects unknown backends and duplicate ids with clear errors', () => {
    const h = harness([]);
    expect(() => h.monitor.drain('zz')).toThrow('service web has no backend zz');
    expect(() => new ServiceHealthMonitor({ service: 'web', backends: [primary, primary], intervalMs: 1000, riseFall: { rise: 1, fall: 1 }, tiers: { holdMs: 0 }, launch: LAUNCH }))
      .toThrow('service web: backend p1 is listed twice');
  });

  it('runs its active checks through the scheduler against a real listener', async () => {
    const server = net.createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    const scheduler = new CheckScheduler({ concurrency: 2, jitter: 0 });
    const up = new Promise<VadcEvent>((resolve) => {
      const h = harness([], {
        backends: [{ ...primary, ip: '127.0.0.1', ports: [port] }],
        scheduler,
        intervalMs: 50,
        checkFor: (b, p) => ({ kind: 'tcp', host: b.ip, port: p, timeoutMs: 500 }),
      });
      h.monitor.on('event', (e: VadcEvent) => e.kind === 'backend_up' && resolve(e));
      h.monitor.vnicChanged('p1', { present: true });
      h.monitor.start();
    });
    const event = await up;
    await scheduler.stop();
    server.close();
    expect(event.message).toBe(`backend up: backend p1: port ${port}: connected to 127.0.0.1:${port}`);
  });

  it('checks a dual-stack backend at both its addresses: an IPv6 listener that stops takes the port out of IPv6 only, the events and state naming IPv6', async () => {
    // One port on 127.0.0.1 and ::1; the IPv6 listener is closed once both families serve (an IPv6 application that
    // dies while its IPv4 twin still serves): the port leaves the IPv6 VIP only, the backend stays up for IPv4.
    const listen = (server: net.Server, host: string, port: number) => new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve((server.address() as net.AddressInfo).port));
    });
    const server4 = net.createServer((s) => s.end());
    const server6 = net.createServer((s) => s.end());
    const port = await listen(server4, '127.0.0.1', 0);
    await listen(server6, '::1', port);
    const scheduler = new CheckScheduler({ concurrency: 4, jitter: 0 });
    const tcp = { type: 'tcp', interval: 0.05, timeout: 0.5, rise: 1, fall: 1 } as const;
    const h = harness([], {
      backends: [{ id: 'd1', vnic: 'v-d1', ip: '127.0.0.1', ip6: '::1', ports: [port], tier: 0, weight: 1 }],
      scheduler,
      intervalMs: 50,
      riseFall: { rise: 1, fall: 1 },
      checkFor: (b, p, family) => checkSpecFromConfig(tcp, 'web', b, p, undefined, family),
    });
    const next = (kind: string) => new Promise<VadcEvent | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), 10_000);
      h.monitor.on('event', (e: VadcEvent) => e.kind === kind && (clearTimeout(timer), resolve(e)));
    });
    try {
      const up = next('backend_up');
      // Both families' port_up (the backend is up with the first).
      const bothUp = new Promise<void>((resolve) => h.monitor.on('event', () => h.events.filter((e) => e.kind === 'port_up').length === 2 && resolve()));
      h.monitor.vnicChanged('d1', { present: true });
      h.monitor.start();
      expect((await up)?.message).toMatch(new RegExp(`^backend up: backend d1: port ${port} \\((IPv4|IPv6)\\): connected to`));
      await bothUp;
      expect(h.monitor.portVerdicts('d1')).toEqual([{ family: 'ipv4', passing: [port] }, { family: 'ipv6', passing: [port] }]);
      const portDown = next('port_down');
      await new Promise<void>((resolve) => server6.close(() => resolve()));
      expect((await portDown)?.data).toMatchObject({ port, family: 'IPv6' });
      expect((await portDown)?.message).toBe(`port down: backend d1 port ${port} (IPv6): connection refused (ECONNREFUSED)`);
      expect(h.monitor.portVerdicts('d1')).toEqual([{ family: 'ipv4', passing: [port] }, { family: 'ipv6', passing: [] }]);
      expect(h.monitor.stateOf('d1')).toEqual({ health: 'up', reason: expect.stringMatching(/^IPv6 out: no port passes its IPv6 check; /) });
      expect(h.events.filter((e) => e.kind === 'backend_down')).toEqual([]);
      expect(h.monitor.lastCheckOf('d1')?.reason).toMatch(/^IPv[46]: /);
    } finally {
      await scheduler.stop();
      server4.close();
      if (server6.listening) server6.close();
    }
  });
});
