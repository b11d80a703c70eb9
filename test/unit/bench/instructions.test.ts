import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { spawnSync } from 'node:child_process';
import { FlowSetupOptionError } from '../../../src/bench/errors';
import {
  callgrindLauncher, compareInstructions, countedRunOptions, formatInstructions, parseInstructionConnections, perConnection, readCountedDir,
  VALGRIND_CHILD_TIMEOUTS, valgrindVersion,
} from '../../../src/bench/instructions';

const FIXTURE = path.join(__dirname, '../../fixtures/callgrind/bin-true.callgrind.out');

describe('instructions per new connection (bench flowsetup --instructions)', () => {
  it('divides the long run less the short one by the connections between them, with and without compile', () => {
    const ipv4 = perConnection('ipv4', { connectionsPerLoop: 313, responses: 10_016, ir: 3_100_000_000, compileIr: 410_000_000 },
      { connectionsPerLoop: 1563, responses: 50_016, ir: 3_500_000_000, compileIr: 430_000_000 });
    expect(ipv4.connections).toBe(40_000);
    expect(ipv4.perConnection).toBe(10_000);
    expect(ipv4.perConnectionWithoutCompile).toBe(9_500);
    expect(ipv4.compilePerConnection).toBe(500);
    expect(() => perConnection('ipv6', { connectionsPerLoop: 2, responses: 70, ir: 1, compileIr: 0 }, { connectionsPerLoop: 3, responses: 70, ir: 2, compileIr: 0 }))
      .toThrow(/ipv6: the long counted run answered no more connections than the short one \(70 vs 70\)/);
  });

  it("compares IPv6's count with IPv4's against the ceiling on the figure without compile", () => {
    const run = (responses: number, ir: number, compileIr: number) => ({ connectionsPerLoop: responses, responses, ir, compileIr });
    const ipv4 = perConnection('ipv4', run(1000, 5_000_000, 1_000_000), run(3000, 15_000_000, 2_000_000));
    const ipv6 = perConnection('ipv6', run(1000, 6_000_000, 1_000_000), run(3000, 17_600_000, 3_000_000));
    const c = compareInstructions(ipv4, ipv6, 1.1);
    expect(c.ratioWithoutCompile).toBeCloseTo(4_800 / 4_500, 10);
    expect(c.ratio).toBeCloseTo(5_800 / 5_000, 10);
    expect(c.verdict).toBe('within');
    expect(compareInstructions(ipv4, ipv6, 1.05).verdict).toBe('over');
    const text = formatInstructions(c);
    expect(text).toContain('1.067 without compile (1.160 with), ceiling 1.10: WITHIN');
    expect(text).toMatch(/Ir without compile\s+4,500\s+4,800\s+106\.7 %/);
  });

  it('sums the callgrind outputs of every controller child of a run', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vadc-insn-test-'));
    try {
      copyFileSync(FIXTURE, path.join(dir, 'callgrind.out.100'));
      copyFileSync(FIXTURE, path.join(dir, 'callgrind.out.101'));
      writeFileSync(path.join(dir, 'other.txt'), 'not read');
      expect(readCountedDir(dir)).toEqual({ ir: 2 * 126_467, compileIr: 0 });
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
    expect(callgrindLauncher('/tmp/x', true).nodeFlags).toEqual(['--predictable', '--perf-basic-prof']);
    const o = countedRunOptions({ nat: 'conntrack', switches: 8, window: 32, loops: 9, rate: 1500, connections: 7, profileDir: '/p' }, 'ipv6', 313, '/tmp/y');
    expect(o).toMatchObject({ nat: 'conntrack', switches: 8, window: 32, family: 'ipv6', loops: 2, warmupLoops: 1, connections: 313, childTimeouts: VALGRIND_CHILD_TIMEOUTS });
    expect(o.rate).toBeUndefined();
    expect(o.profileDir).toBeUndefined();
    expect(o.childLauncher?.prefix).toContain('--callgrind-out-file=/tmp/y/callgrind.out.%p');
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
