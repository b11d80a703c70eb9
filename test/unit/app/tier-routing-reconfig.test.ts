// An in-place reconfiguration (a weight change, a backend added) of a service the failover logic routed to a higher
// tier keeps that routing: before, refreshTiers put the lowest tier back until the next evaluation (a statistics poll
// later), and with that tier down every new connection in between was refused.
import { AppHarness, backendYaml, delivered, fromClient, NAT_MODES, VMS, type VmName } from '../../helpers/app-harness';

const web = (vm2Weight: number, withVm3: boolean) => `
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    scheduler: wrr
    idle_timeout: 30
    backends:
${backendYaml('v-vm1', [8080])}
${backendYaml('v-vm2', [8080], `tier: 1, weight: ${vm2Weight}`)}
${withVm3 ? backendYaml('v-vm3', [8080], 'tier: 1') : ''}
`;

const vmAt = (port: number): VmName => (Object.keys(VMS) as VmName[]).find((name) => VMS[name].ofport === port)!;

describe.each(NAT_MODES.map((m) => [m.name, m] as const))('a tier routing through an in-place reconfiguration, %s mode', (_name, mode) => {
  it('stays on the routed tier (with a backend added to it); the lowest tier does not come back', () => {
    const h = new AppHarness(mode, web(1, false));
    // Tier 0 (vm1) failed: the failover logic routes new connections to tier 1.
    h.install(h.app.setHealth('web', 'v-vm1', false));
    h.install(h.app.setRouting('web', { kind: 'tier', backends: ['v-vm2'] }));
    expect(vmAt(delivered(h.send(fromClient(41000)).outcomes).port)).toBe('v-vm2');
    const before = h.app.serviceStates()[0];
    h.install(h.app.setServices(AppHarness.config(mode, web(3, true)).services, h.now));
    expect(h.app.serviceStates()[0]).toBe(before); // in place
    const placed = new Set<VmName>();
    for (let p = 41001; p < 41011; p++) placed.add(vmAt(delivered(h.send(fromClient(p)).outcomes).port));
    expect([...placed].sort()).toEqual(['v-vm2', 'v-vm3']);
  });
});
