import { accessSync, constants as fsConstants, realpathSync, statSync, type Stats } from 'node:fs';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { relativePathProblem } from '../util/command';
import type { SpawnFailure } from './errors';

/**
 * The PATH a hook or script check runs with unless its `env` sets one. Hooks get an explicit, minimal environment
 * (this PATH, their `env:` and the VADC_* context), never the daemon's own: that may hold secrets.
 */
export const DEFAULT_HOOK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export type ExecutableProblem = { failure: SpawnFailure; message: string };

/** Writable by group or others, or owned by someone other than root or us: someone else could change what runs. */
function looseness(stats: Stats): string | undefined {
  if ((stats.mode & 0o022) !== 0) return `is writable by group or others (mode 0${(stats.mode & 0o7777).toString(8)}): chmod go-w it`;
  const me = typeof process.getuid === 'function' ? process.getuid() : 0;
  if (stats.uid !== 0 && stats.uid !== me) return `is owned by uid ${stats.uid}, not root or vadc's user (uid ${me})`;
  return undefined;
}

/**
 * Why `file` (absolute) is not safe to run: it, or a directory on the way to it, can be changed by someone else.
 * A world-writable directory with the sticky bit (/tmp) is fine when the entry under it is root's or ours, since
 * nobody else may rename or remove it. Both the path as given and where its symlinks lead are checked.
 */
export function unsafeExecutableReason(file: string): string | undefined {
  const chains = new Set([file]);
  try {
    chains.add(realpathSync(file));
  } catch {
    // Missing: reported as not found by the caller.
  }
  for (const path of chains) {
    const own = looseness(statSync(path));
    if (own) return `${path} ${own}`;
    let child = path;
    for (let dir = dirname(path); ; dir = dirname(dir)) {
      const stats = statSync(dir);
      const sticky = (stats.mode & 0o1000) !== 0 && (stats.mode & 0o002) !== 0;
      const childOwner = statSync(child).uid;
      const me = typeof process.getuid === 'function' ? process.getuid() : 0;
      const problem = sticky && (childOwner === 0 || childOwner === me) ? undefined : looseness(stats);
      if (problem) return `${dir} (a directory on the way to ${file}) ${problem}`;
      if (dir === dirname(dir)) break;
      child = dir;
    }
  }
  return undefined;
}

/**
 * Finds the file a program name runs, on the given PATH (the hook's own, not the daemon's), and checks it is an
 * executable file nobody else can change. Returns its absolute path, or why it cannot run.
 */
export function resolveExecutable(file: string, pathEnv: string = DEFAULT_HOOK_PATH): { path: string } | ExecutableProblem {
  const relative = relativePathProblem(file);
  if (relative) return { failure: 'unsafe', message: relative };
  // Relative PATH entries ("", ".") would also make the result depend on the working directory: skipped.
  const candidates = file.includes('/') ? [file] : pathEnv.split(delimiter).filter((d) => isAbsolute(d)).map((dir) => join(dir, file));
  let sawNonExecutable: string | undefined;
  for (const candidate of candidates) {
    let isFile: boolean;
    try {
      isFile = statSync(candidate).isFile();
    } catch {
      continue;
    }
    try {
      if (!isFile) throw new Error('not a file');
      accessSync(candidate, fsConstants.X_OK);
    } catch {
      sawNonExecutable ??= candidate;
      continue;
    }
    const unsafe = unsafeExecutableReason(candidate);
    return unsafe ? { failure: 'unsafe', message: unsafe } : { path: candidate };
  }
  if (sawNonExecutable) return { failure: 'not_executable', message: `${sawNonExecutable} is not an executable file` };
  return { failure: 'not_found', message: file.includes('/') ? `${file} does not exist` : `${file} was not found on PATH (${pathEnv})` };
}
