import type { Backend } from './backend';

/**
 * The second level of the choice: the software port on the chosen backend with the fewest
 * outstanding connections; ties go in rotation, starting after the port chosen last time.
 * Returns the port's index into backend.ports.
 */
export function pickPortIndex(backend: Backend): number {
  const n = backend.ports.length;
  let best = backend.portCursor % n;
  for (let step = 1; step < n; step++) {
    const index = (backend.portCursor + step) % n;
    if (backend.portConns[index] < backend.portConns[best]) best = index;
  }
  backend.portCursor = (best + 1) % n;
  return best;
}
