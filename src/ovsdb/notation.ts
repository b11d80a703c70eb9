/**
 * RFC 7047 section 5.1 notation <-> plain TypeScript values.
 *
 * Representation (chosen so a value's kind is visible without the schema):
 *   atom string/integer/real/boolean -> string | number | boolean
 *   ["uuid", "…"]                    -> Uuid
 *   ["named-uuid", "…"]              -> NamedUuid
 *   ["set", [a, …]]                  -> Atom[]            (a bare atom stays an atom: RFC 7047 lets a
 *                                                           one-element set be sent as the atom, so use
 *                                                           asSet()/the schema when a set is expected)
 *   ["map", [[k, v], …]]             -> Map<Atom, Atom>   (uuid keys are Uuid objects: look them up with
 *                                                           atomKey(), not Map.get)
 * Integers beyond 2^53 lose precision in JSON.parse; OVS counters stay far below that in practice.
 */
import { OvsdbNotationError } from './errors';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NAMED_UUID_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class Uuid {
  readonly value: string;
  constructor(value: string) {
    if (!UUID_PATTERN.test(value)) throw new OvsdbNotationError(`"${value}" is not a UUID`, 'uuid');
    this.value = value.toLowerCase();
  }
  toString(): string {
    return this.value;
  }
}

/** A reference, inside one transaction, to a row inserted with that `uuid-name`. */
export class NamedUuid {
  constructor(readonly name: string) {
    if (!NAMED_UUID_PATTERN.test(name)) throw new OvsdbNotationError(`"${name}" is not a valid uuid-name`, 'named-uuid');
  }
  toString(): string {
    return this.name;
  }
}

export type Atom = string | number | boolean | Uuid | NamedUuid;
export type OvsdbValue = Atom | Atom[] | Map<Atom, Atom>;
export type Row = Record<string, OvsdbValue>;
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export const uuid = (value: string): Uuid => new Uuid(value);
export const namedUuid = (name: string): NamedUuid => new NamedUuid(name);

export function isAtom(value: unknown): value is Atom {
  return (
    typeof value === 'string' ||
    (typeof value === 'number' && Number.isFinite(value)) ||
    typeof value === 'boolean' ||
    value instanceof Uuid ||
    value instanceof NamedUuid
  );
}

export function decodeAtom(json: unknown, path = 'atom'): Atom {
  if (typeof json === 'string' || typeof json === 'boolean') return json;
  if (typeof json === 'number') {
    if (!Number.isFinite(json)) throw new OvsdbNotationError('number is not finite', path);
    return json;
  }
  if (Array.isArray(json) && json.length === 2 && typeof json[1] === 'string') {
    if (json[0] === 'uuid') return wrapNotation(() => new Uuid(json[1] as string), path);
    if (json[0] === 'named-uuid') return wrapNotation(() => new NamedUuid(json[1] as string), path);
  }
  throw new OvsdbNotationError(`expected an atom, got ${describe(json)}`, path);
}

export function decodeValue(json: unknown, path = 'value'): OvsdbValue {
  if (Array.isArray(json) && json.length === 2 && json[0] === 'set') {
    const items = json[1];
    if (!Array.isArray(items)) throw new OvsdbNotationError('"set" needs an array of atoms', path);
    return items.map((item, i) => decodeAtom(item, `${path}[${i}]`));
  }
  if (Array.isArray(json) && json.length === 2 && json[0] === 'map') {
    const pairs = json[1];
    if (!Array.isArray(pairs)) throw new OvsdbNotationError('"map" needs an array of [key, value] pairs', path);
    const map = new Map<Atom, Atom>();
    pairs.forEach((pair, i) => {
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw new OvsdbNotationError(`map entry is not a [key, value] pair: ${describe(pair)}`, `${path}[${i}]`);
      }
      map.set(decodeAtom(pair[0], `${path}[${i}].key`), decodeAtom(pair[1], `${path}[${i}].value`));
    });
    return map;
  }
  return decodeAtom(json, path);
}

export function encodeAtom(atom: Atom): Json {
  if (atom instanceof Uuid) return ['uuid', atom.value];
  if (atom instanceof NamedUuid) return ['named-uuid', atom.name];
  if (!isAtom(atom)) throw new OvsdbNotationError(`cannot encode ${describe(atom)} as an atom`, 'atom');
  return atom;
}

export function encodeValue(value: OvsdbValue): Json {
  if (Array.isArray(value)) return ['set', value.map(encodeAtom)];
  if (value instanceof Map) return ['map', [...value].map(([k, v]) => [encodeAtom(k), encodeAtom(v)])];
  return encodeAtom(value);
}

