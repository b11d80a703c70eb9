import {
  chunkOrder, formatTurns, parsePerfSymbols, parsePmdCounters, profileSplit, schedstatCpuNs, symbolCategory, synToGroupInRun, turnsThroughput, type ThroughputChunk,
} from '../lib/throughput-turns';
import { BenchInputError } from '../lib/realovs-stats';

describe('chunkOrder', () => {
  it('alternates which path leads each pair (V S S V V S)', () => {
    expect(chunkOrder(3)).toEqual(['vip', 'static', 'static', 'vip', 'vip', 'static']);
    expect(chunkOrder(1)).toEqual(['vip', 'static']);
  });

  it('refuses a count that is not a whole number >= 1', () => {
    expect(() => chunkOrder(0)).toThrow(BenchInputError);
    expect(() => chunkOrder(1.5)).toThrow(/whole number of chunk pairs/);
  });
});

describe('turnsThroughput', () => {
  const chunk = (path: 'vip' | 'static', ok: number, elapsedMs: number, extra: Partial<ThroughputChunk> = {}): ThroughputChunk => ({ path, ok, failed: 0, elapsedMs, ...extra });

  it('takes the ratio from each path\'s sums, not from the mean of the pairs\' ratios', () => {
    // VIP: 300 in 300 ms + 100 in 200 ms = 400 in 500 ms = 800/s; static: 200 in 200 ms + 200 in 200 ms = 1000/s.
    const t = turnsThroughput([chunk('vip', 300, 300), chunk('static', 200, 200), chunk('static', 200, 200), chunk('vip', 100, 200)]);
    expect(t.vip.perSecond).toBeCloseTo(800, 9);
    expect(t.static.perSecond).toBeCloseTo(1000, 9);
    expect(t.ratio).toBeCloseTo(0.8, 9);
    // Pair 1: 1000/s over 1000/s; pair 2: 500/s over 1000/s (the mean of these, 0.75, would not be the ratio).
    expect(t.pairRatios).toEqual([1, 0.5]);
    expect(t.pairSpread).toEqual({ median: 0.75, min: 0.5, max: 1 });
  });

  it('adds failures, CPU and datapath counters per path, per successful connection', () => {
    const t = turnsThroughput([
      chunk('vip', 100, 100, { failed: 2, ovsCpuUs: 5000, vadcCpuUs: 1000, wallMs: 200, datapath: { 'packet recirculations': 1200, 'packets received': 1000 } }),
      chunk('static', 200, 100, { failed: 1, ovsCpuUs: 4000, vadcCpuUs: 200, wallMs: 200, datapath: { 'packet recirculations': 0, 'packets received': 2000 } }),
      chunk('static', 200, 100, { ovsCpuUs: 4000, datapath: { 'packets received': 2000 } }),
      chunk('vip', 300, 100, { ovsCpuUs: 15000, vadcCpuUs: 3000, wallMs: 300, datapath: { 'packet recirculations': 3600, 'packets received': 3000 } }),
    ]);
    expect(t.vip).toMatchObject({ connections: 400, failed: 2, ovsCpuUsPerConnection: 50, vadcCpuUsPerConnection: 10, vadcCpuPercent: 0.8 });
    expect(t.vip.datapathPerConnection).toEqual({ 'packet recirculations': 12, 'packets received': 10 });
    expect(t.static).toMatchObject({ connections: 400, failed: 1, ovsCpuUsPerConnection: 20 });
    expect(t.static.datapathPerConnection).toEqual({ 'packet recirculations': 0, 'packets received': 10 });
  });

  it('gives NaN for a figure no chunk measured', () => {
    const t = turnsThroughput([chunk('vip', 10, 10), chunk('static', 10, 10)]);
    expect(t.vip.ovsCpuUsPerConnection).toBeNaN();
    expect(t.vip.vadcCpuPercent).toBeNaN();
    expect(t.vip.datapathPerConnection).toEqual({});
  });

  it('refuses chunks that are not whole pairs of one VIP and one static chunk', () => {
    expect(() => turnsThroughput([])).toThrow(/not whole pairs/);
    expect(() => turnsThroughput([chunk('vip', 1, 1)])).toThrow(BenchInputError);
    expect(() => turnsThroughput([chunk('vip', 1, 1), chunk('vip', 1, 1)])).toThrow(/chunks 1 and 2 are not one VIP and one static chunk/);
  });
});

