// Payload rules on real Open vSwitch (issue 17): a UDP flow's first datagram picks a backend pool, the
// scheduler picks within it, and the flow's later datagrams stay in the datapath on that backend. A malformed
// first datagram goes to the default pool or is refused, as each service is configured. For an IPv4 and an IPv6
// VIP alike (issue 16; the lab's hosts have both families, the IPv6 pool by tag reads external_ids:ip6).
import { ipv6ForIp, Lab, type LabServer } from '../../src/lab';
import { DaemonUnderTest, vipOf, waitFor } from '../helpers/health-lab';
import { e2eNatMode } from '../helpers/nat-mode';

const LAB = 'pr';
const PORT_DEFAULT = 7000; // malformed: default
const PORT_REFUSE = 7001; // malformed: refuse
let lab: Lab;
let d: DaemonUnderTest | undefined;
const servers: LabServer[] = [];

type DatagramOutcome = { reply: string } | { error: string } | { timeout: true };

/** What differs between the families here: the VIP, a host's address, and the external_ids key tagged VMs carry it in. */
interface Family {
  name: 'IPv4' | 'IPv6';
  vip(): string;
  ip(host: string): string;
  ipKey: 'ip' | 'ip6';
}

const FAMILIES: Family[] = [
  { name: 'IPv4', vip: () => vipOf(lab), ip: (h) => lab.host(h).ip, ipKey: 'ip' },
  { name: 'IPv6', vip: () => ipv6ForIp(vipOf(lab)), ip: (h) => lab.host(h).ip6, ipKey: 'ip6' },
];

/**
 * One UDP flow from `client`: a connected socket sends each payload in turn and waits for its answer (the echo
 * server's "NAME PORT <payload>"), an error (ICMP port unreachable: ECONNREFUSED) or nothing within timeoutMs.
 */
const FLOW_CLIENT = `
const dgram = require('node:dgram');
const [host, port, hexes, timeoutMs] = process.argv.slice(1);
const payloads = hexes.split(',').map((h) => Buffer.from(h, 'hex'));
const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
const out = [];
let i = 0, timer;
const next = () => {
  if (i >= payloads.length) { socket.close(); process.stdout.write(JSON.stringify(out)); return; }
  timer = setTimeout(() => { out.push({ timeout: true }); i++; next(); }, Number(timeoutMs));
  socket.send(payloads[i]);
};
socket.on('message', (m) => { clearTimeout(timer); out.push({ reply: m.toString() }); i++; next(); });
socket.on('error', (e) => { clearTimeout(timer); out.push({ error: e.code }); i++; next(); });
socket.connect(Number(port), host, next);
`;

async function flow(f: Family, client: string, port: number, payloads: string[], timeoutMs = 5000): Promise<DatagramOutcome[]> {
  const hexes = payloads.map((p) => Buffer.from(p).toString('hex')).join(',');
  const result = await lab.exec(client, ['node', '-e', FLOW_CLIENT, f.vip(), String(port), hexes, String(timeoutMs)], { timeoutMs: timeoutMs * payloads.length + 10_000 });
  if (result.code !== 0) throw new Error(`UDP flow from ${client} failed: ${result.stderr.trim()}`);
  return JSON.parse(result.stdout) as DatagramOutcome[];
}

/** The VM that answered ("vm3 7000 V2 ..." -> vm3), or what happened instead. */
const answeredBy = (o: DatagramOutcome): string => ('reply' in o ? o.reply.split(' ')[0] : 'error' in o ? `error ${o.error}` : 'no answer');

function services(f: Family): string {
  const backends = ['vm1', 'vm2', 'vm3'].map((name) => `      - { name: ${name}, vnic: ${lab.host(name).port}, ip: "${f.ip(name)}", ports: [5353] }`).join('\n');
  const rules = (port: number, malformed: string) => `  - name: game-${malformed}
    vip: "${f.vip()}"
    protocol: udp
    port: ${port}
    scheduler: rr
    backends:
${backends}
    payload_rules:
      pools: { v1: [vm1, vm2], v2: [vm3] }
      rules:
        - { name: version-2, prefix: "5632", pool: v2 }
      default_pool: v1
      min_length: 2
      malformed: ${malformed}`;
  return `${rules(PORT_DEFAULT, 'default')}\n${rules(PORT_REFUSE, 'refuse')}`;
}

