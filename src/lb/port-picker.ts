import type { Backend } from './backend';

/**
 * The second level of the choice: the software port on the chosen backend with the fewest
 * outstanding connections; ties go in rotation, starting after the port chosen last time. Ports that are out
 * (a failing check, an outlier ejection: backend.portOut) are skipped while another port serves.
 * Returns the port's index into backend.ports.
 */
export function pickPortIndex(backend: Backend): number {
  const n = backend.ports.length;
  const skipOut = backend.portsOut > 0 && backend.portsOut < n;
  let best = -1;
  for (let step = 0; step < n; step++) {
    const index = (backend.portCursor + step) % n;
    if (skipOut && backend.portOut[index] !== 0) continue;
    if (best < 0 || backend.portConns[index] < backend.portConns[best]) best = index;
  }
  backend.portCursor = (best + 1) % n;
  return best;
}
