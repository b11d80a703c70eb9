// The packet-in path for a new connection, IPv4 against IPv6 (issue 16), in one process: µs per new connection's
// packet-in through LoadBalancerApp.packetInEncoded (what the daemon calls), each family's service with the same three
// backends, alternating rounds, medians and spread, the answer encoded to bytes as the session writes it. IPv4 reads the packet as numbers and answers pre-encoded; IPv6
// takes the full parse and the codec. Prints figures, asserts nothing. Each round is timed by the wall clock and by the
// process's CPU time (user + system: what other processes on a shared machine move least). `--families 6` runs one
// family alone (a process that never sees the other family's shapes, as a single-family deployment).
// `--ports random`: each connection's client port and address byte come from a fixed permutation of the connection
// number instead of counting up, so the connection table meets hash collisions from its first connections in both
// families (sequential ports meet none in an IPv4 table up to 50,000, and the first in an IPv6 one after 16,384: late
// enough that V8 has optimized the table's code without its probe step and deoptimizes there).
//   node -r ts-node/register/transpile-only bench/packet-in-family.bench.ts [--conns 20000] [--rounds 7] [--nat conntrack|flows] [--families 4,6] [--ports sequential|random]
import { parseArgs } from 'node:util';
import { LoadBalancerApp } from '../src/app';
import { formatTable } from '../src/cli/table';
import { parseConfig } from '../src/config';
import type { SwitchInfo } from '../src/controller/types';
import type { OfpPort, PacketIn } from '../src/openflow/types';
import { encode } from '../src/openflow/codec';
import { ipv4Frame, ipv6Frame } from '../test/helpers/frames';

const { values } = parseArgs({
  options: {
    conns: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '7' }, nat: { type: 'string', default: 'conntrack' },
    families: { type: 'string', default: '4,6' }, ports: { type: 'string', default: 'sequential' },
  },
});
const N = Number(values.conns);
const ROUNDS = Number(values.rounds);
const NAT = values.nat === 'flows' ? 'flows' : 'conntrack';
const FAMILIES = values.families.split(',').map(Number).filter((f): f is 4 | 6 => f === 4 || f === 6);
if (values.ports !== 'sequential' && values.ports !== 'random') throw new Error(`--ports: sequential or random, not ${values.ports}`);
const RANDOM_PORTS = values.ports === 'random';
if (N > 1 << 20) throw new Error('--conns: at most 1,048,576 (the client port and address byte carry 20 bits)');
const VMS = [1, 2, 3];
const CLIENT_OFPORT = 10;

function config(family: 4 | 6): string {
  const ip = (n: number) => (family === 4 ? `10.0.0.${10 + n}` : `"fd00::${(0x10 + n).toString(16)}"`);
  return `
datapath: { nat: ${NAT}, ct_zone: 9 }
services:
  - name: web${family}
    vip: ${family === 4 ? '10.0.0.100' : '"fd00::100"'}
    port: 80
    scheduler: rr
    backends:
${VMS.map((n) => `      - { vnic: v-vm${n}, ip: ${ip(n)}, ports: [8080], mac: "52:54:00:00:00:1${n}" }`).join('\n')}
`;
}

function port(portNo: number, name: string): OfpPort {
  return { portNo, name, hwAddr: `aa:00:00:00:00:${portNo.toString(16).padStart(2, '0')}`, config: 0, state: 0, curr: 0, advertised: 0, supported: 0, peer: 0, currSpeed: 0, maxSpeed: 0 };
}

const sw: SwitchInfo & { ports: Map<number, OfpPort> } = {
  dpid: 0xabcn, address: '127.0.0.1:1', connectedAt: 0,
  features: { type: 'features_reply', xid: 0, datapathId: 0xabcn, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0, reserved: 0 },
  ports: new Map([...VMS.map((n) => port(n, `v-vm${n}`)), port(CLIENT_OFPORT, 'v-cl1')].map((p) => [p.portNo, p])),
  counters: { packetIns: 0, flowModsSent: 0, errorsReceived: 0, messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, withheld: 0 },
};

