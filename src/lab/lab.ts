// The lab: a private Open vSwitch (own ovsdb-server and ovs-vswitchd) with network namespaces as VMs
// and clients. Everything it makes is recorded in the state file before it is made, so
// Lab.down(name) removes it all even after the process that made it was killed.
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  addBridgeArgs, addPatchPortArgs, addPortArgs, hostSetupCommands, labPaths, LabPaths, mgmtSocketPath,
  ofctlArgv, OVS_PREFIX_VARIABLE, ovsdbServerArgv, ovsEnv, ovsInstall, UNDERLAY_FLOW, vswitchdArgv, vsctlArgv,
} from './commands';
import { LabError } from './errors';
import { planHostDaemons, startHostDaemons, type HostDaemonNat, type HostDaemonStatus } from './host-daemons';
import { HostProcesses, type ExecOptions, type HttpAnswer } from './host-processes';
import { acquireHostLock, releaseHostLock, waitForFreeDatapathDevice } from './host-lock';
import { ensureLabTools } from './install';
import {
  DEFAULT_LAB_NAME, HostPlan, ipv6ForIp, LAB_IPV6_PREFIX_LENGTH, HostRole, hypervisorControllerTarget, hypervisorHostName, HypervisorPlan,
  LabPlan, MAX_CLIENTS, MAX_LAB_HYPERVISORS, MAX_VMS, nextFreeHostName, nextFreeOctet, planHost, planHypervisor,
  planHypervisorHosts, planLab, subnetInUse, validateHostName,
} from './plan';
import { SCRIPTS } from './servers/scripts';
import { labDir, labDown, labStatus, type LabLocator, type LabStatus } from './traces';
import { LabHostState, LabHypervisorState, LabState, readState, writeState } from './state';
import { linkExists, netnsPids, pathWithSbin, readPidfile, run, RunResult, sleep, stopProcess } from './system';

export interface LabOptions {
  /** Short [a-z0-9]{1,5}, default 'vadc'; a prefix of every name the lab makes. */
  name?: string;
  vms?: number;
  clients?: number;
  /** OpenFlow controller target, e.g. 'tcp:127.0.0.1:6653'. */
  controller?: string;
  /** Parent of the lab directory (default the system temp dir); the lab lives in BASE/vadc-lab-NAME. */
  baseDir?: string;
  /** How long to wait for another lab on this host to go down (default 0: fail at once). */
  waitForHostMs?: number;
  /**
   * Simulated hypervisors (1..8): each its own bridge with `vms` VMs and `clients` clients and its own controller
   * (a tcp:/ssl: `controller` port counted up per hypervisor), joined by the lab's bridge as underlay. Unset:
   * the one-bridge lab.
   */
  hosts?: number;
}

/** A VM or client: its plan plus the OpenFlow port number OVS gave its port. */
export interface LabHost extends HostPlan {
  ofport: number;
  /** Multi-host labs: the simulated hypervisor (bridge) the host is on. */
  hypervisor?: string;
}

type PlannedHost = HostPlan & { hypervisor?: string };

function hypervisorRecord({ name, index, bridge, datapathId, uplinkPort, underlayPort, controller }: LabHypervisor): LabHypervisorState {
  return { name, index, bridge, datapathId, uplinkPort, underlayPort, controller };
}

function hostRecord({ name, role, netns, port, ip, ip6, mac, ifaceId, vmUuid, hypervisor }: PlannedHost): LabHostState & { ip6: string } {
  return { name, role, netns, port, ip, ip6, mac, ifaceId, vmUuid, ...(hypervisor === undefined ? {} : { hypervisor }) };
}

/** One simulated hypervisor of a multi-host lab, as made. */
export interface LabHypervisor extends HypervisorPlan {
  controller: string | null;
  /** ovs-ofctl target of its bridge (what `Lab.ofctlOn` uses). */
  mgmtSocket: string;
  /** OpenFlow port number of its uplink patch port. */
  uplinkOfport: number;
}

export interface LabServer {
  host: LabHost;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

function checkCount(what: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new LabError('bad-option', `${what} must be a whole number from 0 to ${max}, got ${String(value)}`);
  }
  return value;
}

const CONTROLLER_RE = /^(tcp|ssl|unix|ptcp|pssl|punix):\S+$/;

