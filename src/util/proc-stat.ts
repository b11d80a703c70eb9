// Whether a process runs, as Linux's /proc/PID/stat says: the one reader for the host election (is the record's
// master alive?) and the lab (is a lock's or a queue ticket's owner alive?).
import { readFileSync } from 'node:fs';

/**
 * A process's state letter (R, S, D, Z, X, ...) from /proc/PID/stat, or undefined when /proc has no such process.
 * The command name before it, in parentheses, may itself hold ") ": the state follows the last ")".
 */
export function processState(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const close = stat.lastIndexOf(')');
  const state = close < 0 ? '' : stat.charAt(close + 2);
  return state === '' ? undefined : state;
}

/**
 * Whether pid is a running process: /proc has it and it is neither a zombie (Z: exited, its parent has yet to reap
 * it; a daemon reparented to PID 1 may stay one for a while) nor dead (X). Neither holds a lock or serves anything.
 */
export function processRuns(pid: number): boolean {
  const state = processState(pid);
  return state !== undefined && state !== 'Z' && state !== 'X';
}
