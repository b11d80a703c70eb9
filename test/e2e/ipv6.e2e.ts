// IPv6 services on real Open vSwitch (issue 16): the lab's namespaces carry IPv6 addresses too (src/lab/plan.ts
// ipv6ForIp, added with nodad), and clients reach the VMs through an IPv6 VIP: rr spread over VMs and software
// ports, replies from the VIP, neighbor discovery and ping6 of the VIP, a RST for a port with no service, a UDP
// service, an IPv4 and an IPv6 service side by side on the same VMs, and a restart that keeps live IPv6 connections.
import { parseConfig } from '../../src/config';
import { deriveVipMac } from '../../src/config/addresses';
import { VadcDaemon } from '../../src/daemon/daemon';
import { ipv6ForIp, Lab, type LabServer } from '../../src/lab';
import { datapathYaml, e2eNatMode } from '../helpers/nat-mode';

const VIP4 = '10.0.0.100';
const VIP6 = ipv6ForIp(VIP4);
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

/** A service's backends: the three VMs (two software ports on vm1) at their address of one family. */
function backends(family: 4 | 6, port = 8080): string {
  const ip = (vm: string) => (family === 4 ? lab.host(vm).ip : `"${lab.host(vm).ip6}"`);
  return `
    backends:
      - { vnic: v-vm1, ip: ${ip('vm1')}, ports: [${port === 8080 ? '8080, 8081' : port}] }
      - { vnic: v-vm2, ip: ${ip('vm2')}, ports: [${port}] }
      - { vnic: v-vm3, ip: ${ip('vm3')}, ports: [${port}] }`;
}

const web6 = (scheduler = 'rr', extra = '') => `  - name: web6\n    vip: "${VIP6}"\n    port: 80\n    scheduler: ${scheduler}\n${extra}${backends(6)}`;

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

async function get(client: string, vip: string, port = 80): Promise<string> {
  const host = vip.includes(':') ? `[${vip}]` : vip;
  const answer = await lab.httpGet(client, `http://${host}:${port}/`, 10_000);
  expect(answer.status).toBe(200);
  return answer.body.trim();
}

