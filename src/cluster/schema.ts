// vadc's cluster store: the OVSDB database `VADC` (schema/vadc.ovsschema, docs/cluster.md), its version rule,
// scopes, and the typed rows the rest of src/cluster works with. Pure: OVSDB rows in, plain data out.
import { asMap, asSet, type OvsdbValue, type Row } from '../ovsdb/notation';
import type { PublishedBackendReport } from '../runtime/types';

/** The database name, as in schema/vadc.ovsschema. */
export const STORE_DB = 'VADC';
/** The schema version this vadc was built with (schema/vadc.ovsschema: keep in step; a test checks it). */
export const STORE_SCHEMA_VERSION = '1.2.0';

export const POLICY_TABLES = ['Cluster', 'Host_Group', 'Host', 'Service', 'Backend'] as const;
export const STATUS_TABLES = ['Host_Status', 'Backend_Status'] as const;
/** Controller HA of cluster hosts (src/daemon/cluster-election.ts): one row per pair, its generation and master. */
export const ELECTION_TABLES = ['Controller_Pair'] as const;

/**
 * Whether a store whose schema has `serverVersion` can serve this vadc. OVSDB's rule (ovsdb(7)): x changes
 * on an incompatible change, y on a compatible one (new columns or tables), z cosmetically. So the major
 * must be equal and the store's minor at least ours (it has every column we use). Returns the problem, or
 * undefined when compatible.
 */
export function schemaVersionProblem(serverVersion: string, ours = STORE_SCHEMA_VERSION): string | undefined {
  const parse = (v: string) => /^(\d+)\.(\d+)\.(\d+)$/.exec(v)?.slice(1).map(Number);
  const theirs = parse(serverVersion);
  const mine = parse(ours)!;
  if (!theirs) return `the store's ${STORE_DB} schema has no x.y.z version (${JSON.stringify(serverVersion)})`;
  if (theirs[0] !== mine[0]) {
    return `schema version mismatch: the store has ${STORE_DB} ${serverVersion}, this vadc needs ${mine[0]}.x (>= ${ours}): ` +
      (theirs[0] > mine[0] ? 'upgrade vadc' : `convert the store (ovsdb-client convert REMOTE schema/vadc.ovsschema)`);
  }
  if (theirs[1] < mine[1]) {
    return `schema version mismatch: the store has ${STORE_DB} ${serverVersion}, older than this vadc's ${ours}: ` +
      'convert the store (ovsdb-client convert REMOTE schema/vadc.ovsschema)';
  }
  return undefined;
}

// ------------------------------------------------------------------ scopes

export type Scope = { kind: 'cluster' } | { kind: 'group'; name: string } | { kind: 'host'; name: string };

const SCOPE_NAME_RE = /^[A-Za-z0-9_.-]{1,63}$/;

export function scopeText(scope: Scope): string {
  return scope.kind === 'cluster' ? 'cluster' : `${scope.kind}:${scope.name}`;
}

/** 'cluster', 'group:NAME' or 'host:NAME'; throws a RangeError that says what is expected. */
export function parseScope(text: string): Scope {
  if (text === 'cluster') return { kind: 'cluster' };
  const m = /^(group|host):(.*)$/.exec(text);
  if (!m || !SCOPE_NAME_RE.test(m[2])) {
    throw new RangeError(`scope ${JSON.stringify(text)} is not cluster, group:NAME or host:NAME (NAME: 1..63 of A-Z a-z 0-9 _ . -)`);
  }
  return { kind: m[1] as 'group' | 'host', name: m[2] };
}

/** The scopes that apply to a host, broadest first: cluster, its group (if any), the host itself. */
export function scopesFor(host: string, group?: string): string[] {
  return ['cluster', ...(group ? [`group:${group}`] : []), `host:${host}`];
}

// ------------------------------------------------------------------ typed rows

export type NatMode = 'flows' | 'conntrack';

export interface SettingsRow {
  uuid: string;
  name: string;
  nat?: NatMode;
}

export interface ServiceRow {
  uuid: string;
  name: string;
  scope: string;
  vip?: string;
  port?: number;
  protocol?: 'tcp' | 'udp';
  scheduler?: string;
  /** Other service keys of the config file's service, each value as JSON text. */
  options: Record<string, string>;
}

export interface BackendRow {
  uuid: string;
  service: string;
  name: string;
  scope: string;
  vnic?: string;
  ip?: string;
  /** Empty: not set at this scope. */
  ports: number[];
  weight?: number;
  tier?: number;
  drain?: boolean;
  options: Record<string, string>;
}

