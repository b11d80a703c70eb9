// The main job on real Open vSwitch: connections to a VIP are spread over the VMs' vNICs and
// software ports as each scheduler defines, stay in the datapath, survive a controller restart,
// and established ones survive backend changes.
import { parseConfig } from '../../src/config';
import { VadcDaemon } from '../../src/daemon/daemon';
import { Lab, type LabServer } from '../../src/lab';
import { datapathYaml, e2eNatMode } from '../helpers/nat-mode';

const VIP = '10.0.0.100';
let lab: Lab;
let daemon: VadcDaemon | undefined;
const servers: LabServer[] = [];

function yaml(services: string): string {
  return `
controller: { listen: "tcp:127.0.0.1:0", echo_interval: 1 }
${datapathYaml(lab.vswitchdControlSocket)}
ovsdb: unix:${lab.ovsdbSocket}
services:
${services}`;
}

const WEB_BACKENDS = `
    backends:
      - { vnic: v-vm1, ip: 10.0.0.11, ports: [8080, 8081] }
      - { vnic: v-vm2, ip: 10.0.0.12, ports: [8080] }
      - { vnic: v-vm3, ip: 10.0.0.13, ports: [8080] }`;

async function startDaemon(text: string): Promise<VadcDaemon> {
  const d = new VadcDaemon({ config: parseConfig(text, 'e2e'), configText: text, statsIntervalMs: 500 });
  const [target] = await d.start();
  await lab.setController(target);
  await waitFor(() => d.status().switches.length === 1 && d.services().every((s) => s.backends.every((b) => b.ofport !== undefined)), 15000, 'switch up and backends located');
  return d;
}

async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function get(client: string, port = 80): Promise<string> {
  const answer = await lab.httpGet(client, `http://${VIP}:${port}/`);
  expect(answer.status).toBe(200);
  return answer.body.trim();
}

beforeAll(async () => {
  lab = await Lab.up({ vms: 3, clients: 2, waitForHostMs: 300_000 });
  for (const vm of ['vm1', 'vm2', 'vm3']) servers.push(await lab.startHttpServer(vm, 8080));
  servers.push(await lab.startHttpServer('vm1', 8081));
  for (const vm of ['vm1', 'vm2']) servers.push(await lab.startUdpEchoServer(vm, 5353));
}, 300_000);

afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

afterAll(async () => {
  for (const s of servers) await s.stop().catch(() => undefined);
  await lab?.down();
}, 120_000);

