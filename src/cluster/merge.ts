// Inheritance: a host's effective policy is the merge of the store's rows at the scopes that apply to it
// (cluster, then its group, then the host), with where each value came from. Pure: rows in, services and
// problems out. A row that cannot apply (an override of a service that does not exist, a conflicting VIP,
// a value the service schema refuses) is left out whole and reported; what was valid before it stays.
import { formatEndpoint } from '../net/endpoint';
import { createHash } from 'node:crypto';
import { ConfigError, fixedAddressesOf, parseServiceConfig, vipHolding, vipPrefixesOf, type ServiceConfig } from '../config';
import { parseScope, scopesFor, type BackendRow, type NatMode, type PolicySnapshot, type ServiceRow } from './schema';

/** Where a value came from: a scope ('cluster', 'group:G', 'host:H'), or 'default' when nobody set it. */
export type Source = string;

export interface EffectiveService {
  config: ServiceConfig;
  /** The scope whose row defined the service. */
  definedAt: string;
  /** Where each value set in the store came from: 'scheduler' -> 'group:web', 'backends.web1.weight' -> 'host:h1'. */
  from: Record<string, Source>;
  /** Backends drained in the store: backend name -> the scope that drained it. */
  drained: Record<string, Source>;
}

export type ProblemKind =
  | 'bad_scope' | 'incomplete_service' | 'missing_service' | 'missing_backend' | 'conflicting_vip' | 'invalid_service'
  | 'invalid_override' | 'name_conflict' | 'pinned_id_conflict';

export interface PolicyProblem {
  kind: ProblemKind;
  message: string;
  scope?: string;
  service?: string;
  backend?: string;
}

export interface EffectivePolicy {
  host: string;
  group?: string;
  services: EffectiveService[];
  /** The NAT mode the store sets for this host (host, else group, else cluster), if any. */
  nat?: { value: NatMode; from: Source };
  problems: PolicyProblem[];
  /** sha256 of the effective services, drains and NAT mode: equal digests, equal policy. */
  digest: string;
}

/** Keys of a service that have columns of their own (the rest travel in `options` as JSON). */
const SERVICE_COLUMNS = ['name', 'vip', 'port', 'protocol', 'scheduler', 'backends'];
const BACKEND_COLUMNS = ['name', 'vnic', 'ip', 'ports', 'weight', 'tier'];
/** Hooks run programs on the host: a cluster-wide policy must not start them on every host at once. */
const HOST_ONLY_KEYS = ['launch', 'stop'];

interface Draft {
  fields: Record<string, unknown>;
  backends: Map<string, Record<string, unknown>>;
  from: Record<string, Source>;
  drained: Record<string, Source>;
  config?: ServiceConfig;
}

const copy = (d: Draft): Draft => ({
  fields: { ...d.fields }, backends: new Map([...d.backends].map(([k, v]) => [k, { ...v }])), from: { ...d.from }, drained: { ...d.drained },
});

/** The JSON values of a row's options; throws with the key that is not JSON or not allowed. */
function decodeOptions(options: Record<string, string>, reserved: string[], what: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, text] of Object.entries(options)) {
    if (reserved.includes(key)) throw new Error(`option ${key} of ${what} has a column of its own; set the column instead`);
    if (HOST_ONLY_KEYS.includes(key)) throw new Error(`option ${key} of ${what}: launch/stop hooks are per host (config file), not cluster policy`);
    try {
      out[key] = JSON.parse(text);
    } catch {
      throw new Error(`option ${key} of ${what} is not JSON: ${JSON.stringify(text.slice(0, 60))}`);
    }
  }
  return out;
}

function firstIssue(err: unknown): string {
  if (err instanceof ConfigError) return err.issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
  return (err as Error).message;
}

function rawService(d: Draft): Record<string, unknown> {
  return { ...d.fields, backends: [...d.backends.values()] };
}

/** Applies one scope's service row (override) to the draft; throws with the reason the row cannot apply. */
function applyServiceRow(d: Draft, row: ServiceRow, defining: boolean): void {
  const identity: Array<[keyof ServiceRow, string]> = [['vip', 'VIP'], ['port', 'port'], ['protocol', 'protocol']];
  if (!defining) {
    for (const [key, what] of identity) {
      const mine = row[key];
      const theirs = key === 'protocol' ? (d.fields.protocol ?? 'tcp') : d.fields[key];
      if (mine !== undefined && mine !== theirs) {
        const e = new Error(`${what} ${String(mine)} conflicts with ${String(theirs)} set at ${d.from[key] ?? 'default'}: an override cannot move a service`);
        (e as Error & { kind: ProblemKind }).kind = 'conflicting_vip';
        throw e;
      }
    }
  }
  const options = decodeOptions(row.options, SERVICE_COLUMNS, `service ${row.name} at ${row.scope}`);
  const set = (key: string, value: unknown) => {
    if (value === undefined) return;
    d.fields[key] = value;
    d.from[key] = row.scope;
  };
  if (defining) set('name', row.name);
  set('vip', row.vip);
  set('port', row.port);
  set('protocol', row.protocol);
  set('scheduler', row.scheduler);
  for (const [key, value] of Object.entries(options)) set(key, value);
}

