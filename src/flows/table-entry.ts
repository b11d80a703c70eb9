// On a bridge shared with other controllers vadc's tables start at datapath.first_table, and traffic reaches them
// only if the owner of table 0 sends it there. Which tables a flow passes packets on to (pure).
import type { Instruction } from '../openflow/types';

/** The tables a flow sends packets on to: its goto_table, and resubmit(,N) actions (OVN and Neutron use those). */
export function flowNextTables(flow: { tableId: number; instructions: readonly Instruction[] }): number[] {
  const out: number[] = [];
  for (const i of flow.instructions) {
    if (i.type === 'goto_table') out.push(i.tableId);
    else if (i.type === 'apply_actions' || i.type === 'write_actions') {
      for (const a of i.actions) if (a.type === 'nx_resubmit_table') out.push(a.tableId === 255 ? flow.tableId : a.tableId);
    }
  }
  return out;
}

export interface TablePath {
  reachable: boolean;
  /** The tables looked at, in the order read. */
  looked: number[];
  /** A chain of tables from 0 to the target, when reachable. */
  path?: number[];
}

/**
 * Whether any flow path leads from table 0 to table `target`: a breadth-first walk reading each table's flows once
 * through `read`, at most `maxTables` tables (a bridge with a long pipeline of another controller's is bounded).
 */
export async function pathFromTableZero(target: number, read: (table: number) => Promise<ReadonlyArray<{ tableId: number; instructions: readonly Instruction[] }>>, maxTables = 16): Promise<TablePath> {
  const from = new Map<number, number>([[0, -1]]);
  const queue = [0];
  const looked: number[] = [];
  while (queue.length && looked.length < maxTables) {
    const table = queue.shift()!;
    looked.push(table);
    for (const flow of await read(table)) {
      for (const next of flowNextTables(flow)) {
        if (from.has(next)) continue;
        from.set(next, table);
        if (next === target) {
          const path = [target];
          for (let t = table; t !== -1; t = from.get(t)!) path.unshift(t);
          return { reachable: true, looked, path };
        }
        // Tables beyond the target are not on the way (goto_table only goes forward; resubmit may go back, but a
        // path through vadc's own tables is no entry).
        if (next < target) queue.push(next);
      }
    }
  }
  return { reachable: false, looked };
}
