// The lab: a private Open vSwitch (own ovsdb-server and ovs-vswitchd) with network namespaces as VMs
// and clients. Everything it makes is recorded in the state file before it is made, so
// Lab.down(name) removes it all even after the process that made it was killed.
import { ChildProcess, spawn as spawnChild } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  addBridgeArgs, addPortArgs, hostSetupCommands, labPaths, LabPaths, mgmtSocketPath, NETDEV_DATAPATH_DEVICE,
  ofctlArgv, OVS_SCHEMA, ovsdbServerArgv, ovsEnv, vswitchdArgv, vsctlArgv,
} from './commands';
import { LabError } from './errors';
import { acquireHostLock, releaseHostLock } from './host-lock';
import { ensureLabTools } from './install';
import {
  DEFAULT_LAB_NAME, HostPlan, HostRole, LabPlan, MAX_CLIENTS, MAX_VMS, nextFreeHostName, nextFreeOctet, planHost,
  planLab, subnetInUse, validateHostName,
} from './plan';
import { SCRIPTS, ScriptName } from './servers/scripts';
import { LabHostState, LabState, readState, writeState } from './state';
import {
  isAlive, linkExists, listNetns, netnsPids, pathWithSbin, pidsMentioning, pidsNamed, readCmdline, readPidfile, run, RunResult,
  sleep, stopProcess,
} from './system';

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
}

export interface LabLocator {
  baseDir?: string;
}

/** A VM or client: its plan plus the OpenFlow port number OVS gave its port. */
export interface LabHost extends HostPlan {
  ofport: number;
}

function hostRecord({ name, role, netns, port, ip, mac, ifaceId, vmUuid }: HostPlan): LabHostState {
  return { name, role, netns, port, ip, mac, ifaceId, vmUuid };
}

export interface ExecOptions {
  input?: string;
  timeoutMs?: number;
}

export interface LabServer {
  host: LabHost;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface HttpAnswer {
  status: number;
  body: string;
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
  hosts: Array<{ name: string; role: HostRole; netns: string; port: string; ip: string; mac: string; present: boolean }>;
}

export function labDir(name: string, baseDir?: string): string {
  return path.join(baseDir ?? os.tmpdir(), `vadc-lab-${name}`);
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

/** OVS daemons whose command line names the lab directory: a reused pid in a stale pidfile is never one. */
function labDaemonPids(dir: string): number[] {
  const daemons = new Set([...pidsNamed('ovsdb-server'), ...pidsNamed('ovs-vswitchd')]);
  return pidsMentioning(dir + '/').filter((pid) => daemons.has(pid));
}

/**
 * An ovs-vswitchd that is no lab's (a system OVS, or one a test started by hand) may hold the userspace
 * datapath device; ours could then not make its bridge. Wait for it, or say who holds it.
 */
async function waitForFreeDatapathDevice(deadline: number): Promise<void> {
  for (;;) {
    if (!(await linkExists(NETDEV_DATAPATH_DEVICE))) return;
    const owners = pidsNamed('ovs-vswitchd');
    if (owners.length === 0) {
      // Left behind by an ovs-vswitchd that exited: remove it so ours can make it anew.
      await run(['ip', 'link', 'del', NETDEV_DATAPATH_DEVICE], { env: pathWithSbin(), allowFailure: true });
      return;
    }
    if (Date.now() >= deadline) {
      const who = owners.map((pid) => `pid ${pid}: ${readCmdline(pid) ?? '?'}`).join('; ');
      throw new LabError(
        'host-busy',
        `another ovs-vswitchd owns the userspace datapath device '${NETDEV_DATAPATH_DEVICE}' (${who}); ` +
          'Open vSwitch allows one per host: stop it, or wait for it (--wait)',
      );
    }
    await sleep(500);
  }
}

export class Lab {
  readonly vms: LabHost[] = [];
  readonly clients: LabHost[] = [];
  private readonly paths: LabPaths;
  private readonly env: NodeJS.ProcessEnv;
  private readonly children = new Set<ChildProcess>();
  private controller: string | null;
  private readonly createdAt = new Date().toISOString();

  private constructor(
    private readonly plan: LabPlan,
    readonly dir: string,
    controller: string | undefined,
  ) {
    this.paths = labPaths(dir);
    this.env = ovsEnv(dir, pathWithSbin());
    this.controller = controller ?? null;
  }

  get name(): string { return this.plan.name; }
  get bridge(): string { return this.plan.bridge; }
  get subnet(): string { return this.plan.subnet; }
  get localIp(): string { return this.plan.localIp; }
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
      await lab.create(vmCount, clientCount);
      return lab;
    } catch (err) {
      await Lab.down(plan.name, { baseDir: opts.baseDir }).catch(() => undefined);
      throw err;
    }
  }

