// Passive outlier detection of a UDP service on real Open vSwitch (flows NAT mode: the reverse flow's packet count
// tells whether the backend answered), with no `health:` section: under a new UDP flow every 50 ms over two VMs, one
// VM's echo server is stopped; the flows placed on it go unanswered (ICMP port unreachable or silence), and after
// outlier.consecutive_failures of them, each judged udp_reply_within after its first datagram, the VM is ejected with
// an event, every later flow is answered by the other VM, its probe (a datagram) keeps it out while it is dead, and
// once the server runs again a probe brings it back. Prints the time to out and the failed flows (no timed assertion).
import { Lab } from '../../src/lab';
import { DaemonUnderTest, LabServers, outlierEjected as ejected, sleep, vipOf } from '../helpers/health-lab';
import { e2eNatMode } from '../helpers/nat-mode';
import { udpFlowEvery50ms } from '../helpers/request-stream';

const LAB = 'olu';
const PORT = 7000;
let lab: Lab;
let d: DaemonUnderTest | undefined;
const servers = new LabServers(() => lab, 'udp-echo');

beforeAll(async () => {
  lab = await Lab.up({ name: LAB, vms: 2, clients: 1, waitForHostMs: 900_000 });
  for (const name of ['vm1', 'vm2']) await servers.start(name, PORT);
}, 960_000);

afterAll(async () => {
  await d?.stop();
  await servers.stopAll();
  await lab?.down();
}, 120_000);

describe(`UDP outlier detection on real OVS (NAT by ${e2eNatMode()})`, () => {
  it('no health section: a VM whose UDP server stops is ejected after its unanswered flows, then every flow is answered; a probe re-admits it', async () => {
    const vm = (name: string) => lab.host(name);
    d = await DaemonUnderTest.start(lab, `  - name: game
    vip: ${vipOf(lab)}
    protocol: udp
    port: ${PORT}
    scheduler: rr
    outlier: { udp_reply_within: 1 }
    backends:
      - { vnic: ${vm('vm1').port}, ip: ${vm('vm1').ip}, ports: [${PORT}] }
      - { vnic: ${vm('vm2').port}, ip: ${vm('vm2').ip}, ports: [${PORT}] }`, { waitLocated: [vm('vm1').port, vm('vm2').port] });

    const stream = udpFlowEvery50ms(lab, 'cl1', vipOf(lab), PORT);
    await stream.answered;
    await sleep(2000);
    // Both VMs answered so far, and neither was ejected for it (answered flows are successes).
    expect(d.events.filter((e) => e.kind === 'outlier_ejected')).toEqual([]);
    const from = d.events.length;
    const killedAt = Date.now();
    await servers.stop('vm2', PORT);
    const out = await d.waitEvent(ejected(vm('vm2').port), 20_000, 'vm2 ejected', from);
    const again = await d.waitEvent((e) => ejected(vm('vm2').port)(e) && e.data?.ejections === 2, 20_000, 'vm2 ejected again after its probe', from);
    await sleep(1000);
    const outcomes = await stream.stop();

    const before = outcomes.filter((o) => o.at < killedAt - 1600);
    const failed = outcomes.filter((o) => !o.ok);
    const lastFailure = outcomes.reduce((last, o, i) => (o.ok ? last : i), -1);
    const afterLast = outcomes.slice(lastFailure + 1);
    const sinceKill = (t: number) => `${t - killedAt >= 0 ? '+' : ''}${t - killedAt} ms`;
    const kinds = failed.reduce<Record<string, number>>((m, f) => ({ ...m, [f.what]: (m[f.what] ?? 0) + 1 }), {});
    console.log(`[outlier-udp e2e ${e2eNatMode()}] ${outcomes.length} flows every 50 ms (${before.length} settled before the kill, `
      + `answered by ${[...new Set(before.map((o) => o.what))].sort().join(', ')}); ejected ${sinceKill(out.time)} after the kill (${out.message}); `
      + `failed flows: ${failed.length} (${JSON.stringify(kinds)}; started ${sinceKill(failed[0]?.at ?? killedAt)} .. ${sinceKill(failed.at(-1)?.at ?? killedAt)}); `
      + `${afterLast.length} flows after the last failure, answered by ${[...new Set(afterLast.map((o) => o.what))].join(', ')}; probe: ${again.message}`);
    expect(before.every((o) => o.ok)).toBe(true); // nothing failed before the kill ...
    expect(new Set(before.map((o) => o.what))).toEqual(new Set(['vm1', 'vm2'])); // ... and both VMs served
    expect(out.message).toMatch(/no reply \d+ ms after the first datagram/);
    expect(failed.length).toBeGreaterThanOrEqual(1); // the dead VM was in rotation
    expect(failed.every((f) => f.at >= killedAt - 1600)).toBe(true);
    expect(afterLast.length).toBeGreaterThanOrEqual(40); // the stream went on for seconds after the last failure ...
    expect(afterLast.every((o) => o.ok && o.what === 'vm1')).toBe(true); // ... and vm1 answered all of it

    await servers.start('vm2', PORT);
    const back = await d.waitEvent((e) => e.kind === 'outlier_readmitted' && e.backend === vm('vm2').port, 30_000, 'vm2 re-admitted', from);
    expect(back.message).toMatch(/probe passed: reply of/);
    const later = udpFlowEvery50ms(lab, 'cl1', vipOf(lab), PORT);
    await later.answered;
    await sleep(1500);
    const served = await later.stop();
    expect(served.filter((o) => o.ok).map((o) => o.what)).toContain('vm2');
  });
});
