import { readFileSync } from 'node:fs';
import type { LimitsConfig } from '../config';

/** File descriptors vadc needs beyond its listeners' caps: OVSDB, 32 health checks at once, hooks' pipes, workers, files. */
export const FD_RESERVE = 256;
/** Sockets of closing OpenFlow sessions the listener tolerates above the session caps (controller.ts). */
const OPENFLOW_CLOSING = 64;

/** The most file descriptors the limits let peers open at once, plus the reserve. */
export function fdBudget(limits: LimitsConfig, controlListeners: number, metricsListener: boolean): number {
  return limits.openflow_switches + limits.openflow_handshaking + OPENFLOW_CLOSING + controlListeners * limits.api_connections
    + (metricsListener ? limits.metrics_connections : 0) + FD_RESERVE;
}

/** The process's soft limit on open files (Linux /proc), or undefined where it cannot be read. */
export function openFileLimit(procLimits = '/proc/self/limits'): number | undefined {
  try {
    const line = readFileSync(procLimits, 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === undefined || soft === 'unlimited' ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}

/**
 * A warning when the caps could let peers take every file descriptor: then a flood on one listener could still
 * keep a switch (or OVSDB) out, which is what the caps are for. Undefined when the budget fits.
 */
export function fdBudgetWarning(budget: number, softLimit: number | undefined): string | undefined {
  if (softLimit === undefined || budget <= softLimit) return undefined;
  return `the connection limits allow ${budget} open files (with ${FD_RESERVE} in reserve) but the process may open ${softLimit}: `
    + `lower limits.* in the configuration or raise LimitNOFILE (systemd) / ulimit -n`;
}