/** Pool v1 by name; pool v2 by tag: the VMs that join by tag (backends_from.tags: [v2]). */
function taggedService(f: Family): string {
  return `  - name: game-tag
    vip: "${f.vip()}"
    protocol: udp
    port: ${PORT_DEFAULT}
    scheduler: rr
    backends:
      - { name: vm1, vnic: ${lab.host('vm1').port}, ip: "${f.ip('vm1')}", ports: [5353] }
    backends_from: { external_ids: { vadc-service: game }, ports: [5353], tags: [v2], ip_key: ${f.ipKey} }
    payload_rules:
      pools: { v1: [vm1], v2: [{ tag: v2 }] }
      rules:
        - { name: version-2, prefix: "5632", pool: v2 }
      default_pool: v1`;
}

/** Puts the service's tag (and the VM's address of the family) on a VM's interface, or takes it off. */
async function tag(f: Family, name: string, on: boolean): Promise<void> {
  const port = lab.host(name).port;
  if (on) await lab.vsctl('set', 'interface', port, 'external_ids:vadc-service=game', `external_ids:${f.ipKey}="${f.ip(name)}"`);
  else await lab.vsctl('remove', 'interface', port, 'external_ids', 'vadc-service');
}

beforeAll(async () => {
  lab = await Lab.up({ name: LAB, vms: 3, clients: 2, waitForHostMs: 600_000 });
  for (const vm of ['vm1', 'vm2', 'vm3']) servers.push(await lab.startUdpEchoServer(vm, 5353));
}, 660_000);

afterEach(async () => {
  await d?.stop();
  d = undefined;
});

afterAll(async () => {
  for (const s of servers) await s.stop().catch(() => undefined);
  await lab?.down();
}, 120_000);

