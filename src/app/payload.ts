// A UDP service's payload rules at run time: the rules compiled from the config, which pool a new flow's first
// datagram picks (src/lb/payload-rules.ts decides), per-rule hit counters, and the bounded report of malformed
// first datagrams. The scheduler then picks within the pool (LbService.open with the pool).
import type { BackendConfig, PayloadRulesConfig } from '../config';
import { udpPayload } from '../flows/udp-payload';
import { matchPayload, type PayloadRule, type PayloadRuleSet } from '../lb/payload-rules';
import type { EventSink } from './events';

/** At most one payload_malformed event per service in this long; the ones held back are counted in the next. */
export const MALFORMED_EVENT_INTERVAL_MS = 10_000;

export interface PayloadState {
  rules: PayloadRuleSet;
  /** First datagrams each rule matched (by rule index), and those no rule matched (the default pool). */
  hits: number[];
  defaultHits: number;
  /** Malformed first datagrams: sent to the default pool, or refused (malformed: refuse). */
  malformed: number;
  /** When the last payload_malformed event went out, and how many malformed datagrams were not reported since. */
  lastEventAt: number;
  unreported: number;
}

/**
 * The pools the scheduler knows, as backend names: each configured pool's named backends and those whose tags hold
 * one of its { tag } entries (tagged VMs too, by backends_from.tags), plus the sorry backend, which serves any pool as
 * the last resort.
 */
export function poolsOf(section: PayloadRulesConfig, backends: readonly BackendConfig[], sorryBackend: string | undefined): Record<string, string[]> {
  const pools: Record<string, string[]> = {};
  for (const [name, entries] of Object.entries(section.pools)) {
    const names = new Set<string>();
    const tags = new Set<string>();
    for (const entry of entries) {
      if (typeof entry === 'string') names.add(entry);
      else tags.add(entry.tag);
    }
    if (tags.size) for (const b of backends) if (b.tags?.some((t) => tags.has(t))) names.add(b.name);
    if (sorryBackend) names.add(sorryBackend);
    pools[name] = [...names];
  }
  return pools;
}

export function compilePayloadRules(section: PayloadRulesConfig): PayloadRuleSet {
  const rules: PayloadRule[] = section.rules.map((r) => {
    const hex = r.prefix ?? r.bytes;
    return {
      name: r.name, pool: r.pool, offset: r.prefix ? 0 : r.offset, value: hex ? Buffer.from(hex, 'hex') : new Uint8Array(0),
      mask: r.mask && r.bytes ? Buffer.from(r.mask, 'hex') : undefined, minLength: r.length?.min ?? 0, maxLength: r.length?.max ?? Number.MAX_SAFE_INTEGER,
    };
  });
  // Without min_length, a datagram too short for any rule's bytes is malformed: every rule can judge the rest.
  const minLength = section.min_length ?? rules.reduce((end, r) => Math.max(end, r.value.length ? r.offset + r.value.length : 0), 0);
  return { rules, defaultPool: section.default_pool, minLength, malformed: section.malformed };
}

export function newPayloadState(section: PayloadRulesConfig): PayloadState {
  const rules = compilePayloadRules(section);
  return { rules, hits: rules.rules.map(() => 0), defaultHits: 0, malformed: 0, lastEventAt: -Infinity, unreported: 0 };
}

/** Where a flow's first datagram goes: a pool name, or null to refuse it (malformed, and the rules say refuse). */
export function choosePool(state: PayloadState, serviceName: string, frame: Buffer, now: number, emit: EventSink): string | null {
  const datagram = udpPayload(frame);
  const verdict = datagram
    ? matchPayload(state.rules, datagram.payload, datagram.length)
    : { kind: 'malformed' as const, reason: 'not a whole UDP header', pool: state.rules.malformed === 'default' ? state.rules.defaultPool : null };
  if (verdict.kind === 'rule') {
    state.hits[verdict.rule]++;
    return verdict.pool;
  }
  if (verdict.kind === 'default') {
    state.defaultHits++;
    return verdict.pool;
  }
  state.malformed++;
  if (now - state.lastEventAt >= MALFORMED_EVENT_INTERVAL_MS) {
    const held = state.unreported;
    emit({
      time: now, kind: 'payload_malformed', level: 'warn', service: serviceName,
      message: `malformed first datagram (${verdict.reason}): ${verdict.pool === null ? 'refused' : `sent to the default pool ${verdict.pool}`}`
        + (held > 0 ? `; ${held} more since the last report` : ''),
      data: { reason: verdict.reason, action: verdict.pool === null ? 'refuse' : 'default', unreported: held },
    });
    state.lastEventAt = now;
    state.unreported = 0;
  } else {
    state.unreported++;
  }
  return verdict.pool;
}