  /** Removes every trace of the lab; safe to call again, and after the process that made it died. */
  static async down(name: string = DEFAULT_LAB_NAME, where: LabLocator = {}): Promise<void> {
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
      if (netns.startsWith(nsPrefix) && /^(vm|cl)\d+$/.test(netns.slice(nsPrefix.length))) hostNamespaces.add(netns);
    }
    for (const netns of hostNamespaces) for (const pid of await netnsPids(netns)) await stopProcess(pid);
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
    // The datapath's own tap outlives ovs-vswitchd; remove it unless another ovs-vswitchd still uses it.
    if (pidsNamed('ovs-vswitchd').length === 0 && (await linkExists(NETDEV_DATAPATH_DEVICE))) {
      await run(['ip', 'link', 'del', NETDEV_DATAPATH_DEVICE], { env, allowFailure: true });
    }
    fs.rmSync(dir, { recursive: true, force: true });
    releaseHostLock(dir);
  }

  static async status(name: string = DEFAULT_LAB_NAME, where: LabLocator = {}): Promise<LabStatus> {
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
      present: namespaces.has(host.netns),
    }));
    if (!state) return { name: plan.name, dir, up: false, daemons, hosts };
    return {
      name: plan.name, dir, up: daemons.every((d) => d.running), bridge: state.bridge, subnet: state.subnet,
      localIp: state.localIp, controller: state.controller, datapathId: state.datapathId, daemons, hosts,
    };
  }

  async down(): Promise<void> {
    for (const child of this.children) child.kill('SIGKILL');
    this.children.clear();
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
    const host = this.host(ref);
    return run(['ip', 'netns', 'exec', host.netns, ...argv], { env: this.env, allowFailure: true, ...opts });
  }

  /** Starts a long-running process in a host's namespace; down() kills it. */
  spawn(ref: LabHost | string, argv: string[]): ChildProcess {
    const host = this.host(ref);
    const child = spawnChild('ip', ['netns', 'exec', host.netns, ...argv], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /**
   * A new host. `externalIds` are set on its interface in the transaction that adds it (a tag its VM is born
   * with), given as pairs or made from the host's plan (its address: `(h) => ({ ip: h.ip })`).
   */
  async addVm(name?: string, opts: { role?: HostRole; externalIds?: Record<string, string> | ((host: HostPlan) => Record<string, string>) } = {}): Promise<LabHost> {
    const role = opts.role ?? 'vm';
    const hostName = name === undefined ? nextFreeHostName(role, this.hosts.map((h) => h.name)) : validateHostName(name);
    if (this.hosts.some((h) => h.name === hostName)) throw new LabError('exists', `lab '${this.name}' already has a host '${hostName}'`);
    const used = this.hosts.map((h) => Number(h.ip.split('.')[3]));
    const plan = planHost(this.plan, role, hostName, nextFreeOctet(role, used));
    return this.createHost(plan, typeof opts.externalIds === 'function' ? opts.externalIds(plan) : opts.externalIds);
  }

  async removeVm(name: string): Promise<void> {
    const host = this.host(name);
    for (const pid of await netnsPids(host.netns)) await stopProcess(pid);
    await this.vsctl('--if-exists', 'del-port', this.bridge, host.port);
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

  startHttpServer(ref: LabHost | string, port: number): Promise<LabServer> {
    return this.startServer(ref, port, 'http-server.js');
  }

  startUdpEchoServer(ref: LabHost | string, port: number): Promise<LabServer> {
    return this.startServer(ref, port, 'udp-echo-server.js');
  }

  /** GET `url` from inside a host's namespace (a fresh connection each time). */
  async httpGet(ref: LabHost | string, url: string, timeoutMs = 5000): Promise<HttpAnswer> {
    const result = await this.exec(ref, ['node', this.script('http-client.js'), url, String(timeoutMs)], { timeoutMs: timeoutMs + 5000 });
    if (result.code !== 0) throw new LabError('command-failed', `GET ${url} from ${this.host(ref).name} failed: ${result.stderr.trim()}`);
    return JSON.parse(result.stdout) as HttpAnswer;
  }

  /** GET `url` from the host itself (outside every namespace): what health checks over the LOCAL port see. */
  async hostHttpGet(url: string, timeoutMs = 5000): Promise<HttpAnswer> {
    const argv = [process.execPath, this.script('http-client.js'), url, String(timeoutMs)];
    const result = await run(argv, { env: this.env, allowFailure: true, timeoutMs: timeoutMs + 5000 });
    if (result.code !== 0) throw new LabError('command-failed', `GET ${url} from the host failed: ${result.stderr.trim()}`);
    return JSON.parse(result.stdout) as HttpAnswer;
  }

  async udpRequest(ref: LabHost | string, ip: string, port: number, payload: string, timeoutMs = 3000): Promise<string> {
    const argv = ['node', this.script('udp-client.js'), ip, String(port), payload, String(timeoutMs)];
    const result = await this.exec(ref, argv, { timeoutMs: timeoutMs + 5000 });
    if (result.code !== 0) throw new LabError('command-failed', `UDP to ${ip}:${port} from ${this.host(ref).name} failed: ${result.stderr.trim()}`);
    return result.stdout;
  }

  // ---- internals --------------------------------------------------------------------------------

  private script(name: ScriptName): string {
    return path.join(this.paths.serversDir, name);
  }

  private async startServer(ref: LabHost | string, port: number, script: ScriptName): Promise<LabServer> {
    const host = this.host(ref);
    const child = this.spawn(host, ['node', this.script(script), String(port), host.name]);
    await new Promise<void>((resolve, reject) => {
      let stderr = '';
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.stdout?.setEncoding('utf8').once('data', () => resolve());
      child.once('exit', (code) => reject(new LabError('command-failed', `${script} on ${host.name}:${port} exited (${String(code)}): ${stderr.trim()}`)));
    });
    const stop = async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    };
    return { host, port, process: child, stop };
  }

  private toState(): LabState {
    const hosts = this.hosts.map(hostRecord);
    return {
      version: 1, name: this.name, dir: this.dir, bridge: this.bridge, subnet: this.subnet, localIp: this.localIp,
      datapathId: this.datapathId, controller: this.controller, createdAt: this.createdAt, hosts,
    };
  }

  private saveState(extraHosts: HostPlan[] = []): void {
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

    await run(['ovsdb-tool', 'create', this.paths.db, OVS_SCHEMA], { env: this.env });
    await run(ovsdbServerArgv(this.paths), { env: this.env });
    await run(vsctlArgv(this.paths.dbSocket, ['--no-wait', 'init']), { env: this.env });
    await this.startVswitchd();
    await this.vsctl(...addBridgeArgs(this.plan, this.controller ?? undefined));
    await this.configureLocalPort();
    for (const host of planned) await this.createHost(host);
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
    await run(['ip', 'link', 'set', this.bridge, 'up'], { env: this.env });
  }

  private async createHost(plan: HostPlan, externalIds?: Record<string, string>): Promise<LabHost> {
    if (!this.hosts.some((h) => h.name === plan.name)) this.saveState([plan]);
    for (const argv of hostSetupCommands(plan, this.plan.prefixLength)) await run(argv, { env: this.env });
    await this.vsctl(...addPortArgs(this.bridge, plan, externalIds));
    const ofport = Number((await this.vsctl('get', 'interface', plan.port, 'ofport')).trim());
    if (!Number.isInteger(ofport) || ofport <= 0) throw new LabError('command-failed', `OVS gave port ${plan.port} no ofport (${ofport})`);
    const host: LabHost = { ...hostRecord(plan), ofport };
    (plan.role === 'vm' ? this.vms : this.clients).push(host);
    this.saveState();
    return host;
  }
}

