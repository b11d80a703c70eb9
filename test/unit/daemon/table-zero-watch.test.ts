// The table-0 watch (datapath.first_table > 0): it reads table 0 (and the tables it leads to) with flow stats and
// reports, per switch, whether a path leads to vadc's first table: an event each time the answer changes.
import type { Controller } from '../../../src/controller';
import { TableZeroWatch } from '../../../src/daemon/table-zero-watch';
import type { FlowStats, MultipartRequest } from '../../../src/openflow/types';
import type { VadcEvent } from '../../../src/runtime/types';
import { silentLogger } from '../../../src/util/logger';

const flow = (tableId: number, gotoTable?: number): FlowStats => ({
  tableId, durationSec: 0, durationNsec: 0, priority: 0, idleTimeout: 0, hardTimeout: 0, flags: 0, cookie: 0n, packetCount: 0n, byteCount: 0n, match: [],
  instructions: gotoTable === undefined ? [{ type: 'apply_actions', actions: [{ type: 'output', port: 0xfffffffa, maxLen: 0 }] }] : [{ type: 'goto_table', tableId: gotoTable }],
});

function fakeController(flows: () => FlowStats[]): { controller: Controller; asked: number[] } {
  const asked: number[] = [];
  const controller = {
    switches: () => [{ dpid: 0xabcn }],
    request: async (_dpid: bigint, req: MultipartRequest) => {
      const table = req.body.mpType === 'flow' ? req.body.tableId : -1;
      asked.push(table);
      return { type: 'multipart_reply', xid: 0, flags: 0, body: { mpType: 'flow', entries: flows().filter((f) => f.tableId === table) } };
    },
  } as unknown as Controller;
  return { controller, asked };
}

test('no path from table 0: a warning naming the fix; a path added: an info event; unchanged: no event', async () => {
  let flows = [flow(0)]; // a bridge's default NORMAL flow
  const { controller, asked } = fakeController(() => flows);
  const events: Omit<VadcEvent, 'time'>[] = [];
  const watch = new TableZeroWatch({ controller, firstTable: 10, emit: (e) => events.push(e), logger: silentLogger() });
  expect(watch.reachable(0xabcn)).toBeUndefined();
  await watch.poll();
  expect(watch.reachable(0xabcn)).toBe(false);
  expect(asked).toEqual([0]);
  expect(events).toEqual([expect.objectContaining({ kind: 'first_table_unreachable', level: 'warn', dpid: '0000000000000abc' })]);
  expect(events[0].message).toContain('goto_table:10');
  await watch.poll();
  expect(events).toHaveLength(1);
  flows = [flow(0, 4), flow(4, 10)];
  await watch.poll();
  expect(watch.reachable(0xabcn)).toBe(true);
  expect(events[1]).toMatchObject({ kind: 'first_table_reachable', level: 'info', data: { firstTable: 10, path: [0, 4, 10] } });
  watch.forget(0xabcn);
  expect(watch.reachable(0xabcn)).toBeUndefined();
});
