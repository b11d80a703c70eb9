// Argument vectors for the OVS and iproute2 commands the lab runs: pure, so they are unit-tested
// without root; lab.ts runs them.
import * as path from 'node:path';
import { LAB_IPV6_PREFIX_LENGTH, type HostPlan, type LabPlan } from './plan';
import { LabError } from './errors';

/**
 * Names another Open vSwitch install (`./configure --prefix=PREFIX && make install`): every OVS tool the lab runs
 * then comes from PREFIX/bin and PREFIX/sbin, and the database schema from PREFIX/share/openvswitch. Unset: the
 * system's (tools from PATH, Debian's schema).
 */
export const OVS_PREFIX_VARIABLE = 'VADC_OVS_PREFIX';
/** The OVS tools the lab runs: with a prefix, each must be in its bin/ or sbin/. */
export const LAB_OVS_TOOLS = ['ovs-vswitchd', 'ovsdb-server', 'ovsdb-tool', 'ovs-vsctl', 'ovs-ofctl', 'ovs-appctl'] as const;
const SYSTEM_OVS_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

/** Which Open vSwitch the lab runs. */
export interface OvsInstall {
  /** undefined: the system's. */
  prefix?: string;
  /** Directories searched before PATH for the OVS tools. */
  binDirs: string[];
  /** vswitch.ovsschema of the same install (ovsdb-tool create). */
  schema: string;
}

/** The install named by VADC_OVS_PREFIX in `env`, or the system's. */
export function ovsInstall(env: NodeJS.ProcessEnv = process.env): OvsInstall {
  const prefix = env[OVS_PREFIX_VARIABLE]?.trim();
  if (!prefix) return { binDirs: [], schema: SYSTEM_OVS_SCHEMA };
  if (!path.isAbsolute(prefix)) {
    throw new LabError('bad-option', `${OVS_PREFIX_VARIABLE}: expected an absolute path (an OVS install's --prefix), got ${JSON.stringify(prefix)}`);
  }
  const root = path.resolve(prefix);
  return { prefix: root, binDirs: [path.join(root, 'bin'), path.join(root, 'sbin')], schema: path.join(root, 'share', 'openvswitch', 'vswitch.ovsschema') };
}
/** Name of the tap device every userspace (netdev) datapath makes for itself. */
export const NETDEV_DATAPATH_DEVICE = 'ovs-netdev';

export interface LabPaths {
  dir: string;
  db: string;
  dbSocket: string;
  ovsdbPidfile: string;
  ovsdbLog: string;
  vswitchdPidfile: string;
  vswitchdLog: string;
  serversDir: string;
}

export function labPaths(dir: string): LabPaths {
  return {
    dir,
    db: path.join(dir, 'conf.db'),
    dbSocket: path.join(dir, 'db.sock'),
    ovsdbPidfile: path.join(dir, 'ovsdb-server.pid'),
    ovsdbLog: path.join(dir, 'ovsdb-server.log'),
    vswitchdPidfile: path.join(dir, 'ovs-vswitchd.pid'),
    vswitchdLog: path.join(dir, 'ovs-vswitchd.log'),
    serversDir: path.join(dir, 'servers'),
  };
}

export function mgmtSocketPath(dir: string, bridge: string): string {
  return path.join(dir, `${bridge}.mgmt`);
}

/**
 * Environment that points every OVS tool at the lab's directory instead of the system's, with the tools of the
 * install VADC_OVS_PREFIX names (if set) first on PATH.
 */
export function ovsEnv(dir: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const { binDirs } = ovsInstall(base);
  const pathVar = binDirs.length === 0 ? {} : { PATH: [...binDirs, base.PATH ?? ''].filter(Boolean).join(':') };
  return { ...base, ...pathVar, OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir, OVS_SYSCONFDIR: dir };
}

export function ovsdbServerArgv(p: LabPaths): string[] {
  return [
    'ovsdb-server',
    p.db,
    `--remote=punix:${p.dbSocket}`,
    `--pidfile=${p.ovsdbPidfile}`,
    `--log-file=${p.ovsdbLog}`,
    `--unixctl=${path.join(p.dir, 'ovsdb-server.ctl')}`,
    '--detach',
  ];
}

export function vswitchdArgv(p: LabPaths): string[] {
  return [
    'ovs-vswitchd',
    `unix:${p.dbSocket}`,
    `--pidfile=${p.vswitchdPidfile}`,
    `--log-file=${p.vswitchdLog}`,
    `--unixctl=${path.join(p.dir, 'ovs-vswitchd.ctl')}`,
    '--detach',
  ];
}

