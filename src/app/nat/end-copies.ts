// Connection-end copies (`datapath.end_copies`, packets/s; 0 = off), chosen once by the factory and given to
// the NAT mode: the mode knows what its table-0 flows do, this knows how to shadow them with a copy.
import { buildBackendEndCopies, buildClientEndCopies, buildEndCopyMeter, type EndCopyKinds } from '../../flows/end-copies';
import { ETH_TYPE_IPV6 } from '../../flows/packets';
import type { FlowMod, OfpMessage } from '../../openflow/types';
import type { ServiceState } from '../services';

export interface EndCopies {
  /** Copies per second the meter lets through (0: none are asked for). */
  readonly ratePerSecond: number;
  /** What a switch gets on connect, before any flow that uses the meter. */
  meter(): OfpMessage[];
  /**
   * A TCP service's copy flows, shadowing its table-0 flow (`clientBase`) and, for a single-address VIP, its
   * backends' reply-path flows (`backendBases`) of that VIP's family: a backend's packet names the client, not the
   * VIP, so only a single VIP makes it a connection key. A prefix VIP learns ends from the client's FIN/RST alone.
   * `kinds` 'rst': RST copies only (a service the datapath decides: see ConntrackNat.serviceFlows).
   */
  flows(service: ServiceState, clientBase: readonly FlowMod[], backendBases: () => readonly FlowMod[], kinds?: EndCopyKinds): FlowMod[];
}

const NONE: FlowMod[] = [];

const isIpv6Flow = (f: FlowMod): boolean => f.match.some((m) => m.field === 'eth_type' && m.value === ETH_TYPE_IPV6);

export function createEndCopies(ratePerSecond: number): EndCopies {
  if (ratePerSecond <= 0) return { ratePerSecond: 0, meter: () => NONE, flows: () => NONE };
  return {
    ratePerSecond,
    meter: () => buildEndCopyMeter(ratePerSecond),
    flows: (service, clientBase, backendBases, kinds = 'fin-rst') => {
      // TCP services of either family (an IPv6 service's copies take the END_COPY6 band).
      if (service.l4 !== 'tcp') return NONE;
      const flows = clientBase.flatMap((f) => buildClientEndCopies(f, service.id, kinds));
      // Per family: a dual-stack service may have one single-address VIP and one prefix.
      const single4 = service.vip.family === 4 && service.vip.length === 32;
      const single6 = service.vip6 !== undefined && service.vip6.length === 128;
      if (single4 || single6) {
        const wanted = backendBases().filter((f) => (isIpv6Flow(f) ? single6 : single4));
        flows.push(...wanted.flatMap((f) => buildBackendEndCopies(f, service.id, kinds)));
      }
      return flows;
    },
  };
}
