// Passive outlier detection of a `decisions: datapath` service on real Open vSwitch (conntrack NAT: the select group
// places each connection, no packet-in): under a new connection every 50 ms over two VMs, with no `health:` section,
// one VM's server is killed. Its kernel answers the group's SYNs with a RST, which the switch copies to vadc (the end
// copies); a RST of a connection the tracker has not listed yet is a refusal, and after 3 the VM's bucket leaves the
// group (a group-mod); every later request is answered by the other VM; once the server runs again a probe puts the
// bucket back. Prints the time to out and the failed requests (no timed assertion).
import '../helpers/conntrack-mode';
import { Lab } from '../../src/lab';
import { DaemonUnderTest, LabServers, outlierEjected as ejected, sleep, vipOf } from '../helpers/health-lab';
import { e2eNatMode } from '../helpers/nat-mode';
import { requestEvery50ms } from '../helpers/request-stream';

let lab: Lab;
let d: DaemonUnderTest | undefined;
const servers = new LabServers(() => lab);

/**
 * The group's destinations as ovs-ofctl lists its buckets: "ip:port" of each, once (vadc may split a backend's
 * weight over two buckets so that OVS spreads over 256 hash values: src/flows/hash-slots.ts).
 */
async function buckets(): Promise<string[]> {
  const dump = await lab.ofctl('dump-groups');
  return [...new Set([...dump.matchAll(/bucket=(?:bucket_id:\d+,)?weight:\d+,actions=ct\([^)]*nat\(dst=([\d.]+:\d+)\)/g)].map((m) => m[1]))].sort();
}

/** The buckets once `done` holds of them (up to 10 s), else as they are then. */
async function bucketsWhen(done: (b: string[]) => boolean): Promise<string[]> {
  let b = await buckets();
  for (let i = 0; i < 100 && !done(b); i++) {
    await sleep(100);
    b = await buckets();
  }
  return b;
}

beforeAll(async () => {
  lab = await Lab.up({ name: 'old', vms: 2, clients: 1, waitForHostMs: 900_000 });
  for (const name of ['vm1', 'vm2']) await servers.start(name, 8080);
}, 960_000);

afterAll(async () => {
  await d?.stop();
  await servers.stopAll();
  await lab?.down();
}, 120_000);

describe(`outlier detection of datapath decisions on real OVS (NAT by ${e2eNatMode()})`, () => {
  it("no health section: a VM whose server dies loses its group bucket after 3 refused connections, then no request fails; a probe puts it back", async () => {
    const vm = (name: string) => lab.host(name);
    d = await DaemonUnderTest.start(lab, `  - name: web
    vip: ${vipOf(lab)}
    port: 80
    scheduler: rr
    decisions: datapath
    backends:
      - { vnic: ${vm('vm1').port}, ip: ${vm('vm1').ip}, ports: [8080] }
      - { vnic: ${vm('vm2').port}, ip: ${vm('vm2').ip}, ports: [8080] }`, { waitLocated: [vm('vm1').port, vm('vm2').port] });
    const both = [`${vm('vm1').ip}:8080`, `${vm('vm2').ip}:8080`].sort();
    expect(await bucketsWhen((b) => b.length === 2)).toEqual(both);

    const stream = requestEvery50ms(lab, 'cl1', vipOf(lab));
    await stream.answered;
    await sleep(1500);
    const from = d.events.length;
    const killedAt = Date.now();
    await servers.stop('vm2', 8080);
    const out = await d.waitEvent(ejected(vm('vm2').port), 20_000, 'vm2 ejected', from);
    // The bucket goes at the health bridge's next outlier tick (a group-mod).
    const bucketsOut = await bucketsWhen((b) => b.length === 1);
    await sleep(3000);
    const outcomes = await stream.stop();

    const failed = outcomes.filter((o) => !o.ok);
    const lastFailure = outcomes.reduce((last, o, i) => (o.ok ? last : i), -1);
    const afterLast = outcomes.slice(lastFailure + 1);
    const sinceKill = (t: number) => `${t - killedAt >= 0 ? '+' : ''}${t - killedAt} ms`;
    console.log(`[outlier-datapath e2e ${e2eNatMode()}] ${outcomes.length} requests every 50 ms (${outcomes.filter((o) => o.at < killedAt).length} before the kill); `
      + `ejected ${sinceKill(out.time)} after the kill (${out.message}); buckets then: ${bucketsOut.join(', ')}; failed requests: ${failed.length} `
      + `(started ${failed.map((f) => `${sinceKill(f.at)}: ${f.what}`).join(', ')}); ${afterLast.length} requests after the last failure, answered by `
      + `${[...new Set(afterLast.map((o) => o.what.split(' ')[0]))].join(', ')}`);
    expect(out.message).toMatch(/refused the connection/);
    expect(bucketsOut).toEqual([`${vm('vm1').ip}:8080`]);
    expect(failed.length).toBeGreaterThanOrEqual(1); // the dead VM was in rotation
    expect(failed.every((f) => f.at >= killedAt - 100)).toBe(true); // nothing failed before the kill
    expect(afterLast.length).toBeGreaterThanOrEqual(40);
    expect(afterLast.every((o) => o.ok && o.what.startsWith('vm1'))).toBe(true);

    await servers.start('vm2', 8080);
    const back = await d.waitEvent((e) => e.kind === 'outlier_readmitted' && e.backend === vm('vm2').port, 30_000, 'vm2 re-admitted', from);
    expect(back.message).toMatch(/probe passed/);
    expect(await bucketsWhen((b) => b.length === 2)).toEqual(both);
    console.log(`[outlier-datapath e2e ${e2eNatMode()}] failed requests: ${failed.length}; re-admitted ${sinceKill(back.time)} after the kill (${back.message})`);
  });
});
