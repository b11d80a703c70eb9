// Drives the app through the recorded sequence and captures what it produces (messages as bytes, events).
import { createHash } from 'node:crypto';
import { parseConfig } from '../../../../src/config';
import { LoadBalancerApp, type SwitchBatch, type VadcEvent } from '../../../../src/app';
import type { OutboundMessage, SwitchInfo } from '../../../../src/controller/types';
import { parseCookie, TABLE, type ConntrackEntry } from '../../../../src/flows';
import { uint32ToIpv4 } from '../../../../src/net';
import { decode, encode } from '../../../../src/openflow/codec';
import { OFPPS_LINK_DOWN } from '../../../../src/openflow/constants';
import type { FlowMod, OfpPort } from '../../../../src/openflow/types';
import {
  CLIENT_OFPORT, configYaml, generateSteps, type ModeName, type Recording, type Step, type StepOutput,
} from './sequence';

export const RECORDED_SEED = 20261203;
export const RECORDED_STEPS = 600;

function port(portNo: number, name: string, state = 0): OfpPort {
  return { portNo, name, hwAddr: `aa:00:00:00:00:${portNo.toString(16).padStart(2, '0')}`, config: 0, state, curr: 0, advertised: 0, supported: 0, peer: 0, currSpeed: 0, maxSpeed: 0 };
}

function fakeSwitch(): SwitchInfo & { ports: Map<number, OfpPort> } {
  return {
    dpid: 0xabcn, address: '127.0.0.1:1', connectedAt: 0,
    features: { type: 'features_reply', xid: 0, datapathId: 0xabcn, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0, reserved: 0 },
    ports: new Map([port(1, 'v-vm1'), port(2, 'v-vm2'), port(3, 'tap-vm3'), port(CLIENT_OFPORT, 'v-cl1')].map((p) => [p.portNo, p])),
    counters: { packetIns: 0, flowModsSent: 0, errorsReceived: 0, messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, withheld: 0 },
  };
}

const digest = (hex: string) => createHash('sha256').update(hex).digest('hex').slice(0, 24);

/** Splits back-to-back OpenFlow messages. */
function splitMessages(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at + 8 <= bytes.length;) {
    const len = bytes.readUInt16BE(at + 2);
    out.push(bytes.subarray(at, at + len));
    at += len;
  }
  return out;
}

