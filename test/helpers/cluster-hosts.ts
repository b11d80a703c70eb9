// The vadc daemons of a multi-host lab's simulated hypervisors, each a cluster host of one Raft store, in-process:
// the cluster e2e tests share them.
import path from 'node:path';
import { parseConfig } from '../../src/config';
import { VadcDaemon } from '../../src/daemon/daemon';
import type { Lab, LabHypervisor } from '../../src/lab';
import type { VadcEvent } from '../../src/runtime/types';
import { waitFor } from './health-lab';

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
    await waitFor(() => daemon.status().switches.length === 1, 20_000, `${hv.name}'s bridge to connect`);
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
