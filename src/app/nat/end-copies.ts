// Connection-end copies (`datapath.end_copies`, packets/s; 0 = off), chosen once by the factory and given to
// the NAT mode: the mode knows what its table-0 flows do, this knows how to shadow them with a copy.
import { buildBackendEndCopies, buildClientEndCopies, buildEndCopyMeter } from '../../flows/end-copies';
import type { FlowMod, OfpMessage } from '../../openflow/types';
import type { ServiceState } from '../services';

export interface EndCopies {
  /** Copies per second the meter lets through (0: none are asked for). */
  readonly ratePerSecond: number;
  /** What a switch gets on connect, before any flow that uses the meter. */
  meter(): OfpMessage[];
  /**
   * A TCP service's copy flows, shadowing its table-0 flow (`clientBase`) and, for a single-address VIP, its
   * backends' reply-path flows (`backendBases`): a backend's packet names the client, not the VIP, so only a
   * single VIP makes it a connection key. A prefix VIP learns ends from the client's FIN/RST alone.
   */
  flows(service: ServiceState, clientBase: readonly FlowMod[], backendBases: () => readonly FlowMod[]): FlowMod[];
}

const NONE: FlowMod[] = [];

export function createEndCopies(ratePerSecond: number): EndCopies {
  if (ratePerSecond <= 0) return { ratePerSecond: 0, meter: () => NONE, flows: () => NONE };
  return {
    ratePerSecond,
    meter: () => buildEndCopyMeter(ratePerSecond),
    flows: (service, clientBase, backendBases) => {
      // TCP services of either family (an IPv6 service's copies take the END_COPY6 band).
      if (service.l4 !== 'tcp') return NONE;
      const flows = clientBase.flatMap((f) => buildClientEndCopies(f, service.id));
      if (service.vip.length === (service.vip.family === 4 ? 32 : 128)) flows.push(...backendBases().flatMap((f) => buildBackendEndCopies(f, service.id)));
      return flows;
    },
  };
}
