// Where vadc's thread was while a packet-in waited for it, from the kernel's scheduler events: `perf record -k mono
// -e sched:sched_switch -e sched:sched_wakeup -a` over the latency phase, read back with `perf script --ns`. For each
// packet-in (its moment on the loopback, from the capture) it tells whether vadc's thread was already on a CPU (busy
// with other work: the event loop held), runnable (woken, waiting for a CPU: the machine's scheduling) or asleep
// (waiting to be woken), and who held the CPUs until vadc's thread got one. Pure: text in, figures out.
import { summarize, type Distribution } from './realovs-stats';

export type SchedEvent =
  | { kind: 'switch'; us: number; cpu: number; prevTid: number; prevComm: string; prevState: string; nextTid: number; nextComm: string }
  | { kind: 'wakeup'; us: number; cpu: number; tid: number; comm: string; /** The CPU whose run queue it was put on. */ targetCpu?: number };

const LINE = /\[(\d+)\]\s+(\d+)\.(\d+):\s+sched:(sched_switch|sched_wakeup):\s+(.*)$/;
const SWITCH = /^prev_comm=(.*) prev_pid=(\d+) prev_prio=\d+ prev_state=(\S+) ==> next_comm=(.*) next_pid=(\d+) next_prio=\d+/;
const WAKEUP = /^comm=(.*) pid=(\d+) prio=\d+(?: target_cpu=(\d+))?/;

/**
 * The sched_switch and sched_wakeup lines of `perf script --ns` (other lines are skipped), their moments moved onto
 * the capture's clock: us = the monotonic stamp in us + offsetUs (realtime minus monotonic, measured by the caller).
 */
export function parsePerfSched(text: string, offsetUs: number): SchedEvent[] {
  const events: SchedEvent[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const us = Number(m[2]) * 1e6 + Number(m[3].padEnd(9, '0')) / 1000 + offsetUs;
    const cpu = Number(m[1]);
    if (m[4] === 'sched_switch') {
      const s = SWITCH.exec(m[5]);
      if (s) events.push({ kind: 'switch', us, cpu, prevComm: s[1], prevTid: Number(s[2]), prevState: s[3], nextComm: s[4], nextTid: Number(s[5]) });
    } else {
      const w = WAKEUP.exec(m[5]);
      if (w) events.push({ kind: 'wakeup', us, cpu, comm: w[1], tid: Number(w[2]), ...(w[3] !== undefined ? { targetCpu: Number(w[3]) } : {}) });
    }
  }
  return events.sort((a, b) => a.us - b.us);
}

export type ThreadState = 'running' | 'runnable' | 'sleeping' | 'unknown';

/** One thread's state changes in time order (from each moment on, until the next). */
export function threadStates(events: readonly SchedEvent[], tid: number): Array<{ us: number; state: ThreadState }> {
  const out: Array<{ us: number; state: ThreadState }> = [];
  let last = 'unknown' as ThreadState;
  const set = (us: number, state: ThreadState) => {
    if (state !== last) out.push({ us, state });
    last = state;
  };
  for (const e of events) {
    if (e.kind === 'wakeup') {
      if (e.tid === tid && last !== 'running') set(e.us, 'runnable');
    } else if (e.nextTid === tid) {
      set(e.us, 'running');
    } else if (e.prevTid === tid) {
      // R or R+: preempted, still wants a CPU; anything else (S, D, I, ...) waits for an event.
      set(e.us, e.prevState.startsWith('R') ? 'runnable' : 'sleeping');
    }
  }
  return out;
}

/** Per CPU, who ran from each switch on (named by label; the idle task 'idle'). */
function cpuRuns(events: readonly SchedEvent[], label: (tid: number, comm: string) => string): Map<number, Array<{ us: number; comm: string; tid: number }>> {
  const runs = new Map<number, Array<{ us: number; comm: string; tid: number }>>();
  for (const e of events) {
    if (e.kind !== 'switch') continue;
    let list = runs.get(e.cpu);
    if (!list) runs.set(e.cpu, (list = []));
    list.push({ us: e.us, comm: e.nextTid === 0 ? 'idle' : label(e.nextTid, e.nextComm), tid: e.nextTid });
  }
  return runs;
}

