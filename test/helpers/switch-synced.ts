// "The switch is up" for the e2e tests: listed in status and holding vadc's flows.

/**
 * True once status lists `count` switches and each answered the barrier vadc sent after its connect's (HA: its
 * mastership's) flows (flowsSyncedAt). Listed alone is not enough: a probe sent between the two met a table without
 * the VIP's flows, lost its SYN and connected only on the retransmit, a second later.
 */
export function switchSynced(status: { switches: readonly { flowsSyncedAt?: number }[] }, count = 1): boolean {
  return status.switches.length === count && status.switches.every((s) => s.flowsSyncedAt !== undefined);
}
