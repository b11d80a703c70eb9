import { parseConfig } from '../../../src/config';
import { VadcDaemon } from '../../../src/daemon/daemon';
import { RuntimeError } from '../../../src/runtime/types';
import { bigConfig } from '../../helpers/big-config';
import { noVswitchd } from '../../helpers/nat-mode';

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
});
