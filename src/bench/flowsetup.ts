// `vadc bench flowsetup`: a cbench-style OpenFlow 1.3 load generator. N emulated switches send
// packet-ins for distinct client 5-tuples to a VIP; a packet-in counts as one response once all its
// flow-mods and its packet-out came back. Loops of loopMs, the first warmupLoops dropped. With end copies
// (--end-copies), each answered connection also ends: the copies of its FINs go to the controller.
import { setTimeout as sleep } from 'node:timers/promises';
import type { AppEnds } from './child-protocol';
import { EmulatedSwitch } from './emulated-switch';
import { FlowSetupError } from './errors';
import { canPin, GENERATOR_CORE, CONTROLLER_CORE, InternalControllers, pinSelf, startInternalControllers } from './internal-controller';
import { FlowSetupOptions, SwitchPlan, benchConfig, clientsFrom, planSwitches, validateOptions, withDefaults } from './plan';
import { ipv4ToUint32 } from '../net/ipv4';
import { LatencyRecorder, LatencySummary, LoopSample, RateSummary, summarizeLoops } from './stats';

export interface FlowSetupResult {
  benchmark: 'flowsetup';
  startedAt: string;
  controller: {
    kind: 'internal' | 'tcp';
    /** 'vadc' (vadc's load-balancer app), 'reference' (the generator's reference responder) or 'external'. */
    app: 'vadc' | 'reference' | 'raw' | 'external';
    target: string;
    /** Whether controller and generator ran pinned to different cores. */
    pinned: boolean;
    /** Controller processes, each serving its own group of switches (switch i goes to process i mod N). */
    processes: number;
    /** Human-readable statement of what was measured. */
    label: string;
  };
  options: {
    switches: number; mode: string; loops: number; loopMs: number; warmupLoops: number; macs: number; window: number;
    /** Fixed-count loops: packet-ins per switch per loop (null: loops of loopMs). */
    connections: number | null;
    /** Paced fixed-count loops: packet-ins per second per switch at most (null: unpaced). */
    rate: number | null;
    /** The first client's address (IPv4 text; IPv6: the clients' last 32 bits). */
    clientsFrom: string;
    protocol: string; family: string; vip: string; expectedFlowMods: number; nat: string; endCopies: number;
  };
  responsesPerSec: RateSummary;
  latencyUs: LatencySummary;
  totals: {
    packetInsSent: number; responses: number; flowModsReceived: number; packetOutsReceived: number; duplicates: number;
    unmatched: number; packetOutFirst: number; errorsReceived: number; unansweredAtEnd: number;
    /** End copies sent (not counted in packetInsSent: nothing answers them), dropped by the meter, connections ended whole. */
    endCopiesSent: number; endCopiesMetered: number; endsSent: number;
  };
  /** vadc's app only: the connection ends it saw (end copies it took as such, connections ended, still inactive). */
  appEnds: AppEnds | null;
  /**
   * CPU use over the measured loops, in % of one core. controller is null for an external controller; controllerSystemPct
   * is the part of controllerPct spent in the kernel (its sockets' reads and writes).
   */
  cpu: { generatorPct: number; controllerPct: number | null; controllerSystemPct: number | null; generatorCore: number | null; controllerCore: number | null };
  /** Operator events the vadc app raised during the run, by kind (refusals mean packet-ins without flows). */
  appEvents: Record<string, number>;
  /** Last OFPT_ERROR the controller sent, if any. */
  lastControllerError: string | null;
}

export type FlowSetupProgress = (loop: number, responses: number, durationMs: number) => void;

function label(opts: FlowSetupOptions): string {
  if (opts.controller.kind === 'tcp') return `external controller at ${opts.controller.host}:${opts.controller.port}`;
  if (opts.app === 'vadc') return "vadc's controller and load-balancer app (child process)";
  if (opts.app === 'raw') return "RAW RESPONDER (generator ceiling: pre-encoded replies, no vadc code; NOT vadc's figure)";
  return "REFERENCE RESPONDER (generator validation only, NOT vadc's figure)";
}

function toChildPlans(plans: SwitchPlan[]) {
  return plans.map((p) => ({ dpid: p.dpid.toString(), clientPortName: p.clientPortName, backends: p.backends }));
}

