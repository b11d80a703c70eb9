// `datapath.nat: auto`: is ovs-vswitchd on this host? Its unixctl socket (datapath.appctl, or ovs-appctl's default
// OVS_RUNDIR/ovs-vswitchd.PID.ctl) is what conntrack mode's tracker accounting talks to, so "reachable" means what
// that needs: the file is a socket, this process may connect to it (write permission on a unix socket), and the
// ovs-vswitchd that made it still runs (a crashed one leaves its socket and pidfile behind). Synchronous, once at
// start, before the app picks its mode (src/app/nat/factory.ts).
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { VswitchdProbe } from '../app';
import { defaultVswitchdSocket } from './conntrack-reader';

export interface ProbeSystem {
  /** Throws when `pid` does not name a running process (ESRCH); EPERM means it runs under another user. */
  kill(pid: number, signal: 0): void;
}

/** The pid the socket belongs to: ovs-vswitchd names it ovs-vswitchd.PID.ctl; else its pidfile beside it. */
function ownerPid(socket: string): number | undefined {
  const named = /\.(\d+)\.ctl$/.exec(path.basename(socket));
  if (named) return Number(named[1]);
  try {
    const pid = readFileSync(path.join(path.dirname(socket), 'ovs-vswitchd.pid'), 'utf8').trim();
    return /^\d+$/.test(pid) ? Number(pid) : undefined;
  } catch {
    return undefined;
  }
}

function running(pid: number, system: ProbeSystem): boolean {
  try {
    system.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Looks for ovs-vswitchd's unixctl socket; never throws. */
export function probeVswitchd(appctl: string | undefined, env: NodeJS.ProcessEnv = process.env, system: ProbeSystem = process): VswitchdProbe {
  let socket: string;
  try {
    socket = appctl ?? defaultVswitchdSocket(env);
  } catch (err) {
    return { reachable: false, detail: (err as Error).message };
  }
  try {
    if (!statSync(socket).isSocket()) return { reachable: false, detail: `${socket} is not a socket` };
    accessSync(socket, constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { reachable: false, detail: `${socket}: ${code === 'EACCES' ? 'no permission to connect (EACCES)' : code ?? (err as Error).message}` };
  }
  const pid = ownerPid(socket);
  if (pid !== undefined && !running(pid, system)) return { reachable: false, detail: `${socket} is left from ovs-vswitchd pid ${pid}, which no longer runs` };
  return { reachable: true, detail: `its unixctl socket ${socket} is reachable${pid === undefined ? '' : ` (pid ${pid})`}` };
}
