// The conntrack mode's edge to OVS's connection tracker: asks ovs-vswitchd for the listing of vadc's zone
// (`dpctl/dump-conntrack zone=Z`) over its unixctl socket, the JSON-RPC channel ovs-appctl itself uses, and
// hands the text to the pure parser. One long-lived connection, so a poll costs no process start.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { parseConntrackLines, type ConntrackDump } from '../flows/conntrack-dump';
import { JsonRpcSession } from '../ovsdb/jsonrpc';
import { nextTurn } from '../util/next-turn';

export class ConntrackReadError extends Error {
  override readonly name = 'ConntrackReadError';
}

export interface ConntrackReaderOptions {
  zone: number;
  /** ovs-vswitchd's unixctl socket; undefined = ovs-appctl's default (OVS_RUNDIR/ovs-vswitchd.PID.ctl). */
  appctl?: string;
  timeoutMs?: number;
}

/** Where ovs-appctl would send `-t ovs-vswitchd`: the control socket named after the daemon's pid. */
export function defaultVswitchdSocket(env: NodeJS.ProcessEnv = process.env): string {
  const rundir = env.OVS_RUNDIR ?? '/var/run/openvswitch';
  const pidfile = path.join(rundir, 'ovs-vswitchd.pid');
  let pid: string;
  try {
    pid = readFileSync(pidfile, 'utf8').trim();
  } catch (err) {
    throw new ConntrackReadError(`cannot find ovs-vswitchd's control socket: ${pidfile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (set datapath.appctl)`);
  }
  if (!/^\d+$/.test(pid)) throw new ConntrackReadError(`cannot find ovs-vswitchd's control socket: ${pidfile} holds ${JSON.stringify(pid.slice(0, 20))}, not a pid`);
  return path.join(rundir, `ovs-vswitchd.${pid}.ctl`);
}

/** Lines parsed between two turns of the event loop (~10-40 ms each on this project's 2-core host). */
export const LINES_PER_SLICE = 5000;

/**
 * A listing of 100,000 connections takes a few hundred ms to parse on a quiet host, seconds on a loaded one: parsed
 * in slices, so echo requests from the switches are answered meanwhile (OVS drops a controller that stays silent
 * past its inactivity probe, and a restarted vadc reading 100,000 back was dropped six times over).
 */
export async function parseInSlices(text: string, turn: () => Promise<void> = nextTurn): Promise<ConntrackDump> {
  const dump: ConntrackDump = { entries: [], malformed: [] };
  const lines = text.split('\n');
  for (let from = 0; from < lines.length; from += LINES_PER_SLICE) {
    if (from > 0) await turn();
    parseConntrackLines(lines, from, Math.min(from + LINES_PER_SLICE, lines.length), dump);
  }
  return dump;
}

export class ConntrackReader {
  private session?: JsonRpcSession;
  private connecting?: Promise<JsonRpcSession>;

  constructor(private readonly opts: ConntrackReaderOptions) {}

  /** The unixctl command, as ovs-appctl would be given it (for messages and docs). */
  get command(): string {
    return `dpctl/dump-conntrack zone=${this.opts.zone}`;
  }

  async read(): Promise<ConntrackDump> {
    let target = this.opts.appctl ?? '(default)';
    try {
      target = this.opts.appctl ?? defaultVswitchdSocket();
      const session = await this.connect(target);
      const result = await session.request('dpctl/dump-conntrack', [`zone=${this.opts.zone}`], { timeoutMs: this.opts.timeoutMs ?? 10_000 });
      if (typeof result !== 'string') throw new Error(`expected the listing as text, got ${typeof result}`);
      return await parseInSlices(result);
    } catch (err) {
      this.close();
      if (err instanceof ConntrackReadError) throw err;
      throw new ConntrackReadError(`cannot read the connection tracker (${target}: ${this.command}): ${(err as Error).message}`);
    }
  }

  close(): void {
    this.session?.close('conntrack reader closed');
    this.session = undefined;
    this.connecting = undefined;
  }

  private connect(target: string): Promise<JsonRpcSession> {
    if (this.session && !this.session.closed) return Promise.resolve(this.session);
    this.connecting ??= new Promise<JsonRpcSession>((resolve, reject) => {
      const socket = net.connect(target);
      socket.once('error', (err) => {
        this.connecting = undefined;
        reject(err);
      });
      socket.once('connect', () => {
        socket.removeAllListeners('error');
        // unixctl answers commands, not JSON-RPC echo: no liveness probe. A listing of 100,000 connections is ~25 MB.
        this.session = new JsonRpcSession(socket, { probeIntervalMs: 0, maxMessageBytes: 512 * 1024 * 1024 });
        this.connecting = undefined;
        resolve(this.session);
      });
    });
    return this.connecting;
  }
}
