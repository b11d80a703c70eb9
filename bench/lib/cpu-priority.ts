// A scheduling priority for one thread (vadc's, in the real-OVS bench: `--prio`), the remedies an operator has for
// the first-packet tail without giving vadc a core of its own: a higher CFS weight (nice), a real-time class
// (SCHED_FIFO/SCHED_RR) or, on Linux 6.12+ (EEVDF), a shorter time slice at nice 0, which lets a woken thread
// preempt the running one instead of waiting for the end of its slice. Set with sched_setattr(2) and
// SCHED_FLAG_RESET_ON_FORK, so the processes and threads the bench starts afterwards (the lab's clients, dumpcap,
// perf, libuv's pool) keep the default. Node has no binding for sched_setattr: a python3 one-shot calls it.
import { readFileSync, writeFileSync } from 'node:fs';
import { run } from '../../src/lab/system';

export type CpuPriority =
  | { kind: 'nice'; nice: number }
  | { kind: 'fifo' | 'rr'; priority: number }
  | { kind: 'slice'; sliceUs: number };

const USAGE = 'nice:N (-20..19), fifo:N or rr:N (1..99), slice:US (100..100000, SCHED_OTHER at nice 0)';

/** `nice:-10`, `fifo:1`, `rr:1`, `slice:100`; a clear error otherwise. */
export function parseCpuPriority(text: string): CpuPriority {
  const m = /^(nice|fifo|rr|slice):(-?\d+)$/.exec(text.trim());
  if (!m) throw new Error(`--prio must be one of ${USAGE}, not ${JSON.stringify(text)}`);
  const n = Number(m[2]);
  const within = (lo: number, hi: number) => {
    if (n < lo || n > hi) throw new Error(`--prio ${m[1]}:${n}: ${m[1]} must be ${lo}..${hi}`);
  };
  if (m[1] === 'nice') {
    within(-20, 19);
    return { kind: 'nice', nice: n };
  }
  if (m[1] === 'slice') {
    within(100, 100_000); // the kernel clamps a custom slice to 0.1-100 ms
    return { kind: 'slice', sliceUs: n };
  }
  within(1, 99);
  return { kind: m[1] as 'fifo' | 'rr', priority: n };
}

export function describeCpuPriority(p: CpuPriority): string {
  if (p.kind === 'nice') return `SCHED_OTHER nice ${p.nice}`;
  if (p.kind === 'slice') return `SCHED_OTHER nice 0, slice ${p.sliceUs} us`;
  return `SCHED_${p.kind.toUpperCase()} ${p.priority}`;
}

/** struct sched_attr's fields (linux/sched/types.h) for p, reset-on-fork set. */
export function schedAttr(p: CpuPriority): { policy: number; flags: number; nice: number; priority: number; runtimeNs: number } {
  const RESET_ON_FORK = 0x01;
  if (p.kind === 'nice') return { policy: 0, flags: RESET_ON_FORK, nice: p.nice, priority: 0, runtimeNs: 0 };
  if (p.kind === 'slice') return { policy: 0, flags: RESET_ON_FORK, nice: 0, priority: 0, runtimeNs: p.sliceUs * 1000 };
  return { policy: p.kind === 'fifo' ? 1 : 2, flags: RESET_ON_FORK, nice: 0, priority: p.priority, runtimeNs: 0 };
}

// sched_setattr (314) and sched_getattr (315) on x86_64; struct sched_attr version 1 (56 bytes).
const SETATTR_PY = `
import ctypes, os, struct, sys
tid, policy, flags, nice, prio, runtime = (int(a) for a in sys.argv[1:])
libc = ctypes.CDLL(None, use_errno=True)
fmt = 'IIQiIQQQII'
if libc.syscall(314, tid, ctypes.create_string_buffer(struct.pack(fmt, 56, policy, flags, nice, prio, runtime, 0, 0, 0, 0), 56), 0) != 0:
    e = ctypes.get_errno(); sys.stderr.write('sched_setattr: %s (%s)\\n' % (os.strerror(e), 'EPERM' if e == 1 else e)); sys.exit(1)
out = ctypes.create_string_buffer(56)
libc.syscall(315, tid, out, 56, 0)
a = struct.unpack(fmt, out.raw)
print('policy=%d flags=%d nice=%d priority=%d runtime_ns=%d' % (a[1], a[2], a[3], a[4], a[5]))
`;

/** Sets thread tid's scheduling; returns the attributes read back (sched_getattr), or throws the kernel's refusal. */
export async function applyCpuPriority(tid: number, p: CpuPriority): Promise<string> {
  const a = schedAttr(p);
  const result = await run(['python3', '-c', SETATTR_PY, String(tid), String(a.policy), String(a.flags), String(a.nice), String(a.priority), String(a.runtimeNs)], { timeoutMs: 30_000 });
  return result.stdout.trim();
}

/**
 * The nice value of pid's autogroup (/proc/PID/autogroup; kernel.sched_autogroup_enabled): with autogroups, each session
 * is one scheduling entity against the others, and a thread's own nice weighs only inside its session. Returns the line
 * read back, e.g. `/autogroup-3033 nice -10`.
 */
export function setAutogroupNice(pid: number, nice: number): string {
  if (!Number.isInteger(nice) || nice < -20 || nice > 19) throw new Error(`autogroup nice must be an integer -20..19, not ${nice}`);
  const file = `/proc/${pid}/autogroup`;
  writeFileSync(file, String(nice));
  return readFileSync(file, 'utf8').trim();
}

/**
 * The nice value of pid's autogroup (the session's processes share it; set it back after a run), or undefined when pid
 * is in the root autogroup: a session that began before autogroups (PID 1's, e.g. a container's or CI's command run
 * without setsid) has no line in /proc/PID/autogroup, and the kernel refuses to set its nice (EINVAL).
 */
export function autogroupNice(pid: number): number | undefined {
  return parseAutogroup(readFileSync(`/proc/${pid}/autogroup`, 'utf8'), pid);
}

/** /proc/PID/autogroup's text: `/autogroup-ID nice N`, or empty for the root autogroup; anything else is refused. */
export function parseAutogroup(text: string, pid: number): number | undefined {
  if (text.trim() === '') return undefined;
  const m = /^\/autogroup-\d+ nice (-?\d+)$/.exec(text.trim());
  if (!m) throw new Error(`/proc/${pid}/autogroup: expected "/autogroup-ID nice N" or nothing, not ${JSON.stringify(text.slice(0, 80))}`);
  return Number(m[1]);
}
