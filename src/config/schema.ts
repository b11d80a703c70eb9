import { isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';
import { isMac, isSingleAddress, isUnicastMac, notUnicastReason, parsePrefix, prefixOverlapReason, type IpPrefix } from '../net';
import { deriveVipMac, parseTarget, type Target } from './addresses';
import { CT_TIMEOUT_KEYS, type CtTimeoutKey } from '../ovsdb/ct-zone-policy';
import { parseRemotes } from '../ovsdb/remotes';
import {
  boundedString, expected, integer, MAX_TEXT_LENGTH, nonNegativeInt, nonNegativeSeconds, oneOf, portNumber, positiveSeconds, showValue, strict, text,
} from './zod-helpers';
import { hookFields } from './hook-schema';
import { failoverSchema, healthSchema, outlierSchema } from './health-schema';
import { backendTags, payloadRulesSchema } from './payload-rules';
import { egressSchema, queueSchema, tierQueuesSchema, withTierQueue } from './queue';

export { MAX_TEXT_LENGTH, showValue };

/**
 * A host's unicast IPv4 or IPv6 address (not 0.0.0.0/8, loopback, multicast, reserved or broadcast; not ::, ::1,
 * link-local, IPv4-mapped or multicast). An IPv6 address is written back in RFC 5952 form, so one address is one
 * text everywhere (flows, the tracker's listing, status).
 */
const hostAddress = boundedString('an IPv4 or IPv6 address', 64).check((ctx) => {
  const v6 = isIPv6(ctx.value) && !ctx.value.includes('%');
  if (!isIPv4(ctx.value) && !v6) ctx.issues.push({ code: 'custom', input: ctx.value, message: `expected an IPv4 or IPv6 address, got ${showValue(ctx.value)}` });
  else {
    const reason = notUnicastReason(ctx.value);
    if (reason) ctx.issues.push({ code: 'custom', input: ctx.value, message: `expected a unicast host address: ${reason}` });
  }
}).transform((ip) => (ip.includes(':') ? parsePrefix(ip).address : ip));
const unicastMac = z
  .string({ error: expected('a unicast MAC aa:bb:cc:dd:ee:ff') })
  .refine(isUnicastMac, { error: expected('a unicast MAC aa:bb:cc:dd:ee:ff') })
  .transform((m) => m.toLowerCase());

function target(kinds: ReadonlyArray<Target['kind']>) {
  return boundedString(`a ${kinds.join('|')} target`, 1024).check((ctx) => {
    const parsed = parseTarget(ctx.value, kinds);
    if ('error' in parsed) ctx.issues.push({ code: 'custom', input: ctx.value, message: parsed.error });
  });
}

export const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'mh', 'feedback'] as const;
export type SchedulerName = (typeof SCHEDULERS)[number];
/** Schedulers that key on the destination address, so a VIP prefix (many destinations) makes sense for them. */
export const DESTINATION_SCHEDULERS: ReadonlyArray<SchedulerName> = ['lblc', 'lblcr', 'dh'];
/** IPVS's scheduler flags: sh-*, mh-* make the hash include the source port / skip unavailable backends. */
export const SCHEDULER_FLAGS = ['sh-port', 'sh-fallback', 'mh-port', 'mh-fallback'] as const;
/** Maglev lookup table sizes: primes, as IPVS's ip_vs_mh offers (CONFIG_IP_VS_MH_TAB_INDEX choices). */
export const MH_TABLE_SIZES = [251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071] as const;

/** The ways to find a vNIC in OVSDB besides its interface name (src/ovsdb/resolver.ts): `PREFIX:VALUE`. */
export const VNIC_SELECTOR_PREFIXES = ['iface-id', 'mac', 'vm-uuid', 'vm-id'] as const;

/**
 * `NAME`, `iface-id:ID`, `mac:MAC`, `vm-uuid:UUID` (OpenStack's os-vif) or `vm-id:UUID` (libvirt): how a backend's
 * vNIC is found in OVSDB. The ids survive a VM's restart; a tap's name does not.
 */
