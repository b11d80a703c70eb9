/**
 * The rows one monitor has seen, and the pure logic that turns the server's table-updates (monitor's
 * "update" and monitor_cond's "update2") into row changes carrying full old and new rows. A reset
 * (the initial contents after a (re)connect) is diffed against what was held before, so rows deleted
 * while disconnected come out as deletes and stale rows are replaced.
 */
import { OvsdbProtocolError } from './errors';
import { Row, decodeRow, describe, isPlainObject, valuesEqual } from './notation';
import { DatabaseSchema, applyColumnDiff, normalizeRow } from './schema';

export interface RowChange {
  table: string;
  uuid: string;
  /** Absent for an insert. */
  old?: Row;
  /** Absent for a delete. */
  new?: Row;
}

export type TableRows = Map<string, Row>;

export function rowsEqual(a: Row, b: Row): boolean {
  const columns = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...columns].every((c) => valuesEqual(a[c], b[c]));
}

export class MonitorReplica {
  private readonly tables = new Map<string, TableRows>();

  constructor(
    private schema: DatabaseSchema,
    tableNames: string[],
  ) {
    for (const name of tableNames) this.tables.set(name, new Map());
  }

  /** Uses `schema` from now on; returns true when it differs from the one in use (a converted database). */
  setSchema(schema: DatabaseSchema): boolean {
    const changed = JSON.stringify(schema) !== JSON.stringify(this.schema);
    this.schema = schema;
    return changed;
  }

  rows(table: string): ReadonlyMap<string, Row> {
    return this.tables.get(table) ?? new Map();
  }

  /** Replaces everything with a full initial view (monitor reply, either format). */
  reset(initial: unknown, format: 'update' | 'update2'): RowChange[] {
    const fresh = new Map<string, TableRows>([...this.tables.keys()].map((t) => [t, new Map()]));
    forEachRowUpdate(initial, (table, uuid, update, path) => {
      const rows = fresh.get(table);
      if (!rows) return;
      const row = format === 'update' ? update.new : (update.initial ?? update.insert);
      if (row === undefined) throw new OvsdbProtocolError(`initial row ${table}/${uuid} has no contents`);
      rows.set(uuid, normalizeRow(decodeRow(row, path), this.schema.tables[table]));
    });
    const changes: RowChange[] = [];
    for (const [table, oldRows] of this.tables) {
      const newRows = fresh.get(table) as TableRows;
      for (const [uuid, old] of oldRows) {
        const now = newRows.get(uuid);
        if (!now) changes.push({ table, uuid, old });
        else if (!rowsEqual(old, now)) changes.push({ table, uuid, old, new: now });
      }
      for (const [uuid, row] of newRows) if (!oldRows.has(uuid)) changes.push({ table, uuid, new: row });
      this.tables.set(table, newRows);
    }
    return changes;
  }

  /** RFC 7047 <table-updates>: "new" holds the whole row (monitored columns), absent on delete. */
  applyUpdate(updates: unknown): RowChange[] {
    const changes: RowChange[] = [];
    forEachRowUpdate(updates, (table, uuid, update, path) => {
      const rows = this.tables.get(table);
      if (!rows) return;
      const old = rows.get(uuid);
      if (update.new === undefined) {
        rows.delete(uuid);
        if (old) changes.push({ table, uuid, old });
        return;
      }
      const row = normalizeRow(decodeRow(update.new, `${path}.new`), this.schema.tables[table]);
      rows.set(uuid, row);
      changes.push(old ? { table, uuid, old, new: row } : { table, uuid, new: row });
    });
    return changes;
  }

  /** ovsdb-server(7) <table-updates2>: initial/insert rows, delete, or modify with column differences. */
  applyUpdate2(updates: unknown): RowChange[] {
    const changes: RowChange[] = [];
    forEachRowUpdate(updates, (table, uuid, update, path) => {
      const rows = this.tables.get(table);
      if (!rows) return;
      const tableSchema = this.schema.tables[table];
      const old = rows.get(uuid);
      if ('delete' in update) {
        rows.delete(uuid);
        if (old) changes.push({ table, uuid, old });
      } else if (update.initial !== undefined || update.insert !== undefined) {
        const row = normalizeRow(decodeRow(update.initial ?? update.insert, path), tableSchema);
        rows.set(uuid, row);
        changes.push(old ? { table, uuid, old, new: row } : { table, uuid, new: row });
      } else if (update.modify !== undefined) {
        if (!old) throw new OvsdbProtocolError(`update2 modifies unknown row ${table}/${uuid}`);
        const diff = decodeRow(update.modify, `${path}.modify`);
        const row: Row = { ...old };
        for (const [column, value] of Object.entries(diff)) {
          const type = tableSchema?.columns[column];
          row[column] = type ? applyColumnDiff(old[column], value, type) : value;
        }
        rows.set(uuid, row);
        changes.push({ table, uuid, old, new: row });
      } else {
        throw new OvsdbProtocolError(`update2 row ${table}/${uuid} has no initial/insert/delete/modify: ${describe(update)}`);
      }
    });
    return changes;
  }
}

function forEachRowUpdate(
  updates: unknown,
  visit: (table: string, uuid: string, update: Record<string, unknown>, path: string) => void,
): void {
  if (!isPlainObject(updates)) throw new OvsdbProtocolError(`table updates are not an object: ${describe(updates)}`);
  for (const [table, tableUpdate] of Object.entries(updates)) {
    if (!isPlainObject(tableUpdate)) throw new OvsdbProtocolError(`updates of table ${table} are not an object`);
    for (const [uuid, rowUpdate] of Object.entries(tableUpdate)) {
      if (!isPlainObject(rowUpdate)) throw new OvsdbProtocolError(`update of ${table}/${uuid} is not an object`);
      visit(table, uuid, rowUpdate, `${table}.${uuid}`);
    }
  }
}
