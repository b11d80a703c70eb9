// Real Open vSwitch, side by side in one run: new connections/s through the VIP (each a packet-in) vs.
// static NAT flows (no controller); first-packet delay; iperf3 via the VIP vs. direct with packet-ins
// counted mid-transfer; many held connections vs. the flow table. Root; not a test; prints figures. Usage: --help.
import { parseArgs } from 'node:util';
import { formatTable } from '../../src/cli/table';
import type { PathSplit } from '../lib/first-packet-trace';
import { runRealOvsBench, type LatencyTrace, type RunResult } from '../lib/realovs';
import type { Distribution } from '../lib/realovs-stats';
import { parseCpuPriority } from '../lib/cpu-priority';
import { cpuSharesConflict, parseCpuShares } from '../lib/cpu-shares';
import { medianSpread } from '../lib/realovs-stats';
import { formatAttribution } from '../lib/packet-in-attribution';
import { formatTurns } from '../lib/throughput-turns';

const USAGE = `node -r ts-node/register/transpile-only bench/real-ovs/realovs.bench.ts [options] (root; takes the lab lock)
  --runs N (3)  --connections N (3000, per throughput phase)  --concurrency N (32)  --latency-connections N (1000 VIP and as
  many static, by turns)  --iperf-seconds N (5; 0 = skip iperf3)  --hold N (10000 held connections; 0 = skip)  --nat flows|conntrack
  --end-copies N (copies/s, 0 = off; default the config's)  --reply-guard N (flows mode, SYN-ACKs/s, 0 = off; default the config's)
  --decisions controller|datapath  --scheduler NAME (rr: the VIP services' scheduler)  --stats-ms N (vadc's statistics poll, 1000)  --wait-ms N (queue for the lab lock)  --json
  --throughput turns|phases|both  how the ratio VIP / static is measured (turns): turns = --pairs pairs of chunks (V S S V
               ...) of the VIP's and a static path's connections in one phase, vadc attached and both flow sets installed,
               the ratio from the chunks' sums, with ovs-vswitchd's CPU and datapath counters per connection by path;
               phases = the old measure (a static phase with the controller detached, then the VIP phase); both = the
               old phases, then the turns, both ratios printed
  --pairs N    chunk pairs a run with --throughput turns|both (3; a chunk is --connections / N connections)
  --ovs-profile DIR  with turns: perf record -e cpu-clock -g of ovs-vswitchd over each chunk into DIR; its self time
               per connection, VIP / static, by category and by symbol
  --syn-to-group off|on|abba  with --decisions datapath: a candidate pipeline as a bench flow, a new connection's SYN
               from table 0 straight to the service's select group (no first ct(nat) pass); abba = runs 2 and 3 of each 4
               (use --runs 4: vadc's pipeline, the candidate, the candidate, vadc's), each run's ratio and the median by pipeline
  --trace DIR  capture the latency phase (dumpcap: the client's and the backend's OVS ports, the OpenFlow connection on the
               loopback) and split each connection's first round trip: OVS in, vadc on the wire, OVS out, backend, back
  --sched      with --trace: perf record of every CPU's scheduler over the latency phase; per packet-in, vadc's thread
               running, runnable or asleep at its arrival, the wait until it had a CPU and until its data event, and who
               held the CPUs meanwhile (the bench's own processes labelled "bench's")
  --prio P     vadc's thread's scheduling once the lab is up, reset on fork (what the bench starts later keeps the default):
               nice:N (=nice:-10 form), fifo:N or rr:N (real-time), slice:US (nice 0 with a shorter EEVDF slice, Linux 6.12+)
  --ct-stats   sample the userspace tracker every --ct-stats-ms (1000): its size, ovs-vswitchd's threads' CPU (ct_clean,
               the main thread, ...), the backend's TIME_WAIT sockets; log the tracker's clean-thread sweeps (conntrack
               at debug level) and time each latency connect: per run, the latency phase second by second
  --ct-timeouts JSON  the zone timeout policy vadc sets (datapath.ct_timeouts, e.g. '{}' for OVS's own timeouts)
  --ct-sweep-ms N  the userspace tracker's clean-thread sweep interval (dpctl/ct-set-sweep-interval, OVS 3.2+; its default 20000)
  --run-gap-s N  wait N s before each run after the first (printed in the output's first line)
  --port-range LO-HI  the clients' ephemeral port range (net.ipv4.ip_local_port_range in their namespaces; default theirs,
               32768-60999); the range in use is printed in the output's first line either way
  --connect-call  time each connect(2) call of the latency client (the client kernel's source-port search, before any SYN
               leaves) and record every source port the latency client's namespace uses: per run, the call's p99, the
               extra p99 measured from the call's return beside the one from its start, and the latency connects whose
               source port was used to the same address within 60 s (a reused 4-tuple), slow and not; the TCP counters of the
               backend and the latency client over the phase (the backend's SYNs refused by PAWS in TIME_WAIT, the
               client's SYNs sent again: docs/benchmarks.md, "run-3 tail: the cause")
  --attribute  split the latency phase's slowest 1 % and 2 % of connects: vadc's, ovs-vswitchd's main and the client's
               thread's CPU time and run-queue wait over each connect (schedstat, read by the client around it) and
               vadc's GC pauses inside it; no capture, no perf
  --read-waits  over the throughput turns and the latency phase, vadc's reads of the switch's socket: each decision packet-in's
               wait from its read's start to the answers' write, the part the read's end copies took, the copies in its read,
               the reads that started at once after the last (their bytes waited), and each frame's handling time by kind
  --pin        vadc's thread alone on core 1; the lab's clients and servers, dumpcap and perf on core 0 (ovs-vswitchd
               keeps both): the first-packet tail when the lab's own processes cannot take vadc's core
  --pin-vadc-only  vadc's thread on core 1, nothing else moved (an affinity without a core of its own)
  --autogroup-nice=N  the nice value of the bench's session's autogroup (vadc with the lab's clients and servers; not
               ovs-vswitchd): with kernel.sched_autogroup_enabled a thread's own nice weighs only inside its session
  --ovs-autogroup-nice=N  the same for the lab's ovs-vswitchd (a session of its own)
  --cpu-shares vadc=N,ovs=N,load=N[,probe=N]  CPU weights by cgroup (systemd's CPUShares=/CPUWeight= for vadc.service,
               ovs-vswitchd.service and the VMs' slice): a cpu cgroup per key (v1 cpu.shares; v2 cpu.weight = N*100/1024)
               for vadc's process, ovs-vswitchd, the lab's clients and servers, and apart the latency client (probe; else
               with load); a key left out leaves its processes where they were; all put back and removed at the end
Where it is measured: vadc's daemon runs inside this bench's process (its main thread). The --trace figures "its own turn"
(the switch socket's data event -> the packet-out's write), the event-loop delay and the GC pauses are that thread's;
--sched's "vadc's thread" is it too. Everything else comes from the capture, the lab's clients (connect times), OVS
(coverage/show, ovs-ofctl) and the kernel (perf).
Which OVS: the system's, or the install VADC_OVS_PREFIX names (its bin/, sbin/ and share/openvswitch: src/lab); the
output's first line says which, with its ovs-vswitchd --version.`;

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    connections: { type: 'string', default: '3000' },
    concurrency: { type: 'string', default: '32' },
    'latency-connections': { type: 'string', default: '1000' },
    'iperf-seconds': { type: 'string', default: '5' },
    hold: { type: 'string', default: '10000' },
    'wait-ms': { type: 'string', default: '600000' },
    'stats-ms': { type: 'string', default: '1000' },
    nat: { type: 'string', default: 'flows' },
    'end-copies': { type: 'string' },
    'reply-guard': { type: 'string' },
    decisions: { type: 'string', default: 'controller' },
    scheduler: { type: 'string', default: 'rr' },
    trace: { type: 'string' },
    prio: { type: 'string' },
    pin: { type: 'boolean', default: false },
    'pin-vadc-only': { type: 'boolean', default: false },
    'autogroup-nice': { type: 'string' },
    'ovs-autogroup-nice': { type: 'string' },
    'cpu-shares': { type: 'string' },
    'ct-stats': { type: 'boolean', default: false },
    'ct-stats-ms': { type: 'string', default: '1000' },
    'ct-timeouts': { type: 'string' },
    'ct-sweep-ms': { type: 'string' },
    'run-gap-s': { type: 'string', default: '0' },
    'connect-call': { type: 'boolean', default: false },
    'port-range': { type: 'string' },
    attribute: { type: 'boolean', default: false },
    'read-waits': { type: 'boolean', default: false },
    throughput: { type: 'string', default: 'turns' },
    pairs: { type: 'string', default: '3' },
    'ovs-profile': { type: 'string' },
    'syn-to-group': { type: 'string', default: 'off' },
    sched: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

