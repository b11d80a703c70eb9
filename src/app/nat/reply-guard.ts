// Flows mode's reply guard (`datapath.reply_guard`, SYN-ACKs per second; 0 = off), chosen once by the factory and
// given to flows mode: the meter, the guard flows of a service, the host's exemption per switch, and the answer to
// a SYN-ACK the guard sent up. Builders and the why: src/flows/reply-guard.ts.
import { OFPFC_DELETE_STRICT, OFPP_LOCAL } from '../../openflow/constants';
import type { FlowMod, OfpMessage, OfpPort } from '../../openflow/types';
import { buildDirectReplyFlow, buildHostReplyFlow, buildReplyGuardFlow, buildReplyGuardMeter, buildReplyGuardPacketOut } from '../../flows/reply-guard';
import { emptyTransportHeader, IP_PROTO_TCP, readTransportHeader } from '../../flows/packets';
import { readTransportHeader6 } from '../../flows/ipv6-packets';
import { formatIpv6Destination, formatIpv6Source, ipv6Pair, uint32ToIpv4 } from '../../net';
import type { VadcTables } from '../../flows/pipeline';

export interface ReplyGuard {
  /** SYN-ACKs per second the meter lets up (0: no guard). */
  readonly ratePerSecond: number;
  /** What a switch gets on connect, before any flow that uses the meter. */
  meter(): OfpMessage[];
  /** A TCP service's guards, one per backend address and software port (`addresses`). */
  flows(serviceId: number, l4: 'tcp' | 'udp', addresses: () => ReadonlyArray<{ ip: string; port: number }>): FlowMod[];
  /**
   * The host's exemption on switch `dpid`, for its LOCAL port's MAC in `ports` (on connect and on a port change):
   * the new one, and the one of a MAC the LOCAL port no longer has taken back. Nothing when nothing changed.
   */
  hostFlows(dpid: bigint, ports: ReadonlyMap<number, OfpPort>): FlowMod[];
  forgetSwitch(dpid: bigint): void;
  /**
   * A SYN-ACK the guard (of service `serviceId`) sent up: an IPv4 one's exact direct-reply flow first, then the packet
   * back through the tables, marked passed.
   */
  passOn(frame: Buffer, inPort: number, serviceId: number): OfpMessage[];
}

const NONE: never[] = [];

export const NO_REPLY_GUARD: ReplyGuard = {
  ratePerSecond: 0, meter: () => NONE, flows: () => NONE, hostFlows: () => NONE, forgetSwitch: () => undefined, passOn: () => NONE,
};

/**
 * On cluster hosts too (`cluster.uplink`, issue 13): a service's guards cover its remote backends' addresses, so at the
 * client's host a remote connection's SYN-ACK coming back over the uplink is guarded as a local one is. Without them
 * it met the megaflows a direct connection to that backend had left ("backend:port -> client: NORMAL", client port
 * wildcarded) and reached the client untranslated: reset, and the SYN retried a second later. The cost: at the
 * backend's host the guard of its local backend also sends up the SYN-ACKs of connections other hosts placed (it
 * cannot tell a remote client from a local one), one packet-in each there, answered like a direct connection's.
 */
export function createReplyGuard(ratePerSecond: number, tables: VadcTables): ReplyGuard {
  if (ratePerSecond <= 0) return NO_REPLY_GUARD;
  const localMacs = new Map<bigint, string>();
  const header = emptyTransportHeader();
  const header6 = { ...emptyTransportHeader(), ip6: ipv6Pair() };
  /** A TCP frame's addresses and ports (IPv4 or IPv6), for its direct-reply flow; undefined for anything else. */
  const tcpAddresses = (frame: Buffer) => {
    if (readTransportHeader(frame, header)) {
      return header.proto === IP_PROTO_TCP ? { src: uint32ToIpv4(header.src), dst: uint32ToIpv4(header.dst), srcPort: header.srcPort, dstPort: header.dstPort } : undefined;
    }
    if (!readTransportHeader6(frame, header6) || header6.proto !== IP_PROTO_TCP) return undefined;
    const pair = header6.ip6;
    return { src: formatIpv6Source(pair), dst: formatIpv6Destination(pair), srcPort: header6.srcPort, dstPort: header6.dstPort };
  };
  return {
    ratePerSecond,
    meter: () => buildReplyGuardMeter(ratePerSecond),
    flows: (serviceId, l4, addresses) => (l4 === 'tcp' ? addresses().map(({ ip, port }) => buildReplyGuardFlow(serviceId, ip, port, tables)) : NONE),
    hostFlows: (dpid, ports) => {
      const mac = ports.get(OFPP_LOCAL)?.hwAddr;
      const had = localMacs.get(dpid);
      if (mac === had) return NONE;
      const out: FlowMod[] = [];
      if (had !== undefined) out.push(buildHostReplyFlow(had, tables, OFPFC_DELETE_STRICT));
      if (mac === undefined) localMacs.delete(dpid);
      else {
        localMacs.set(dpid, mac);
        out.push(buildHostReplyFlow(mac, tables));
      }
      return out;
    },
    forgetSwitch: (dpid) => {
      localMacs.delete(dpid);
    },
    passOn: (frame, inPort, serviceId) => {
      const out = buildReplyGuardPacketOut(frame, inPort);
      const tcp = serviceId === 0 ? undefined : tcpAddresses(frame);
      return tcp ? [buildDirectReplyFlow(serviceId, inPort, tcp, tables), out] : [out];
    },
  };
}
