import type { HealthEvent } from './events';

/**
 * Drain as a pure tracker: a draining backend has weight 0 (no new connections) while its existing ones
 * finish; when its connection count reaches 0 it is reported drained once. `enable` puts it back.
 */
export interface DrainEntry {
  state: 'draining' | 'drained';
  since: number;
  /** Weight before the drain, restored by enable. */
  weight: number;
}

export type DrainTable = Readonly<Record<string, DrainEntry>>;

export interface DrainStep {
  table: DrainTable;
  events: HealthEvent[];
}

function drainedEvent(backend: string, since: number, now: number): HealthEvent {
  return { kind: 'backend_drained', level: 'info', time: now, backend, reason: `last connection ended; drained in ${now - since} ms` };
}

export function startDrain(table: DrainTable, backend: string, weight: number, activeConns: number, now: number): DrainStep {
  if (table[backend]) return { table, events: [] };
  const events: HealthEvent[] = [{ kind: 'backend_draining', level: 'info', time: now, backend, reason: `weight 0; ${activeConns} connection(s) left to finish`, data: { activeConns, weight } }];
  let entry: DrainEntry = { state: 'draining', since: now, weight };
  if (activeConns === 0) {
    entry = { ...entry, state: 'drained' };
    events.push(drainedEvent(backend, now, now));
  }
  return { table: { ...table, [backend]: entry }, events };
}

/** Feed the backend's live connection count (from the connection table) whenever it changes. */
export function updateDrain(table: DrainTable, backend: string, activeConns: number, now: number): DrainStep {
  const entry = table[backend];
  if (!entry || entry.state === 'drained' || activeConns > 0) return { table, events: [] };
  return { table: { ...table, [backend]: { ...entry, state: 'drained' } }, events: [drainedEvent(backend, entry.since, now)] };
}

/** Ends a drain; returns the weight to restore (undefined when the backend was not draining). */
export function endDrain(table: DrainTable, backend: string): { table: DrainTable; weight?: number } {
  const entry = table[backend];
  if (!entry) return { table };
  const rest = Object.fromEntries(Object.entries(table).filter(([id]) => id !== backend));
  return { table: rest, weight: entry.weight };
}

/** The weight the scheduler must use: 0 while draining or drained. */
export function effectiveWeight(table: DrainTable, backend: string, weight: number): number {
  return table[backend] ? 0 : weight;
}
