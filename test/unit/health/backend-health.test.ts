import { initialBackendHealth, stepBackendHealth, usablePorts, type BackendHealth, type HealthInput, type RiseFall } from '../../../src/health';

const RF: RiseFall = { rise: 2, fall: 3 };
const pass = (port = 80): HealthInput => ({ kind: 'check', port, result: { ok: true, reason: 'HTTP 200', output: 'ok', durationMs: 1 } });
const fail = (port = 80): HealthInput => ({ kind: 'check', port, result: { ok: false, reason: 'connection refused (ECONNREFUSED)', output: '', durationMs: 1 } });
const vnicUp: HealthInput = { kind: 'vnic', present: true, linkState: 'up', adminState: 'up' };

/** Feeds inputs one per second and collects the events with the step that produced them. */
function run(start: BackendHealth, inputs: HealthInput[]) {
  let health = start;
  const events: Array<{ step: number; kind: string; reason: string }> = [];
  inputs.forEach((input, i) => {
    const out = stepBackendHealth(health, input, RF, 1000 * (i + 1));
    health = out.health;
    out.events.forEach((e) => events.push({ step: i, kind: e.kind, reason: e.reason }));
  });
  return { health, events, backendEvents: events.filter((e) => e.kind.startsWith('backend_')) };
}

describe('backend health state machine', () => {
  const fresh = () => initialBackendHealth('vm1', [80], 0);

  it('starts unknown and serves nothing until the first pass', () => {
    const { health, backendEvents } = run(fresh(), [vnicUp]);
    expect(health.state).toBe('unknown');
    expect(usablePorts(health)).toEqual([]);
    expect(backendEvents).toEqual([]);
    const after = run(health, [pass()]);
    expect(after.health.state).toBe('up');
    expect(after.backendEvents).toEqual([{ step: 0, kind: 'backend_up', reason: 'port 80: HTTP 200' }]);
    expect(usablePorts(after.health)).toEqual([80]);
  });

  it('goes down only after `fall` consecutive failures, and up again after `rise` passes', () => {
    const { backendEvents } = run(fresh(), [vnicUp, pass(), fail(), fail(), pass(), fail(), fail(), fail(), pass(), pass()]);
    expect(backendEvents.map((e) => [e.step, e.kind])).toEqual([
      [1, 'backend_up'],
      [7, 'backend_down'],
      [9, 'backend_up'],
    ]);
    expect(backendEvents[1].reason).toBe('every port fails; port 80: connection refused (ECONNREFUSED)');
  });

  it('an unknown backend that keeps failing is reported down after `fall` failures', () => {
    const { health, backendEvents } = run(fresh(), [vnicUp, fail(), fail(), fail()]);
    expect(health.state).toBe('down');
    expect(backendEvents.map((e) => e.step)).toEqual([3]);
  });

  it('takes the backend out at once on passive evidence, whatever the checks say', () => {
    const up = run(fresh(), [vnicUp, pass()]).health;
    const cases: Array<[HealthInput, string]> = [
      [{ kind: 'vnic', present: false }, 'vNIC absent from OVSDB'],
      [{ kind: 'vnic', present: true, linkState: 'down', adminState: 'up' }, 'vNIC link_state down'],
      [{ kind: 'vnic', present: true, linkState: 'up', adminState: 'down' }, 'vNIC admin_state down'],
      [{ kind: 'port_status', linkUp: false }, 'OpenFlow port-status: link down'],
    ];
    for (const [input, reason] of cases) {
      const out = stepBackendHealth(up, input, RF, 5000);
      expect(out.health.state).toBe('down');
      expect(out.events).toEqual([{ kind: 'backend_down', level: 'warn', time: 5000, backend: 'vm1', reason, lastOutput: '' }]);
      expect(usablePorts(out.health)).toEqual([]);
    }
  });

  it('after a passive outage needs a fresh pass before traffic returns', () => {
    const { health, backendEvents } = run(fresh(), [vnicUp, pass(), { kind: 'port_status', linkUp: false }, { kind: 'port_status', linkUp: true }]);
    expect(health.state).toBe('down');
    expect(health.ports[80].state).toBe('unknown');
    expect(backendEvents.map((e) => e.kind)).toEqual(['backend_up', 'backend_down']);
    expect(run(health, [pass()]).health.state).toBe('up');
  });

  it('ignores check results for the up/down verdict until the resolver has reported the vNIC', () => {
    const { health, events } = run(fresh(), [pass(), pass()]);
    expect(health.state).toBe('unknown');
    expect(events.filter((e) => e.kind.startsWith('backend'))).toEqual([]);
  });

  it('excludes a failing software port individually while the backend stays up', () => {
    const start = initialBackendHealth('vm1', [80, 443], 0);
    const { health, events } = run(start, [vnicUp, pass(80), pass(443), fail(443), fail(443), fail(443)]);
    expect(health.state).toBe('up');
    expect(usablePorts(health)).toEqual([80]);
    expect(events.map((e) => e.kind)).toEqual(['port_up', 'backend_up', 'port_up', 'port_down']);
  });

  it('is down once every port fails', () => {
    const start = initialBackendHealth('vm1', [80, 443], 0);
    const { health } = run(start, [vnicUp, pass(80), fail(80), fail(80), fail(80), fail(443), fail(443), fail(443)]);
    expect(health.state).toBe('down');
  });

  it('rejects a check for a port it does not track, and a backend without ports', () => {
    expect(() => stepBackendHealth(fresh(), pass(8080), RF, 1)).toThrow(/no software port 8080/);
    expect(() => initialBackendHealth('vm9', [], 0)).toThrow(/at least one software port/);
  });
});
