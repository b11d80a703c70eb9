import type { Action, OxmFieldName } from '../openflow/types';
import type { CookieKind } from './cookies';

/**
 * Named priority bands. A band is a range so that prefix VIPs can add their prefix length
 * (longest prefix wins, since OpenFlow leaves overlapping equal-priority matches undefined).
 */
export const PRIORITY = {
  /** Table-miss flows. */
  MISS: { min: 0, max: 0 },
  /** Table 0: all IPv4 and IPv6 TCP/UDP goes through the reverse table, whose miss is NORMAL. */
  RETURN: { min: 10, max: 10 },
  /**
   * Table 0: everything a queued backend's vNIC sends that no higher band takes -> its meter (if policed), its
   * egress queue (set_queue), then the reverse table as RETURN (docs/operators/egress-queues.md).
   */
  EGRESS: { min: 15, max: 15 },
  /** Table 0 (conntrack mode): a backend's replies from a service port -> conntrack (reverse NAT), then ct-reply. */
  CT_REPLY: { min: 20, max: 20 },
  /** Table 0: a backend's FIN/RST from a service port: a copy to the controller, then as RETURN / CT_REPLY. */
  REPLY_END_COPY: { min: 30, max: 30 },
  /** Table 0: any other IPv4 to a VIP goes to the controller, which refuses it (RST / ICMP unreachable). */
  VIP_REFUSE: { min: 50, max: 82 },
  /** Table 0: VIP:port/protocol of a service -> forward table. 100 + prefix length. */
  SERVICE: { min: 100, max: 132 },
  /** Table 0: a client's FIN/RST to a service: a copy to the controller, then as SERVICE. 140 + prefix length. */
  END_COPY: { min: 140, max: 172 },
  /**
   * Table 0: a queued vNIC's copy of a service's client-side entry (SERVICE, END_COPY): in_port plus the entry's match
   * -> the vNIC's meter (if policed) and set_queue, then as the entry. The entry's priority + 200: above every IPv4
   * entry (so a queued VM's packets to a VIP take it), in the same order among themselves (longest prefix first).
   */
  QUEUED_SERVICE: { min: 300, max: 332 },
  QUEUED_END_COPY: { min: 340, max: 372 },
  /** Table 0: ARP requests and ICMP echo requests for a VIP -> controller. 200 + prefix length. */
  VIP_CONTROL: { min: 200, max: 232 },
  /**
   * The same three bands for IPv6 VIPs, whose prefixes run to 128. An IPv6 flow never matches an IPv4 packet
   * (eth_type), so only the order among IPv6 bands matters: refuse < service < control, as for IPv4.
   */
  VIP_REFUSE6: { min: 2000, max: 2128 },
  SERVICE6: { min: 2200, max: 2328 },
  VIP_CONTROL6: { min: 2400, max: 2528 },
  /** A client's FIN/RST to an IPv6 service: a copy to the controller, then as SERVICE6. 2600 + prefix length. */
  END_COPY6: { min: 2600, max: 2728 },
  /** The queued vNICs' copies of SERVICE6 and END_COPY6: the entry's priority + 1000, above every IPv6 entry. */
  QUEUED_SERVICE6: { min: 3200, max: 3328 },
  QUEUED_END_COPY6: { min: 3600, max: 3728 },
  /**
   * Table 1 (flows mode): a TCP SYN (without ACK) that no connection flow took -> controller, as the miss; its own
   * flow so the datapath's cache entry for a new connection's SYN covers SYNs only (builders.buildNewConnectionFlow).
   */
  NEW_CONNECTION: { min: 1, max: 1 },
  /** Table 1 (conntrack mode, `decisions: datapath`): a service's new, untranslated connection -> its select group. */
  DECISION: { min: 400, max: 400 },
  /** Table 1 (conntrack mode): a service's packets the tracker translated (+dnat) to one backend -> its vNIC. */
  BACKEND: { min: 500, max: 500 },
  /**
   * Table 2 (flows mode, `datapath.reply_guard`): a backend address and software port's SYN-ACK that no connection
   * flow took -> controller (metered), which sends it back past the guard (a stale datapath cache entry must not let
   * it leave untranslated; src/flows/reply-guard.ts).
   */
  REPLY_GUARD: { min: 600, max: 600 },
  /** Table 2 (flows mode, reply guard on): a reply to the bridge's LOCAL MAC (the host's health checks) -> NORMAL, never up. */
  HOST_REPLY: { min: 700, max: 700 },
  /**
   * Table 2 (flows mode, reply guard on): the backend-side 5-tuple of a direct connection whose SYN-ACK the guard saw
   * -> NORMAL (idle 10 s): its segments then cache exact datapath entries, which a later VIP connection cannot meet.
   */
  DIRECT_REPLY: { min: 900, max: 900 },
  /** Tables 1 and 2: exact per-connection NAT flows (conntrack mode: the per-connection accounting flow). */
  CONNECTION: { min: 1000, max: 1000 },
} as const;
export type PriorityBand = keyof typeof PRIORITY;

