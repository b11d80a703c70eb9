/**
 * Typed builders for RFC 7047 section 5.2 transaction operations and the decoding of their results.
 * Builders are pure: they return the JSON the server expects.
 */
import { OvsdbProtocolError, OvsdbTransactionError } from './errors';
import {
  Condition,
  Json,
  Mutation,
  Row,
  Uuid,
  decodeAtom,
  decodeRow,
  describe,
  encodeCondition,
  encodeMutation,
  encodeRow,
  isPlainObject,
} from './notation';

export type Operation = { op: string } & Record<string, Json>;

export const op = {
  insert(table: string, row: Row, uuidName?: string): Operation {
    return { op: 'insert', table, row: encodeRow(row), ...(uuidName ? { 'uuid-name': uuidName } : {}) };
  },
  select(table: string, where: Condition[], columns?: string[]): Operation {
    return { op: 'select', table, where: where.map(encodeCondition), ...(columns ? { columns } : {}) };
  },
  update(table: string, where: Condition[], row: Row): Operation {
    return { op: 'update', table, where: where.map(encodeCondition), row: encodeRow(row) };
  },
  mutate(table: string, where: Condition[], mutations: Mutation[]): Operation {
    return { op: 'mutate', table, where: where.map(encodeCondition), mutations: mutations.map(encodeMutation) };
  },
  delete(table: string, where: Condition[]): Operation {
    return { op: 'delete', table, where: where.map(encodeCondition) };
  },
  wait(
    table: string,
    where: Condition[],
    columns: string[],
    until: '==' | '!=',
    rows: Row[],
    timeoutMs?: number,
  ): Operation {
    return {
      op: 'wait',
      table,
      where: where.map(encodeCondition),
      columns,
      until,
      rows: rows.map(encodeRow),
      ...(timeoutMs === undefined ? {} : { timeout: timeoutMs }),
    };
  },
  commit(durable: boolean): Operation {
    return { op: 'commit', durable };
  },
  abort(): Operation {
    return { op: 'abort' };
  },
  comment(comment: string): Operation {
    return { op: 'comment', comment };
  },
  assert(lock: string): Operation {
    return { op: 'assert', lock };
  },
};

/** One operation's result: insert gives uuid, select rows, update/mutate/delete count; others nothing. */
export interface OperationResult {
  uuid?: Uuid;
  rows?: Row[];
  count?: number;
}

/**
 * Turns a transact reply into per-operation results, or throws OvsdbTransactionError for the first
 * failing operation (the server stops there; later entries are null). An error entry after the
 * last operation is a commit-time failure such as a referential integrity violation.
 */
export function decodeTransactResult(ops: Operation[], reply: unknown): OperationResult[] {
  if (!Array.isArray(reply)) throw new OvsdbProtocolError(`transact reply is not an array: ${describe(reply)}`);
  reply.forEach((entry, index) => {
    if (isPlainObject(entry) && entry.error !== undefined && entry.error !== null) {
      throw new OvsdbTransactionError(
        typeof entry.error === 'string' ? entry.error : describe(entry.error),
        typeof entry.details === 'string' ? entry.details : undefined,
        index,
        ops[index]?.op,
      );
    }
  });
  if (reply.length < ops.length) {
    throw new OvsdbProtocolError(`transact reply has ${reply.length} results for ${ops.length} operations`);
  }
  return ops.map((_, index) => decodeOperationResult(reply[index], index));
}

function decodeOperationResult(entry: unknown, index: number): OperationResult {
  if (!isPlainObject(entry)) throw new OvsdbProtocolError(`result ${index} is not an object: ${describe(entry)}`);
  const result: OperationResult = {};
  if (entry.uuid !== undefined) {
    const atom = decodeAtom(entry.uuid, `result[${index}].uuid`);
    if (!(atom instanceof Uuid)) throw new OvsdbProtocolError(`result ${index} uuid is not a uuid`);
    result.uuid = atom;
  }
  if (entry.rows !== undefined) {
    if (!Array.isArray(entry.rows)) throw new OvsdbProtocolError(`result ${index} rows is not an array`);
    result.rows = entry.rows.map((row, r) => decodeRow(row, `result[${index}].rows[${r}]`));
  }
  if (entry.count !== undefined) {
    if (typeof entry.count !== 'number') throw new OvsdbProtocolError(`result ${index} count is not a number`);
    result.count = entry.count;
  }
  return result;
}