/** A client holds one TCP connection to [VIP6]:80 open (no request) for `ms`; resolves once it is connected. */
async function holdConnection(client: string, ms: number): Promise<{ done: Promise<void> }> {
  const child = lab.spawn(client, ['node', '-e', `
    const s = require('net').connect(80, '${VIP6}', () => { console.log('connected'); setTimeout(() => { s.destroy(); process.exit(0); }, ${ms}); });
    s.on('error', (e) => { console.log(e.code); process.exit(2); });`]);
  const done = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const first = await new Promise<string>((resolve) => child.stdout?.once('data', (d: Buffer) => resolve(d.toString().trim())));
  expect(first).toBe('connected');
  return { done };
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

describe(`IPv6 VIPs on real OVS (NAT by ${e2eNatMode()})`, () => {
  it('rr over an IPv6 VIP: each VM gets every third connection, ports rotate on a VM, replies come from the VIP', async () => {
    daemon = await startDaemon(yaml(web6('rr', '    fin_timeout: 1\n')));
    const bodies: string[] = [];
    for (let i = 0; i < 6; i++) bodies.push(await get(i % 2 ? 'cl2' : 'cl1', VIP6));
    // The client's socket is connected to [VIP6]:80: it only takes answers whose source is the VIP.
    expect(bodies).toEqual(['vm1 8080', 'vm2 8080', 'vm3 8080', 'vm1 8081', 'vm2 8080', 'vm3 8080']);
    expect(daemon.service('web6').decisions).toBe(6);
    // The client found the VIP by neighbor discovery: vadc's advertisement gave it the VIP's MAC.
    const neigh = await lab.exec('cl1', ['ip', '-6', 'neigh', 'show', VIP6]);
    expect(neigh.stdout).toContain(deriveVipMac(VIP6));
  });

  it('answers ping6 of the VIP, refuses a port with no service with a RST, and serves a UDP service over IPv6', async () => {
    daemon = await startDaemon(yaml(`${web6()}
  - name: echo6
    vip: "${VIP6}"
    protocol: udp
    port: 53
    scheduler: rr
    backends:
      - { vnic: v-vm1, ip: "${lab.host('vm1').ip6}", ports: [5353] }
      - { vnic: v-vm2, ip: "${lab.host('vm2').ip6}", ports: [5353] }`));
    // ICMPv6 echo through a raw socket (the namespaces have no ping binary); the kernel checks our checksum.
    const ping = await lab.exec('cl1', ['python3', '-c', `
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.settimeout(5)
s.sendto(b'\\x80\\x00\\x00\\x00\\x12\\x34\\x00\\x01vadc-ping6', ('${VIP6}', 0))
while True:
    data, addr = s.recvfrom(1500)
    if data[0] == 129:
        print('reply from', addr[0], data[8:].decode()); break`]);
    expect(ping.stdout.trim()).toBe(`reply from ${VIP6} vadc-ping6`);
    const refused = await lab.exec('cl1', ['node', '-e', `
      const s = require('net').connect(443, '${VIP6}'); s.on('error', (e) => { console.log(e.code); process.exit(0); });
      s.on('connect', () => { console.log('connected'); process.exit(0); }); setTimeout(() => { console.log('timeout'); process.exit(0); }, 5000);`]);
    expect(refused.stdout.trim()).toBe('ECONNREFUSED');
    expect(await lab.udpRequest('cl1', VIP6, 53, 'ping-a')).toMatch(/^vm1 5353 ping-a/);
    expect(await lab.udpRequest('cl1', VIP6, 53, 'ping-b')).toMatch(/^vm2 5353 ping-b/);
  });

  it('dual stack: an IPv4 and an IPv6 service on the same VMs both answer; status and conns show the IPv6 addresses in RFC 5952 form', async () => {
    daemon = await startDaemon(yaml(`  - name: web4\n    vip: ${VIP4}\n    port: 80\n    scheduler: rr${backends(4)}\n${web6()}`));
    const v4: string[] = [];
    const v6: string[] = [];
    for (let i = 0; i < 3; i++) {
      v4.push((await get('cl1', VIP4)).split(' ')[0]);
      v6.push((await get('cl2', VIP6)).split(' ')[0]);
    }
    expect([v4, v6]).toEqual([['vm1', 'vm2', 'vm3'], ['vm1', 'vm2', 'vm3']]);
    expect(daemon.services().map((s) => [s.name, s.vip])).toEqual([['web4', VIP4], ['web6', VIP6]]);
    const held = await holdConnection('cl2', 3000);
    const cl2 = lab.host('cl2').ip6;
    await waitFor(() => daemon!.connections({ service: 'web6' }).some((c) => c.client.startsWith(`[${cl2}]:`)), 10_000, 'the held IPv6 connection listed');
    const conn = daemon.connections({ service: 'web6' }).find((c) => c.client.startsWith(`[${cl2}]:`))!;
    expect(conn.vip).toBe(`[${VIP6}]:80`);
    expect(conn.destination).toMatch(/^\[fd00:0:a00::[bcd]\]:808[01]$/);
    await held.done;
  });

  it('a restart keeps live IPv6 connections: a keep-alive stream through the VIP carries on over one TCP connection', async () => {
    const text = yaml(web6('rr', '    idle_timeout: 60\n'));
    daemon = await startDaemon(text);
    const script = `
      const http = require('http'); const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      let ok = 0, failed = 0, ports = new Set();
      const tick = () => http.get({ host: '${VIP6}', family: 6, port: 80, path: '/', agent, timeout: 2000 }, (res) => {
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
    await daemon.stop();
    daemon = await startDaemon(text);
    // Read back from the switch (flows mode: the connection's flows; conntrack mode: the tracker), in RFC 5952 form.
    // Earlier tests' connections may be listed too (their flows or tracker entries have not expired yet).
    const cl1 = lab.host('cl1').ip6;
    await waitFor(() => daemon!.connections({ service: 'web6' }).some((c) => c.client.startsWith(`[${cl1}]:`)), 10_000, 'the IPv6 connection restored');
    await done;
    expect(err).toBe('');
    const result = JSON.parse(out) as { ok: number; failed: number; ports: string[] };
    expect(result.failed).toBe(0);
    expect(result.ok).toBeGreaterThan(20);
    expect(result.ports).toHaveLength(1);
  });
});
