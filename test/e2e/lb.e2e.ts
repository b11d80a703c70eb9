// The main job on real Open vSwitch, for an IPv4 and an IPv6 VIP alike (issue 16: the lab's namespaces carry both
// families, src/lab/plan.ts ipv6ForIp): connections to a VIP are spread over the VMs' vNICs and software ports as
// each scheduler defines, replies come from the VIP, the VIP answers neighbor resolution, a port with no service
// is refused with a RST, a UDP service answers, and established connections survive a vadc restart and backend
// changes. Then what is specific to one family (wrr and sh sequences, ping6) and one dual-stack service answering on both
// VIPs, its backends health-checked at both addresses.
import { parseConfig } from '../../src/config';
import { deriveVipMac } from '../../src/config/addresses';
import { VadcDaemon } from '../../src/daemon/daemon';
import { ipv6ForIp, Lab, type LabServer } from '../../src/lab';
import { parseIpv6 } from '../../src/net/ipv6';
import { ipv4TcpFragments, ipv6TcpFragments } from '../helpers/frames';
import { datapathYaml, e2eNatMode } from '../helpers/nat-mode';
import { until, waitFor } from '../helpers/until';
import { switchSynced } from '../helpers/switch-synced';

const VIP4 = '10.0.0.100';
const VIP6 = ipv6ForIp(VIP4);
let lab: Lab;
let daemon: VadcDaemon | undefined;
const servers: LabServer[] = [];

/** What differs between the families in these tests: the VIP, the addresses, how a URL and a client look. */
interface Family {
  name: 'IPv4' | 'IPv6';
  vip: string;
  /** A host's address as the config writes it. */
  ip(host: string): string;
  /** The start of a connection's client column for a lab client ('10.0.0.101:', '[fd00:0:a00::65]:'). */
  clientPrefix(host: string): string;
  /** `ip neigh show` for the VIP. */
  neighCommand: string[];
}

const FAMILIES: Family[] = [
  { name: 'IPv4', vip: VIP4, ip: (h) => lab.host(h).ip, clientPrefix: (h) => `${lab.host(h).ip}:`, neighCommand: ['ip', 'neigh', 'show', VIP4] },
  { name: 'IPv6', vip: VIP6, ip: (h) => `"${lab.host(h).ip6}"`, clientPrefix: (h) => `[${lab.host(h).ip6}]:`, neighCommand: ['ip', '-6', 'neigh', 'show', VIP6] },
];

function yaml(services: string): string {
  return `
controller: { listen: "tcp:127.0.0.1:0", echo_interval: 1 }
${datapathYaml(lab.vswitchdControlSocket)}
ovsdb: unix:${lab.ovsdbSocket}
services:
${services}`;
}

/** The three VMs as backends (two software ports on vm1 for 8080) at their address of the family. */
function backends(f: Family, port = 8080, vms = ['vm1', 'vm2', 'vm3'], extra = ''): string {
  const ports = (vm: string) => (vm === 'vm1' && port === 8080 ? '8080, 8081' : String(port));
  return `\n    backends:\n${vms.map((vm) => `      - { vnic: v-${vm}, ip: ${f.ip(vm)}, ports: [${ports(vm)}]${extra} }`).join('\n')}`;
}

/** A TCP service `name` on the family's VIP port 80 with the given scheduler and extra lines. */
function web(f: Family, scheduler: string, extra = '', name = 'web'): string {
  return `  - name: ${name}\n    vip: "${f.vip}"\n    port: 80\n    scheduler: ${scheduler}\n${extra}${backends(f)}`;
}

/** A UDP echo service on the family's VIP port 53 over vm1 and vm2. */
function echo(f: Family): string {
  return `  - name: echo\n    vip: "${f.vip}"\n    protocol: udp\n    port: 53\n    scheduler: rr${backends(f, 5353, ['vm1', 'vm2'])}`;
}

async function startDaemon(text: string, healthSourceAddress?: { ipv4: string; ipv6: string }): Promise<VadcDaemon> {
  const d = new VadcDaemon({ config: parseConfig(text, 'e2e'), configText: text, statsIntervalMs: 500, healthSourceAddress });
  const [target] = await d.start();
  await lab.setController(target);
  await waitFor(() => switchSynced(d.status()) && d.services().every((s) => s.backends.every((b) => b.ofport !== undefined)), 15000, 'switch up and backends located');
  return d;
}

/** One HTTP request to the VIP from a client; the body names the VM and software port that answered. */
async function get(client: string, vip: string, port = 80): Promise<string> {
  const host = vip.includes(':') ? `[${vip}]` : vip;
  const answer = await lab.httpGet(client, `http://${host}:${port}/`, 10_000);
  expect(answer.status).toBe(200);
  return answer.body.trim();
}

/**
 * A keep-alive stream from a client through the VIP: a request every 100 ms for 6 s over one TCP connection;
 * `result` gives the answers, the failures and the distinct (local port, answer) pairs.
 */
function keepAliveStream(client: string, vip: string): { result: Promise<{ ok: number; failed: number; ports: string[]; stderr: string }> } {
  const family = vip.includes(':') ? 6 : 4;
  const script = `
    const http = require('http'); const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    let ok = 0, failed = 0, ports = new Set();
    const tick = () => http.get({ host: '${vip}', family: ${family}, port: 80, path: '/', agent, timeout: 2000 }, (res) => {
      const local = res.socket.localPort; let body = '';
      res.on('data', (d) => body += d); res.on('end', () => { ok++; ports.add(local + ' ' + body.trim()); });
    }).on('error', () => failed++);
    const timer = setInterval(tick, 100);
    setTimeout(() => { clearInterval(timer); console.log(JSON.stringify({ ok, failed, ports: [...ports] })); process.exit(0); }, 6000);`;
  const stream = lab.spawn(client, ['node', '-e', script]);
  let out = '';
  let stderr = '';
  stream.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  stream.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const result = new Promise<{ ok: number; failed: number; ports: string[]; stderr: string }>((resolve) => stream.on('exit', () => {
    resolve({ ...(JSON.parse(out || '{"ok":0,"failed":0,"ports":[]}') as { ok: number; failed: number; ports: string[] }), stderr });
  }));
  return { result };
}

/** A client holds one TCP connection to [vip]:80 open (no request) for `ms`; resolves once it is connected. */
async function holdConnection(client: string, vip: string, ms: number): Promise<{ done: Promise<void> }> {
  const child = lab.spawn(client, ['node', '-e', `
    const s = require('net').connect(80, '${vip}', () => { console.log('connected'); setTimeout(() => { s.destroy(); process.exit(0); }, ${ms}); });
    s.on('error', (e) => { console.log(e.code); process.exit(2); });`]);
  const done = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const first = await new Promise<string>((resolve) => child.stdout?.once('data', (d: Buffer) => resolve(d.toString().trim())));
  expect(first).toBe('connected');
  return { done };
}

