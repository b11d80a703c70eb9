// Backends that join and leave a running service's health monitor (VMs that join by tag): the others keep
// their verdicts, drains and checks.
import { ServiceHealthMonitor, type CheckScheduler, type LaunchPolicy, type MonitoredBackend } from '../../../src/health';
import type { CheckResult, CheckSpec } from '../../../src/health/types';
import type { VadcEvent } from '../../../src/runtime/types';

const LAUNCH: LaunchPolicy = { readyTimeoutMs: 10_000, maxAttempts: 2, backoffBaseMs: 1000, backoffMaxMs: 1000, rearmMs: 60_000 };
const PASS: CheckResult = { ok: true, reason: 'connected', output: '', durationMs: 1 };
const a: MonitoredBackend = { id: 'a', vnic: 'iface-id:a', ip: '10.0.0.11', ports: [80], tier: 0, weight: 2 };
const b: MonitoredBackend = { id: 'b', vnic: 'iface-id:b', ip: '10.0.0.12', ports: [80, 81], tier: 0, weight: 1 };

/** A scheduler that records its targets; the test delivers their results. */
function recordingScheduler() {
  const targets = new Map<string, { onResult: (r: CheckResult) => void }>();
  const scheduler = {
    add: (t: { id: string; onResult: (r: CheckResult) => void }) => targets.set(t.id, t),
    remove: (id: string) => targets.delete(id),
  } as unknown as CheckScheduler;
  return { scheduler, targets };
}

function harness() {
  const { scheduler, targets } = recordingScheduler();
  const events: VadcEvent[] = [];
  const monitor = new ServiceHealthMonitor({
    service: 'web', backends: [a], intervalMs: 1000, riseFall: { rise: 1, fall: 1 }, tiers: { holdMs: 0 }, launch: LAUNCH,
    checkFor: (backend, port): CheckSpec => ({ kind: 'tcp', host: backend.ip, port, timeoutMs: 500 }), scheduler, now: () => 0,
  });
  monitor.on('event', (e: VadcEvent) => events.push(e));
  monitor.start();
  return { monitor, targets, events };
}