function checkController(target: string): string {
  if (!CONTROLLER_RE.test(target)) {
    throw new LabError('bad-option', `controller '${target}' is not an OVS target like tcp:127.0.0.1:6653`);
  }
  return target;
}

export class Lab {
  readonly vms: LabHost[] = [];
  readonly clients: LabHost[] = [];
  /** Empty for the one-bridge lab. */
  readonly hypervisors: LabHypervisor[] = [];
  private readonly paths: LabPaths;
  private readonly env: NodeJS.ProcessEnv;
  /** Commands, children, servers and clients in the hosts' namespaces. */
  private readonly processes: HostProcesses;
  private controller: string | null;
  private readonly createdAt = new Date().toISOString();

  private constructor(
    private readonly plan: LabPlan,
    readonly dir: string,
    controller: string | undefined,
  ) {
    this.paths = labPaths(dir);
    this.env = ovsEnv(dir, pathWithSbin());
    this.processes = new HostProcesses(this.env, this.paths.serversDir);
    this.controller = controller ?? null;
  }

  get name(): string { return this.plan.name; }
  get bridge(): string { return this.plan.bridge; }
  get subnet(): string { return this.plan.subnet; }
  get localIp(): string { return this.plan.localIp; }
  /** The host side's IPv6 address in the lab's /64 (ipv6ForIp(localIp)): IPv6 health checks come from it. */
  get localIp6(): string { return ipv6ForIp(this.plan.localIp); }
  get datapathId(): string { return this.plan.datapathId; }
  get ovsdbSocket(): string { return this.paths.dbSocket; }
  /** ovs-vswitchd's unixctl socket (ovs-appctl -t): what vadc's conntrack mode reads the tracker through. */
  get vswitchdControlSocket(): string { return path.join(this.dir, 'ovs-vswitchd.ctl'); }
  get mgmtSocket(): string { return mgmtSocketPath(this.dir, this.plan.bridge); }
  get hosts(): LabHost[] { return [...this.vms, ...this.clients]; }

  static async up(opts: LabOptions = {}): Promise<Lab> {
    const plan = planLab(opts.name ?? DEFAULT_LAB_NAME);
    const vmCount = checkCount('vms', opts.vms ?? 2, MAX_VMS);
    const clientCount = checkCount('clients', opts.clients ?? 1, MAX_CLIENTS);
    const controller = opts.controller === undefined ? undefined : checkController(opts.controller);
    const hypervisorCount = opts.hosts ?? 0;
    if (opts.hosts !== undefined && (!Number.isInteger(opts.hosts) || opts.hosts < 1 || opts.hosts > MAX_LAB_HYPERVISORS)) {
      throw new LabError('bad-option', `hosts must be a whole number from 1 to ${MAX_LAB_HYPERVISORS}, got ${String(opts.hosts)}`);
    }
    // Checked before anything is made: a target that cannot be counted up per hypervisor is a usage error.
    for (let i = 1; i <= hypervisorCount && controller !== undefined; i++) hypervisorControllerTarget(controller, i);
    if (hypervisorCount > 0) planHypervisorHosts(plan, hypervisorCount, vmCount, clientCount);
    const isRoot = process.getuid?.() === 0;
    await ensureLabTools(isRoot);
    if (!isRoot) throw new LabError('not-root', 'the lab makes network namespaces and runs Open vSwitch: run it as root');
    const dir = labDir(plan.name, opts.baseDir);
    const deadline = Date.now() + (opts.waitForHostMs ?? 0);
    // First the lock: another run of a lab of the same name (another test, another engineer) is waited for, and
    // only a lab whose maker is gone counts as "already up" (checked under the lock, so never someone's lab
    // being built; the cleanup below then only ever removes what this call made).
    await acquireHostLock(plan.name, dir, opts.waitForHostMs ?? 0);
    if (readState(dir)) {
      releaseHostLock(dir);
      throw new LabError('exists', `lab '${plan.name}' is already up in ${dir}: run 'vadc lab down --name ${plan.name}' first`);
    }
    const lab = new Lab(plan, dir, controller);
    try {
      await waitForFreeDatapathDevice(deadline);
      const addresses = await run(['ip', '-o', '-4', 'addr', 'show'], { env: lab.env });
      if (subnetInUse(addresses.stdout, plan.subnet)) {
        throw new LabError('subnet-in-use', `subnet ${plan.subnet} of lab '${plan.name}' is already used on this host`);
      }
      if (hypervisorCount > 0) await lab.createHypervisors(hypervisorCount, vmCount, clientCount);
      else await lab.create(vmCount, clientCount);
      return lab;
    } catch (err) {
      await Lab.down(plan.name, { baseDir: opts.baseDir }).catch(() => undefined);
      throw err;
    }
  }

