// The built CLI run as an operator runs it (a child process of bin/run.js), for end-to-end tests.
import { execFile } from 'node:child_process';
import path from 'node:path';
import type { ClusterStatusView } from '../../src/cluster';
import { readStoreCluster, stopStoreMember } from '../../src/lab';

export const ROOT = path.join(__dirname, '../..');
const RUN = path.join(ROOT, 'bin/run.js');
/** Nothing of the test runner's environment that would change what the CLI talks to. */
const CLI_ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['NODE_ENV', 'VADC_CLUSTER', 'VADC_API'].includes(k)));

export interface CliResult { code: number; stdout: string; stderr: string }

export function vadc(args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [RUN, ...args], { cwd: ROOT, timeout: 60_000, env: CLI_ENV }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** Its stdout; an error with its stderr when it fails. */
export async function vadcOk(args: string[]): Promise<string> {
  const r = await vadc(args);
  if (r.code !== 0) throw new Error(`vadc ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Kills (SIGKILL, a crash) the store member `vadc cluster status` names leader: its number, and when. */
export async function killStoreLeader(storeDir: string, remotes: string): Promise<{ n: number; at: number }> {
  const status = JSON.parse(await vadcOk(['cluster', 'status', '--cluster', remotes, '--json'])) as ClusterStatusView;
  const leader = readStoreCluster(storeDir)!.members.find((m) => m.remote === status.leader)!;
  const at = Date.now();
  await stopStoreMember(storeDir, leader.n, true);
  return { n: leader.n, at };
}

/** Runs the CLI until it succeeds, as an operator retries through an election: when it first did (0: never). */
export async function retryUntilAccepted(args: string[], tries = 100): Promise<number> {
  for (let i = 0; i < tries; i++) {
    if ((await vadc(args)).code === 0) return Date.now();
    await new Promise((r) => setTimeout(r, 200));
  }
  return 0;
}
