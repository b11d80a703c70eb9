/**
 * The control API's response shapes as zod schemas: with the request schemas (schemas.ts) they are the one
 * contract. docs/openapi.yaml is generated from them (openapi.ts), the e2e suite validates every response the
 * real daemon sends against that file, and the compile-time checks at the bottom keep them equal to the
 * runtime facade's TypeScript types (src/runtime/types.ts): a field added there and not here fails typecheck.
 */
import { z } from 'zod';
import type {
  BackendStatus, ConnectionStatus, FlowStatus, LastCheck, ServiceStatus, StatusHistory, StatusSnapshot, SwitchStatus, VadcEvent,
} from '../runtime/types';
import type { ApiErrorCode } from './errors';

const int = () => z.number().int();
const count = (description: string) => z.number().int().min(0).meta({ description });
const epochMs = (description: string) => z.number().int().meta({ description: `${description} (ms since the Unix epoch)` });

export const healthStateSchema = z
  .enum(['up', 'down', 'unknown', 'draining', 'drained', 'launching'])
  .meta({ id: 'HealthState', description: 'up/down from checks and link state; draining/drained after a drain; launching while a launch hook runs' });

export const lastCheckSchema = z
  .strictObject({
    at: epochMs('when the check finished'),
    ok: z.boolean(),
    port: int().meta({ description: 'the software port checked' }),
    reason: z.string().meta({ description: "e.g. 'HTTP 200', 'tcp connect to 10.0.0.12:8080 refused'" }),
    durationMs: z.number().min(0),
  })
  .meta({ id: 'LastCheck' });

export const backendStatusSchema = z
  .strictObject({
    id: z.string().meta({ description: "the backend's vNIC selector as configured, e.g. v-vm1" }),
    service: z.string(),
    vnic: z.string(),
    ip: z.string(),
    ip6: z.string().optional().meta({ description: "a dual-stack service's backend: its IPv6 address (RFC 5952)" }),
    ports: z.array(int()).meta({ description: 'software ports' }),
    weight: int(),
    tier: int(),
    health: healthStateSchema,
    healthReason: z.string().optional(),
    taggedOn: z.string().optional()
      .meta({ description: "the OVS interface whose external_ids tag made it a backend (the service's backends_from); absent for a configured backend" }),
    portsOut: z.array(z.strictObject({
      port: int(), why: z.enum(['outlier', 'check']),
      family: z.enum(['IPv4', 'IPv6']).optional()
        .meta({ description: "a dual-stack backend's port failing this family's check only: out of that family's new connections, still serving the other's" }),
    })).optional()
      .meta({ description: 'software ports taking no new connections now: ejected by the outlier detector, or failing their active check; absent when every port serves' }),
    egressQueue: int().optional().meta({ description: "the OpenFlow queue id its vNIC's traffic is tagged with on egress.port (set_queue; the Queue row vadc owns); absent when the backend has no queue" }),
    outlierEjections: count('times passive outlier detection ejected one of its ports since the backend was (re)configured').optional(),
    ofport: int().optional().meta({ description: 'OpenFlow port of the vNIC; absent while unresolved' }),
    mac: z.string().optional(),
    dpid: z.string().optional(),
    host: z.string().optional().meta({ description: 'the cluster host that has the vNIC, when another one: a remote backend, reached through the uplink (ofport)' }),
    activeConns: count('open TCP connections not closing (counted from the first packet, as IPVS counts SYN_RECV and ESTABLISHED)'),
    inactiveConns: count('closing TCP and open UDP connections now (not the recently ended ones that the least-connection schedulers also count)'),
    totalConns: count('connections scheduled to the backend since the daemon started'),
    overloaded: z.boolean(),
    queueMeasure: z.number().optional().meta({ description: "the feedback scheduler's expected wait of one more connection, seconds; absent without samples" }),
    rateOfProcessing: z.number().optional().meta({ description: 'packets per second processed by the vNIC at the last statistics sample' }),
    packets: count('packets through the backend NAT flows (flow statistics)'),
    bytes: count('bytes through the backend NAT flows (flow statistics)'),
    lastCheck: lastCheckSchema.optional().meta({ description: 'the last active health check; absent before the first or without active checks' }),
    stateSince: epochMs('when the health state last changed').optional(),
    downTransitions: count('times the backend went down since it was first up').optional(),
    downtimeMs: count('time spent down since the backend was first up, ms').optional(),
    maxConns: count('most connections (active + inactive) seen at once at a status sample').optional(),
  })
  .meta({ id: 'BackendStatus' });

