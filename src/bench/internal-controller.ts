// Starts vadc's controller in a child process (pinned with taskset to its own core when asked), so the
// generator and the controller do not share a core and each one's CPU use can be reported.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import type { AppEnds, FromChild, ToChild } from './child-protocol';
import { InternalControllerError } from './errors';

export const CONTROLLER_CORE = 1;
export const GENERATOR_CORE = 0;
const START_TIMEOUT_MS = 20_000;
/** Under ts-node (tests) the child first transpiles the controller's sources: tens of seconds on a busy 2-core machine. */
const TS_START_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 5_000;

export interface InternalController {
  port: number;
  pid: number;
  /** True when the child runs pinned to CONTROLLER_CORE. */
  pinned: boolean;
  /** The child's CPU time so far (user + system), in microseconds. */
  cpuTimeUs(): Promise<number>;
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

/** @param profileDir when set, the child writes a V8 CPU profile (node --cpu-prof) there on exit. */
function childCommand(pin: boolean, profileDir?: string): { command: string; args: string[] } {
  const ext = path.extname(__filename);
  const script = path.join(__dirname, `controller-child${ext}`);
  // Under ts-node/jest the sources are .ts: the child needs the same loader.
  const loader = ext === '.ts' ? ['-r', 'ts-node/register/transpile-only'] : [];
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const node = [process.execPath, ...profile, ...loader, script];
  return pin ? { command: 'taskset', args: ['-c', String(CONTROLLER_CORE), ...node] } : { command: node[0], args: node.slice(1) };
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
  start: Extract<ToChild, { kind: 'start' }>, pin: boolean, profileDir?: string,
): Promise<InternalController> {
  const pinned = pin && canPin();
  const { command, args } = childCommand(pinned, profileDir);
  const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.on('error', () => undefined); // surfaced by waitFor as an exit
  try {
    child.send(start);
    const startTimeoutMs = path.extname(__filename) === '.ts' ? TS_START_TIMEOUT_MS : START_TIMEOUT_MS;
    const listening = await waitFor(child, 'listening', startTimeoutMs, 'listening port');
    return {
      port: listening.port,
      pid: listening.pid,
      pinned,
      async cpuTimeUs() {
        const reply = waitFor(child, 'cpu', STOP_TIMEOUT_MS, 'CPU time');
        child.send({ kind: 'cpu' } satisfies ToChild);
        const cpu = await reply;
        return cpu.userUs + cpu.systemUs;
      },
      async stop() {
        if (child.exitCode !== null || child.signalCode !== null || !child.connected) return { appEvents: {} };
        const reply = waitFor(child, 'stopped', STOP_TIMEOUT_MS, 'stop');
        child.send({ kind: 'stop' } satisfies ToChild);
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        try {
          const { appEvents, ends } = await reply;
          return { appEvents, ...(ends ? { ends } : {}) };
        } finally {
          const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
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
