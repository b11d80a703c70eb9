// A multi-host lab (`lab up --hosts 3`) on real Open vSwitch: three simulated hypervisors, each its own netdev
// bridge with its own VMs, client and controller target, joined by the underlay through patch ports. Traffic
// crosses the underlay once each hypervisor's bridge forwards; `lab status --json` lists it all; down() leaves
// nothing, hypervisor bridges included.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Lab, type LabStatus } from '../../src/lab';
import { listNetns, pidsMentioning, run } from '../../src/lab/system';
import { vadcOk } from '../helpers/vadc-cli';

const baseDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vadc-e2e-mhlab-'));
const name = 'mh' + Math.random().toString(36).slice(2, 5).padEnd(3, '0');
let lab: Lab;

/** A UDP request to the echo server on `ip`, retried: the first may be lost to ARP on a loaded machine. */
async function answers(from: string, ip: string, tries = 3): Promise<string | null> {
  for (let i = 0; i < tries; i++) {
    try {
      return await lab.udpRequest(from, ip, 5353, from, 2000);
    } catch {
      // retried
    }
  }
  return null;
}

beforeAll(async () => {
  lab = await Lab.up({ name, hosts: 3, vms: 1, clients: 1, controller: 'tcp:127.0.0.1:16653', baseDir, waitForHostMs: 600_000 });
}, 660_000);

afterAll(async () => {
  await lab?.down();
  fs.rmSync(baseDir, { recursive: true, force: true });
}, 120_000);