/**
 * ICMPv6 echo from a client to `address` through a raw socket (the namespaces have no ping binary; the kernel checks the
 * reply's checksum): 'reply from ADDRESS vadc-ping6', or '' when no reply came within 5 s.
 */
async function ping6(client: string, address: string): Promise<string> {
  const ping = await lab.exec(client, ['python3', '-c', `
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.settimeout(5)
s.sendto(b'\\x80\\x00\\x00\\x00\\x12\\x34\\x00\\x01vadc-ping6', ('${address}', 0))
while True:
    data, addr = s.recvfrom(1500)
    if data[0] == 129:
        print('reply from', addr[0], data[8:].decode()); break`]);
  return ping.stdout.trim();
}

/** Linux's setsockopt numbers for a socket's sticky destination options and hop-by-hop header (linux/in6.h). */
const IPV6_HOPOPTS = 54;
const IPV6_DSTOPTS = 59;

/** Python: GET http://[argv[1]]/ over HTTP/1.0 with socket option argv[2] (an 8-byte header, one PadN option) set; prints the body. */
const HTTP_GET_WITH_OPTION = `
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IPV6, int(sys.argv[2]), bytes([0, 0, 1, 4, 0, 0, 0, 0]))
s.settimeout(5)
s.connect((sys.argv[1], 80))
s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n')
data = b''
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(data.split(b'\\r\\n\\r\\n', 1)[1].decode().strip())
`;

/** Python: sends each argument (a frame in hex) on eth0 as it is. */
const SEND_FRAMES = `
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(('eth0', 0))
for frame in sys.argv[1:]:
    s.send(bytes.fromhex(frame))
`;

/**
 * Python run in a host's namespace: reads the frames of ethertype `ethType` that eth0 carries (either way) as `f`, each
 * handed to `body` (lines indented 4 spaces); prints 'ready' once listening; stops after argv[1] seconds.
 */
function sniffScript(ethType: number, body: string): string {
  return `
import json, socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(${ethType}))
s.bind(('eth0', 0))
s.settimeout(0.1)
print('ready', flush=True)
end = time.time() + float(sys.argv[1])
while time.time() < end:
    try:
        f = s.recv(4096)
    except socket.timeout:
        continue
${body}`;
}

/**
 * A sniffScript that prints, as one JSON line each, the IPv6 packets eth0 carries (either way) that
 * have an extension header, are a TCP SYN without ACK or a RST, or an ICMPv6 error: the extension headers' types in
 * order, the upper-layer protocol, the TCP flags, the ICMPv6 type.
 */
const SNIFF_IPV6 = sniffScript(0x86dd, `    nh, p, ext = f[20], 54, []
    while nh in (0, 43, 44, 60) and p + 8 <= len(f) and len(ext) < 8:
        ext.append(nh)
        nh, p = f[p], p + (8 if nh == 44 else (f[p + 1] + 1) * 8)
    flags = f[p + 13] if nh == 6 and p + 14 <= len(f) else None
    icmp = f[p] if nh == 58 and p < len(f) else None
    if ext or (flags is not None and (flags & 0x12 == 0x02 or flags & 0x04)) or (icmp is not None and icmp < 128):
        print(json.dumps({'ext': ext, 'proto': nh, 'flags': flags, 'icmp': icmp}), flush=True)
`);

interface Sniffed { ext: number[]; proto: number; flags: number | null; icmp: number | null }

/**
 * Python: prints 'ready', then, as one JSON line, the first ICMPv6 parameter problem the host's kernel takes (a raw
 * ICMPv6 socket: the kernel checked its checksum): source, type, code, pointer; exits then, or after argv[1] seconds.
 */
const PARAMETER_PROBLEM_LISTENER = `
import json, socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.settimeout(float(sys.argv[1]))
print('ready', flush=True)
try:
    while True:
        data, addr = s.recvfrom(2048)
        if data[0] == 4:
            print(json.dumps({'src': addr[0], 'type': data[0], 'code': data[1], 'pointer': int.from_bytes(data[4:8], 'big')}), flush=True)
            break
except socket.timeout:
    pass
`;

/**
 * SNIFF_IPV6 for IPv4 (ethertype 0x0800): the packets that are a fragment (MF set or an offset), a TCP SYN without ACK
 * or a RST, or an ICMP error (type 3, 11); `frag` says whether it is a fragment.
 */
const SNIFF_IPV4 = sniffScript(0x0800, `    proto, p = f[23], 14 + (f[14] & 0x0f) * 4
    frag = (((f[20] << 8) | f[21]) & 0x3fff) != 0
    later = (((f[20] << 8) | f[21]) & 0x1fff) != 0
    flags = f[p + 13] if proto == 6 and not later and p + 14 <= len(f) else None
    icmp = f[p] if proto == 1 and not later and p < len(f) else None
    if frag or (flags is not None and (flags & 0x12 == 0x02 or flags & 0x04)) or icmp in (3, 11):
        print(json.dumps({'frag': frag, 'proto': proto, 'flags': flags, 'icmp': icmp}), flush=True)
`);

interface Sniffed4 { frag: boolean; proto: number; flags: number | null; icmp: number | null }

/** SNIFF_IPV6 on a VM for `seconds`; resolves once it listens, `packets` when it has stopped. */
function sniffIpv6(vm: string, seconds: number): Promise<Sniffer<Sniffed>> {
  return sniff<Sniffed>(vm, SNIFF_IPV6, seconds);
}

/** SNIFF_IPV4 on a VM for `seconds`, as sniffIpv6. */
function sniffIpv4(vm: string, seconds: number): Promise<Sniffer<Sniffed4>> {
  return sniff<Sniffed4>(vm, SNIFF_IPV4, seconds);
}

/** What a sniffer gives: its packets once it exits, the ones printed so far, and a stop before its time is up. */
interface Sniffer<T> {
  packets: Promise<T[]>;
  sofar(): T[];
  /** Ends the sniffer now (SIGTERM: every packet it printed is kept, each line flushed as printed). */
  stop(): void;
}

