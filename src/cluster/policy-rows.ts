// What the operator writes into the store, as rows: a service (or an override) from the same YAML as a config
// file's service entry, a backend, a weight or a drain at a scope. Pure: specs in, typed rows and transaction
// operations out; `checkChange` says which problems a change would cause before it is written.
import { condition, op, type Operation, type Row } from '../ovsdb';
import { effectivePolicy, type PolicyProblem } from './merge';
import {
  parseScope, STORE_DB, type BackendRow, type HostStatusRow, type PolicySnapshot, type ServiceRow,
} from './schema';

/** A row to write: the typed row without its uuid. */
export type NewServiceRow = Omit<ServiceRow, 'uuid'>;
export type NewBackendRow = Omit<BackendRow, 'uuid'>;

const SERVICE_COLUMN_KEYS = new Set(['name', 'vip', 'port', 'protocol', 'scheduler', 'backends']);
const BACKEND_COLUMN_KEYS = new Set(['name', 'vnic', 'ip', 'ports', 'weight', 'tier', 'drain']);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionsOf(raw: Record<string, unknown>, columns: Set<string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) if (!columns.has(key) && value !== undefined) out[key] = JSON.stringify(value);
  return out;
}

function typed<T>(value: unknown, kind: 'string' | 'number' | 'boolean', what: string): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== kind) throw new RangeError(`${what}: expected a ${kind}, got ${JSON.stringify(value)}`);
  return value as T;
}

/**
 * A service spec (one entry of a config file's `services:`; at a narrower scope possibly only the keys it
 * overrides) as rows at `scope`. Throws a RangeError naming what is wrong with its shape; the values
 * themselves are checked by `checkChange` (the same schema as the config file).
 */
export function serviceSpecRows(spec: unknown, scope: string): { service: NewServiceRow; backends: NewBackendRow[] } {
  parseScope(scope);
  if (!isObject(spec)) throw new RangeError('a service must be a mapping (the fields of one entry of the configuration\'s services list)');
  const name = typed<string>(spec.name, 'string', 'name');
  if (!name) throw new RangeError('a service needs a name');
  if (spec.backends !== undefined && !Array.isArray(spec.backends)) throw new RangeError('backends: expected a list');
  const service: NewServiceRow = {
    name, scope,
    vip: typed(spec.vip, 'string', 'vip'), port: typed(spec.port, 'number', 'port'),
    protocol: typed(spec.protocol, 'string', 'protocol'), scheduler: typed(spec.scheduler, 'string', 'scheduler'),
    options: optionsOf(spec, SERVICE_COLUMN_KEYS),
  };
  const backends = ((spec.backends as unknown[] | undefined) ?? []).map((b, i) => backendSpecRow(b, name, scope, `backends[${i}]`));
  return { service, backends };
}

/** One backend spec (`{ name?, vnic, ip, ports, weight?, tier?, ... }`, or at a narrower scope a name and what it overrides). */
export function backendSpecRow(spec: unknown, service: string, scope: string, what = 'backend'): NewBackendRow {
  parseScope(scope);
  if (!isObject(spec)) throw new RangeError(`${what}: expected a mapping`);
  const vnic = typed<string>(spec.vnic, 'string', `${what}.vnic`);
  const name = typed<string>(spec.name, 'string', `${what}.name`) ?? vnic;
  if (!name) throw new RangeError(`${what}: needs a name or a vnic`);
  if (spec.ports !== undefined && (!Array.isArray(spec.ports) || !spec.ports.every((p) => Number.isInteger(p)))) {
    throw new RangeError(`${what}.ports: expected a list of port numbers`);
  }
  return {
    service, name, scope, vnic, ip: typed(spec.ip, 'string', `${what}.ip`), ports: (spec.ports as number[] | undefined) ?? [],
    weight: typed(spec.weight, 'number', `${what}.weight`), tier: typed(spec.tier, 'number', `${what}.tier`),
    drain: typed(spec.drain, 'boolean', `${what}.drain`), options: optionsOf(spec, BACKEND_COLUMN_KEYS),
  };
}

const opt = <T extends string | number | boolean>(value: T | undefined): T | T[] => (value === undefined ? [] : value);

export function serviceOvsdbRow(r: NewServiceRow): Row {
  return {
    name: r.name, scope: r.scope, vip: opt(r.vip), port: opt(r.port), protocol: opt(r.protocol), scheduler: opt(r.scheduler),
    options: new Map(Object.entries(r.options)),
  };
}

export function backendOvsdbRow(r: NewBackendRow): Row {
  return {
    service: r.service, name: r.name, scope: r.scope, vnic: opt(r.vnic), ip: opt(r.ip), ports: [...r.ports], weight: opt(r.weight),
    tier: opt(r.tier), drain: opt(r.drain), options: new Map(Object.entries(r.options)),
  };
}

// ------------------------------------------------------------------ changes

export type PolicyChange =
  | { kind: 'add-service'; service: NewServiceRow; backends: NewBackendRow[] }
  | { kind: 'remove-service'; name: string; scope: string }
  | { kind: 'add-backend'; backend: NewBackendRow }
  | { kind: 'remove-backend'; service: string; name: string; scope: string }
  /** Sets columns of the backend row at the scope (created as an override row when there is none). */
  | { kind: 'set-backend'; service: string; name: string; scope: string; weight?: number; drain?: boolean | null };