/** vadc's tables, from its first table (`datapath.first_table`) on, in pipeline order. */
export interface VadcTables {
  readonly CLASSIFY: number;
  readonly FORWARD: number;
  readonly REVERSE: number;
  readonly CT_REPLY: number;
}

/** vadc uses 4 tables from its first on; OpenFlow's last table is 254 (OFPTT_MAX). */
export const MAX_FIRST_TABLE = 251;

/** vadc's tables when its first table is `first` (0: the bridge is vadc's alone; another controller owns table 0 otherwise). */
export function vadcTables(first = 0): VadcTables {
  if (!(Number.isInteger(first) && first >= 0 && first <= MAX_FIRST_TABLE)) throw new RangeError(`first table ${first} is outside 0..${MAX_FIRST_TABLE}`);
  return { CLASSIFY: first, FORWARD: first + 1, REVERSE: first + 2, CT_REPLY: first + 3 };
}

/** The tables of a bridge that is vadc's alone (first table 0). */
export const TABLE: VadcTables = vadcTables(0);

/** ct_state bits (OVS meta-flow.h, NXM_NX_CT_STATE). */
export const CT_STATE = { NEW: 0x01, EST: 0x02, REL: 0x04, RPL: 0x08, INV: 0x10, TRK: 0x20, SNAT: 0x40, DNAT: 0x80 } as const;

export type MissBehaviour = 'normal' | 'controller' | 'drop';

export interface TableSpec {
  id: number;
  name: string;
  purpose: string;
  /** OXM fields a flow in this table may match on. */
  matchFields: ReadonlyArray<OxmFieldName>;
  /** Fields a set_field action in this table may rewrite. */
  setFields: ReadonlyArray<OxmFieldName>;
  /** Action types allowed in apply_actions. */
  actions: ReadonlyArray<Action['type']>;
  /** Tables a goto_table instruction may name. */
  nextTables: ReadonlyArray<number>;
  /** A meter instruction is allowed (egress policing). */
  meters?: boolean;
  miss: MissBehaviour;
  bands: ReadonlyArray<PriorityBand>;
  cookieKinds: ReadonlyArray<CookieKind>;
}

export type Pipeline = ReadonlyArray<TableSpec>;

const FIVE_TUPLE: OxmFieldName[] = [
  'in_port', 'eth_type', 'ip_proto', 'ipv4_src', 'ipv4_dst', 'ipv6_src', 'ipv6_dst', 'tcp_src', 'tcp_dst', 'udp_src', 'udp_dst',
];

/**
 * vadc's table pipeline, declared once, from its first table on; docs/pipeline.md explains it and checkFlow enforces
 * it. Every table id and goto target moves with the first table.
 */
export function vadcPipeline(first = 0): Pipeline {
  const TABLE = vadcTables(first);
  return [
  {
    id: TABLE.CLASSIFY,
    name: 'classify',
    purpose: 'ARP/ICMP echo for a VIP -> controller; VIP:port -> vip-forward (conntrack mode: through ct(nat)); '
      + 'conntrack mode: backend service-port replies -> ct(nat) -> ct-reply; TCP/UDP -> vip-reverse; rest NORMAL',
    matchFields: [
      'in_port', 'eth_type', 'ip_proto', 'ipv4_src', 'ipv4_dst', 'ipv6_src', 'ipv6_dst', 'tcp_src', 'tcp_dst', 'udp_src', 'udp_dst', 'arp_op', 'arp_tpa',
      'icmpv4_type', 'icmpv6_type', 'icmpv6_code', 'ipv6_nd_target', 'tcp_flags',
    ],
    setFields: [],
    actions: ['output', 'nx_ct', 'nx_controller2', 'set_queue'],
    nextTables: [TABLE.FORWARD, TABLE.REVERSE],
    meters: true,
    miss: 'normal',
    bands: [
      'MISS', 'RETURN', 'EGRESS', 'CT_REPLY', 'REPLY_END_COPY', 'VIP_REFUSE', 'SERVICE', 'END_COPY', 'VIP_CONTROL', 'VIP_REFUSE6', 'SERVICE6', 'VIP_CONTROL6',
      'END_COPY6', 'QUEUED_SERVICE', 'QUEUED_END_COPY', 'QUEUED_SERVICE6', 'QUEUED_END_COPY6',
    ],
    cookieKinds: ['pipeline', 'vip', 'service', 'end', 'egress'],
  },
  {
    id: TABLE.FORWARD,
    name: 'vip-forward',
    purpose: 'per-connection forward NAT: client 5-tuple -> backend MAC/IP/port, out the backend vNIC; miss (and, flows mode, '
      + 'a TCP SYN in a flow of its own) -> controller. '
      + 'Conntrack mode: packets the tracker translated (+dnat) -> backend MAC and vNIC; accounting flows if configured; '
      + 'datapath decisions: a service\'s new untranslated connections -> its select group (which commits them and comes back here)',
    matchFields: [...FIVE_TUPLE, 'tcp_flags', 'ct_state', 'ct_mark', 'ct_nw_proto', 'ct_nw_dst', 'ct_ipv6_dst', 'ct_tp_dst'],
    setFields: ['eth_dst', 'ipv4_dst', 'ipv6_dst', 'tcp_dst', 'udp_dst'],
    actions: ['set_field', 'output', 'nx_fin_timeout', 'group'],
    nextTables: [],
    miss: 'controller',
    bands: ['MISS', 'NEW_CONNECTION', 'DECISION', 'BACKEND', 'CONNECTION'],
    cookieKinds: ['pipeline', 'connection', 'backend', 'decision'],
  },
  {
    id: TABLE.REVERSE,
    name: 'vip-reverse',
    purpose: 'per-connection reverse NAT: backend 5-tuple -> VIP MAC/IP/port, out the client port; '
      + 'a backend service port\'s SYN-ACK no connection flow took -> controller (metered) unless marked passed or to the host '
      + '(reply guard); miss -> NORMAL',
    matchFields: [...FIVE_TUPLE, 'metadata', 'tcp_flags', 'eth_dst'],
    setFields: ['eth_src', 'eth_dst', 'ipv4_src', 'ipv6_src', 'tcp_src', 'udp_src'],
    actions: ['set_field', 'output', 'nx_fin_timeout', 'nx_controller2'],
    nextTables: [],
    miss: 'normal',
    bands: ['MISS', 'REPLY_GUARD', 'HOST_REPLY', 'DIRECT_REPLY', 'CONNECTION'],
    cookieKinds: ['pipeline', 'connection', 'service'],
  },
  {
    id: TABLE.CT_REPLY,
    name: 'ct-reply',
    purpose: 'conntrack mode: replies after reverse NAT -> VIP MAC as source, out the client port kept in ct_mark; miss -> NORMAL',
    matchFields: ['eth_type', 'ct_state', 'ct_mark'],
    setFields: ['eth_src'],
    actions: ['set_field', 'nx_output_reg', 'output'],
    nextTables: [],
    miss: 'normal',
    bands: ['MISS', 'SERVICE'],
    cookieKinds: ['pipeline', 'service'],
  },
  ];
}