async function main(): Promise<void> {
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (values.nat !== 'flows' && values.nat !== 'conntrack') throw new Error(`--nat must be flows or conntrack, not ${JSON.stringify(values.nat)}`);
  if (values.sched && values.trace === undefined) throw new Error('--sched needs --trace DIR (it reads the capture\'s packet-in moments)');
  if (values.decisions !== 'controller' && values.decisions !== 'datapath') throw new Error(`--decisions must be controller or datapath, not ${JSON.stringify(values.decisions)}`);
  const ctTimeouts = values['ct-timeouts'] !== undefined ? JSON.parse(values['ct-timeouts']) as Record<string, number> : undefined;
  const portRange = values['port-range'] !== undefined ? parsePortRange(values['port-range']) : undefined;
  const cpuShares = values['cpu-shares'] !== undefined ? parseCpuShares(values['cpu-shares']) : undefined;
  const conflict = cpuShares && cpuSharesConflict(cpuShares, { prio: values.prio, autogroupNice: values['autogroup-nice'] !== undefined, ovsAutogroupNice: values['ovs-autogroup-nice'] !== undefined });
  if (conflict) throw new Error(conflict);
  if (!['turns', 'phases', 'both'].includes(values.throughput)) throw new Error(`--throughput must be turns, phases or both, not ${JSON.stringify(values.throughput)}`);
  if (values['ovs-profile'] !== undefined && values.throughput === 'phases') throw new Error('--ovs-profile needs --throughput turns or both (it records the chunks)');
  if (!['off', 'on', 'abba'].includes(values['syn-to-group'])) throw new Error(`--syn-to-group must be off, on or abba, not ${JSON.stringify(values['syn-to-group'])}`);
  if (values['syn-to-group'] !== 'off' && values.decisions !== 'datapath') throw new Error('--syn-to-group needs --decisions datapath (the service\'s select group)');
  const runGapS = Number(values['run-gap-s']);
  if (!(runGapS >= 0)) throw new Error(`--run-gap-s must be a number of seconds >= 0, not ${JSON.stringify(values['run-gap-s'])}`);
  const report = await runRealOvsBench({
    runs: Number(values.runs), connections: Number(values.connections), concurrency: Number(values.concurrency),
    latencyConnections: Number(values['latency-connections']), iperfSeconds: Number(values['iperf-seconds']),
    holdConnections: Number(values.hold), waitForHostMs: Number(values['wait-ms']), statsIntervalMs: Number(values['stats-ms']), nat: values.nat, decisions: values.decisions, scheduler: values.scheduler,
    ...(values['end-copies'] !== undefined ? { endCopies: Number(values['end-copies']) } : {}),
    ...(values['reply-guard'] !== undefined ? { replyGuard: Number(values['reply-guard']) } : {}),
    ...(values.trace !== undefined ? { traceDir: values.trace } : {}), sched: values.sched,
    ...(values.prio !== undefined ? { cpuPriority: parseCpuPriority(values.prio) } : {}), pinVadc: values.pin, log: (line) => process.stderr.write(`${line}\n`),
    ...(values['ct-stats'] ? { ctStatsMs: Number(values['ct-stats-ms']) } : {}), ...(ctTimeouts ? { ctTimeouts } : {}), runGapS,
    ...(values['ct-sweep-ms'] !== undefined ? { ctSweepMs: Number(values['ct-sweep-ms']) } : {}),
    ...(values['connect-call'] ? { connectCalls: true } : {}), ...(portRange ? { clientPortRange: portRange } : {}),
    attribute: values.attribute, readWaits: values['read-waits'], pinVadcOnly: values['pin-vadc-only'],
    throughput: values.throughput as 'turns' | 'phases' | 'both', throughputPairs: Number(values.pairs), synToGroup: values['syn-to-group'] as 'off' | 'on' | 'abba',
    ...(values['ovs-profile'] !== undefined ? { ovsProfileDir: values['ovs-profile'] } : {}),
    ...(values['autogroup-nice'] !== undefined ? { autogroupNice: Number(values['autogroup-nice']) } : {}),
    ...(values['ovs-autogroup-nice'] !== undefined ? { ovsAutogroupNice: Number(values['ovs-autogroup-nice']) } : {}),
    ...(cpuShares ? { cpuShares } : {}),
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ date: new Date().toISOString(), node: process.version, ...report }, null, 2)}\n`);
    return;
  }
  const m = (get: (r: RunResult) => number, digits = 0, scale = 1) => {
    const v = medianSpread(report.runs.map((r) => get(r) * scale));
    return { median: fmt(v.median, digits), spread: `${fmt(v.min, digits)}-${fmt(v.max, digits)}` };
  };
  const rows = [
    { what: values.throughput === 'phases' ? 'new conn/s, static NAT flows (no controller)' : 'new conn/s, static NAT flows (by turns, vadc attached)', ...m((r) => r.static.perSecond), target: '' },
    { what: `new conn/s through the VIP (${values.decisions === 'datapath' ? 'select group' : 'packet-in each'})`, ...m((r) => r.vip.perSecond), target: '' },
    { what: `ratio VIP / static (${values.throughput === 'phases' ? 'by phases, the old measure' : 'by turns'})`, ...m((r) => r.ratio, 3),
      target: values.decisions === 'datapath' ? '>= 0.95' : '>= 0.85' },
    ...(values.throughput === 'both' ? [{ what: 'ratio VIP / static, old measure (by phases)', ...m((r) => r.phases?.ratio ?? NaN, 3), target: '' }] : []),
    { what: 'packet-ins per VIP connection (without end copies)', ...m((r) => ((r.vip.packetIns ?? NaN) - (r.vip.endCopies ?? 0)) / (r.vip.connections + Number(values['latency-connections'])), 2), target: '1' },
    { what: '  of which repeats (connection already decided)', ...m((r) => (r.vip.repeats ?? NaN) / (r.vip.connections + Number(values['latency-connections'])), 2), target: '0' },
    { what: '  of which reply guard (flows mode)', ...m((r) => (r.vip.guardedReplies ?? NaN) / (r.vip.connections + Number(values['latency-connections'])), 2), target: '' },
    { what: 'connection-end copies per VIP connection', ...m((r) => (r.vip.endCopies ?? NaN) / (r.vip.connections + Number(values['latency-connections'])), 2), target: '' },
    { what: 'daemon CPU during VIP load (% of a core)', ...m((r) => r.vip.cpuPercent ?? NaN), target: '' },
    { what: 'connect us p50, static / VIP (by turns)', median: `${m((r) => r.static.connectUs.p50).median} / ${m((r) => r.vip.connectUs.p50).median}`, spread: '', target: '' },
    { what: 'connect us p99, static / VIP (by turns)', median: `${m((r) => r.static.connectUs.p99).median} / ${m((r) => r.vip.connectUs.p99).median}`, spread: '', target: '' },
    { what: 'first-packet extra us p50', ...m((r) => r.firstPacketExtraUs.p50), target: '' },
    { what: 'first-packet extra us p99', ...m((r) => r.firstPacketExtraUs.p99), target: `<= ${extraCeilingUs(values.decisions)}` },
    { what: 'first-packet extra us max', ...m((r) => r.firstPacketExtraUs.max), target: '' },
    { what: 'iperf3 Gbit/s direct', ...m((r) => r.iperf.direct.receivedBps, 2, 1e-9), target: '' },
    { what: 'iperf3 Gbit/s through the VIP', ...m((r) => r.iperf.vip.receivedBps, 2, 1e-9), target: '' },
    { what: 'iperf3 ratio VIP / direct', ...m((r) => r.iperf.ratio, 3), target: '>= 0.95' },
    { what: 'packet-ins mid-transfer (VIP)', ...m((r) => r.iperf.packetInsMidTransfer), target: '0' },
    { what: 'packet-ins whole VIP transfer (2 = control + data conn)', ...m((r) => r.iperf.packetInsWholeTransfer), target: '' },
    { what: 'failed connections (all phases)', ...m((r) => r.static.failed + r.vip.failed), target: '0' },
  ];
  process.stdout.write(`real OVS (userspace datapath; ${report.lab.ovs}), NAT by ${report.nat}, decisions by the ${report.decisions}, VIP ${report.lab.vip} -> ${report.lab.backend}; ${report.runs.length} runs, median and spread; ` +
    `clients' ephemeral ports ${report.lab.clientPortRange}` +
    `${runGapS ? `; runs ${runGapS} s apart` : ''}${ctTimeouts ? `; zone timeouts ${JSON.stringify(ctTimeouts)}` : ''}\n`);
  process.stdout.write(`${formatTable(rows, [
    { header: 'MEASURE', get: 'what' }, { header: 'MEDIAN', get: 'median' }, { header: 'SPREAD', get: 'spread' }, { header: 'TARGET', get: 'target' },
  ])}\n`);
  process.stdout.write(`${tailLine(report.runs)}\n`);
  process.stdout.write(`${ceilingVerdict(report.runs, extraCeilingUs(values.decisions), `${values.prio ?? 'default'}${values['cpu-shares'] !== undefined ? `, cpu shares ${values['cpu-shares']}` : ''}`)}\n`);
  if (values['connect-call']) process.stdout.write(`${connectCallLine(report.runs)}\n`);
  if (values.throughput !== 'phases') process.stdout.write(`${formatTurns(report.runs)}\n`);
  report.runs.forEach((r, i) => {
    if (r.trace) process.stdout.write(`\n${formatTrace(r.trace, i + 1)}`);
    if (r.attribution) process.stdout.write(`\nrun ${i + 1}: ${formatAttribution(r.attribution)}\n`);
  });
  if (report.hold) {
    const h = report.hold;
    process.stdout.write(`\nheld connections: requested ${h.requested}, open ${h.held}, failed ${h.failed}; vadc tracks ${h.trackedByVadc}; ` +
      `connection flows forward ${h.forwardFlows}, reverse ${h.reverseFlows}` +
      `${h.trackerEstablished !== undefined ? `, tracker established ${h.trackerEstablished}` : ''}; of the hold service: vadc ${h.holdService.trackedByVadc}, ` +
      `flows forward ${h.holdService.forwardFlows}, reverse ${h.holdService.reverseFlows}: ${h.consistent ? 'consistent' : 'NOT consistent'}\n`);
  }
}

