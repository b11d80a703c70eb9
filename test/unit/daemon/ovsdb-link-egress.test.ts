// Issue 17, egress queues: a write of vadc's QoS/Queue rows that OVSDB refuses is retried with backoff until it
// succeeds (it used to wait for the next configuration or row change), with one event when the writes start
// failing and one when they recover. The daemon's OvsdbLink runs against a fake Open_vSwitch server
// (test/unit/ovsdb/fake-vswitch.ts) that fails the transactions it is told to.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../src/config';
import { desiredEgressQos } from '../../../src/daemon/egress-rows';
import { OvsdbLink } from '../../../src/daemon/ovsdb-link';
import { EGRESS_OWNER, EGRESS_OWNER_KEY, type BackoffPolicy } from '../../../src/ovsdb';
import type { VadcEvent } from '../../../src/runtime/types';
import { silentLogger } from '../../../src/util/logger';
import { FakeVswitch } from '../ovsdb/fake-vswitch';
import { until } from '../../helpers/until';

const dir = mkdtempSync(join(tmpdir(), 'vadc-link-egress-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const RETRY = { initialMs: 100, maxMs: 400, jitter: 0 };

function configFor(remote: string) {
  return parseConfig(`
controller: { listen: "tcp:127.0.0.1:0" }
ovsdb: ${remote}
egress: { port: uplink0, police: false }
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    backends:
      - { vnic: v-vm1, ip: 10.0.0.11, ports: [8080], queue: { max_rate: 50000000 } }
      - { vnic: v-vm2, ip: 10.0.0.12, ports: [8080], queue: { max_rate: 20000000 } }
`, 'test');
}

async function linkTo(fake: FakeVswitch, retry: BackoffPolicy = RETRY) {
  const config = configFor(fake.remote());
  const events: Omit<VadcEvent, 'time'>[] = [];
  const link = new OvsdbLink({
    config, nat: 'flows', logger: silentLogger(), emit: (e) => events.push(e), selectors: () => [], onVnic: () => undefined, onReady: () => undefined,
    egress: () => desiredEgressQos(config.egress, config.services), session: { backoffInitialMs: 50, backoffMaxMs: 100 }, egressRetry: retry,
  });
  return { link, events, kinds: () => events.map((e) => e.kind).filter((k) => k.startsWith('egress_qos')) };
}

/** vadc's QoS row on the port, with its queues (none: undefined). */
function vadcQos(fake: FakeVswitch, portUuid: string) {
  const port = fake.rows('Port').find(([u]) => u === portUuid)?.[1];
  const qosUuid = FakeVswitch.ref(port?.qos);
  const qos = fake.rows('QoS').find(([u]) => u === qosUuid)?.[1];
  if (!qos) return undefined;
  return { externalIds: Object.fromEntries(qos.external_ids as Map<string, string>), queues: [...(qos.queues as Map<number, unknown>).keys()].sort() };
}

it('a refused write is retried with growing pauses until it succeeds: one failed event, one recovered, the rows in place', async () => {
  const fake = await new FakeVswitch(dir).start();
  const port = fake.addPort('uplink0');
  fake.member.failTransacts = 3;
  const { link, events, kinds } = await linkTo(fake);
  try {
    await until(() => vadcQos(fake, port) !== undefined, 'the QoS row on the port', 20_000);
    await until(() => kinds().includes('egress_qos_applied'), 'the write\'s reply', 20_000);
    expect(vadcQos(fake, port)).toEqual({ externalIds: { [EGRESS_OWNER_KEY]: EGRESS_OWNER }, queues: [1, 2] });
    expect(fake.rows('Queue')).toHaveLength(2);
    // Three refused, the fourth written; nothing else changed meanwhile, so only the retry can have written it.
    const times = fake.member.transactTimes;
    expect(times).toHaveLength(4);
    // The pauses double from initialMs (timers never fire early; a few ms for clock rounding).
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    expect(gaps[0]).toBeGreaterThanOrEqual(RETRY.initialMs - 5);
    expect(gaps[1]).toBeGreaterThanOrEqual(2 * RETRY.initialMs - 5);
    expect(gaps[2]).toBeGreaterThanOrEqual(4 * RETRY.initialMs - 5);
    expect(kinds()).toEqual(['egress_qos_failed', 'egress_qos_recovered', 'egress_qos_applied']);
    expect(events.find((e) => e.kind === 'egress_qos_failed')!.message).toMatch(/fails this transaction.*retrying with backoff/);
    expect(events.find((e) => e.kind === 'egress_qos_recovered')!.data).toEqual({ failures: 3 });
  } finally {
    link.close();
    await fake.stop();
  }
}, 30_000);

it('a server that keeps refusing: one event for the whole run of failures, and the retries stop when the link closes', async () => {
  const fake = await new FakeVswitch(dir).start();
  fake.addPort('uplink0');
  fake.member.failTransacts = Number.MAX_SAFE_INTEGER;
  const { link, kinds } = await linkTo(fake);
  try {
    await until(() => fake.member.transactTimes.length >= 6, 'six attempts', 20_000);
    expect(kinds()).toEqual(['egress_qos_failed']);
  } finally {
    link.close();
  }
  const closedAt = fake.member.transactTimes.length;
  await new Promise((r) => setTimeout(r, 3 * RETRY.maxMs));
  expect(fake.member.transactTimes.length).toBe(closedAt);
  await fake.stop();
}, 30_000);

it('a change while a retry waits is tried at once, not at the retry', async () => {
  const fake = await new FakeVswitch(dir).start();
  const port = fake.addPort('uplink0');
  fake.member.failTransacts = 1;
  // The retry would come in ten minutes: only the change can make the second attempt within the test.
  const { link, kinds } = await linkTo(fake, { initialMs: 600_000, maxMs: 600_000, jitter: 0 });
  try {
    await until(() => kinds().includes('egress_qos_failed'), 'the first, refused attempt', 20_000);
    expect(fake.member.transactTimes).toHaveLength(1);
    // Someone else's QoS row (on no port): a change of the QoS table, which makes the link look again.
    fake.add('QoS', { type: 'linux-htb' });
    await until(() => vadcQos(fake, port) !== undefined, 'the QoS row on the port', 20_000);
    await until(() => kinds().includes('egress_qos_applied'), 'the write\'s reply', 20_000);
    expect(fake.member.transactTimes).toHaveLength(2);
    expect(kinds()).toEqual(['egress_qos_failed', 'egress_qos_recovered', 'egress_qos_applied']);
  } finally {
    link.close();
    await fake.stop();
  }
}, 30_000);
