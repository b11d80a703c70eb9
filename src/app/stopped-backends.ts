// Backends that stopped taking new connections, and the ended connections they leave behind.
import type { LbService } from '../lb';
import type { ConnRecord } from '../lb/conn-slots';
import type { ServiceState } from './services';

/** Ended connections forgotten at one look, over all services: a backend removed under a high end rate leaves many. */
export const MAX_ENDED_FORGOTTEN = 10_000;

/** What one look found: a service's ended connections to backends that stopped, by the switch their flows are on. */
export interface StoppedFound {
  service: ServiceState;
  dpid: bigint;
  records: ConnRecord[];
}

interface ServiceLook {
  lb: LbService;
  /** The service's takersVersion at the look. */
  version: number;
  /** The backends taking new connections, each with every switch it was on while it took them. */
  taking: Map<string, Set<bigint>>;
}

/**
 * Which backends stopped taking new connections since the last look (removed from their service, down, out of the
 * active tier, all ports out, drained to weight 0), with the connections to them that have ended: in flows mode each
 * keeps its forward flow until it idles out, and a client that reuses such a connection's port (Linux does at once when
 * the server closed first) would have its SYN taken by that flow to a backend that no longer serves (NatMode.forgetEnded).
 *
 * A look does work only for a service whose takers may have changed (its LbService.takersVersion moved, or it is new)
 * or after a backend moved (`moved()`): every app input ends in one, most change neither. A connection is placed on the
 * switch its backend is on (the packet-in's), so each taking backend keeps the switches it was on while it took new
 * connections, and its ended connections are forgotten there only.
 */
export class StoppedBackends {
  private readonly looks = new Map<number, ServiceLook>();
  private services: readonly ServiceState[] = [];
  private locationsMoved = false;

  /** A backend's location changed: the next look notes where the taking backends are now. */
  moved(): void {
    this.locationsMoved = true;
  }

  look(services: readonly ServiceState[]): StoppedFound[] {
    const found: StoppedFound[] = [];
    let budget = MAX_ENDED_FORGOTTEN;
    const moved = this.locationsMoved;
    this.locationsMoved = false;
    for (const service of services) {
      const before = this.looks.get(service.id);
      if (!moved && before?.lb === service.lb && before.version === service.lb.takersVersion) continue;
      const taking = new Map<string, Set<bigint>>();
      // Out in one family (a dual-stack backend's IPv6 checks failing) counts as stopped: forgetting an ended
      // connection's flows costs nothing but a flow-mod.
      for (const b of service.lb.backends) {
        if (!(b.takesNew(false) && b.takesNew(true))) continue;
        const where = before?.taking.get(b.id) ?? new Set<bigint>();
        const dpid = service.backends.get(b.id)?.location?.dpid;
        if (dpid !== undefined) where.add(dpid);
        taking.set(b.id, where);
      }
      this.looks.set(service.id, { lb: service.lb, version: service.lb.takersVersion, taking });
      if (!before || budget === 0) continue;
      const stopped = new Map<string, Set<bigint>>();
      for (const [id, where] of before.taking) if (!taking.has(id)) stopped.set(id, where);
      if (stopped.size === 0) continue;
      const records = service.lb.connections.endedOf(new Set(stopped.keys()), budget);
      budget -= records.length;
      const bySwitch = new Map<bigint, ConnRecord[]>();
      for (const record of records) {
        for (const dpid of stopped.get(record.backendId)!) {
          let list = bySwitch.get(dpid);
          if (!list) bySwitch.set(dpid, (list = []));
          list.push(record);
        }
      }
      for (const [dpid, list] of bySwitch) found.push({ service, dpid, records: list });
    }
    if (services !== this.services) {
      // Removed services are forgotten (the list is replaced only when the services are configured).
      this.services = services;
      const present = new Set(services.map((s) => s.id));
      for (const id of this.looks.keys()) if (!present.has(id)) this.looks.delete(id);
    }
    return found;
  }
}
