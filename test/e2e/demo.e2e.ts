// The README's main job (`npm run demo` = `vadc demo`): the embedded lab configuration served by vadc, real
// HTTP requests from the lab's clients through the VIP, in both NAT modes.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { runDemo } from '../../src/demo/run-demo';
import { silentLogger } from '../../src/util/logger';
import { until } from '../helpers/until';

describe('vadc demo on real OVS', () => {
  // The default (auto) finds the lab's ovs-vswitchd and runs conntrack; flows mode is what `vadc demo --hold --nat flows`
  // below runs, as a person does, with the same checks.
  it.each(['conntrack'] as const)('NAT by %s (chosen by auto: ovs-vswitchd is on this host): every request answered, rr over both VMs and both software ports', async (nat) => {
    const lines: string[] = [];
    // Other engineers' labs may hold the host's one userspace datapath for minutes: wait as the other e2e files do.
    const result = await runDemo({ requests: 8, logger: silentLogger(), print: (line) => lines.push(line), waitForLabMs: 600_000 });
    expect(result.natReason).toMatch(/^datapath\.nat: auto, and ovs-vswitchd runs on this host: its unixctl socket \S+\.ctl is reachable/);
    expect(result.failed).toBe(0);
    expect(result.spread).toEqual({ 'vm1 8080': 2, 'vm1 8081': 2, 'vm2 8080': 2, 'vm2 8081': 2 });
    expect(result.decisions).toBe(8);
    expect(result.nat).toBe(nat);
    // rr where the tracker is read: with end copies on, the listing is a backstop and both sides' FINs are copied
    // (endCopySides). The backends' side copies every segment of their ports, so the health checks' FINs come too
    // (24 for 8 requests, 15:35): not a count per connection.
    expect(result.endCopies).toBeGreaterThan(0);
    if (nat === 'conntrack') {
      // One packet-in per connection (plus ARP for the VIP), no per-connection flow-mod.
      expect(result.packetIns).toBeLessThanOrEqual(8 + 2);
      expect(lines.join('\n')).toContain('(0 per-connection flows)');
    } else {
      expect(result.perConnectionState).toBeGreaterThan(0);
    }
    expect(lines).toContain('done.');
  }, 800_000);
});

describe('vadc demo --hold as a person runs it (the built CLI)', () => {
  it('prints a one-time dashboard link that works once, and tears down on Ctrl-C without warning lines', async () => {
    const root = path.resolve(__dirname, '../..');
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_ENV'));
    const child = spawn(process.execPath, [path.join(root, 'bin/run.js'), 'demo', '--hold', '--nat', 'flows', '--requests', '4', '--wait-for-lab', '600'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    // Where the teardown starts in stderr (the spent login above is refused, and logged, on purpose).
    let teardownFrom = 0;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await until(() => {
        if (child.exitCode !== null) throw new Error(`vadc demo exited (${child.exitCode}) before its dashboard line:\n${stdout}\n${stderr}`);
        return /^dashboard: (http:\/\/127\.0\.0\.1:\d+)\/\?login=(\S+)/m.test(stdout);
      }, 'the dashboard line', 750_000, { pollMs: 200, detail: () => `\n${stdout}\n${stderr}` });
      const [, base, login] = /^dashboard: (http:\/\/127\.0\.0\.1:\d+)\/\?login=(\S+)/m.exec(stdout)!;
      const first = await fetch(`${base}/?login=${login}`, { redirect: 'manual' });
      expect(first.status).toBe(303);
      const cookie = first.headers.get('set-cookie')!.split(';')[0];
      const page = await fetch(`${base}/`, { headers: { cookie } });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>vadc dashboard</title>');
      expect((await fetch(`${base}/v1/history`, { headers: { cookie } })).status).toBe(200);
      // Spent: the same link opens nothing a second time.
      expect((await fetch(`${base}/?login=${login}`, { redirect: 'manual' })).status).toBe(401);
    } finally {
      teardownFrom = stderr.length;
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(stdout).toMatch(/^done\.$/m);
    // Every request answered, rr over both VMs and both software ports, in the table the demo prints.
    const spread = [...stdout.matchAll(/^ {2}(vm\d \d+)\s+(\d+)$/gm)].map((m) => [m[1], Number(m[2])]);
    expect(spread).toEqual([['vm1 8080', 1], ['vm1 8081', 1], ['vm2 8080', 1], ['vm2 8081', 1]]);
    expect(stdout).toMatch(/^scheduler rr: 4 decisions, 0 refused/m);
    // Flows mode leaves the connections' NAT flows in the switch until they time out.
    expect(Number(/\((\d+) per-connection flows\)/.exec(stdout)?.[1])).toBeGreaterThan(0);
    // The demo's own shutdown is not a warning: no log line at warn or error level on its way out.
    const logLines = stderr.slice(teardownFrom).split('\n').filter((l) => l.trim() !== '');
    expect(logLines.filter((l) => /"level":"(warn|error)"|\b(warn|error)\b/.test(l))).toEqual([]);
  }, 840_000);
});
