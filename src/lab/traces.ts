// What a lab left on the host, found by its name alone: its status, and its removal (Lab.down), which works from
// the state file and the naming plan, so it finds everything even after the process that made the lab was killed.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { labPaths, mgmtSocketPath, NETDEV_DATAPATH_DEVICE, ovsEnv } from './commands';
import { hostDaemonsStatus, stopHostDaemons, type HostDaemonStatus } from './host-daemons';
import { releaseHostLock } from './host-lock';
import { controllerPort, DEFAULT_LAB_NAME, type HostRole, MAX_LAB_HYPERVISORS, planHost, planHypervisor, planLab } from './plan';
import { readState, type LabState } from './state';
import { isAlive, linkExists, listNetns, netnsPids, pathWithSbin, pidsMentioning, pidsNamed, readPidfile, run, stopProcess } from './system';

export interface LabLocator {
  baseDir?: string;
}

export interface LabHypervisorStatus {
  name: string;
  bridge: string;
  datapathId: string;
  controller: string | null;
  /** The controller target's TCP port (null for none or a unix socket). */
  controllerPort: number | null;
  mgmtSocket: string;
  uplinkPort: string;
  underlayPort: string;
  vms: string[];
  clients: string[];
  /** Its vadc daemon, when `lab up --cluster` started one (docs/lab.md). */
  vadc?: HostDaemonStatus;
}

export interface LabStatus {
  name: string;
  dir: string;
  /** True when the state file exists and both daemons run. */
  up: boolean;
  bridge?: string;
  subnet?: string;
  localIp?: string;
  controller?: string | null;
  datapathId?: string;
  daemons: Array<{ name: 'ovsdb-server' | 'ovs-vswitchd'; pid: number | null; running: boolean }>;
  hosts: Array<{ name: string; role: HostRole; netns: string; port: string; ip: string; mac: string; present: boolean; hypervisor?: string }>;
  /** Multi-host labs only: the simulated hypervisors; `bridge` is then the underlay joining them. */
  hypervisors?: LabHypervisorStatus[];
}

export function labDir(name: string, baseDir?: string): string {
  return path.join(baseDir ?? os.tmpdir(), `vadc-lab-${name}`);
}

/** OVS daemons whose command line names the lab directory: a reused pid in a stale pidfile is never one. */
function labDaemonPids(dir: string): number[] {
  const daemons = new Set([...pidsNamed('ovsdb-server'), ...pidsNamed('ovs-vswitchd')]);
  return pidsMentioning(dir + '/').filter((pid) => daemons.has(pid));
}