describe('parsePmdCounters', () => {
  const text = [
    'pmd thread numa_id 0 core_id 1:',
    '  packets received: 7',
    '  packet recirculations: 7',
    'main thread:',
    '  packets received: 4200',
    '  packet recirculations: 3100',
    '  avg. datapath passes per packet: 1.74',
    '  emc hits: 0',
    '  megaflow hits: 7200',
    '  avg. subtable lookups per megaflow hit: 2.10',
    '  miss with success upcall: 100',
    '  processing cycles: 123456 (100.00%)',
    '  avg cycles per packet: 29.39 (123456/4200)',
    '',
  ].join('\n');

  it('reads the main thread\'s counters and leaves the averages out', () => {
    expect(parsePmdCounters(text)).toEqual({
      'packets received': 4200, 'packet recirculations': 3100, 'emc hits': 0, 'megaflow hits': 7200, 'miss with success upcall': 100, 'processing cycles': 123456,
    });
  });

  it('reads the first section when there is no main thread', () => {
    expect(parsePmdCounters('pmd thread numa_id 0 core_id 1:\n  packets received: 7\n')).toEqual({ 'packets received': 7 });
  });
});

describe('schedstatCpuNs', () => {
  it('sums the first field of each thread\'s schedstat', () => {
    expect(schedstatCpuNs(['1000 50 3\n', '2500 0 1'])).toBe(3500);
  });

  it('refuses a text that is not a schedstat line', () => {
    expect(() => schedstatCpuNs(['gone'])).toThrow(/not a schedstat line/);
  });
});

describe('parsePerfSymbols and profileSplit', () => {
  const report = (lines: string[]) => ['# Samples: 3  of event \'cpu-clock\'', '#       Period       Samples  Symbol', '# ....', ...lines, ''].join('\n');

  it('reads self time by symbol, kernel and user', () => {
    const m = parsePerfSymbols(report(['       2002002             2  [.] conntrack_execute', '       1001001             1  [k] tcp_v4_rcv     ']));
    expect([...m]).toEqual([['[.] conntrack_execute', 2002002], ['[k] tcp_v4_rcv', 1001001]]);
  });

  it('sorts symbols into the datapath\'s work, kernel names apart from userspace ones', () => {
    expect(symbolCategory('[.] conn_key_hash')).toBe('conntrack');
    expect(symbolCategory('[.] dpcls_lookup')).toMatch(/^datapath lookup/);
    expect(symbolCategory('[.] xlate_actions')).toMatch(/^upcall/);
    expect(symbolCategory('[.] odp_execute_actions')).toMatch(/^packet actions/);
    expect(symbolCategory('[k] tcp_conn_request')).toMatch(/^kernel: TCP/);
    expect(symbolCategory('[k] _raw_spin_unlock_irqrestore')).toBe('kernel: other');
    expect(symbolCategory('[.] 0x0000000000014a94')).toBe('unresolved address');
    expect(symbolCategory('[.] malloc')).toBe('userspace: other');
  });

  it('gives each path\'s self time per connection and what the VIP adds, largest first', () => {
    const vip = new Map([['[.] conntrack_execute', 3_000_000], ['[k] tcp_v4_rcv', 2_000_000]]);
    const statik = new Map([['[k] tcp_v4_rcv', 4_000_000], ['[.] dpcls_lookup', 1_000_000]]);
    const s = profileSplit(vip, statik, 100, 200);
    expect(s.total).toEqual({ what: 'all of ovs-vswitchd', vipUs: 50, staticUs: 25, extraUs: 25 });
    expect(s.symbols.map((r) => [r.what, r.vipUs, r.staticUs, r.extraUs])).toEqual([
      ['[.] conntrack_execute', 30, 0, 30], ['[k] tcp_v4_rcv', 20, 20, 0], ['[.] dpcls_lookup', 0, 5, -5],
    ]);
    expect(s.categories[0]).toEqual({ what: 'conntrack', vipUs: 30, staticUs: 0, extraUs: 30 });
    expect(profileSplit(vip, statik, 100, 200, 1).symbols).toHaveLength(1);
  });

  it('refuses a split without connections on a path', () => {
    expect(() => profileSplit(new Map(), new Map(), 0, 10)).toThrow(/connections on both paths/);
  });
});

