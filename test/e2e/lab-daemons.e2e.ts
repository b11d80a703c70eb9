// `vadc lab up --hosts 2 --cluster R` as an operator runs it, on real Open vSwitch and a real (one-member) cluster
// store: the lab starts a vadc daemon per simulated host, each joined to the store on its bridge's controller port;
// a service added once at cluster scope is served by both, each host's client answered by both hosts' VMs;
// `lab status --json` lists the daemons; `lab down` stops them with the rest.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LabStatus } from '../../src/lab';
import { isAlive } from '../../src/lab/system';
import type { ServiceStatus } from '../../src/runtime/types';
import { vadc, vadcOk } from '../helpers/vadc-cli';
import { waitFor as waitForEvery } from '../helpers/until';

const baseDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vadc-e2e-labd-'));
const storeDir = path.join(baseDir, 'store');
const name = 'ld' + Math.random().toString(36).slice(2, 5).padEnd(3, '0');
let remotes = '';
let labUp = false;
const servers: ChildProcess[] = [];

interface LabUpJson {
  dir: string;
  subnet: string;
  hosts: { name: string; role: string; netns: string; port: string; ip: string; hypervisor?: string }[];
  vadc: { host: string; pid: number; running: boolean; api: string }[];
}

/** Two consecutive free TCP ports on 127.0.0.1 (h1's and h2's controller), the first returned. */
async function freePortPair(): Promise<number> {
  const free = (port: number) => new Promise<boolean>((resolve) => {
    const s = net.createServer().once('error', () => resolve(false)).listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
  for (let i = 0; i < 50; i++) {
    const port = 20000 + Math.floor(Math.random() * 30000);
    if ((await free(port)) && (await free(port + 1))) return port;
  }
  throw new Error('no two consecutive free ports');
}

/** A fresh HTTP GET of the VIP from a client namespace: the answering VM's name (the lab server's "VM PORT"). */
async function fetchFrom(netns: string, vip: string): Promise<string> {
  const script = `require('http').get({ host: '${vip}', port: 80, agent: false, timeout: 5000 }, (res) => { let b = ''; res.on('data', (d) => b += d); res.on('end', () => console.log(b.trim())); })`
    + `.on('timeout', function () { this.destroy(new Error('timeout')); }).on('error', (e) => { console.log('failed ' + e.message); });`;
  return new Promise((resolve) => {
    const child = spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', script]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', () => resolve(out.trim().split(' ')[0] || 'failed'));
  });
}

/** Each poll runs the CLI: every 500 ms. */
const waitFor = (cond: () => Promise<boolean>, timeoutMs: number, what: string) => waitForEvery(cond, timeoutMs, what, { pollMs: 500 });

afterAll(async () => {
  for (const s of servers) s.kill('SIGKILL');
  if (labUp) await vadc(['lab', 'down', '--name', name, '--base-dir', baseDir]);
  await vadc(['cluster', 'down', '--dir', storeDir]);
  fs.rmSync(baseDir, { recursive: true, force: true });
}, 120_000);

describe('vadc lab up --hosts 2 --cluster R: a vadc daemon per host', () => {
  it('starts them, they serve a cluster service to both hosts\' clients, lab status lists them, lab down stops them', async () => {
    remotes = (JSON.parse(await vadcOk(['cluster', 'up', '--members', '1', '--dir', storeDir, '--name', name, '--json'])) as { remotes: string }).remotes;
    const port = await freePortPair();
    const started = Date.now();
    const up = await vadc(['lab', 'up', '--name', name, '--base-dir', baseDir, '--hosts', '2', '--vms', '1', '--clients', '1',
      '--controller', `tcp:127.0.0.1:${port}`, '--cluster', remotes, '--wait', '900', '--json']);
    labUp = true;
    expect({ code: up.code, stderr: up.stderr }).toMatchObject({ code: 0 });
    const lab = JSON.parse(up.stdout) as LabUpJson;
    expect(lab.vadc.map((d) => [d.host, d.running, d.api])).toEqual([
      ['h1', true, `unix:${lab.dir}/vadc-h1.sock`], ['h2', true, `unix:${lab.dir}/vadc-h2.sock`],
    ]);
    const upMs = Date.now() - started;

    const vms = lab.hosts.filter((h) => h.role === 'vm');
    for (const vm of vms) {
      const server = spawn('ip', ['netns', 'exec', vm.netns, process.execPath, path.join(lab.dir, 'servers', 'http-server.js'), '8080', vm.name], { stdio: 'ignore' });
      servers.push(server);
    }
    const vip = lab.subnet.replace(/\.0\/\d+$/, '.100');
    const file = path.join(baseDir, 'web.yaml');
    fs.writeFileSync(file, `name: web\nvip: ${vip}\nport: 80\nscheduler: rr\nhealth: { type: tcp, interval: 1, timeout: 0.5, rise: 1, fall: 2 }\nbackends:\n`
      + vms.map((vm) => `  - { vnic: ${vm.port}, ip: ${vm.ip}, ports: [8080] }\n`).join(''));
    await vadcOk(['service', 'add', 'web', '--file', file, '--cluster', remotes]);
    const added = Date.now();
    // Each host's daemon, through its own API socket, sees both backends up (one local, one through its uplink).
    for (const d of lab.vadc) {
      await waitFor(async () => {
        const r = await vadc(['status', '--api', d.api, '--json']);
        if (r.code !== 0) return false;
        const web = (JSON.parse(r.stdout) as { services: ServiceStatus[] }).services.find((s) => s.name === 'web');
        return web?.backends.length === 2 && web.backends.every((b) => b.health === 'up');
      }, 90_000, `${d.host}'s vadc to serve web with both backends up`);
    }
    const served = Date.now() - added;
    const answers: Record<string, string[]> = {};
    for (const client of lab.hosts.filter((h) => h.role === 'client')) {
      const got = new Set<string>();
      for (let i = 0; i < 10 && got.size < 2; i++) got.add(await fetchFrom(client.netns, vip));
      answers[client.name] = [...got].sort();
    }
    console.log(`[lab daemons e2e] lab up --hosts 2 --cluster with its daemons: ${upMs} ms; service added -> both hosts serve it with both backends up ${served} ms later; answers: ${JSON.stringify(answers)}`);
    expect(answers).toEqual({ h1cl1: ['h1vm1', 'h2vm1'], h2cl1: ['h1vm1', 'h2vm1'] });

    const status = JSON.parse(await vadcOk(['lab', 'status', '--name', name, '--base-dir', baseDir, '--json'])) as LabStatus;
    expect(status.hypervisors?.map((hv) => [hv.name, hv.vadc?.running, hv.vadc?.pid])).toEqual(lab.vadc.map((d) => [d.host, true, d.pid]));

    await vadcOk(['lab', 'down', '--name', name, '--base-dir', baseDir]);
    labUp = false;
    expect(lab.vadc.map((d) => isAlive(d.pid))).toEqual([false, false]);
  }, 900_000);
});