export async function runFlowSetup(partial: Partial<FlowSetupOptions>, onLoop?: FlowSetupProgress): Promise<FlowSetupResult> {
  const opts: FlowSetupOptions = withDefaults(partial);
  validateOptions(opts);
  const plans = planSwitches(opts);
  const startedAt = new Date().toISOString();
  let internal: InternalControllers | undefined;
  let host = '127.0.0.1';
  /** The controller port each switch connects to. */
  let portOf: (index: number) => number;
  let generatorPinned = false;
  if (opts.controller.kind === 'internal') {
    const groups = Array.from({ length: opts.controllers }, (_, k) => plans.filter((p) => p.index % opts.controllers === k));
    internal = await startInternalControllers(
      groups.map((group) => ({ kind: 'start', app: opts.app, config: benchConfig(opts, group), switches: toChildPlans(group), backendPort: opts.backendPorts[0] })),
      opts.pin,
      { profileDir: opts.profileDir, launcher: opts.childLauncher, timeouts: opts.childTimeouts },
    );
    const ports = internal.children.map((c) => c.port);
    portOf = (index) => ports[index % ports.length];
    if (internal.pinned) generatorPinned = canPin() && pinSelf();
  } else {
    const { host: targetHost, port } = opts.controller;
    host = targetHost;
    portOf = () => port;
  }

  let responses = 0;
  let measuring = false;
  /** Fixed-count loops: the responses that end the current loop, and what to call then. */
  let loopTarget = Infinity;
  let loopDone: (() => void) | undefined;
  const latencies = new LatencyRecorder();
  const window = opts.mode === 'latency' ? 1 : opts.window;
  const switches = plans.map((plan) => new EmulatedSwitch({
    index: plan.index, switches: opts.switches, dpid: plan.dpid, host, port: portOf(plan.index), portNames: plan.portNames,
    clientPortName: plan.clientPortName, backends: plan.backends, protocol: opts.protocol, family: opts.family, vip: plan.vip, vipMac: plan.vipMac,
    servicePort: opts.servicePort, clients: opts.clients, clientBase: ipv4ToUint32(clientsFrom(opts)), window, expectedFlowMods: opts.expectedFlowMods, counted: opts.connections !== undefined,
    onResponse: (latencyNs) => {
      responses++;
      if (measuring) latencies.record(latencyNs);
      if (responses === loopTarget) loopDone?.();
    },
  }));

  let appEvents: Record<string, number> = {};
  let appEnds: AppEnds | null = null;
  try {
    await withTimeout(Promise.all(switches.map((sw) => sw.connect())), opts.handshakeTimeoutMs,
      `the controller did not complete the handshake with all ${opts.switches} switches within ${opts.handshakeTimeoutMs} ms`);
    const loops: LoopSample[] = [];
    let cpuStart = { generator: 0, controller: { userUs: 0, systemUs: 0 }, at: 0n };
    for (const sw of switches) sw.start();
    for (let loop = 0; loop < opts.loops; loop++) {
      // The loop's clock and count start before the CPU snapshot so no response falls between loops.
      const before = responses;
      const t0 = process.hrtime.bigint();
      if (loop === opts.warmupLoops) {
        measuring = true;
        cpuStart = { generator: cpuUs(), controller: (await internal?.cpuTimes()) ?? cpuStart.controller, at: t0 };
      }
      if (opts.connections === undefined) {
        await sleep(Math.max(0, opts.loopMs - Number(process.hrtime.bigint() - t0) / 1e6));
      } else {
        const answered = new Promise<void>((resolve) => {
          loopDone = resolve;
        });
        loopTarget = before + opts.switches * opts.connections;
        const stopPacing = allowLoop(switches, opts.connections, opts.rate);
        try {
          await untilAnswered(answered, () => responses, switches, opts.handshakeTimeoutMs, loop);
        } finally {
          stopPacing();
        }
      }
      const durationMs = Number(process.hrtime.bigint() - t0) / 1e6;
      loops.push({ responses: responses - before, durationMs });
      onLoop?.(loop, responses - before, durationMs);
      const failed = switches.find((sw) => sw.failure);
      if (failed?.failure) throw failed.failure;
    }
    measuring = false;
    const wallUs = Number(process.hrtime.bigint() - cpuStart.at) / 1000;
    const generatorPct = (100 * (cpuUs() - cpuStart.generator)) / wallUs;
    const controllerEnd = await internal?.cpuTimes();
    const controllerPct = controllerEnd
      ? (100 * (controllerEnd.userUs + controllerEnd.systemUs - cpuStart.controller.userUs - cpuStart.controller.systemUs)) / wallUs : null;
    const controllerSystemPct = controllerEnd ? (100 * (controllerEnd.systemUs - cpuStart.controller.systemUs)) / wallUs : null;
    for (const sw of switches) sw.pause();
    // Whatever was sent (end copies included) has been handled before the counts are read.
    await withTimeout(Promise.all(switches.map((sw) => sw.barrier())), opts.handshakeTimeoutMs, 'the controller did not answer the closing echo');
    const sum = (f: (sw: EmulatedSwitch) => number) => switches.reduce((a, sw) => a + f(sw), 0);
    const totals = {
      packetInsSent: sum((sw) => sw.counters.packetInsSent),
      responses,
      flowModsReceived: sum((sw) => sw.counters.flowModsReceived),
      packetOutsReceived: sum((sw) => sw.counters.packetOutsReceived),
      duplicates: sum((sw) => sw.correlator.counters.duplicates),
      unmatched: sum((sw) => sw.correlator.counters.unmatched),
      packetOutFirst: sum((sw) => sw.correlator.counters.packetOutFirst),
      errorsReceived: sum((sw) => sw.counters.errorsReceived),
      unansweredAtEnd: sum((sw) => sw.correlator.inFlight),
      endCopiesSent: sum((sw) => sw.counters.endCopiesSent),
      endCopiesMetered: sum((sw) => sw.counters.endCopiesMetered),
      endsSent: sum((sw) => sw.counters.endsSent),
    };
    const lastControllerError = switches.map((sw) => sw.lastError).find((e) => e !== undefined) ?? null;
    for (const sw of switches) sw.close();
    if (internal) ({ appEvents, ends: appEnds = null } = await internal.stop());
    return {
      benchmark: 'flowsetup', startedAt,
      controller: {
        kind: opts.controller.kind, app: opts.controller.kind === 'tcp' ? 'external' : opts.app,
        target: [...new Set(plans.map((p) => `tcp:${host}:${portOf(p.index)}`))].join(','),
        pinned: Boolean(internal?.pinned && generatorPinned), processes: internal?.children.length ?? 1, label: label(opts),
      },
      options: {
        switches: opts.switches, mode: opts.mode, loops: opts.loops, loopMs: opts.loopMs, warmupLoops: opts.warmupLoops,
        macs: opts.clients, window, connections: opts.connections ?? null, rate: opts.rate ?? null, clientsFrom: clientsFrom(opts), protocol: opts.protocol, family: opts.family, vip: opts.vip, expectedFlowMods: opts.expectedFlowMods, nat: opts.nat,
        endCopies: opts.endCopies,
      },
      responsesPerSec: summarizeLoops(loops, opts.warmupLoops),
      latencyUs: latencies.summary(),
      totals,
      cpu: {
        generatorPct, controllerPct, controllerSystemPct,
        generatorCore: generatorPinned ? GENERATOR_CORE : null, controllerCore: internal?.pinned ? CONTROLLER_CORE : null,
      },
      appEvents,
      appEnds,
      lastControllerError,
    };
  } finally {
    for (const sw of switches) sw.close();
    await internal?.stop().catch(() => undefined);
  }
}