const vnicSelector = text('a vNIC: an interface name, iface-id:<id>, mac:<mac>, vm-uuid:<uuid> or vm-id:<uuid>', undefined, 255).check((ctx) => {
  const value = ctx.value;
  const colon = value.indexOf(':');
  const prefix = colon < 0 ? undefined : value.slice(0, colon);
  if (prefix === undefined) {
    if (!/^[^\s/]{1,15}$/.test(value)) {
      ctx.issues.push({ code: 'custom', input: value, message: `expected an interface name (1..15 characters, no spaces or "/"), got ${showValue(value)}` });
    }
  } else if (!(VNIC_SELECTOR_PREFIXES as readonly string[]).includes(prefix)) {
    ctx.issues.push({ code: 'custom', input: value, message: `expected an interface name or one of ${VNIC_SELECTOR_PREFIXES.map((p) => `${p}:`).join(', ')}, got ${showValue(value)}` });
  } else if (prefix === 'mac' && !isMac(value.slice(4))) {
    ctx.issues.push({ code: 'custom', input: value, message: `expected mac:aa:bb:cc:dd:ee:ff, got ${showValue(value)}` });
  } else if (value.length === colon + 1) {
    ctx.issues.push({ code: 'custom', input: value, message: `expected an id after "${prefix}:"` });
  }
});

/** Launch hook and its retry policy (src/health/launch.ts). */
const launchSchema = strict({
  ...hookFields,
  /** From the hook's start: how long the target may take to show its vNIC and pass its check. */
  ready_timeout: positiveSeconds(86400).default(120),
  max_attempts: integer(1, 100, 'an integer 1..100').default(3),
  /** Wait before attempt n+1 is backoff * 2^(n-1), capped at backoff_max. */
  backoff: positiveSeconds(3600).default(5),
  backoff_max: positiveSeconds(86400).default(60),
  /** After giving up, a new launch cycle starts only after this long. */
  rearm: nonNegativeSeconds(86400).default(300),
});

const stopSchema = strict({
  ...hookFields,
  /** Run the stop hook once the target has been unneeded and idle this long. */
  cooldown: nonNegativeSeconds(86400).default(300),
});

/**
 * Relocate hook (src/health/relocate.ts): a corrective action, e.g. a live migration, for a backend that has stayed
 * overloaded for `overloaded_for`, with the launch hook's safety rules (bounded time, attempts with backoff, a rest
 * before the same backend again, never on a standby) and at most `max_concurrent` at once per service.
 */
const relocateSchema = strict({
  ...hookFields,
  /** Live migrations take minutes: the hook gets this long before its process group is killed. */
  timeout: positiveSeconds(86400).default(600),
  /** Live connections above which a serving backend is overloaded. */
  conns_above: nonNegativeInt(),
  overloaded_for: positiveSeconds(86400).default(60),
  max_attempts: integer(1, 100, 'an integer 1..100').default(1),
  backoff: positiveSeconds(3600).default(30),
  backoff_max: positiveSeconds(86400).default(300),
  /** After a relocation (or giving up), the same backend is not relocated again for this long. */
  rearm: nonNegativeSeconds(86400).default(600),
  max_concurrent: integer(1, 64, 'an integer 1..64').default(1),
});

