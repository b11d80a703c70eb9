import path from 'node:path';
import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command';
import { labLocatorFlags } from '../../cli/lab-flags';
import { Lab, LabHost, LabHypervisor, MAX_LAB_HYPERVISORS, type HostDaemonStatus } from '../../lab';

export interface LabUpResult {
  name: string;
  dir: string;
  bridge: string;
  datapathId: string;
  subnet: string;
  localIp: string;
  ovsdbSocket: string;
  mgmtSocket: string;
  controller: string | null;
  hosts: LabHost[];
  /** With --hosts: the simulated hypervisors (bridge is then the underlay joining them). */
  hypervisors?: LabHypervisor[];
  /** With --cluster: each host's vadc daemon. */
  vadc?: HostDaemonStatus[];
}

/** Where the hosts' daemons listen when --cluster comes without --controller (h1 this port, h2 the next ...). */
const DEFAULT_HOST_CONTROLLER = 'tcp:127.0.0.1:6653';

export default class LabUp extends BaseCommand<typeof LabUp> {
  static override summary = 'Start a private Open vSwitch lab: a bridge, VM and client namespaces.';
  static override description =
    'Runs its own ovsdb-server and ovs-vswitchd (no system OVS is touched) with a secure OpenFlow 1.3 netdev bridge, ' +
    'and joins N VM and M client network namespaces to it by veth pairs. The bridge forwards nothing until a ' +
    'controller (or ovs-ofctl) installs flows. Needs root; installs openvswitch-switch when missing.';
  static override examples = [
    '<%= config.bin %> lab up',
    '<%= config.bin %> lab up --vms 3 --clients 2 --controller tcp:127.0.0.1:6653',
    '<%= config.bin %> lab up --name t1 --json',
    '<%= config.bin %> lab up --hosts 3 --vms 2 --clients 1 --controller tcp:127.0.0.1:6653',
    '<%= config.bin %> lab up --hosts 3 --vms 1 --clients 1 --cluster "$(vadc cluster up --members 3 --dir /tmp/store --json | jq -r .remotes)"',
  ];

  static override flags = {
    ...labLocatorFlags,
    vms: Flags.integer({ description: 'number of VM namespaces (vm1, vm2 ...)', default: 2, min: 0, max: 90 }),
    clients: Flags.integer({ description: 'number of client namespaces (cl1, cl2 ...)', default: 1, min: 0, max: 154 }),
    controller: Flags.string({ description: 'OpenFlow controller the bridge connects to, e.g. tcp:127.0.0.1:6653' }),
    hosts: Flags.integer({
      description: `simulated hypervisors (1-${MAX_LAB_HYPERVISORS}): a bridge each with --vms VMs and --clients clients, joined by an ` +
        'underlay bridge; a tcp:/ssl: --controller port is counted up per host (h1 the port given, h2 the next ...)',
      min: 1, max: MAX_LAB_HYPERVISORS,
    }),
    wait: Flags.integer({ description: 'seconds to wait for another lab on this host to go down', default: 0, min: 0 }),
    cluster: Flags.string({
      description: 'start a vadc daemon per host (with --hosts), each a host of the cluster store at these remotes (what `vadc cluster up` ' +
        `prints), listening on its bridge's controller port (--controller, default ${DEFAULT_HOST_CONTROLLER}); lab down stops them`,
      dependsOn: ['hosts'],
    }),
    // No oclif default: a defaulted flag counts as given, and dependsOn then refused every `lab up` without --cluster.
    nat: Flags.option({ options: ['conntrack', 'flows'] as const, description: "the hosts' daemons' datapath.nat (with --cluster; default conntrack)", dependsOn: ['cluster'] })(),
  };

  public async run(): Promise<LabUpResult> {
    const { flags } = this;
    const lab = await Lab.up({
      name: flags.name, vms: flags.vms, clients: flags.clients, controller: flags.controller ?? (flags.cluster ? DEFAULT_HOST_CONTROLLER : undefined),
      baseDir: flags['base-dir'], waitForHostMs: flags.wait * 1000, hosts: flags.hosts,
    });
    let vadc: HostDaemonStatus[] | undefined;
    if (flags.cluster) {
      try {
        vadc = await lab.startHostDaemons({ remotes: flags.cluster, nat: flags.nat ?? 'conntrack', argv: [process.execPath, path.join(this.config.root, 'bin', 'run.js')] });
      } catch (err) {
        // Nothing half made is left behind: the daemons that started and the lab go.
        await lab.down();
        throw err;
      }
    }
    const result: LabUpResult = {
      name: lab.name, dir: lab.dir, bridge: lab.bridge, datapathId: lab.datapathId, subnet: lab.subnet,
      localIp: lab.localIp, ovsdbSocket: lab.ovsdbSocket, mgmtSocket: lab.mgmtSocket,
      controller: lab.hypervisors.length > 0 ? null : (flags.controller ?? null), hosts: lab.hosts,
      ...(lab.hypervisors.length > 0 ? { hypervisors: lab.hypervisors } : {}),
      ...(vadc ? { vadc } : {}),
    };
    if (lab.hypervisors.length > 0) {
      this.log(`lab '${lab.name}' is up: ${lab.hypervisors.length} hosts joined by underlay ${lab.bridge}, ${lab.subnet}, host at ${lab.localIp}`);
      this.table(lab.hypervisors, [
        { header: 'HOST', get: 'name' }, { header: 'BRIDGE', get: 'bridge' }, { header: 'DPID', get: 'datapathId' },
        { header: 'CONTROLLER', get: (hv) => hv.controller ?? 'none' }, { header: 'UPLINK', get: (hv) => `${hv.uplinkPort} (${hv.uplinkOfport})` },
      ]);
    } else this.log(`lab '${lab.name}' is up: bridge ${lab.bridge} (dpid ${lab.datapathId}), ${lab.subnet}, host at ${lab.localIp}`);
    this.log(`ovsdb: unix:${lab.ovsdbSocket}   controller: ${lab.hypervisors.length > 0 ? 'per host' : (result.controller ?? 'none')}   dir: ${lab.dir}`);
    if (vadc) {
      this.log(`a vadc per host, joined to the cluster at ${flags.cluster} (datapath.nat ${flags.nat}); talk to one with vadc status --api API:`);
      this.table(vadc, [{ header: 'HOST', get: 'host' }, { header: 'PID', get: (d) => d.pid ?? '' }, { header: 'API', get: 'api' }, { header: 'LOG', get: 'log' }]);
    }
    this.table(lab.hosts, [
      { header: 'HOST', get: 'name' }, { header: 'ROLE', get: 'role' }, ...(lab.hypervisors.length > 0 ? [{ header: 'ON', get: (h: LabHost) => h.hypervisor ?? '' }] : []),
      { header: 'NETNS', get: 'netns' }, { header: 'PORT', get: 'port' }, { header: 'OFPORT', get: 'ofport' }, { header: 'IP', get: 'ip' },
      { header: 'MAC', get: 'mac' }, { header: 'IFACE-ID', get: 'ifaceId' },
    ]);
    return result;
  }
}
