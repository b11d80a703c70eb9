import { PassThrough } from 'node:stream';
import { createLogger } from '../../../src/util/logger';
import { ViolationLog } from '../../../src/util/violation-log';

function capture() {
  const stream = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  stream.on('data', (c: Buffer) => c.toString().split('\n').filter(Boolean).forEach((l) => lines.push(JSON.parse(l) as Record<string, unknown>)));
  return { logger: createLogger({ level: 'debug', format: 'json', stream }), lines };
}

describe('ViolationLog', () => {
  it('logs a kind once per interval, then says how many were not logged', async () => {
    const { logger, lines } = capture();
    let now = 0;
    const log = new ViolationLog(logger, { intervalMs: 1000, now: () => now });
    expect(log.report('a', 'warn', 'peer x broke a rule')).toBe(true);
    for (let i = 0; i < 500; i++) expect(log.report('a', 'warn', 'peer x broke a rule')).toBe(false);
    expect(log.report('b', 'warn', 'peer y broke a rule')).toBe(true);
    now = 1000;
    expect(log.report('a', 'warn', 'peer x broke a rule')).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => l.message)).toEqual(['peer x broke a rule', 'peer y broke a rule', 'peer x broke a rule (and 500 more like it since the last report)']);
  });

  it('remembers a bounded number of kinds', () => {
    const { logger } = capture();
    const log = new ViolationLog(logger, { maxKinds: 2, now: () => 0 });
    log.report('a', 'info', 'a');
    log.report('b', 'info', 'b');
    log.report('c', 'info', 'c'); // forgets a
    expect(log.report('a', 'info', 'a')).toBe(true);
    expect(log.report('c', 'info', 'c')).toBe(false);
  });
});
