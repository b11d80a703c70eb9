import type { StatusSnapshot } from '../runtime/types';

/** One backend's counters at one moment, and its rates since the previous sample (when there was one). */
export interface BackendStatsRow {
  service: string;
  backend: string;
  health: string;
  weight: number;
  active: number;
  inactive: number;
  total: number;
  packets: number;
  bytes: number;
  queueMeasure?: number;
  connsPerSec?: number;
  packetsPerSec?: number;
  bytesPerSec?: number;
}

/**
 * Flattens a status snapshot into per-backend rows; with the previous snapshot and the time between the two,
 * adds per-second rates. A counter that went down (backend re-added, daemon restarted) gives no rate.
 */
export function backendStats(current: StatusSnapshot, previous?: StatusSnapshot, elapsedMs?: number): BackendStatsRow[] {
  const before = new Map<string, { total: number; packets: number; bytes: number }>();
  for (const s of previous?.services ?? []) for (const b of s.backends) before.set(`${s.name}/${b.id}`, { total: b.totalConns, packets: b.packets, bytes: b.bytes });
  const seconds = elapsedMs && elapsedMs > 0 ? elapsedMs / 1000 : undefined;
  const rate = (now: number, then: number | undefined) => (seconds === undefined || then === undefined || now < then ? undefined : (now - then) / seconds);
  return current.services.flatMap((s) =>
    s.backends.map((b) => {
      const prev = before.get(`${s.name}/${b.id}`);
      return {
        service: s.name,
        backend: b.id,
        health: b.health,
        weight: b.weight,
        active: b.activeConns,
        inactive: b.inactiveConns,
        total: b.totalConns,
        packets: b.packets,
        bytes: b.bytes,
        queueMeasure: b.queueMeasure,
        connsPerSec: rate(b.totalConns, prev?.total),
        packetsPerSec: rate(b.packets, prev?.packets),
        bytesPerSec: rate(b.bytes, prev?.bytes),
      };
    }),
  );
}

/** 1234567 -> "1.2M": compact figures for a terminal table. */
export function humanNumber(value: number | undefined): string | undefined {
  if (value === undefined) return undefined;
  const units: Array<[number, string]> = [[1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [scale, suffix] of units) if (Math.abs(value) >= scale) return `${(value / scale).toFixed(1)}${suffix}`;
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}
