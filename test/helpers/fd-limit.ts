import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

/** File descriptors this process has open (Linux /proc). */
export function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Sets this process's soft limit on open files (prlimit, util-linux); the hard limit stays, so it can be raised back. */
export function setSoftFileLimit(n: number | 'unlimited'): void {
  const r = spawnSync('prlimit', ['--pid', String(process.pid), `--nofile=${n}:`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`prlimit: ${r.stderr || r.error?.message}`);
}