/** How often a paced loop allows its switches more packet-ins. */
const PACE_TICK_MS = 5;

/**
 * A fixed-count loop's packet-ins: `connections` per switch, all at once, or with `rate` (per switch and second) as
 * many as the clock since the loop began allows (late timers catch up). Returns what stops the pacing.
 */
export function allowLoop(switches: readonly Pick<EmulatedSwitch, 'allow'>[], connections: number, rate?: number, now = () => performance.now()): () => void {
  if (rate === undefined) {
    for (const sw of switches) sw.allow(connections);
    return () => undefined;
  }
  const started = now();
  let allowed = 0;
  const tick = () => {
    const due = Math.min(connections, Math.floor((rate * (now() - started)) / 1000) + 1);
    if (due > allowed) {
      for (const sw of switches) sw.allow(due - allowed);
      allowed = due;
    }
    if (allowed === connections) clearInterval(timer);
  };
  const timer = setInterval(tick, PACE_TICK_MS);
  tick();
  return () => clearInterval(timer);
}

/**
 * A fixed-count loop's end: `answered` resolves once every packet-in of the loop was answered. Fails the run when a
 * switch failed, or when no response came for `stallMs` (a packet-in the controller never answers would otherwise
 * hold the loop for ever).
 */
async function untilAnswered(answered: Promise<void>, count: () => number, switches: readonly EmulatedSwitch[], stallMs: number, loop: number): Promise<void> {
  let done = false;
  void answered.then(() => {
    done = true;
  });
  let last = count();
  let lastChange = Date.now();
  while (!done) {
    await Promise.race([answered, sleep(100)]);
    const failed = switches.find((sw) => sw.failure);
    if (failed?.failure) throw failed.failure;
    if (count() !== last) {
      last = count();
      lastChange = Date.now();
    } else if (!done && Date.now() - lastChange > stallMs) {
      throw new FlowSetupError(`loop ${loop}: no response for ${stallMs} ms with packet-ins of the loop unanswered (${last} responses in all)`);
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, problem: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new FlowSetupError(problem)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function cpuUs(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '-');

/** How the controller processes share the switches and which cores they and the generator were pinned to. */
export function describeControllerPlacement(r: FlowSetupResult): string {
  const n = r.controller.processes;
  const sharing = n > 1 ? ` (${n} processes, switch i served by process i mod ${n})` : '';
  if (!r.controller.pinned) return `${sharing} (not pinned)`;
  const first = r.cpu.controllerCore ?? 0;
  const cores = n > 1 ? `cores ${first}-${first + n - 1}` : `core ${r.cpu.controllerCore}`;
  return `${sharing} pinned to ${cores}, generator core ${r.cpu.generatorCore}`;
}

/** The report for people. */
export function formatFlowSetupReport(r: FlowSetupResult): string {
  const o = r.options;
  const lines = [
    `vadc bench flowsetup: ${r.controller.label}`,
    `  ${o.switches} switch(es), ${o.mode} mode (window ${o.window}), ${o.loops} loops x ` +
      `${o.connections === null ? `${o.loopMs} ms` : `${fmt(o.connections)} connections per switch`}` +
      `${o.rate ? ` paced at ${fmt(o.rate)}/s per switch` : ''}, first ${o.warmupLoops} dropped, ` +
      `${o.macs} clients/switch from ${o.clientsFrom}, ${o.protocol} over ${o.family} (VIP ${o.vip}), NAT by ${o.nat}, ${o.expectedFlowMods} flow-mods + 1 packet-out per response`,
    `  controller ${r.controller.target}${describeControllerPlacement(r)}`,
    '',
    `  responses/s per loop: ${r.responsesPerSec.perLoop.map((x) => fmt(x)).join(' ')}`,
    `  responses/s  min ${fmt(r.responsesPerSec.min)}  max ${fmt(r.responsesPerSec.max)}  avg ${fmt(r.responsesPerSec.avg)}  stdev ${fmt(r.responsesPerSec.stdev)}`,
    `  latency us   p50 ${fmt(r.latencyUs.p50Us, 1)}  p99 ${fmt(r.latencyUs.p99Us, 1)}  max ${fmt(r.latencyUs.maxUs, 1)}  (${fmt(r.latencyUs.samples)} samples)`,
    `  cpu          generator ${fmt(r.cpu.generatorPct)}%  controller ${r.cpu.controllerPct === null ? '-' : `${fmt(r.cpu.controllerPct)}%`}` +
      `${r.cpu.controllerSystemPct === null ? '' : ` (${fmt(r.cpu.controllerSystemPct)}% in the kernel)`} (of one core)`,
    `  totals       packet-ins ${fmt(r.totals.packetInsSent)}  responses ${fmt(r.totals.responses)}  flow-mods ${fmt(r.totals.flowModsReceived)}  ` +
      `packet-outs ${fmt(r.totals.packetOutsReceived)}  duplicates ${r.totals.duplicates}  unmatched ${r.totals.unmatched}  ` +
      `packet-out-first ${r.totals.packetOutFirst}  errors ${r.totals.errorsReceived}  unanswered ${r.totals.unansweredAtEnd}`,
  ];
  const t = r.totals;
  if ((r.controller.app === 'reference' || r.controller.app === 'raw') && o.endCopies > 0) {
    lines.push('  end copies   none: the responder installs no end-copy flows, so the switches send none (its figures are without)');
  } else if (o.endCopies > 0 || t.endCopiesSent > 0) {
    lines.push(`  end copies   ${fmt(t.endCopiesSent)} sent (${fmt(t.endsSent)} connections ended whole), ${fmt(t.endCopiesMetered)} dropped by the meter` +
      `${o.endCopies > 0 ? ` (${fmt(o.endCopies)}/s per switch)` : ''}` +
      (r.appEnds ? `; vadc took ${fmt(r.appEnds.copies)} as ends: ${fmt(r.appEnds.ended)} connections ended, ${fmt(r.appEnds.inactive)} inactive` : ''));
  }
  const events = Object.entries(r.appEvents);
  if (events.length) lines.push(`  app events   ${events.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (r.lastControllerError) lines.push(`  last controller error: ${r.lastControllerError}`);
  if (r.totals.responses === 0) lines.push('  NO RESPONSES: the controller answered no packet-in completely (see unmatched/errors/app events).');
  return lines.join('\n');
}

export { FlowSetupError };
