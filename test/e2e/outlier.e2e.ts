// Health that needs no configuration, end to end on real Open vSwitch: with no `health:` section, a VM whose
// server dies under steady traffic (a new connection every 50 ms) is ejected by the passive outlier detector
// (the switch copies the VM's RST to vadc) after at most 3 failed requests (where the tracker is read, also those
// placed while the reading that judges the third was made), then no request fails; its probes
// keep it out while it is dead and bring it back when it serves again. A VM that answers nothing at all is
// ejected once its connections stay unestablished past connect_timeout (the tracker's state, the reverse flow). And a VM with one of its two ports dead
// keeps serving on the other, by outlier ejection alone and by the active check's per-port verdict.
import { Lab } from '../../src/lab';
import { DaemonUnderTest, fetchMany, LabServers, outlierEjected as ejected, sleep, vipOf } from '../helpers/health-lab';
import { requestEvery50ms } from '../helpers/request-stream';
import { e2eNatMode } from '../helpers/nat-mode';

const LAB = 'ol';
let lab: Lab;
let d: DaemonUnderTest | undefined;
const servers = new LabServers(() => lab);

const vm = (name: string) => lab.host(name);

const startServer = (name: string, port = 8080) => servers.start(name, port);
const stopServer = (name: string, port = 8080) => servers.stop(name, port);

function service(body: string): string {
  return `  - name: web\n    vip: ${vipOf(lab)}\n    port: 80\n    scheduler: rr\n${body}`;
}

beforeAll(async () => {
  lab = await Lab.up({ name: LAB, vms: 2, clients: 1, waitForHostMs: 600_000 });
  for (const name of ['vm1', 'vm2']) await startServer(name);
}, 660_000);

afterEach(async () => {
  await d?.stop();
  d = undefined;
  await stopServer('vm1', 8081);
  for (const name of ['vm1', 'vm2']) await startServer(name);
});

afterAll(async () => {
  await servers.stopAll();
  await lab?.down();
}, 120_000);

