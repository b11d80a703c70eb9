import { MAX_SERVICE_ID } from '../flows/cookies';
import type { VadcEvent } from '../runtime/types';

/** FNV-1a, 32-bit: a stable, well-spread hash of a service name. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * Service ids live in every flow cookie, so they must survive a restart and a reordered config: each
 * is derived from the service's name (1..65535), with linear probing in name order on a collision.
 * A restarted vadc with the same service names reads its connection flows back under the same ids.
 *
 * `pinned`: the ids the configuration sets (a service's `id` key). They are taken first: the operator's word.
 * `kept`: the ids a running vadc already gave the names it keeps. They are taken next, so a new name whose hash
 * collides with a kept one's (and sorts before it) probes on instead of moving the kept service - its flows on the
 * switch carry that id, and two services must never share one. A fresh start, having no such map, may still
 * order a colliding pair differently from a vadc that saw them added one at a time: restartUnstable() names them.
 */
export function serviceIds(
  names: readonly string[], kept: ReadonlyMap<string, number> = new Map(), pinned: ReadonlyMap<string, number> = new Map(),
): Map<string, number> {
  const ids = new Map<string, number>();
  const taken = new Set<number>();
  const unique = [...new Set(names)].sort();
  for (const from of [pinned, kept]) {
    for (const name of unique) {
      const id = from.get(name);
      if (ids.has(name) || id === undefined || !Number.isInteger(id) || id < 1 || id > MAX_SERVICE_ID || taken.has(id)) continue;
      taken.add(id);
      ids.set(name, id);
    }
  }
  for (const name of unique) {
    if (ids.has(name)) continue;
    let id = (fnv1a(name) % MAX_SERVICE_ID) + 1;
    while (taken.has(id)) id = (id % MAX_SERVICE_ID) + 1;
    taken.add(id);
    ids.set(name, id);
  }
  return ids;
}

/** A service whose id a restart (or an HA peer started with the whole configuration) would not give it again. */
export interface UnstableServiceId {
  name: string;
  id: number;
  /** The id a fresh start computes from the names and the pinned ids. */
  restartId: number;
}

/**
 * The services whose running id differs from what a fresh start would compute (`ids`: name -> running id). After a
 * restart such a service's flows would be swept as strays or taken for another service's, so the operator is told
 * to pin the running id (the service's `id` key).
 */
export function restartUnstable(ids: ReadonlyMap<string, number>, pinned: ReadonlyMap<string, number>): UnstableServiceId[] {
  const fresh = serviceIds([...ids.keys()], new Map(), pinned);
  const out: UnstableServiceId[] = [];
  for (const [name, id] of ids) {
    const restartId = fresh.get(name)!;
    if (restartId !== id) out.push({ name, id, restartId });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** A pinned id that cannot be applied: the service that pins it, and why. */
export interface PinConflict {
  service: string;
  message: string;
}

/**
 * Why a configuration's pinned ids cannot be applied to the running services (`running`: name -> id), or none: a pin
 * may not take the id of another service the configuration keeps, nor move a running service to another id (either
 * would renumber a running service and drop its live connections' flows). Remove the service and add it back to
 * give it another id.
 */
export function pinConflicts(pinned: ReadonlyMap<string, number>, running: ReadonlyMap<string, number>, keptNames: ReadonlySet<string>): PinConflict[] {
  const byId = new Map<number, string>();
  for (const [name, id] of running) if (keptNames.has(name)) byId.set(id, name);
  const problems: PinConflict[] = [];
  for (const [name, id] of [...pinned].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const now = running.get(name);
    const holder = byId.get(id);
    if (now !== undefined && now !== id) {
      const message = `service ${name} runs with id ${now}: pinning id ${id} would renumber it and drop its live connections' flows (pin ${now}, or remove the service and add it back)`;
      problems.push({ service: name, message });
    } else if (holder !== undefined && holder !== name) {
      problems.push({ service: name, message: `service ${name}: id ${id} is service ${holder}'s, which this configuration keeps (pin another id)` });
    }
  }
  return problems;
}

/** The warning a configuration with restart-unstable ids gets: which services, and the pin that keeps each. */
export function unstableIdsEvent(unstable: readonly UnstableServiceId[], now: number): VadcEvent {
  const pins = unstable.map((u) => `${u.name}: id ${u.id} (a restart would give ${u.restartId})`).join('; ');
  return {
    time: now, kind: 'service_id_unstable', level: 'warn', data: { services: unstable.map((u) => ({ ...u })) },
    message: `${pins}: their names' hashes collide with other services' and they were added while vadc ran; pin each `
      + 'id (the service\'s `id` key) so that a restart keeps their flows',
  };
}

/** The ids a configuration pins (a service's `id` key), by name. */
export function pinnedIds(configs: readonly { name: string; id?: number }[]): Map<string, number> {
  const pinned = new Map<string, number>();
  for (const c of configs) if (c.id !== undefined) pinned.set(c.name, c.id);
  return pinned;
}

/**
 * The restart-unstable set last told: the warning is told once per change of the set, since setServices runs on
 * every tagged vNIC's change too (a churning OVSDB peer must not repeat it).
 */
export class UnstableIdsTold {
  private told = '[]';

  /** `unstable` when it is not empty and differs from what was last told, else undefined. */
  next(unstable: UnstableServiceId[]): UnstableServiceId[] | undefined {
    const key = JSON.stringify(unstable);
    const told = this.told;
    this.told = key;
    return unstable.length && key !== told ? unstable : undefined;
  }
}
