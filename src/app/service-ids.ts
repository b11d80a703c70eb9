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
 */
export function serviceIds(names: readonly string[]): Map<string, number> {
  const ids = new Map<string, number>();
  const taken = new Set<number>();
  for (const name of [...new Set(names)].sort()) {
    let id = (fnv1a(name) % MAX_SERVICE_ID) + 1;
    while (taken.has(id)) id = (id % MAX_SERVICE_ID) + 1;
    taken.add(id);
    ids.set(name, id);
  }
  return ids;
}