  /** Removes every trace of the lab; safe to call again, and after the process that made it died. */
  static down(name: string = DEFAULT_LAB_NAME, where: LabLocator = {}): Promise<void> {
    return labDown(name, where);
  }

  static status(name: string = DEFAULT_LAB_NAME, where: LabLocator = {}): Promise<LabStatus> {
    return labStatus(name, where);
  }

  /**
   * Starts one vadc daemon per simulated hypervisor, each a host of the cluster at `remotes` listening on its
   * bridge's controller target (src/lab/host-daemons.ts). `argv` runs the vadc CLI (node and bin/run.js).
   */
  async startHostDaemons(opts: { remotes: string; nat: HostDaemonNat; argv: readonly string[]; timeoutMs?: number }): Promise<HostDaemonStatus[]> {
    if (this.hypervisors.length === 0) throw new LabError('bad-option', 'host daemons need a multi-host lab (--hosts N)');
    const plans = planHostDaemons({
      dir: this.dir, ovsdbSocket: this.ovsdbSocket, vswitchdControlSocket: this.vswitchdControlSocket, remotes: opts.remotes, nat: opts.nat,
      hypervisors: this.hypervisors,
    });
    return startHostDaemons(plans, opts.argv, opts.timeoutMs);
  }

  async down(): Promise<void> {
    this.processes.killAll();
    await Lab.down(this.name, { baseDir: path.dirname(this.dir) });
  }

  // ---- OVS access -------------------------------------------------------------------------------

  async vsctl(...args: string[]): Promise<string> {
    return (await run(vsctlArgv(this.paths.dbSocket, args), { env: this.env })).stdout;
  }

  async ofctl(...args: string[]): Promise<string> {
    return (await run(ofctlArgv(this.mgmtSocket, args), { env: this.env })).stdout;
  }

  /** ovs-appctl against the lab's ovs-vswitchd (e.g. dpctl/dump-conntrack). */
  async appctl(...args: string[]): Promise<string> {
    return (await run(['ovs-appctl', '-t', this.vswitchdControlSocket, ...args], { env: this.env })).stdout;
  }

  /** The lab's OVS: the first line of its `ovs-vswitchd --version`, and whose it is (VADC_OVS_PREFIX's or the system's). */
  async ovsVersion(): Promise<string> {
    const line = (await run(['ovs-vswitchd', '--version'], { env: this.env })).stdout.split('\n')[0].trim();
    const { prefix } = ovsInstall(this.env);
    return `${line} (${prefix === undefined ? 'the system\'s' : `${OVS_PREFIX_VARIABLE}=${prefix}`})`;
  }

  /** ovs-ofctl against one simulated hypervisor's bridge (multi-host labs). */
  async ofctlOn(hypervisor: LabHypervisor | string, ...args: string[]): Promise<string> {
    return (await run(ofctlArgv(this.hypervisor(hypervisor).mgmtSocket, args), { env: this.env })).stdout;
  }

  /** A simulated hypervisor of a multi-host lab by name ('h2'). */
  hypervisor(ref: LabHypervisor | string): LabHypervisor {
    if (typeof ref !== 'string') return ref;
    const found = this.hypervisors.find((hv) => hv.name === ref || hv.bridge === ref);
    if (!found) {
      throw new LabError('unknown-host', `lab '${this.name}' has no simulated host '${ref}' (has ${this.hypervisors.map((hv) => hv.name).join(', ') || 'none: it was made without --hosts'})`);
    }
    return found;
  }

  /** The VMs and clients on one simulated hypervisor. */
  hostsOn(hypervisor: LabHypervisor | string): LabHost[] {
    const name = this.hypervisor(hypervisor).name;
    return this.hosts.filter((h) => h.hypervisor === name);
  }