describe('ServiceHealthMonitor members', () => {
  it('takes in a backend that joins: its checks start, the others keep their verdict and drain', () => {
    const h = harness();
    h.monitor.vnicChanged('a', { present: true });
    h.targets.get('web/a:80')!.onResult(PASS);
    h.monitor.updateLoad('a', { activeConns: 1 });
    h.monitor.drain('a');
    expect(h.monitor.stateOf('a').health).toBe('draining');

    h.monitor.addBackend(b);
    expect([...h.targets.keys()]).toEqual(['web/a:80', 'web/b:80', 'web/b:81']);
    expect(h.monitor.stateOf('a').health).toBe('draining');
    expect(h.monitor.weightOf('a')).toBe(0);
    expect(h.monitor.stateOf('b').health).toBe('unknown');

    h.monitor.vnicChanged('b', { present: true });
    h.targets.get('web/b:80')!.onResult(PASS);
    h.targets.get('web/b:81')!.onResult(PASS);
    expect(h.monitor.stateOf('b').health).toBe('up');
    expect(h.monitor.routing()).toEqual({ kind: 'tier', tier: 0, backends: ['b'] });
    expect(() => h.monitor.addBackend(b)).toThrow('service web: backend b is already a member');
  });

  it('lets a backend go: its checks stop, a result still in flight is not about a member, the rest serve on', () => {
    const h = harness();
    h.monitor.addBackend(b);
    for (const id of ['a', 'b']) h.monitor.vnicChanged(id, { present: true });
    const lateResult = h.targets.get('web/b:80')!.onResult;
    for (const target of [...h.targets.values()]) target.onResult(PASS);
    expect(h.monitor.routing()).toEqual({ kind: 'tier', tier: 0, backends: ['a', 'b'] });

    h.monitor.removeBackend('b');
    expect([...h.targets.keys()]).toEqual(['web/a:80']);
    expect(h.monitor.routing()).toEqual({ kind: 'tier', tier: 0, backends: ['a'] });
    expect(() => lateResult({ ok: false, reason: 'refused', output: '', durationMs: 1 })).not.toThrow();
    expect(() => h.monitor.stateOf('b')).toThrow('service web has no backend b');
    expect(h.monitor.stateOf('a').health).toBe('up');
    // Removing what is not there is no error (the bridge may tell twice).
    h.monitor.removeBackend('b');

    // It may come back later under the same name, judged afresh.
    h.monitor.addBackend(b);
    expect(h.monitor.stateOf('b').health).toBe('unknown');
  });

  it('a backend added before start() is checked from start() on', () => {
    const { scheduler, targets } = recordingScheduler();
    const monitor = new ServiceHealthMonitor({
      service: 'web', backends: [a], intervalMs: 1000, riseFall: { rise: 1, fall: 1 }, tiers: { holdMs: 0 }, launch: LAUNCH,
      checkFor: (backend, port): CheckSpec => ({ kind: 'tcp', host: backend.ip, port, timeoutMs: 500 }), scheduler, now: () => 0,
    });
    monitor.addBackend(b);
    expect(targets.size).toBe(0);
    monitor.start();
    expect([...targets.keys()]).toEqual(['web/a:80', 'web/b:80', 'web/b:81']);
  });

  it("a backend on another host is not checked here: its tier counts its host's verdict, and back here its checks resume", () => {
    const { scheduler, targets } = recordingScheduler();
    const remote: MonitoredBackend = { ...b, id: 'r', ports: [80], tier: 0 };
    const local: MonitoredBackend = { ...a, tier: 1 };
    const monitor = new ServiceHealthMonitor({
      service: 'web', backends: [remote, local], intervalMs: 1000, riseFall: { rise: 1, fall: 1 }, tiers: { holdMs: 0 }, launch: LAUNCH,
      checkFor: (backend, port): CheckSpec => ({ kind: 'tcp', host: backend.ip, port, timeoutMs: 500 }), scheduler, now: () => 0,
    });
    // Told it is remote before start(): never checked here.
    monitor.remoteVerdict('r', 'up');
    monitor.start();
    expect([...targets.keys()]).toEqual(['web/a:80']);
    for (const id of ['r', 'a']) monitor.vnicChanged(id, { present: true });
    targets.get('web/a:80')!.onResult(PASS);
    expect(monitor.routing()).toEqual({ kind: 'tier', tier: 0, backends: ['r'] });
    monitor.remoteVerdict('r', 'down');
    expect(monitor.routing()).toEqual({ kind: 'tier', tier: 1, backends: ['a'] });
    monitor.remoteVerdict('r', 'up');
    expect(monitor.routing()).toEqual({ kind: 'tier', tier: 0, backends: ['r'] });
    // Unreachable from here (the uplink's link down: the bridge reports its vNIC link down) it counts as down.
    monitor.vnicChanged('r', { present: true, linkState: 'down' });
    expect(monitor.routing()).toEqual({ kind: 'tier', tier: 1, backends: ['a'] });
    monitor.vnicChanged('r', { present: true, linkState: 'up' });

    // On this host now (its VM moved here): checked here again; its host's last verdict counts until the first check.
    monitor.remoteVerdict('r', undefined);
    expect([...targets.keys()].sort()).toEqual(['web/a:80', 'web/r:80']);
    expect(monitor.routing()).toEqual({ kind: 'tier', tier: 0, backends: ['r'] });
    targets.get('web/r:80')!.onResult({ ok: false, reason: 'refused', output: '', durationMs: 1 });
    expect(monitor.routing()).toEqual({ kind: 'tier', tier: 1, backends: ['a'] });
    targets.get('web/r:80')!.onResult(PASS);
    expect(monitor.routing()).toEqual({ kind: 'tier', tier: 0, backends: ['r'] });
    expect(monitor.lastCheckOf('r')).toMatchObject({ ok: true });

    // Remote again: its checks stop and the last one is forgotten (status shows none rather than a stale one).
    monitor.remoteVerdict('r', 'down');
    expect([...targets.keys()]).toEqual(['web/a:80']);
    expect(monitor.lastCheckOf('r')).toBeUndefined();
    expect(monitor.routing()).toEqual({ kind: 'tier', tier: 1, backends: ['a'] });
  });
});
