/**
 * The running daemon's surface, as seen by the control API, the CLI, metrics and the dashboard.
 * The daemon (src/daemon) implements it; the API layer (src/api) only calls it, so API, metrics and
 * dashboard can be tested against a fake in unit tests and against the real daemon end to end.
 */
import type { EventEmitter } from 'node:events';
import type { StatusHistory } from './history';

export type { StatusHistory } from './history';

export type HealthState = 'up' | 'down' | 'unknown' | 'draining' | 'drained' | 'launching';

export interface SwitchStatus {
  dpid: string; // 16 hex digits
  address: string; // peer address:port
  connectedAt: number; // ms since epoch
  ports: number;
  packetIns: number;
  flowModsSent: number;
  errorsReceived: number;
  /** With controller HA: this instance's OpenFlow role at the switch, and the switch's generation id (decimal). */
  role?: 'unknown' | 'slave' | 'claiming' | 'master' | 'fenced';
  generation?: string;
  /** With datapath.first_table > 0: vadc's first table, and whether a flow path leads to it from table 0 (absent: not read yet). */
  firstTable?: number;
  reachableFromTable0?: boolean;
  /**
   * When the switch answered the barrier vadc sent after its connect's flows (with controller HA: after the mastership's);
   * absent until then: a new connection's first packet may still meet a table without vadc's flows.
   */
  flowsSyncedAt?: number;
}

export interface BackendStatus {
  id: string; // the backend's vnic selector as configured, e.g. 'v-vm1'
  service: string;
  vnic: string;
  ip: string;
  /** A dual-stack service's backend: its IPv6 address (RFC 5952). */
  ip6?: string;
  ports: number[];
  weight: number;
  tier: number;
  health: HealthState;
  healthReason?: string;
  /** The OVS interface whose tag made it a backend (the service's backends_from); absent for a configured backend. */
  taggedOn?: string;
  /**
   * Software ports taking no new connections now: ejected by the outlier detector, or failing their active check;
   * `family`: a dual-stack backend's port failing that family's check only (it still takes the other family's).
   */
  portsOut?: { port: number; why: 'outlier' | 'check'; family?: 'IPv4' | 'IPv6' }[];
  /** The OpenFlow queue its vNIC's traffic is tagged with on the egress port (the egress section); absent when not queued. */
  egressQueue?: number;
  /** Times passive outlier detection ejected one of its ports since the backend was (re)configured (a counter). */
  outlierEjections?: number;
  /** Where the vNIC resolved in OVSDB/OpenFlow; undefined while unresolved. */
  ofport?: number;
  mac?: string;
  dpid?: string;
  /** The cluster host that has the vNIC, when another one (a remote backend, reached through the uplink `ofport`). */
  host?: string;
  activeConns: number;
  inactiveConns: number;
  totalConns: number;
  overloaded: boolean;
  /** The feedback scheduler's queue measure (outstanding work / processing rate); undefined without samples. */
  queueMeasure?: number;
  /** Packets per second processed by the vNIC, from the last statistics sample. */
  rateOfProcessing?: number;
  packets: number; // from flow stats
  bytes: number;
  /** The last active health check: when, its verdict and why; absent before the first (or without active checks). */
  lastCheck?: LastCheck;
  /** From the status history (src/runtime/history.ts), when the daemon keeps one: */
  /** When the health state last changed (ms since epoch). */
  stateSince?: number;
  /** Times the backend went down since the daemon started. */
  downTransitions?: number;
  /** Time spent down since the daemon started, ms. */
  downtimeMs?: number;
  /** Most connections (active + inactive) seen at once, sampled with the history. */
  maxConns?: number;
}

export interface LastCheck {
  at: number; // ms since epoch
  ok: boolean;
  port: number; // the software port checked
  reason: string; // e.g. 'HTTP 200', 'tcp connect to 10.0.0.12:8080 refused'
  durationMs: number;
}

export interface ServiceStatus {
  name: string;
  vip: string;
  /** A dual-stack service's IPv6 VIP (RFC 5952); `vip` is then its IPv4 one. */
  vip6?: string;
  vipMac: string;
  protocol: 'tcp' | 'udp';
  port: number;
  scheduler: string;
  activeTier: number;
  backends: BackendStatus[];
  decisions: number; // scheduler picks so far
  decidedBy: 'controller' | 'datapath'; // who picks backends (decisions: datapath falls back to the controller in flows mode)
  refused: number; // new connections refused (nothing available)
  endCopies: number; // copies of FIN/RST segments received (datapath.end_copies): packet-ins that open no connection
  repeats: number; // packet-ins of connections already decided (retransmitted SYN, stale datapath entry): resubmitted
  guardedReplies: number; // flows mode's reply guard: backend SYN-ACKs no connection flow took, sent up
  flowsResent: number; // flows mode: known connections whose flows were gone (their resubmit came back up), sent again
  payloadRules?: PayloadRulesStatus; // UDP payload rules: which rule new flows' first datagrams matched
}

/** A UDP service's payload rules as they ran: first datagrams per rule, the default pool's, and malformed ones. */
export interface PayloadRulesStatus {
  rules: { name: string; pool: string; hits: number }[];
  defaultPool: string;
  defaultHits: number; // first datagrams no rule matched
  malformed: number; // malformed first datagrams (sent to the default pool, or refused: malformedAction)
  malformedAction: 'default' | 'refuse';
}

