import type { DatapathConfig, NatModeName } from '../../config';
import { vadcTables } from '../../flows/pipeline';
import { ConntrackNat, flowCounting, trackerCounting } from './conntrack-mode';
import { createEndCopies } from './end-copies';
import { trackerKeepsClosedMs } from './tracker-timeouts';
import { createReplyGuard } from './reply-guard';
import { FlowsNat } from './flows-mode';
import type { NatMode } from './nat-mode';

/**
 * What the daemon found of ovs-vswitchd on this host (src/daemon/vswitchd-probe.ts): whether its unixctl socket
 * is reachable, and in words why (or why not).
 */
export interface VswitchdProbe {
  reachable: boolean;
  detail: string;
}

/** A NAT mode and why it was chosen (status shows both). */
export interface NatChoice {
  nat: NatModeName;
  reason: string;
}

/**
 * The mode that runs, and why. The file's `flows`/`conntrack` wins; with `auto`, a cluster host's cached policy
 * (`cluster`: src/daemon/cluster-host.ts cachedNatChoice) decides when it sets a mode, else the probe.
 */
export function chooseNatMode(nat: DatapathConfig['nat'], probe?: () => VswitchdProbe, cluster?: NatChoice): NatChoice {
  if (nat === 'flows' || nat === 'conntrack') return { nat, reason: `datapath.nat: ${nat} in the configuration` };
  if (cluster) return cluster;
  if (!probe) return { nat: 'flows', reason: 'datapath.nat: auto, and ovs-vswitchd was not probed (no unixctl socket given)' };
  const found = probe();
  return found.reachable
    ? { nat: 'conntrack', reason: `datapath.nat: auto, and ovs-vswitchd runs on this host: ${found.detail}` }
    : { nat: 'flows', reason: `datapath.nat: auto, and ovs-vswitchd's unixctl socket is not reachable: ${found.detail}` };
}

/**
 * The one place the configuration's datapath section picks the NAT mode, its accounting, the end copies and the
 * reply guard (flows mode).
 * `auto` takes a cluster host's cached mode if it has one, else asks the probe (only then): conntrack beside
 * ovs-vswitchd, flows otherwise.
 */
export function createNatMode(datapath: DatapathConfig | undefined, probe?: () => VswitchdProbe, cluster?: NatChoice): NatMode {
  const endCopies = createEndCopies(datapath?.end_copies ?? 0);
  const tables = vadcTables(datapath?.first_table ?? 0);
  // Flows mode guards the reply path, a cluster host's too (docs/pipeline.md, reply guard; docs/cluster.md).
  const replyGuard = createReplyGuard(datapath?.reply_guard ?? 0, tables);
  if (!datapath) return new FlowsNat('no datapath section given (flows)', endCopies, tables, replyGuard);
  const chosen = chooseNatMode(datapath.nat, probe, cluster);
  if (chosen.nat === 'flows') return new FlowsNat(chosen.reason, endCopies, tables, replyGuard);
  const counting = datapath.accounting === 'flows'
    ? flowCounting(tables)
    : trackerCounting(datapath.ct_zone, { fromCopies: endCopies.ratePerSecond > 0, keptMs: trackerKeepsClosedMs(datapath.ct_timeouts) });
  return new ConntrackNat(datapath.ct_zone, counting, chosen.reason, endCopies, tables);
}
