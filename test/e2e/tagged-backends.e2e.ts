// VMs that join by tag, end to end on real Open vSwitch: a service with one configured backend and a
// `backends_from` tag. A new namespace VM whose interface carries the tag (external_ids, as a hypervisor
// sets them) gets traffic with no config change; deleted, or untagged, it leaves without disturbing anyone.
import { Lab, type LabServer } from '../../src/lab';
import { DaemonUnderTest, fetchMany, sleep, vipOf, waitFor } from '../helpers/health-lab';
import { e2eNatMode } from '../helpers/nat-mode';

const LAB = 'tb';
let lab: Lab;
let d: DaemonUnderTest | undefined;
const servers = new Map<string, LabServer>();

const vm = (name: string) => lab.host(name);
/** A backend's id: configured ones and tagged ones are both named by their port id, which survives a VM's restart. */
const idOf = (name: string) => `iface-id:${vm(name).ifaceId}`;
const TAG = { 'vadc-service': 'web' };

function serviceYaml(): string {
  return `  - name: web
    vip: ${vipOf(lab)}
    port: 80
    scheduler: rr
    fin_timeout: 1
    health: { type: http, interval: 0.5, timeout: 0.4, rise: 1, fall: 2, path: / }
    backends:
      - { vnic: "${idOf('vm1')}", ip: ${vm('vm1').ip}, ports: [8080] }
    backends_from: { external_ids: { vadc-service: web }, ports: [8080] }
`;
}

async function startServer(name: string): Promise<void> {
  if (!servers.has(name)) servers.set(name, await lab.startHttpServer(name, 8080));
}

/** Puts the tag (and the VM's address) on an existing VM's interface, or takes it off. */
async function tag(name: string, on: boolean): Promise<void> {
  const port = vm(name).port;
  if (on) await lab.vsctl('set', 'interface', port, 'external_ids:vadc-service=web', `external_ids:ip="${vm(name).ip}"`);
  else await lab.vsctl('remove', 'interface', port, 'external_ids', 'vadc-service');
}

interface Attempt {
  /** Wall-clock ms when the request started and ended (Date.now() of the client's process, same host). */
  start: number;
  end: number;
  vm?: string;
  error?: string;
}

