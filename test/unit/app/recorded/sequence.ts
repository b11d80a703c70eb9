// A recorded mixed sequence of app inputs, for comparing the app's decisions across a redesign: the same
// inputs must produce the same OpenFlow messages, byte for byte, and the same events. The inputs are
// generated from a seed; `record.ts` replays them through a driver and writes what came out.
import { arpRequest, ipv4Frame } from '../../../helpers/frames';
import { rng as mulberry32 } from '../../../helpers/fuzz';

export const CLIENT_MAC = '52:54:00:00:01:01';
export const VIP_MAC = '02:00:0a:00:00:64';
export const CLIENT_OFPORT = 10;
export const BACKEND_PORTS: Record<string, number> = { 'v-vm1': 1, 'v-vm2': 2, 'v-vm3': 3 };

export type ModeName = 'flows' | 'conntrack' | 'conntrack-flow-accounting';
export const MODES: ModeName[] = ['flows', 'conntrack', 'conntrack-flow-accounting'];

// End copies off: the recording predates them (its bytes are the pre-redesign app's); they have their own tests
// (test/unit/app/end-copies.test.ts).
const DATAPATH: Record<ModeName, string> = {
  flows: 'datapath: { end_copies: 0 }',
  conntrack: 'datapath: { nat: conntrack, ct_zone: 4321, accounting: conntrack, end_copies: 0 }',
  'conntrack-flow-accounting': 'datapath: { nat: conntrack, ct_zone: 4321, accounting: flows, end_copies: 0 }',
};

export function configYaml(mode: ModeName): string {
  return `
${DATAPATH[mode]}
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    scheduler: wlc
    idle_timeout: 30
    fin_timeout: 4
    backends:
      - { vnic: v-vm1, ip: 10.0.0.11, ports: [8080, 8081], mac: "52:54:00:00:00:11", weight: 2 }
      - { vnic: v-vm2, ip: 10.0.0.12, ports: [8080], mac: "52:54:00:00:00:12" }
      - { vnic: "iface-id:vm3-iface", ip: 10.0.0.13, ports: [8080], name: vm3 }
  - name: dns
    vip: 10.0.0.100
    protocol: udp
    port: 53
    scheduler: sh
    backends:
      - { vnic: v-vm1, ip: 10.0.0.11, ports: [5353], mac: "52:54:00:00:00:11" }
      - { vnic: v-vm2, ip: 10.0.0.12, ports: [5353], mac: "52:54:00:00:00:12" }
  - name: pfx
    vip: 10.0.2.0/24
    port: 8443
    scheduler: dh
    backends:
      - { vnic: v-vm2, ip: 10.0.0.12, ports: [9443], mac: "52:54:00:00:00:12" }
      - { vnic: "iface-id:vm3-iface", ip: 10.0.0.13, ports: [9443], name: vm3b }
`;
}

export type Step =
  | { kind: 'packet_in'; frame: string }
  | { kind: 'flow_removed'; connection: number; reason: number }
  | { kind: 'link'; backendPort: number; up: boolean }
  | { kind: 'vnic'; up: boolean | undefined }
  | { kind: 'health'; service: string; backend: string; healthy: boolean }
  | { kind: 'drain' | 'enable'; service: string; backend: string };


/** The seeded input sequence (frames as hex so the fixture is plain JSON). */
export function generateSteps(seed: number, count: number): Step[] {
  const rnd = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const client = () => `10.0.${1 + Math.floor(rnd() * 3)}.${1 + Math.floor(rnd() * 40)}`;
  const sport = () => 20000 + Math.floor(rnd() * 40000);
  const sent: string[] = [];
  const steps: Step[] = [];
  const frame = (spec: Parameters<typeof ipv4Frame>[0]) => ipv4Frame(spec).toString('hex');
  const tcp = (dstIp: string, dstPort: number, flags = 0x02) =>
    frame({ srcMac: CLIENT_MAC, dstMac: VIP_MAC, srcIp: client(), dstIp, proto: 'tcp', srcPort: sport(), dstPort, tcpFlags: flags });
  for (let i = 0; i < count; i++) {
    const r = rnd();
    let step: Step;
    if (r < 0.34) step = { kind: 'packet_in', frame: tcp('10.0.0.100', 80) };
    else if (r < 0.42) step = { kind: 'packet_in', frame: tcp(`10.0.2.${1 + Math.floor(rnd() * 250)}`, 8443) };
    else if (r < 0.5) step = { kind: 'packet_in', frame: frame({ srcMac: CLIENT_MAC, dstMac: VIP_MAC, srcIp: client(), dstIp: '10.0.0.100', proto: 'udp', srcPort: sport(), dstPort: 53 }) };
    else if (r < 0.56 && sent.length) step = { kind: 'packet_in', frame: pick(sent) };
    else if (r < 0.6) step = { kind: 'packet_in', frame: tcp('10.0.0.100', 80, pick([0x10, 0x04, 0x11, 0x18])) };
    else if (r < 0.62) step = { kind: 'packet_in', frame: tcp('10.0.0.100', 443) };
    else if (r < 0.64) step = { kind: 'packet_in', frame: arpRequest(CLIENT_MAC, client(), pick(['10.0.0.100', '10.0.2.7', '10.0.9.9'])).toString('hex') };
    else if (r < 0.66) step = { kind: 'packet_in', frame: frame({ srcMac: CLIENT_MAC, dstMac: VIP_MAC, srcIp: client(), dstIp: pick(['10.0.0.100', '10.0.2.9']), proto: 'icmp' }) };
    else if (r < 0.67) {
      const raw = Buffer.from(tcp('10.0.0.100', 80), 'hex');
      raw[14 + 9] = 253; // an IP protocol vadc does not serve
      step = { kind: 'packet_in', frame: raw.toString('hex') };
    } else if (r < 0.68) step = { kind: 'packet_in', frame: Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 256))).toString('hex') };
    else if (r < 0.82) step = { kind: 'flow_removed', connection: Math.floor(rnd() * 1e6), reason: pick([0, 0, 1, 2]) };
    else if (r < 0.86) step = { kind: 'link', backendPort: pick([1, 2, 3]), up: rnd() < 0.6 };
    else if (r < 0.88) step = { kind: 'vnic', up: pick([true, true, false, undefined]) };
    else if (r < 0.94) {
      const [service, backend] = pick([['web', 'v-vm1'], ['web', 'v-vm2'], ['web', 'vm3'], ['dns', 'v-vm2'], ['pfx', 'vm3b']]);
      step = { kind: 'health', service, backend, healthy: rnd() < 0.6 };
    } else {
      const [service, backend] = pick([['web', 'v-vm1'], ['web', 'v-vm2'], ['pfx', 'v-vm2']]);
      step = { kind: rnd() < 0.5 ? 'drain' : 'enable', service, backend };
    }
    if (step.kind === 'packet_in' && rnd() < 0.5) sent.push(step.frame);
    steps.push(step);
  }
  return steps;
}

/** What one step produced: the messages' bytes (xid 0, as the app hands them over) and the events. */
export interface StepOutput {
  /** A digest of the step's message bytes in order (empty when it sent nothing). */
  messages: string[];
  events: string[];
}

export interface Recording {
  seed: number;
  mode: ModeName;
  outputs: StepOutput[];
  /** The connection table at the end, one line per connection. */
  connections: string[];
}
