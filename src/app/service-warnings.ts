// The warnings a configuration of services gets once applied (pure: LoadBalancerApp emits them).
import type { VadcEvent } from '../runtime/types';
import { unstableIdsEvent, type UnstableServiceId } from './service-ids';

/**
 * `undecided`: services asking for datapath decisions that the NAT mode cannot make (`natReason`: why it is the mode it
 * is); `unstable`: service ids a restart would not give again, when the set changed (ServiceTable.unstableToTell).
 */
export function serviceWarnings(undecided: readonly string[], natReason: string, unstable: UnstableServiceId[] | undefined, now: number): VadcEvent[] {
  const events: VadcEvent[] = [];
  if (unstable) events.push(unstableIdsEvent(unstable, now));
  if (undecided.length) {
    events.push({
      time: now, kind: 'datapath_decisions_unavailable', level: 'warn', data: { services: [...undecided] },
      message: `${undecided.join(', ')}: decisions: datapath needs conntrack NAT (${natReason}); the controller decides their connections`,
    });
  }
  return events;
}
