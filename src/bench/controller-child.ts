// Child-process entry of `vadc bench flowsetup --controller internal`: runs vadc's Controller with the
// chosen app on 127.0.0.1 (an ephemeral port) and answers the generator's CPU-time and stop requests.
import { parseConfig } from '../config';
import { Controller } from '../controller';
import { asControllerApp, LoadBalancerApp } from '../app';
import type { ControllerApp, SwitchInfo } from '../controller/types';
import { deriveVipMac } from '../config/addresses';
import { stringify } from 'yaml';
import type { AppEnds, ChildSwitchPlan, FromChild, ToChild } from './child-protocol';
import { startRawResponder } from './raw-responder';
import { ReferenceResponder } from './reference-responder';

interface EventSource {
  drainEvents(): Array<{ kind: string }>;
  /** vadc's app: the connection ends it saw. */
  ends?(): AppEnds;
}

function send(msg: FromChild): void {
  process.send?.(msg);
}

/**
 * vadc's load-balancer app with the bench configuration (validated as any vadc config is), wired as the
 * daemon wires it: packet-ins answered through packetInEncoded (new connections pre-encoded).
 */
function vadcApp(config: Record<string, unknown>): ControllerApp & EventSource {
  const parsed = parseConfig(stringify(config), 'bench config');
  const events: Array<{ kind: string }> = [];
  const app = new LoadBalancerApp(parsed.services, { datapath: parsed.datapath, emit: (e) => events.length < 10_000 && events.push(e) });
  // One bench switch per session, and no input of the bench affects another switch: nothing to send elsewhere.
  return { ...asControllerApp(app, () => undefined), drainEvents: () => events.splice(0), ends: () => appEnds(app) };
}

function appEnds(app: LoadBalancerApp): AppEnds {
  const ends: AppEnds = { copies: 0, ended: 0, inactive: 0 };
  for (const s of app.serviceStates()) {
    ends.copies += s.endCopies;
    for (const name of s.backends.keys()) {
      const backend = s.lb.backendById(name);
      ends.ended += backend?.completedConns ?? 0;
      ends.inactive += backend?.inactiveConns ?? 0;
    }
  }
  return ends;
}

function referenceApp(switches: ChildSwitchPlan[], backendPort: number): ControllerApp {
  const byDpid = new Map(switches.map((s) => [BigInt(s.dpid), s]));
  const plan = (sw: SwitchInfo) => byDpid.get(sw.dpid);
  return new ReferenceResponder({
    backendPortNames: (sw) => plan(sw)?.backends.map((b) => b.portName) ?? [],
    backendIp: (sw, index) => plan(sw)?.backends[index]?.ip ?? '0.0.0.0',
    backendPort,
    vipMac: deriveVipMac,
  });
}

/** Answers the parent's CPU-time requests; on 'stop' runs `stop` and reports the app's event counts (and ends). */
function serveParent(port: number, stop: () => Promise<{ appEvents: Record<string, number>; ends?: AppEnds }>): void {
  process.on('message', (m: ToChild) => {
    if (m.kind === 'cpu') {
      const usage = process.cpuUsage();
      send({ kind: 'cpu', userUs: usage.user, systemUs: usage.system });
    } else if (m.kind === 'stop') {
      void stop().then((stopped) => {
        send({ kind: 'stopped', ...stopped });
        process.disconnect?.();
      });
    }
  });
  send({ kind: 'listening', port, pid: process.pid });
}

async function start(msg: Extract<ToChild, { kind: 'start' }>): Promise<void> {
  if (msg.app === 'raw') {
    // The raw responder needs no runtime: it answers packet-ins itself.
    const raw = await startRawResponder();
    serveParent(raw.port, () => raw.close().then(() => ({ appEvents: {} })));
    return;
  }
  const app = msg.app === 'vadc' ? vadcApp(msg.config) : referenceApp(msg.switches, msg.backendPort);
  const controller = new Controller({ listen: ['tcp:127.0.0.1:0'], app, ...(msg.session ? { session: msg.session } : {}) });
  const [bound] = await controller.start();
  const appEvents: Record<string, number> = {};
  const events = app as Partial<EventSource>;
  // The app queues operator events (refusals etc.); drain them so they neither grow nor go unreported.
  const drain = () => {
    for (const event of events.drainEvents?.() ?? []) appEvents[event.kind] = (appEvents[event.kind] ?? 0) + 1;
  };
  const drainTimer = setInterval(drain, 200);
  serveParent(Number(bound.slice(bound.lastIndexOf(':') + 1)), async () => {
    clearInterval(drainTimer);
    drain();
    const ends = events.ends?.();
    await controller.stop().catch(() => undefined);
    return { appEvents, ...(ends ? { ends } : {}) };
  });
}

process.once('message', (msg: ToChild) => {
  if (msg.kind !== 'start') return;
  start(msg).catch((err: Error) => {
    send({ kind: 'failed', message: err.message });
    process.disconnect?.();
  });
});
// The parent going away (crash, Ctrl-C) must not leave a controller behind.
process.on('disconnect', () => process.exit(0));