/** The snapshot as it would be after the change (rows get placeholder uuids). */
export function applyChange(snapshot: PolicySnapshot, change: PolicyChange): PolicySnapshot {
  const next: PolicySnapshot = { ...snapshot, services: [...snapshot.services], backends: [...snapshot.backends] };
  switch (change.kind) {
    case 'add-service':
      next.services.push({ uuid: 'new', ...change.service });
      next.backends.push(...change.backends.map((b, i) => ({ uuid: `new-${i}`, ...b })));
      break;
    case 'remove-service':
      next.services = next.services.filter((s) => !(s.name === change.name && s.scope === change.scope));
      next.backends = next.backends.filter((b) => !(b.service === change.name && b.scope === change.scope));
      break;
    case 'add-backend':
      next.backends.push({ uuid: 'new', ...change.backend });
      break;
    case 'remove-backend':
      next.backends = next.backends.filter((b) => !(b.service === change.service && b.name === change.name && b.scope === change.scope));
      break;
    case 'set-backend': {
      const i = next.backends.findIndex((b) => b.service === change.service && b.name === change.name && b.scope === change.scope);
      const base: BackendRow = i >= 0 ? next.backends[i] : { uuid: 'new', service: change.service, name: change.name, scope: change.scope, ports: [], options: {} };
      const row: BackendRow = { ...base };
      if (change.weight !== undefined) row.weight = change.weight;
      if (change.drain !== undefined) row.drain = change.drain ?? undefined;
      if (i >= 0) next.backends[i] = row;
      else next.backends.push(row);
      break;
    }
  }
  return next;
}

/** The hosts a change must be judged for: every host known to the store, and one stand-in per scope. */
function audience(snapshot: PolicySnapshot, statuses: readonly HostStatusRow[], scope: string): Array<{ host: string; group?: string }> {
  const who = new Map<string, { host: string; group?: string }>();
  for (const s of statuses) who.set(s.host, { host: s.host, group: s.group });
  for (const h of snapshot.hosts) if (!who.has(h.name)) who.set(h.name, { host: h.name });
  const parsed = parseScope(scope);
  // A stand-in host that no real host is called: it sees exactly the scopes of the change.
  const standIn = '~any';
  if (parsed.kind === 'host' && !who.has(parsed.name)) who.set(parsed.name, { host: parsed.name });
  if (parsed.kind === 'group') who.set(`${standIn}@${parsed.name}`, { host: standIn, group: parsed.name });
  if (parsed.kind === 'cluster') who.set(standIn, { host: standIn });
  for (const g of snapshot.groups) if (![...who.values()].some((w) => w.group === g.name)) who.set(`${standIn}@${g.name}`, { host: standIn, group: g.name });
  return [...who.values()];
}

const problemKey = (p: PolicyProblem) => `${p.kind}|${p.scope}|${p.service}|${p.backend}|${p.message}`;

/**
 * The problems the change would add, for any host of the cluster: what `vadc service add ... --cluster`
 * refuses to write (the daemons would report and ignore it; refusing it up front loses nothing).
 */
export function checkChange(snapshot: PolicySnapshot, statuses: readonly HostStatusRow[], change: PolicyChange, scope: string): PolicyProblem[] {
  const after = applyChange(snapshot, change);
  const out = new Map<string, PolicyProblem>();
  for (const who of audience(after, statuses, scope)) {
    const before = new Set(effectivePolicy(snapshot, who).problems.map(problemKey));
    for (const p of effectivePolicy(after, who).problems) {
      const key = problemKey(p);
      if (!before.has(key)) out.set(key, p);
    }
  }
  return [...out.values()];
}

const eq = (column: string, value: string) => condition(column, '==', value);

/** The transaction that makes the change (a unique index refuses a second row for the same name and scope). */
export function changeOperations(change: PolicyChange, existing: PolicySnapshot): Operation[] {
  switch (change.kind) {
    case 'add-service':
      return [
        op.insert('Service', serviceOvsdbRow(change.service)),
        ...change.backends.map((b) => op.insert('Backend', backendOvsdbRow(b))),
        op.comment(`vadc: add service ${change.service.name} at ${change.service.scope}`),
      ];
    case 'remove-service':
      return [
        op.delete('Service', [eq('name', change.name), eq('scope', change.scope)]),
        op.delete('Backend', [eq('service', change.name), eq('scope', change.scope)]),
        op.comment(`vadc: remove service ${change.name} at ${change.scope}`),
      ];
    case 'add-backend':
      return [op.insert('Backend', backendOvsdbRow(change.backend)), op.comment(`vadc: add backend ${change.backend.name} to ${change.backend.service} at ${change.backend.scope}`)];
    case 'remove-backend':
      return [
        op.delete('Backend', [eq('service', change.service), eq('name', change.name), eq('scope', change.scope)]),
        op.comment(`vadc: remove backend ${change.name} of ${change.service} at ${change.scope}`),
      ];
    case 'set-backend': {
      const where = [eq('service', change.service), eq('name', change.name), eq('scope', change.scope)];
      const columns: Row = {};
      if (change.weight !== undefined) columns.weight = change.weight;
      if (change.drain !== undefined) columns.drain = change.drain === null ? [] : change.drain;
      const exists = existing.backends.some((b) => b.service === change.service && b.name === change.name && b.scope === change.scope);
      const comment = op.comment(`vadc: set ${Object.keys(columns).join(', ')} of backend ${change.name} of ${change.service} at ${change.scope}`);
      if (exists) return [op.update('Backend', where, columns), comment];
      return [op.insert('Backend', backendOvsdbRow({ service: change.service, name: change.name, scope: change.scope, ports: [], options: {}, ...columnsToTyped(change) })), comment];
    }
  }
}

function columnsToTyped(change: Extract<PolicyChange, { kind: 'set-backend' }>): Partial<NewBackendRow> {
  return { ...(change.weight !== undefined ? { weight: change.weight } : {}), ...(change.drain ? { drain: true } : {}) };
}

export { STORE_DB };
