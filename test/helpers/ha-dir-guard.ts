// Fails a test file that leaves an election record in the host's default controller.ha.dir (/var/lib/vadc/ha). A
// daemon served without `controller.ha.dir` runs a host election there (ha: auto), keeps its files after it stops
// (one set per pair key, and a test's config names temp paths: a new key each run) and pairs with any other test's
// daemon of the same configuration on this machine. Tests give each daemon a dir of their own (and remove it).
//
// Only this file's daemons count, by the record's owner pid: the jest worker itself (serve() in process) or a process
// it started (`vadc start` children, seen while they run: after each test). Other test runs on the machine may write
// there at the same time; their records are not this file's failure.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const DEFAULT_HA_DIR = '/var/lib/vadc/ha';

/** The election records (`vadc-KEY.json`, not the pair's `.config.json`) in `dir`; none if it does not exist. */
export function electionRecords(dir = DEFAULT_HA_DIR): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.json') && !f.endsWith('.config.json'));
  } catch {
    return [];
  }
}

/** The owner pid a record names, or undefined if it cannot be read. */
export function recordPid(file: string): number | undefined {
  try {
    const pid = (JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown }).pid;
    return typeof pid === 'number' ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** True if `pid` is `ancestor` or a live descendant of it (its /proc parent chain). */
export function descendsFrom(pid: number, ancestor: number): boolean {
  for (let p = pid, hops = 0; p > 1 && hops < 64; hops++) {
    if (p === ancestor) return true;
    try {
      // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses, so read after the last ')'.
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      p = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      return false;
    }
  }
  return false;
}

const before = new Set<string>();
const ours = new Set<string>();

function noteOurs(): void {
  for (const f of electionRecords()) {
    if (before.has(f) || ours.has(f)) continue;
    const pid = recordPid(path.join(DEFAULT_HA_DIR, f));
    if (pid !== undefined && descendsFrom(pid, process.pid)) ours.add(f);
  }
}

beforeAll(() => {
  for (const f of electionRecords()) before.add(f);
});
afterEach(noteOurs);
afterAll(() => {
  noteOurs();
  if (ours.size > 0) {
    throw new Error(`this test file left election records in ${DEFAULT_HA_DIR}: ${[...ours].sort().join(', ')} (a daemon served without controller.ha.dir: give it a temp dir of its own)`);
  }
});
