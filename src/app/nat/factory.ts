import type { DatapathConfig } from '../../config';
import { ConntrackNat, flowCounting, trackerCounting } from './conntrack-mode';
import { FlowsNat } from './flows-mode';
import type { NatMode } from './nat-mode';

/** The one place the configuration's datapath section picks the NAT mode and, in conntrack mode, its accounting. */
export function createNatMode(datapath: DatapathConfig | undefined): NatMode {
  if (datapath?.nat !== 'conntrack') return new FlowsNat();
  const counting = datapath.accounting === 'flows' ? flowCounting() : trackerCounting(datapath.ct_zone);
  return new ConntrackNat(datapath.ct_zone, counting);
}
