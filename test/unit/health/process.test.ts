import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runProcess } from '../../../src/health';
import { processGoneWithin, scriptFolder } from './helpers';

let folder: ReturnType<typeof scriptFolder>;
let dir: string;
beforeAll(() => {
  folder = scriptFolder('vadc-health-proc-');
  dir = folder.dir;
});
afterAll(() => folder.remove());
const script = (name: string, body: string) => folder.script(name, body);

describe('runProcess', () => {
  it('kills a hanging script and its children at the timeout', async () => {
    const pidFile = join(dir, 'child.pid');
    const path = script('hang.sh', `sleep 60 &\necho $! > ${pidFile}\nsleep 60`);
    const outcome = await runProcess({ command: [path], timeoutMs: 300 });
    expect(outcome.end).toEqual({ kind: 'timed_out' });
    const childPid = Number(readFileSync(pidFile, 'utf8'));
    expect(childPid).toBeGreaterThan(0);
    expect(await processGoneWithin(childPid)).toBe(true);
  });

  it('falls back to SIGKILL for a script that ignores SIGTERM', async () => {
    const path = script('stubborn.sh', `trap '' TERM\nwhile true; do sleep 0.05; done`);
    const outcome = await runProcess({ command: [path], timeoutMs: 200, killGraceMs: 100 });
    expect(outcome.end).toEqual({ kind: 'timed_out' });
  });

  it('truncates long output and says how much was dropped', async () => {
    const outcome = await runProcess({ command: ['/bin/sh', '-c', 'head -c 5000 /dev/zero | tr "\\0" x'], timeoutMs: 2000, maxOutputBytes: 100 });
    expect(outcome.end).toEqual({ kind: 'exited', code: 0 });
    expect(outcome.stdout).toBe(`${'x'.repeat(100)}...[4900 more bytes truncated]`);
  });

  it('passes the environment and reports the exit code', async () => {
    const outcome = await runProcess({ command: 'echo "$VADC_BACKEND"; exit 3', env: { VADC_BACKEND: 'vm7' }, timeoutMs: 2000 });
    expect(outcome).toMatchObject({ end: { kind: 'exited', code: 3 }, stdout: 'vm7\n' });
  });

  it('stops the process group when aborted', async () => {
    const ac = new AbortController();
    const pending = runProcess({ command: ['sleep', '60'], timeoutMs: 60_000, signal: ac.signal });
    setImmediate(() => ac.abort());
    expect((await pending).end).toEqual({ kind: 'aborted' });
  });

  it('does not wait for a background child that keeps the output pipe open', async () => {
    const pidFile = join(dir, 'bg.pid');
    const outcome = await runProcess({ command: `sleep 60 & echo $! > ${pidFile}; echo started`, timeoutMs: 5000 });
    expect(outcome).toMatchObject({ end: { kind: 'exited', code: 0 }, stdout: 'started\n' });
    // runProcess stops the child itself once the command ended (hook-safety.test.ts); it may already be gone.
    try {
      process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
    } catch {
      // ESRCH: gone already.
    }
  });
});
