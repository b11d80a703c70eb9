// Connection-end copies (`datapath.end_copies`, packets/s; 0 = off), chosen once by the factory and given to
// the NAT mode: the mode knows what its table-0 flows do, this knows how to shadow them with a copy.
import {
  backendOfReplyFlow, buildBackendEndCopies, buildClientEndCopies, buildDeleteBackendEndCopies, buildEndCopyMeter, type EndCopyKinds,
} from '../../flows/end-copies';
import { ETH_TYPE_IPV6 } from '../../flows/packets';
import { isSchedulerName, schedulerReadsConnectionEnds } from '../../lb/registry';
import type { FlowMod, OfpMessage } from '../../openflow/types';
import { membersOf, outlierSettingsOf, type ServiceState } from '../services';

/** Which end segments of a service's connections are copied, by the side that sends them. */
export interface EndCopySides {
  client: EndCopyKinds;
  backend: EndCopyKinds;
}

/** What the NAT mode's datapath and accounting do for a service (endCopySides). */
export interface DatapathView {
  decides: boolean;
  showsEndsSoon: boolean;
  readsSuccesses: boolean;
}

/** Whether the named scheduler's services get both sides' FINs copied whatever the datapath shows (registry data). */
export function schedulerNeedsFinCopies(scheduler: string): boolean {
  return isSchedulerName(scheduler) && schedulerReadsConnectionEnds(scheduler);
}

/**
 * The one decision of which ends a service's copies carry (both NAT modes ask it). A FIN copy costs a packet-in, an
 * upcall in ovs-vswitchd on the thread that sets up new connections, and vadc's wakeup: ~2 per connection with
 * copies both ways. So FINs are copied only where something reads them at once:
 * - the scheduler compares live connection counts or times connections (registry: readsConnectionEnds), or a
 *   backend has an upper connection threshold (OVERLOAD clears as its connections end): both sides;
 * - the outlier detector judges the service's connections and the mode's readings do not show a connection that
 *   worked and closed between two of them (flows mode's connection flows: gone at the next reading): the backend's
 *   FIN is then the only sign of a short connection that worked, which ends a run of failures. The tracker's listing
 *   shows it (closed after a FIN exchange), and a datapath-decided service's too (`datapath.readsSuccesses`);
 * - the datapath would show the end only at the connection flows' idle timeout (a minute by default: a service with
 *   no fin_timeout in flows mode, or conntrack mode's accounting flows): vadc's counts, `vadc conns`, a drain's
 *   end and a reused client port's placement would all wait for it;
 * - otherwise the end comes from the datapath (the tracker at the next statistics poll; a connection flow's removal
 *   fin_timeout after the FINs), and only RSTs are copied (a backend's RST to a SYN is a refusal; a RST ends at once
 *   what no reading would show).
 * `datapath.decides`: the switch's select group places the service's connections; its ends come from the tracker.
 * `datapath.showsEndsSoon`: the mode's accounting shows this service's ends within seconds (Accounting.showsEndsSoon).
 * `datapath.readsSuccesses`: its readings show the connections that worked (Accounting.readsSuccesses).
 */
export function endCopySides(service: ServiceState, datapath: DatapathView): EndCopySides {
  if (datapath.decides) return { client: 'rst', backend: 'rst' };
  const countsEnds = !datapath.showsEndsSoon || schedulerNeedsFinCopies(service.config.scheduler)
    || membersOf(service.config).some((b) => b.u_threshold > 0);
  if (countsEnds) return { client: 'fin-rst', backend: 'fin-rst' };
  return { client: 'rst', backend: outlierSettingsOf(service.config) !== undefined && !datapath.readsSuccesses ? 'fin-rst' : 'rst' };
}

export interface EndCopies {
  /** Copies per second the meter lets through (0: none are asked for). */
  readonly ratePerSecond: number;
  /** What a switch gets on connect, before any flow that uses the meter. */
  meter(): OfpMessage[];
  /**
   * A TCP service's copy flows, shadowing its table-0 flow (`clientBase`) and, for a single-address VIP, its
   * backends' reply-path flows (`backendBases`) of that VIP's family: a backend's packet names the client, not the
   * VIP, so only a single VIP makes it a connection key. A prefix VIP learns ends from the client's FIN/RST alone.
   * Which ends each side's copies carry: endCopySides (`datapath`: what the mode's datapath does for the service). A
   * side copying RSTs alone also deletes its FIN copy flow, should an earlier configuration have had one.
   * A backend address:port's copy flows are shared by the services that send there (SharedBackendCopies): this gives
   * them as all those services need them now, and what becomes of the ones this service no longer needs.
   */
  flows(
    service: ServiceState, clientBase: readonly FlowMod[], backendBases: () => readonly FlowMod[], datapath: DatapathView,
  ): FlowMod[];
  /** A removed service's share of the backend copy flows: deleted where it was the last to need them, else as the rest need them. */
  forgetService(serviceId: number): FlowMod[];
}

