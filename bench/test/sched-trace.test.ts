import { packetInWaits, parsePerfSched, schedSplit, threadStates, wakeupPlacement, type SchedEvent } from '../lib/sched-trace';

// Lines as `perf script --ns` prints them (perf 6.x, sched tracepoints); the moments are monotonic seconds.
const sw = (comm: string, tid: number, cpu: number, t: string, prev: [string, number, string], next: [string, number]) =>
  `${comm.padStart(16)} ${String(tid).padStart(6)} [${String(cpu).padStart(3, '0')}] ${t}: sched:sched_switch: prev_comm=${prev[0]} prev_pid=${prev[1]} prev_prio=120 prev_state=${prev[2]} ==> next_comm=${next[0]} next_pid=${next[1]} next_prio=120`;
const wake = (comm: string, tid: number, cpu: number, t: string, woken: [string, number], target = 1) =>
  `${comm.padStart(16)} ${String(tid).padStart(6)} [${String(cpu).padStart(3, '0')}] ${t}: sched:sched_wakeup: comm=${woken[0]} pid=${woken[1]} prio=120 target_cpu=${String(target).padStart(3, '0')}`;

describe('parsePerfSched', () => {
  it('reads switches and wake-ups, comms with spaces, nanosecond stamps moved by the offset; skips other lines', () => {
    const text = [
      '[ perf record: Woken up 1 times to write data ]',
      sw('config validati', 77, 1, '36018.000001500', ['config validati', 77, 'R+'], ['node', 100]),
      wake('swapper', 0, 0, '36018.000002000', ['ovs-vswitchd', 55]),
      '            perf 31118 [000] 36018.643252662: sched:sched_stat_runtime: comm=perf pid=31118 runtime=1',
    ].join('\n');
    const events = parsePerfSched(text, 1_000_000);
    expect(events).toEqual([
      { kind: 'switch', us: 36018000001.5 + 1_000_000, cpu: 1, prevComm: 'config validati', prevTid: 77, prevState: 'R+', nextComm: 'node', nextTid: 100 },
      { kind: 'wakeup', us: 36018000002 + 1_000_000, cpu: 0, comm: 'ovs-vswitchd', tid: 55, targetCpu: 1 },
    ]);
  });

  it('sorts by moment (perf writes each CPU\'s buffer in turn)', () => {
    const text = [wake('a', 1, 1, '5.000000300', ['x', 9]), wake('b', 2, 0, '5.000000100', ['y', 8])].join('\n');
    expect(parsePerfSched(text, 0).map((e) => e.us)).toEqual([5000000.1, 5000000.3]);
  });
});

// vadc's thread is tid 100. CPU 0: ovs-vswitchd (55) from 0 to 1500, then vadc until 1800, then idle.
// CPU 1: idle throughout except dumpcap (66) 1200-1300.
const events: SchedEvent[] = parsePerfSched([
  sw('node', 100, 0, '0.000000000', ['node', 100, 'S'], ['ovs-vswitchd', 55]),
  sw('swapper', 0, 1, '0.000000000', ['dumpcap', 66, 'S'], ['swapper/1', 0]),
  wake('ovs-vswitchd', 55, 0, '0.001100000', ['node', 100]),
  wake('swapper', 0, 1, '0.001200000', ['dumpcap', 66]),
  sw('swapper', 0, 1, '0.001200000', ['swapper/1', 0, 'R'], ['dumpcap', 66]),
  sw('dumpcap', 66, 1, '0.001300000', ['dumpcap', 66, 'S'], ['swapper/1', 0]),
  sw('ovs-vswitchd', 55, 0, '0.001500000', ['ovs-vswitchd', 55, 'S'], ['node', 100]),
  sw('node', 100, 0, '0.001800000', ['node', 100, 'R+'], ['ovs-vswitchd', 55]),
  sw('ovs-vswitchd', 55, 0, '0.001900000', ['ovs-vswitchd', 55, 'S'], ['node', 100]),
].join('\n'), 0);

describe('threadStates', () => {
  it('asleep until woken, runnable until switched in, runnable again when preempted (R+)', () => {
    expect(threadStates(events, 100)).toEqual([
      { us: 0, state: 'sleeping' }, { us: 1100, state: 'runnable' }, { us: 1500, state: 'running' }, { us: 1800, state: 'runnable' }, { us: 1900, state: 'running' },
    ]);
  });
});

