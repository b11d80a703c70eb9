import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { spawnSync } from 'node:child_process';
import { FlowSetupOptionError } from '../../../src/bench/errors';
import {
  callgrindLauncher, compareInstructions, countedRunDir, countedRunOptions, formatInstructions, parseInstructionConnections, perConnection, readCountedDir,
  VALGRIND_CHILD_TIMEOUTS, valgrindVersion,
} from '../../../src/bench/instructions';

const FIXTURE = path.join(__dirname, '../../fixtures/callgrind/bin-true.callgrind.out');

describe('instructions per new connection (bench flowsetup --instructions)', () => {
  it('divides the long run less the short one by the connections between them, with and without compile and the collector', () => {
    const ipv4 = perConnection('ipv4', { connectionsPerLoop: 313, responses: 10_016, ir: 3_100_000_000, compileIr: 410_000_000, gcIr: 250_000_000 },
      { connectionsPerLoop: 1563, responses: 50_016, ir: 3_500_000_000, compileIr: 430_000_000, gcIr: 238_000_000 });
    expect(ipv4.connections).toBe(40_000);
    expect(ipv4.perConnection).toBe(10_000);
    expect(ipv4.perConnectionWithoutCompile).toBe(9_500);
    expect(ipv4.compilePerConnection).toBe(500);
    // The collector did less in the long run than in the short one (it happens): without it the figure is higher.
    expect(ipv4.gcPerConnection).toBe(-300);
    expect(ipv4.perConnectionWithoutCompileAndGc).toBe(9_800);
    const no = { compileIr: 0, gcIr: 0 };
    expect(() => perConnection('ipv6', { connectionsPerLoop: 2, responses: 70, ir: 1, ...no }, { connectionsPerLoop: 3, responses: 70, ir: 2, ...no }))
      .toThrow(/ipv6: the long counted run answered no more connections than the short one \(70 vs 70\)/);
  });

  it("compares IPv6's count with IPv4's against the ceiling on the figure without compile and the collector", () => {
    const run = (responses: number, ir: number, compileIr: number, gcIr: number) => ({ connectionsPerLoop: responses, responses, ir, compileIr, gcIr });
    const ipv4 = perConnection('ipv4', run(1000, 5_000_000, 1_000_000, 400_000), run(3000, 15_000_000, 2_000_000, 1_000_000));
    const ipv6 = perConnection('ipv6', run(1000, 6_000_000, 1_000_000, 400_000), run(3000, 17_600_000, 3_000_000, 600_000));
    const c = compareInstructions(ipv4, ipv6, 1.1);
    expect(ipv4.perConnectionWithoutCompileAndGc).toBe(4_200);
    expect(ipv6.perConnectionWithoutCompileAndGc).toBe(4_700);
    expect(c.ratioWithoutCompileAndGc).toBeCloseTo(4_700 / 4_200, 10);
    expect(c.ratioWithoutCompile).toBeCloseTo(4_800 / 4_500, 10);
    expect(c.ratio).toBeCloseTo(5_800 / 5_000, 10);
    // 1.119 without the collector is over 1.10 although 1.067 with it is within: the verdict is on the former.
    expect(c.verdict).toBe('over');
    expect(compareInstructions(ipv4, ipv6, 1.12).verdict).toBe('within');
    const text = formatInstructions(c);
    expect(text).toContain('1.119 without compile and GC (1.067 with GC, 1.160 with both), ceiling 1.10: OVER');
    expect(text).toMatch(/Ir without compile and GC\s+4,200\s+4,700\s+111\.9 %/);
    expect(text).toMatch(/V8's garbage collector\s+300\s+100\s+33\.3 %/);
    expect(text).toMatch(/Ir without compile\s+4,500\s+4,800\s+106\.7 %/);
  });

  it('sums the callgrind outputs of every controller child of a run', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vadc-insn-test-'));
    try {
      copyFileSync(FIXTURE, path.join(dir, 'callgrind.out.100'));
      copyFileSync(FIXTURE, path.join(dir, 'callgrind.out.101'));
      writeFileSync(path.join(dir, 'other.txt'), 'not read');
      expect(readCountedDir(dir)).toEqual({ ir: 2 * 126_467, compileIr: 0, gcIr: 0 });
      rmSync(path.join(dir, 'callgrind.out.100'));
      rmSync(path.join(dir, 'callgrind.out.101'));
      expect(() => readCountedDir(dir)).toThrow(/no callgrind output/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("runs the child under callgrind with raised timeouts and fixed-count loops, keeping the caller's other options", () => {
    const launcher = callgrindLauncher('/tmp/x');
    expect(launcher.prefix.slice(0, 2)).toEqual(['valgrind', '--tool=callgrind']);
    expect(launcher.prefix).toContain('--callgrind-out-file=/tmp/x/callgrind.out.%p');
    expect(launcher.nodeFlags).toEqual(['--predictable']);
    expect(launcher.prefix).toContain('--separate-callers60=v8::internal::Heap::CollectGarbage(*');
    expect(callgrindLauncher('/tmp/x', true).nodeFlags).toEqual(['--predictable', '--perf-basic-prof']);
    const o = countedRunOptions({ nat: 'conntrack', switches: 8, window: 32, loops: 9, rate: 1500, connections: 7, profileDir: '/p' }, 'ipv6', 313, '/tmp/y');
    expect(o).toMatchObject({ nat: 'conntrack', switches: 8, window: 32, family: 'ipv6', loops: 2, warmupLoops: 1, connections: 313, childTimeouts: VALGRIND_CHILD_TIMEOUTS });
    // Counted children are not pinned, even when the caller pins its timed runs.
    expect(countedRunOptions({ pin: true }, 'ipv4', 5, '/tmp/y').pin).toBe(false);
    expect(o.rate).toBeUndefined();
    expect(o.profileDir).toBeUndefined();
    expect(o.childLauncher?.prefix).toContain('--callgrind-out-file=/tmp/y/callgrind.out.%p');
  });

  it('keeps a counted run in DIR/FAMILY-cCONNECTIONS (emptied first) with --instructions-dir, else in a new temporary directory', () => {
    const keep = mkdtempSync(path.join(os.tmpdir(), 'vadc-insn-keep-'));
    try {
      const dir = countedRunDir('ipv6', 313, keep);
      expect(dir).toBe(path.join(keep, 'ipv6-c313'));
      writeFileSync(path.join(dir, 'callgrind.out.1'), 'old');
      expect(countedRunDir('ipv6', 313, keep)).toBe(dir);
      expect(readdirSync(dir)).toEqual([]);
      const temporary = countedRunDir('ipv4', 5);
      expect(path.basename(temporary)).toMatch(/^vadc-instructions-ipv4-/);
      expect(existsSync(temporary)).toBe(true);
      rmSync(temporary, { recursive: true });
    } finally {
      rmSync(keep, { recursive: true, force: true });
    }
  });

  it('reads SHORT,LONG and names the flag when it is wrong', () => {
    expect(parseInstructionConnections('313, 1563')).toEqual([313, 1563]);
    for (const bad of ['313', '313,1563,2', 'a,b', '0,5', '500,400', '5,5']) {
      expect(() => parseInstructionConnections(bad)).toThrow(FlowSetupOptionError);
    }
    expect(() => parseInstructionConnections('500,400')).toThrow(/--instructions-connections: LONG \(400\) must be more than SHORT \(500\)/);
  });

  it('without valgrind: a usage error (exit 2) that says what to install', () => {
    const missing = (() => ({ error: Object.assign(new Error('spawnSync valgrind ENOENT'), { code: 'ENOENT' }), status: null, stdout: '' })) as unknown as typeof spawnSync;
    let caught: unknown;
    try {
      valgrindVersion(missing);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(FlowSetupOptionError);
    expect((caught as FlowSetupOptionError).oclif.exit).toBe(2);
    expect((caught as Error).message).toMatch(/--instructions: needs valgrind.*ENOENT.*apt-get install valgrind/);
    const present = (() => ({ status: 0, stdout: 'valgrind-3.19.0\n' })) as unknown as typeof spawnSync;
    expect(valgrindVersion(present)).toBe('valgrind-3.19.0');
  });
});