/** One run's split of the first round trip (us, p50 / p99 / max), vadc's process over the phase, its slowest connections. */
function formatTrace(t: LatencyTrace, run: number): string {
  const spans: Array<[string, keyof PathSplit]> = [
    ['SYN in -> SYN-ACK out (client port)', 'total'], ['SYN in -> SYN to backend', 'toBackend'], ['  OVS: SYN in -> packet-in', 'ovsIn'],
    ['  vadc: packet-in -> packet-out', 'vadc'], ['  OVS: packet-out -> SYN to backend', 'ovsOut'], ['backend: SYN -> SYN-ACK', 'backend'],
    ['SYN-ACK back to the client port', 'back'],
  ];
  const paths = Object.keys(t.byPath);
  const cell = (d: unknown) => {
    const v = d as Distribution | undefined;
    return v && v.samples ? `${fmt(v.p50)} / ${fmt(v.p99)} / ${fmt(v.max)}` : '-';
  };
  const rows: Array<Record<string, string>> = spans.map(([what, key]) => ({ what, ...Object.fromEntries(paths.map((p) => [p, cell(t.byPath[p][key])])) }));
  const counts = paths.map((p) => `${p} ${t.byPath[p].connections} (incomplete ${t.byPath[p].incomplete}, SYN retransmitted ${t.byPath[p].retransmitted}, ` +
    `source port translated ${t.byPath[p].portTranslated})`).join(', ');
  const slow = t.slowest.map((s) => `  ${fmt(s.totalUs)} (port ${s.clientPort}${s.backendPort !== undefined ? ` -> ${s.backendPort} at the backend` : ''}) = in ${fmt(s.ovsInUs)} + vadc ${fmt(s.vadcUs)} (GC ${fmt(s.gcInVadcUs)}) + out ${fmt(s.ovsOutUs)} + backend ${fmt(s.backendUs)} + back ${fmt(s.backUs)}; ` +
    `${fmt(s.sinceLastStatsRequestMs, 1)} ms after a stats request`).join('\n');
  return `run ${run}: first round trip by captured moments, us p50 / p99 / max (${counts}; ${t.pcap})\n` +
    `${formatTable(rows, [{ header: 'SPAN', get: 'what' }, ...paths.map((p) => ({ header: p.toUpperCase(), get: p }))])}\n` +
    `vadc's process over the phase: event-loop delay p50 ${fmt(t.eventLoopDelayMs.p50, 2)} / p99 ${fmt(t.eventLoopDelayMs.p99, 2)} / max ${fmt(t.eventLoopDelayMs.max, 2)} ms; ` +
    `GC ${t.gc.count} pauses, ${fmt(t.gc.totalMs, 1)} ms in all, longest ${fmt(t.gc.maxMs, 2)} ms; ` +
    `its own turn (packet-in read -> packet-out written) ${fmt(t.inTurnUs.p50)} / ${fmt(t.inTurnUs.p99)} / ${fmt(t.inTurnUs.max)} us (${t.inTurnUs.samples})\n` +
    `slowest VIP connections, us:\n${slow}\n` +
    (t.sched ? formatSched(t.sched) : '') +
    `ovs-vswitchd coverage over the phase (per VIP connection): ${t.ovsCoverage.slice(0, 16).map(([name, n]) => `${name} ${n} (${fmt(n / (t.byPath.vip?.connections || 1), 2)})`).join(', ')}\n`;
}