  /** Points one simulated hypervisor's bridge at a controller ('' removes it). */
  async setHypervisorController(hypervisor: LabHypervisor | string, target: string): Promise<void> {
    const hv = this.hypervisor(hypervisor);
    if (target === '') await this.vsctl('del-controller', hv.bridge);
    else await this.vsctl('set-controller', hv.bridge, checkController(target));
    hv.controller = target === '' ? null : target;
    this.saveState();
  }

  /** Adds static flows given in ovs-ofctl syntax, one per element. */
  async addFlows(...flows: string[]): Promise<void> {
    for (const flow of flows) await this.ofctl('add-flow', flow);
  }

  async setController(target: string): Promise<void> {
    if (target === '') await this.vsctl('del-controller', this.bridge);
    else await this.vsctl('set-controller', this.bridge, checkController(target));
    this.controller = target === '' ? null : target;
    this.saveState();
  }

  async restartVswitchd(): Promise<void> {
    const pid = readPidfile(this.paths.vswitchdPidfile);
    if (pid !== undefined) await stopProcess(pid);
    await this.startVswitchd();
    await this.vsctl('wait-until', 'bridge', this.bridge);
    await this.configureLocalPort();
    // Flows live in ovs-vswitchd only: the underlay's learning-switch flow goes with it.
    if (this.hypervisors.length > 0) await this.ofctl('add-flow', UNDERLAY_FLOW);
  }

  async restartOvsdb(): Promise<void> {
    const pid = readPidfile(this.paths.ovsdbPidfile);
    if (pid !== undefined) await stopProcess(pid);
    await run(ovsdbServerArgv(this.paths), { env: this.env });
  }

  // ---- hosts ------------------------------------------------------------------------------------

  host(ref: LabHost | string): LabHost {
    if (typeof ref !== 'string') return ref;
    const found = this.hosts.find((h) => h.name === ref || h.netns === ref || h.port === ref);
    if (!found) throw new LabError('unknown-host', `lab '${this.name}' has no host '${ref}' (has ${this.hosts.map((h) => h.name).join(', ') || 'none'})`);
    return found;
  }

  /** Runs a command inside a host's namespace; never throws for a non-zero exit (see `code`). */
  async exec(ref: LabHost | string, argv: string[], opts: ExecOptions = {}): Promise<RunResult> {
    return this.processes.exec(this.host(ref), argv, opts);
  }

  /** Starts a long-running process in a host's namespace; down() kills it. */
  spawn(ref: LabHost | string, argv: string[]): ChildProcess {
    return this.processes.spawn(this.host(ref), argv);
  }

  /**
   * A new host. `externalIds` are set on its interface in the transaction that adds it (a tag its VM is born
   * with), given as pairs or made from the host's plan (its address: `(h) => ({ ip: h.ip })`). In a multi-host
   * lab it goes on `opts.hypervisor` (default h1), named 'h2vm3' etc.
   */
  async addVm(
    name?: string,
    opts: { role?: HostRole; hypervisor?: string; externalIds?: Record<string, string> | ((host: HostPlan) => Record<string, string>) } = {},
  ): Promise<LabHost> {
    const role = opts.role ?? 'vm';
    const hv = this.hypervisors.length > 0 ? this.hypervisor(opts.hypervisor ?? this.hypervisors[0].name) : undefined;
    if (!hv && opts.hypervisor !== undefined) this.hypervisor(opts.hypervisor); // throws: this lab has none
    const names = this.hosts.map((h) => h.name);
    let hostName: string;
    if (name !== undefined) hostName = validateHostName(name);
    else if (hv) {
      hostName = '';
      for (let i = 1; hostName === '' || names.includes(hostName); i++) hostName = hypervisorHostName(hv.name, role, i);
    } else hostName = nextFreeHostName(role, names);
    if (this.hosts.some((h) => h.name === hostName)) throw new LabError('exists', `lab '${this.name}' already has a host '${hostName}'`);
    const used = this.hosts.map((h) => Number(h.ip.split('.')[3]));
    const planned: PlannedHost = planHost(this.plan, role, hostName, nextFreeOctet(role, used));
    const externalIds = typeof opts.externalIds === 'function' ? opts.externalIds(planned) : opts.externalIds;
    return this.createHost(hv ? { ...planned, hypervisor: hv.name } : planned, externalIds);
  }

