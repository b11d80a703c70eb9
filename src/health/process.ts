import { spawn } from 'node:child_process';
import type { SpawnFailure } from './errors';
import { programOf } from '../util/command';
import { DEFAULT_HOOK_PATH, resolveExecutable, type ExecutableProblem } from './executable';

export interface ProcessRequest {
  /** argv (run directly) or a string (run by /bin/sh -c). */
  command: string | string[];
  timeoutMs: number;
  /** The whole environment, on top of PATH=DEFAULT_HOOK_PATH (which it may replace); nothing of the daemon's. */
  env?: Record<string, string>;
  /** Per stream; the rest is counted and dropped. Default 4096. */
  maxOutputBytes?: number;
  /** Between SIGTERM and SIGKILL to the process group on timeout/abort. Default 250 ms. */
  killGraceMs?: number;
  signal?: AbortSignal;
}

export type ProcessEnd =
  | { kind: 'exited'; code: number }
  | { kind: 'signaled'; signal: string }
  | { kind: 'timed_out' }
  | { kind: 'aborted' }
  | { kind: 'spawn_failed'; failure: SpawnFailure; message: string };

export interface ProcessOutcome {
  end: ProcessEnd;
  stdout: string;
  stderr: string;
  durationMs: number;
}

const DEFAULT_MAX_OUTPUT = 4096;
const DEFAULT_KILL_GRACE_MS = 250;
/** After exit, how long to wait for the pipes to close before giving up on them (a detached grandchild may hold them). */
const PIPE_DRAIN_MS = 100;
/** /bin/sh's exit codes for a command it could not find / could not execute (POSIX). */
const SHELL_NOT_FOUND = 127;
const SHELL_NOT_EXECUTABLE = 126;
const SHELL = '/bin/sh';

/**
 * Checks the program a command runs before starting it: found on the hook's PATH, executable, not a relative
 * path, and not changeable by anyone else (executable.ts). For a shell string, the shell and the string's first
 * word when it names a file. Returns the file to execute (argv[0] resolved, or the shell), or why it may not run.
 */
export function checkCommand(command: string | readonly string[], pathEnv = DEFAULT_HOOK_PATH): { file: string } | ExecutableProblem {
  const program = programOf(command);
  if (program === undefined) return { failure: 'not_found', message: 'empty command' };
  if (typeof command !== 'string') {
    const found = resolveExecutable(program, pathEnv);
    return 'path' in found ? { file: found.path } : found;
  }
  const shell = resolveExecutable(SHELL, pathEnv);
  if (!('path' in shell)) return shell;
  const found = resolveExecutable(program, pathEnv);
  // A word the shell resolves itself (a builtin, a missing command) is left to it: it says 127 if not found.
  return 'path' in found || found.failure === 'not_found' ? { file: shell.path } : found;
}

/** checkCommand's problem, or undefined when the command may run. */
export function findExecutableProblem(command: string | readonly string[], pathEnv = DEFAULT_HOOK_PATH): ExecutableProblem | undefined {
  const checked = checkCommand(command, pathEnv);
  return 'file' in checked ? undefined : checked;
}

/** Collects a stream's first `limit` bytes and counts the rest. */
class BoundedText {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  private dropped = 0;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    const room = this.limit - this.kept;
    if (room > 0) {
      const piece = chunk.length > room ? chunk.subarray(0, room) : chunk;
      this.chunks.push(piece);
      this.kept += piece.length;
    }
    this.dropped += Math.max(0, chunk.length - Math.max(room, 0));
  }

  text(): string {
    const body = Buffer.concat(this.chunks).toString('utf8');
    return this.dropped > 0 ? `${body}...[${this.dropped} more bytes truncated]` : body;
  }
}

/**
 * Runs a command in its own process group with a hard timeout and an explicit environment. On timeout or abort
 * the whole group gets SIGTERM, then SIGKILL after a grace period; when the command ends, whatever it left
 * running in its group is stopped the same way (a long-lived process must start its own session, setsid).
 * Never rejects.
 */