/** vadc's thread at each packet-in (--sched). */
function formatSched(s: NonNullable<LatencyTrace['sched']>): string {
  const p = s.placement;
  const d = (v: Distribution) => `${fmt(v.p50)} / ${fmt(v.p99)} / ${fmt(v.max)} us (${v.samples})`;
  const top = (us: Record<string, number>) => Object.entries(us).sort((a, b) => b[1] - a[1]).slice(0, 4).map(([comm, n]) => `${comm} ${fmt(n)}`).join(', ') || '-';
  const slow = s.slowest.map((w) => `  ${fmt(w.packetOutUs - w.packetInUs)}: at arrival ${w.atArrival}, on a CPU after ${fmt(w.untilOnCpuUs)}; ` +
    `in the span running ${fmt(w.inSpanUs.running)}, runnable ${fmt(w.inSpanUs.runnable)}, asleep ${fmt(w.inSpanUs.sleeping)}; CPUs meanwhile: ${top(w.cpusMeanwhileUs)}`).join('\n');
  return `vadc's thread at each packet-in's arrival (perf sched): running ${s.atArrival.running}, runnable ${s.atArrival.runnable}, ` +
    `asleep ${s.atArrival.sleeping}, unknown ${s.atArrival.unknown}; packet-in on the wire -> vadc's thread on a CPU ${d(s.untilOnCpuUs)}; ` +
    `-> its data event ${d(s.untilDataEventUs)}; on a CPU before the data event ${d(s.onCpuBeforeDataEventUs)}; clock offset drift ${fmt(s.offsetDriftUs)} us\n` +
    `where its wakeups put it (packet-ins that found it asleep): onto an idle CPU ${p.onIdleCpu}, wait ${d(p.waitUs.onIdleCpu)}; onto a busy CPU ` +
    `while another was idle ${p.onBusyCpuOtherIdle}, wait ${d(p.waitUs.onBusyCpuOtherIdle)}; all CPUs busy ${p.allBusy}, wait ${d(p.waitUs.allBusy)}; ` +
    `unknown ${p.unknown}; first ran on another CPU than the one chosen ${p.ranElsewhere}\n` +
    `who held the CPUs while packet-ins waited for vadc's thread, all packet-ins, ms: ${Object.entries(s.cpusMeanwhileUs).sort((a, b) => b[1] - a[1]).slice(0, 8).map(([who, us]) => `${who} ${fmt(us / 1000, 1)}`).join(', ')}\n` +
    `slowest packet-in -> packet-out spans, us:\n${slow}\n`;
}