const backendSchema = strict({
  /** Label used in logs, metrics and the API; defaults to the vnic selector. */
  name: text('a backend name', /^[A-Za-z0-9_.:-]{1,64}$/).optional(),
  vnic: vnicSelector,
  /** IPv4 or IPv6, the VIP's family (vadc does not translate between families). */
  ip: hostAddress,
  /** A dual-stack service's backend (the service has `vip6`): its IPv6 address, where IPv6 connections go. */
  ip6: hostAddress.optional(),
  /** Optional override of the vNIC's MAC (normally learnt from OVSDB). */
  mac: unicastMac.optional(),
  ports: z.array(portNumber, { error: expected('a list of port numbers') }).max(256, { error: 'expected at most 256 ports' }),
  weight: nonNegativeInt(65535).default(1),
  /** IPVS upper/lower connection thresholds: above u_threshold the backend is OVERLOADED until below l_threshold. 0 = none. */
  u_threshold: nonNegativeInt().default(0),
  l_threshold: nonNegativeInt().default(0),
  /** Failover tier: 0 = primary; tier N serves only while no backend of a lower tier is available. */
  tier: nonNegativeInt(15).default(0),
  /** Labels a payload rules pool may select the backend by ({ tag: T }). */
  tags: backendTags.optional(),
  /** Its transmit queue on the egress port (`egress` section): rates in bit/s. */
  queue: queueSchema.optional(),
});

/** A record's error: a bad key says what the key schema says of it (zod reports it as the record's own issue). */
function keyOr(otherwise: (issue: { input?: unknown }) => string) {
  return (issue: { code?: string; input?: unknown; issues?: ReadonlyArray<{ message: string }> }) =>
    (issue.code === 'invalid_key' && issue.issues?.[0]?.message) || otherwise(issue);
}

/** An OVSDB external_ids key, as the selectors and hypervisors write them. */
const EXTERNAL_ID_KEY = /^[A-Za-z0-9_.:-]{1,64}$/;
/** Most tagged backends one service takes: each is scheduler, health and flow state held for as long as it is tagged. */
export const MAX_TAGGED_BACKENDS = 4096;

/**
 * VMs that join by tag (src/daemon/tagged-backends.ts): every OVS interface whose external_ids carry all of
 * `external_ids` is a backend while it does, with no config edit. Its address is its own external_ids[ip_key],
 * else the fixed one `ips` gives for one of its ids.
 */
const backendsFromSchema = strict({
  external_ids: z.record(
    text('an external_ids key ([A-Za-z0-9_.:-], 1..64)', EXTERNAL_ID_KEY, 64),
    text('a non-empty external_ids value', undefined, 256),
    { error: keyOr(expected('a mapping of external_ids keys to values, e.g. { vadc-service: web }')) },
  ).refine((ids) => Object.keys(ids).length >= 1 && Object.keys(ids).length <= 16, { error: 'expected 1..16 external_ids pairs, all of which an interface must carry' }),
  ports: z.array(portNumber, { error: expected('a list of port numbers') }).min(1, { error: 'expected at least one software port' })
    .max(256, { error: 'expected at most 256 ports' }),
  /**
   * The external_ids key that holds the VM's address, of the VIP's family (a dual-stack VM: e.g. `ip` for the IPv4
   * service, `ip6` for the IPv6 one).
   */
  ip_key: text('an external_ids key ([A-Za-z0-9_.:-], 1..64)', EXTERNAL_ID_KEY, 64).default('ip'),
  /** Fixed addresses, by vNIC selector (iface-id:, mac:, vm-uuid:, vm-id: or an interface name), for VMs whose interface has no ip_key. */
  ips: z.record(vnicSelector, hostAddress, { error: keyOr(expected('a mapping of vNIC selectors to IPv4 or IPv6 addresses')) })
    .refine((ips) => Object.keys(ips).length <= MAX_TAGGED_BACKENDS, { error: `expected at most ${MAX_TAGGED_BACKENDS} addresses` }).default({}),
  /**
   * A dual-stack service (vip6): the external_ids key that holds each VM's IPv6 address (its IPv4 one is ip_key's).
   * Default `ip6`; only a dual-stack service takes it.
   */
  ip6_key: text('an external_ids key ([A-Za-z0-9_.:-], 1..64)', EXTERNAL_ID_KEY, 64).optional(),
  /** A dual-stack service: fixed IPv6 addresses, by vNIC selector, for VMs whose interface has no ip6_key (`ips` gives their IPv4 ones). */
  ips6: z.record(vnicSelector, hostAddress, { error: keyOr(expected('a mapping of vNIC selectors to IPv6 addresses')) })
    .refine((ips) => Object.keys(ips).length <= MAX_TAGGED_BACKENDS, { error: `expected at most ${MAX_TAGGED_BACKENDS} addresses` }).optional(),
  weight: nonNegativeInt(65535).default(1),
  /** Tagged interfaces beyond this many are left out (reported), so a tag put on every port cannot grow vadc without bound. */
  max_backends: integer(1, MAX_TAGGED_BACKENDS, `an integer 1..${MAX_TAGGED_BACKENDS}`).default(256),
  /** Tags every backend this finds carries (payload rules pools select by them). */
  tags: backendTags.optional(),
});

