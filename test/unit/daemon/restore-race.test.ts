// A daemon's restore against an in-process switch: the connection flows it reads back, and the switch's messages
// that come with the reading (controller.ha.election none: the plain restart, no roles). A flow_removed the switch sends right after the reading's last part arrives in the
// same socket read and is handled before the restore's import (a promise continuation): the restore must not
// re-track the connection that just ended (it would stay tracked, with no flows, for ever).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../../src/config';
import { VadcDaemon } from '../../../src/daemon/daemon';
import { buildConnectionFlows, makeCookie, parseCookie, type ConnectionSpec } from '../../../src/flows';
import { encode, OFPRR_IDLE_TIMEOUT } from '../../../src/openflow';
import type { FlowMod, FlowStats, OfpMessage } from '../../../src/openflow';
import { ipv4Frame } from '../../helpers/frames';
import { noVswitchd } from '../../helpers/nat-mode';
import { FakeSwitch, port } from '../controller/fake-switch';

let dir: string;
let daemon: VadcDaemon | undefined;
let sw: FakeSwitch | undefined;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'vadc-restore-race-'));
});
afterEach(async () => {
  sw?.destroy();
  await daemon?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const CONFIG = `
controller: { listen: "tcp:127.0.0.1:0", ha: { election: none } }
datapath: { nat: flows }
services:
  - { name: web, vip: 10.0.0.100, port: 80, idle_timeout: 30, backends: [{ vnic: v1, ip: 10.0.0.11, ports: [8080], mac: "52:54:00:00:00:11" }] }
`;

/** A connection of the service to its one backend, as the switch holds it (client port `clientPort`, id `connectionId`). */
function pair(serviceId: number, connectionId: number, clientPort: number): [FlowMod, FlowMod] {
  const spec: ConnectionSpec = {
    serviceId, connectionId, protocol: 'tcp', idleTimeout: 30,
    client: { ofport: 9, mac: '52:54:00:00:01:01', ip: '10.0.0.101', port: clientPort },
    vip: { mac: '02:00:0a:00:00:64', ip: '10.0.0.100', port: 80 },
    backend: { ofport: 1, mac: '52:54:00:00:00:11', ip: '10.0.0.11', port: 8080 },
  };
  return buildConnectionFlows(spec);
}

const stats = (f: FlowMod): FlowStats => ({
  tableId: f.tableId, durationSec: 5, durationNsec: 0, priority: f.priority, idleTimeout: f.idleTimeout, hardTimeout: 0, flags: f.flags,
  cookie: f.cookie, packetCount: 4n, byteCount: 240n, match: f.match, instructions: f.instructions,
});

/** Starts a daemon, connects the switch and returns the daemon's first flow-stats request and the service's id. */
async function startAndAwaitReading(): Promise<{ xid: number; serviceId: number }> {
  daemon = new VadcDaemon({ probeVswitchd: noVswitchd, config: parseConfig(CONFIG, 'test'), configText: CONFIG, ovsdb: false });
  const [bound] = await daemon.start();
  sw = await FakeSwitch.connect(Number(bound.split(':').pop()), { dpid: 0x7n, ports: [port(1, 'v1'), port(9, 'c1')] });
  const fake = sw;
  const request = await fake.next((m) => m.type === 'multipart_request' && m.body.mpType === 'flow');
  const serviceFlow = await fake.next((m) => m.type === 'flow_mod' && parseCookie(m.cookie)?.kind === 'service' && parseCookie(m.cookie)!.serviceId > 0);
  return { xid: request.xid, serviceId: parseCookie((serviceFlow as FlowMod).cookie)!.serviceId };
}

async function restoredEvent(): Promise<void> {
  const end = Date.now() + 10_000;
  while (!daemon!.events().some((e) => e.kind === 'connections_restored')) {
    if (Date.now() > end) throw new Error('no connections_restored event within 10 s');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a connection whose flow_removed comes in the same read as the reading that lists it is not re-tracked', async () => {
  const { xid, serviceId } = await startAndAwaitReading();
  const ended = pair(serviceId, 41, 45001);
  const live = pair(serviceId, 42, 45002);
  const reply: OfpMessage = { type: 'multipart_reply', xid, flags: 0, body: { mpType: 'flow', entries: [...ended, ...live].map(stats) } };
  const [forward] = ended;
  const removed: OfpMessage = {
    type: 'flow_removed', xid: 0, cookie: forward.cookie, priority: forward.priority, reason: OFPRR_IDLE_TIMEOUT, tableId: forward.tableId,
    durationSec: 35, durationNsec: 0, idleTimeout: forward.idleTimeout, hardTimeout: 0, packetCount: 4n, byteCount: 240n, match: forward.match,
  };
  // One write: the daemon reads the reading's last part and the flow_removed together (as it does from OVS when the
  // connection idles out just after the switch made the listing).
  sw!.sendRaw(Buffer.concat([encode(reply), encode(removed)]));
  await restoredEvent();
  expect(daemon!.connections().map((c) => c.client)).toEqual(['10.0.0.101:45002']);
}, 30_000);

test('a plain restart (no roles): a new connection whose SYN comes before the reading takes an id past the ones the switch holds', async () => {
  const { xid, serviceId } = await startAndAwaitReading();
  // The switch still holds three connections of the run before the restart (ids 1-3, as a fresh process numbers).
  const held = [1, 2, 3].flatMap((id) => pair(serviceId, id, 45100 + id));
  const reply: OfpMessage = { type: 'multipart_reply', xid, flags: 0, body: { mpType: 'flow', entries: held.map(stats) } };
  const syn = ipv4Frame({ srcMac: '52:54:00:00:01:01', dstMac: '02:00:0a:00:00:64', srcIp: '10.0.0.101', dstIp: '10.0.0.100', proto: 'tcp', srcPort: 46000, dstPort: 80, tcpFlags: 0x02 });
  const packetIn: OfpMessage = {
    type: 'packet_in', xid: 0, bufferId: 0xffffffff, totalLen: syn.length, reason: 0, tableId: 1, cookie: makeCookie('pipeline'),
    match: [{ field: 'in_port', value: 9 }], data: syn,
  };
  // A client's SYN reaches the daemon before the reading's answer (one write: the SYN first).
  sw!.sendRaw(Buffer.concat([encode(packetIn), encode(reply)]));
  const fake = sw!;
  const answer = await fake.next((m) => m.type === 'flow_mod' && parseCookie(m.cookie)?.kind === 'connection'
    && m.match.some((o) => o.field === 'tcp_src' && o.value === 46000)) as FlowMod;
  // Its flows' cookie is none of the held connections' (the end of one would delete the other's flows with it).
  expect([1, 2, 3]).not.toContain(parseCookie(answer.cookie)!.connectionId);
  // And it reached its backend: the SYN's packet-out follows its flows.
  await fake.next((m) => m.type === 'packet_out' && m.data.equals(syn));
  await restoredEvent();
  expect(daemon!.connections().map((c) => c.client).sort()).toEqual(['10.0.0.101:45101', '10.0.0.101:45102', '10.0.0.101:45103', '10.0.0.101:46000']);
}, 30_000);