/** Removes every trace of the lab; safe to call again, and after the process that made it died. */
export async function labDown(name: string = DEFAULT_LAB_NAME, where: LabLocator = {}): Promise<void> {
  const plan = planLab(name);
  const dir = labDir(plan.name, where.baseDir);
  const env = ovsEnv(dir, pathWithSbin());
  let state: LabState | undefined;
  try {
    state = readState(dir);
  } catch {
    state = undefined; // a torn state file must not stop the cleanup; the sweep below still finds things
  }
  const hostNamespaces = new Set(state?.hosts.map((host) => host.netns) ?? []);
  // The vmN/clN namespaces follow the naming plan, so they are found even when the state file is gone
  // (hosts with other names are always in the state file, written before they are made).
  const nsPrefix = planHost(plan, 'vm', 'vm1', 11).netns.replace(/vm1$/, '');
  for (const netns of await listNetns()) {
    if (netns.startsWith(nsPrefix) && /^(h[1-9])?(vm|cl)\d+$/.test(netns.slice(nsPrefix.length))) hostNamespaces.add(netns);
  }
  for (const netns of hostNamespaces) for (const pid of await netnsPids(netns)) await stopProcess(pid);
  // The hosts' vadc daemons before their switch goes (they would only log the lost connection).
  await stopHostDaemons(dir);
  const paths = labPaths(dir);
  for (const pidfile of [paths.vswitchdPidfile, paths.ovsdbPidfile]) {
    const pid = readPidfile(pidfile);
    if (pid !== undefined && labDaemonPids(dir).includes(pid)) await stopProcess(pid);
  }
  for (const pid of labDaemonPids(dir)) await stopProcess(pid);
  for (const netns of hostNamespaces) await run(['ip', 'netns', 'del', netns], { env, allowFailure: true });
  for (const host of state?.hosts ?? []) {
    if (await linkExists(host.port)) await run(['ip', 'link', 'del', host.port], { env, allowFailure: true });
  }
  if (await linkExists(plan.bridge)) await run(['ip', 'link', 'del', plan.bridge], { env, allowFailure: true });
  // A multi-host lab's hypervisor bridges (their taps outlive a killed ovs-vswitchd), by state and by plan.
  const hypervisorBridges = new Set(state?.hypervisors?.map((hv) => hv.bridge) ?? []);
  for (let i = 1; i <= MAX_LAB_HYPERVISORS; i++) hypervisorBridges.add(planHypervisor(plan, i).bridge);
  for (const bridge of hypervisorBridges) {
    if (await linkExists(bridge)) await run(['ip', 'link', 'del', bridge], { env, allowFailure: true });
  }
  // The datapath's own tap outlives ovs-vswitchd; remove it unless another ovs-vswitchd still uses it.
  if (pidsNamed('ovs-vswitchd').length === 0 && (await linkExists(NETDEV_DATAPATH_DEVICE))) {
    await run(['ip', 'link', 'del', NETDEV_DATAPATH_DEVICE], { env, allowFailure: true });
  }
  fs.rmSync(dir, { recursive: true, force: true });
  releaseHostLock(dir);
}

/** What is on the host of the lab `name`: its state, daemons, namespaces, hypervisors and their vadc daemons. */
export async function labStatus(name: string = DEFAULT_LAB_NAME, where: LabLocator = {}): Promise<LabStatus> {
  const plan = planLab(name);
  const dir = labDir(plan.name, where.baseDir);
  const state = readState(dir);
  const paths = labPaths(dir);
  const daemon = (daemonName: 'ovsdb-server' | 'ovs-vswitchd', pidfile: string) => {
    const pid = readPidfile(pidfile) ?? null;
    return { name: daemonName, pid, running: pid !== null && isAlive(pid) && labDaemonPids(dir).includes(pid) };
  };
  const daemons = [daemon('ovsdb-server', paths.ovsdbPidfile), daemon('ovs-vswitchd', paths.vswitchdPidfile)];
  const namespaces = new Set(await listNetns());
  const hosts = (state?.hosts ?? []).map((host) => ({
    name: host.name, role: host.role, netns: host.netns, port: host.port, ip: host.ip, mac: host.mac,
    present: namespaces.has(host.netns), ...(host.hypervisor === undefined ? {} : { hypervisor: host.hypervisor }),
  }));
  if (!state) return { name: plan.name, dir, up: false, daemons, hosts };
  const vadcs = new Map(hostDaemonsStatus(dir).map((d) => [d.host, d]));
  const hypervisors = state.hypervisors?.map((hv): LabHypervisorStatus => ({
    name: hv.name, bridge: hv.bridge, datapathId: hv.datapathId, controller: hv.controller,
    controllerPort: controllerPort(hv.controller), mgmtSocket: mgmtSocketPath(dir, hv.bridge),
    uplinkPort: hv.uplinkPort, underlayPort: hv.underlayPort,
    vms: hosts.filter((h) => h.hypervisor === hv.name && h.role === 'vm').map((h) => h.name),
    clients: hosts.filter((h) => h.hypervisor === hv.name && h.role === 'client').map((h) => h.name),
    ...(vadcs.has(hv.name) ? { vadc: vadcs.get(hv.name)! } : {}),
  }));
  return {
    name: plan.name, dir, up: daemons.every((d) => d.running), bridge: state.bridge, subnet: state.subnet,
    localIp: state.localIp, controller: state.controller, datapathId: state.datapathId, daemons, hosts,
    ...(hypervisors === undefined ? {} : { hypervisors }),
  };
}