/** A VIP as written: an IPv4 or IPv6 address or prefix of unicast addresses (vipProblem). */
const vipText = boundedString('an IPv4 or IPv6 address or prefix', 64).check((ctx) => {
  const problem = vipProblem(ctx.value);
  if (problem) ctx.issues.push({ code: 'custom', input: ctx.value, message: problem });
});

export const serviceSchema = strict({
  name: text('a service name ([A-Za-z0-9_-], 1..63)', /^[A-Za-z0-9_-]{1,63}$/),
  /**
   * The service's id (1..65535), pinned: every flow of the service carries it in its cookie. Absent: derived from the
   * name (src/app/service-ids.ts). Pin it when vadc warns (`service_id_unstable`) that a restart would give the
   * service another id: a name whose hash collides with another's, added while vadc ran (docs/pipeline.md).
   */
  id: integer(1, 65535, 'an integer 1..65535 (the service id in its flows\' cookies)').optional(),
  /**
   * An IPv4 or IPv6 address, or a prefix (a.b.c.d/len, x:y::/len) for lblc/lblcr/dh services (see docs/pipeline.md).
   * Written back in canonical form ('10.0.0.100/32' is '10.0.0.100', IPv6 in RFC 5952 form), so one VIP is one
   * text everywhere. A service is of its VIP's family: its backends' addresses must be too.
   */
  vip: vipText,
  /**
   * Dual stack: the service's IPv6 VIP (an address or a prefix) beside its IPv4 `vip`. One service, one scheduler
   * state: a connection of either family picks among the same backends (each with `ip` and `ip6`) and goes to the
   * address of its family. Written back in canonical form as vip is.
   */
  vip6: vipText.optional(),
  vip_mac: unicastMac.optional(),
  protocol: oneOf(['tcp', 'udp']).default('tcp'),
  port: portNumber,
  scheduler: oneOf(SCHEDULERS).default('wlc'),
  scheduler_flags: z.array(oneOf(SCHEDULER_FLAGS), { error: expected('a list of scheduler flags') }).default([]),
  /**
   * Who decides a new connection's backend:
   *   controller - vadc, on the connection's first packet (a packet-in); every scheduler.
   *   datapath   - OVS, through a select group vadc keeps weighted (rr, wrr, feedback; conntrack NAT mode): no packet-in.
   */
  decisions: oneOf(['controller', 'datapath']).default('controller'),
  mh_table_size: z
    .number({ error: expected(`one of ${MH_TABLE_SIZES.join(', ')}`) })
    .refine((n) => (MH_TABLE_SIZES as readonly number[]).includes(n), { error: expected(`one of ${MH_TABLE_SIZES.join(', ')}`) })
    .default(4093),
  /** Seconds during which a client keeps going to the same backend; 0 = off. */
  persistence: nonNegativeInt(86400 * 30).default(0),
  /**
   * Clients whose addresses share this many leading bits share a persistence template (IPVS's persistent netmask,
   * ipvsadm -M, keepalived persistence_granularity; for an IPv6 service IPVS takes it as a prefix length). Default:
   * the whole address (32 or 128 bits), one client one template. A dual-stack service's is its IPv4 clients' (0..32).
   */
  persistence_prefix: integer(0, 128, 'an integer 0..128 (prefix length: 0..32 for an IPv4 VIP)').optional(),
  /** A dual-stack service's persistence_prefix for its IPv6 clients (those of vip6): a prefix length. Default 128. */
  persistence_prefix6: integer(0, 128, 'an integer 0..128 (the IPv6 clients\' prefix length)').optional(),
  /** OpenFlow idle_timeout of the connection flows (a 16-bit field, so at most 65535 s). */
  idle_timeout: integer(1, 65535, 'an integer 1..65535 (seconds)').default(60),
  /** Optional OVS fin_timeout (seconds) so closed TCP connections leave the datapath sooner; 0 = not used. */
  fin_timeout: nonNegativeInt(65535).default(0),
  /** Poll interval of the feedback scheduler's queue statistics. */
  feedback_interval: positiveSeconds(3600).default(2),
  /** The configured backends; may be empty when backends_from finds them (the rules ask for one or the other). */
  backends: z.array(backendSchema, { error: expected('a list of backends') }).default([]),
  /** Backends that join by tag: the interfaces whose OVSDB external_ids carry it. */
  backends_from: backendsFromSchema.optional(),
  health: healthSchema.optional(),
  /** Passive outlier detection; absent = on with the defaults (outlierSchema). */
  outlier: outlierSchema.optional(),
  failover: failoverSchema.optional(),
  /** Healthy backends a tier needs to be used (capped at the tier's size); below it, the next tier serves. */
  quorum: integer(1, 65535, 'an integer >= 1').optional(),
  /** Served only when no backend of any tier is available (IPVS/keepalived "sorry server"). */
  sorry_backend: backendSchema.optional(),
  launch: launchSchema.optional(),
  stop: stopSchema.optional(),
  relocate: relocateSchema.optional(),
  /** UDP: the first datagram of a new flow picks a backend pool (src/config/payload-rules.ts). */
  payload_rules: payloadRulesSchema.optional(),
  /** Egress queues by failover tier, for the tier's backends without a `queue` of their own (src/config/queue.ts). */
  tier_queues: tierQueuesSchema.optional(),
}).transform((service) => ({
  ...service,
  vip: parsePrefix(service.vip).text,
  ...(service.vip6 !== undefined ? { vip6: parsePrefix(service.vip6).text } : {}),
  vip_mac: service.vip_mac ?? deriveVipMac(service.vip),
  backends: service.backends.map((b) => withTierQueue(withName(b), service.tier_queues)),
  sorry_backend: service.sorry_backend && withName(service.sorry_backend),
}));

