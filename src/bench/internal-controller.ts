// Starts vadc's controller in a child process (pinned with taskset to its own core when asked), so the
// generator and the controller do not share a core and each one's CPU use can be reported.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import type { AppEnds, ChildLauncher, ChildSessionTimeouts, ChildTimeouts, FromChild, ToChild } from './child-protocol';
import { InternalControllerError } from './errors';

export const CONTROLLER_CORE = 1;
export const GENERATOR_CORE = 0;
const START_TIMEOUT_MS = 20_000;
/** Under ts-node (tests) the child first transpiles the controller's sources: tens of seconds on a busy 2-core machine. */
const TS_START_TIMEOUT_MS = 90_000;
const DEFAULT_STOP_TIMEOUT_MS = 5_000;

/** A controller's CPU time so far, in microseconds: in user space (vadc's code, V8, the collector) and in the kernel (the sockets). */
export interface CpuTimes {
  userUs: number;
  systemUs: number;
}

export interface InternalController {
  port: number;
  pid: number;
  /** True when the child runs pinned to CONTROLLER_CORE. */
  pinned: boolean;
  /** The child's CPU time so far. */
  cpuTimes(): Promise<CpuTimes>;
  /** Stops the child; resolves with the app's event counts by kind (and, for vadc's app, the ends it saw). */
  stop(): Promise<{ appEvents: Record<string, number>; ends?: AppEnds }>;
}

/** taskset exists and the machine has the cores we pin to. */
export function canPin(): boolean {
  if (os.cpus().length <= Math.max(CONTROLLER_CORE, GENERATOR_CORE)) return false;
  return spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;
}

/** Pins this process (the generator) to GENERATOR_CORE; false if that did not work. */
export function pinSelf(): boolean {
  return spawnSync('taskset', ['-pc', String(GENERATOR_CORE), String(process.pid)], { stdio: 'ignore' }).status === 0;
}

/** How the internal controller children are run: a profile, a launcher (valgrind), their own timeouts. */
export interface ChildRunOptions {
  /** When set, each child writes a V8 CPU profile (node --cpu-prof) there on exit. */
  profileDir?: string;
  launcher?: ChildLauncher;
  timeouts?: ChildTimeouts;
}

/**
 * The child's command line: [taskset -c CORE] [launcher prefix] node [launcher's node flags] [profile] [loader] script.
 * @param core the core to pin the child to (taskset), or undefined for none.
 */
