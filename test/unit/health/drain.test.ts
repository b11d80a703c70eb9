import { effectiveWeight, endDrain, startDrain, updateDrain } from '../../../src/health';

describe('drain', () => {
  it('sets weight 0, waits for the last connection, then reports drained once', () => {
    let { table, events } = startDrain({}, 'vm1', 5, 2, 1000);
    expect(events.map((e) => e.kind)).toEqual(['backend_draining']);
    expect(effectiveWeight(table, 'vm1', 5)).toBe(0);
    expect(effectiveWeight(table, 'vm2', 5)).toBe(5);

    ({ table, events } = updateDrain(table, 'vm1', 1, 2000));
    expect(events).toEqual([]);
    ({ table, events } = updateDrain(table, 'vm1', 0, 3500));
    expect(events).toEqual([{ kind: 'backend_drained', level: 'info', time: 3500, backend: 'vm1', reason: 'last connection ended; drained in 2500 ms' }]);
    expect(table.vm1.state).toBe('drained');
    expect(updateDrain(table, 'vm1', 0, 4000).events).toEqual([]);
  });

  it('is drained at once when no connection is open', () => {
    const { table, events } = startDrain({}, 'vm1', 1, 0, 10);
    expect(events.map((e) => e.kind)).toEqual(['backend_draining', 'backend_drained']);
    expect(table.vm1.state).toBe('drained');
  });

  it('a second drain request changes nothing; enable restores the weight', () => {
    const first = startDrain({}, 'vm1', 7, 3, 0);
    expect(startDrain(first.table, 'vm1', 0, 3, 5)).toEqual({ table: first.table, events: [] });
    const enabled = endDrain(first.table, 'vm1');
    expect(enabled).toEqual({ table: {}, weight: 7 });
    expect(endDrain({}, 'vm1')).toEqual({ table: {} });
  });

  it('ignores connection counts of backends that are not draining', () => {
    expect(updateDrain({}, 'vm9', 0, 1)).toEqual({ table: {}, events: [] });
  });
});
