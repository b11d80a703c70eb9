// Table-0 coexistence (issue 14) on real Open vSwitch: vadc with `datapath.first_table: 10` on a bridge whose table 0
// belongs to "another controller" (here: a NORMAL flow, then goto_table flows added with ovs-ofctl, as a Neutron
// agent or OVN would write them). vadc installs nothing below table 10; status and an event say when
// table 0 does not lead to vadc's tables; once it does, the VIP is served as usual.
import { parseConfig } from '../../src/config';
import { VadcDaemon } from '../../src/daemon/daemon';
import { Lab, type LabServer } from '../../src/lab';
import type { VadcEvent } from '../../src/runtime/types';
import { fetchMany, sleep, vipOf, waitFor } from '../helpers/health-lab';
import { e2eNatMode } from '../helpers/nat-mode';
import { switchSynced } from '../helpers/switch-synced';

const FIRST = 10;
let lab: Lab;
let daemon: VadcDaemon;
const events: VadcEvent[] = [];
const servers: LabServer[] = [];

beforeAll(async () => {
  lab = await Lab.up({ name: 'ft', vms: 2, clients: 1, waitForHostMs: 600_000 });
  for (const vm of ['vm1', 'vm2']) servers.push(await lab.startHttpServer(vm, 8080));
  // The other controller's table 0: everything switched normally, nothing sent on to vadc's tables yet.
  await lab.ofctl('add-flow', 'table=0,priority=0,actions=NORMAL');
  const backend = (vm: string) => `      - { vnic: ${lab.host(vm).port}, ip: ${lab.host(vm).ip}, ports: [8080] }`;
  const text = `
controller: { listen: "tcp:127.0.0.1:0", echo_interval: 1 }
datapath: { nat: ${e2eNatMode()}, appctl: ${lab.vswitchdControlSocket}, first_table: ${FIRST} }
ovsdb: unix:${lab.ovsdbSocket}
services:
  - name: web
    vip: ${vipOf(lab)}
    port: 80
    scheduler: rr
    backends:
${backend('vm1')}
${backend('vm2')}
`;
  daemon = new VadcDaemon({ config: parseConfig(text, 'first-table e2e'), configText: text, statsIntervalMs: 500, healthSourceAddress: lab.localIp });
  daemon.bus.on('event', (e: VadcEvent) => events.push(e));
  const [target] = await daemon.start();
  await lab.setController(target);
  await waitFor(() => switchSynced(daemon.status()), 15_000, 'the switch to connect');
}, 660_000);

afterAll(async () => {
  await daemon?.stop();
  for (const s of servers) await s.stop().catch(() => undefined);
  await lab?.down();
}, 60_000);

/** ovs-ofctl dump-flows of one table: the flow lines. */
async function tableFlows(table: number): Promise<string[]> {
  return (await lab.ofctl('dump-flows', `table=${table}`)).split('\n').filter((l) => l.includes('actions='));
}

describe(`vadc from table ${FIRST} on a bridge whose table 0 is another controller's (real OVS, NAT by ${e2eNatMode()})`, () => {
  it('installs nothing below its first table, and says table 0 does not lead to it', async () => {
    await waitFor(() => events.some((e) => e.kind === 'first_table_unreachable'), 30_000, 'the unreachable warning');
    expect(daemon.status().switches[0]).toMatchObject({ firstTable: FIRST, reachableFromTable0: false });
    const all = (await lab.ofctl('dump-flows')).split('\n').filter((l) => l.includes('actions='));
    const vadcs = all.filter((l) => /cookie=0xadc/.test(l));
    expect(vadcs.length).toBeGreaterThan(3);
    const tables = new Set(vadcs.map((l) => Number(/table=(\d+)/.exec(l)?.[1] ?? 0)));
    console.log(`[first-table] vadc's flows are in tables ${[...tables].sort((a, b) => a - b).join(', ')}; table 0 holds: ${(await tableFlows(0)).map((l) => l.replace(/.*(priority=\S+).*(actions=\S+).*/, '$1 $2')).join('; ')}`);
    expect([...tables].every((t) => t >= FIRST && t <= FIRST + 3)).toBe(true);
    expect((await tableFlows(0)).filter((l) => /cookie=0xadc/.test(l))).toEqual([]);
    const warning = events.find((e) => e.kind === 'first_table_unreachable')!;
    expect(warning.message).toContain(`goto_table:${FIRST}`);
  });

  it('once table 0 sends traffic on to vadc\'s first table, the VIP is served and the warning clears', async () => {
    // What the other controller (or the operator) adds: table 0's IPv4 and ARP go on to vadc's tables.
    await lab.ofctl('add-flow', `table=0,priority=10,ip,actions=goto_table:${FIRST}`);
    await lab.ofctl('add-flow', `table=0,priority=10,arp,actions=goto_table:${FIRST}`);
    await waitFor(() => events.some((e) => e.kind === 'first_table_reachable'), 30_000, 'the reachable event');
    expect(daemon.status().switches[0]).toMatchObject({ firstTable: FIRST, reachableFromTable0: true });
    let answered: string[] = [];
    for (let i = 0; i < 20 && answered.length === 0; i++) {
      try {
        answered = await fetchMany(lab, 'cl1', 6);
      } catch {
        await sleep(500);
      }
    }
    expect([...new Set(answered.map((n) => n.split(' ')[0]))].sort()).toEqual(['vm1', 'vm2']);
    expect(daemon.status().switches[0].packetIns).toBeGreaterThan(0);
  });
});