describe('formatTurns', () => {
  it('prints each run\'s ratio, pairs, the old ratio beside it and the costs per connection by path', () => {
    const turns = turnsThroughput([
      { path: 'vip', ok: 100, failed: 0, elapsedMs: 100, ovsCpuUs: 9000, datapath: { 'packet recirculations': 1210 } },
      { path: 'static', ok: 100, failed: 0, elapsedMs: 80, ovsCpuUs: 6000, datapath: { 'packet recirculations': 0 } },
    ]);
    const text = formatTurns([{}, { turns, phases: { ratio: 0.7 } }]);
    expect(text).toContain('run 2 by turns: ratio 0.800 (1000 / 1250 conn/s); pairs 0.800; old measure (phases, controller detached for the static one) 0.700');
    expect(text).toContain('ovs-vswitchd CPU us 90 / 60; packets received - / -; packet recirculations 12.10 / 0.00');
    expect(text).not.toContain('run 1');
  });

  it('prints the profile\'s rows with the VIP\'s extra signed', () => {
    const turns = { ...turnsThroughput([{ path: 'vip', ok: 1, failed: 0, elapsedMs: 1 }, { path: 'static', ok: 1, failed: 0, elapsedMs: 1 }]),
      profile: { ...profileSplit(new Map([['[.] conn_key_hash', 3000]]), new Map([['[.] dpcls_lookup', 5000]]), 1, 1), files: ['a.data'] } };
    const text = formatTurns([{ turns }]);
    expect(text).toContain('    3.0 / 0.0 (+3.0)  conntrack');
    expect(text).toContain('    0.0 / 5.0 (-5.0)  [.] dpcls_lookup');
    expect(text).toContain('recordings: a.data');
  });
});

describe('synToGroupInRun', () => {
  it('takes the candidate in runs 2 and 3 of each 4 with abba, always with on, never with off', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((r) => synToGroupInRun('abba', r))).toEqual([false, true, true, false, false, true, true, false]);
    expect(synToGroupInRun('on', 0)).toBe(true);
    expect(synToGroupInRun('off', 1)).toBe(false);
  });

  it('gives formatTurns a median ratio by pipeline when the runs differ', () => {
    const t = (vipMs: number) => turnsThroughput([{ path: 'vip', ok: 100, failed: 0, elapsedMs: vipMs }, { path: 'static', ok: 100, failed: 0, elapsedMs: 100 }]);
    const text = formatTurns([
      { turns: t(125), pipeline: 'vadc' }, { turns: t(100), pipeline: 'syn-to-group' }, { turns: t(200), pipeline: 'syn-to-group' }, { turns: t(100), pipeline: 'vadc' },
    ]);
    expect(text).toContain('run 2 (pipeline syn-to-group) by turns: ratio 1.000');
    expect(text).toContain('ratio by pipeline, median (runs): vadc 0.900 (0.800 1.000); syn-to-group 0.750 (1.000 0.500)');
    expect(formatTurns([{ turns: t(100), pipeline: 'vadc' }])).not.toContain('by pipeline');
  });
});