/** Issue 15's first-packet extra p99 ceiling, us: 1 ms when vadc decides (a packet-in each), 200 us when the datapath does. */
function extraCeilingUs(decisions: string): number {
  return decisions === 'datapath' ? 200 : 1000;
}

/** Issue 15's ceiling (`ceilingUs`): the first-packet extra p99 of each run, the median's verdict, the baseline beside it. */
function ceilingVerdict(runs: readonly RunResult[], ceilingUs: number, prio: string): string {
  const extra = runs.map((r) => r.firstPacketExtraUs.p99);
  const median = medianSpread(extra).median;
  const within = extra.filter((us) => us <= ceilingUs).length;
  return `first-packet extra p99 (vadc's thread ${prio}) by run ${extra.map((us) => fmt(us)).join(', ')} us; median ${fmt(median)} against the ` +
    `${fmt(ceilingUs)} us ceiling: ${median <= ceilingUs ? 'WITHIN' : 'OVER'} (${within} of ${runs.length} runs within); the static path's own connect p99 by run ` +
    `${runs.map((r) => fmt(r.static.connectUs.p99)).join(', ')} us`;
}

/**
 * Per run, how steady the p99 extra is (bootstrap 5-95 %, halves), the share of VIP connects over the static path's own
 * p99 beside it (1 % = the same tail), and the latency phase's CPU per connect of vadc and ovs-vswitchd.
 */