  async removeVm(name: string): Promise<void> {
    const host = this.host(name);
    for (const pid of await netnsPids(host.netns)) await stopProcess(pid);
    await this.vsctl('--if-exists', 'del-port', this.bridgeOf(host), host.port);
    if (await linkExists(host.port)) await run(['ip', 'link', 'del', host.port], { env: this.env });
    await run(['ip', 'netns', 'del', host.netns], { env: this.env, allowFailure: true });
    const list = host.role === 'vm' ? this.vms : this.clients;
    list.splice(list.indexOf(host), 1);
    this.saveState();
  }

  /** Takes a host's OVS port (the host end of its veth) down or up, as a vNIC losing its link. */
  async setLinkUp(ref: LabHost | string, up: boolean): Promise<void> {
    await run(['ip', 'link', 'set', this.host(ref).port, up ? 'up' : 'down'], { env: this.env });
  }

  // ---- servers and clients ----------------------------------------------------------------------

  /** `family`: listen on that family only (default: both, IPv4 as IPv4-mapped addresses). */
  async startHttpServer(ref: LabHost | string, port: number, family?: 'ipv4' | 'ipv6'): Promise<LabServer> {
    return this.processes.startServer(this.host(ref), port, 'http-server.js', family === undefined ? [] : [family]);
  }

  async startUdpEchoServer(ref: LabHost | string, port: number): Promise<LabServer> {
    return this.processes.startServer(this.host(ref), port, 'udp-echo-server.js');
  }

  /** GET `url` from inside a host's namespace (a fresh connection each time). */
  async httpGet(ref: LabHost | string, url: string, timeoutMs = 5000): Promise<HttpAnswer> {
    return this.processes.httpGet(this.host(ref), url, timeoutMs);
  }

  /** GET `url` from the host itself (outside every namespace): what health checks over the LOCAL port see. */
  async hostHttpGet(url: string, timeoutMs = 5000): Promise<HttpAnswer> {
    return this.processes.hostHttpGet(url, timeoutMs);
  }

  async udpRequest(ref: LabHost | string, ip: string, port: number, payload: string, timeoutMs = 3000): Promise<string> {
    return this.processes.udpRequest(this.host(ref), ip, port, payload, timeoutMs);
  }

  // ---- internals --------------------------------------------------------------------------------

  private toState(): LabState {
    const hosts = this.hosts.map(hostRecord);
    const state: LabState = {
      version: 1, name: this.name, dir: this.dir, bridge: this.bridge, subnet: this.subnet, localIp: this.localIp,
      datapathId: this.datapathId, controller: this.controller, createdAt: this.createdAt, hosts,
    };
    if (this.hypervisors.length > 0) state.hypervisors = this.hypervisors.map(hypervisorRecord);
    return state;
  }

  /** The bridge a VM's or client's port is on: its hypervisor's in a multi-host lab. */
  private bridgeOf(host: PlannedHost): string {
    return host.hypervisor === undefined ? this.bridge : this.hypervisor(host.hypervisor).bridge;
  }

  private saveState(extraHosts: PlannedHost[] = []): void {
    const state = this.toState();
    state.hosts.push(...extraHosts.map(hostRecord));
    writeState(state);
  }

  private async create(vmCount: number, clientCount: number): Promise<void> {
    fs.mkdirSync(this.paths.serversDir, { recursive: true });
    for (const [file, text] of Object.entries(SCRIPTS)) fs.writeFileSync(path.join(this.paths.serversDir, file), text);
    const planned: HostPlan[] = [];
    for (let i = 0; i < vmCount; i++) planned.push(planHost(this.plan, 'vm', `vm${i + 1}`, 11 + i));
    for (let i = 0; i < clientCount; i++) planned.push(planHost(this.plan, 'client', `cl${i + 1}`, 101 + i));
    this.saveState(planned);

    await run(['ovsdb-tool', 'create', this.paths.db, ovsInstall(this.env).schema], { env: this.env });
    await run(ovsdbServerArgv(this.paths), { env: this.env });
    await run(vsctlArgv(this.paths.dbSocket, ['--no-wait', 'init']), { env: this.env });
    await this.startVswitchd();
    await this.vsctl(...addBridgeArgs(this.plan, this.controller ?? undefined));
    await this.configureLocalPort();
    for (const host of planned) await this.createHost(host);
  }

