// The plan of a multi-host lab (`lab up --hosts N`): pure, so checked without root or OVS.
import { addBridgeArgs, addPatchPortArgs } from '../../../src/lab/commands';
import { LabError } from '../../../src/lab/errors';
import { Lab } from '../../../src/lab';
import {
  controllerPort, hypervisorControllerTarget, hypervisorOfHostName, MAX_IFNAME, planHypervisor, planHypervisorHosts, planLab,
} from '../../../src/lab/plan';
import { parseState, serializeState, LabState } from '../../../src/lab/state';

describe('multi-host lab plan', () => {
  const lab = planLab();

  it('gives each simulated hypervisor its own bridge, datapath id and a patch-port pair to the underlay', () => {
    const h1 = planHypervisor(lab, 1);
    const h2 = planHypervisor(lab, 2);
    expect(h1).toMatchObject({ name: 'h1', index: 1, bridge: 'br-vadc-h1', uplinkPort: 'v-h1-up', underlayPort: 'v-u-h1' });
    expect(h2).toMatchObject({ name: 'h2', bridge: 'br-vadc-h2', uplinkPort: 'v-h2-up', underlayPort: 'v-u-h2' });
    expect(h1.datapathId).toMatch(/^[0-9a-f]{16}$/);
    expect(new Set([h1.datapathId, h2.datapathId, lab.datapathId]).size).toBe(3);
    const longest = planHypervisor(planLab('abcde'), 8);
    expect(longest.bridge.length).toBeLessThanOrEqual(MAX_IFNAME);
    expect(longest.uplinkPort.length).toBeLessThanOrEqual(MAX_IFNAME);
  });

  it('rejects a host count outside 1..8', () => {
    expect(() => planHypervisor(lab, 0)).toThrow(LabError);
    expect(() => planHypervisor(lab, 9)).toThrow(/from 1 to 8/);
  });

  it('puts every VM and client of every hypervisor on the one /24, each address once, named after its hypervisor', () => {
    const hosts = planHypervisorHosts(lab, 3, 2, 1);
    expect(hosts.map((h) => `${h.hypervisor}:${h.name}:${h.ip}`)).toEqual([
      'h1:h1vm1:10.0.0.11', 'h1:h1vm2:10.0.0.12', 'h2:h2vm1:10.0.0.13', 'h2:h2vm2:10.0.0.14', 'h3:h3vm1:10.0.0.15', 'h3:h3vm2:10.0.0.16',
      'h1:h1cl1:10.0.0.101', 'h2:h2cl1:10.0.0.102', 'h3:h3cl1:10.0.0.103',
    ]);
    expect(hosts.find((h) => h.name === 'h2vm1')).toMatchObject({ port: 'v-h2vm1', netns: 'vadc-h2vm1', role: 'vm' });
    expect(new Set(hosts.map((h) => h.mac)).size).toBe(hosts.length);
    expect(new Set(hosts.map((h) => h.ifaceId)).size).toBe(hosts.length);
    for (const h of hosts) expect(hypervisorOfHostName(h.name)).toBe(h.hypervisor);
    expect(hypervisorOfHostName('vm1')).toBeUndefined();
  });

  it('refuses more VMs or clients than the /24 has addresses for', () => {
    expect(() => planHypervisorHosts(lab, 8, 12, 1)).toThrow(/8 hosts x 12 VMs is more than the 90/);
    expect(() => planHypervisorHosts(lab, 8, 1, 20)).toThrow(/clients is more than the 154/);
  });

  it('counts a tcp/ssl controller port up per hypervisor and reads the port back', () => {
    expect([1, 2, 3].map((i) => hypervisorControllerTarget('tcp:127.0.0.1:6653', i))).toEqual([
      'tcp:127.0.0.1:6653', 'tcp:127.0.0.1:6654', 'tcp:127.0.0.1:6655',
    ]);
    expect(hypervisorControllerTarget('ssl:[::1]:7000', 2)).toBe('ssl:[::1]:7001');
    expect(hypervisorControllerTarget('unix:/x.sock', 1)).toBe('unix:/x.sock');
    expect(() => hypervisorControllerTarget('unix:/x.sock', 2)).toThrow(/must be tcp:IP:PORT/);
    expect(() => hypervisorControllerTarget('tcp:127.0.0.1:65535', 2)).toThrow(/above 65535/);
    expect(controllerPort('tcp:127.0.0.1:6654')).toBe(6654);
    expect(controllerPort('ptcp:6653')).toBe(6653);
    expect(controllerPort('unix:/x.sock')).toBeNull();
    expect(controllerPort(null)).toBeNull();
  });

  it('builds hypervisor bridges like the lab bridge, and patch ports that name their peer', () => {
    const h2 = planHypervisor(lab, 2);
    expect(addBridgeArgs(h2, 'tcp:127.0.0.1:6654')).toEqual([
      '--may-exist', 'add-br', 'br-vadc-h2', '--', 'set', 'bridge', 'br-vadc-h2',
      'datapath_type=netdev', 'protocols=OpenFlow13', 'fail_mode=secure', `other_config:datapath-id=${h2.datapathId}`,
      '--', 'set-controller', 'br-vadc-h2', 'tcp:127.0.0.1:6654',
    ]);
    expect(addPatchPortArgs('br-vadc-h2', 'v-h2-up', 'v-u-h2')).toEqual([
      '--may-exist', 'add-port', 'br-vadc-h2', 'v-h2-up', '--', 'set', 'interface', 'v-h2-up', 'type=patch', 'options:peer=v-u-h2',
    ]);
  });

  it('keeps hypervisors and each host\'s hypervisor in the state file; a one-bridge state without them still reads', () => {
    const state: LabState = {
      version: 1, name: 'u1', dir: '/tmp/vadc-lab-u1', bridge: 'br-u1', subnet: '10.9.8.0/24', localIp: '10.9.8.1',
      datapathId: '00000000deadbeef', controller: null, createdAt: '2026-01-02T03:04:05.000Z',
      hosts: [{ name: 'h2vm1', role: 'vm', netns: 'vadc-u1-h2vm1', port: 'u1-h2vm1', ip: '10.9.8.11', mac: '02:0a:09:08:00:0b', ifaceId: 'i', vmUuid: 'u', hypervisor: 'h2' }],
      hypervisors: [{ name: 'h2', index: 2, bridge: 'br-u1-h2', datapathId: '0000000012345678', uplinkPort: 'u1-h2-up', underlayPort: 'u1-u-h2', controller: 'tcp:127.0.0.1:6654' }],
    };
    expect(parseState(serializeState(state))).toEqual(state);
    const { hypervisors: _dropped, ...oneBridge } = state;
    expect(parseState(JSON.stringify(oneBridge)).hypervisors).toBeUndefined();
  });
});

describe('Lab.up --hosts option checks (before anything is made)', () => {
  it.each([
    [{ hosts: 0 }, /hosts must be a whole number from 1 to 8/],
    [{ hosts: 9 }, /hosts must be a whole number from 1 to 8/],
    [{ hosts: 2, controller: 'unix:/tmp/c.sock' }, /must be tcp:IP:PORT/],
    [{ hosts: 8, vms: 12 }, /more than the 90 VM addresses/],
  ])('rejects %j', async (opts, message) => {
    const attempt = Lab.up({ name: 'zz', ...opts });
    await expect(attempt).rejects.toMatchObject({ code: 'bad-option' });
    await expect(attempt).rejects.toThrow(message);
  });
});