export interface ConnectionStatus {
  service: string;
  protocol: 'tcp' | 'udp';
  client: string; // ip:port
  vip: string; // ip:port
  backend: string; // backend id
  destination: string; // backend ip:software port
  state: 'active' | 'inactive';
  ageMs: number;
  idleMs: number;
}

export interface FlowStatus {
  dpid: string;
  tableId: number;
  priority: number;
  cookie: string; // hex
  match: string; // ovs-ofctl-like text
  actions: string;
  packets: number;
  bytes: number;
  durationSec: number;
  idleTimeout: number;
}

export interface VadcEvent {
  time: number; // ms since epoch
  kind: string; // e.g. 'switch_up', 'backend_down', 'failover', 'hook_failed', 'config_applied'
  level: 'info' | 'warn' | 'error';
  message: string;
  service?: string;
  backend?: string;
  dpid?: string;
  data?: Record<string, unknown>;
}

/** The last tracker listing (tracker accounting): its cost and the spacing it set. */
export interface AccountingReadingStatus {
  at: number; // ms since epoch: when it was asked for
  tookMs: number; // asked for -> applied
  answerWaitMs: number; // asked for -> the answer's first byte: ovs-vswitchd's time building the listing
  spacingMs: number; // the least time to the next reading's request (0: every statistics poll)
  spacedBy: 'none' | 'vadc' | 'ovs-vswitchd' | 'cap'; // which share set it (datapath.listing_share; vadc's duty; the 60 s cap)
}

export interface StatusSnapshot {
  version: string;
  startedAt: number;
  /** When the snapshot was taken (ms since epoch; set when the daemon keeps a history), so clients plot on the daemon's clock. */
  time?: number;
  switches: SwitchStatus[];
  services: ServiceStatus[];
  ovsdb: { target: string; connected: boolean };
  /** How connections are translated (config datapath): per-connection flows, or OVS's connection tracker. */
  datapath: { nat: 'flows' | 'conntrack'; ctZone?: number; accounting?: 'conntrack' | 'flows'; reason: string; reading?: AccountingReadingStatus };
  /** Controller HA: this instance's elected role, its generation (the fencing token) and its peer. */
  ha?: { election?: 'host' | 'cluster'; where?: string; role: 'master' | 'standby'; generation: string; instance: string; peer?: string; masterApi?: string };
  /** A cluster host's link to the store (docs/cluster.md). */
  cluster?: {
    host: string; group?: string; remotes: string; connected: boolean; readOnly: boolean; publishing: boolean;
    source: 'none' | 'cache' | 'store'; policy?: string; problems: string[];
  };
}

export interface BackendSpec {
  vnic: string;
  ip: string;
  ip6?: string;
  ports: number[];
  weight?: number;
  tier?: number;
}

export interface ServiceSpec {
  name: string;
  /** The pinned service id (1..65535); default from the name. */
  id?: number;
  vip: string;
  vip6?: string;
  protocol?: 'tcp' | 'udp';
  port: number;
  scheduler?: string;
  persistence?: number;
  idle_timeout?: number;
  backends: BackendSpec[];
}

/** Errors the runtime raises for bad requests; the API maps `code` to an HTTP status. */
export class RuntimeError extends Error {
  constructor(
    readonly code: 'not_found' | 'conflict' | 'invalid',
    message: string,
  ) {
    super(message);
    this.name = 'RuntimeError';
  }
}

export interface VadcRuntime {
  status(): StatusSnapshot;
  services(): ServiceStatus[];
  service(name: string): ServiceStatus; // throws RuntimeError not_found
  addService(spec: ServiceSpec): Promise<ServiceStatus>;
  removeService(name: string): Promise<void>;
  addBackend(service: string, spec: BackendSpec): Promise<BackendStatus>;
  removeBackend(service: string, backend: string): Promise<void>;
  setWeight(service: string, backend: string, weight: number): Promise<BackendStatus>;
  /** Weight 0, existing connections finish; a 'backend_drained' event follows when the last one ends. */
  drain(service: string, backend: string): Promise<BackendStatus>;
  enable(service: string, backend: string): Promise<BackendStatus>;
  connections(filter?: { service?: string; backend?: string }): ConnectionStatus[];
  flows(dpid?: string): Promise<FlowStatus[]>;
  /** Recent events, oldest first. */
  events(limit?: number): VadcEvent[];
  /** Emits 'event' (VadcEvent) for every new event. */
  readonly bus: EventEmitter;
  /** The configuration now in force, as YAML text. */
  configText(): string;
  /** Validate and apply a new configuration without dropping established connections. */
  applyConfig(yamlText: string): Promise<{ changed: string[] }>;
  /** The status samples of the last `windowMs` (default: all kept), when this runtime keeps a history (src/runtime/with-history.ts). */
  history?(windowMs?: number): StatusHistory;
}

/**
 * What a cluster host publishes of one of its local backends, as the other hosts read it: the cluster store's
 * BackendStatus row (src/cluster, which adds its row id, rate and time) and the app's remote backend (src/app,
 * which locates it behind the uplink) are both this.
 */
export interface PublishedBackendReport {
  host: string;
  service: string;
  backend: string;
  vnic: string;
  mac?: string;
  linkUp: boolean;
  /** That host's health verdict ('up', 'down', 'unknown', 'draining', 'drained', 'launching'). */
  health: string;
  reason: string;
  /** The feedback scheduler's queue measure on that host (s), when measured. */
  queueMeasure?: number;
}
