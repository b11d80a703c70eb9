// Issue 17, egress queues: status shows which queue each backend's traffic is tagged with, the same id as the
// set_queue flows and the Queue row (one numbering, assignEgressQueues), and follows a configuration change.
import { parseConfig } from '../../../src/config';
import { VadcDaemon } from '../../../src/daemon/daemon';
import { noVswitchd } from '../../helpers/nat-mode';

const yaml = (vm1Queue: string) => `
controller: { listen: "tcp:127.0.0.1:0" }
egress: { port: uplink0, police: true }
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    backends:
      - { vnic: v-vm2, ip: 10.0.0.12, ports: [8080], queue: { max_rate: 20000000 } }
      - { vnic: v-vm1, ip: 10.0.0.11, ports: [8080]${vm1Queue} }
      - { vnic: v-vm3, ip: 10.0.0.13, ports: [8080] }
`;

const queuesOf = (d: VadcDaemon) => Object.fromEntries(d.services()[0].backends.map((b) => [b.id, b.egressQueue]));

test('each queued backend shows its queue id (vNIC order from 1); an unqueued one shows none; a change renumbers', async () => {
  const text = yaml('');
  const daemon = new VadcDaemon({ probeVswitchd: noVswitchd, config: parseConfig(text, 'test'), configText: text, ovsdb: false });
  await daemon.start();
  try {
    expect(queuesOf(daemon)).toEqual({ 'v-vm2': 1, 'v-vm1': undefined, 'v-vm3': undefined });
    expect('egressQueue' in daemon.services()[0].backends[2]).toBe(false);
    await daemon.applyConfig(yaml(', queue: { max_rate: 50000000 }'));
    // v-vm1 sorts first: it takes queue 1 and v-vm2 moves to 2 (the flows and rows are renumbered alike).
    expect(queuesOf(daemon)).toEqual({ 'v-vm2': 2, 'v-vm1': 1, 'v-vm3': undefined });
  } finally {
    await daemon.stop();
  }
});

test('a config apply may add and remove the egress section (no restart): the queue ids come and go with it', async () => {
  const plain = yaml('').replace(/^egress:.*$/m, '').replace(/, queue: \{[^}]*\}/g, '');
  const daemon = new VadcDaemon({ probeVswitchd: noVswitchd, config: parseConfig(plain, 'test'), configText: plain, ovsdb: false });
  await daemon.start();
  try {
    expect(queuesOf(daemon)).toEqual({ 'v-vm2': undefined, 'v-vm1': undefined, 'v-vm3': undefined });
    await daemon.applyConfig(yaml(''));
    expect(queuesOf(daemon)).toEqual({ 'v-vm2': 1, 'v-vm1': undefined, 'v-vm3': undefined });
    await daemon.applyConfig(yaml('').replace('police: true', 'police: false'));
    expect(queuesOf(daemon)).toEqual({ 'v-vm2': 1, 'v-vm1': undefined, 'v-vm3': undefined });
    await daemon.applyConfig(plain);
    expect(queuesOf(daemon)).toEqual({ 'v-vm2': undefined, 'v-vm1': undefined, 'v-vm3': undefined });
  } finally {
    await daemon.stop();
  }
});