export function childCommand(core: number | undefined, run: ChildRunOptions = {}): { command: string; args: string[] } {
  const ext = path.extname(__filename);
  const script = path.join(__dirname, `controller-child${ext}`);
  // Under ts-node/jest the sources are .ts: the child needs the same loader.
  const loader = ext === '.ts' ? ['-r', 'ts-node/register/transpile-only'] : [];
  const profile = run.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${run.profileDir}`] : [];
  const node = [...(run.launcher?.prefix ?? []), process.execPath, ...(run.launcher?.nodeFlags ?? []), ...profile, ...loader, script];
  return core !== undefined ? { command: 'taskset', args: ['-c', String(core), ...node] } : { command: node[0], args: node.slice(1) };
}

/** The sessions' settings the start message carries: only the timeouts given (absent: the controller's defaults). */
export function sessionTimeouts(t: ChildTimeouts = {}): ChildSessionTimeouts | undefined {
  const session: ChildSessionTimeouts = {
    ...(t.handshakeMs !== undefined ? { handshakeTimeoutMs: t.handshakeMs } : {}),
    ...(t.echoIntervalMs !== undefined ? { echoIntervalMs: t.echoIntervalMs } : {}),
  };
  return Object.keys(session).length ? session : undefined;
}

function waitFor<K extends FromChild['kind']>(child: ChildProcess, kind: K, timeoutMs: number, what: string): Promise<Extract<FromChild, { kind: K }>> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (msg: FromChild) => {
      if (msg.kind === kind) {
        cleanup();
        resolve(msg as Extract<FromChild, { kind: K }>);
      } else if (msg.kind === 'failed') {
        cleanup();
        reject(new InternalControllerError(`internal controller failed: ${msg.message}`));
      }
    };
    const onExit = (code: number | null, signal: string | null) => {
      cleanup();
      reject(new InternalControllerError(`internal controller exited (${signal ?? `code ${code}`}) while waiting for ${what}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new InternalControllerError(`internal controller gave no ${what} within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

export async function startInternalController(
  start: Extract<ToChild, { kind: 'start' }>, pin: boolean, run: ChildRunOptions = {}, core = CONTROLLER_CORE,
): Promise<InternalController> {
  const pinned = pin && canPin() && core < os.cpus().length;
  const { command, args } = childCommand(pinned ? core : undefined, run);
  const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.on('error', () => undefined); // surfaced by waitFor as an exit
  const stopTimeoutMs = run.timeouts?.stopMs ?? DEFAULT_STOP_TIMEOUT_MS;
  try {
    const session = sessionTimeouts(run.timeouts);
    child.send(session ? { ...start, session } : start);
    const startTimeoutMs = run.timeouts?.startMs ?? (path.extname(__filename) === '.ts' ? TS_START_TIMEOUT_MS : START_TIMEOUT_MS);
    const listening = await waitFor(child, 'listening', startTimeoutMs, 'listening port');
    return {
      port: listening.port,
      pid: listening.pid,
      pinned,
      async cpuTimes() {
        const reply = waitFor(child, 'cpu', stopTimeoutMs, 'CPU time');
        child.send({ kind: 'cpu' } satisfies ToChild);
        const { userUs, systemUs } = await reply;
        return { userUs, systemUs };
      },
      async stop() {
        if (child.exitCode !== null || child.signalCode !== null || !child.connected) return { appEvents: {} };
        const reply = waitFor(child, 'stopped', stopTimeoutMs, 'stop');
        child.send({ kind: 'stop' } satisfies ToChild);
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        try {
          const { appEvents, ends } = await reply;
          return { appEvents, ...(ends ? { ends } : {}) };
        } finally {
          const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
          await exited;
          clearTimeout(timer);
        }
      },
    };
  } catch (err) {
    if (child.exitCode === null) child.kill('SIGKILL');
    throw err;
  }
}

/**
 * Several controller children, each serving its own group of switches (the sharding that spreads the packet-in path
 * over cores: issue 15's "worker per group of switches"). Child k is pinned to core 1 + k when the machine has a core
 * for each child besides the generator's; otherwise none is pinned (they share the cores with the generator).
 * @param starts one start message per child, each with its own switches and services.
 */
export async function startInternalControllers(
  starts: Array<Extract<ToChild, { kind: 'start' }>>, pin: boolean, run: ChildRunOptions = {},
): Promise<InternalControllers> {
  const pinEach = pin && starts.length < os.cpus().length;
  const children: InternalController[] = [];
  try {
    for (const [k, start] of starts.entries()) children.push(await startInternalController(start, pinEach, run, CONTROLLER_CORE + k));
  } catch (err) {
    await Promise.all(children.map((c) => c.stop().catch(() => undefined)));
    throw err;
  }
  return {
    children,
    pinned: children.every((c) => c.pinned),
    async cpuTimes() {
      const each = await Promise.all(children.map((c) => c.cpuTimes()));
      return { userUs: each.reduce((a, t) => a + t.userUs, 0), systemUs: each.reduce((a, t) => a + t.systemUs, 0) };
    },
    async stop() {
      const stopped = await Promise.all(children.map((c) => c.stop()));
      return mergeStopped(stopped);
    },
  };
}

/** The children of startInternalControllers, seen as one controller (CPU time and counts summed). */
export interface InternalControllers {
  children: InternalController[];
  /** True when every child runs pinned to a core of its own. */
  pinned: boolean;
  cpuTimes(): Promise<CpuTimes>;
  stop(): Promise<{ appEvents: Record<string, number>; ends?: AppEnds }>;
}

/** Sums the children's event counts by kind and their ends (ends only when every child reported them). */
export function mergeStopped(stopped: Array<{ appEvents: Record<string, number>; ends?: AppEnds }>): { appEvents: Record<string, number>; ends?: AppEnds } {
  const appEvents: Record<string, number> = {};
  for (const s of stopped) for (const [kind, n] of Object.entries(s.appEvents)) appEvents[kind] = (appEvents[kind] ?? 0) + n;
  if (stopped.length === 0 || !stopped.every((s) => s.ends)) return { appEvents };
  const ends: AppEnds = { copies: 0, ended: 0, inactive: 0 };
  for (const s of stopped) {
    ends.copies += s.ends!.copies;
    ends.ended += s.ends!.ended;
    ends.inactive += s.ends!.inactive;
  }
  return { appEvents, ends };
}
