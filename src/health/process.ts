import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { SpawnFailure } from './errors';

export interface ProcessRequest {
  /** argv (run directly) or a string (run by /bin/sh -c). */
  command: string | string[];
  timeoutMs: number;
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

/**
 * Checks that argv[0] names an executable file, so "not found" and "not executable" are reported as such
 * instead of as an obscure spawn error. Returns undefined when it is runnable.
 */
export function findExecutableProblem(file: string, pathEnv = process.env.PATH ?? ''): { failure: SpawnFailure; message: string } | undefined {
  const candidates = file.includes('/') ? [file] : pathEnv.split(delimiter).filter(Boolean).map((dir) => join(dir, file));
  let sawNonExecutable: string | undefined;
  for (const candidate of candidates) {
    let isFile: boolean;
    try {
      isFile = statSync(candidate).isFile();
    } catch {
      continue;
    }
    if (!isFile) {
      sawNonExecutable ??= candidate;
      continue;
    }
    try {
      accessSync(candidate, fsConstants.X_OK);
      return undefined;
    } catch {
      sawNonExecutable ??= candidate;
    }
  }
  if (sawNonExecutable) return { failure: 'not_executable', message: `${sawNonExecutable} is not an executable file` };
  return {
    failure: 'not_found',
    message: file.includes('/') ? `${file} does not exist` : `${file} was not found on PATH`,
  };
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
 * Runs a command in its own process group with a hard timeout. On timeout or abort the whole group gets
 * SIGTERM, then SIGKILL after a grace period, so a script's children die with it. Never rejects.
 */
export function runProcess(req: ProcessRequest): Promise<ProcessOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const argv = typeof req.command === 'string' ? ['/bin/sh', '-c', req.command] : req.command;
  const problem = argv.length === 0 ? { failure: 'not_found' as const, message: 'empty command' } : findExecutableProblem(argv[0]);
  if (problem) {
    return Promise.resolve({ end: { kind: 'spawn_failed', ...problem }, stdout: '', stderr: '', durationMs: elapsed() });
  }
  if (req.signal?.aborted) return Promise.resolve({ end: { kind: 'aborted' }, stdout: '', stderr: '', durationMs: 0 });

  return new Promise((resolve) => {
    const stdout = new BoundedText(req.maxOutputBytes ?? DEFAULT_MAX_OUTPUT);
    const stderr = new BoundedText(req.maxOutputBytes ?? DEFAULT_MAX_OUTPUT);
    let stoppedBy: 'timed_out' | 'aborted' | undefined;
    let settled = false;
    const timers: NodeJS.Timeout[] = [];

    // detached => setsid: the child leads a new process group that we can kill as a whole.
    const child = spawn(argv[0], argv.slice(1), {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...req.env },
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
      // A stopped group may leave members that ignored SIGTERM; make sure none survive us.
      if (stoppedBy) killGroup('SIGKILL');
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
