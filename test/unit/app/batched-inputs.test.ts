// app.batched: a burst of inputs (a new configuration's first health verdicts) ends in one walk of the backend flows,
// not one per input, and sends what the inputs one by one would have left installed.
import { LoadBalancerApp, type SwitchBatch } from '../../../src/app';
import { parseConfig } from '../../../src/config';
import type { OfpMessage } from '../../../src/openflow/types';
import { backendYaml, fakeSwitch, ZONE } from '../../helpers/app-harness';

const TEXT = `
datapath: { nat: conntrack, ct_zone: ${ZONE}, accounting: conntrack }
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    backends:
${backendYaml('v-vm1', [8080])}
${backendYaml('v-vm2', [8080])}
${backendYaml('v-vm3', [8080])}
`;

function appWithSwitch(): LoadBalancerApp {
  const config = parseConfig(TEXT, 'test');
  const app = new LoadBalancerApp(config.services, { datapath: config.datapath });
  app.switchUp(fakeSwitch(), 0);
  return app;
}

const flowMods = (batches: SwitchBatch[]) => batches.flatMap((b) => b.msgs as OfpMessage[]).filter((m) => m.type === 'flow_mod');
const summary = (msgs: OfpMessage[]) => msgs.map((m) => (m.type === 'flow_mod' ? `${m.command}/${m.tableId}/${m.cookie}` : m.type));

test('inputs inside batched() walk the backend flows once and deliver once: the net effect of them one by one', () => {
  const one = appWithSwitch();
  const byOne: SwitchBatch[] = [];
  for (const vm of ['v-vm1', 'v-vm2', 'v-vm3']) byOne.push(...one.setHealth('web', vm, false));
  for (const vm of ['v-vm1', 'v-vm3']) byOne.push(...one.setHealth('web', vm, true));

  const app = appWithSwitch();
  const sync = jest.spyOn(app.nat, 'syncBackendFlows');
  const delivered: SwitchBatch[][] = [];
  const inside: SwitchBatch[][] = [];
  app.batched(() => {
    for (const vm of ['v-vm1', 'v-vm2', 'v-vm3']) inside.push(app.setHealth('web', vm, false));
    for (const vm of ['v-vm1', 'v-vm3']) inside.push(app.setHealth('web', vm, true));
  }, (batches) => delivered.push(batches));
  expect(sync).toHaveBeenCalledTimes(1);
  expect(inside.flat()).toEqual([]);
  expect(delivered).toHaveLength(1);
  // Net effect: vm2's backend flow deleted, vm1's and vm3's kept (one by one they were deleted and added again).
  const net = flowMods(delivered[0]);
  const deletes = (msgs: OfpMessage[]) => summary(msgs).filter((s) => s.startsWith('3/') || s.startsWith('4/'));
  expect(net).toHaveLength(1);
  expect(deletes(net)).toHaveLength(1);
  expect(deletes(flowMods(byOne))).toHaveLength(3);
  expect(deletes(flowMods(byOne))).toContain(deletes(net)[0]);
  expect(flowMods(byOne)).toHaveLength(5);
});

test('batched() delivers what its inputs caused even when one throws', () => {
  const app = appWithSwitch();
  const delivered: SwitchBatch[][] = [];
  expect(() => app.batched(() => {
    app.setHealth('web', 'v-vm2', false);
    app.setHealth('nope', 'v-vm1', false);
  }, (batches) => delivered.push(batches))).toThrow(/no service named "nope"/);
  expect(delivered).toHaveLength(1);
  expect(flowMods(delivered[0]).length).toBeGreaterThan(0);
});

test('batched() with no app input inside (a check result that changed no verdict) walks nothing and delivers nothing', () => {
  const app = appWithSwitch();
  const sync = jest.spyOn(app.nat, 'syncBackendFlows');
  const delivered: SwitchBatch[][] = [];
  app.batched(() => undefined, (batches) => delivered.push(batches));
  expect(sync).not.toHaveBeenCalled();
  expect(delivered).toEqual([]);
});