/** Applies one scope's backend row: a new backend (needs vnic and ip) or an override of one defined before. */
function applyBackendRow(d: Draft, row: BackendRow): void {
  const existing = d.backends.get(row.name);
  const what = `backend ${row.name} of ${row.service} at ${row.scope}`;
  if (!existing && (row.vnic === undefined || row.ip === undefined)) {
    const e = new Error(`${what} overrides a backend that does not exist at a broader scope (a new backend needs vnic and ip)`);
    (e as Error & { kind: ProblemKind }).kind = 'missing_backend';
    throw e;
  }
  const options = decodeOptions(row.options, BACKEND_COLUMNS, what);
  const b = existing ?? {};
  const path = `backends.${row.name}`;
  if (!existing) d.from[path] = row.scope;
  const set = (key: string, value: unknown) => {
    if (value === undefined) return;
    b[key] = value;
    d.from[`${path}.${key}`] = row.scope;
  };
  if (!existing) set('name', row.name);
  set('vnic', row.vnic);
  set('ip', row.ip);
  set('ports', row.ports.length ? row.ports : existing ? undefined : []);
  set('weight', row.weight);
  set('tier', row.tier);
  for (const [key, value] of Object.entries(options)) set(key, value);
  d.backends.set(row.name, b);
  if (row.drain === true) d.drained[row.name] = row.scope;
  else if (row.drain === false) delete d.drained[row.name];
}

/**
 * The effective services of one host: for each service name seen at the host's scopes, the broadest row
 * defines it (it must have a VIP and a port), and each narrower scope's rows (service and backends) apply
 * on top, one scope at a time, only if the result is still a valid service.
 */
export function effectivePolicy(snapshot: PolicySnapshot, who: { host: string; group?: string }): EffectivePolicy {
  const scopes = scopesFor(who.host, who.group);
  const rank = new Map(scopes.map((s, i) => [s, i]));
  const problems: PolicyProblem[] = [];
  const badScopes = new Set<string>();
  const applies = (scope: string): boolean => {
    if (rank.has(scope)) return true;
    try {
      parseScope(scope);
    } catch (err) {
      if (!badScopes.has(scope)) problems.push({ kind: 'bad_scope', scope, message: (err as Error).message });
      badScopes.add(scope);
    }
    return false;
  };
  const byRank = <T extends { scope: string }>(a: T, b: T) => rank.get(a.scope)! - rank.get(b.scope)!;
  const serviceRows = snapshot.services.filter((r) => applies(r.scope));
  const backendRows = snapshot.backends.filter((r) => applies(r.scope));
  const names = [...new Set([...serviceRows.map((r) => r.name), ...backendRows.map((r) => r.service)])].sort();

  const built: EffectiveService[] = [];
  for (const name of names) {
    const rows = serviceRows.filter((r) => r.name === name).sort(byRank);
    // Backends in name order: hosts must build identical services (and digests) whatever order the rows came in.
    const backends = backendRows.filter((r) => r.service === name).sort((a, b) => byRank(a, b) || a.name.localeCompare(b.name));
    const service = buildService(name, rows, backends, scopes, problems);
    if (service) built.push(service);
  }
  const services = dropConflicts(built, rank, problems);
  const nat = natFor(snapshot, who);
  const digest = policyDigest(services, nat?.value);
  return { host: who.host, group: who.group, services, nat, problems, digest };
}

function buildService(name: string, rows: ServiceRow[], backends: BackendRow[], scopes: string[], problems: PolicyProblem[]): EffectiveService | undefined {
  const def = rows[0];
  if (!def || def.vip === undefined || def.port === undefined) {
    const at = def?.scope ?? backends[0].scope;
    const broader = scopes.slice(0, scopes.indexOf(at)).join(' or ') || 'a broader scope';
    problems.push(at === 'cluster' && def
      ? { kind: 'incomplete_service', scope: at, service: name, message: `service ${name} at cluster has no ${def.vip === undefined ? 'vip' : 'port'}: a service is defined by its VIP and port` }
      : { kind: 'missing_service', scope: at, service: name, message: `${def ? 'service' : 'backends of service'} ${name} at ${at} ${def ? 'overrides' : 'override'} a service that does not exist (no service ${name} with a VIP at ${broader})` });
    return undefined;
  }
  const defRank = scopes.indexOf(def.scope);
  let draft: Draft = { fields: {}, backends: new Map(), from: {}, drained: {} };
  for (let i = defRank; i < scopes.length; i++) {
    const scope = scopes[i];
    const serviceRow = rows.find((r) => r.scope === scope);
    // Backend rows broader than the service's definition apply with it.
    const backendRowsHere = backends.filter((b) => (i === defRank ? scopes.indexOf(b.scope) <= defRank : b.scope === scope));
    if (!serviceRow && backendRowsHere.length === 0) continue;
    const next = copy(draft);
    try {
      if (serviceRow) applyServiceRow(next, serviceRow, i === defRank);
      for (const b of backendRowsHere) applyBackendRow(next, b);
      next.config = parseServiceConfig(rawService(next), `service ${name} at ${scope}`);
      draft = next;
    } catch (err) {
      const kind = (err as Error & { kind?: ProblemKind }).kind ?? (i === defRank ? 'invalid_service' : 'invalid_override');
      const backend = kind === 'missing_backend' ? backendRowsHere.find((b) => !draft.backends.has(b.name) && (b.vnic === undefined || b.ip === undefined))?.name : undefined;
      const message = i === defRank
        ? `service ${name} at ${scope} is not a valid service: ${firstIssue(err)}`
        : `the ${scope} rows of service ${name} are ignored: ${firstIssue(err)}`;
      problems.push({ kind, scope, service: name, ...(backend ? { backend } : {}), message });
      if (i === defRank) return undefined;
    }
  }
  return { config: draft.config!, definedAt: def.scope, from: draft.from, drained: draft.drained };
}

