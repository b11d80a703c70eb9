// Backends that stopped taking new connections, and the ended connections they leave behind.
import type { ConnRecord } from '../lb/conn-table';
import type { ServiceState } from './services';

/** Ended connections forgotten at one look, over all services: a backend removed under a high end rate leaves many. */
export const MAX_ENDED_FORGOTTEN = 10_000;

/**
 * Which backends stopped taking new connections since the last look (removed from their service, down, out of the
 * active tier, all ports out, drained to weight 0), with the connections to them that have ended: in flows mode each
 * keeps its forward flow until it idles out, and a client that reuses such a connection's port (Linux does at once when
 * the server closed first) would have its SYN taken by that flow to a backend that no longer serves (NatMode.forgetEnded).
 */
export class StoppedBackends {
  private readonly taking = new Map<number, Set<string>>();

  look(services: readonly ServiceState[]): Array<{ service: ServiceState; records: ConnRecord[] }> {
    const found: Array<{ service: ServiceState; records: ConnRecord[] }> = [];
    let budget = MAX_ENDED_FORGOTTEN;
    const present = new Set<number>();
    for (const service of services) {
      present.add(service.id);
      const taking = new Set<string>();
      // Out in one family (a dual-stack backend's IPv6 checks failing) counts as stopped: forgetting an ended
      // connection's flows costs nothing but a flow-mod.
      for (const b of service.lb.backends) if (b.takesNew(false) && b.takesNew(true)) taking.add(b.id);
      const before = this.taking.get(service.id);
      this.taking.set(service.id, taking);
      if (!before || budget === 0) continue;
      const stopped = new Set<string>();
      for (const id of before) if (!taking.has(id)) stopped.add(id);
      if (stopped.size === 0) continue;
      const records = service.lb.connections.endedOf(stopped, budget);
      budget -= records.length;
      if (records.length > 0) found.push({ service, records });
    }
    for (const id of this.taking.keys()) if (!present.has(id)) this.taking.delete(id);
    return found;
  }
}
