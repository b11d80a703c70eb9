// A real zombie process for the tests of "is this process alive?": its pid, and a stop that lets it be reaped.
import { spawn, spawnSync } from 'node:child_process';
import { until } from './until';

/** ps's state letter for pid (an oracle of its own, not vadc's /proc reader), or undefined when ps lists none. */
export function psState(pid: number): string | undefined {
  const out = spawnSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' });
  const state = out.status === 0 ? out.stdout.trim().charAt(0) : '';
  return state === '' ? undefined : state;
}

/** A pid that certainly belonged to a process that has exited (and was reaped). */
export function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

/**
 * A zombie's pid, and a stop for its parent: python forks a child that exits at once and never waits for it (a shell
 * may reap its background job before it execs). stop() ends the parent and resolves once it has exited (init then
 * reaps the zombie).
 */
export async function zombieProcess(): Promise<{ pid: number; stop: () => Promise<void> }> {
  const script = 'import os, time\npid = os.fork()\nif pid == 0:\n    os._exit(0)\nprint(pid, flush=True)\ntime.sleep(60)\n';
  const parent = spawn('python3', ['-c', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = new Promise<void>((resolve) => parent.once('exit', () => resolve()));
  const stop = async () => {
    parent.kill('SIGKILL');
    await exited;
  };
  try {
    const pid = await new Promise<number>((resolve, reject) => {
      parent.stdout.once('data', (b: Buffer) => resolve(Number(b.toString().trim())));
      parent.once('exit', () => reject(new Error('python3 exited before naming its child')));
    });
    await until(() => psState(pid) === 'Z', `pid ${pid} to be a zombie (ps)`, 10_000);
    return { pid, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
