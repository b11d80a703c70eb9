// Health checks and failover end to end on real Open vSwitch: a real vadc daemon, HTTP servers in VM
// namespaces, clients in client namespaces, health checks from the host over the bridge's LOCAL port.
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Lab, planHost, planLab, type LabServer } from '../../src/lab';
import {
  DaemonUnderTest, connectOutcome, fetchMany, fetchVia, heldConnections, keepAliveStream, sleep, vipOf, waitFor,
} from '../helpers/health-lab';
import { e2eNatMode } from '../helpers/nat-mode';

const LAB = 'hf';
let lab: Lab;
let d: DaemonUnderTest | undefined;
const servers = new Map<string, LabServer>();
let hooksDir: string;

const vm = (name: string) => lab.host(name);
const backend = (name: string, extra = '') => `{ vnic: ${vm(name).port}, ip: ${vm(name).ip}, ports: [8080]${extra} }`;

function service(name: string, port: number, body: string): string {
  return `  - name: ${name}\n    vip: ${vipOf(lab)}\n    port: ${port}\n    scheduler: rr\n    fin_timeout: 1\n${body}`;
}

async function startServer(name: string): Promise<void> {
  if (!servers.has(name)) servers.set(name, await lab.startHttpServer(name, 8080));
}

async function stopServer(name: string): Promise<void> {
  await servers.get(name)?.stop();
  servers.delete(name);
}

