// One vadc daemon per simulated hypervisor of a multi-host lab, each a host of a vadc cluster
// (`vadc lab up --hosts N --cluster REMOTES`): so an operator can try the cluster with the real daemons. Each is a
// detached `vadc start` with its config, API socket, log and pidfile in the lab directory (named vadc-hN.*), so
// `lab down` and `lab status` find them from the directory alone, after the command that started them is gone.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LabError } from './errors';
import { controllerPort } from './plan';
import { isAlive, pidsMentioning, readPidfile, sleep, stopProcess } from './system';

export type HostDaemonNat = 'conntrack' | 'flows';

/** What the daemons need to know of the lab and the cluster. */
export interface HostDaemonsInput {
  dir: string;
  ovsdbSocket: string;
  vswitchdControlSocket: string;
  /** The cluster store's remotes (`vadc cluster up` prints them). */
  remotes: string;
  nat: HostDaemonNat;
  hypervisors: readonly { name: string; index: number; uplinkPort: string; controller: string | null }[];
}

export interface HostDaemonPlan {
  host: string;
  /** What the daemon listens on: the hypervisor bridge's controller target. */
  listen: string;
  config: string;
  configText: string;
  api: string;
  log: string;
  pidfile: string;
}

export interface HostDaemonStatus {
  host: string;
  pid: number | null;
  running: boolean;
  /** `vadc status --api unix:PATH` talks to it. */
  api: string;
  config: string;
  log: string;
}

const FILE_PREFIX = 'vadc-';

/** Pure: each hypervisor's daemon config (its own controller port, conntrack zone, cluster host name and uplink). */
export function planHostDaemons(input: HostDaemonsInput): HostDaemonPlan[] {
  return input.hypervisors.map((hv) => {
    const port = controllerPort(hv.controller);
    if (!hv.controller?.startsWith('tcp:') || port === null) {
      throw new LabError('bad-option', `host ${hv.name}'s controller must be tcp:IP:PORT for a lab daemon to listen on (got ${hv.controller ?? 'none'})`);
    }
    const file = (ext: string) => path.join(input.dir, `${FILE_PREFIX}${hv.name}.${ext}`);
    // Each host its own zone: in the lab the hosts share one ovs-vswitchd and so one connection tracker.
    const zone = input.nat === 'conntrack' ? `ct_zone: ${3000 + hv.index}, ` : '';
    const configText = [
      `# vadc for lab host ${hv.name} (written by vadc lab up --cluster)`,
      `controller: { listen: "${hv.controller}" }`,
      `datapath: { nat: ${input.nat}, ${zone}appctl: ${input.vswitchdControlSocket} }`,
      `ovsdb: unix:${input.ovsdbSocket}`,
      `api: { listen: "unix:${file('sock')}" }`,
      `cluster: { remotes: "${input.remotes}", host: ${hv.name}, uplink: ${hv.uplinkPort}, policy_cache: ${file('policy.json')} }`,
      'services: []',
      '',
    ].join('\n');
    return { host: hv.name, listen: hv.controller, config: file('yaml'), configText, api: file('sock'), log: file('log'), pidfile: file('pid') };
  });
}

/**
 * Starts the planned daemons (`argv` runs the vadc CLI: node and bin/run.js) and waits until each serves its API
 * socket. A daemon that exits first is an error naming its log's last lines.
 */
export async function startHostDaemons(plans: readonly HostDaemonPlan[], argv: readonly string[], timeoutMs = 60_000): Promise<HostDaemonStatus[]> {
  for (const plan of plans) {
    fs.writeFileSync(plan.config, plan.configText);
    const log = fs.openSync(plan.log, 'a');
    const child = spawn(argv[0], [...argv.slice(1), 'start', '--config', plan.config, '--log-format', 'text'], { detached: true, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    if (child.pid === undefined) throw new LabError('command-failed', `could not start vadc for host ${plan.host}`);
    fs.writeFileSync(plan.pidfile, `${child.pid}\n`);
    child.unref();
  }
  const deadline = Date.now() + timeoutMs;
  for (const plan of plans) {
    const pid = readPidfile(plan.pidfile)!;
    while (!fs.existsSync(plan.api)) {
      if (!isAlive(pid)) throw new LabError('command-failed', `vadc for host ${plan.host} exited: ${lastLines(plan.log)}`);
      if (Date.now() > deadline) throw new LabError('command-failed', `vadc for host ${plan.host} did not serve its API within ${timeoutMs} ms: ${lastLines(plan.log)}`);
      await sleep(100);
    }
  }
  return hostDaemonsStatus(path.dirname(plans[0]?.config ?? '.'));
}

/** The lab's host daemons, from their pidfiles (a pid counts only while its command line names the lab directory). */
export function hostDaemonsStatus(dir: string): HostDaemonStatus[] {
  if (!fs.existsSync(dir)) return [];
  const ours = new Set(pidsMentioning(dir + '/'));
  return fs.readdirSync(dir).filter((f) => f.startsWith(FILE_PREFIX) && f.endsWith('.pid')).sort().map((f) => {
    const host = f.slice(FILE_PREFIX.length, -'.pid'.length);
    const pid = readPidfile(path.join(dir, f)) ?? null;
    const file = (ext: string) => path.join(dir, `${FILE_PREFIX}${host}.${ext}`);
    return { host, pid, running: pid !== null && isAlive(pid) && ours.has(pid), api: `unix:${file('sock')}`, config: file('yaml'), log: file('log') };
  });
}

/** Stops the lab's host daemons (SIGTERM, then SIGKILL after the grace): their flows stay, as on any vadc stop. */
export async function stopHostDaemons(dir: string): Promise<void> {
  for (const d of hostDaemonsStatus(dir)) if (d.running && d.pid !== null) await stopProcess(d.pid);
}

function lastLines(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-5).join(' | ') || '(empty log)';
  } catch {
    return '(no log)';
  }
}