function tailLine(runs: readonly RunResult[]): string {
  const by = (get: (r: RunResult) => string) => runs.map(get).join('; ');
  return `latency phase by run: p99 extra [bootstrap 5-95 %] (halves) us ${by((r) => (r.tail ? `${fmt(r.tail.p99ExtraUs)} [${fmt(r.tail.bootstrapUs.lo)}..${fmt(r.tail.bootstrapUs.hi)}] ` +
    `(${fmt(r.tail.halvesUs[0])}, ${fmt(r.tail.halvesUs[1])})` : '-'))}\n` +
    `VIP connects over the static path's own p99, % (1 = the same tail) ${by((r) => (r.tail ? fmt(r.tail.overStaticP99Pct, 2) : '-'))}; ` +
    `CPU per connect, us, vadc / ovs-vswitchd ${by((r) => (r.latencyCpu ? `${fmt(r.latencyCpu.vadcUsPerConnect)} / ${fmt(r.latencyCpu.ovsUsPerConnect)}` : '-'))}`;
}

/** --port-range LO-HI: two port numbers, LO <= HI, within 1-65535. */
function parsePortRange(text: string): [number, number] {
  const m = /^(\d+)-(\d+)$/.exec(text);
  const [lo, hi] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
  if (!(lo >= 1 && hi <= 65535 && lo <= hi)) throw new Error(`--port-range must be LO-HI with 1 <= LO <= HI <= 65535, not ${JSON.stringify(text)}`);
  return [lo, hi];
}