/** Why a VIP text cannot be a VIP, or undefined when it can. */
function vipProblem(text: string): string | undefined {
  let vip: IpPrefix;
  try {
    vip = parsePrefix(text);
  } catch (err) {
    return `expected an IPv4 or IPv6 address or prefix (a.b.c.d/len, x:y::/len), got ${showValue(text)}: ${(err as Error).message}`;
  }
  if (isSingleAddress(vip)) {
    const reason = notUnicastReason(vip.address);
    return reason && `expected a unicast VIP: ${reason}`;
  }
  const reason = prefixOverlapReason(vip);
  return reason && `expected a prefix of unicast addresses: ${reason}`;
}

function withName<B extends { name?: string; vnic: string }>(backend: B): B & { name: string } {
  return { ...backend, name: backend.name ?? backend.vnic };
}

const controllerSchema = strict({
  listen: target(['tcp', 'ssl']).default('tcp:127.0.0.1:6653'),
  ssl: strict({ cert: text('a file path'), key: text('a file path'), ca: text('a file path') }).optional(),
  /** Seconds between OpenFlow echo requests to each switch. */
  echo_interval: positiveSeconds(3600).default(5),
  /**
   * Controller HA (docs/operators/run-a-pair.md): instances started with the same configuration but for the
   * listen addresses elect one master; the others are hot standbys. `host`: through files in `dir` (a lock and a
   * heartbeat); `cluster`: through an OVSDB lock and a row in the cluster store (needs `cluster:`); `auto` (the
   * default): cluster when the config has a `cluster:` section, host otherwise. `none`: this instance never stands
   * by (it stays EQUAL at the switch, as before roles).
   */
  ha: strict({
    election: oneOf(['auto', 'host', 'cluster', 'none']).default('auto'),
    dir: text('a directory path', /^\//).default('/var/lib/vadc/ha'),
    /** A master whose heartbeat is older than this (ms) is taken over (a hung process); a dead one at once. */
    takeover_after: integer(200, 60000, 'an integer number of milliseconds 200..60000').default(500),
  }).prefault({}),
});

/**
 * How a connection's address translation happens in the datapath.
 *   auto      - conntrack when ovs-vswitchd runs on this host (its unixctl socket, datapath.appctl or
 *               ovs-appctl's default, is reachable), flows otherwise; chosen once at start, and status says why.
 *   flows     - a forward and a reverse NAT flow per connection (set_field), no conntrack.
 *   conntrack - OVS connection tracking NATs both directions (ct(commit,nat(dst=backend))); replies never
 *               depend on a per-connection flow.
 */
const optionalSeconds = () => integer(0, 4294967295, 'an integer number of seconds').optional();

const datapathSchema = strict({
  nat: oneOf(['auto', 'flows', 'conntrack']).default('auto'),
  /**
   * The first of vadc's 4 tables (docs/pipeline.md). 0: the bridge is vadc's alone. On a bridge shared with other
   * controllers (a Neutron agent, OVN) vadc leaves the tables below it alone; table 0's owner sends the traffic vadc
   * serves there (goto_table or resubmit), and status warns when no table-0 flow does (docs/operators/run-a-pair.md).
   */
  first_table: integer(0, 251, 'an integer 0..251 (vadc uses this table and the 3 after it)').default(0),
  /** Conntrack zone of vadc's connections (conntrack mode). */
  ct_zone: integer(0, 65535, 'an integer 0..65535').default(2780),
  /**
   * Conntrack mode: how vadc learns a connection's state and end.
   *   conntrack - reads the tracker (dpctl/dump-conntrack over ovs-vswitchd's unixctl socket) each statistics poll; no
   *               per-connection flow-mods at all (OVS revalidates its datapath cache on every flow-mod)
   *   flows     - one accounting flow per connection (idle/FIN timeout, flow_removed, packet counts)
   */
  accounting: oneOf(['conntrack', 'flows']).default('conntrack'),
  /**
   * Connection ends seen at once: the switch sends vadc a copy of every TCP FIN and RST of a service's
   * connections, at most this many per second (an OpenFlow meter); 0 = off (ends come from flow timeouts or the
   * tracker's listing). docs/schedulers.md.
   */
  end_copies: integer(0, 1_000_000, 'an integer 0..1000000 (copies per second; 0 = off)').default(5000),
  /**
   * Flows mode: a backend's SYN-ACK that a stale datapath cache entry kept from its connection's reverse flow comes to
   * vadc and is sent back through the tables, at most this many per second (an OpenFlow meter; above it the switch
   * drops them and the backend retransmits); a direct connection's SYN-ACK leaves an exact flow so that its traffic
   * cannot leave such entries. 0 = off. On cluster hosts (cluster.uplink) too: the guards also cover remote backends'
   * addresses. docs/pipeline.md, reply guard.
   */
  reply_guard: integer(0, 1_000_000, 'an integer 0..1000000 (SYN-ACKs per second; 0 = off)').default(5000),
  /**
   * Tracker accounting: the share of the wall clock ovs-vswitchd may spend building vadc's listing (it formats the
   * zone on its main thread, which also forwards packet-ins and packet-outs): after a listing that kept it W ms, the
   * next is asked for W / share later (at most 60 s; port statistics still come every poll). Default 0.005 (0.5 %).
   * docs/operators/choose-a-nat-mode.md.
   */
  listing_share: z.number({ error: expected('a fraction 0.0001..1') })
    .min(0.0001, { error: expected('a fraction 0.0001..1') })
    .max(1, { error: expected('a fraction 0.0001..1') })
    .default(0.005),
  /** ovs-vswitchd's unixctl socket, as for ovs-appctl -t (default: OVS_RUNDIR/ovs-vswitchd.PID.ctl, ovs-appctl's own default). */
  appctl: text('a path to ovs-vswitchd\'s control socket').optional(),
  /**
   * Conntrack mode: the timeout policy (seconds) vadc gives its zone through OVSDB (CT_Timeout_Policy).
   * Short close states by default: a closed connection lingering in TIME_WAIT makes a client that reuses
   * its port fail to connect. {} leaves OVS's defaults.
   */
  ct_timeouts: strict(Object.fromEntries(CT_TIMEOUT_KEYS.map((k) => [k, optionalSeconds()])) as
    Record<CtTimeoutKey, ReturnType<typeof optionalSeconds>>).default({ tcp_time_wait: 2, tcp_close: 2 }),
});

/**
 * Caps on what peers can make vadc hold at once (docs/operators/resource-caps.md). The defaults keep the total
 * of sockets far below the usual file-descriptor limit, with room left for OVSDB, health checks and hooks.
 */
const limitsSchema = strict({
  /** OpenFlow connections still in the handshake; a new one beyond this drops the oldest. */
  openflow_handshaking: integer(1, 65535, 'an integer 1..65535').default(32),
  /** Switches connected at once. */
  openflow_switches: integer(1, 65535, 'an integer 1..65535').default(256),
  /** One multipart reply, all its parts (a session may hold twice this in unfinished replies). */
  openflow_reply_bytes: integer(65536, 2 ** 31, 'a number of bytes 65536..2147483648').default(64 * 1024 * 1024),
  /** Connections each control API listener (the unix socket, tcp/ssl) holds at once. */
  api_connections: integer(1, 65535, 'an integer 1..65535').default(64),
  /** Connections the metrics listener holds at once. */
  metrics_connections: integer(1, 65535, 'an integer 1..65535').default(16),
});

/** A host, host group or scope name in the cluster store (docs/cluster.md). */
export const CLUSTER_NAME_RE = /^[A-Za-z0-9_.-]{1,63}$/;

/**
 * Membership of a vadc cluster (docs/cluster.md): the store's remotes (an OVSDB Raft cluster serving vadc's
 * schema), this host's name and group, and the bridge port toward the other hosts (remote backends).
 */
const clusterSchema = strict({
  remotes: boundedString('OVSDB remotes: unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT, comma-separated', 4096).check((ctx) => {
    try {
      parseRemotes(ctx.value);
    } catch (err) {
      ctx.issues.push({ code: 'custom', input: ctx.value, message: (err as Error).message });
    }
  }),
  host: text('a host name ([A-Za-z0-9_.-], 1..63)', CLUSTER_NAME_RE),
  group: text('a host group name ([A-Za-z0-9_.-], 1..63)', CLUSTER_NAME_RE).optional(),
  /** The bridge port toward the other hosts (an L2 underlay or a tunnel port): remote backends are reached through it. */
  uplink: text('an OpenFlow port name', /^[^\s/]{1,15}$/).optional(),
  /** Where the host keeps its last policy from the store, served at start while the store is unreachable. */
  policy_cache: text('a file path').optional(),
  /**
   * Seconds between this host's reports to the store when nothing changed (a changed verdict or policy is
   * reported at once). Each report is one transaction through the Raft leader; default 10 (CLUSTER_REPORT_INTERVAL_S).
   */
  report_interval: z.number({ error: expected('a number of seconds 0.1..3600') })
    .min(0.1, { error: expected('a number of seconds 0.1..3600') })
    .max(3600, { error: expected('a number of seconds 0.1..3600') })
    .optional(),
});

/** The default of cluster.report_interval, seconds. */
export const CLUSTER_REPORT_INTERVAL_S = 10;

export const configSchema = strict({
  controller: controllerSchema.prefault({}),
  datapath: datapathSchema.prefault({}),
  ovsdb: target(['unix', 'tcp', 'ssl']).default('unix:/var/run/openvswitch/db.sock'),
  /** Which switch(es) vadc drives: a bridge name and/or a datapath id; default every switch that connects. */
  bridge: text('a bridge name').optional(),
  dpid: z
    .string({ error: expected('a datapath id of 16 hex digits') })
    .regex(/^(0x)?[0-9a-fA-F]{1,16}$/, { error: expected('a datapath id of 16 hex digits') })
    .optional(),
  /** At most 4096 services: each holds scheduler state (a Maglev table, a connection table) for as long as vadc runs. */
  services: z.array(serviceSchema, { error: expected('a list of services') }).max(4096, { error: 'expected at most 4096 services' }).default([]),
  /** The control API. tcp: and ssl: need a token; ssl: also a certificate and key (the rule: api-listener.ts). */
  api: strict({
    listen: target(['unix', 'tcp', 'ssl']).default('unix:/run/vadc/vadc.sock'),
    token: text('a token of at least 16 characters').optional(),
    ssl: strict({ cert: text('a file path'), key: text('a file path') }).optional(),
  }).optional(),
  metrics: strict({ listen: target(['tcp']).default('tcp:127.0.0.1:9650'), path: text('an absolute URL path', /^\//).default('/metrics') }).optional(),
  log: strict({ level: oneOf(['error', 'warn', 'info', 'debug']).default('info'), format: oneOf(['json', 'text']).optional() }).optional(),
  limits: limitsSchema.prefault({}),
  /** Join a vadc cluster: services also come from the cluster store (docs/cluster.md). */
  cluster: clusterSchema.optional(),
  /** The uplink port whose QoS vadc owns for the backends' queues (src/config/queue.ts). */
  egress: egressSchema.optional(),
});

export type VadcConfig = z.output<typeof configSchema>;
export type ServiceConfig = VadcConfig['services'][number];
export type DatapathConfig = VadcConfig['datapath'];
/** A NAT mode that runs (`auto` is resolved at start, src/app/nat/factory.ts). */
export type NatModeName = Exclude<DatapathConfig['nat'], 'auto'>;
export type BackendConfig = ServiceConfig['backends'][number];
export type HealthCheckConfig = NonNullable<ServiceConfig['health']>;
export type OutlierConfig = NonNullable<ServiceConfig['outlier']>;
/** The outlier settings of a service without an `outlier` section. */
export const DEFAULT_OUTLIER_CONFIG: OutlierConfig = outlierSchema.parse({});
export type LaunchConfig = NonNullable<ServiceConfig['launch']>;
export type StopConfig = NonNullable<ServiceConfig['stop']>;
export type RelocateConfig = NonNullable<ServiceConfig['relocate']>;
export type FailoverConfig = NonNullable<ServiceConfig['failover']>;
export type BackendsFromConfig = NonNullable<ServiceConfig['backends_from']>;
export type { PayloadRulesConfig } from './payload-rules';
export type LimitsConfig = VadcConfig['limits'];
export type ClusterConfig = NonNullable<VadcConfig['cluster']>;
export type { EgressConfig, QueueConfig } from './queue';
/** What a YAML file may say (defaults not yet applied). */
export type VadcConfigInput = z.input<typeof configSchema>;