export const payloadRulesStatusSchema = z
  .strictObject({
    rules: z.array(z.strictObject({ name: z.string(), pool: z.string(), hits: count('first datagrams of new flows this rule matched (first match wins)') })),
    defaultPool: z.string(),
    defaultHits: count('first datagrams no rule matched (the default pool)'),
    malformed: count('malformed first datagrams (shorter than min_length, a broken UDP header, or cut short in the packet-in)'),
    malformedAction: z.enum(['default', 'refuse']).meta({ description: 'what a malformed first datagram gets: the default pool, or ICMP port unreachable' }),
  })
  .meta({ id: 'PayloadRulesStatus' });

export const serviceStatusSchema = z
  .strictObject({
    name: z.string(),
    vip: z.string(),
    vip6: z.string().optional().meta({ description: "a dual-stack service's IPv6 VIP (RFC 5952); vip is then its IPv4 one" }),
    vipMac: z.string(),
    protocol: z.enum(['tcp', 'udp']),
    port: int(),
    scheduler: z.string(),
    activeTier: int().meta({ description: 'the failover tier taking new connections' }),
    backends: z.array(backendStatusSchema),
    decisions: count('scheduler picks so far'),
    decidedBy: z.enum(['controller', 'datapath']).meta({ description: "who picks new connections' backends: the datapath (a select group) only with decisions: datapath in conntrack NAT mode" }),
    refused: count('new connections refused (nothing available)'),
    endCopies: count('copies of FIN/RST segments received (datapath.end_copies): packet-ins that open no connection'),
    repeats: count('packet-ins of connections already decided (a retransmitted SYN, or a segment that met a stale datapath cache entry): sent back through the tables, no new decision'),
    guardedReplies: count("flows mode's reply guard (datapath.reply_guard): backend SYN-ACKs that no connection flow took, sent up and back through the tables"),
    flowsResent: count("flows mode: connections already decided whose flows were gone from the switch (their packet came back up after vadc sent it through the tables): their flows sent again"),
    payloadRules: payloadRulesStatusSchema.optional().meta({ description: 'UDP payload rules (absent without a payload_rules section)' }),
  })
  .meta({ id: 'ServiceStatus' });

export const switchStatusSchema = z
  .strictObject({
    dpid: z.string().meta({ description: '16 hex digits' }),
    address: z.string().meta({ description: 'peer address:port' }),
    connectedAt: epochMs('when the OpenFlow session came up'),
    ports: count('ports the switch reported'),
    packetIns: count('packet-in messages received'),
    flowModsSent: count('flow-mod messages sent'),
    errorsReceived: count('OpenFlow error messages received'),
    role: z.enum(['unknown', 'slave', 'claiming', 'master', 'fenced']).optional()
      .meta({ description: "controller HA: this instance's role at the switch (fenced: the switch knows a later generation)" }),
    generation: z.string().optional().meta({ description: "the switch's generation id as last heard, decimal" }),
    firstTable: z.number().int().optional().meta({ description: "datapath.first_table when not 0: vadc's first table on a bridge shared with other controllers" }),
    reachableFromTable0: z.boolean().optional()
      .meta({ description: "with firstTable: whether a flow path (goto_table or resubmit) leads from table 0 to it; absent until read" }),
    flowsSyncedAt: epochMs("when the switch answered the barrier sent after the connect's flows (controller HA: the mastership's); absent until then").optional(),
  })
  .meta({ id: 'SwitchStatus' });