function hook(name: string, body: string, mode = 0o755): string {
  const file = path.join(hooksDir, name);
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`);
  fs.chmodSync(file, mode);
  return file;
}

const isDown = (id: string) => (e: { kind: string; backend?: string }) => e.kind === 'backend_down' && e.backend === id;

beforeAll(async () => {
  lab = await Lab.up({ name: LAB, vms: 3, clients: 2, waitForHostMs: 600_000 });
  for (const name of ['vm1', 'vm2', 'vm3']) await startServer(name);
  hooksDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vadc-hf-hooks-'));
}, 660_000);

afterEach(async () => {
  await d?.stop();
  d = undefined;
  // Every test starts from the same lab: all three servers up.
  for (const name of ['vm1', 'vm2', 'vm3']) await startServer(name);
});

afterAll(async () => {
  for (const s of servers.values()) await s.stop().catch(() => undefined);
  await lab?.down();
  if (hooksDir) fs.rmSync(hooksDir, { recursive: true, force: true });
}, 120_000);

const HTTP_CHECK = '    health: { type: http, interval: 0.5, timeout: 0.4, rise: 2, fall: 2, path: / }\n';

describe(`health and failover on real OVS (NAT by ${e2eNatMode()})`, () => {
  it('a VM whose server dies leaves rotation, other connections keep flowing, and it returns when restarted', async () => {
    d = await DaemonUnderTest.start(lab, service('web', 80, `${HTTP_CHECK}    backends:\n      - ${backend('vm1')}\n      - ${backend('vm2')}\n      - ${backend('vm3')}`));
    for (const name of ['vm1', 'vm2', 'vm3']) await d.waitHealth('web', vm(name).port, 'up');
    const stream = keepAliveStream(lab, 'cl2');
    const streamVm = (await stream.first).split(' ')[0];
    const victim = streamVm === 'vm3' ? 'vm2' : 'vm3';

    const from = d.events.length;
    const killedAt = Date.now();
    await stopServer(victim);
    const down = await d.waitEvent(isDown(vm(victim).port), 10_000, `${victim} down`, from);
    console.log(`[health e2e] server of ${victim} killed: out of rotation after ${down.time - killedAt} ms (fall 2 x interval 500 ms)`);
    expect(down.level).toBe('warn');
    expect(down.message).toMatch(/connection refused|ECONNREFUSED/);
    // Past fall x interval plus slack, no new connection reaches it.
    await sleep(Math.max(0, killedAt + 2 * 500 + 1000 - Date.now()));
    const during = await fetchMany(lab, 'cl1', 6);
    expect(during).not.toContain(victim);
    expect(new Set(during).size).toBe(2);

    const report = await stream.stop();
    expect(report.failed).toBe(0);
    expect(report.answers).toHaveLength(1); // one TCP connection to one VM, never interrupted
    expect(report.ok).toBeGreaterThan(10);

    await startServer(victim);
    await d.waitHealth('web', vm(victim).port, 'up');
    expect(await fetchMany(lab, 'cl1', 6)).toContain(victim);
  });

  it('a vNIC whose link goes down is out at once; no new connection reaches it', async () => {
    d = await DaemonUnderTest.start(lab, service('web', 80, `${HTTP_CHECK}    backends:\n      - ${backend('vm1')}\n      - ${backend('vm2')}`));
    for (const name of ['vm1', 'vm2']) await d.waitHealth('web', vm(name).port, 'up');
    const from = d.events.length;
    const cutAt = Date.now();
    try {
      await lab.setLinkUp('vm2', false);
      const down = await d.waitEvent(isDown(vm('vm2').port), 5000, 'vm2 down', from);
      console.log(`[health e2e] link of vm2 down: out of rotation after ${down.time - cutAt} ms (checks alone would need >= 1000 ms)`);
      expect(down.message).toMatch(/link/);
      expect(await fetchMany(lab, 'cl1', 4)).toEqual(['vm1', 'vm1', 'vm1', 'vm1']);
    } finally {
      await lab.setLinkUp('vm2', true);
    }
  });

  // Regression: ovsdb-server sends an update2 "modify" of an optional column (e.g. Interface link_state) as the
  // new value; src/ovsdb once applied it as a set difference and link_state stayed "down" after the link came back.
  it('a vNIC whose link comes back up is back in rotation after its checks pass', async () => {
    d = await DaemonUnderTest.start(lab, service('web', 80, `${HTTP_CHECK}    backends:\n      - ${backend('vm1')}\n      - ${backend('vm2')}`));
    for (const name of ['vm1', 'vm2']) await d.waitHealth('web', vm(name).port, 'up');
    const from = d.events.length;
    try {
      await lab.setLinkUp('vm2', false);
      await d.waitEvent(isDown(vm('vm2').port), 5000, 'vm2 down', from);
    } finally {
      await lab.setLinkUp('vm2', true);
    }
    await d.waitHealth('web', vm('vm2').port, 'up', 5000);
    const up = d.events.slice(from).find((e) => e.kind === 'backend_up' && e.backend === vm('vm2').port);
    expect(up?.message).toMatch(/port 8080/); // it came back on a passing check, not on the link alone
    expect(await fetchMany(lab, 'cl1', 4)).toContain('vm2');
  });

  it('an overloaded primary tier sends new connections to the secondary until the load is gone', async () => {
    d = await DaemonUnderTest.start(lab, service('web', 80, `    health: { type: tcp, interval: 0.5, timeout: 0.4, rise: 1, fall: 2 }
    failover: { hold: 1, conns_per_backend: { high: 2, low: 1 } }
    backends:
      - ${backend('vm1', ', tier: 0')}
      - ${backend('vm2', ', tier: 1')}`));
    for (const name of ['vm1', 'vm2']) await d.waitHealth('web', vm(name).port, 'up');
    // The secondary may have passed its first check before the primary: then the primary serves after hold.
    await waitFor(() => d!.daemon.service('web').activeTier === 0, 5000, 'tier 0 to serve');
    expect(await fetchMany(lab, 'cl2', 2)).toEqual(['vm1', 'vm1']);
    // Those two end when their flows go (fin_timeout 1 s); then the held ones are the whole load.
    const vm1Conns = () => d!.backend('web', vm('vm1').port).activeConns + d!.backend('web', vm('vm1').port).inactiveConns;
    await waitFor(() => vm1Conns() === 0, 10_000, 'the probe connections to end');
    await waitFor(() => d!.daemon.service('web').activeTier === 0, 5000, 'tier 0 to serve before the load');
    const from = d.events.length;
    const held = heldConnections(lab, 'cl1', 3);
    try {
      const bodies = await held.bodies;
      // On a mismatch, show what the daemon decided meanwhile (routing changes are events).
      expect({ bodies, events: bodies.every((b) => b === 'vm1 8080') ? [] : d.events.slice(from - 5).map((e) => `${e.kind}: ${e.message}`) })
        .toEqual({ bodies: ['vm1 8080', 'vm1 8080', 'vm1 8080'], events: [] });
      const failover = await d.waitEvent((e) => e.kind === 'failover', 10_000, 'failover', from);
      expect(failover.message).toMatch(/tier 0 overloaded: 3 active connections per backend > 2/);
      expect(await fetchMany(lab, 'cl2', 3)).toEqual(['vm2', 'vm2', 'vm2']);
    } finally {
      await held.release();
    }
    const failback = await d.waitEvent((e) => e.kind === 'failback', 15_000, 'failback', from);
    expect(failback.message).toMatch(/tier 0 recovered/);
    expect(await fetchMany(lab, 'cl2', 2)).toEqual(['vm1', 'vm1']);
  });

  it('a secondary that is not running is launched by its hook, becomes healthy and takes the traffic', async () => {
    const spare = planHost(planLab(LAB), 'vm', 'vm4', 14);
    // The hook is a separate process; it asks this test (which owns the lab) to start the VM and attach its vNIC.
    const launcher = http.createServer((req, res) => {
      void (async () => {
        const host = await lab.addVm('vm4');
        servers.set('vm4', await lab.startHttpServer(host, 8080));
        res.end(`started ${host.name} on ${host.port}\n`);
      })().catch((err: Error) => {
        res.statusCode = 500;
        res.end(err.message);
      });
    });
    await new Promise<void>((resolve) => launcher.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(launcher.address() as AddressInfo).port}/launch`;
    const startVm = hook('start-vm.sh', `echo "starting $VADC_BACKEND (tier $VADC_TIER): $VADC_REASON"\nexec curl -fsS -m 20 "${url}?backend=$VADC_BACKEND"`);
    try {
      d = await DaemonUnderTest.start(lab, service('web', 80, `    health: { type: http, interval: 0.5, timeout: 0.4, rise: 1, fall: 1, path: / }
    failover: { hold: 1 }
    launch: { command: [${startVm}], timeout: 20, ready_timeout: 20, max_attempts: 1 }
    backends:
      - ${backend('vm1', ', tier: 0')}
      - { name: spare, vnic: "iface-id:${spare.ifaceId}", ip: ${spare.ip}, ports: [8080], tier: 1 }`));
      await d.waitHealth('web', vm('vm1').port, 'up');
      expect(d.events.some((e) => e.kind === 'launch_started')).toBe(false); // not needed while the primary serves
      const from = d.events.length;
      await stopServer('vm1');
      const started = await d.waitEvent((e) => e.kind === 'launch_started', 10_000, 'launch started', from);
      expect(started.backend).toBe('spare');
      const succeeded = await d.waitEvent((e) => e.kind === 'launch_succeeded' || e.kind === 'launch_failed', 30_000, 'launch finished', from);
      expect(succeeded.kind).toBe('launch_succeeded');
      expect(succeeded.data?.lastOutput).toMatch(/starting spare \(tier 1\).*\n.*started vm4/s); // the hook's output is reported
      await d.waitHealth('web', 'spare', 'up');
      expect(await fetchVia(lab, 'cl1')).toBe('vm4 8080');
      expect(d.backend('web', 'spare').vnic).toBe(`iface-id:${spare.ifaceId}`);
    } finally {
      launcher.close();
      await stopServer('vm4');
      if (lab.hosts.some((h) => h.name === 'vm4')) await lab.removeVm('vm4');
    }
  });

  it('a drained backend takes no new connections, its live one finishes, then it is reported drained', async () => {
    d = await DaemonUnderTest.start(lab, service('web', 80, `    health: { type: tcp, interval: 0.5, timeout: 0.4, rise: 1, fall: 2 }\n    backends:\n      - ${backend('vm1')}\n      - ${backend('vm2')}`));
    for (const name of ['vm1', 'vm2']) await d.waitHealth('web', vm(name).port, 'up');
    const stream = keepAliveStream(lab, 'cl1');
    const busy = (await stream.first).split(' ')[0];
    const other = busy === 'vm1' ? 'vm2' : 'vm1';
    const from = d.events.length;
    await d.daemon.drain('web', vm(busy).port);
    const draining = await d.waitEvent((e) => e.kind === 'backend_draining', 5000, 'draining', from);
    expect(draining.message).toMatch(/1 connection\(s\) left/);
    expect(await fetchMany(lab, 'cl2', 4)).toEqual([other, other, other, other]);
    await sleep(1000);
    expect(d.events.slice(from).some((e) => e.kind === 'backend_drained')).toBe(false); // its connection is still live
    const report = await stream.stop();
    expect(report.failed).toBe(0);
    expect(report.answers).toHaveLength(1);
    const drained = await d.waitEvent((e) => e.kind === 'backend_drained', 10_000, 'drained', from);
    expect(drained.backend).toBe(vm(busy).port);
    expect(d.backend('web', vm(busy).port).health).toBe('drained');
  });

  it('bad hooks and unreachable check targets are reported with their reason', async () => {
    const absent = (n: number) => `{ name: absent${n}, vnic: "iface-id:00000000-0000-4000-8000-00000000000${n}", ip: ${lab.subnet.replace(/\.0\/\d+$/, `.7${n}`)}, ports: [8080], tier: 1 }`;
    const refused = `{ name: refused, vnic: ${vm('vm3').port}, ip: ${vm('vm3').ip}, ports: [9], tier: 0 }`;
    const pidFile = path.join(hooksDir, 'hang.pid');
    const hooks = {
      fails: [hook('fails.sh', 'echo "no capacity left" >&2; exit 1')],
      missing: [path.join(hooksDir, 'does-not-exist.sh')],
      noexec: [hook('noexec.sh', 'exit 0', 0o644)],
      hangs: [hook('hangs.sh', `echo $$ > ${pidFile}; sleep 60`)],
      unsafe: [hook('loose.sh', 'exit 0', 0o777)], // anyone could rewrite it: never run as root
    };
    const services = Object.entries(hooks).map(([name, command], i) => service(name, 81 + i, `    health: { type: tcp, interval: 0.5, timeout: 0.4, rise: 1, fall: 1 }
    launch: { command: [${command[0]}], timeout: 1, max_attempts: 1 }
    backends:
      - ${refused}
      - ${absent(i + 1)}`));
    services.push(service('silent', 90, `    health: { type: tcp, interval: 0.5, timeout: 0.4, rise: 1, fall: 1 }
    backends:
      - { name: silent, vnic: ${vm('vm3').port}, ip: ${lab.subnet.replace(/\.0\/\d+$/, '.77')}, ports: [8080] }`));
    d = await DaemonUnderTest.start(lab, services.join('\n'), { waitLocated: ['refused'] });

    const failure = async (svc: string) => {
      const e = await d!.waitEvent((x) => x.kind === 'launch_failed' && x.service === svc, 15_000, `launch_failed of ${svc}`);
      expect(e.level).toBe('error');
      return e.message;
    };
    expect(await failure('fails')).toMatch(/exit code 1/);
    expect(await failure('missing')).toContain(`not found: ${hooks.missing[0]} does not exist`);
    expect(await failure('noexec')).toContain(`not executable: ${hooks.noexec[0]}`);
    expect(await failure('hangs')).toMatch(/timed out after 1000 ms; process group killed/);
    expect(await failure('unsafe')).toContain(`unsafe: ${hooks.unsafe[0]} is writable by group or others (mode 0777)`);
    const hungPid = Number(fs.readFileSync(pidFile, 'utf8'));
    expect(fs.existsSync(`/proc/${hungPid}`) && !fs.readFileSync(`/proc/${hungPid}/stat`, 'utf8').split(') ')[1].startsWith('Z')).toBe(false);

    const refusedDown = await d.waitEvent((e) => isDown('refused')(e) && e.service === 'fails', 5000, 'refused down');
    expect(refusedDown.message).toMatch(/port 9: connection refused/);
    const silentDown = await d.waitEvent((e) => isDown('silent')(e), 5000, 'silent down');
    expect(silentDown.message).toMatch(/timed out after 400 ms/);
  });

  it('below quorum, new connections go to the sorry backend, or are refused with a RST without one', async () => {
    d = await DaemonUnderTest.start(lab, [
      service('web', 80, `${HTTP_CHECK}    quorum: 2\n    backends:\n      - ${backend('vm1')}\n      - ${backend('vm2')}\n    sorry_backend: ${backend('vm3')}`),
      service('bare', 81, `    health: { type: tcp, interval: 0.5, timeout: 0.4, rise: 1, fall: 1 }\n    backends:\n      - { name: bare, vnic: ${vm('vm2').port}, ip: ${vm('vm2').ip}, ports: [8090] }`),
    ].join('\n'));
    for (const name of ['vm1', 'vm2']) await d.waitHealth('web', vm(name).port, 'up');
    expect((await fetchMany(lab, 'cl1', 2)).sort()).toEqual(['vm1', 'vm2']);
    const from = d.events.length;
    await stopServer('vm1');
    // vm2 alone is healthy, below the quorum of 2: the tier is unavailable and the sorry backend serves.
    const none = await d.waitEvent((e) => e.kind === 'nothing_healthy' && e.service === 'web', 10_000, 'nothing healthy (web)', from);
    expect(none.level).toBe('error');
    expect(none.message).toMatch(/1 of 2 backends healthy, quorum 2; sorry backend/);
    expect(await fetchMany(lab, 'cl1', 3)).toEqual(['vm3', 'vm3', 'vm3']);

    await d.waitHealth('bare', 'bare', 'down');
    expect(await connectOutcome(lab, 'cl1', 81)).toBe('ECONNREFUSED');
  });
});
