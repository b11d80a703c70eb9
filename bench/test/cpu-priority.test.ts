import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { applyCpuPriority, autogroupNice, describeCpuPriority, parseAutogroup, parseCpuPriority, schedAttr, setAutogroupNice } from '../lib/cpu-priority';

describe('parseCpuPriority', () => {
  it('reads nice, fifo, rr and slice', () => {
    expect(parseCpuPriority('nice:-10')).toEqual({ kind: 'nice', nice: -10 });
    expect(parseCpuPriority('fifo:1')).toEqual({ kind: 'fifo', priority: 1 });
    expect(parseCpuPriority(' rr:99 ')).toEqual({ kind: 'rr', priority: 99 });
    expect(parseCpuPriority('slice:100')).toEqual({ kind: 'slice', sliceUs: 100 });
  });

  it('names the forms or the range when the text is wrong', () => {
    expect(() => parseCpuPriority('fifo')).toThrow(/--prio must be one of nice:N .* not "fifo"/);
    expect(() => parseCpuPriority('deadline:1')).toThrow(/not "deadline:1"/);
    expect(() => parseCpuPriority('nice:-21')).toThrow('--prio nice:-21: nice must be -20..19');
    expect(() => parseCpuPriority('fifo:0')).toThrow('fifo must be 1..99');
    expect(() => parseCpuPriority('rr:100')).toThrow('rr must be 1..99');
    expect(() => parseCpuPriority('slice:99')).toThrow('slice must be 100..100000');
  });
});

describe('schedAttr', () => {
  it('maps each kind to sched_attr with reset-on-fork', () => {
    expect(schedAttr({ kind: 'nice', nice: -5 })).toEqual({ policy: 0, flags: 1, nice: -5, priority: 0, runtimeNs: 0 });
    expect(schedAttr({ kind: 'fifo', priority: 2 })).toEqual({ policy: 1, flags: 1, nice: 0, priority: 2, runtimeNs: 0 });
    expect(schedAttr({ kind: 'rr', priority: 3 })).toEqual({ policy: 2, flags: 1, nice: 0, priority: 3, runtimeNs: 0 });
    expect(schedAttr({ kind: 'slice', sliceUs: 250 })).toEqual({ policy: 0, flags: 1, nice: 0, priority: 0, runtimeNs: 250_000 });
    expect(describeCpuPriority({ kind: 'slice', sliceUs: 250 })).toBe('SCHED_OTHER nice 0, slice 250 us');
  });
});

describe('applyCpuPriority', () => {
  it('sets a thread\'s nice (a lower priority needs no privilege) and reads it back', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const readBack = await applyCpuPriority(child.pid!, { kind: 'nice', nice: 7 });
      expect(readBack).toMatch(/^policy=0 flags=1 nice=7 priority=0 runtime_ns=\d+$/); // runtime: the slice in force
      // /proc/PID/stat field 19 is the nice value (after the parenthesised comm).
      expect(readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ')[16]).toBe('7');
    } finally {
      child.kill();
    }
  });

  it('passes on the kernel\'s refusal', async () => {
    await expect(applyCpuPriority(2 ** 22 + 12345, { kind: 'nice', nice: 1 })).rejects.toThrow(/sched_setattr: No such process/);
  });
});

describe('parseAutogroup', () => {
  it('reads a session\'s nice, nothing for the root autogroup, and refuses other text', () => {
    expect(parseAutogroup('/autogroup-3465 nice -10\n', 7)).toBe(-10);
    expect(parseAutogroup('/autogroup-12 nice 19\n', 7)).toBe(19);
    expect(parseAutogroup('', 7)).toBeUndefined();
    expect(() => parseAutogroup('nice x\n', 7)).toThrow('/proc/7/autogroup: expected "/autogroup-ID nice N" or nothing, not "nice x\\n"');
  });
});

(readFileSync('/proc/sys/kernel/sched_autogroup_enabled', 'utf8').trim() === '1' && process.getuid?.() === 0 ? describe : describe.skip)('setAutogroupNice (autogroups on, root)', () => {
  it('sets the nice of a session of its own and leaves this one\'s alone', async () => {
    // detached: setsid, so the child is a session (and an autogroup) of its own.
    const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    try {
      await new Promise((r) => child.once('spawn', r));
      // undefined when this process is in the root autogroup (CI runs npm test in PID 1's session, without setsid).
      const mine = autogroupNice(process.pid);
      expect(setAutogroupNice(child.pid!, 5)).toMatch(/^\/autogroup-\d+ nice 5$/);
      expect(autogroupNice(child.pid!)).toBe(5);
      expect(autogroupNice(process.pid)).toBe(mine);
      expect(() => setAutogroupNice(child.pid!, -21)).toThrow('autogroup nice must be an integer -20..19, not -21');
    } finally {
      child.kill();
    }
  });
});