/** The pipeline of a bridge that is vadc's alone. */
export const VADC_PIPELINE: Pipeline = vadcPipeline(0);

/**
 * vadc's groups (datapath decisions): one select group per service, id base + service id, so vadc never touches a
 * group it does not own. A bucket may only commit the connection to the tracker (ct with commit, writing ct_mark
 * and NAT'ing the destination) and recirculate it to the pipeline's table named `bucketRecircTable`.
 */
export const VADC_GROUPS = {
  base: 0x0adc0000,
  /** A dual-stack service's second group (its IPv6 VIP's; the IPv4 one is at `base`): ipv6Base + service id. */
  ipv6Base: 0x0add0000,
  maxServiceId: 0xffff,
  bucketRecircTable: 'vip-forward',
} as const;

/** Fields OVS fills from the connection tracker: matchable only together with ct_state +trk. */
export const CT_TUPLE_FIELDS: ReadonlyArray<OxmFieldName> = ['ct_nw_proto', 'ct_nw_src', 'ct_nw_dst', 'ct_ipv6_src', 'ct_ipv6_dst', 'ct_tp_src', 'ct_tp_dst'];

/** OXM prerequisites (OpenFlow 1.3.5 section 7.2.3.6): a field may be matched only with these exact values present. */
export const MATCH_PREREQUISITES: Partial<Record<OxmFieldName, ReadonlyArray<{ field: OxmFieldName; values: ReadonlyArray<number> }>>> = {
  ip_proto: [{ field: 'eth_type', values: [0x0800, 0x86dd] }],
  ipv4_src: [{ field: 'eth_type', values: [0x0800] }],
  ipv4_dst: [{ field: 'eth_type', values: [0x0800] }],
  ipv6_src: [{ field: 'eth_type', values: [0x86dd] }],
  ipv6_dst: [{ field: 'eth_type', values: [0x86dd] }],
  icmpv6_type: [{ field: 'ip_proto', values: [58] }],
  icmpv6_code: [{ field: 'ip_proto', values: [58] }],
  ipv6_nd_target: [{ field: 'icmpv6_type', values: [135, 136] }, { field: 'icmpv6_code', values: [0] }],
  ct_nw_src: [{ field: 'eth_type', values: [0x0800] }],
  ct_nw_dst: [{ field: 'eth_type', values: [0x0800] }],
  ct_ipv6_src: [{ field: 'eth_type', values: [0x86dd] }],
  ct_ipv6_dst: [{ field: 'eth_type', values: [0x86dd] }],
  tcp_src: [{ field: 'ip_proto', values: [6] }],
  tcp_dst: [{ field: 'ip_proto', values: [6] }],
  udp_src: [{ field: 'ip_proto', values: [17] }],
  udp_dst: [{ field: 'ip_proto', values: [17] }],
  tcp_flags: [{ field: 'ip_proto', values: [6] }],
  icmpv4_type: [{ field: 'ip_proto', values: [1] }],
  icmpv4_code: [{ field: 'ip_proto', values: [1] }],
  arp_op: [{ field: 'eth_type', values: [0x0806] }],
  arp_spa: [{ field: 'eth_type', values: [0x0806] }],
  arp_tpa: [{ field: 'eth_type', values: [0x0806] }],
};
