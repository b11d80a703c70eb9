/**
 * Remote backends on real Open vSwitch and a real 3-member Raft cluster of ovsdb-server: a 3-host lab (three
 * bridges in one ovs-vswitchd joined by an underlay), one vadc daemon per host (in-process), a service added once
 * at cluster scope with one backend on each host. Clients on every host reach the backends of the other hosts
 * through the uplinks, NAT'ed at their own host both ways (conntrack mode; each host its own zone, as separate
 * hypervisors have separate trackers). Then a backend's server is killed on h2: h1 and h3 stop choosing it once
 * h2's health check fails it and h2 publishes that. Figures are printed, not asserted.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../src/config';
import { VadcDaemon } from '../../src/daemon/daemon';
import { Lab, storeClusterDown, type LabHypervisor, type LabServer } from '../../src/lab';
import type { VadcEvent } from '../../src/runtime/types';
import { fetchVia, vipOf, waitFor } from '../helpers/health-lab';
import { vadcOk } from '../helpers/vadc-cli';

const SESSION = { backoffInitialMs: 100, backoffMaxMs: 1000, handshakeTimeoutMs: 5000 };
const HEALTH = { interval: 1, timeout: 0.5, rise: 1, fall: 2 };

let lab: Lab;
let tmp: string;
let storeDir: string;
let remotes: string;
const hosts: HostDaemon[] = [];
const servers = new Map<string, LabServer>();

/** One simulated hypervisor's vadc: its own controller port, conntrack zone, cluster host name and uplink. */
class HostDaemon {
  readonly events: VadcEvent[] = [];

  private constructor(readonly hv: LabHypervisor, readonly daemon: VadcDaemon) {
    daemon.bus.on('event', (e: VadcEvent) => this.events.push(e));
  }

  static async start(hv: LabHypervisor): Promise<HostDaemon> {
    const text = `
controller: { listen: "tcp:127.0.0.1:0", echo_interval: 1 }
datapath: { nat: conntrack, ct_zone: ${3000 + hv.index}, appctl: ${lab.vswitchdControlSocket} }
ovsdb: unix:${lab.ovsdbSocket}
cluster: { remotes: "${remotes}", host: ${hv.name}, uplink: ${hv.uplinkPort}, policy_cache: ${path.join(tmp, `${hv.name}-policy.json`)} }
services: []
`;
    const daemon = new VadcDaemon({
      config: parseConfig(text, `cluster remote e2e ${hv.name}`), configText: text, statsIntervalMs: 500, healthSourceAddress: lab.localIp,
      clusterSession: SESSION,
    });
    const host = new HostDaemon(hv, daemon);
    const [target] = await daemon.start();
    await lab.setHypervisorController(hv, target);
    await waitFor(() => daemon.status().switches.length === 1, 20_000, `${hv.name}'s bridge to connect`);
    return host;
  }

  backend(vnic: string) {
    return this.daemon.services().find((s) => s.name === 'web')?.backends.find((b) => b.vnic === vnic);
  }

  async stop(): Promise<void> {
    await this.daemon.stop();
  }
}

/** `count` fresh connections from a client to the VIP: the answering VMs (an error counts as 'failed'). */
async function answers(client: string, count: number): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    try {
      names.push((await fetchVia(lab, client)).split(' ')[0]);
    } catch {
      names.push('failed');
    }
  }
  return names;
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'vadc-cremote-'));
  storeDir = path.join(tmp, 'store');
  lab = await Lab.up({ name: 'cr', hosts: 3, vms: 1, clients: 1, waitForHostMs: 900_000 });
  for (const vm of ['h1vm1', 'h2vm1', 'h3vm1']) servers.set(vm, await lab.startHttpServer(vm, 8080));
  remotes = (JSON.parse(await vadcOk(['cluster', 'up', '--members', '3', '--dir', storeDir, '--name', 'cr', '--json'])) as { remotes: string }).remotes;
  const backend = (vm: string) => `  - { vnic: ${lab.host(vm).port}, ip: ${lab.host(vm).ip}, ports: [8080] }`;
  const health = `{ type: tcp, interval: ${HEALTH.interval}, timeout: ${HEALTH.timeout}, rise: ${HEALTH.rise}, fall: ${HEALTH.fall} }`;
  writeFileSync(path.join(tmp, 'web.yaml'), `name: web\nvip: ${vipOf(lab)}\nport: 80\nscheduler: rr\nfin_timeout: 1\nhealth: ${health}\nbackends:\n${['h1vm1', 'h2vm1', 'h3vm1'].map(backend).join('\n')}\n`);
  for (const hv of lab.hypervisors) hosts.push(await HostDaemon.start(hv));
}, 960_000);

afterAll(async () => {
  for (const h of hosts) await h.stop().catch(() => undefined);
  for (const s of servers.values()) await s.stop().catch(() => undefined);
  if (storeDir) await storeClusterDown(storeDir).catch(() => undefined);
  await lab?.down();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}, 120_000);