describe(`VIP load balancing on real OVS (NAT by ${e2eNatMode()})`, () => {
  it('rr: each VM gets every third connection, ports rotate on a VM, replies come from the VIP', async () => {
    daemon = await startDaemon(yaml(`  - name: web\n    vip: ${VIP}\n    port: 80\n    scheduler: rr\n    fin_timeout: 1${WEB_BACKENDS}`));
    const bodies: string[] = [];
    for (let i = 0; i < 6; i++) bodies.push(await get(i % 2 ? 'cl2' : 'cl1'));
    // The body names the VM and software port that answered; the client only accepts it if the
    // reply's source was the VIP (its socket is connected to VIP:80).
    expect(bodies).toEqual(['vm1 8080', 'vm2 8080', 'vm3 8080', 'vm1 8081', 'vm2 8080', 'vm3 8080']);
    const svc = daemon.service('web');
    expect(svc.decisions).toBe(6);
    expect(svc.backends.map((b) => b.totalConns)).toEqual([2, 2, 2]);
    if (e2eNatMode() === 'conntrack') {
      // vadc gave its conntrack zone the short close-state timeouts through OVSDB, as ovs-vsctl reads them back.
      await waitFor(() => daemon!.events().some((e) => e.kind === 'ct_timeouts_applied'), 5000, 'the zone timeout policy');
      expect(await lab.vsctl('list-zone-tp', 'netdev')).toContain('Zone:2780, Timeout Policies: tcp_close=2 tcp_time_wait=2');
      expect(daemon.status().datapath).toEqual({ nat: 'conntrack', ctZone: 2780, accounting: 'conntrack', reason: 'datapath.nat: conntrack in the configuration' });
    }
    // Every service shows the feedback scheduler's load figures, measured from the port statistics once
    // connections have completed (fin_timeout 1 s): the reply packet rate and the queue measure.
    await waitFor(() => daemon!.service('web').backends.every((b) => b.queueMeasure !== undefined), 10_000, 'queue measures');
    for (const b of daemon.service('web').backends) {
      expect(b.queueMeasure).toBeGreaterThan(0);
      expect(b.rateOfProcessing).toBeGreaterThanOrEqual(0);
    }
  });

  it('wrr follows the kernel sequence for weights 3,2,1', async () => {
    daemon = await startDaemon(yaml(`  - name: web
    vip: ${VIP}
    port: 80
    scheduler: wrr
    backends:
      - { vnic: v-vm1, ip: 10.0.0.11, ports: [8080], weight: 3 }
      - { vnic: v-vm2, ip: 10.0.0.12, ports: [8080], weight: 2 }
      - { vnic: v-vm3, ip: 10.0.0.13, ports: [8080], weight: 1 }`));
    const seq: string[] = [];
    for (let i = 0; i < 6; i++) seq.push((await get('cl1')).split(' ')[0]);
    expect(seq).toEqual(['vm1', 'vm1', 'vm2', 'vm1', 'vm2', 'vm3']);
  });

  it('sh keeps each client on one backend; a UDP service answers through the VIP', async () => {
    daemon = await startDaemon(yaml(`  - name: web\n    vip: ${VIP}\n    port: 80\n    scheduler: sh${WEB_BACKENDS}
  - name: echo
    vip: ${VIP}
    protocol: udp
    port: 53
    scheduler: rr
    backends:
      - { vnic: v-vm1, ip: 10.0.0.11, ports: [5353] }
      - { vnic: v-vm2, ip: 10.0.0.12, ports: [5353] }`));
    for (const client of ['cl1', 'cl2']) {
      const seen = new Set<string>();
      for (let i = 0; i < 3; i++) seen.add((await get(client)).split(' ')[0]);
      expect(seen.size).toBe(1);
    }
    const a = await lab.udpRequest('cl1', VIP, 53, 'ping-a');
    const b = await lab.udpRequest('cl1', VIP, 53, 'ping-b');
    expect(a).toMatch(/^vm1 5353 ping-a/);
    expect(b).toMatch(/^vm2 5353 ping-b/);
  });

  it('established connections survive a vadc restart and backend changes; new ones use the new config', async () => {
    const text = yaml(`  - name: web\n    vip: ${VIP}\n    port: 80\n    scheduler: rr\n    idle_timeout: 60${WEB_BACKENDS}`);
    daemon = await startDaemon(text);
    // A long-lived keep-alive connection from cl1: one request every 100 ms, reporting each answer.
    const script = `
      const http = require('http'); const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      let ok = 0, failed = 0, ports = new Set();
      const tick = () => http.get({ host: '${VIP}', port: 80, path: '/', agent, timeout: 2000 }, (res) => {
        const local = res.socket.localPort; let body = '';
        res.on('data', (d) => body += d); res.on('end', () => { ok++; ports.add(local + ' ' + body.trim()); });
      }).on('error', () => failed++);
      const timer = setInterval(tick, 100);
      setTimeout(() => { clearInterval(timer); console.log(JSON.stringify({ ok, failed, ports: [...ports] })); process.exit(0); }, 6000);`;
    const stream = lab.spawn('cl1', ['node', '-e', script]);
    let out = '';
    let err = '';
    stream.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    stream.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const done = new Promise<void>((resolve) => stream.on('exit', () => resolve()));
    await new Promise((r) => setTimeout(r, 1000));
    // Restart the controller: flows stay in the switch (fail_mode=secure) and are read back.
    await daemon.stop();
    daemon = await startDaemon(text);
    await waitFor(() => daemon!.connections().length >= 1, 5000, 'connection restored from flows');
    const restored = daemon.connections()[0];
    expect(restored.client).toMatch(/^10\.0\.0\.101:/);
    // Quiesce the backend it uses and remove another: the stream keeps flowing.
    await daemon.drain('web', restored.backend);
    const other = ['v-vm1', 'v-vm2', 'v-vm3'].find((b) => b !== restored.backend)!;
    await daemon.removeBackend('web', other);
    await done;
    expect(err).toBe('');
    const result = JSON.parse(out) as { ok: number; failed: number; ports: string[] };
    expect(result.failed).toBe(0);
    expect(result.ok).toBeGreaterThan(40);
    expect(result.ports).toHaveLength(1); // one TCP connection, one backend, all along
    // New connections avoid the drained and the removed backend.
    const fresh = (await get('cl2')).split(' ')[0];
    expect(['vm1', 'vm2', 'vm3'].filter((vm) => `v-${vm}` !== restored.backend && `v-${vm}` !== other)).toContain(fresh);
  });

  it('answers ARP and ping for the VIP, and refuses a port with no service with a RST', async () => {
    daemon = await startDaemon(yaml(`  - name: web\n    vip: ${VIP}\n    port: 80\n    scheduler: rr${WEB_BACKENDS}`));
    const refused = await lab.exec('cl1', ['node', '-e', `
      const s = require('net').connect(443, '${VIP}'); s.on('error', (e) => { console.log(e.code); process.exit(0); });
      s.on('connect', () => { console.log('connected'); process.exit(0); }); setTimeout(() => { console.log('timeout'); process.exit(0); }, 3000);`]);
    expect(refused.stdout.trim()).toBe('ECONNREFUSED');
    const neigh = await lab.exec('cl1', ['ip', 'neigh', 'show', VIP]);
    expect(neigh.stdout).toContain('02:00:0a:00:00:64');
  });
});
