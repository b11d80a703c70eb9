import { parseConfig } from '../../../src/config';
import { VadcDaemon } from '../../../src/daemon/daemon';
import { RuntimeError } from '../../../src/runtime/types';
import { bigConfig } from '../../helpers/big-config';
import { noVswitchd } from '../../helpers/nat-mode';

/** Called when a parse (off the thread, or inline for a small text) has given its configuration back. */
let mockOnParsed: () => void = () => undefined;
jest.mock('../../../src/config/parse-off-thread', () => {
  const actual = jest.requireActual('../../../src/config/parse-off-thread');
  return {
    ...actual,
    parseConfigOffThread: (...args: Parameters<typeof actual.parseConfigOffThread>) =>
      actual.parseConfigOffThread(...args).then((config: unknown) => {
        mockOnParsed();
        return config;
      }),
  };
});

const SMALL = 'controller: { listen: "tcp:127.0.0.1:0" }\nservices: []\n';

/** The longest time between two turns of the event loop while `work` runs (a 5 ms interval's largest gap), and how long `work` took. */
async function longestLoopGap(work: () => Promise<unknown>): Promise<{ gap: number; took: number }> {
  const started = performance.now();
  let last = started;
  let longest = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 5);
  try {
    await work().catch(() => undefined);
    const took = performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 20));
    return { gap: longest, took };
  } finally {
    clearInterval(tick);
  }
}

describe('a large configuration does not stall the daemon (issue 18, defect 9)', () => {
  jest.setTimeout(240_000);

  it('keeps the event loop turning while it parses a ~800 KiB configuration (which it then refuses)', async () => {
    // Refused after parsing (a bad port in the last service), so all the work is the parse: the cost in question.
    const text = bigConfig(1000).replace(/port: 80\n(?![\s\S]*port: 80\n)/, 'port: 99999\n');
    expect(() => parseConfig(text)).toThrow(/services\[999\]\.port/);
    // The product stops a parse after 30 s; here the worker also transpiles the TypeScript sources it loads (~4 s at
    // load 11), and at load 14+ the two together passed 30 s: the time bound is not what this test is about.
    const daemon = new VadcDaemon({ probeVswitchd: noVswitchd, config: parseConfig(SMALL), configText: SMALL, ovsdb: false, configParse: { timeoutMs: 180_000 } });
    try {
      let refusal: unknown;
      const { gap, took } = await longestLoopGap(() => daemon.applyConfig(text).catch((err: unknown) => { refusal = err; }));
      expect(refusal).toBeInstanceOf(RuntimeError);
      expect((refusal as Error).message).toMatch(/services\[999\]\.port/);
      // Parsed on the main thread, the loop would stop for the whole parse, nearly all of the apply's time. Compared
      // with the apply's own duration, not with a parse timed earlier: both are then read under the same machine load
      // (a full run at load ~10 measured a 1.7 s gap against a 4.0 s parse timed before it, during a longer apply).
      expect(gap).toBeLessThan(took / 3);
      expect(daemon.configText()).toBe(SMALL);
    } finally {
      await daemon.stop();
    }
  });

  it('builds an accepted ~800 KiB configuration (1,000 new services) over many turns of the event loop, not in one', async () => {
    const text = bigConfig(1000);
    const daemon = new VadcDaemon({ probeVswitchd: noVswitchd, config: parseConfig(SMALL), configText: SMALL, ovsdb: false, configParse: { timeoutMs: 180_000 } });
    // From the moment the parse hands its configuration back to the end of the apply, a 1 ms timer counts the turns
    // of the event loop and the longest time between two (printed, not asserted).
    let turns = 0;
    let longest = 0;
    let last = 0;
    let timer: NodeJS.Timeout | undefined;
    const tick = () => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
      turns++;
      timer = setTimeout(tick, 1);
    };
    let parsedAt = 0;
    mockOnParsed = () => {
      parsedAt = performance.now();
      last = parsedAt;
      timer = setTimeout(tick, 1);
    };
    try {
      const started = performance.now();
      const { changed } = await daemon.applyConfig(text);
      clearTimeout(timer);
      const ended = performance.now();
      expect(changed).toHaveLength(1000);
      expect(daemon.services()).toHaveLength(1000);
      // The new state is built a slice per turn: 40 slices of 25 services' connection tables and schedulers, 40 of
      // 25 services' flows, 50 of 20 health monitors told where their backends are; each slice takes more than the
      // timer's 1 ms, so the timer fires between nearly all of them (130 yields; 20 is far below what slicing gives).
      // Built in one go, as before, nothing runs between the parse's answer and the apply's end: 0 turns.
      console.log(`apply of 1,000 new services: parse ${(parsedAt - started).toFixed(0)} ms, then ${(ended - parsedAt).toFixed(0)} ms over ${turns} turns, longest between two ${longest.toFixed(0)} ms`);
      expect(turns).toBeGreaterThanOrEqual(20);
    } finally {
      mockOnParsed = () => undefined;
      clearTimeout(timer);
      await daemon.stop();
    }
  });
});
