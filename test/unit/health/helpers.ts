import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processRuns } from '../../../src/util/proc-stat';

/** A temporary folder for test scripts; `script` writes an sh script there and returns its path. */
export function scriptFolder(prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    script(name: string, body: string, mode = 0o755): string {
      const path = join(dir, name);
      writeFileSync(path, `#!/bin/sh\n${body}\n`);
      chmodSync(path, mode);
      return path;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Gone = no /proc entry, or a zombie waiting for its new parent to reap it. */
export function isProcessGone(pid: number): boolean {
  return !processRuns(pid);
}

/**
 * Whether `pid` is gone within `withinMs`. A SIGKILL is delivered when the target next runs, so on a busy
 * machine the process can still be listed for a moment after the kill was sent.
 */
export async function processGoneWithin(pid: number, withinMs = 2000): Promise<boolean> {
  for (const end = Date.now() + withinMs; !isProcessGone(pid); await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() > end) return false;
  }
  return true;
}