/** --connect-call: per run, the extra p99 from the connect(2) call's start and from its return, and the call's own p99. */
function connectCallLine(runs: readonly RunResult[]): string {
  const by = (get: (r: RunResult) => number) => runs.map((r) => fmt(get(r))).join(', ');
  return `first-packet extra p99 by run, from the connect() call's start ${by((r) => r.firstPacketExtraUs.p99)} us, from its return ` +
    `${by((r) => r.connectCall?.extraFromReturnUs.p99 ?? NaN)} us; client kernel connect() call p99 by run VIP ${by((r) => r.connectCall?.callUs.vip.p99 ?? NaN)}, ` +
    `static ${by((r) => r.connectCall?.callUs.static.p99 ?? NaN)} us; slow (> 5 ms) VIP connects with a source port reused within 60 s by run ` +
    `${runs.map((r) => (r.connectCall ? `${r.connectCall.reuse.vip.slowReused}/${r.connectCall.reuse.vip.slow}` : '-')).join(', ')}; ` +
    `the backend's SYNs refused in TIME_WAIT (PAWS: each a connect of ~2 jiffies more, the client's RST and SYN again) by run ` +
    `${by((r) => r.connectCall?.tcp?.backendPawsTimewait ?? NaN)}, the latency client's SYNs sent again ${by((r) => r.connectCall?.tcp?.clientSynRetrans ?? NaN)}`;
}

main().catch((err: Error) => {
  process.stderr.write(`real-OVS bench failed: ${err.stack ?? err.message}\n`);
  process.exitCode = 1;
});
