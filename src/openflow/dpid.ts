/** Datapath ids the way ovs-ofctl prints them: 16 hex digits. */
export function formatDpid(dpid: bigint | undefined): string {
  return dpid === undefined ? '(handshaking)' : dpid.toString(16).padStart(16, '0');
}
