// The one /proc/PID/stat reader (src/util/proc-stat.ts), on real processes: this one, a sleeping child, a real
// zombie (exited, not reaped), one that is gone, and a command name that holds ") " itself.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { processRuns, processState } from '../../../src/util/proc-stat';
import { until } from '../../helpers/until';
import { deadPid, psState, zombieProcess } from '../../helpers/zombie';

describe('processState / processRuns', () => {
  it('this process runs (R, S or D)', () => {
    expect(processState(process.pid)).toMatch(/^[RSD]$/);
    expect(processRuns(process.pid)).toBe(true);
  });

  it('a zombie (exited, not yet reaped) does not run; once reaped it has no state', async () => {
    const z = await zombieProcess();
    try {
      expect(processState(z.pid)).toBe('Z');
      expect(processRuns(z.pid)).toBe(false);
    } finally {
      await z.stop();
    }
    await until(() => psState(z.pid) === undefined, `pid ${z.pid} to be reaped`);
    expect(processState(z.pid)).toBeUndefined();
    expect(processRuns(z.pid)).toBe(false);
  });

  it('a process that is gone has no state', () => {
    const pid = deadPid();
    expect(processState(pid)).toBeUndefined();
    expect(processRuns(pid)).toBe(false);
  });

  it('reads the state after the last ")" of the command name, which may hold ") Z " itself', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vadc-proc-stat-'));
    // A copy of sleep named so that a reader stopping at the first ") " would take "Z" for the state.
    const tricky = path.join(dir, 'a) Z b');
    copyFileSync('/bin/sleep', tricky);
    const child = spawn(tricky, ['30'], { stdio: 'ignore' });
    try {
      await until(() => psState(child.pid!) === 'S', 'the copy of sleep to sleep');
      expect(processState(child.pid!)).toBe('S');
      expect(processRuns(child.pid!)).toBe(true);
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
