import { outOfFamily, type Backend } from './backend';

/**
 * The second level of the choice: the software port on the chosen backend with the fewest
 * outstanding connections; ties go in rotation, starting after the port chosen last time. Ports that are out
 * (a failing check, an outlier ejection: backend.portOut) are skipped while another port serves the connection's
 * family (`ipv6`: an IPv6 connection; a dual-stack backend's port may fail one family's check only).
 * Returns the port's index into backend.ports.
 */
export function pickPortIndex(backend: Backend, ipv6 = false): number {
  const n = backend.ports.length;
  const out = ipv6 ? backend.portsOut6 : backend.portsOut;
  const skipOut = out > 0 && out < n;
  const mask = outOfFamily(ipv6);
  let best = -1;
  for (let step = 0; step < n; step++) {
    const index = (backend.portCursor + step) % n;
    if (skipOut && (backend.portOut[index] & mask) !== 0) continue;
    if (best < 0 || backend.portConns[index] < backend.portConns[best]) best = index;
  }
  backend.portCursor = (best + 1) % n;
  return best;
}
