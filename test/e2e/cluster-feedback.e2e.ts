/**
 * The feedback scheduler across cluster hosts, on real Open vSwitch and a real 3-member Raft store: a 2-host lab,
 * one vadc per host, one service at cluster scope with a backend on each host. h2's VM is made slow (its application
 * answers in 200 ms, h1's in 5 ms); clients on both hosts load the VIP. h2 measures its own VM first-hand and
 * publishes the expected wait (Backend_Status.queue_measure); h1 weighs its remote backend by the larger of its own
 * estimate and that one. Under rr (the control) each client gets h2's slow VM every other connection; under feedback
 * measurably fewer, from both hosts: h1's client (the slow VM is remote) and h2's (it is local, the fast one remote).
 * h2's direction failed before the commit packet-out set the backend's address again after its ct(nat): through the
 * lab's patch-port uplinks every remote connection's first SYN was lost (docs/pipeline.md), so to h2 the fast remote
 * VM's connections took over a second and its clients stayed on their slow local VM (81-92 %). Figures are printed
 * (counts, shares, connects over 0.9 s, the published and local waits); the assertions are the directions, with a
 * wide margin. Flows mode's were printed only until the reply guard came on at cluster hosts (issue 13).
 * Both NAT modes (describe.each), each with its own lab and store (ClusterLab, shared with cluster-remote).
 */
import { writeFileSync } from 'node:fs';
import { FeedbackScheduler } from '../../src/lb/schedulers/feedback';
import { ClusterLab, type ClusterNat } from '../helpers/cluster-hosts';
import { vipOf, waitFor } from '../helpers/health-lab';
import { closedLoopLoad, type LoadResult } from '../helpers/sched-clients';
import { vadcOk } from '../helpers/vadc-cli';

const LOAD_MS = 8000;
const CONCURRENCY = 4;

// The current NAT mode's lab, store and daemons (each describe.each block sets them up and takes them down).
let c: ClusterLab;

function serviceYaml(scheduler: 'rr' | 'feedback'): string {
  const { lab } = c;
  const backend = (vm: string) => `  - { vnic: ${lab.host(vm).port}, ip: ${lab.host(vm).ip}, ports: [8080] }`;
  return `name: web\nvip: ${vipOf(lab)}\nport: 80\nscheduler: ${scheduler}\nfeedback_interval: 1\nfin_timeout: 1\n`
    + `health: { type: tcp, interval: 1, timeout: 0.5, rise: 1, fall: 2 }\nbackends:\n${['h1vm1', 'h2vm1'].map(backend).join('\n')}\n`;
}

/** Serves the service with this scheduler from the store (replacing the one there: a retry finds the last attempt's), and waits until both hosts see both backends up. */
async function serve(scheduler: 'rr' | 'feedback'): Promise<void> {
  if (c.hosts[0].daemon.services().some((s) => s.name === 'web')) await vadcOk(['service', 'remove', 'web', '--cluster', c.remotes]);
  const file = c.file(`web-${scheduler}.yaml`);
  writeFileSync(file, serviceYaml(scheduler));
  await vadcOk(['service', 'add', 'web', '--file', file, '--cluster', c.remotes]);
  const { lab } = c;
  for (const h of c.hosts) {
    for (const vm of ['h1vm1', 'h2vm1']) {
      await waitFor(() => {
        const status = h.daemon.services().find((s) => s.name === 'web');
        return status?.scheduler === scheduler && h.backend(lab.host(vm).port)?.health === 'up';
      }, 60_000, `${h.hv.name} to serve web with ${scheduler} and see ${vm} up`);
    }
  }
}

/** Closed-loop load from both hosts' clients at once; each client's completed requests by VM. */
async function loadBoth(): Promise<{ h1cl1: LoadResult; h2cl1: LoadResult }> {
  const [h1cl1, h2cl1] = await Promise.all(['h1cl1', 'h2cl1'].map((cl) => closedLoopLoad(c.lab, cl, vipOf(c.lab), CONCURRENCY, LOAD_MS)));
  return { h1cl1, h2cl1 };
}

const slowShare = (r: LoadResult) => (r.counts.h2vm1 ?? 0) / ((r.counts.h1vm1 ?? 0) + (r.counts.h2vm1 ?? 0));
const row = (r: LoadResult) => `h1vm1 ${r.counts.h1vm1 ?? 0}, h2vm1 (slow) ${r.counts.h2vm1 ?? 0} = ${(slowShare(r) * 100).toFixed(1)} % slow, ${r.failed} failed; `
  + `connects over 0.9 s: h1vm1 ${r.slowConnects.h1vm1 ?? 0}, h2vm1 ${r.slowConnects.h2vm1 ?? 0}`;