/**
 * One listener (VIP:port/protocol) has one service, and one VIP one MAC: when two services collide, the one
 * defined at the broader scope (then the first by name) stays and the other is left out.
 */
function dropConflicts(services: EffectiveService[], rank: Map<string, number>, problems: PolicyProblem[]): EffectiveService[] {
  const ordered = [...services].sort((a, b) => rank.get(a.definedAt)! - rank.get(b.definedAt)! || a.config.name.localeCompare(b.config.name));
  const kept: EffectiveService[] = [];
  for (const s of ordered) {
    const clash = conflictWith(s.config, kept.map((k) => k.config));
    if (clash) {
      problems.push({ kind: 'conflicting_vip', scope: s.definedAt, service: s.config.name, message: `service ${s.config.name} at ${s.definedAt} is left out: ${clash}` });
    } else kept.push(s);
  }
  return kept.sort((a, b) => a.config.name.localeCompare(b.config.name));
}

/**
 * Why `service` cannot be served next to `others`, if it cannot: the same listener, another MAC for the same VIP, or a
 * fixed backend address of one inside the other's VIP (the config file's rule, config/rules.ts: vadc answers ARP for
 * the VIP's addresses and takes their packets to the service, so such a backend could never be reached).
 */
export function conflictWith(service: ServiceConfig, others: readonly ServiceConfig[]): string | undefined {
  // A dual-stack service's vip6 is a VIP as its vip is.
  const vips = (s: ServiceConfig) => (s.vip6 === undefined ? [s.vip] : [s.vip, s.vip6]);
  for (const o of others) {
    for (const vip of vips(service).filter((v) => vips(o).includes(v))) {
      if (o.port === service.port && o.protocol === service.protocol) return `${formatEndpoint(vip, service.port)}/${service.protocol} is already service ${o.name}'s`;
      if (o.vip_mac !== service.vip_mac) return `VIP ${vip} answers with ${o.vip_mac} for service ${o.name}, not ${service.vip_mac}`;
    }
  }
  // Index 0 is `service`: its own single VIP is passed over (its schema already says a backend must differ from it).
  const all = vipPrefixesOf([service, ...others], (_i, _key, vip, name) => `${vip} of service ${name}`);
  const mine = fixedAddressesOf(service).map((a) => ({ ...a, holder: vipHolding(a.address, all, 0) })).find((a) => a.holder);
  if (mine) return `its ${mine.what} ${mine.address} ${mine.holder!.text}, so that backend could not be reached`;
  const own = all.filter((v) => v.service === 0);
  for (const o of others) {
    const theirs = fixedAddressesOf(o).map((a) => ({ ...a, holder: vipHolding(a.address, own, -1) })).find((a) => a.holder);
    if (theirs) return `service ${o.name}'s ${theirs.what} ${theirs.address} ${theirs.holder!.text}, so that backend could not be reached`;
  }
  return undefined;
}

function natFor(snapshot: PolicySnapshot, who: { host: string; group?: string }): EffectivePolicy['nat'] {
  const host = snapshot.hosts.find((h) => h.name === who.host);
  if (host?.nat) return { value: host.nat, from: `host:${who.host}` };
  const group = who.group ? snapshot.groups.find((g) => g.name === who.group) : undefined;
  if (group?.nat) return { value: group.nat, from: `group:${who.group}` };
  if (snapshot.cluster?.nat) return { value: snapshot.cluster.nat, from: 'cluster' };
  return undefined;
}

export function policyDigest(services: readonly EffectiveService[], nat: NatMode | undefined): string {
  const body = JSON.stringify({ nat: nat ?? null, services: services.map((s) => ({ config: s.config, drained: Object.keys(s.drained).sort() })) });
  return createHash('sha256').update(body).digest('hex');
}