/** A Python sniffer `script` (prints 'ready', then a JSON line per packet) on a VM for `seconds`, unless stopped. */
async function sniff<T>(vm: string, script: string, seconds: number): Promise<Sniffer<T>> {
  const child = lab.spawn(vm, ['python3', '-c', script, String(seconds)]);
  let out = '';
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.startsWith('ready\n')) resolve();
    });
    child.on('exit', () => reject(new Error(`sniffer on ${vm} exited early: ${stderr}`)));
  });
  // Whole lines only: a line the sniffer is still writing is read at the next call.
  const sofar = (): T[] => out.split('\n').slice(1, -1).filter((l) => l !== '').map((l) => JSON.parse(l) as T);
  const packets = new Promise<T[]>((resolve) => child.on('exit', () => {
    resolve(out.split('\n').slice(1).filter((l) => l !== '').map((l) => JSON.parse(l) as T));
  }));
  await ready;
  return { packets, sofar, stop: () => void child.kill('SIGTERM') };
}

beforeAll(async () => {
  lab = await Lab.up({ vms: 3, clients: 2, waitForHostMs: 600_000 });
  for (const vm of ['vm1', 'vm2', 'vm3']) servers.push(await lab.startHttpServer(vm, 8080));
  servers.push(await lab.startHttpServer('vm1', 8081));
  for (const vm of ['vm1', 'vm2']) servers.push(await lab.startUdpEchoServer(vm, 5353));
}, 660_000);

/** vadc's connection flows (cookie kind 4) and the tracker's entries gone: a new daemon restores no connection. */
async function forgetEarlierConnections(): Promise<void> {
  await lab.ofctl('del-flows', 'cookie=0xadc0400000000000/0xfffff00000000000');
  await lab.appctl('dpctl/flush-conntrack');
}

// Each test starts with no connection in the switch: a new daemon would restore what earlier tests (or an earlier
// attempt of the same test) left in flows or the tracker, and a client port reused while an old forward flow is still
// in place goes down that flow to the old backend (CI 2026-12-06: wrr's sequence ended vm2 instead of vm3 once; an
// extension-header test's counts never reached 0). A restart inside one test still restores that test's connections.
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
  if (lab) await forgetEarlierConnections();
});

afterAll(async () => {
  for (const s of servers) await s.stop().catch(() => undefined);
  await lab?.down();
}, 120_000);

describe.each(FAMILIES)(`VIP load balancing on real OVS, $name (NAT by ${e2eNatMode()})`, (f) => {
  it('rr: each VM gets every third connection, ports rotate on a VM, replies come from the VIP, found by neighbor resolution', async () => {
    daemon = await startDaemon(yaml(web(f, 'rr', '    fin_timeout: 1\n')));
    // The queue measure (below) counts from a first sample of the VMs' port counters: one poll that starts after the
    // backends were located (the second of these; the first may only join one in flight) comes before the connections.
    // Without it the 6 connections can all end (end copies, conntrack mode) before the first timed poll, 500 ms in:
    // a VM's figures then wait for its next connection (CI 2026-12-07, both families).
    await daemon.pollStats();
    await daemon.pollStats();
    const bodies: string[] = [];
    for (let i = 0; i < 6; i++) bodies.push(await get(i % 2 ? 'cl2' : 'cl1', f.vip));
    // The body names the VM and software port that answered; the client only accepts it if the
    // reply's source was the VIP (its socket is connected to VIP:80).
    expect(bodies).toEqual(['vm1 8080', 'vm2 8080', 'vm3 8080', 'vm1 8081', 'vm2 8080', 'vm3 8080']);
    const svc = daemon.service('web');
    expect(svc.decisions).toBe(6);
    expect(svc.backends.map((b) => b.totalConns)).toEqual([2, 2, 2]);
    // The client found the VIP by ARP or neighbor discovery: vadc's answer gave it the VIP's MAC.
    expect((await lab.exec('cl1', f.neighCommand)).stdout).toContain(deriveVipMac(f.vip));
    if (e2eNatMode() === 'conntrack') {
      // vadc gave its conntrack zone the short close-state timeouts through OVSDB, as ovs-vsctl reads them back.
      await waitFor(() => daemon!.events().some((e) => e.kind === 'ct_timeouts_applied'), 5000, 'the zone timeout policy');
      expect(await lab.vsctl('list-zone-tp', 'netdev')).toContain('Zone:2780, Timeout Policies: tcp_close=2 tcp_time_wait=2');
      const { reading, ...datapath } = daemon.status().datapath;
      expect(datapath).toEqual({ nat: 'conntrack', ctZone: 2780, accounting: 'conntrack', reason: 'datapath.nat: conntrack in the configuration' });
      // The tracker's listing was read, and its wait for ovs-vswitchd's answer measured (datapath.listing_share).
      expect(reading?.answerWaitMs).toBeGreaterThan(0);
    }
    // Flows mode: each connection's backend FIN reached vadc as a copy (datapath.end_copies, on by default; IPv6 takes
    // REPLY_END_COPY's flows): the outlier detector's success, which no reading shows once the connection's flows went.
    // Conntrack mode: with end copies on the tracker's listing is a backstop (spaced by listing_share), so every
    // controller-decided TCP service gets both sides' FINs copied (endCopySides): 2 copies a connection, each
    // connection ended by them, and then no backend counts one.
    const tracker = e2eNatMode() === 'conntrack';
    await waitFor(() => daemon!.service('web').endCopies >= (tracker ? 12 : 6), 10_000, `copies of the FINs of the 6 connections (${tracker ? 'both sides' : "the backends'"})`);
    await waitFor(() => daemon!.service('web').backends.every((b) => b.activeConns === 0 && b.inactiveConns === 0), 10_000, 'every connection ended');
    // Every service shows the feedback scheduler's load figures, measured from the port statistics once
    // connections have completed (fin_timeout 1 s): the reply packet rate and the queue measure.
    await waitFor(() => daemon!.service('web').backends.every((b) => b.queueMeasure !== undefined), 10_000, 'queue measures');
    for (const b of daemon.service('web').backends) {
      expect(b.queueMeasure).toBeGreaterThan(0);
      expect(b.rateOfProcessing).toBeGreaterThanOrEqual(0);
    }
  });

  it('refuses a port with no service with a RST, a UDP port with no service with ICMP port unreachable; a UDP service answers through the VIP', async () => {
    daemon = await startDaemon(yaml(`${web(f, 'rr')}\n${echo(f)}`));
    const refused = await lab.exec('cl1', ['node', '-e', `
      const s = require('net').connect(443, '${f.vip}'); s.on('error', (e) => { console.log(e.code); process.exit(0); });
      s.on('connect', () => { console.log('connected'); process.exit(0); }); setTimeout(() => { console.log('timeout'); process.exit(0); }, 5000);`]);
    expect(refused.stdout.trim()).toBe('ECONNREFUSED');
    // A datagram to a UDP port with no service: vadc answers ICMP (ICMPv6) port unreachable from the VIP, quoting it.
    // The client's kernel matches the quote to its connected socket (checksum checked) and reports ECONNREFUSED on
    // the next send; without a valid answer the socket sees nothing for 3 s. (IPv4's twin: schedulers.e2e.ts.)
    const udp = await lab.exec('cl1', ['node', '-e', `
      const s = require('dgram').createSocket('${f.name === 'IPv6' ? 'udp6' : 'udp4'}');
      s.on('error', (e) => { console.log(e.code); process.exit(0); });
      s.connect(9999, '${f.vip}', () => { s.send('x'); setTimeout(() => s.send('y'), 300); });
      setTimeout(() => { console.log('no answer'); process.exit(0); }, 3000);`]);
    expect(udp.stdout.trim()).toBe('ECONNREFUSED');
    expect(await lab.udpRequest('cl1', f.vip, 53, 'ping-a')).toMatch(/^vm1 5353 ping-a/);
    expect(await lab.udpRequest('cl1', f.vip, 53, 'ping-b')).toMatch(/^vm2 5353 ping-b/);
  });

  it('established connections survive a vadc restart and backend changes; new ones use the new config', async () => {
    const text = yaml(web(f, 'rr', '    idle_timeout: 60\n'));
    daemon = await startDaemon(text);
    const stream = keepAliveStream('cl1', f.vip);
    await new Promise((r) => setTimeout(r, 1000));
    // Restart the controller: flows stay in the switch (fail_mode=secure) and are read back (flows mode: the
    // connection's flows; conntrack mode: the tracker). Earlier tests' connections may be listed too (their flows
    // or tracker entries have not expired yet).
    await daemon.stop();
    daemon = await startDaemon(text);
    // The stream's connection is the active one (an earlier test's closed one may still be listed, inactive).
    const mine = () => {
      const listed = daemon!.connections({ service: 'web' }).filter((c) => c.client.startsWith(f.clientPrefix('cl1')));
      return listed.find((c) => c.state === 'active') ?? listed[0];
    };
    await waitFor(() => mine() !== undefined, 10_000, 'the connection restored from the switch');
    const restored = mine()!;
    // Quiesce the backend it uses and remove another: the stream keeps flowing.
    await daemon.drain('web', restored.backend);
    const other = ['v-vm1', 'v-vm2', 'v-vm3'].find((b) => b !== restored.backend)!;
    await daemon.removeBackend('web', other);
    const result = await stream.result;
    expect(result.stderr).toBe('');
    expect(result.failed).toBe(0);
    expect(result.ok).toBeGreaterThan(20);
    expect(result.ports).toHaveLength(1); // one TCP connection, one backend, all along
    // New connections avoid the drained and the removed backend.
    const fresh = (await get('cl2', f.vip)).split(' ')[0];
    expect(['vm1', 'vm2', 'vm3'].filter((vm) => `v-${vm}` !== restored.backend && `v-${vm}` !== other)).toContain(fresh);
  });
});