/** Everything the policy tables hold, as rows (monitor snapshot). */
export interface PolicySnapshot {
  cluster?: SettingsRow;
  groups: SettingsRow[];
  hosts: SettingsRow[];
  services: ServiceRow[];
  backends: BackendRow[];
}

export interface HostStatusRow {
  uuid: string;
  host: string;
  instance: string;
  version: string;
  group?: string;
  nat: string;
  uplink?: string;
  started: number;
  reported: number;
  policy: string;
  services: number;
  problems: string[];
}

export type PublishedHealth = 'up' | 'down' | 'unknown' | 'draining' | 'drained' | 'launching';

export interface BackendStatusRow extends PublishedBackendReport {
  uuid: string;
  health: PublishedHealth;
  rate?: number;
  updated: number;
}

function optional<T>(value: OvsdbValue | undefined): T | undefined {
  if (value === undefined) return undefined;
  const set = asSet(value);
  return set.length ? (set[0] as T) : undefined;
}

function stringMap(value: OvsdbValue | undefined): Record<string, string> {
  if (value === undefined) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of asMap(value)) out[String(k)] = String(v);
  return out;
}

const str = (value: OvsdbValue | undefined): string => (typeof value === 'string' ? value : '');
const num = (value: OvsdbValue | undefined): number => (typeof value === 'number' ? value : 0);

export function settingsRow(uuid: string, row: Row): SettingsRow {
  return { uuid, name: str(row.name), nat: optional<NatMode>(row.nat) };
}

export function serviceRow(uuid: string, row: Row): ServiceRow {
  return {
    uuid, name: str(row.name), scope: str(row.scope), vip: optional(row.vip), port: optional(row.port),
    protocol: optional(row.protocol), scheduler: optional(row.scheduler), options: stringMap(row.options),
  };
}

export function backendRow(uuid: string, row: Row): BackendRow {
  return {
    uuid, service: str(row.service), name: str(row.name), scope: str(row.scope), vnic: optional(row.vnic), ip: optional(row.ip),
    ports: row.ports === undefined ? [] : asSet(row.ports).map(Number).sort((a, b) => a - b),
    weight: optional(row.weight), tier: optional(row.tier), drain: optional(row.drain), options: stringMap(row.options),
  };
}

export function hostStatusRow(uuid: string, row: Row): HostStatusRow {
  return {
    uuid, host: str(row.host), instance: str(row.instance), version: str(row.version), group: optional(row.group), nat: str(row.nat),
    uplink: optional(row.uplink), started: num(row.started), reported: num(row.reported), policy: str(row.policy),
    services: num(row.services), problems: row.problems === undefined ? [] : asSet(row.problems).map(String),
  };
}

export function backendStatusRow(uuid: string, row: Row): BackendStatusRow {
  return {
    uuid, host: str(row.host), service: str(row.service), backend: str(row.backend), vnic: str(row.vnic), mac: optional(row.mac),
    linkUp: row.link_up === true, health: (str(row.health) || 'unknown') as PublishedHealth, reason: str(row.reason),
    queueMeasure: optional(row.queue_measure), rate: optional(row.rate), updated: num(row.updated),
  };
}

/** A controller pair's election row (Controller_Pair, src/daemon/cluster-election.ts). */
export interface PairRow {
  uuid: string;
  key: string;
  /** The fencing token the master asks the switches for MASTER with; bumped by every claim. */
  generation: bigint;
  master: string;
  api?: string;
  /** The master's last heartbeat (its clock, ms); only whether it changes matters to the standby. */
  beat: number;
  standby?: string;
  standbyAt: number;
  /** The configuration the master publishes for its standby (JSON of src/daemon/pair-config.ts's PublishedConfig). */
  config?: string;
}

export function pairRow(uuid: string, row: Row): PairRow {
  return {
    uuid, key: str(row.key), generation: BigInt(num(row.generation)), master: str(row.master), api: optional(row.api), beat: num(row.beat),
    standby: optional(row.standby), standbyAt: num(row.standby_at), config: optional(row.config),
  };
}

/** The policy snapshot of a monitor's rows (table -> uuid -> row). */
export function policySnapshot(rows: (table: string) => ReadonlyMap<string, Row>): PolicySnapshot {
  const list = <T>(table: string, f: (uuid: string, row: Row) => T): T[] => [...rows(table)].map(([uuid, row]) => f(uuid, row));
  return {
    cluster: list('Cluster', settingsRow)[0],
    groups: list('Host_Group', settingsRow),
    hosts: list('Host', settingsRow),
    services: list('Service', serviceRow),
    backends: list('Backend', backendRow),
  };
}
