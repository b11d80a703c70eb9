import dgram from 'node:dgram';
import http from 'node:http';
import type net from 'node:net';
import { runCheck } from '../../../src/health';
import { matchWithin, REGEX_BUDGET_MS, REGEX_TRIES, timedMatch, type TimedMatch } from '../../../src/health/bounded-match';

/** A pattern that backtracks exponentially on "aaaa...b" (2^n steps for n a's): a careless operator's regex. */
const CATASTROPHIC = /^(a+)+$/;
const HOSTILE = 'a'.repeat(30) + 'b'; // ~10^9 steps: seconds to minutes unbounded

describe('a user regex on a backend-controlled body is bounded in time (issue 18, defect 11)', () => {
  let server: http.Server;
  let port: number;
  const udp = dgram.createSocket('udp4');
  let udpPort: number;

  beforeAll(async () => {
    server = http.createServer((_req, res) => res.end(HOSTILE));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as net.AddressInfo).port;
    udp.on('message', (_m, from) => udp.send(HOSTILE, from.port, from.address));
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
    udpPort = udp.address().port;
  });
  afterAll(() => {
    server.close();
    udp.close();
  });

  it('an HTTP check whose pattern runs out of time fails with a reason saying so, and the event loop keeps turning', async () => {
    let last = performance.now();
    let longestGap = 0;
    const tick = setInterval(() => {
      longestGap = Math.max(longestGap, performance.now() - last);
      last = performance.now();
    }, 5);
    const result = await runCheck({ kind: 'http', host: '127.0.0.1', port, timeoutMs: 20_000, expectBody: CATASTROPHIC });
    clearInterval(tick);
    expect(result.ok).toBe(false);
    expect(result.reason).toBe(`HTTP 200 but expect_body_match ${String(CATASTROPHIC)} did not finish within ${REGEX_BUDGET_MS} ms on a 31-byte body (the pattern backtracks too much: simplify it)`);
    expect(longestGap).toBeLessThan(1000);
  });

  it('so does a UDP check', async () => {
    const result = await runCheck({ kind: 'udp', host: '127.0.0.1', port: udpPort, timeoutMs: 20_000, send: 'x', expect: CATASTROPHIC });
    expect(result).toMatchObject({ ok: false, reason: expect.stringMatching(/^reply: expect_match \/\^\(a\+\)\+\$\/ did not finish within \d+ ms on a 31-byte reply/) });
  });

  it('ordinary patterns match as before, within the budget', () => {
    expect(matchWithin(/ok$/, `${'x'.repeat(65536)}ok`)).toBe(true);
    expect(matchWithin(/^ok/, 'not ok')).toBe(false);
    expect(matchWithin(CATASTROPHIC, HOSTILE, 5)).toBe('timeout');
  });
});

describe('a timeout caused by a loaded machine, not by the pattern', () => {
  /** Runs that answer from a script: [result, CPU ms used]. */
  function scripted(runs: [boolean | 'timeout', number][]): { run: TimedMatch; calls: () => number } {
    let n = 0;
    return { run: () => ({ result: runs[n][0], cpuMs: runs[n++][1] }), calls: () => n };
  }

  it('a run that timed out with little CPU used is tried again', () => {
    const s = scripted([['timeout', 3], [true, 0]]);
    expect(matchWithin(/ok/, 'ok', 50, s.run)).toBe(true);
    expect(s.calls()).toBe(2);
  });

  it('a run that spent its budget in CPU is a timeout at once', () => {
    const s = scripted([['timeout', 49]]);
    expect(matchWithin(/ok/, 'ok', 50, s.run)).toBe('timeout');
    expect(s.calls()).toBe(1);
  });

  it(`at most ${REGEX_TRIES} runs, however starved the process is`, () => {
    const s = scripted(Array.from({ length: 10 }, () => ['timeout', 1] as [boolean | 'timeout', number]));
    expect(matchWithin(/ok/, 'ok', 50, s.run)).toBe('timeout');
    expect(s.calls()).toBe(REGEX_TRIES);
  });

  it('the real timer measures the CPU a backtracking pattern spends, and repeats only starved runs', () => {
    const runs: number[] = [];
    const counted: TimedMatch = (p, t, b) => {
      const r = timedMatch(p, t, b);
      runs.push(r.cpuMs);
      return r;
    };
    expect(matchWithin(CATASTROPHIC, HOSTILE, 20, counted)).toBe('timeout');
    expect(runs[0]).toBeGreaterThan(0);
    // Unloaded, the one run is busy for (nearly) all of its 20 ms; a run starved by the machine may be repeated.
    for (const cpuMs of runs.slice(0, -1)) expect(cpuMs).toBeLessThan(10);
  });
});
