import type { DatapathConfig } from '../../config';
import { ConntrackNat, flowCounting, trackerCounting } from './conntrack-mode';
import { createEndCopies } from './end-copies';
import { FlowsNat } from './flows-mode';
import type { NatMode } from './nat-mode';

/** The one place the configuration's datapath section picks the NAT mode, its accounting and the end copies. */
export function createNatMode(datapath: DatapathConfig | undefined): NatMode {
  const endCopies = createEndCopies(datapath?.end_copies ?? 0);
  if (datapath?.nat !== 'conntrack') return new FlowsNat(endCopies);
  const counting = datapath.accounting === 'flows' ? flowCounting() : trackerCounting(datapath.ct_zone);
  return new ConntrackNat(datapath.ct_zone, counting, endCopies);
}
