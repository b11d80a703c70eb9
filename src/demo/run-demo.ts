import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { serve, type Served } from '../daemon/serve';
import { parseConntrackDump } from '../flows/conntrack-dump';
import { PRIORITY } from '../flows/pipeline';
import { Lab, type LabServer } from '../lab';
import type { Logger } from '../util/logger';

export interface DemoOptions {
  requests: number;
  /** How vadc translates connections (config datapath.nat); default auto (conntrack: the lab's ovs-vswitchd is local). */
  nat?: 'auto' | 'flows' | 'conntrack';
  logger: Logger;
  /** Keep everything running after the traffic until this promise resolves (e.g. Ctrl-C). */
  holdUntil?: Promise<void>;
  print: (line: string) => void;
  /** How long to wait for another lab on this host to go down first (one userspace datapath per host); default 120 s. */
  waitForLabMs?: number;
}

export interface DemoResult {
  requests: number;
  failed: number;
  spread: Record<string, number>;
  decisions: number;
  /** Packet-ins that were not connection-end copies. */
  packetIns: number;
  /** Copies of FIN/RST segments the switch sent. */
  endCopies: number;
  nat: 'flows' | 'conntrack';
  /** Why vadc runs that mode (status datapath.reason). */
  natReason: string;
  /** Per-connection flows vadc left in the switch (flows mode), or connections in its conntrack zone (conntrack mode). */
  perConnectionState: number;
}

const VIP = '10.0.0.100';

async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`demo: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The main job end to end: a private OVS lab with two VMs (HTTP on 8080 and 8081) and two clients,
 * vadc serving its embedded lab configuration (VIP 10.0.0.100:80, rr), real requests from the clients
 * through the VIP, and the spread over VMs and software ports. Everything is torn down at the end.
 */
export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const { print } = opts;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'vadc-demo-'));
  let lab: Lab | undefined;
  let served: Served | undefined;
  const servers: LabServer[] = [];
  try {
    print('starting the lab: private Open vSwitch, bridge br-vadc (netdev), 2 VMs, 2 clients ...');
    lab = await Lab.up({ vms: 2, clients: 2, waitForHostMs: opts.waitForLabMs ?? 120_000 });
    for (const vm of ['vm1', 'vm2']) for (const port of [8080, 8081]) servers.push(await lab.startHttpServer(vm, port));
    print(`lab up: bridge ${lab.bridge}, VMs ${lab.vms.map((v) => `${v.port}=${v.ip}`).join(', ')}, clients ${lab.clients.map((c) => c.ip).join(', ')}`);
    served = await serve({
      logger: opts.logger, listen: 'tcp:127.0.0.1:0', ovsdb: `unix:${lab.ovsdbSocket}`,
      apiSocket: path.join(tmp, 'vadc.sock'), statePath: path.join(tmp, 'state.yaml'), haDir: path.join(tmp, 'ha'),
      // Browsers cannot open a unix socket: the dashboard gets a loopback listener with a token nobody is shown
      // (the held demo prints a one-time login instead).
      extraListeners: [{ endpoint: 'tcp:127.0.0.1:0', token: randomBytes(24).toString('hex') }],
      nat: { mode: opts.nat ?? 'auto', appctl: lab.vswitchdControlSocket },
    });
    const daemon = served.daemon;
    const { nat, reason: natReason } = daemon.status().datapath;
    const listen = served.controllerTargets[0];
    await lab.setController(listen);
    print(`vadc listening on ${listen}; control API on ${served.api.endpoints.join(', ')}; NAT by ${nat} (${natReason})`);
    await waitFor(() => daemon.status().switches.length > 0, 20_000, 'the switch to connect');
    // Every software port, not only each VM: a VM is up once one of its ports passes, and a port still failing its
    // first checks takes no connections (rr then skips it, and the spread below would not show both ports).
    await waitFor(() => daemon.service('web').backends.every((b) => b.health === 'up' && !b.portsOut?.length), 30_000, 'both VMs to pass their health checks on both ports');
    print(`switch ${daemon.status().switches[0].dpid} connected; backends healthy: ${daemon.service('web').backends.map((b) => `${b.id} (port ${b.ofport})`).join(', ')}`);
    print(`sending ${opts.requests} HTTP requests to http://${VIP}/ from ${lab.clients.map((c) => c.name).join(' and ')} ...`);
    const spread: Record<string, number> = {};
    let failed = 0;
    for (let i = 0; i < opts.requests; i++) {
      const client = lab.clients[i % lab.clients.length];
      try {
        const answer = await lab.httpGet(client, `http://${VIP}/`);
        const who = answer.body.trim();
        spread[who] = (spread[who] ?? 0) + 1;
      } catch (err) {
        failed++;
        print(`  request ${i + 1} failed: ${(err as Error).message}`);
      }
    }
    print('');
    print('answered by (VM and software port)   requests');
    for (const [who, n] of Object.entries(spread).sort()) print(`  ${who.padEnd(35)} ${n}`);
    const status = daemon.status();
    const svc = status.services.find((s) => s.name === 'web')!;
    print('');
    // The switch's packet-ins include the copies of FIN/RST segments (datapath.end_copies), which open nothing.
    const packetIns = status.switches[0].packetIns - svc.endCopies;
    print(`scheduler ${svc.scheduler}: ${svc.decisions} decisions, ${svc.refused} refused; switch packet-ins ${packetIns} (+ ${svc.endCopies} connection-end copies), flow-mods ${status.switches[0].flowModsSent}`);
    const flows = await daemon.flows();
    let perConnectionState = flows.filter((f) => f.priority === PRIORITY.CONNECTION.min).length;
    print(`vadc flows in the switch now: ${flows.length} (${perConnectionState} per-connection flows)`);
    if (nat === 'conntrack') {
      const zone = daemon.status().datapath.ctZone;
      perConnectionState = parseConntrackDump(await lab.appctl('dpctl/dump-conntrack', `zone=${zone}`)).entries.length;
      print(`connections in vadc's conntrack zone ${zone}: ${perConnectionState} (closed ones leave within seconds)`);
    }
    if (opts.holdUntil) {
      print('');
      const dashboard = served.api.endpoints.find((e) => e.startsWith('tcp:'))!.replace(/^tcp:/, 'http://');
      print(`dashboard: ${dashboard}/?login=${served.api.issueLogin()}  (a one-time link: it opens the page once, within 10 minutes)`);
      print(`holding: try \`curl http://${VIP}/\` from \`ip netns exec vadc-cl1\`, or \`node bin/run.js status --api unix:${path.join(tmp, 'vadc.sock')}\`; Ctrl-C to stop`);
      await opts.holdUntil;
    }
    return { requests: opts.requests, failed, spread, decisions: svc.decisions, packetIns, endCopies: svc.endCopies, nat, natReason, perConnectionState };
  } finally {
    print('tearing down ...');
    await served?.stop().catch(() => undefined);
    for (const s of servers) await s.stop().catch(() => undefined);
    await lab?.down().catch((err) => print(`lab down failed: ${(err as Error).message} (run \`vadc lab down\`)`));
    rmSync(tmp, { recursive: true, force: true });
    print('done.');
  }
}