/** h1's view of the remote backend h2vm1 in the feedback scheduler: its own expected wait and the one h2 published. */
function h1Waits(): string {
  const { lab } = c;
  const [h1, h2] = c.hosts;
  const service = h1.daemon.app.serviceStates().find((s) => s.config.name === 'web');
  const vnic = lab.host('h2vm1').port;
  const state = service?.backends.get(vnic);
  const scheduler = service?.lb.scheduler;
  const member = service?.lb.backendById(vnic);
  const own = scheduler instanceof FeedbackScheduler && member ? scheduler.expectedWait(member) : undefined;
  const fmt = (s: number | undefined) => (s === undefined || !Number.isFinite(s) ? String(s) : `${(s * 1000).toFixed(1)} ms`);
  return `h2's own queue measure of h2vm1 ${fmt(h2.backend(vnic)?.queueMeasure)}, published to h1 ${fmt(state?.remote?.queueMeasure)}; `
    + `h1's cost of it (max of its own and the published) ${fmt(own)}; h1's queue measure of its local h1vm1 ${fmt(h1.backend(lab.host('h1vm1').port)?.queueMeasure)}`;
}

describe.each(['conntrack', 'flows'] as const)('feedback across cluster hosts (real OVS, real Raft store, %s NAT)', (nat: ClusterNat) => {
  beforeAll(async () => {
    c = await ClusterLab.up({ name: 'cf', hosts: 2, nat, statsIntervalMs: 250, reportInterval: 1 });
  }, 960_000);
  afterAll(async () => {
    await c?.down();
  }, 120_000);

  it("a slow VM on h2 gets measurably fewer of both hosts' new connections under feedback than under rr (the control)", async () => {
    await c.lab.httpGet('h1vm1', 'http://127.0.0.1:8080/set-delay/5');
    await c.lab.httpGet('h2vm1', 'http://127.0.0.1:8080/set-delay/200');
    await serve('rr');
    const rrFrom = Date.now();
    const rr = await loadBoth();
    // What h1 reported during the rr load (a backend's verdict or location changing there skews rr's deal).
    const rrEvents = c.hosts[0].daemon.events(1000).filter((e) => e.time >= rrFrom && (e.service === 'web' || e.backend !== undefined))
      .slice(-20).map((e) => `${e.kind}: ${e.message}`);
    await serve('feedback');
    // A first load lets both hosts measure (h2 its VM first-hand, and publishes it); the figures come from the second.
    await loadBoth();
    let midway = '';
    const timer = setTimeout(() => (midway = h1Waits()), LOAD_MS / 2);
    const feedback = await loadBoth();
    clearTimeout(timer);
    console.log(`[cluster feedback e2e, ${nat}] h2vm1 answers in 200 ms, h1vm1 in 5 ms; ${LOAD_MS / 1000} s of closed-loop load, ${CONCURRENCY} concurrent `
      + `fresh connections from each host's client:\n  rr        h1cl1: ${row(rr.h1cl1)}\n            h2cl1: ${row(rr.h2cl1)}`
      + `\n  feedback  h1cl1: ${row(feedback.h1cl1)}\n            h2cl1: ${row(feedback.h2cl1)}\n  midway through the feedback load: ${midway}`
      + `\n  h1's events for web during the rr load: ${rrEvents.length ? rrEvents.join('; ') : 'none'}`);
    // rr deals each host's connections in turn: the slow VM gets about half of them.
    expect(slowShare(rr.h1cl1)).toBeGreaterThan(0.35);
    expect(slowShare(rr.h2cl1)).toBeGreaterThan(0.35);
    // feedback: both hosts send it clearly fewer, h1 (it is remote there) and h2 (its own VM, the fast one remote).
    // In both modes. Flows mode was printed only until the reply guard came on at cluster hosts (issue 13): a full run
    // of 2026-12-04 23:30 measured every backend near 1 s and split 36/66 %, SYN retransmissions after SYN-ACKs that
    // met stale datapath entries and reached the clients untranslated (cluster-remote's direct-then-VIP case).
    expect(slowShare(feedback.h1cl1)).toBeLessThan(slowShare(rr.h1cl1) * 0.8);
    expect(slowShare(feedback.h2cl1)).toBeLessThan(slowShare(rr.h2cl1) * 0.8);
  }, 300_000);
});