  /**
   * A multi-host lab: the lab's bridge is the underlay (the host's address, one NORMAL flow), and each simulated
   * hypervisor is a bridge of its own with its VMs, clients, controller and an uplink patch port to the underlay.
   */
  private async createHypervisors(count: number, vmsEach: number, clientsEach: number): Promise<void> {
    fs.mkdirSync(this.paths.serversDir, { recursive: true });
    for (const [file, text] of Object.entries(SCRIPTS)) fs.writeFileSync(path.join(this.paths.serversDir, file), text);
    const baseController = this.controller;
    this.controller = null; // the underlay has none
    for (let i = 1; i <= count; i++) {
      const plan = planHypervisor(this.plan, i);
      const controller = baseController === null ? null : hypervisorControllerTarget(baseController, i);
      // ofport 0 until the patch port exists; the state file only needs the names to clean up.
      this.hypervisors.push({ ...plan, controller, mgmtSocket: mgmtSocketPath(this.dir, plan.bridge), uplinkOfport: 0 });
    }
    const planned = planHypervisorHosts(this.plan, count, vmsEach, clientsEach);
    this.saveState(planned);

    await run(['ovsdb-tool', 'create', this.paths.db, ovsInstall(this.env).schema], { env: this.env });
    await run(ovsdbServerArgv(this.paths), { env: this.env });
    await run(vsctlArgv(this.paths.dbSocket, ['--no-wait', 'init']), { env: this.env });
    await this.startVswitchd();
    await this.vsctl(...addBridgeArgs(this.plan));
    await this.ofctl('add-flow', UNDERLAY_FLOW);
    await this.configureLocalPort();
    for (const hv of this.hypervisors) {
      await this.vsctl(
        ...addBridgeArgs(hv, hv.controller ?? undefined),
        '--', ...addPatchPortArgs(hv.bridge, hv.uplinkPort, hv.underlayPort),
        '--', ...addPatchPortArgs(this.bridge, hv.underlayPort, hv.uplinkPort),
      );
      hv.uplinkOfport = await this.ofportOf(hv.uplinkPort);
    }
    for (const host of planned) await this.createHost(host);
  }

  private async ofportOf(port: string): Promise<number> {
    // OVS assigns the number asynchronously after the transaction; wait for it rather than read -1 or [].
    for (let tries = 0; ; tries++) {
      const ofport = Number((await this.vsctl('get', 'interface', port, 'ofport')).trim());
      if (Number.isInteger(ofport) && ofport > 0) return ofport;
      if (tries > 100) throw new LabError('command-failed', `OVS gave port ${port} no ofport (${ofport})`);
      await sleep(50);
    }
  }

  private async startVswitchd(): Promise<void> {
    await run(vswitchdArgv(this.paths), { env: this.env });
  }

  /** The bridge's LOCAL port is a tap on the host; its address lets the host (health checks) reach the VMs. */
  private async configureLocalPort(): Promise<void> {
    for (let tries = 0; !(await linkExists(this.bridge)); tries++) {
      if (tries > 100) throw new LabError('timeout', `bridge device ${this.bridge} did not appear`);
      await sleep(50);
    }
    const cidr = `${this.localIp}/24`;
    await run(['ip', 'addr', 'replace', cidr, 'dev', this.bridge], { env: this.env });
    // nodad, as the hosts' addresses: usable at once, unique by plan.
    await run(['ip', 'addr', 'replace', `${this.localIp6}/${LAB_IPV6_PREFIX_LENGTH}`, 'dev', this.bridge, 'nodad'], { env: this.env });
    await run(['ip', 'link', 'set', this.bridge, 'up'], { env: this.env });
  }

  private async createHost(plan: PlannedHost, externalIds?: Record<string, string>): Promise<LabHost> {
    if (!this.hosts.some((h) => h.name === plan.name)) this.saveState([plan]);
    for (const argv of hostSetupCommands(plan, this.plan.prefixLength)) await run(argv, { env: this.env });
    await this.vsctl(...addPortArgs(this.bridgeOf(plan), plan, externalIds));
    const ofport = Number((await this.vsctl('get', 'interface', plan.port, 'ofport')).trim());
    if (!Number.isInteger(ofport) || ofport <= 0) throw new LabError('command-failed', `OVS gave port ${plan.port} no ofport (${ofport})`);
    const host: LabHost = { ...hostRecord(plan), ofport };
    (plan.role === 'vm' ? this.vms : this.clients).push(host);
    this.saveState();
    return host;
  }
}