/** Runs the sequence through the app in one NAT mode and records every step's output. */
export function recordingFor(mode: ModeName, seed: number, count: number): Recording {
  const config = parseConfig(configYaml(mode), `${mode}.yaml`);
  const emitted: VadcEvent[] = [];
  const app = new LoadBalancerApp(config.services, { datapath: config.datapath, emit: (e) => emitted.push(e) });
  const sw = fakeSwitch();
  let now = 1_000_000;
  const connectionFlows = new Map<bigint, FlowMod>();
  const outputs: StepOutput[] = [];

  const take = (msgs: ReadonlyArray<OutboundMessage>): string[] => {
    const hex: string[] = [];
    for (const m of msgs) {
      const bytes = m.type === 'pre_encoded' ? m.bytes : Buffer.from(encode(m));
      hex.push(bytes.toString('hex'));
      for (const one of m.type === 'pre_encoded' ? splitMessages(bytes) : [bytes]) {
        const decoded = decode(Buffer.from(one));
        if (decoded.type !== 'flow_mod' || parseCookie(decoded.cookie)?.kind !== 'connection') continue;
        if (decoded.command === 0 && decoded.tableId === TABLE.FORWARD) connectionFlows.set(decoded.cookie, decoded);
        if (decoded.command === 3) {
          for (const c of [...connectionFlows.keys()]) if ((c & decoded.cookieMask) === (decoded.cookie & decoded.cookieMask)) connectionFlows.delete(c);
        }
      }
    }
    return hex;
  };
  const batches = (out: SwitchBatch[]): string[] => take(out.flatMap((b) => b.msgs));
  const events = (): string[] => emitted.splice(0).map((e) => `${e.kind} ${e.level} ${e.service ?? '-'} ${e.backend ?? '-'}: ${e.message}`);
  // The wire bytes of the step (every message in order, however the app grouped them) and its events.
  const record = (messages: string[]) => outputs.push({ messages: messages.length ? [digest(messages.join(''))] : [], events: events() });

  // The iface-id selector resolves through "OVSDB" to tap-vm3 before the switch connects.
  const before = batches(app.setVnic('iface-id:vm3-iface', { name: 'tap-vm3', mac: '52:54:00:00:00:13', up: true }, now));
  record([...before, ...batches(app.switchUp(sw, now))]);

  for (const step of generateSteps(seed, count)) {
    now += 37;
    record(runStep(step));
  }

  function runStep(step: Step): string[] {
    switch (step.kind) {
      case 'packet_in': {
        const data = Buffer.from(step.frame, 'hex');
        return take(app.packetInEncoded(sw, {
          type: 'packet_in', xid: 0, bufferId: 0xffffffff, totalLen: data.length, reason: 0, tableId: TABLE.FORWARD, cookie: 0n,
          match: [{ field: 'in_port', value: CLIENT_OFPORT }], data,
        }, now));
      }
      case 'flow_removed': {
        if (mode === 'conntrack') return trackerStep(step.connection);
        const live = [...connectionFlows.values()];
        if (!live.length) return [];
        const f = live[step.connection % live.length];
        connectionFlows.delete(f.cookie);
        return batches(app.flowRemoved(sw, {
          type: 'flow_removed', xid: 0, cookie: f.cookie, priority: f.priority, reason: step.reason, tableId: f.tableId,
          durationSec: 3, durationNsec: 0, idleTimeout: f.idleTimeout, hardTimeout: 0, packetCount: 7n, byteCount: 700n, match: f.match,
        }, now));
      }
      case 'link': {
        const desc = { ...sw.ports.get(step.backendPort)!, state: step.up ? 0 : OFPPS_LINK_DOWN };
        sw.ports.set(step.backendPort, desc);
        return batches(app.portStatus(sw, { type: 'port_status', xid: 0, reason: 2, desc }, now));
      }
      case 'vnic':
        return batches(app.setVnic('iface-id:vm3-iface', step.up === undefined ? undefined : { name: 'tap-vm3', mac: '52:54:00:00:00:13', up: step.up }, now));
      case 'health': {
        const verdict = batches(app.setHealth(step.service, step.backend, step.healthy));
        return [...verdict, ...(step.healthy ? [] : batches(app.dropBackendConnections(step.service, step.backend, now)))];
      }
      case 'drain':
        return batches(app.drain(step.service, step.backend));
      case 'enable':
        return batches(app.enable(step.service, step.backend));
    }
  }

  /** Tracker accounting: the tracker's listing with one connection gone, one closing, the rest established. */
  function trackerStep(which: number): string[] {
    const services = app.serviceStates();
    const entries: ConntrackEntry[] = [];
    const records = app.connectionRecords();
    records.forEach(({ service, record }, i) => {
      if (records.length && i === which % records.length) return;
      const s = services.find((x) => x.config.name === service)!;
      const backend = s.backends.get(record.backendId)!;
      const proto = record.proto === 6 ? 'tcp' : 'udp';
      entries.push({
        proto, zone: 4321, mark: ((s.id << 16) | CLIENT_OFPORT) >>> 0,
        orig: { src: record.clientIp, dst: record.vip, sport: record.clientPort, dport: record.vipPort },
        reply: { src: ipv4(backend.config.ip), dst: record.clientIp, sport: record.softwarePort, dport: record.clientPort },
        state: proto === 'udp' ? undefined : i % 5 === 1 ? 'TIME_WAIT' : 'ESTABLISHED',
      });
    });
    return batches(app.applyAccounting({ source: 'tracker', entries }, now));
  }

  const connections = app.connectionRecords().map(({ service, record: r }) =>
    `${service} ${r.proto} ${uint32ToIpv4(r.clientIp)}:${r.clientPort} -> ${uint32ToIpv4(r.vip)}:${r.vipPort} = ${r.backendId}:${r.softwarePort} ${r.state}`);
  return { seed, mode, outputs, connections };
}

function ipv4(text: string): number {
  return text.split('.').reduce((acc, o) => ((acc << 8) | Number(o)) >>> 0, 0);
}