/** A SYN template per family; each connection writes its client port and the client address's last bytes in place. */
const TEMPLATES = {
  4: { frame: ipv4Frame({ srcMac: '52:54:00:00:01:01', dstMac: '02:00:0a:00:00:64', srcIp: '10.1.0.1', dstIp: '10.0.0.100', proto: 'tcp', srcPort: 1024, dstPort: 80 }), addrEnd: 14 + 16, portAt: 14 + 20 },
  6: { frame: ipv6Frame({ srcMac: '52:54:00:00:01:01', dstMac: '02:06:00:00:01:00', srcIp: 'fd01::1', dstIp: 'fd00::100', proto: 'tcp', srcPort: 1024, dstPort: 80 }), addrEnd: 14 + 24, portAt: 14 + 40 },
} as const;

/**
 * Connection i's 20 bits of client identity (port: the low 14, address byte: the rest): i itself, or with `--ports
 * random` a bijection of the 20-bit numbers (odd multiply, xorshift, odd multiply), so keys stay distinct.
 */
function clientBits(i: number): number {
  if (!RANDOM_PORTS) return i;
  let x = Math.imul(i, 0x9e3779b1) & 0xfffff;
  x ^= x >>> 10;
  return Math.imul(x, 0x85ebd) & 0xfffff;
}

/** One round: [wall ns, CPU ns] per connection. */
function round(family: 4 | 6): [number, number] {
  const parsed = parseConfig(config(family), 'bench.yaml');
  const app = new LoadBalancerApp(parsed.services, { datapath: parsed.datapath, emit: () => undefined });
  app.switchUp(sw, 0);
  const t = TEMPLATES[family];
  const msg: PacketIn = { type: 'packet_in', xid: 0, bufferId: 0xffffffff, totalLen: t.frame.length, reason: 0, tableId: 1, cookie: 0n, match: [{ field: 'in_port', value: CLIENT_OFPORT }], data: Buffer.from(t.frame) };
  let out = 0;
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    const bits = clientBits(i);
    msg.data.writeUInt16BE(1024 + (bits & 0x3fff), t.portAt);
    msg.data.writeUInt16BE(1 + (bits >>> 14), t.addrEnd - 2);
    // What the session writes: pre-encoded bytes as they are, codec messages encoded (IPv6's answer is one).
    for (const m of app.packetInEncoded(sw, msg, 1)) out += m.type === 'pre_encoded' ? m.bytes.length : encode(m).length;
  }
  const ns = Number(process.hrtime.bigint() - t0) / N;
  const cpu = process.cpuUsage(cpu0);
  if (out < N) throw new Error(`${family}: ${out} messages for ${N} packet-ins: connections were refused`);
  return [ns, ((cpu.user + cpu.system) * 1000) / N];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const wall: Record<4 | 6, number[]> = { 4: [], 6: [] };
const cpu: Record<4 | 6, number[]> = { 4: [], 6: [] };
for (const family of FAMILIES) round(family); // warm-up
for (let r = 0; r < ROUNDS; r++) {
  for (const family of FAMILIES) {
    const [w, c] = round(family);
    wall[family].push(w);
    cpu[family].push(c);
  }
}
const us = (ns: number) => (ns / 1000).toFixed(2);
const rows = FAMILIES.map((f) => [
  `IPv${f}`, us(median(wall[f])), us(Math.min(...wall[f])), us(Math.max(...wall[f])), us(median(cpu[f])), us(Math.min(...cpu[f])), us(Math.max(...cpu[f])),
  Math.round(1e9 / median(cpu[f])).toLocaleString('en-US'),
]);
console.log(`packet-in of a new connection, ${NAT} NAT mode, ${N} connections x ${ROUNDS} rounds, ${values.ports} client ports (node ${process.version})`);
const headers = ['family', 'wall µs median', 'min', 'max', 'CPU µs median', 'min', 'max', 'conn per CPU-second'];
console.log(formatTable(rows, headers.map((header, i) => ({ header, get: (row: string[]) => row[i] }))));
if (FAMILIES.length === 2) {
  console.log(`IPv6 / IPv4: wall ${(median(wall[6]) / median(wall[4])).toFixed(2)}x, CPU ${(median(cpu[6]) / median(cpu[4])).toFixed(2)}x`);
}
