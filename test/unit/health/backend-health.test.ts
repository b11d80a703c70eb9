import {
  familiesOut, initialBackendHealth, stepBackendHealth, usablePorts, type BackendHealth, type HealthInput, type RiseFall,
} from '../../../src/health';

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

describe('backend health of a dual-stack backend (each port checked at its IPv4 and its IPv6 address)', () => {
  const pass6 = (port = 80): HealthInput => ({ ...pass(port), family: 'ipv6' } as HealthInput);
  const fail6 = (port = 80): HealthInput => ({ ...fail(port), family: 'ipv6' } as HealthInput);
  const dual = (ports = [80]) => initialBackendHealth('vm1', ports, 0, true);
  const named = (events: Array<{ step: number; kind: string; reason: string }>) => events.map((e) => `${e.step} ${e.kind}: ${e.reason}`);

  it('serves each family once its own check has passed: the backend is up with the first, the other family waits for its own pass', () => {
    const afterV4 = run(dual(), [vnicUp, pass()]);
    expect([afterV4.health.state, usablePorts(afterV4.health, 'ipv4'), usablePorts(afterV4.health, 'ipv6')]).toEqual(['up', [80], []]);
    expect(familiesOut(afterV4.health)).toEqual(['IPv6']);
    expect(afterV4.backendEvents).toEqual([{ step: 1, kind: 'backend_up', reason: 'port 80 (IPv4): HTTP 200' }]);
    const both = run(afterV4.health, [pass6()]);
    expect([both.health.state, usablePorts(both.health, 'ipv4'), usablePorts(both.health, 'ipv6'), familiesOut(both.health)]).toEqual(['up', [80], [80], []]);
    expect(both.backendEvents).toEqual([]);
  });

  it('an IPv6 application that fails while IPv4 passes takes the port out of IPv6 only after `fall` IPv6 failures; the events name the family', () => {
    // IPv4 keeps passing between the IPv6 failures: the IPv6 streak is its own (one shared streak would restart at each IPv4 pass).
    const { health, events } = run(dual(), [vnicUp, pass(), pass6(), fail6(), pass(), fail6(), pass(), fail6(), pass()]);
    expect(health.state).toBe('up');
    expect([usablePorts(health, 'ipv4'), usablePorts(health, 'ipv6'), usablePorts(health)]).toEqual([[80], [], [80]]);
    expect(familiesOut(health)).toEqual(['IPv6']);
    expect([health.ports[80].state, health.ports6?.[80].state]).toEqual(['up', 'down']);
    expect(named(events)).toEqual([
      '1 port_up: HTTP 200',
      '1 backend_up: port 80 (IPv4): HTTP 200',
      '2 port_up: HTTP 200',
      '7 port_down: connection refused (ECONNREFUSED)',
    ]);
    const out = stepBackendHealth(run(dual(), [vnicUp, pass(), pass6(), fail6(), fail6()]).health, fail6(), RF, 9000);
    expect(out.events).toEqual([expect.objectContaining({ kind: 'port_down', port: 80, family: 'IPv6' })]);
    // Back in IPv6 once it has passed `rise` times again.
    expect(usablePorts(run(health, [pass6()]).health, 'ipv6')).toEqual([]);
    expect(usablePorts(run(health, [pass6(), pass6()]).health, 'ipv6')).toEqual([80]);
  });

  it('the backend goes down only when both families fail on every port', () => {
    const up = run(dual(), [vnicUp, pass(), pass6()]).health;
    const v6down = run(up, [fail6(), fail6(), fail6()]).health;
    expect(v6down.state).toBe('up');
    const { health, backendEvents } = run(v6down, [fail(), fail(), fail()]);
    expect([health.state, usablePorts(health, 'ipv4'), usablePorts(health, 'ipv6')]).toEqual(['down', [], []]);
    expect(backendEvents).toEqual([{ step: 2, kind: 'backend_down', reason: 'every port fails; port 80 (IPv4): connection refused (ECONNREFUSED)' }]);
    // Either family passing `rise` times brings it back, serving that family.
    const back = run(health, [pass(), pass()]).health;
    expect([back.state, usablePorts(back, 'ipv4'), usablePorts(back, 'ipv6')]).toEqual(['up', [80], []]);
  });

  it('a failing IPv4 check takes the port out of IPv4 only, and a second port keeps serving IPv4', () => {
    const { health, events } = run(dual([80, 443]), [vnicUp, pass(80), pass6(80), pass(443), pass6(443), fail(443), fail(443), fail(443)]);
    expect([health.state, usablePorts(health, 'ipv4'), usablePorts(health, 'ipv6')]).toEqual(['up', [80], [80, 443]]);
    expect(named(events).at(-1)).toBe('7 port_down: connection refused (ECONNREFUSED)');
    expect(familiesOut(health)).toEqual([]);
    expect(stepBackendHealth(health, fail(443), RF, 9000).health.ports6?.[443].state).toBe('up');
  });

  it('a passive outage clears both families: each has to pass again', () => {
    const up = run(dual(), [vnicUp, pass(), pass6()]).health;
    const back = run(up, [{ kind: 'port_status', linkUp: false }, { kind: 'port_status', linkUp: true }, pass()]).health;
    expect([back.state, back.ports6?.[80].state, usablePorts(back, 'ipv6')]).toEqual(['up', 'unknown', []]);
    expect(usablePorts(run(back, [pass6()]).health, 'ipv6')).toEqual([80]);
  });

  it('a single-family backend has no IPv6 checks: its events name no family, and an IPv6 result for it is refused', () => {
    const { events } = run(initialBackendHealth('vm1', [80], 0), [vnicUp, pass()]);
    expect(named(events)).toEqual(['1 port_up: HTTP 200', '1 backend_up: port 80: HTTP 200']);
    expect(() => stepBackendHealth(initialBackendHealth('vm1', [80], 0), pass6(), RF, 1)).toThrow('backend vm1: no IPv6 address is checked');
  });
});
