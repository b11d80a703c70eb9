// The guard that fails a test file leaving election records in /var/lib/vadc/ha (test/helpers/ha-dir-guard.ts):
// which files it counts and whose records it calls this file's.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { descendsFrom, electionRecords, recordPid } from '../../helpers/ha-dir-guard';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'vadc-ha-guard-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('counts the election records, not the pair config, lock, claim or standby files; none in a dir that is not there', () => {
  for (const f of ['vadc-a.json', 'vadc-a.config.json', 'vadc-a.lock', 'vadc-a.claim-1', 'vadc-a.standby']) writeFileSync(path.join(dir, f), '{}');
  expect(electionRecords(dir)).toEqual(['vadc-a.json']);
  expect(electionRecords(path.join(dir, 'missing'))).toEqual([]);
});

it("reads a record's owner pid; a torn or foreign file has none", () => {
  writeFileSync(path.join(dir, 'r.json'), JSON.stringify({ owner: '42@tcp:127.0.0.1:0', pid: 42, generation: '1' }));
  writeFileSync(path.join(dir, 'torn.json'), '{"owner":');
  expect(recordPid(path.join(dir, 'r.json'))).toBe(42);
  expect(recordPid(path.join(dir, 'torn.json'))).toBeUndefined();
});

it('this process and the processes it started are its own; its parent and pid 1 are not', async () => {
  // A grandchild through a shell, as `npx`/`sh -c` would start a daemon.
  const child = spawn('sh', ['-c', 'sleep 30 & echo $!; wait'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const grandchild = await new Promise<number>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  try {
    expect(descendsFrom(process.pid, process.pid)).toBe(true);
    expect(descendsFrom(child.pid!, process.pid)).toBe(true);
    expect(descendsFrom(grandchild, process.pid)).toBe(true);
    expect(descendsFrom(process.ppid, process.pid)).toBe(false);
    expect(descendsFrom(1, process.pid)).toBe(false);
  } finally {
    process.kill(grandchild, 'SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }
});