/** A fresh TCP connection to the VIP every `everyMs` from a client, each attempt recorded as it ends. */
function requestLoop(client: string, everyMs = 50): { attempts: Attempt[]; stop: () => Promise<void> } {
  const script = `
    const http = require('http');
    const tick = () => { const start = Date.now();
      const req = http.get({ host: '${vipOf(lab)}', port: 80, path: '/', agent: false, timeout: 3000 }, (res) => {
        let body = ''; res.on('data', (c) => body += c);
        res.on('end', () => console.log(JSON.stringify({ start, end: Date.now(), vm: body.trim().split(' ')[0] })));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) => console.log(JSON.stringify({ start, end: Date.now(), error: e.code || e.message })));
    };
    const timer = setInterval(tick, ${everyMs});
    process.on('SIGTERM', () => { clearInterval(timer); setTimeout(() => process.exit(0), 3500); });`;
  const child = lab.spawn(client, ['node', '-e', script]);
  const attempts: Attempt[] = [];
  let pending = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) attempts.push(JSON.parse(line) as Attempt);
  });
  return {
    attempts,
    stop: async () => {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

interface LongLived {
  first: Promise<string>;
  stop: () => Promise<{ ok: number; failures: { at: number; error: string }[]; connections: string[] }>;
}

/** One keep-alive connection from a client, a request every 100 ms; every failure recorded with its time and code. */
function longLived(client: string): LongLived {
  const script = `
    const http = require('http'); const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    let ok = 0; const failures = []; const connections = new Set(); let announced = false;
    const tick = () => { const req = http.get({ host: '${vipOf(lab)}', port: 80, path: '/', agent }, (res) => {
      let body = ''; const local = res.socket.localPort;
      res.on('data', (d) => body += d);
      res.on('end', () => { ok++; connections.add(local + ' ' + body.trim()); if (!announced) { announced = true; console.error('first ' + body.trim()); } });
    });
    req.setTimeout(2000, () => req.destroy(new Error('timeout')));
    req.on('error', (e) => failures.push({ at: Date.now(), error: e.code || e.message })); };
    const timer = setInterval(tick, 100);
    process.on('SIGTERM', () => { clearInterval(timer); agent.destroy(); console.log(JSON.stringify({ ok, failures, connections: [...connections] })); process.exit(0); });`;
  const child = lab.spawn(client, ['node', '-e', script]);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const first = new Promise<string>((resolve, reject) => {
    child.stderr?.on('data', (d: Buffer) => {
      const m = /first (.+)/.exec(d.toString());
      if (m) resolve(m[1]);
    });
    child.once('exit', () => reject(new Error('the stream ended before its first answer')));
  });
  first.catch(() => undefined);
  return {
    first,
    stop: async () => {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
      return JSON.parse(out) as Awaited<ReturnType<LongLived['stop']>>;
    },
  };
}

/** A keep-alive stream (one TCP connection) on the given VM: streams are opened until one lands there. */
async function streamOn(target: string, clients: string[]): Promise<LongLived> {
  for (let i = 0; i < 8; i++) {
    const stream = longLived(clients[i % clients.length]);
    if ((await stream.first).split(' ')[0] === target) return stream;
    await stream.stop();
  }
  throw new Error(`no stream landed on ${target} in 8 tries`);
}

/** The daemon's events from `from` on, as "+ms kind backend" lines relative to `t0`, for a failure's story. */
function timeline(from: number, t0: number): string {
  return d!.events.slice(from).map((e) => `+${e.time - t0} ${e.kind} ${e.backend ?? ''}`).join('; ');
}

beforeAll(async () => {
  lab = await Lab.up({ name: LAB, vms: 2, clients: 2, waitForHostMs: 600_000 });
  for (const name of ['vm1', 'vm2']) await startServer(name);
}, 660_000);

afterEach(async () => {
  await d?.stop();
  d = undefined;
});

afterAll(async () => {
  for (const s of servers.values()) await s.stop().catch(() => undefined);
  await lab?.down();
}, 120_000);

describe(`VMs that join by tag on real OVS (NAT by ${e2eNatMode()})`, () => {
  it('a new VM born with the tag serves within seconds with no config change; deleted, it leaves cleanly', async () => {
    await tag('vm2', true);
    d = await DaemonUnderTest.start(lab, serviceYaml(), { waitLocated: [idOf('vm1'), idOf('vm2')] });
    for (const name of ['vm1', 'vm2']) await d.waitHealth('web', idOf(name), 'up');
    expect((await fetchMany(lab, 'cl1', 4)).sort()).toEqual(['vm1', 'vm1', 'vm2', 'vm2']);
    const configBefore = d.daemon.configText();
    // One long-lived connection on each VM that stays: neither may notice anything of what follows.
    const stay = [await streamOn('vm1', ['cl2']), await streamOn('vm2', ['cl2'])];
    const loop = requestLoop('cl1');
    await waitFor(() => loop.attempts.length >= 10, 15_000, 'the request loop to run');

    // The VM is born with the tag: its interface appears carrying it (and its address), then its server starts.
    const before = d.events.length;
    const addAt = Date.now();
    const vm3 = await lab.addVm('vm3', { externalIds: (h) => ({ ...TAG, ip: h.ip }) });
    const portAt = Date.now();
    await startServer('vm3');
    const listeningAt = Date.now();
    await waitFor(() => loop.attempts.some((a) => a.vm === 'vm3'), 30_000, 'a request answered by vm3');
    const firstAnswer = loop.attempts.find((a) => a.vm === 'vm3')!;
    const joined = d.events.slice(before).find((e) => e.kind === 'backend_tagged' && e.backend === idOf('vm3'));
    // The lab makes the namespace, then adds the port with the tag, then reads its ofport: the port appears inside addVm.
    const ready = Math.max(listeningAt, joined?.time ?? listeningAt);
    console.log(`[tag e2e ${e2eNatMode()}] vm3 born with the tag: addVm (namespace, then the tagged port) took ${portAt - addAt} ms, vadc had it join `
      + `${joined ? joined.time - addAt : '?'} ms after addVm began, its server listened ${listeningAt - portAt} ms after addVm returned; `
      + `first request answered by vm3 started ${firstAnswer.start - ready} ms after it was both tagged and listening `
      + `(HTTP check every 500 ms, rise 1; target <= 2000 ms); ${firstAnswer.start - addAt} ms after addVm began`);
    expect(joined?.message).toContain(`interface ${vm3.port}`);
    expect(d.daemon.configText()).toBe(configBefore);
    expect(d.backend('web', idOf('vm3'))).toMatchObject({ vnic: idOf('vm3'), ip: vm3.ip, taggedOn: vm3.port });
    expect(d.backend('web', idOf('vm1')).taggedOn).toBeUndefined(); // configured, not tagged

    // Deleted as a hypervisor deletes a VM: its port goes (with the guest), then the rest of it.
    const deleteAt = Date.now();
    await lab.vsctl('del-port', lab.bridge, vm3.port);
    const left = await d.waitEvent((e) => e.kind === 'backend_untagged' && e.backend === idOf('vm3'), 15_000, 'vm3 left', before);
    await servers.get('vm3')?.stop();
    servers.delete('vm3');
    await lab.removeVm('vm3');
    await sleep(4000); // requests that started before the leave have ended (3 s client timeout) and 1 s more ran after
    await loop.stop();
    const reports = await Promise.all(stay.map((s) => s.stop()));
    const afterLeave = loop.attempts.filter((a) => a.start > left.time);
    const failedAround = loop.attempts.filter((a) => a.error && a.start >= deleteAt - 100 && a.start <= left.time);
    console.log(`[tag e2e ${e2eNatMode()}] vm3 deleted: left the pool ${left.time - deleteAt} ms after its port was deleted; `
      + `${loop.attempts.length} fresh requests in all, ${afterLeave.length} after the leave; failed while its port was going: ${failedAround.length} `
      + `(${failedAround.map((a) => a.error).join(', ') || 'none'}); long-lived connections: ${reports.map((r) => `${r.ok} ok/${r.failures.length} failed`).join(', ')}`);
    const failures = [...reports.flatMap((r) => r.failures), ...loop.attempts.filter((a) => a.error).map((a) => ({ at: a.start, error: `fresh: ${a.error}` }))];
    if (failures.length) {
      console.log(`[tag e2e ${e2eNatMode()}] failures (ms after addVm began): ${failures.map((f) => `+${f.at - addAt} ${f.error}`).join(', ')}; `
        + `port deleted at +${deleteAt - addAt}; events: ${timeline(before, addAt)}`);
    }
    // Nobody else noticed: the long-lived connections on vm1 and vm2 never failed nor moved, ...
    for (const report of reports) {
      expect(report.failures).toEqual([]);
      expect(report.connections).toHaveLength(1);
    }
    // ... no request failed before the deletion began or after the leave, and nothing went to vm3 once it had left.
    expect(loop.attempts.filter((a) => a.error && !(a.start >= deleteAt - 100 && a.start <= left.time))).toEqual([]);
    expect(afterLeave.length).toBeGreaterThan(10);
    expect(afterLeave.filter((a) => a.vm === 'vm3')).toEqual([]);
    expect(new Set(afterLeave.map((a) => a.vm))).toEqual(new Set(['vm1', 'vm2']));
    expect(d.daemon.service('web').backends.map((b) => b.id).sort()).toEqual([idOf('vm1'), idOf('vm2')].sort());
    expect(d.daemon.configText()).toBe(configBefore);
  });

  it('a VM whose tag is taken off gets no new connections, keeps the ones it has, and rejoins when tagged again', async () => {
    await tag('vm2', true);
    d = await DaemonUnderTest.start(lab, serviceYaml(), { waitLocated: [idOf('vm1'), idOf('vm2')] });
    for (const name of ['vm1', 'vm2']) await d.waitHealth('web', idOf(name), 'up');
    const held = await streamOn('vm2', ['cl1', 'cl2']);

    const before = d.events.length;
    await tag('vm2', false);
    await d.waitEvent((e) => e.kind === 'backend_untagged' && e.backend === idOf('vm2'), 15_000, 'vm2 left', before);
    expect(await fetchMany(lab, 'cl1', 6)).toEqual(['vm1', 'vm1', 'vm1', 'vm1', 'vm1', 'vm1']);
    await sleep(1000); // the held connection keeps being used after the leave
    const report = await held.stop();
    console.log(`[tag e2e ${e2eNatMode()}] vm2 untagged: its established connection went on: ${report.ok} answers, ${report.failures.length} failed`);
    expect(report.failures).toEqual([]);
    expect(report.connections).toHaveLength(1); // the same connection to vm2 all along
    expect(report.connections[0]).toMatch(/ vm2 /);

    // Tagged again while its server runs: how long until it answers requests through the VIP.
    const loop = requestLoop('cl1');
    await waitFor(() => loop.attempts.length >= 5, 15_000, 'the request loop to run');
    const taggedAt = Date.now();
    const retagged = d.events.length;
    await tag('vm2', true);
    await waitFor(() => loop.attempts.some((a) => a.vm === 'vm2' && a.start >= taggedAt), 30_000, 'a request answered by vm2 again');
    await loop.stop();
    const back = loop.attempts.find((a) => a.vm === 'vm2' && a.start >= taggedAt)!;
    const joined = d.events.slice(before).find((e) => e.kind === 'backend_tagged' && e.backend === idOf('vm2'));
    console.log(`[tag e2e ${e2eNatMode()}] vm2 tagged again (server running): vadc had it join ${joined ? joined.time - taggedAt : '?'} ms and served it `
      + `a request started ${back.start - taggedAt} ms after the tag was set (fresh connection every 50 ms; HTTP check every 500 ms, rise 1; target <= 2000 ms)`);
    expect(loop.attempts.filter((a) => a.error)).toEqual([]);
    // Located before its monitor first looked: never reported down for an absence that was only vadc not having looked yet.
    expect(d.events.slice(retagged).filter((e) => e.backend === idOf('vm2') && e.kind === 'backend_down').map((e) => e.message)).toEqual([]);
  });
});