describe('multi-host lab on real Open vSwitch', () => {
  it('makes one secure netdev bridge per host with its own datapath id, controller and uplink patch port', async () => {
    expect(lab.hypervisors.map((hv) => hv.name)).toEqual(['h1', 'h2', 'h3']);
    const dpids = new Set<string>();
    for (const hv of lab.hypervisors) {
      const get = (column: string) => lab.vsctl('get', 'bridge', hv.bridge, column).then((v) => v.trim());
      expect(await get('datapath_type')).toBe('netdev');
      expect(await get('fail_mode')).toBe('secure');
      expect(await lab.vsctl('get-controller', hv.bridge)).toBe(`tcp:127.0.0.1:${16652 + hv.index}\n`);
      expect((await lab.vsctl('get', 'interface', hv.uplinkPort, 'type')).trim()).toBe('patch');
      expect((await lab.vsctl('get', 'interface', hv.underlayPort, 'options:peer')).trim()).toBe(hv.uplinkPort);
      expect(await lab.ofctlOn(hv, 'show')).toContain(`${hv.uplinkOfport}(${hv.uplinkPort})`);
      expect(lab.hostsOn(hv).map((h) => h.name)).toEqual([`${hv.name}vm1`, `${hv.name}cl1`]);
      expect((await lab.vsctl('list-ports', hv.bridge)).split('\n').filter(Boolean).sort()).toEqual(
        [hv.uplinkPort, `${hv.name}vm1`, `${hv.name}cl1`].map((p) => (p === hv.uplinkPort ? p : lab.host(p).port)).sort(),
      );
      dpids.add(hv.datapathId);
    }
    expect(dpids.size).toBe(3);
    expect(await lab.vsctl('get-controller', lab.bridge)).toBe('');
    expect(await lab.ofctl('dump-flows')).toMatch(/priority=0 actions=NORMAL/);
  });

  it('carries traffic across the underlay only once each hypervisor bridge forwards', async () => {
    for (const vm of ['h1vm1', 'h2vm1', 'h3vm1']) await lab.startUdpEchoServer(vm, 5353);
    expect(await answers('h1cl1', lab.host('h2vm1').ip, 1)).toBeNull(); // fail_mode=secure, no controller answering
    for (const hv of lab.hypervisors) await lab.ofctlOn(hv, 'add-flow', 'priority=0,actions=NORMAL');
    const crossings: string[] = [];
    for (const from of ['h1cl1', 'h2cl1', 'h3cl1']) {
      for (const to of ['h1vm1', 'h2vm1', 'h3vm1']) {
        if (from.slice(0, 2) !== to.slice(0, 2)) {
          expect({ from, to, answer: await answers(from, lab.host(to).ip) }).toEqual({ from, to, answer: `${to} 5353 ${from}` });
          crossings.push(`${from}->${to}`);
        }
      }
    }
    // TCP too, and from the host over the underlay's LOCAL port (what health checks use).
    await lab.startHttpServer('h3vm1', 8080);
    expect((await lab.httpGet('h1cl1', `http://${lab.host('h3vm1').ip}:8080/`)).body).toBe('h3vm1 8080\n');
    expect((await lab.hostHttpGet(`http://${lab.host('h3vm1').ip}:8080/`)).body).toBe('h3vm1 8080\n');
    // The packets really crossed: h1's uplink carried them out and h3's in.
    const uplinkPackets = async (hv: string) => {
      const stats = await lab.ofctlOn(hv, 'dump-ports', lab.hypervisor(hv).uplinkPort);
      return Number(/rx pkts=(\d+)/.exec(stats)![1]) + Number(/tx pkts=(\d+)/.exec(stats)![1]);
    };
    for (const hv of ['h1', 'h2', 'h3']) expect(await uplinkPackets(hv)).toBeGreaterThan(0);
    console.log(`[multi-host lab e2e] UDP echoed across the underlay: ${crossings.join(', ')}`);
  }, 120_000);

  it('lists hosts, bridges, VMs, clients and controller ports in `vadc lab status --json`', async () => {
    const status = JSON.parse(await vadcOk(['lab', 'status', '--name', name, '--base-dir', baseDir, '--json'])) as LabStatus;
    expect(status.up).toBe(true);
    expect(status.bridge).toBe(lab.bridge);
    expect(status.hypervisors?.map((hv) => [hv.name, hv.bridge, hv.controllerPort, hv.vms, hv.clients])).toEqual([
      ['h1', lab.hypervisor('h1').bridge, 16653, ['h1vm1'], ['h1cl1']],
      ['h2', lab.hypervisor('h2').bridge, 16654, ['h2vm1'], ['h2cl1']],
      ['h3', lab.hypervisor('h3').bridge, 16655, ['h3vm1'], ['h3cl1']],
    ]);
    expect(status.hosts.every((h) => h.present && h.hypervisor === h.name.slice(0, 2))).toBe(true);
  });

  it('hot-adds a VM on a chosen hypervisor', async () => {
    const vm = await lab.addVm(undefined, { hypervisor: 'h2' });
    expect(vm).toMatchObject({ name: 'h2vm2', hypervisor: 'h2' });
    expect((await lab.vsctl('port-to-br', vm.port)).trim()).toBe(lab.hypervisor('h2').bridge);
    await lab.startHttpServer(vm, 8080);
    expect((await lab.httpGet('h1cl1', `http://${vm.ip}:8080/`)).body).toBe('h2vm2 8080\n');
    await lab.removeVm('h2vm2');
    expect((await lab.vsctl('list-ports', lab.hypervisor('h2').bridge))).not.toContain(vm.port);
  }, 60_000);

  it('removes everything on down, hypervisor bridges included', async () => {
    const devices = [lab.bridge, ...lab.hypervisors.map((hv) => hv.bridge), ...lab.hosts.map((h) => h.port)];
    await lab.down();
    const left: string[] = [];
    for (const netns of await listNetns()) if (netns.startsWith(`vadc-${name}-`)) left.push(`netns ${netns}`);
    for (const dev of devices) {
      if ((await run(['ip', 'link', 'show', 'dev', dev], { allowFailure: true })).code === 0) left.push(`link ${dev}`);
    }
    for (const pid of pidsMentioning(lab.dir + '/')) left.push(`process ${pid}`);
    if (fs.existsSync(lab.dir)) left.push(`dir ${lab.dir}`);
    expect(left).toEqual([]);
  }, 60_000);
});