/** ovs-vsctl arguments (after --db) that create a lab bridge (the lab's, or a hypervisor's) in one transaction. */
export function addBridgeArgs(lab: Pick<LabPlan, 'bridge' | 'datapathId'>, controller?: string): string[] {
  const args = [
    '--may-exist', 'add-br', lab.bridge,
    '--', 'set', 'bridge', lab.bridge,
    'datapath_type=netdev', 'protocols=OpenFlow13', 'fail_mode=secure',
    `other_config:datapath-id=${lab.datapathId}`,
  ];
  if (controller) args.push('--', 'set-controller', lab.bridge, controller);
  return args;
}

/** ovs-vsctl arguments that add one end of a patch-port pair (OVS joins two bridges inside the datapath). */
export function addPatchPortArgs(bridge: string, port: string, peer: string): string[] {
  return [
    '--may-exist', 'add-port', bridge, port,
    '--', 'set', 'interface', port, 'type=patch', `options:peer=${peer}`,
  ];
}

/** The underlay's one flow: a plain learning switch between the hypervisors' uplinks and the host. */
export const UNDERLAY_FLOW = 'priority=0,actions=NORMAL';

/** An external_ids key ovs-vsctl takes unquoted in `external_ids:KEY=VALUE`. */
const EXTERNAL_ID_KEY = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * ovs-vsctl arguments that attach a host's veth end with the external_ids a hypervisor would set, plus `extra`
 * ones (a tag such as vadc-service=web): all in the same transaction, so the interface appears with them.
 */
export function addPortArgs(bridge: string, host: HostPlan, extra: Readonly<Record<string, string>> = {}): string[] {
  for (const key of Object.keys(extra)) {
    if (!EXTERNAL_ID_KEY.test(key)) throw new LabError('bad-option', `external_ids key ${JSON.stringify(key)}: expected 1..64 of A-Z a-z 0-9 _ . -`);
  }
  return [
    '--may-exist', 'add-port', bridge, host.port,
    '--', 'set', 'interface', host.port,
    `external_ids:iface-id=${host.ifaceId}`,
    // Values with ':' must be quoted OVSDB strings.
    `external_ids:attached-mac="${host.mac}"`,
    `external_ids:vm-uuid=${host.vmUuid}`,
    'external_ids:iface-status=active',
    // Quoted OVSDB strings (JSON's escapes): a value may hold ':' or spaces.
    ...Object.entries(extra).map(([key, value]) => `external_ids:${key}=${JSON.stringify(value)}`),
  ];
}

/** ip/ethtool commands that make a host's namespace and wire it to the bridge, in order. */
export function hostSetupCommands(host: HostPlan, prefixLength: number): string[][] {
  const inNs = (...argv: string[]) => ['ip', 'netns', 'exec', host.netns, ...argv];
  return [
    ['ip', 'netns', 'add', host.netns],
    ['ip', 'link', 'add', host.port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.netns],
    ['ip', '-n', host.netns, 'link', 'set', 'eth0', 'address', host.mac],
    ['ip', '-n', host.netns, 'addr', 'add', `${host.ip}/${prefixLength}`, 'dev', 'eth0'],
    // nodad: the address is usable at once (duplicate address detection would hold it "tentative" for a second or
    // more, and a lab's addresses are unique by plan).
    ['ip', '-n', host.netns, 'addr', 'add', `${host.ip6}/${LAB_IPV6_PREFIX_LENGTH}`, 'dev', 'eth0', 'nodad'],
    ['ip', '-n', host.netns, 'link', 'set', 'lo', 'up'],
    ['ip', '-n', host.netns, 'link', 'set', 'eth0', 'up'],
    ['ip', 'link', 'set', host.port, 'up'],
    // NAT by set_field rewrites headers after the kernel deferred the checksum: offload off on both ends.
    ['ethtool', '-K', host.port, 'tx', 'off'],
    inNs('ethtool', '-K', 'eth0', 'tx', 'off'),
  ];
}

/** `ovs-ofctl` argv for the private bridge: options stay first, the management socket follows the subcommand. */
export function ofctlArgv(mgmtSocket: string, args: readonly string[]): string[] {
  const firstCommand = args.findIndex((arg) => !arg.startsWith('-'));
  if (firstCommand < 0) return ['ovs-ofctl', '-O', 'OpenFlow13', ...args];
  return [
    'ovs-ofctl', '-O', 'OpenFlow13',
    ...args.slice(0, firstCommand), args[firstCommand], `unix:${mgmtSocket}`, ...args.slice(firstCommand + 1),
  ];
}

export function vsctlArgv(dbSocket: string, args: readonly string[]): string[] {
  return ['ovs-vsctl', `--db=unix:${dbSocket}`, '--timeout=20', ...args];
}
