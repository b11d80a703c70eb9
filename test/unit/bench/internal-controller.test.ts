import { mergeStopped } from '../../../src/bench/internal-controller';

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