export const statusSnapshotSchema = z
  .strictObject({
    version: z.string(),
    startedAt: epochMs('when the daemon started'),
    time: epochMs('when the snapshot was taken').optional(),
    switches: z.array(switchStatusSchema),
    services: z.array(serviceStatusSchema),
    ovsdb: z.strictObject({ target: z.string(), connected: z.boolean() }),
    datapath: z
      .strictObject({
        nat: z.enum(['flows', 'conntrack']),
        ctZone: int().optional().meta({ description: 'conntrack mode only' }),
        accounting: z.enum(['conntrack', 'flows']).optional().meta({ description: 'conntrack mode only' }),
        reason: z.string().meta({ description: "why this mode runs: the configuration's word, or what datapath.nat: auto found on this host" }),
        reading: z
          .strictObject({
            at: epochMs('when it was asked for'),
            tookMs: z.number().meta({ description: 'asked for -> applied, ms' }),
            answerWaitMs: z.number().meta({ description: "asked for -> the answer's first byte, ms: ovs-vswitchd's time building the listing" }),
            spacingMs: z.number().meta({ description: 'the least time to the next reading, ms (0: every statistics poll)' }),
            spacedBy: z.enum(['none', 'vadc', 'ovs-vswitchd', 'cap']).meta({ description: "which bound set the spacing: none, vadc's own duty, datapath.listing_share of ovs-vswitchd, or the cap (the zone's close timeout, at most 60 s)" }),
          })
          .optional()
          .meta({ description: "tracker accounting: the last listing of vadc's zone, its cost and the spacing it set (absent before the first)" }),
      })
      .meta({ description: "how connections are translated: per-connection flows, or OVS's connection tracker" }),
    ha: z
      .strictObject({
        election: z.enum(['host', 'cluster']).optional().meta({ description: 'how the pair elects: files on this host, or the cluster store\'s OVSDB lock' }),
        where: z.string().optional().meta({ description: "the election's directory, or the cluster store's remotes" }),
        role: z.enum(['master', 'standby']),
        generation: z.string().meta({ description: 'the generation id this instance holds or follows (decimal)' }),
        instance: z.string().meta({ description: 'this instance: pid@controller listen target' }),
        peer: z.string().optional().meta({ description: 'the master (when standby) or the standby seen lately (when master)' }),
        masterApi: z.string().optional().meta({ description: "when standby: the master's control API, where runtime changes are made (the standby refuses them)" }),
      })
      .optional()
      .meta({ description: 'controller HA (docs/operators/run-a-pair.md); absent with controller.ha.election none' }),
    cluster: z
      .strictObject({
        host: z.string(),
        group: z.string().optional(),
        remotes: z.string(),
        connected: z.boolean().meta({ description: 'the cluster store answers (a member with quorum, the schema fits)' }),
        readOnly: z.boolean().meta({ description: 'the store does not answer: the last policy is served, nothing is published' }),
        publishing: z.boolean().meta({ description: "this host's name lock is held: its status is written to the store" }),
        source: z.enum(['none', 'cache', 'store']).meta({ description: 'where the cluster policy served came from' }),
        policy: z.string().optional().meta({ description: 'digest of the effective cluster policy served' }),
        problems: z.array(z.string()).meta({ description: 'policy problems this host sees (rows left out)' }),
      })
      .optional()
      .meta({ description: 'a cluster host only (docs/cluster.md)' }),
  })
  .meta({ id: 'StatusSnapshot' });

export const connectionStatusSchema = z
  .strictObject({
    service: z.string(),
    protocol: z.enum(['tcp', 'udp']),
    client: z.string().meta({ description: 'ip:port' }),
    vip: z.string().meta({ description: 'ip:port' }),
    backend: z.string().meta({ description: 'backend id' }),
    destination: z.string().meta({ description: 'backend ip:software port' }),
    state: z.enum(['active', 'inactive']),
    ageMs: count('since the first packet'),
    idleMs: count('since the last packet seen'),
  })
  .meta({ id: 'ConnectionStatus' });

