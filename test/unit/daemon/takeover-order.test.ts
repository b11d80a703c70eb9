// Controller HA: what a daemon sends a switch when it becomes its master. The pipeline's flows leave first, and the
// bulk reads of a takeover (the connection flows read back, the meter sweep) only after them, on a later turn, so
// that the first packet-ins after a takeover are not queued behind their answers.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../../src/config';
import { VadcDaemon } from '../../../src/daemon/daemon';
import { OFPCR_ROLE_MASTER } from '../../../src/openflow';
import type { OfpMessage } from '../../../src/openflow';
import { noVswitchd } from '../../helpers/nat-mode';
import { FakeSwitch, port } from '../controller/fake-switch';

let dir: string;
let daemon: VadcDaemon | undefined;
let sw: FakeSwitch | undefined;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'vadc-takeover-'));
});
afterEach(async () => {
  sw?.destroy();
  await daemon?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const isBulkRead = (m: OfpMessage) => m.type === 'multipart_request' && (m.body.mpType === 'flow' || m.body.mpType === 'meter_config');

test('on mastership: the flows first, the connection reading and the meter sweep after them', async () => {
  const text = `
controller: { listen: "tcp:127.0.0.1:0", ha: { election: host, dir: "${dir}/ha" } }
datapath: { nat: flows }
services:
  - { name: web, vip: 10.0.0.100, port: 80, backends: [{ vnic: v1, ip: 10.0.0.11, ports: [8080] }] }
`;
  // No periodic statistics poll: it reads the connection flows (the same request as the takeover's reading) every
  // 2 s whatever the role, and the fake switch never answers it, so its one reading lands wherever the timer falls.
  // Between the claim and its answer (hundreds of ms on a loaded machine) it put a flow read before the
  // mastership's flows (firstRead 0, firstFlow 2 at load ~20). Not the takeover's order: this test is about that.
  daemon = new VadcDaemon({ probeVswitchd: noVswitchd, config: parseConfig(text, 'test'), configText: text, ovsdb: false, ha: {}, statsIntervalMs: 3_600_000 });
  const [bound] = await daemon.start();
  // A lone instance is master of its election (its lock child may take a moment on a loaded machine).
  const end = Date.now() + 20_000;
  while (daemon.status().ha?.role !== 'master') {
    if (Date.now() > end) throw new Error('the lone instance never became master');
    await new Promise((r) => setTimeout(r, 25));
  }
  sw = await FakeSwitch.connect(Number(bound.split(':').pop()), { dpid: 0x5n, ports: [port(1, 'v1')], answerRoles: true });
  const claim = await sw.next((m) => m.type === 'role_request' && m.role === OFPCR_ROLE_MASTER);
  await sw.next((m) => m.type === 'flow_mod');
  const fake = sw;
  await fake.next((m) => isBulkRead(m) && fake.received.indexOf(m) > fake.received.indexOf(claim));
  const sinceClaim = fake.received.slice(fake.received.indexOf(claim) + 1);
  const firstRead = sinceClaim.findIndex(isBulkRead);
  const firstFlow = sinceClaim.findIndex((m) => m.type === 'flow_mod');
  expect(firstFlow).toBeGreaterThanOrEqual(0);
  expect(firstRead).toBeGreaterThan(firstFlow);
  // Every flow of the mastership left before the first read: none of them is queued behind it.
  expect(sinceClaim.slice(firstRead).filter((m) => m.type === 'flow_mod')).toEqual([]);
}, 40_000);
