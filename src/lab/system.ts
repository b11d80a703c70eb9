// The lab's edge to the operating system: running commands, finding and stopping processes.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { processRuns } from '../util/proc-stat';
import { LabCommandError, LabError } from './errors';

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  input?: string;
  timeoutMs?: number;
  /** Return the result instead of throwing when the exit code is not 0. */
  allowFailure?: boolean;
}

export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new LabError('timeout', `\`${argv.join(' ')}\` did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why = err.code === 'ENOENT' ? `${argv[0]} is not installed or not on PATH` : err.message;
      reject(new LabError('command-failed', `\`${argv.join(' ')}\` could not start: ${why}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const result = { stdout, stderr, code: code ?? 1 };
      if (code !== 0 && !opts.allowFailure) reject(new LabCommandError(argv, code, stderr || stdout));
      else resolve(result);
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Whether the process still runs. A zombie does not: daemons are reparented to PID 1, which may reap late. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return processRuns(pid); // gone between the two looks, or a zombie
}

export function readCmdline(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return undefined;
  }
}

export function readComm(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function allPids(): number[] {
  return fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number);
}

/** Processes whose command line mentions `marker` (the lab directory: every daemon and server script of a lab does). */
export function pidsMentioning(marker: string): number[] {
  return allPids().filter((pid) => pid !== process.pid && (readCmdline(pid) ?? '').includes(marker));
}

export function pidsNamed(comm: string): number[] {
  return allPids().filter((pid) => readComm(pid) === comm);
}

export function readPidfile(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopProcess(pid: number, graceMs = 3000): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(25);
  if (isAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return;
    }
    while (isAlive(pid)) await sleep(10);
  }
}

export async function linkExists(name: string, netns?: string): Promise<boolean> {
  const argv = netns ? ['ip', '-n', netns, 'link', 'show', 'dev', name] : ['ip', 'link', 'show', 'dev', name];
  return (await run(argv, { allowFailure: true })).code === 0;
}

export async function listNetns(): Promise<string[]> {
  const { stdout } = await run(['ip', 'netns', 'list'], { allowFailure: true });
  return stdout
    .split('\n')
    .map((line) => line.split(' ')[0])
    .filter((name) => name.length > 0);
}

export async function netnsPids(netns: string): Promise<number[]> {
  const { stdout } = await run(['ip', 'netns', 'pids', netns], { allowFailure: true });
  return stdout
    .split('\n')
    .filter((line) => /^\d+$/.test(line.trim()))
    .map(Number);
}

export async function which(binary: string): Promise<boolean> {
  const { code } = await run(['sh', '-c', `command -v ${binary}`], { allowFailure: true, env: pathWithSbin() });
  return code === 0;
}

/** Debian puts ovs-vswitchd and ip in /usr/sbin, which a non-login PATH may lack. */
export function pathWithSbin(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const dirs = (base.PATH ?? '').split(':');
  for (const dir of ['/usr/sbin', '/sbin', '/usr/bin', '/bin']) if (!dirs.includes(dir)) dirs.push(dir);
  return { ...base, PATH: dirs.filter(Boolean).join(':') };
}