export const flowStatusSchema = z
  .strictObject({
    dpid: z.string(),
    tableId: int(),
    priority: int(),
    cookie: z.string().meta({ description: 'hex, 0x...' }),
    match: z.string().meta({ description: 'ovs-ofctl-like text' }),
    actions: z.string(),
    packets: count('packets matched'),
    bytes: count('bytes matched'),
    durationSec: count('seconds since the flow was added'),
    idleTimeout: count('seconds; 0 = none'),
  })
  .meta({ id: 'FlowStatus' });

export const vadcEventSchema = z
  .strictObject({
    time: epochMs('when it happened'),
    kind: z.string().meta({ description: "e.g. switch_up, backend_down, failover, hook_failed, config_applied" }),
    level: z.enum(['info', 'warn', 'error']),
    message: z.string(),
    service: z.string().optional(),
    backend: z.string().optional(),
    dpid: z.string().optional(),
    data: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'VadcEvent' });

const column = <T extends z.ZodType>(item: T) => z.array(item.nullable()).meta({ description: 'one value per time; null where the series did not exist' });

export const statusHistorySchema = z
  .strictObject({
    intervalMs: z.number().int().min(1).meta({ description: 'the sample period' }),
    windowMs: z.number().int().min(1).meta({ description: 'the span asked for' }),
    times: z.array(z.number().int()).meta({ description: 'sample times, ms since the Unix epoch, oldest first' }),
    services: z.array(z.strictObject({ service: z.string(), decisions: column(z.number()), refused: column(z.number()) })),
    backends: z.array(z.strictObject({
      service: z.string(), backend: z.string(),
      active: column(z.number()), inactive: column(z.number()), total: column(z.number()),
      packets: column(z.number()), bytes: column(z.number()), queue: column(z.number()),
      // The states inline, not the HealthState $ref: a nullable $ref became allOf [$ref, string|null], which refuses null.
      health: column(z.enum(healthStateSchema.options)),
    })),
    switches: z.array(z.strictObject({ dpid: z.string(), packetIns: column(z.number()), flowModsSent: column(z.number()), errorsReceived: column(z.number()) })),
  })
  .meta({ id: 'StatusHistory', description: 'status samples kept by the daemon (counters as they were: rates are differences over time)' });

export const configTextSchema = z.strictObject({ yaml: z.string() }).meta({ id: 'ConfigText', description: 'the configuration in force, as YAML' });
export const configAppliedSchema = z
  .strictObject({ changed: z.array(z.string()).meta({ description: 'names of the services that changed' }) })
  .meta({ id: 'ConfigApplied' });

const ERROR_CODES = [
  'not_found', 'conflict', 'invalid', 'unauthorized', 'method_not_allowed', 'payload_too_large', 'unsupported_media_type', 'internal',
] as const satisfies readonly ApiErrorCode[];

export const errorSchema = z
  .strictObject({
    error: z.strictObject({
      code: z.enum(ERROR_CODES).meta({ description: 'stable, for scripts' }),
      message: z.string().meta({ description: 'one line for people' }),
    }),
  })
  .meta({ id: 'Error' });

// ---- compile-time checks: the schemas and the runtime facade's types are the same shapes

type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Assert<T extends true> = T;
export type ContractChecks = [
  Assert<Same<z.infer<typeof backendStatusSchema>, BackendStatus>>,
  Assert<Same<z.infer<typeof serviceStatusSchema>, ServiceStatus>>,
  Assert<Same<z.infer<typeof switchStatusSchema>, SwitchStatus>>,
  Assert<Same<z.infer<typeof statusSnapshotSchema>, StatusSnapshot>>,
  Assert<Same<z.infer<typeof connectionStatusSchema>, ConnectionStatus>>,
  Assert<Same<z.infer<typeof flowStatusSchema>, FlowStatus>>,
  Assert<Same<z.infer<typeof vadcEventSchema>, VadcEvent>>,
  Assert<Same<z.infer<typeof lastCheckSchema>, LastCheck>>,
  Assert<Same<z.infer<typeof statusHistorySchema>, StatusHistory>>,
  Assert<Same<(typeof ERROR_CODES)[number], ApiErrorCode>>,
];
