/**
 * The parts of an RFC 7047 database schema the client needs: column kinds, so update2 diffs can be
 * applied and one-element sets told apart from scalars.
 */
import { OvsdbNotationError } from './errors';
import { Atom, OvsdbValue, Row, asMap, asSet, atomKey, describe, isPlainObject } from './notation';

export type AtomicType = 'integer' | 'real' | 'boolean' | 'string' | 'uuid';

export interface ColumnType {
  key: AtomicType;
  value?: AtomicType;
  min: number;
  max: number | 'unlimited';
}

export type ColumnKind = 'scalar' | 'set' | 'map';

export interface TableSchema {
  columns: Record<string, ColumnType>;
  isRoot: boolean;
}

export interface DatabaseSchema {
  name: string;
  version: string;
  tables: Record<string, TableSchema>;
}

const ATOMIC_TYPES = new Set<string>(['integer', 'real', 'boolean', 'string', 'uuid']);

function parseAtomicType(json: unknown, path: string): AtomicType {
  const name = isPlainObject(json) ? json.type : json;
  if (typeof name !== 'string' || !ATOMIC_TYPES.has(name)) {
    throw new OvsdbNotationError(`unknown atomic type ${describe(json)}`, path);
  }
  return name as AtomicType;
}

export function parseColumnType(json: unknown, path = 'type'): ColumnType {
  if (!isPlainObject(json)) return { key: parseAtomicType(json, path), min: 1, max: 1 };
  const min = json.min ?? 1;
  const max = json.max ?? 1;
  if (typeof min !== 'number' || !(typeof max === 'number' || max === 'unlimited')) {
    throw new OvsdbNotationError(`bad min/max in ${describe(json)}`, path);
  }
  return {
    key: parseAtomicType(json.key, `${path}.key`),
    ...(json.value === undefined ? {} : { value: parseAtomicType(json.value, `${path}.value`) }),
    min,
    max,
  };
}

export function parseSchema(json: unknown): DatabaseSchema {
  if (!isPlainObject(json) || typeof json.name !== 'string' || !isPlainObject(json.tables)) {
    throw new OvsdbNotationError(`expected a schema with name and tables, got ${describe(json)}`, 'schema');
  }
  const tables: Record<string, TableSchema> = {};
  for (const [tableName, table] of Object.entries(json.tables)) {
    if (!isPlainObject(table) || !isPlainObject(table.columns)) {
      throw new OvsdbNotationError('table without columns', `schema.tables.${tableName}`);
    }
    const columns: Record<string, ColumnType> = {};
    for (const [col, def] of Object.entries(table.columns)) {
      if (!isPlainObject(def)) throw new OvsdbNotationError('column is not an object', `schema.tables.${tableName}.${col}`);
      columns[col] = parseColumnType(def.type, `schema.tables.${tableName}.${col}.type`);
    }
    tables[tableName] = { columns, isRoot: table.isRoot === true };
  }
  return { name: json.name, version: typeof json.version === 'string' ? json.version : '', tables };
}

export function columnKind(type: ColumnType): ColumnKind {
  if (type.value !== undefined) return 'map';
  return type.min === 1 && type.max === 1 ? 'scalar' : 'set';
}

/** Puts a decoded value in its column's canonical form: sets are always arrays. */
export function normalizeValue(value: OvsdbValue, type: ColumnType | undefined): OvsdbValue {
  if (!type) return value;
  switch (columnKind(type)) {
    case 'map':
      return asMap(value);
    case 'set':
      return asSet(value);
    default:
      return value;
  }
}

export function normalizeRow(row: Row, table: TableSchema | undefined): Row {
  const out: Row = {};
  for (const [col, value] of Object.entries(row)) out[col] = normalizeValue(value, table?.columns[col]);
  return out;
}

/**
 * Applies an update2 "modify" difference (ovsdb-server(7) 4.1.14): a scalar column carries its new
 * value, a set the elements that are in only one of old and new, a map the keys in only one of them
 * plus the keys whose value changed (with the new value).
 */
export function applyColumnDiff(old: OvsdbValue | undefined, diff: OvsdbValue, type: ColumnType): OvsdbValue {
  switch (columnKind(type)) {
    case 'scalar':
      return diff;
    case 'set': {
      // ovsdb-server diffs only composite columns (max > 1); an optional column (0 or 1 element) carries
      // its new value, as a scalar does (ovsdb_datum_diff clones 'new' when the type is not composite).
      if (type.max === 1) return asSet(diff);
      const result = new Map(asSet(old).map((a) => [atomKey(a), a] as const));
      for (const atom of asSet(diff)) {
        const key = atomKey(atom);
        if (result.has(key)) result.delete(key);
        else result.set(key, atom);
      }
      return [...result.values()];
    }
    case 'map': {
      const result = new Map<string, [Atom, Atom]>([...asMap(old)].map(([k, v]) => [atomKey(k), [k, v]]));
      for (const [k, v] of asMap(diff)) {
        const key = atomKey(k);
        const existing = result.get(key);
        if (existing && atomKey(existing[1]) === atomKey(v)) result.delete(key);
        else result.set(key, [k, v]);
      }
      return new Map([...result.values()]);
    }
  }
}