describe('packetInWaits', () => {
  it('tells the state at arrival, the wait for a CPU, the span\'s states and who held the CPUs meanwhile', () => {
    const [asleep, busy, unknown] = packetInWaits(events, 100, [{ packetIn: 1000, packetOut: 1700 }, { packetIn: 1600, packetOut: 2000 }, { packetIn: -5, packetOut: 0 }]);
    expect(asleep).toEqual({
      packetInUs: 1000, packetOutUs: 1700, atArrival: 'sleeping', untilOnCpuUs: 500,
      inSpanUs: { sleeping: 100, runnable: 400, running: 200, unknown: 0 },
      cpusMeanwhileUs: { 'ovs-vswitchd': 500, idle: 400, dumpcap: 100 },
    });
    expect(busy).toMatchObject({ atArrival: 'running', untilOnCpuUs: 0, inSpanUs: { running: 300, runnable: 100, sleeping: 0, unknown: 0 }, cpusMeanwhileUs: {} });
    expect(unknown.atArrival).toBe('unknown');
  });

  it('names the other threads by the label given', () => {
    const [w] = packetInWaits(events, 100, [{ packetIn: 1000, packetOut: 1700 }], (tid, comm) => (tid === 66 ? `lab ${comm}` : `other ${comm}`));
    expect(w.cpusMeanwhileUs).toEqual({ 'other ovs-vswitchd': 500, idle: 400, 'lab dumpcap': 100 });
  });

  it('schedSplit counts the states at arrival and orders the slowest spans first', () => {
    const waits = packetInWaits(events, 100, [{ packetIn: 1000, packetOut: 1700 }, { packetIn: 1600, packetOut: 2000 }]);
    const split = schedSplit(waits, 1);
    expect(split.atArrival).toEqual({ running: 1, runnable: 0, sleeping: 1, unknown: 0 });
    expect(split.untilOnCpuUs).toMatchObject({ samples: 2, max: 500 });
    expect(split.slowest.map((w) => w.packetInUs)).toEqual([1000]);
    expect(split.cpusMeanwhileUs).toEqual({ 'ovs-vswitchd': 500, idle: 400, dumpcap: 100 });
  });
});

describe('wakeupPlacement', () => {
  // vadc (100) asleep from 0. Wakeup 1: onto CPU 0 (ovs-vswitchd running) while CPU 1 is idle, on a CPU 400 us later.
  // Wakeup 2: onto CPU 0, idle since vadc slept at 2000, on a CPU 100 us later. Wakeup 3: onto CPU 1 (dumpcap) with
  // CPU 0 busy too; it first runs on CPU 0, 500 us later.
  const placed = parsePerfSched([
    sw('node', 100, 0, '0.000000000', ['node', 100, 'S'], ['ovs-vswitchd', 55]),
    sw('dumpcap', 66, 1, '0.000000000', ['dumpcap', 66, 'S'], ['swapper/1', 0]),
    wake('ovs-vswitchd', 55, 0, '0.001100000', ['node', 100], 0),
    sw('ovs-vswitchd', 55, 0, '0.001500000', ['ovs-vswitchd', 55, 'S'], ['node', 100]),
    sw('node', 100, 0, '0.002000000', ['node', 100, 'S'], ['swapper/0', 0]),
    sw('swapper', 0, 1, '0.002500000', ['swapper/1', 0, 'R'], ['dumpcap', 66]),
    wake('swapper', 0, 0, '0.003000000', ['node', 100], 0),
    sw('swapper', 0, 0, '0.003100000', ['swapper/0', 0, 'R'], ['node', 100]),
    sw('node', 100, 0, '0.004000000', ['node', 100, 'S'], ['ovs-vswitchd', 55]),
    wake('dumpcap', 66, 1, '0.004500000', ['node', 100], 1),
    sw('ovs-vswitchd', 55, 0, '0.005000000', ['ovs-vswitchd', 55, 'S'], ['node', 100]),
  ].join('\n'), 0);

  it('classes each asleep-at-arrival packet-in by the chosen CPU and the others at the wakeup, with the wait until on a CPU', () => {
    const p = wakeupPlacement(placed, 100, [
      { packetIn: 1000, packetOut: 1700 }, { packetIn: 2900, packetOut: 3500 }, { packetIn: 4200, packetOut: 5200 },
      { packetIn: 1600, packetOut: 1700 }, // running at arrival: not a wakeup's
      { packetIn: 2100, packetOut: 2200 }, // asleep, but no wakeup before its packet-out
    ]);
    expect(p).toMatchObject({ onIdleCpu: 1, onBusyCpuOtherIdle: 1, allBusy: 1, unknown: 1, ranElsewhere: 1 });
    expect([p.waitUs.onIdleCpu.max, p.waitUs.onBusyCpuOtherIdle.max, p.waitUs.allBusy.max]).toEqual([100, 400, 500]);
  });

  it('counts a wakeup without target_cpu as unknown', () => {
    const text = [sw('node', 100, 0, '0.000000000', ['node', 100, 'S'], ['swapper/0', 0]), wake('x', 1, 0, '0.000100000', ['node', 100]).replace(/ target_cpu=\d+/, ''),
      sw('swapper', 0, 0, '0.000200000', ['swapper/0', 0, 'R'], ['node', 100])].join('\n');
    expect(wakeupPlacement(parsePerfSched(text, 0), 100, [{ packetIn: 50, packetOut: 300 }])).toMatchObject({ onIdleCpu: 0, unknown: 1 });
  });
});
