// Scale benchmarks without OVS: (1) a million tracked connections pushed through the load-balancer app's
// real packet-in handler with synthetic SYN frames (memory per connection, rate); (2) the daemon polling
// statistics of 1,000 backends every second (its CPU share), against an emulated switch.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config';
import { LoadBalancerApp, type VadcEvent } from '../../src/app';
import type { SwitchInfo } from '../../src/controller/types';
import { makeCookie } from '../../src/flows/cookies';
import { TABLE } from '../../src/flows/pipeline';
import { OFP_NO_BUFFER, OFPR_NO_MATCH } from '../../src/openflow';
import type { PacketIn } from '../../src/openflow';
import { buildFrameTemplate, clientAddress, writeClient } from '../../src/bench/frames';
import { cpuPercent, perSecond } from './realovs-stats';
import { StatsSwitch } from './scale-stats-switch';
import { buildPorts } from '../../src/bench/switch-replies';

const VIP = '10.200.0.100';
const CLIENT_PORT_NAME = 'client0';

export interface ScaleConfigSpec {
  backends: number;
  /** Connection flows idle out after this many seconds. */
  idleTimeout?: number;
}

export function backendPortName(index: number): string {
  return `bk${index + 1}`;
}

/** One TCP service on VIP:80 with `backends` backends (vNIC bkN, 10.201.x.y:8080): the bench's config as YAML. */
export function scaleConfigYaml(spec: ScaleConfigSpec, extra: Record<string, unknown> = {}): string {
  if (!Number.isInteger(spec.backends) || spec.backends < 1 || spec.backends > 65_000) {
    throw new RangeError(`backends must be a whole number from 1 to 65000, got ${spec.backends}`);
  }
  // Distinct addresses spread over 10.201.0.0/16, 250 per /24 (no .0 or .255).
  const backends = Array.from({ length: spec.backends }, (_, i) => ({
    vnic: backendPortName(i), ip: `10.201.${Math.floor(i / 250)}.${(i % 250) + 1}`, ports: [8080],
  }));
  return stringify({
    ...extra,
    services: [{ name: 'scale', vip: VIP, protocol: 'tcp', port: 80, scheduler: 'rr', idle_timeout: spec.idleTimeout ?? 60, backends }],
  });
}

export interface ConnectionScaleResult {
  connections: number;
  backends: number;
  /** Connections the app's table holds at the end (must equal `connections`). */
  tracked: number;
  seconds: number;
  perSecond: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  heapBeforeBytes: number;
  heapAfterBytes: number;
  /** (RSS after - RSS before) / connections. */
  rssBytesPerConnection: number;
  heapBytesPerConnection: number;
  gcExposed: boolean;
}

function collectGarbage(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return false;
  gc();
  gc();
  return true;
}

/** A connected switch as the app sees it: the client port, then one port per backend. */
function syntheticSwitch(backends: number): SwitchInfo {
  const names = [CLIENT_PORT_NAME, ...Array.from({ length: backends }, (_, i) => backendPortName(i))];
  return {
    dpid: 1n, address: 'synthetic', connectedAt: 0,
    features: { type: 'features_reply', xid: 0, datapathId: 1n, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0, reserved: 0 },
    ports: new Map(buildPorts(0, names).map((p) => [p.portNo, p])),
    counters: { packetIns: 0, flowModsSent: 0, errorsReceived: 0, messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, withheld: 0 },
  };
}

/**
 * Opens `connections` distinct TCP connections through LoadBalancerApp.packetIn (decision, connection
 * table, both flow-mods and the packet-out built; the messages are dropped, as no switch is attached) and
 * measures what the tracked connections cost in memory. Run with --expose-gc for clean figures.
 */