describe(`outlier detection on real OVS (NAT by ${e2eNatMode()})`, () => {
  it('no health section: a VM whose server dies under a request every 50 ms costs at most 3 failed requests, then none', async () => {
    d = await DaemonUnderTest.start(lab, service(`    backends:
      - { vnic: ${vm('vm1').port}, ip: ${vm('vm1').ip}, ports: [8080] }
      - { vnic: ${vm('vm2').port}, ip: ${vm('vm2').ip}, ports: [8080] }`), { waitLocated: [vm('vm1').port, vm('vm2').port] });
    expect(new Set(await fetchMany(lab, 'cl1', 4))).toEqual(new Set(['vm1', 'vm2']));

    const stream = requestEvery50ms(lab, 'cl1', vipOf(lab));
    await stream.answered;
    await sleep(1500);
    const from = d.events.length;
    const killedAt = Date.now();
    await stopServer('vm2');
    const out = await d.waitEvent(ejected(vm('vm2').port), 15_000, 'vm2 ejected', from);
    // Past the first ejection (2 s) its probe finds the port still dead and ejects it again, for 4 s.
    const again = await d.waitEvent((e) => ejected(vm('vm2').port)(e) && e.data?.ejections === 2, 15_000, 'vm2 ejected again after its probe', from);
    await sleep(1000);
    const outcomes = await stream.stop();

    const failed = outcomes.filter((o) => !o.ok);
    const lastFailure = outcomes.reduce((last, o, i) => (o.ok ? last : i), -1);
    const afterLast = outcomes.slice(lastFailure + 1);
    const sinceKill = (t: number) => `${t - killedAt >= 0 ? '+' : ''}${t - killedAt} ms`;
    console.log(`[outlier e2e ${e2eNatMode()}] ${outcomes.length} requests every 50 ms (${outcomes.filter((o) => o.at < killedAt).length} before the kill); `
      + `ejected ${sinceKill(out.time)} after the kill (${out.message}); failed requests: ${failed.length} `
      + `(started ${failed.map((f) => `${sinceKill(f.at)}: ${f.what}`).join(', ')}); ${afterLast.length} requests after the last failure, answered by `
      + `${[...new Set(afterLast.map((o) => o.what.split(' ')[0]))].join(', ')}; probe: ${again.message}`);
    expect(failed.length).toBeGreaterThanOrEqual(1); // the dead VM was in rotation
    // At most 3; where the tracker is read, also those that started while the reading the third refusal asked for was
    // made (the tracker's successes come only with a reading, so refusals are judged at one asked for after them:
    // OutlierOptions.judgeAtReadings), each before the ejection.
    const judgedAtReadings = e2eNatMode() === 'conntrack';
    expect(failed.slice(3).every((f) => judgedAtReadings && f.at <= out.time)).toBe(true);
    expect(outcomes.filter((o) => o.at < killedAt).length).toBeGreaterThanOrEqual(10); // it was steady traffic before the kill
    expect(failed.every((f) => f.at >= killedAt - 100)).toBe(true); // nothing failed before the kill
    expect(afterLast.length).toBeGreaterThanOrEqual(40); // the stream went on for seconds after the last failure ...
    expect(afterLast.every((o) => o.ok && o.what.startsWith('vm1'))).toBe(true); // ... and vm1 answered all of it

    // The server is back: a probe re-admits it (the next ejection ends at most 4 s after `again`).
    await startServer('vm2');
    const back = await d.waitEvent((e) => e.kind === 'outlier_readmitted' && e.backend === vm('vm2').port, 20_000, 'vm2 re-admitted', from);
    expect(back.message).toMatch(/probe passed/);
    expect(await fetchMany(lab, 'cl1', 6)).toContain('vm2');
  });

  // Conntrack mode: the listing spaced as far as it goes (the least listing_share: a listing of a few ms every tens of
  // seconds, up to the minute's cap), so the ejection cannot wait for a regular listing: the poll asks for one once it
  // would judge vm2's unanswered connections (connect_timeout after the first of three).
  it('no health section: a VM that answers nothing (no RST either) is ejected once its connections stay unestablished past connect_timeout', async () => {
    d = await DaemonUnderTest.start(lab, service(`    backends:
      - { vnic: ${vm('vm1').port}, ip: ${vm('vm1').ip}, ports: [8080] }
      - { vnic: ${vm('vm2').port}, ip: ${vm('vm2').ip}, ports: [8080] }`), { waitLocated: [vm('vm1').port, vm('vm2').port], listingShare: 0.0001 });
    expect(new Set(await fetchMany(lab, 'cl1', 4))).toEqual(new Set(['vm1', 'vm2']));
    const stream = requestEvery50ms(lab, 'cl1', vipOf(lab));
    await stream.answered;
    await sleep(1000);
    const from = d.events.length;
    const silencedAt = Date.now();
    // Without its address vm2's kernel drops what reaches it: no SYN-ACK, no RST.
    await lab.exec('vm2', ['ip', 'addr', 'del', `${vm('vm2').ip}/${prefixLength()}`, 'dev', 'eth0']);
    try {
      const out = await d.waitEvent(ejected(vm('vm2').port), 20_000, 'vm2 ejected', from);
      await sleep(3000);
      const outcomes = await stream.stop();
      const failed = outcomes.filter((o) => !o.ok);
      const afterEjection = outcomes.filter((o) => o.at > out.time + 100);
      const reading = d.daemon.status().datapath.reading;
      console.log(`[outlier e2e ${e2eNatMode()}] vm2 silenced (drops everything): ejected ${out.time - silencedAt} ms later (${out.message}); `
        + `listing spacing ${reading ? `${Math.round(reading.spacingMs)} ms (${reading.spacedBy}, listing ${reading.answerWaitMs ?? '-'} ms)` : 'none'}; `
        + `${failed.length} of ${outcomes.length} requests failed (timeouts of connections placed on vm2 before the ejection); `
        + `${afterEjection.length} requests started after the ejection, ${afterEjection.filter((o) => !o.ok).length} of them failed`
        + `${afterEjection.filter((o) => !o.ok).map((o) => ` (+${o.at - out.time} ms: ${o.what})`).join('')}; outlier events after it: `
        + `${d.events.slice(from).filter((e) => e.kind.startsWith('outlier_') && e.time > out.time).map((e) => `+${e.time - out.time} ms ${e.kind} ${e.message}`).join('; ') || 'none'}`);
      expect(out.message).toMatch(/not established/);
      expect(afterEjection.length).toBeGreaterThanOrEqual(20);
      expect(afterEjection.every((o) => o.ok && o.what.startsWith('vm1'))).toBe(true);
    } finally {
      await lab.exec('vm2', ['ip', 'addr', 'add', `${vm('vm2').ip}/${prefixLength()}`, 'dev', 'eth0']);
    }
  });

  it('no health section: a VM with one port dead is ejected on that port only; the other port and VM keep serving', async () => {
    await startServer('vm1', 8081);
    d = await DaemonUnderTest.start(lab, service(`    backends:
      - { vnic: ${vm('vm1').port}, ip: ${vm('vm1').ip}, ports: [8080, 8081] }
      - { vnic: ${vm('vm2').port}, ip: ${vm('vm2').ip}, ports: [8080] }`), { waitLocated: [vm('vm1').port, vm('vm2').port] });
    expect(new Set(await fetchVariety())).toEqual(new Set(['vm1 8080', 'vm1 8081', 'vm2 8080']));
    const from = d.events.length;
    await stopServer('vm1', 8081);
    const failures = await fetchUntil(() => d!.events.slice(from).some(ejected(vm('vm1').port, 8081)), 30);
    console.log(`[outlier e2e ${e2eNatMode()}] port 8081 of vm1 ejected after ${failures} failed request(s)`);
    expect(failures).toBeLessThanOrEqual(3);
    const answers = await fetchVariety();
    expect(answers).not.toContain('vm1 8081');
    expect(new Set(answers)).toEqual(new Set(['vm1 8080', 'vm2 8080']));
    expect(d.events.slice(from).filter((e) => e.kind === 'outlier_ejected' && e.data?.port === 8080)).toEqual([]);
    expect(d.backend('web', vm('vm1').port)).toMatchObject({ health: 'up', portsOut: [{ port: 8081, why: 'outlier' }] });
  });

  it('active tcp check with the defaults: one failing port of a VM is skipped while its other port keeps serving', async () => {
    await startServer('vm1', 8081);
    d = await DaemonUnderTest.start(lab, service(`    health: { type: tcp }
    outlier: { enabled: false }
    backends:
      - { vnic: ${vm('vm1').port}, ip: ${vm('vm1').ip}, ports: [8080, 8081] }
      - { vnic: ${vm('vm2').port}, ip: ${vm('vm2').ip}, ports: [8080] }`));
    for (const name of ['vm1', 'vm2']) await d.waitHealth('web', vm(name).port, 'up');
    // Both ports of vm1 pass before the comparison (the second may pass a check after the first).
    await d.waitEvent((e) => e.kind === 'port_up' && e.backend === vm('vm1').port && e.data?.port === 8081, 10_000, 'vm1 port 8081 up').catch(() => undefined);
    expect(new Set(await fetchVariety())).toEqual(new Set(['vm1 8080', 'vm1 8081', 'vm2 8080']));
    const from = d.events.length;
    const killedAt = Date.now();
    await stopServer('vm1', 8081);
    const down = await d.waitEvent((e) => e.kind === 'port_down' && e.backend === vm('vm1').port && e.data?.port === 8081, 10_000, 'vm1 port 8081 down', from);
    console.log(`[outlier e2e ${e2eNatMode()}] active tcp check, defaults (interval 1 s, timeout 0.4 s, fall 2): port 8081 of vm1 out ${down.time - killedAt} ms after its server died`);
    const answers = await fetchVariety();
    expect(answers).not.toContain('vm1 8081');
    expect(new Set(answers)).toEqual(new Set(['vm1 8080', 'vm2 8080']));
    expect(d.backend('web', vm('vm1').port)).toMatchObject({ health: 'up', portsOut: [{ port: 8081, why: 'check' }] });
  });
});

/** The lab subnet's prefix length (the VMs' addresses are configured with it). */
function prefixLength(): string {
  return lab.subnet.split('/')[1];
}

/** Nine fresh connections' answers ("vm1 8080"), failures included as "failed: ...". */
async function fetchVariety(): Promise<string[]> {
  const answers: string[] = [];
  for (let i = 0; i < 9; i++) {
    const answer = await lab.httpGet('cl1', `http://${vipOf(lab)}:80/`, 3000).catch((err: Error) => ({ status: 0, body: `failed: ${err.message}` }));
    answers.push(answer.status === 200 ? answer.body.trim() : `failed: ${answer.body}`);
  }
  return answers;
}

/** Fresh connections until `done()` (at most `max`); how many failed. */
async function fetchUntil(done: () => boolean, max: number): Promise<number> {
  let failed = 0;
  for (let i = 0; i < max && !done(); i++) {
    const answer = await lab.httpGet('cl1', `http://${vipOf(lab)}:80/`, 3000).catch(() => ({ status: 0, body: '' }));
    if (answer.status !== 200) failed++;
  }
  return failed;
}