const NONE: FlowMod[] = [];

const isIpv6Flow = (f: FlowMod): boolean => f.match.some((m) => m.field === 'eth_type' && m.value === ETH_TYPE_IPV6);

export function createEndCopies(ratePerSecond: number): EndCopies {
  if (ratePerSecond <= 0) return { ratePerSecond: 0, meter: () => NONE, flows: () => NONE, forgetService: () => NONE };
  const shared = new SharedBackendCopies();
  return {
    ratePerSecond,
    meter: () => buildEndCopyMeter(ratePerSecond),
    flows: (service, clientBase, backendBases, datapath) => {
      // TCP services of either family (an IPv6 service's copies take the END_COPY6 band).
      if (service.l4 !== 'tcp') return shared.set(service.id, NONE, 'rst');
      const sides = endCopySides(service, datapath);
      const flows = clientBase.flatMap((f) => buildClientEndCopies(f, service.id, sides.client));
      // Per family: a dual-stack service may have one single-address VIP and one prefix.
      const single4 = service.vip.family === 4 && service.vip.length === 32;
      const single6 = service.vip6 !== undefined && service.vip6.length === 128;
      const wanted = single4 || single6 ? backendBases().filter((f) => (isIpv6Flow(f) ? single6 : single4)) : NONE;
      flows.push(...shared.set(service.id, wanted, sides.backend));
      return flows;
    },
    forgetService: (serviceId) => shared.set(serviceId, NONE, 'rst'),
  };
}

/**
 * The backend side's copy flows, one pair per backend address:port (buildBackendEndCopies: a cookie of no service):
 * the services of one address:port would install flows of one match and priority, of which the switch keeps the last,
 * and removing the service whose cookie it held took the copies from the others. Kept while any service needs them,
 * copying FINs where any of those services wants them (a union of their sides), deleted with the last.
 */
export class SharedBackendCopies {
  /** By address:port (the reply flow's cookie-free identity): the latest reply flow and each service's kinds. */
  private readonly byBackend = new Map<string, { base: FlowMod; needs: Map<number, EndCopyKinds> }>();
  /** Each service's address:ports. */
  private readonly ofService = new Map<number, Set<string>>();

  /** Service `serviceId` now needs copies of `bases` with `kinds`: those flows, and what its dropped address:ports become. */
  set(serviceId: number, bases: readonly FlowMod[], kinds: EndCopyKinds): FlowMod[] {
    const before = this.ofService.get(serviceId);
    const now = new Set<string>();
    const out: FlowMod[] = [];
    for (const base of bases) {
      const { ip, port } = backendOfReplyFlow(base);
      const at = `${ip}/${port}`;
      now.add(at);
      const entry = this.byBackend.get(at) ?? { base, needs: new Map<number, EndCopyKinds>() };
      entry.base = base;
      entry.needs.set(serviceId, kinds);
      this.byBackend.set(at, entry);
      out.push(...buildBackendEndCopies(base, union(entry.needs)));
    }
    for (const at of before ?? []) {
      if (now.has(at)) continue;
      const entry = this.byBackend.get(at)!;
      entry.needs.delete(serviceId);
      if (entry.needs.size > 0) out.push(...buildBackendEndCopies(entry.base, union(entry.needs)));
      else {
        this.byBackend.delete(at);
        out.push(...buildDeleteBackendEndCopies(entry.base));
      }
    }
    if (now.size > 0) this.ofService.set(serviceId, now);
    else this.ofService.delete(serviceId);
    return out;
  }
}

/** FINs are copied where any service wants them. */
function union(needs: ReadonlyMap<number, EndCopyKinds>): EndCopyKinds {
  for (const kinds of needs.values()) if (kinds === 'fin-rst') return 'fin-rst';
  return 'rst';
}