export function measureConnectionScale(opts: { connections: number; backends: number }): ConnectionScaleResult {
  const config = parseConfig(scaleConfigYaml({ backends: opts.backends, idleTimeout: 600 }), 'scale bench');
  const gcExposed = collectGarbage();
  const before = process.memoryUsage();
  const events: VadcEvent[] = [];
  const app = new LoadBalancerApp(config.services, { emit: (e) => events.length < 100 && events.push(e) });
  const sw = syntheticSwitch(opts.backends);
  app.switchUp(sw, 0);
  const vipMac = config.services[0].vip_mac;
  const frame = buildFrameTemplate({ protocol: 'tcp', vip: VIP, vipMac, servicePort: 80 });
  const msg: PacketIn = {
    type: 'packet_in', xid: 0, bufferId: OFP_NO_BUFFER, totalLen: frame.length, reason: OFPR_NO_MATCH, tableId: TABLE.FORWARD,
    cookie: makeCookie('pipeline'), match: [{ field: 'in_port', value: 1 }], data: frame,
  };
  // 4096 client addresses x their source ports: distinct 5-tuples for up to 4096 * 64512 connections.
  const clients = 4096;
  const t0 = process.hrtime.bigint();
  let answered = 0;
  for (let n = 0; n < opts.connections; n++) {
    writeClient(frame, 0, 'tcp', clientAddress(0, 1, clients, n), n);
    const out = app.packetIn(sw, msg, n);
    if (out.length === 3) answered++;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (answered !== opts.connections) {
    throw new Error(`only ${answered} of ${opts.connections} packet-ins got flows (first event: ${events[0]?.message ?? 'none'})`);
  }
  collectGarbage();
  const after = process.memoryUsage();
  const tracked = app.serviceStates()[0].lb.connections.size;
  return {
    connections: opts.connections, backends: opts.backends, tracked, seconds, perSecond: perSecond(opts.connections, seconds * 1000),
    rssBeforeBytes: before.rss, rssAfterBytes: after.rss, heapBeforeBytes: before.heapUsed, heapAfterBytes: after.heapUsed,
    rssBytesPerConnection: (after.rss - before.rss) / opts.connections,
    heapBytesPerConnection: (after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / opts.connections,
    gcExposed,
  };
}

export interface StatsPollingResult {
  backends: number;
  intervalMs: number;
  windowMs: number;
  /** Statistics requests the switch answered during the window (flow + port stats per poll). */
  requestsAnswered: number;
  daemonCpuPercent: number;
}

function childArgv(nodeArgs: readonly string[]): string[] {
  const ext = path.extname(__filename);
  const loader = ext === '.ts' ? ['-r', 'ts-node/register/transpile-only'] : [];
  return [...nodeArgs, ...loader, path.join(__dirname, `scale-stats-child${ext}`)];
}

type ChildMsg = { kind: 'listening'; port: number } | { kind: 'cpu'; us: number } | { kind: 'failed'; message: string };

/**
 * The daemon (a child process, so its CPU time is its own) polls flow and port statistics of a switch with
 * one port per backend every `intervalMs`; an emulated switch here answers. CPU% of the daemon over `windowMs`.
 */
export async function measureStatsPolling(opts: {
  backends: number; intervalMs: number; windowMs: number; warmupMs?: number;
  /** Extra node options for the daemon child, e.g. ['--cpu-prof'] to profile it. */
  childNodeArgs?: readonly string[];
}): Promise<StatsPollingResult> {
  const child = spawn(process.execPath, childArgv(opts.childNodeArgs ?? []), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = <K extends ChildMsg['kind']>(kind: K): Promise<Extract<ChildMsg, { kind: K }>> => new Promise((resolve, reject) => {
    const onMessage = (m: ChildMsg) => {
      if (m.kind === 'failed') reject(new Error(`stats child failed: ${m.message}`));
      else if (m.kind === kind) resolve(m as Extract<ChildMsg, { kind: K }>);
      else return;
      child.off('message', onMessage);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`stats child exited (${code}) while waiting for ${kind}`)));
  });
  let sw: StatsSwitch | undefined;
  try {
    const listening = next('listening');
    child.send({ kind: 'start', config: scaleConfigYaml({ backends: opts.backends }), intervalMs: opts.intervalMs });
    const { port } = await listening;
    const names = [CLIENT_PORT_NAME, ...Array.from({ length: opts.backends }, (_, i) => backendPortName(i))];
    sw = new StatsSwitch(1n, names);
    await sw.connect('127.0.0.1', port);
    await new Promise((r) => setTimeout(r, opts.warmupMs ?? 3000));
    const cpu = async () => {
      const reply = next('cpu');
      child.send({ kind: 'cpu' });
      return (await reply).us;
    };
    const cpu0 = await cpu();
    const requests0 = sw.statsRequests;
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, opts.windowMs));
    const cpu1 = await cpu();
    const wallMs = Date.now() - t0;
    return {
      backends: opts.backends, intervalMs: opts.intervalMs, windowMs: wallMs, requestsAnswered: sw.statsRequests - requests0,
      daemonCpuPercent: cpuPercent(cpu1 - cpu0, wallMs),
    };
  } finally {
    sw?.close();
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }
}