export function runProcess(req: ProcessRequest): Promise<ProcessOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  // An explicit environment: the daemon's own (which may hold secrets) is never passed on.
  const env: Record<string, string> = { PATH: DEFAULT_HOOK_PATH, ...req.env };
  const checked = checkCommand(req.command, env.PATH);
  if (!('file' in checked)) {
    return Promise.resolve({ end: { kind: 'spawn_failed', ...checked }, stdout: '', stderr: '', durationMs: elapsed() });
  }
  const argv = typeof req.command === 'string' ? [SHELL, '-c', req.command] : [...req.command];
  if (req.signal?.aborted) return Promise.resolve({ end: { kind: 'aborted' }, stdout: '', stderr: '', durationMs: 0 });

  return new Promise((resolve) => {
    const stdout = new BoundedText(req.maxOutputBytes ?? DEFAULT_MAX_OUTPUT);
    const stderr = new BoundedText(req.maxOutputBytes ?? DEFAULT_MAX_OUTPUT);
    let stoppedBy: 'timed_out' | 'aborted' | undefined;
    let settled = false;
    const timers: NodeJS.Timeout[] = [];

    // detached => setsid: the child leads a new process group that we can kill as a whole.
    // Exactly the file checked (found on the hook's PATH), under the name it was given.
    const child = spawn(checked.file, argv.slice(1), {
      argv0: argv[0],
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    child.stdout.on('data', (c: Buffer) => stdout.push(c));
    child.stderr.on('data', (c: Buffer) => stderr.push(c));

    const killGroup = (sig: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        // The group is already gone.
      }
    };
    const stop = (why: 'timed_out' | 'aborted') => {
      if (stoppedBy || settled) return;
      stoppedBy = why;
      killGroup('SIGTERM');
      timers.push(setTimeout(() => killGroup('SIGKILL'), req.killGraceMs ?? DEFAULT_KILL_GRACE_MS));
    };
    const onAbort = () => stop('aborted');
    req.signal?.addEventListener('abort', onAbort, { once: true });
    timers.push(setTimeout(() => stop('timed_out'), req.timeoutMs));

    const finish = (end: ProcessEnd) => {
      if (settled) return;
      settled = true;
      timers.forEach(clearTimeout);
      req.signal?.removeEventListener('abort', onAbort);
      // Nothing the command started outlives it: a stopped group gets SIGKILL now (members may have ignored
      // SIGTERM); after a normal end, what it left in the background gets SIGTERM, then SIGKILL after the grace.
      if (stoppedBy) killGroup('SIGKILL');
      else {
        killGroup('SIGTERM');
        setTimeout(() => killGroup('SIGKILL'), req.killGraceMs ?? DEFAULT_KILL_GRACE_MS).unref();
      }
      child.stdout.destroy();
      child.stderr.destroy();
      resolve({ end, stdout: stdout.text(), stderr: stderr.text(), durationMs: elapsed() });
    };

    child.on('error', (err: NodeJS.ErrnoException) => {
      const failure: SpawnFailure = err.code === 'ENOENT' ? 'not_found' : err.code === 'EACCES' ? 'not_executable' : 'spawn_error';
      finish({ kind: 'spawn_failed', failure, message: err.message });
    });
    child.on('exit', (code, signal) => {
      const end: ProcessEnd = stoppedBy
        ? { kind: stoppedBy }
        : typeof req.command === 'string' && code === SHELL_NOT_FOUND
          ? { kind: 'spawn_failed', failure: 'not_found', message: firstLine(stderr.text()) || 'command not found (exit 127 from /bin/sh)' }
          : typeof req.command === 'string' && code === SHELL_NOT_EXECUTABLE
            ? { kind: 'spawn_failed', failure: 'not_executable', message: firstLine(stderr.text()) || 'command not executable (exit 126 from /bin/sh)' }
            : code !== null
              ? { kind: 'exited', code }
              : { kind: 'signaled', signal: signal ?? 'unknown' };
      // Let buffered output arrive, but do not wait for pipes a detached grandchild keeps open.
      const drain = setTimeout(() => finish(end), PIPE_DRAIN_MS);
      child.on('close', () => {
        clearTimeout(drain);
        finish(end);
      });
    });
  });
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0].trim();
}

/** One line describing how a process ended, for reasons and logs. */
export function describeEnd(end: ProcessEnd, timeoutMs: number): string {
  switch (end.kind) {
    case 'exited':
      return `exit code ${end.code}`;
    case 'signaled':
      return `killed by ${end.signal}`;
    case 'timed_out':
      return `timed out after ${timeoutMs} ms; process group killed`;
    case 'aborted':
      return 'aborted; process group killed';
    case 'spawn_failed':
      return `${end.failure.replace('_', ' ')}: ${end.message}`;
  }
}
