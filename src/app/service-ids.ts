import { MAX_SERVICE_ID } from '../flows/cookies';

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
 * `kept`: the ids a running vadc already gave the names it keeps. They are taken first, so a new name whose hash
 * collides with a kept one's (and sorts before it) probes on instead of moving the kept service - its flows on the
 * switch carry that id, and two services must never share one. A fresh start, having no such map, may still
 * order a colliding pair differently from a vadc that saw them added one at a time (docs/pipeline.md).
 */
export function serviceIds(names: readonly string[], kept: ReadonlyMap<string, number> = new Map()): Map<string, number> {
  const ids = new Map<string, number>();
  const taken = new Set<number>();
  const unique = [...new Set(names)].sort();
  for (const name of unique) {
    const id = kept.get(name);
    if (id === undefined || !Number.isInteger(id) || id < 1 || id > MAX_SERVICE_ID || taken.has(id)) continue;
    taken.add(id);
    ids.set(name, id);
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
