import { childCommand, mergeStopped, sessionTimeouts, startInternalController } from '../../../src/bench/internal-controller';

describe('several controller processes seen as one', () => {
  it('sums the event counts by kind and the ends of every process', () => {
    expect(mergeStopped([
      { appEvents: { connection_refused: 2, switch_connected: 1 }, ends: { copies: 10, ended: 4, inactive: 1 } },
      { appEvents: { switch_connected: 3 }, ends: { copies: 7, ended: 3, inactive: 2 } },
    ])).toEqual({ appEvents: { connection_refused: 2, switch_connected: 4 }, ends: { copies: 17, ended: 7, inactive: 3 } });
  });

  it('reports no ends when a process did not report them (a responder app), rather than a partial sum', () => {
    expect(mergeStopped([
      { appEvents: {}, ends: { copies: 1, ended: 1, inactive: 0 } },
      { appEvents: { x: 1 } },
    ])).toEqual({ appEvents: { x: 1 } });
    expect(mergeStopped([])).toEqual({ appEvents: {} });
  });
});

describe("the internal controller child's command line and timeouts", () => {
  it('puts a launcher (valgrind) between taskset and node, and its node flags after node', () => {
    const { command, args } = childCommand(1, { launcher: { prefix: ['valgrind', '--tool=callgrind'], nodeFlags: ['--predictable'] } });
    expect(command).toBe('taskset');
    expect(args.slice(0, 5)).toEqual(['-c', '1', 'valgrind', '--tool=callgrind', process.execPath]);
    expect(args[5]).toBe('--predictable');
    expect(args[args.length - 1]).toMatch(/controller-child\.ts$/);
    const unpinned = childCommand(undefined);
    expect(unpinned.command).toBe(process.execPath);
  });

  it("passes only the session timeouts given, so the controller's defaults hold for the others", () => {
    expect(sessionTimeouts({ handshakeMs: 600_000 })).toEqual({ handshakeTimeoutMs: 600_000 });
    expect(sessionTimeouts({ startMs: 5, stopMs: 6, echoIntervalMs: 7 })).toEqual({ echoIntervalMs: 7 });
    expect(sessionTimeouts({ startMs: 5 })).toBeUndefined();
    expect(sessionTimeouts()).toBeUndefined();
  });

  it('gives up on a child that does not report its port within the start timeout given', async () => {
    await expect(startInternalController({ kind: 'start', app: 'raw', config: {}, switches: [], backendPort: 8080 }, false, { timeouts: { startMs: 1 } }))
      .rejects.toThrow('internal controller gave no listening port within 1 ms');
  });
});
