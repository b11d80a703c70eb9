// The vadc daemons of a multi-host lab's simulated hypervisors, each a cluster host of one Raft store, in-process:
// the cluster e2e tests share them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../src/config';
import { VadcDaemon } from '../../src/daemon/daemon';
import { Lab, storeClusterDown, type LabHypervisor, type LabServer } from '../../src/lab';
import type { VadcEvent } from '../../src/runtime/types';
import { waitFor } from './health-lab';
import { vadcOk } from './vadc-cli';
import { switchSynced } from './switch-synced';

export type ClusterNat = 'conntrack' | 'flows';

export interface HostDaemonOptions {
  nat: ClusterNat;
  /** The store's remotes (`vadc cluster up` prints them). */
  remotes: string;
  /** Where each host keeps its policy cache. */
  dir: string;
  /** Statistics poll interval, ms (default 500). */
  statsIntervalMs?: number;
  /** How often each host publishes its report besides on backend events: cluster.report_interval, s (default 10). */
  reportInterval?: number;
}

const SESSION = { backoffInitialMs: 100, backoffMaxMs: 1000, handshakeTimeoutMs: 5000 };

/** One simulated hypervisor's vadc: its own controller port, conntrack zone (conntrack mode), cluster host name and uplink. */
export class HostDaemon {
  readonly events: VadcEvent[] = [];

  private constructor(readonly hv: LabHypervisor, readonly daemon: VadcDaemon) {
    daemon.bus.on('event', (e: VadcEvent) => this.events.push(e));
  }

  static async start(lab: Lab, hv: LabHypervisor, opts: HostDaemonOptions): Promise<HostDaemon> {
    const zone = opts.nat === 'conntrack' ? `ct_zone: ${3000 + hv.index}, ` : '';
    const text = `
controller: { listen: "tcp:127.0.0.1:0", echo_interval: 1 }
datapath: { nat: ${opts.nat}, ${zone}appctl: ${lab.vswitchdControlSocket} }
ovsdb: unix:${lab.ovsdbSocket}
cluster: { remotes: "${opts.remotes}", host: ${hv.name}, uplink: ${hv.uplinkPort}, policy_cache: ${path.join(opts.dir, `${hv.name}-policy.json`)}${
  opts.reportInterval !== undefined ? `, report_interval: ${opts.reportInterval}` : ''} }
services: []
`;
    const daemon = new VadcDaemon({
      config: parseConfig(text, `cluster e2e ${hv.name}`), configText: text, statsIntervalMs: opts.statsIntervalMs ?? 500, healthSourceAddress: lab.localIp,
      clusterSession: SESSION,
    });
    const host = new HostDaemon(hv, daemon);
    const [target] = await daemon.start();
    await lab.setHypervisorController(hv, target);
    await waitFor(() => switchSynced(daemon.status()), 20_000, `${hv.name}'s bridge to connect`);
    return host;
  }

  /** The service's backend on that vNIC as this host sees it (status). */
  backend(vnic: string, service = 'web') {
    return this.daemon.services().find((s) => s.name === service)?.backends.find((b) => b.vnic === vnic);
  }

  async stop(): Promise<void> {
    await this.daemon.stop();
  }
}

export interface ClusterLabOptions {
  /** The lab's and the store's name (short: it names bridges and ports). */
  name: string;
  /** Simulated hypervisors, each with one VM (hNvm1, an http server on 8080) and one client (hNcl1). */
  hosts: number;
  nat: ClusterNat;
  statsIntervalMs?: number;
  reportInterval?: number;
}

/**
 * What the cluster e2e tests share: a multi-host lab, an http server on port 8080 of every VM, a 3-member Raft store
 * made by `vadc cluster up`, and one in-process vadc per host joined to it in one NAT mode. `down()` takes all of it
 * away (a stopped server is continued first). One at a time per machine, as labs are.
 */
export class ClusterLab {
  readonly hosts: HostDaemon[] = [];
  readonly servers = new Map<string, LabServer>();

  private constructor(readonly nat: ClusterNat, readonly lab: Lab, readonly tmp: string, readonly storeDir: string, public remotes = '') {}

  static async up(opts: ClusterLabOptions): Promise<ClusterLab> {
    const tmp = mkdtempSync(path.join(tmpdir(), `vadc-${opts.name}-`));
    const lab = await Lab.up({ name: opts.name, hosts: opts.hosts, vms: 1, clients: 1, waitForHostMs: 900_000 });
    const c = new ClusterLab(opts.nat, lab, tmp, path.join(tmp, 'store'));
    try {
      for (const vm of lab.hosts.filter((h) => h.role === 'vm')) c.servers.set(vm.name, await lab.startHttpServer(vm.name, 8080));
      c.remotes = (JSON.parse(await vadcOk(['cluster', 'up', '--members', '3', '--dir', c.storeDir, '--name', opts.name, '--json'])) as { remotes: string }).remotes;
      for (const hv of lab.hypervisors) {
        c.hosts.push(await HostDaemon.start(lab, hv, {
          nat: opts.nat, remotes: c.remotes, dir: tmp, statsIntervalMs: opts.statsIntervalMs, reportInterval: opts.reportInterval,
        }));
      }
    } catch (err) {
      await c.down();
      throw err;
    }
    return c;
  }

  /** A service file in the lab's temp dir (for `vadc service add --file`). */
  file(name: string): string {
    return path.join(this.tmp, name);
  }

  async down(): Promise<void> {
    for (const h of this.hosts.splice(0)) await h.stop().catch(() => undefined);
    for (const s of this.servers.values()) {
      s.process.kill('SIGCONT');
      await s.stop().catch(() => undefined);
    }
    this.servers.clear();
    await storeClusterDown(this.storeDir).catch(() => undefined);
    await this.lab.down();
    rmSync(this.tmp, { recursive: true, force: true });
  }
}