export function decodeRow(json: unknown, path = 'row'): Row {
  if (!isPlainObject(json)) throw new OvsdbNotationError(`expected a row object, got ${describe(json)}`, path);
  const row: Row = {};
  for (const [column, value] of Object.entries(json)) row[column] = decodeValue(value, `${path}.${column}`);
  return row;
}

export function encodeRow(row: Row): Record<string, Json> {
  const json: Record<string, Json> = {};
  for (const [column, value] of Object.entries(row)) json[column] = encodeValue(value);
  return json;
}

/** A string that identifies an atom for equality and map lookups (Uuid and NamedUuid are objects). */
export function atomKey(atom: Atom): string {
  if (atom instanceof Uuid) return `uuid:${atom.value}`;
  if (atom instanceof NamedUuid) return `named-uuid:${atom.name}`;
  return `${typeof atom}:${String(atom)}`;
}

/** Elements of a set-valued column: a bare atom is a one-element set (RFC 7047 5.1). */
export function asSet(value: OvsdbValue | undefined): Atom[] {
  if (value === undefined) return [];
  if (Array.isArray(value)) return value;
  if (value instanceof Map) throw new OvsdbNotationError('expected a set, got a map', 'value');
  return [value];
}

export function asMap(value: OvsdbValue | undefined): Map<Atom, Atom> {
  if (value === undefined) return new Map();
  if (value instanceof Map) return value;
  // An empty map and an empty set look alike on the wire only if a server sends ["set", []]; accept it.
  if (Array.isArray(value) && value.length === 0) return new Map();
  throw new OvsdbNotationError(`expected a map, got ${describe(value)}`, 'value');
}

export function valuesEqual(a: OvsdbValue | undefined, b: OvsdbValue | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a instanceof Map || b instanceof Map) {
    if (!(a instanceof Map && b instanceof Map) || a.size !== b.size) return false;
    const bByKey = new Map([...b].map(([k, v]) => [atomKey(k), atomKey(v)]));
    return [...a].every(([k, v]) => bByKey.get(atomKey(k)) === atomKey(v));
  }
  const aSet = asSet(a).map(atomKey).sort();
  const bSet = asSet(b).map(atomKey).sort();
  return aSet.length === bSet.length && aSet.every((k, i) => k === bSet[i]);
}

// ---- conditions and mutations (RFC 7047 5.1) ----

export type ConditionFunction = '<' | '<=' | '==' | '!=' | '>=' | '>' | 'includes' | 'excludes';
export type Mutator = '+=' | '-=' | '*=' | '/=' | '%=' | 'insert' | 'delete';

export interface Condition {
  column: string;
  fn: ConditionFunction;
  value: OvsdbValue;
}

export interface Mutation {
  column: string;
  mutator: Mutator;
  value: OvsdbValue;
}

export const condition = (column: string, fn: ConditionFunction, value: OvsdbValue): Condition => ({ column, fn, value });
export const mutation = (column: string, mutator: Mutator, value: OvsdbValue): Mutation => ({ column, mutator, value });

export const encodeCondition = (c: Condition): Json => [c.column, c.fn, encodeValue(c.value)];
export const encodeMutation = (m: Mutation): Json => [m.column, m.mutator, encodeValue(m.value)];

const CONDITION_FUNCTIONS = new Set<string>(['<', '<=', '==', '!=', '>=', '>', 'includes', 'excludes']);
const MUTATORS = new Set<string>(['+=', '-=', '*=', '/=', '%=', 'insert', 'delete']);

export function decodeCondition(json: unknown, path = 'condition'): Condition {
  if (!Array.isArray(json) || json.length !== 3 || typeof json[0] !== 'string' || !CONDITION_FUNCTIONS.has(json[1])) {
    throw new OvsdbNotationError(`expected [column, function, value], got ${describe(json)}`, path);
  }
  return condition(json[0], json[1] as ConditionFunction, decodeValue(json[2], `${path}[2]`));
}

export function decodeMutation(json: unknown, path = 'mutation'): Mutation {
  if (!Array.isArray(json) || json.length !== 3 || typeof json[0] !== 'string' || !MUTATORS.has(json[1])) {
    throw new OvsdbNotationError(`expected [column, mutator, value], got ${describe(json)}`, path);
  }
  return mutation(json[0], json[1] as Mutator, decodeValue(json[2], `${path}[2]`));
}

// ---- helpers ----

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function describe(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function wrapNotation<T>(make: () => T, path: string): T {
  try {
    return make();
  } catch (err) {
    if (err instanceof OvsdbNotationError) throw new OvsdbNotationError(err.reason, path);
    throw err;
  }
}