describe(`what one family shows (NAT by ${e2eNatMode()})`, () => {
  const [v4, v6] = FAMILIES;

  it('wrr follows the kernel sequence for weights 3,2,1', async () => {
    daemon = await startDaemon(yaml(`  - name: web
    vip: ${VIP4}
    port: 80
    scheduler: wrr
    backends:
      - { vnic: v-vm1, ip: 10.0.0.11, ports: [8080], weight: 3 }
      - { vnic: v-vm2, ip: 10.0.0.12, ports: [8080], weight: 2 }
      - { vnic: v-vm3, ip: 10.0.0.13, ports: [8080], weight: 1 }`));
    const seq: string[] = [];
    for (let i = 0; i < 6; i++) seq.push((await get('cl1', VIP4)).split(' ')[0]);
    expect(seq).toEqual(['vm1', 'vm1', 'vm2', 'vm1', 'vm2', 'vm3']);
  });

  it('sh keeps each client on one backend', async () => {
    daemon = await startDaemon(yaml(web(v4, 'sh')));
    for (const client of ['cl1', 'cl2']) {
      const seen = new Set<string>();
      for (let i = 0; i < 3; i++) seen.add((await get(client, VIP4)).split(' ')[0]);
      expect(seen.size).toBe(1);
    }
  });

  it('answers ping6 of the IPv6 VIP', async () => {
    daemon = await startDaemon(yaml(web(v6, 'rr')));
    expect(await ping6('cl1', VIP6)).toBe(`reply from ${VIP6} vadc-ping6`);
  });

  it('a connection whose client segments carry a destination options or hop-by-hop header reaches a backend, header and all', async () => {
    // rr, each backend with an upper connection threshold (never reached): a threshold gets both sides' FINs copied in
    // every NAT mode (rr's client FIN alone is not copied where the datapath shows ends soon: endCopySides), so the
    // client's is read through its header below; rr keeps the placement known (vm1, then vm2; wlc's depends on timing).
    const capped = `  - name: web\n    vip: "${v6.vip}"\n    port: 80\n    scheduler: rr${backends(v6, 8080, ['vm1', 'vm2', 'vm3'], ', u_threshold: 1000')}`;
    daemon = await startDaemon(yaml(capped));
    // Sniffed until each VM's SYN was printed (at most 60 s): a fixed 6 s window ended before vm2's SYN at load 20-26
    // (the two requests took 14-15 s; v6cut18, 2026-12-07).
    const sniffers = await Promise.all(['vm1', 'vm2'].map((vm) => sniffIpv6(vm, 60)));
    // Linux puts a socket's sticky IPV6_DSTOPTS / IPV6_HOPOPTS (here one PadN option, RFC 8200 section 4.2) on every
    // segment it sends, the SYN included.
    const bodies: string[] = [];
    for (const option of [IPV6_DSTOPTS, IPV6_HOPOPTS]) {
      const got = await lab.exec('cl1', ['python3', '-c', HTTP_GET_WITH_OPTION, VIP6, String(option)], { timeoutMs: 15_000 });
      bodies.push(got.stdout.trim() || got.stderr.trim());
    }
    expect(bodies).toEqual(['vm1 8080', 'vm2 8080']);
    const sawSyn = (s: Sniffer<Sniffed>) => s.sofar().some((p) => p.flags === 0x02);
    await waitFor(() => sniffers.every(sawSyn), 60_000, 'each VM sniffer printing its SYN').catch(() => undefined); // judged below
    for (const s of sniffers) s.stop();
    const [vm1, vm2] = await Promise.all(sniffers.map((s) => s.packets));
    // OVS read the ports behind the header (lib/flow.c parse_ipv6_ext_hdrs__ skips hop-by-hop, routing, destination
    // options and AH), so the SYN took the service's flows up; vadc read it (the fast reader walks the extension
    // headers) and placed it; the NAT rewrote the address and port behind the header and left it in place.
    const syn = (packets: Sniffed[]) => packets.filter((p) => p.flags === 0x02);
    expect([syn(vm1), syn(vm2)]).toEqual([[{ ext: [60], proto: 6, flags: 0x02, icmp: null }], [{ ext: [0], proto: 6, flags: 0x02, icmp: null }]]);
    expect(daemon.service('web').decisions).toBe(2);
    // Both ends' FINs reached vadc as copies (END_COPY6), the client's read through its header: both connections ended.
    await waitFor(() => daemon!.service('web').endCopies >= 4, 10_000, 'copies of both FINs of the 2 connections');
    // At least four: a FIN the peer's ACK did not reach in time is sent again, and its copy comes up too (CI
    // 2026-12-06 saw 5). That each connection saw both FINs is what the counts below say: a connection ends (leaves
    // the backend's active and inactive counts) only when both sides' FINs, or a RST, were copied.
    await waitFor(() => daemon!.service('web').backends.every((b) => b.activeConns === 0 && b.inactiveConns === 0), 10_000, 'both connections ended');
    expect(daemon.service('web').backends.map((b) => b.totalConns)).toEqual([1, 1, 0]);
  });

  it('IPv6 fragments to the VIP reach no backend: a fragmented SYN is refused with an event, a first fragment without the TCP header is reported and answered with parameter problem code 3', async () => {
    daemon = await startDaemon(yaml(web(v6, 'rr')));
    const cl1 = lab.host('cl1');
    const fragments = (cuts: Array<[number, number]>, id: number, srcPort: number) => ipv6TcpFragments({
      srcMac: cl1.mac, dstMac: deriveVipMac(VIP6), srcIp: cl1.ip6, dstIp: VIP6, srcPort, dstPort: 80, payload: Buffer.from('fragmented'), cuts, id,
    });
    // A SYN carrying 10 bytes of data, in two fragments (the first with the whole TCP header), then a first fragment
    // with only 8 bytes of TCP (RFC 7112's tiny first fragment): raw frames to the VIP's MAC.
    // cl1's kernel reads ICMPv6 parameter problems (checksum checked) until the first one, for at most 60 s: it exits
    // at the answer, so the bound costs nothing when all is well (20 s ran out once in conntrack mode at load 17,
    // 20:43-20:48 UTC, in a test that took 52 s; its IPv4 twin, with no listener, took 44 s).
    const problems = await sniff<{ src: string; type: number; code: number; pointer: number }>('cl1', PARAMETER_PROBLEM_LISTENER, 60);
    const seen = await sendSniffed([...fragments([[0, 24], [24, 30]], 0x1601, 41601), ...fragments([[0, 8]], 0x1602, 41602)], sniffIpv6);
    // Each frame went up once, by the VIP's refuse flow: OVS looks fragments up without ports (before this, flows
    // mode placed the fragmented SYN and its resubmit came straight back up, 2,277 packet-ins in 4 s; conntrack mode
    // placed it and its commit sent the first fragment alone to vm1). No backend saw a fragment. The fragmented SYN got
    // no answer (it used to get ICMPv6 port unreachable for the later fragment); the tiny first fragment got what a
    // host sends (RFC 8200 section 4.5, RFC 7112 section 5): parameter problem code 3, pointer 0, from the VIP
    // (awaited by its own listener: on a loaded machine it may come after the captures' 4 s).
    expect(seen.packetIns).toBe(3);
    expect(seen.vms.filter((p) => p.ext.includes(44))).toEqual([]);
    expect(seen.client.filter((p) => p.ext.length === 0 && p.icmp !== 4)).toEqual([]);
    expect(await problems.packets).toEqual([{ src: VIP6, type: 4, code: 3, pointer: 0 }]);
    await expectFragmentsRefused(VIP6, [
      `refused [${cl1.ip6}]:41601 -> [${VIP6}]:80: an IP fragment (OVS matches no ports in fragments: vadc places none)`,
      'unparsable packet-in: ipv6-first-fragment-without-l4',
    ]);
  });

  it('IPv4 fragments to the VIP reach no backend: a fragmented SYN is refused with an event, a first fragment without the TCP header is dropped', async () => {
    daemon = await startDaemon(yaml(web(v4, 'rr')));
    const cl1 = lab.host('cl1');
    const fragments = (cuts: Array<[number, number]>, id: number, srcPort: number) => ipv4TcpFragments({
      srcMac: cl1.mac, dstMac: deriveVipMac(VIP4), srcIp: cl1.ip, dstIp: VIP4, srcPort, dstPort: 80, payload: Buffer.from('fragmented'), cuts, id,
    });
    // The IPv6 test's frames in IPv4: a SYN with 10 bytes of data in two fragments, then a first fragment with only 8
    // bytes of TCP (the parser gives it no ports, so no event names it).
    const seen = await sendSniffed([...fragments([[0, 24], [24, 30]], 0x1601, 41601), ...fragments([[0, 8]], 0x1602, 41602)], sniffIpv4);
    // As in IPv6: each fragment came up once by the VIP's refuse flow (OVS looks IPv4 fragments up with ports 0 too),
    // none reached a VM; the client got no answer (no RST, no ICMP error: IPv4 has no counterpart of RFC 7112's
    // parameter problem, and its parse gives a tiny first fragment no ports).
    expect(seen.packetIns).toBe(3);
    expect(seen.vms.filter((p) => p.frag)).toEqual([]);
    expect(seen.client.filter((p) => !p.frag)).toEqual([]);
    await expectFragmentsRefused(VIP4, [`refused ${cl1.ip}:41601 -> ${VIP4}:80: an IP fragment (OVS matches no ports in fragments: vadc places none)`]);
  });

  /** Sends `frames` from cl1 as they are while the VMs and cl1 sniff for 4 s: the packet-ins they made, what was seen. */
  async function sendSniffed<T>(
    frames: Buffer[], sniffer: (host: string, seconds: number) => Promise<{ packets: Promise<T[]> }>,
  ): Promise<{ packetIns: number; vms: T[]; client: T[] }> {
    const sniffers = await Promise.all(['vm1', 'vm2', 'vm3', 'cl1'].map((host) => sniffer(host, 4)));
    const packetIns = () => daemon!.status().switches[0].packetIns;
    const before = packetIns();
    const sent = await lab.exec('cl1', ['python3', '-c', SEND_FRAMES, ...frames.map((f) => f.toString('hex'))]);
    expect(sent.stderr).toBe('');
    const [vm1, vm2, vm3, client] = await Promise.all(sniffers.map((s) => s.packets));
    return { packetIns: packetIns() - before, vms: [vm1, vm2, vm3].flat(), client };
  }

  /** Service web placed nothing, refused one connection with `events` (refusals and bad packets), and still serves `vip`. */
  async function expectFragmentsRefused(vip: string, events: string[]): Promise<void> {
    const service = daemon!.service('web');
    expect([service.decisions, service.refused]).toEqual([0, 1]);
    expect(daemon!.events().filter((e) => e.kind === 'connection_refused' || e.kind === 'bad_packet').map((e) => e.message)).toEqual(events);
    // vadc is still there: a plain connection goes through.
    expect(await get('cl1', vip)).toMatch(/^vm[123] 808[01]$/);
  }

  it('dual stack: one service answers on an IPv4 and an IPv6 VIP with one rr sequence over the same VMs; status and conns show both', async () => {
    const both = (vm: string) => `      - { vnic: v-${vm}, ip: ${v4.ip(vm)}, ip6: ${v6.ip(vm)}, ports: [${vm === 'vm1' ? '8080, 8081' : '8080'}] }`;
    daemon = await startDaemon(yaml(`  - name: web\n    vip: ${VIP4}\n    vip6: "${VIP6}"\n    port: 80\n    scheduler: rr\n    backends:\n${['vm1', 'vm2', 'vm3'].map(both).join('\n')}`));
    // The clients' neighbor caches still hold the earlier tests' VIP MACs (an IPv6-only service's VIP has a MAC of its
    // own: the final suite of 2026-12-06 found cl2's entry REACHABLE at 02:06:...:64): emptied, the check below sees
    // this service's answers.
    for (const host of ['cl1', 'cl2']) for (const family of ['-4', '-6']) await lab.exec(host, ['ip', family, 'neigh', 'flush', 'dev', 'eth0']);
    const got: string[] = [];
    for (let i = 0; i < 6; i++) got.push(i % 2 === 0 ? `4 ${await get('cl1', VIP4)}` : `6 ${await get('cl2', VIP6)}`);
    // One rr sequence for both families (one service per family would start each family at vm1 and give vm1 two in a row).
    // vm1's software port is not asserted exactly: in the whole file (the final suite, 2026-12-06 00:44) vm1 answered
    // 8081 then 8081 in one attempt and 8080 then 8080 in its retry, though run alone it gives 8080 then 8081. The
    // port picker takes the port with the fewest outstanding connections, and a new daemon restores the connections
    // the earlier tests' daemons left in the switch's flows (default fin_timeout), so vm1's ports start uneven
    // (a likely reading, not proven; notes of 2026-12-06).
    expect(got.map((g) => g.replace(/ 808[01]$/, ''))).toEqual(['4 vm1', '6 vm2', '4 vm3', '6 vm1', '4 vm2', '6 vm3']);
    expect(got.filter((g) => !/ vm1 /.test(g)).every((g) => g.endsWith(' 8080'))).toBe(true);
    const [service] = daemon.services();
    expect([daemon.services().length, service.vip, service.vip6]).toEqual([1, VIP4, VIP6]);
    expect(service.backends.map((b) => [b.ip, b.ip6])).toEqual(['vm1', 'vm2', 'vm3'].map((vm) => [lab.host(vm).ip, lab.host(vm).ip6]));
    expect(service.backends.map((b) => b.totalConns)).toEqual([2, 2, 2]);
    // Both clients found their VIP by ARP and neighbor discovery, answered with the service's one MAC.
    expect((await lab.exec('cl1', v4.neighCommand)).stdout).toContain(deriveVipMac(VIP4));
    expect((await lab.exec('cl2', v6.neighCommand)).stdout).toContain(deriveVipMac(VIP4));
    // A held connection of each family is listed with its own VIP and the backend's address of its family.
    const held = [await holdConnection('cl1', VIP4, 3000), await holdConnection('cl2', VIP6, 3000)];
    const ours = (f: Family) => daemon!.connections({ service: 'web' }).find((c) => c.client.startsWith(f.clientPrefix(f === v4 ? 'cl1' : 'cl2')));
    await waitFor(() => ours(v4) !== undefined && ours(v6) !== undefined, 10_000, 'both held connections listed');
    expect([ours(v4)!.vip, ours(v6)!.vip]).toEqual([`${VIP4}:80`, `[${VIP6}]:80`]);
    expect(ours(v4)!.destination).toMatch(/^10\.0\.0\.1[123]:808[01]$/);
    expect(ours(v6)!.destination).toMatch(/^\[fd00:0:a00::[bcd]\]:808[01]$/);
    await Promise.all(held.map((h) => h.done));
  });

  it('dual stack health: each backend is checked at both addresses; an IPv6 server that stops on one VM takes that VM out of the IPv6 VIP only, and back', async () => {
    // Servers of their own on port 8090, one per family on each VM (an application can serve one family and not the
    // other); no connection restored from earlier tests, and the clients' neighbor caches emptied (an IPv6-only
    // service's VIP had a MAC of its own).
    await forgetEarlierConnections();
    for (const host of ['cl1', 'cl2']) for (const family of ['-4', '-6']) await lab.exec(host, ['ip', family, 'neigh', 'flush', 'dev', 'eth0']);
    // Stopped at the end, whatever happens (a retry starts them again on the same port).
    const own = new Map<string, LabServer>();
    try {
      for (const vm of ['vm1', 'vm2', 'vm3']) for (const family of ['ipv4', 'ipv6'] as const) own.set(`${vm} ${family}`, await lab.startHttpServer(vm, 8090, family));
      await dualStackHealth(own);
    } finally {
      for (const server of own.values()) await server.stop().catch(() => undefined);
    }
  });

  /** An rr service web on VIP4 and VIP6 over the three VMs at both their addresses, software port `port`, with `extra` lines. */
  function dualStackWeb(extra: string, port = 8080): string {
    const both = (vm: string) => `      - { vnic: v-${vm}, ip: ${v4.ip(vm)}, ip6: ${v6.ip(vm)}, ports: [${port}] }`;
    return `  - name: web\n    vip: ${VIP4}\n    vip6: "${VIP6}"\n    port: 80\n    scheduler: rr\n${extra}    backends:\n${['vm1', 'vm2', 'vm3'].map(both).join('\n')}`;
  }

  /** The dual stack health test on its servers (`own`, keyed 'vm2 ipv6'); vm2's IPv6 server is replaced in the map. */
  async function dualStackHealth(own: Map<string, LabServer>): Promise<void> {
    // Checks allow 0.9 s and a backend is down at the second failure (datapath-decisions.e2e's bounds: shorter ones
    // failed serving backends' IPv6 checks at load 20-28). They leave from the host side's address of each family.
    daemon = await startDaemon(yaml(dualStackWeb('    health: { type: tcp, interval: 1, timeout: 0.9, rise: 1, fall: 2 }\n', 8090)), { ipv4: lab.localIp, ipv6: lab.localIp6 });
    const health = () => daemon!.service('web').backends.map((b) => b.health);
    // Up with either family's first pass: wait for both (no port out of a family), else a stopped IPv6 server that had
    // not passed yet shows as out at once (conntrack run at load 15, 2026-12-06 06:20: no port_down yet).
    await waitFor(() => daemon!.service('web').backends.every((b) => b.health === 'up' && b.portsOut === undefined), 20_000, 'the three backends up in both families');

    await own.get('vm2 ipv6')!.stop();
    const vm2 = () => daemon!.service('web').backends[1];
    const portDowns = () => daemon!.events().filter((e) => e.backend === 'v-vm2' && e.kind === 'port_down').map((e) => e.message);
    await waitFor(() => portDowns().length > 0, 20_000, 'vm2 out of IPv6 after its IPv6 server stopped');
    // vm2 stays up: its IPv4 server still passes. Status says which family it is out of.
    expect(health()).toEqual(['up', 'up', 'up']);
    expect(vm2().portsOut).toEqual([{ port: 8090, why: 'check', family: 'IPv6' }]);
    expect(vm2().healthReason).toMatch(/^IPv6 out: no port passes its IPv6 check; /);
    expect(portDowns()).toEqual(['port down: backend v-vm2 port 8090 (IPv6): connection refused (ECONNREFUSED)']);
    expect(daemon.events().filter((e) => e.backend === 'v-vm2' && e.kind === 'backend_down')).toEqual([]);
    // New IPv4 connections still take every VM in turn (vm2 included); IPv6 ones avoid vm2. Before (one verdict per
    // port), vm2 was out of both VIPs; before that, only its IPv4 address was checked and every third IPv6 connection
    // went to a port nobody served.
    const ipv4: string[] = [];
    for (let i = 0; i < 3; i++) ipv4.push(await get('cl1', VIP4));
    expect(ipv4.sort()).toEqual(['vm1 8090', 'vm2 8090', 'vm3 8090']);
    const ipv6: string[] = [];
    for (let i = 0; i < 6; i++) ipv6.push(await get('cl2', VIP6));
    expect(new Set(ipv6)).toEqual(new Set(['vm1 8090', 'vm3 8090']));

    // The IPv6 server back: vm2 passes its IPv6 check again and takes its turn on the IPv6 VIP.
    own.set('vm2 ipv6', await lab.startHttpServer('vm2', 8090, 'ipv6'));
    await waitFor(() => vm2().portsOut === undefined, 20_000, 'vm2 back in IPv6');
    expect(vm2().healthReason).not.toMatch(/ out: /);
    const back: string[] = [];
    for (let i = 0; i < 3; i++) back.push(await get('cl2', VIP6));
    expect(back.sort()).toEqual(['vm1 8090', 'vm2 8090', 'vm3 8090']);
  }

  it('dual stack persistence: the IPv6 clients of one /64 (persistence_prefix6) share a VM, as the IPv4 clients of one /24 (persistence_prefix)', async () => {
    for (const host of ['cl1', 'cl2']) for (const family of ['-4', '-6']) await lab.exec(host, ['ip', family, 'neigh', 'flush', 'dev', 'eth0']);
    // cl1 and cl2 are two clients in one /64 (and one /24): the lab's.
    const prefix64 = (address: string) => Buffer.from(parseIpv6(address).subarray(0, 8)).toString('hex');
    expect([lab.host('cl1').ip6, lab.host('cl2').ip6].map(prefix64)).toEqual([prefix64(VIP6), prefix64(VIP6)]);
    expect(lab.host('cl1').ip6).not.toBe(lab.host('cl2').ip6);
    daemon = await startDaemon(yaml(dualStackWeb('    persistence: 300\n    persistence_prefix: 24\n    persistence_prefix6: 64\n')));
    const vmOf = (answer: string) => answer.split(' ')[0];
    // Alternating clients and families: each family's clients all reach the VM its first connection got.
    const got: Array<{ family: 6 | 4; vm: string }> = [];
    for (let i = 0; i < 8; i++) {
      const family = i % 2 === 0 ? 6 : 4;
      got.push({ family, vm: vmOf(await get(i % 4 < 2 ? 'cl1' : 'cl2', family === 6 ? VIP6 : VIP4)) });
    }
    const vms6 = new Set(got.filter((g) => g.family === 6).map((g) => g.vm));
    const vms4 = new Set(got.filter((g) => g.family === 4).map((g) => g.vm));
    expect([vms6.size, vms4.size]).toEqual([1, 1]);
    // The first IPv6 connection took vm1, the first IPv4 one the next VM in the one rr sequence: the IPv6 template does
    // not hold the IPv4 clients (without persistence_prefix6 cl2's first IPv6 connection would have had a VM of its own).
    expect([...vms6, ...vms4]).toEqual(['vm1', 'vm2']);
  });

  // Datapath decisions need conntrack NAT (in flows mode the config refuses them with flow accounting).
  (e2eNatMode() === 'conntrack' ? it : it.skip)('dual stack with datapath decisions: a select group per VIP with the same weights, each family\'s connections through its own', async () => {
    await forgetEarlierConnections();
    for (const host of ['cl1', 'cl2']) for (const family of ['-4', '-6']) await lab.exec(host, ['ip', family, 'neigh', 'flush', 'dev', 'eth0']);
    const weights: Record<string, number> = { vm1: 3, vm2: 2, vm3: 1 };
    const both = (vm: string) => `      - { vnic: v-${vm}, ip: ${v4.ip(vm)}, ip6: ${v6.ip(vm)}, ports: [8080], weight: ${weights[vm]} }`;
    daemon = await startDaemon(yaml(`  - name: web\n    vip: ${VIP4}\n    vip6: "${VIP6}"\n    port: 80\n    scheduler: wrr\n    decisions: datapath
    backends:\n${['vm1', 'vm2', 'vm3'].map(both).join('\n')}`));
    // Each group (one dump-groups line) as its VMs' summed bucket weights, the VM found by either of its addresses
    // (vadc may split a backend's bucket in two so that OVS uses 256 hash values).
    const vmOf = (ip: string) => ['vm1', 'vm2', 'vm3'].find((vm) => lab.host(vm).ip === ip || lab.host(vm).ip6 === ip);
    const groups = async () => (await lab.ofctl('dump-groups')).split('\n').filter((l) => l.includes('group_id=')).map((line) => {
      const perVm: Record<string, number> = {};
      const families = new Set<string>();
      for (const m of line.matchAll(/weight:(\d+),actions=ct\([^)]*nat\(dst=(\[[\da-f:]+\]|[\d.]+):8080\)/g)) {
        families.add(m[2].startsWith('[') ? 'IPv6' : 'IPv4');
        const vm = vmOf(m[2].replace(/^\[|\]$/g, '')) ?? m[2];
        perVm[vm] = (perVm[vm] ?? 0) + Number(m[1]);
      }
      return { id: Number(/group_id=(\d+)/.exec(line)![1]), families: [...families], perVm };
    }).sort((a, b) => a.id - b.id);
    let installed: Awaited<ReturnType<typeof groups>> = [];
    await until(async () => (installed = await groups()).length >= 2, 'both select groups', 10_000, { pollMs: 100 });
    expect(installed.map((g) => g.families)).toEqual([['IPv4'], ['IPv6']]);
    expect(Object.keys(installed[0].perVm).sort()).toEqual(['vm1', 'vm2', 'vm3']);
    expect(installed[1].perVm).toEqual(installed[0].perVm);
    expect(installed[0].perVm.vm1 > installed[0].perVm.vm2 && installed[0].perVm.vm2 > installed[0].perVm.vm3).toBe(true);
    // Six connections of each family, each answered; each group took at least its own family's six first packets
    // (a group counts the packets sent to it: only +new ones are; a retransmitted SYN would add, never take away).
    for (let i = 0; i < 6; i++) {
      expect(await get('cl1', VIP4)).toMatch(/^vm[123] 8080$/);
      expect(await get('cl2', VIP6)).toMatch(/^vm[123] 8080$/);
    }
    const stats = (await lab.ofctl('dump-group-stats')).split('\n');
    const packets = (id: number) => Number(/packet_count=(\d+)/.exec(stats.find((l) => l.includes(`group_id=${id},`)) ?? '')?.[1] ?? -1);
    expect(installed.map((g) => packets(g.id) >= 6)).toEqual([true, true]);
  });

  // Last: a prefix VIP's test leaves neighbor entries and probes that a later test's exact packet-in count would see.
  it('an IPv6 prefix VIP (dh) leaves the hosts on the bridge able to find one another by neighbor discovery, and serves an address in the prefix', async () => {
    const prefix = `${ipv6ForIp('10.0.0.128')}/124`; // fd00:0:a00::80/124: in the lab's /64, no host's address
    daemon = await startDaemon(yaml(web(v6, 'dh').replace(`vip: "${VIP6}"`, `vip: "${prefix}"`)));
    // A prefix VIP brings every neighbor solicitation on the bridge up to vadc (nd_target cannot be masked). Before
    // d2c61f8 vadc dropped those for other hosts: with no neighbor entry for vm1, cl1's ping got no answer. Both
    // caches are emptied first, so cl1 has to solicit vm1 (and vm1 learns cl1 from that solicitation).
    for (const host of ['cl1', 'vm1']) await lab.exec(host, ['ip', '-6', 'neigh', 'flush', 'dev', 'eth0']);
    const vm1 = lab.host('vm1').ip6;
    expect(await ping6('cl1', vm1)).toBe(`reply from ${vm1} vadc-ping6`);
    // An address in the prefix: vadc answers its solicitation with the VIP's MAC, and dh, keyed by the destination
    // alone, sends both clients to the same VM.
    const inPrefix = ipv6ForIp('10.0.0.135');
    const [first, second] = [await get('cl1', inPrefix), await get('cl2', inPrefix)].map((body) => body.split(' ')[0]);
    expect(first).toMatch(/^vm[123]$/);
    expect(second).toBe(first);
    expect((await lab.exec('cl1', ['ip', '-6', 'neigh', 'show', inPrefix])).stdout).toContain(daemon.service('web').vipMac);
  });

  it('dual stack prefix VIPs (dh): two addresses of an IPv4 /30 and two of an IPv6 /126 each reach a VM at its address of that family, the same VM from either client', async () => {
    for (const host of ['cl1', 'cl2']) for (const family of ['-4', '-6']) await lab.exec(host, ['ip', family, 'neigh', 'flush', 'dev', 'eth0']);
    // 10.0.0.144/30 and fd00:0:a00::90/126: in the lab's networks, no host's address.
    const prefix4 = '10.0.0.144/30';
    const prefix6 = `${ipv6ForIp('10.0.0.144')}/126`;
    const both = (vm: string) => `      - { vnic: v-${vm}, ip: ${v4.ip(vm)}, ip6: ${v6.ip(vm)}, ports: [8080] }`;
    daemon = await startDaemon(yaml(`  - name: web\n    vip: ${prefix4}\n    vip6: "${prefix6}"\n    port: 80\n    scheduler: dh\n    backends:\n${['vm1', 'vm2', 'vm3'].map(both).join('\n')}`));
    const targets = ['10.0.0.145', '10.0.0.146', ipv6ForIp('10.0.0.145'), ipv6ForIp('10.0.0.146')];
    const first: string[] = [];
    for (const dst of targets) first.push(await get('cl1', dst));
    const second: string[] = [];
    for (const dst of targets) second.push(await get('cl2', dst));
    // Each answered (the handshake's replies came from the address asked), by a VM's port 8080; dh keys on the destination.
    expect(first.filter((answer) => !/^vm[123] 8080$/.test(answer))).toEqual([]);
    expect(second).toEqual(first);
    expect(daemon.service('web').decisions).toBe(8);
    // A held connection of each family: listed with the address asked as its VIP and the VM's address of that family.
    const held = [await holdConnection('cl1', '10.0.0.147', 3000), await holdConnection('cl2', ipv6ForIp('10.0.0.147'), 3000)];
    const vip4 = '10.0.0.147:80';
    const vip6 = `[${ipv6ForIp('10.0.0.147')}]:80`;
    const listed = (f: Family, client: string, vip: string) => daemon!.connections({ service: 'web' }).find((c) => c.client.startsWith(f.clientPrefix(client)) && c.vip === vip);
    await waitFor(() => listed(v4, 'cl1', vip4) !== undefined && listed(v6, 'cl2', vip6) !== undefined, 10_000, 'both held connections listed');
    expect(listed(v4, 'cl1', vip4)!.destination).toMatch(/^10\.0\.0\.1[123]:8080$/);
    expect(listed(v6, 'cl2', vip6)!.destination).toMatch(/^\[fd00:0:a00::[bcd]\]:8080$/);
    await Promise.all(held.map((h) => h.done));
  });
});
