// How long the userspace tracker keeps an ended TCP connection, from the zone's timeout policy (datapath.ct_timeouts).

/** The userspace tracker's timeout for a closed TCP connection when the zone's policy sets none (lib/conntrack-tp.c CT_TM_TCP_CLOSED). */
export const OVS_CLOSED_TCP_TIMEOUT_S = 30;

/**
 * An ended TCP connection (FINs both ways, or a RST: both sides FIN_WAIT_2 or later) stays in the tracker for the
 * shorter of tcp_close and tcp_time_wait (2 s by vadc's default policy; OVS's 30 s where unset); then it leaves the
 * listing, and a SYN on its 5-tuple is +new.
 */
export function trackerKeepsClosedMs(ctTimeouts: { tcp_close?: number; tcp_time_wait?: number }): number {
  return Math.min(ctTimeouts.tcp_close ?? OVS_CLOSED_TCP_TIMEOUT_S, ctTimeouts.tcp_time_wait ?? OVS_CLOSED_TCP_TIMEOUT_S) * 1000;
}