describe('remote backends: one service at cluster scope, backends on three hosts (real OVS, real Raft cluster, conntrack NAT)', () => {
  it("every host's clients reach the backends of the other hosts through the uplinks, translated both ways", async () => {
    const added = Date.now();
    await vadcOk(['service', 'add', 'web', '--file', path.join(tmp, 'web.yaml'), '--cluster', remotes]);
    // Each host has its own backend and learns the two others from the store (through its uplink).
    for (const h of hosts) {
      for (const other of hosts) {
        const vnic = lab.hostsOn(other.hv).find((x) => x.role === 'vm')!.port;
        await waitFor(() => {
          const b = h.backend(vnic);
          return b?.health === 'up' && (other === h ? b.host === undefined : b.host === other.hv.name && b.ofport === h.hv.uplinkOfport);
        }, 60_000, `${h.hv.name} to see ${vnic} up${other === h ? '' : ` on ${other.hv.name} via its uplink`}`).catch((err: Error) => {
          const view = h.backend(vnic);
          const events = h.events.filter((e) => e.backend === vnic).map((e) => `${e.kind}: ${e.message}`).slice(-5);
          const own = other.backend(vnic);
          const ownEvents = other.events.filter((e) => e.backend === vnic || e.kind.startsWith('cluster')).map((e) => `${e.kind}: ${e.message}`).slice(-8);
          throw new Error(`${err.message}; it sees ${JSON.stringify(view && { health: view.health, reason: view.healthReason, host: view.host, ofport: view.ofport, mac: view.mac })}; its events: ${events.join(' | ')}; `
            + `${other.hv.name} sees ${JSON.stringify(own && { health: own.health, reason: own.healthReason, ofport: own.ofport })}, cluster ${JSON.stringify(other.daemon.status().cluster)}; its events: ${ownEvents.join(' | ')}`);
        });
      }
    }
    const ready = Date.now();
    const seen: Record<string, string[]> = {};
    for (const h of hosts) {
      const client = lab.hostsOn(h.hv).find((x) => x.role === 'client')!.name;
      const got = new Set<string>();
      for (let round = 0; round < 5 && got.size < 3; round++) for (const name of await answers(client, 6)) got.add(name);
      seen[client] = [...got].sort();
    }
    console.log(`[cluster remote e2e] service added; every host saw every backend up ${ready - added} ms later; answers by client: ${JSON.stringify(seen)}`);
    expect(seen).toEqual({ h1cl1: ['h1vm1', 'h2vm1', 'h3vm1'], h2cl1: ['h1vm1', 'h2vm1', 'h3vm1'], h3cl1: ['h1vm1', 'h2vm1', 'h3vm1'] });
    // Remote connections really left through the uplinks: the clients' hosts sent packets out of them.
    for (const h of hosts) {
      const stats = await lab.ofctlOn(h.hv, 'dump-ports', h.hv.uplinkPort);
      expect(Number(/tx pkts=(\d+)/.exec(stats)![1])).toBeGreaterThan(0);
    }
  }, 240_000);

  it("a backend's server killed on h2: h1 and h3 stop choosing it once h2's verdict is published", async () => {
    const [h1, h2, h3] = hosts;
    const vnic = lab.host('h2vm1').port;
    const killedAt = Date.now();
    await servers.get('h2vm1')!.stop();
    await waitFor(() => h2.backend(vnic)?.health === 'down', 60_000, 'h2 to fail h2vm1');
    const h2Down = Date.now();
    const others: Record<string, number> = {};
    await Promise.all([h1, h3].map(async (h) => {
      await waitFor(() => h.backend(vnic)?.health === 'down', 60_000, `${h.hv.name} to take h2's verdict on h2vm1`);
      others[h.hv.name] = Date.now() - killedAt;
    }));
    // From now on the clients of h1 and h3 are never sent to h2vm1.
    const after: Record<string, string[]> = {};
    for (const client of ['h1cl1', 'h3cl1']) after[client] = [...new Set(await answers(client, 12))].sort();
    const checkMs = HEALTH.fall * HEALTH.interval * 1000 + HEALTH.timeout * 1000;
    console.log(`[cluster remote e2e] h2vm1 killed: h2 failed it after ${h2Down - killedAt} ms (health timing: fall ${HEALTH.fall} x interval ${HEALTH.interval} s, timeout ${HEALTH.timeout} s = ~${checkMs} ms); h1 ${others.h1} ms, h3 ${others.h3} ms after the kill; answers after: ${JSON.stringify(after)}`);
    expect(after).toEqual({ h1cl1: ['h1vm1', 'h3vm1'], h3cl1: ['h1vm1', 'h3vm1'] });
    // Back: h2's verdict turns, and the others use it again.
    servers.set('h2vm1', await lab.startHttpServer('h2vm1', 8080));
    await Promise.all([h1, h3].map((h) => waitFor(() => h.backend(vnic)?.health === 'up', 60_000, `${h.hv.name} to see h2vm1 up again`)));
    let back = false;
    for (let i = 0; i < 30 && !back; i++) back = (await answers('h1cl1', 1))[0] === 'h2vm1';
    expect(back).toBe(true);
  }, 240_000);
});