/** The index of the last step at or before us (-1: none), by bisection. */
function indexAt(steps: ReadonlyArray<{ us: number }>, us: number): number {
  let lo = 0;
  let hi = steps.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (steps[mid].us <= us) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** The time in [from, to) a step function (changes in time order) spent at each value. */
function timeIn<T>(steps: ReadonlyArray<{ us: number; value: T }>, from: number, to: number, add: (value: T, us: number) => void): void {
  for (let i = Math.max(0, indexAt(steps, from)); i < steps.length && steps[i].us < to; i++) {
    const start = Math.max(from, steps[i].us);
    const end = Math.min(to, i + 1 < steps.length ? steps[i + 1].us : Infinity);
    if (end > start) add(steps[i].value, end - start);
  }
}

function stateAt(states: ReadonlyArray<{ us: number; state: ThreadState }>, us: number): ThreadState {
  const i = indexAt(states, us);
  return i < 0 ? 'unknown' : states[i].state;
}

/** One packet-in's wait for vadc's thread. */
export interface PacketInWait {
  /** The packet-in on the wire (loopback) and vadc's packet-out, us on the capture's clock. */
  packetInUs: number;
  packetOutUs: number;
  /** vadc's thread when the packet-in crossed the loopback. */
  atArrival: ThreadState;
  /** Packet-in on the wire -> vadc's thread on a CPU (0: it was running), us. */
  untilOnCpuUs: number;
  /** Of the packet-in -> packet-out span, us in each state of vadc's thread. */
  inSpanUs: Record<ThreadState, number>;
  /** Who held the CPUs (all of them) from the packet-in until vadc's thread got one, us by label ('idle': nobody). */
  cpusMeanwhileUs: Record<string, number>;
}

/** label names the other threads (e.g. by process: the lab's, vadc's helpers, outsiders); default their comm. */
export function packetInWaits(
  events: readonly SchedEvent[], tid: number, spans: ReadonlyArray<{ packetIn: number; packetOut: number }>, label: (tid: number, comm: string) => string = (_, comm) => comm,
): PacketInWait[] {
  const states = threadStates(events, tid);
  const stateSteps = states.map((s) => ({ us: s.us, value: s.state }));
  const runs = [...cpuRuns(events, label).values()].map((list) => list.map((r) => ({ us: r.us, value: r.tid === tid ? 'vadc' : r.comm })));
  return spans.map(({ packetIn, packetOut }) => {
    const atArrival = stateAt(states, packetIn);
    let onCpu: number | undefined = atArrival === 'running' ? packetIn : undefined;
    for (let i = indexAt(states, packetIn) + 1; onCpu === undefined && i < states.length; i++) if (states[i].state === 'running') onCpu = states[i].us;
    const untilOnCpuUs = onCpu === undefined ? NaN : onCpu - packetIn;
    const inSpanUs: Record<ThreadState, number> = { running: 0, runnable: 0, sleeping: 0, unknown: 0 };
    timeIn(stateSteps, packetIn, packetOut, (state, us) => (inSpanUs[state] += us));
    const cpusMeanwhileUs: Record<string, number> = {};
    if (onCpu !== undefined && onCpu > packetIn) {
      for (const steps of runs) timeIn(steps, packetIn, onCpu, (comm, us) => (cpusMeanwhileUs[comm] = (cpusMeanwhileUs[comm] ?? 0) + us));
    }
    return { packetInUs: packetIn, packetOutUs: packetOut, atArrival, untilOnCpuUs, inSpanUs, cpusMeanwhileUs };
  });
}

export interface SchedSplit {
  /** Packet-ins by vadc's thread's state at their arrival. */
  atArrival: Record<ThreadState, number>;
  /** Packet-in on the wire -> vadc's thread on a CPU, us. */
  untilOnCpuUs: Distribution;
  /** Over all packet-ins, who held the CPUs while they waited for vadc's thread, us by label. */
  cpusMeanwhileUs: Record<string, number>;
  /** The packet-ins whose packet-out came slowest, slowest first. */
  slowest: PacketInWait[];
}

export function schedSplit(waits: readonly PacketInWait[], slowest = 10): SchedSplit {
  const atArrival: Record<ThreadState, number> = { running: 0, runnable: 0, sleeping: 0, unknown: 0 };
  const cpusMeanwhileUs: Record<string, number> = {};
  for (const w of waits) {
    atArrival[w.atArrival]++;
    for (const [who, us] of Object.entries(w.cpusMeanwhileUs)) cpusMeanwhileUs[who] = (cpusMeanwhileUs[who] ?? 0) + us;
  }
  return {
    atArrival, cpusMeanwhileUs,
    untilOnCpuUs: summarize(waits.map((w) => w.untilOnCpuUs).filter(Number.isFinite)),
    slowest: [...waits].sort((a, b) => (b.packetOutUs - b.packetInUs) - (a.packetOutUs - a.packetInUs)).slice(0, slowest),
  };
}

/** Where the wakeups of vadc's thread put it, for the packet-ins that found it asleep. */
export interface WakeupPlacement {
  /** By the CPU the wakeup chose (its run queue): idle then; busy while another CPU was idle; busy with all busy. */
  onIdleCpu: number;
  onBusyCpuOtherIdle: number;
  allBusy: number;
  /** No wakeup of the thread between the packet-in and its packet-out, or no target_cpu in the trace. */
  unknown: number;
  /** Of the placed ones: first ran on a CPU other than the one chosen (pulled by an idle CPU or migrated). */
  ranElsewhere: number;
  /** The wakeup -> the thread on a CPU, us, by the same classes. */
  waitUs: { onIdleCpu: Distribution; onBusyCpuOtherIdle: Distribution; allBusy: Distribution };
}

/** For each span whose packet-in found thread tid asleep: its first wakeup after the packet-in, and what the CPUs did. */
export function wakeupPlacement(events: readonly SchedEvent[], tid: number, spans: ReadonlyArray<{ packetIn: number; packetOut: number }>): WakeupPlacement {
  const states = threadStates(events, tid);
  const runs = cpuRuns(events, (_, comm) => comm);
  const wakeups = events.filter((e): e is Extract<SchedEvent, { kind: 'wakeup' }> => e.kind === 'wakeup' && e.tid === tid);
  const switchIns = events.filter((e): e is Extract<SchedEvent, { kind: 'switch' }> => e.kind === 'switch' && e.nextTid === tid);
  const idleAt = (cpu: number, us: number) => {
    const list = runs.get(cpu) ?? [];
    const i = indexAt(list, us);
    return i < 0 ? undefined : list[i].tid === 0;
  };
  const out = { onIdleCpu: 0, onBusyCpuOtherIdle: 0, allBusy: 0, unknown: 0, ranElsewhere: 0 };
  const waits: Record<'onIdleCpu' | 'onBusyCpuOtherIdle' | 'allBusy', number[]> = { onIdleCpu: [], onBusyCpuOtherIdle: [], allBusy: [] };
  for (const { packetIn, packetOut } of spans) {
    if (stateAt(states, packetIn) !== 'sleeping') continue;
    const wake = wakeups[indexAt(wakeups, packetIn) + 1];
    const ran = wake && switchIns[indexAt(switchIns, wake.us) + 1];
    const targetIdle = wake?.targetCpu === undefined ? undefined : idleAt(wake.targetCpu, wake.us);
    if (!wake || wake.us > packetOut || !ran || targetIdle === undefined) {
      out.unknown++;
      continue;
    }
    const otherIdle = [...runs.keys()].some((cpu) => cpu !== wake.targetCpu && idleAt(cpu, wake.us) === true);
    const cls = targetIdle ? 'onIdleCpu' : otherIdle ? 'onBusyCpuOtherIdle' : 'allBusy';
    out[cls]++;
    waits[cls].push(ran.us - wake.us);
    if (ran.cpu !== wake.targetCpu) out.ranElsewhere++;
  }
  return { ...out, waitUs: { onIdleCpu: summarize(waits.onIdleCpu), onBusyCpuOtherIdle: summarize(waits.onBusyCpuOtherIdle), allBusy: summarize(waits.allBusy) } };
}