describe.each(FAMILIES)(`payload rules on real OVS, $name (NAT by ${e2eNatMode()})`, (f) => {
  it('UDP clients with two header values land on two pools; later datagrams of a flow stay on its backend', async () => {
    d = await DaemonUnderTest.start(lab, services(f), { waitLocated: ['vm1', 'vm2', 'vm3'] });
    const v1: string[] = [];
    const v2: string[] = [];
    for (let i = 0; i < 4; i++) {
      for (const client of ['cl1', 'cl2']) {
        // The first datagram names the version; the later ones carry the other version's bytes, which must change nothing.
        const [a, ...laterA] = await flow(f, client, PORT_DEFAULT, ['V2 first', 'V1 later', 'V1 last']);
        const [b, ...laterB] = await flow(f, client, PORT_DEFAULT, ['V1 first', 'V2 later', 'V2 last']);
        expect(laterA.map(answeredBy)).toEqual([answeredBy(a), answeredBy(a)]);
        expect(laterB.map(answeredBy)).toEqual([answeredBy(b), answeredBy(b)]);
        expect('reply' in a && a.reply).toMatch(/ 5353 V2 first$/);
        v2.push(answeredBy(a));
        v1.push(answeredBy(b));
      }
    }
    expect(new Set(v2)).toEqual(new Set(['vm3']));
    // rr within the pool: both of its VMs answer, never vm3.
    expect(new Set(v1)).toEqual(new Set(['vm1', 'vm2']));
    const rules = d.daemon.service(`game-default`).payloadRules!;
    expect(rules.rules).toEqual([{ name: 'version-2', pool: 'v2', hits: 8 }]);
    expect(rules.defaultHits).toBe(8);
    expect(rules.malformed).toBe(0);
    console.log(`payload rules, ${f.name} (${e2eNatMode()}): 8 V2 flows -> ${v2.join(',')}; 8 V1 flows -> ${v1.join(',')}; `
      + `decisions ${d.daemon.service('game-default').decisions} for 16 flows of 3 datagrams`);
  });

  it('a malformed first datagram goes to the default pool on one service and is refused on the other', async () => {
    d = await DaemonUnderTest.start(lab, services(f), { waitLocated: ['vm1', 'vm2', 'vm3'] });
    // "V" is one byte, under min_length 2.
    const [toDefault, next] = await flow(f, 'cl1', PORT_DEFAULT, ['V', 'V2 then']);
    expect(['vm1', 'vm2']).toContain(answeredBy(toDefault));
    expect(answeredBy(next)).toBe(answeredBy(toDefault));
    await d.waitEvent((e) => e.kind === 'payload_malformed' && e.service === 'game-default', 5000, 'the malformed report');
    expect(d.daemon.service('game-default').payloadRules!.malformed).toBe(1);

    const refusedBefore = d.daemon.service('game-refuse').refused;
    const [refused] = await flow(f, 'cl1', PORT_REFUSE, ['V'], 3000);
    // vadc answers a refused datagram as a host would: ICMP (ICMPv6) port unreachable from the VIP, which the client's
    // kernel checks (checksum included) and reports on the connected socket.
    expect(refused).toEqual({ error: 'ECONNREFUSED' });
    await waitFor(() => d!.daemon.service('game-refuse').payloadRules!.malformed === 1, 5000, 'the refused datagram counted');
    expect(d.daemon.service('game-refuse').refused).toBe(refusedBefore + 1);
    const event = await d.waitEvent((e) => e.kind === 'payload_malformed' && e.service === 'game-refuse', 5000, 'the refusal report');
    expect(event.message).toMatch(/shorter than min_length 2.*refused/);
    // A well-formed first datagram to the same service is served in its pool.
    const [served] = await flow(f, 'cl1', PORT_REFUSE, ['V2 fine']);
    expect(answeredBy(served)).toBe('vm3');
    console.log(`payload rules, ${f.name} (${e2eNatMode()}): malformed to default -> ${answeredBy(toDefault)}; malformed refused -> ${'error' in refused ? refused.error : 'no answer'}`);
  });

  it('a pool by tag: a VM that joins by tag serves its pool, with no config change, and leaves it when untagged', async () => {
    d = await DaemonUnderTest.start(lab, taggedService(f), { waitLocated: ['vm1'] });
    const tagged = () => d!.daemon.service('game-tag').backends.filter((b) => b.id !== 'vm1' && b.ofport !== undefined);
    try {
      // No VM carries the tag yet: pool v2 has no backend, so its flows are refused; v1's are served.
      const [before] = await flow(f, 'cl1', PORT_DEFAULT, ['V2 nobody'], 3000);
      expect(before).toEqual({ error: 'ECONNREFUSED' });
      expect(answeredBy((await flow(f, 'cl1', PORT_DEFAULT, ['V1 old']))[0])).toBe('vm1');
      await tag(f, 'vm3', true);
      await waitFor(() => tagged().length === 1, 15_000, 'vm3 to join by its tag');
      const joined = await Promise.all(['cl1', 'cl2'].map((client) => flow(f, client, PORT_DEFAULT, ['V2 joined', 'V1 later'])));
      for (const outcomes of joined) expect(outcomes.map(answeredBy)).toEqual(['vm3', 'vm3']);
      expect(answeredBy((await flow(f, 'cl2', PORT_DEFAULT, ['V1 old']))[0])).toBe('vm1');
      await tag(f, 'vm3', false);
      await waitFor(() => tagged().length === 0, 15_000, 'vm3 to leave when untagged');
      const [after] = await flow(f, 'cl1', PORT_DEFAULT, ['V2 gone'], 3000);
      expect(after).toEqual({ error: 'ECONNREFUSED' });
      expect(d.daemon.service('game-tag').payloadRules!.rules[0].hits).toBe(4);
      console.log(`payload rules, ${f.name} (${e2eNatMode()}): pool by tag: before the tag -> ${answeredBy(before)}; tagged -> ${joined.flat().map(answeredBy).join(',')}; `
        + `untagged -> ${answeredBy(after)}`);
    } finally {
      await tag(f, 'vm3', false).catch(() => undefined);
    }
  });
});
