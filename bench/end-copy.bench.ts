// Issue 15: what a connection-end copy costs vadc on its packet-in path, beside a controller decision's packet-in (the
// ceiling: a copy decodes a packet-in, finds the connection and marks it ended, so it should cost no more). In one
// process, as the session hands a switch's bytes on: FrameReader, decode, the app as the controller calls it
// (asControllerApp: packetInEncoded, then outlierFlush), the answer encoded. Variants, alternating by rounds:
//   decision    a SYN to a service the controller decides (its packet-out pre-encoded)
//   copy        the client's FIN copy then the backend's, of connections the datapath decided and vadc does not track
//               (ended before a tracker reading learnt them: datapath decisions' usual case)
//   copy-known  the same copies of connections vadc tracks (learnt at a tracker reading, or the controller's own)
// Prints µs per packet-in (wall and process CPU) with medians and spread; asserts nothing.
// `--services N`: N more services configured before these two (a large configuration).
//   node -r ts-node/register/transpile-only bench/end-copy.bench.ts [--conns 20000] [--rounds 7] [--batch 16] [--services 0]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { asControllerApp, LoadBalancerApp } from '../src/app';
import { formatTable } from '../src/cli/table';
import { parseConfig } from '../src/config';
import { FrameReader } from '../src/controller/frame-reader';
import { makeCookie } from '../src/flows/cookies';
import { TCP_FLAGS } from '../src/flows/packets';
import { ipv4ToUint32 } from '../src/net/ipv4';
import { encode, decode } from '../src/openflow/codec';
import { OFP_NO_BUFFER, OFPR_ACTION, OFPR_NO_MATCH } from '../src/openflow/constants';
import type { PacketIn } from '../src/openflow/types';
import { CLIENT_PORT, fakeSwitch } from '../test/helpers/app-harness';
import { ipv4Frame } from '../test/helpers/frames';

const { values } = parseArgs({
  options: {
    conns: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '7' },
    batch: { type: 'string', default: '16' }, services: { type: 'string', default: '0' }, variants: { type: 'string', default: 'decision,copy,copy-known' },
  },
});
const N = Number(values.conns);
const ROUNDS = Number(values.rounds);
/** Packet-ins per chunk handed to the frame reader (a switch's write; 1: one per read, as an idle controller sees them). */
const BATCH = Number(values.batch);
/** Services configured before the two measured ones (a large configuration: the app finds a copy's service by its id). */
const FILLERS = Number(values.services);
const VARIANTS = values.variants.split(',') as Variant[];
type Variant = 'decision' | 'copy' | 'copy-known';
if (N > 1 << 20) throw new Error('--conns: at most 1,048,576');
const VMS = [1, 2, 3];
const CLIENT_OFPORT = CLIENT_PORT;
const BACKEND_PORT = 8080;

const fillers = Array.from({ length: FILLERS }, (_, i) => `
  - name: f${i}
    vip: 10.2.${i >>> 8}.${i & 0xff}
    port: 80
    backends:
      - { vnic: v-vm1, ip: 10.0.0.11, ports: [${BACKEND_PORT}], mac: "52:54:00:00:00:11" }`).join('');

const CONFIG = `
datapath: { nat: conntrack, ct_zone: 9, end_copies: 5000 }
services:${fillers}
  - name: dp
    vip: 10.0.0.100
    port: 80
    decisions: datapath
    scheduler: rr
    backends:
${VMS.map((n) => `      - { vnic: v-vm${n}, ip: 10.0.0.${10 + n}, ports: [${BACKEND_PORT}], mac: "52:54:00:00:00:1${n}" }`).join('\n')}
  - name: ctl
    scheduler: rr
    vip: 10.0.0.101
    port: 80
    backends:
${VMS.map((n) => `      - { vnic: v-vm${n}, ip: 10.0.0.${10 + n}, ports: [${BACKEND_PORT}], mac: "52:54:00:00:00:1${n}" }`).join('\n')}
`;

// The unit tests' switch: ports v-vm1..3 (1..3) and the client's (CLIENT_PORT, 10).
const sw = fakeSwitch();

const CLIENT_MAC = '52:54:00:00:01:01';
/** Where a frame's client port and client address's last two bytes are (Ethernet 14 + IPv4 20: ports at 34/36, addresses at 26/30). */
const AT = { srcAddrEnd: 14 + 16, dstAddrEnd: 14 + 20, srcPort: 14 + 20, dstPort: 14 + 22 };

interface Template {
  bytes: Buffer;
  frameAt: number;
  /** The client is the frame's source (client side) or destination (the backend's segment). */
  clientIsSource: boolean;
}

function packetIn(frame: Buffer, cookie: bigint, tableId: number, reason: number, inPort: number, clientIsSource: boolean): Template {
  const bytes = encode({ type: 'packet_in', xid: 0, bufferId: OFP_NO_BUFFER, totalLen: frame.length, reason, tableId, cookie, match: [{ field: 'in_port', value: inPort }], data: frame });
  return { bytes, frameAt: bytes.length - frame.length, clientIsSource };
}

/** The packet-ins each connection of a variant brings: one SYN, or two copies (the client's FIN, then vm1's). */
function templates(variant: Variant, dpServiceId: number): Template[] {
  if (variant === 'decision') {
    const syn = ipv4Frame({ srcMac: CLIENT_MAC, dstMac: '02:00:0a:00:00:65', srcIp: '10.1.0.1', dstIp: '10.0.0.101', proto: 'tcp', srcPort: 1024, dstPort: 80 });
    return [packetIn(syn, makeCookie('pipeline'), 1, OFPR_NO_MATCH, CLIENT_OFPORT, true)];
  }
  const cookie = makeCookie('end', dpServiceId);
  const fin = TCP_FLAGS.FIN | TCP_FLAGS.ACK;
  const client = ipv4Frame({ srcMac: CLIENT_MAC, dstMac: '02:00:0a:00:00:64', srcIp: '10.1.0.1', dstIp: '10.0.0.100', proto: 'tcp', srcPort: 1024, dstPort: 80, tcpFlags: fin });
  const backend = ipv4Frame({ srcMac: '52:54:00:00:00:11', dstMac: CLIENT_MAC, srcIp: '10.0.0.11', dstIp: '10.1.0.1', proto: 'tcp', srcPort: BACKEND_PORT, dstPort: 1024, tcpFlags: fin });
  return [packetIn(client, cookie, 0, OFPR_ACTION, CLIENT_OFPORT, true), packetIn(backend, cookie, 0, OFPR_ACTION, 1, false)];
}

/** Connection i's client: port 1024 + its low 14 bits, address 10.1.x.y from the rest. */
function writeClient(buf: Buffer, t: Template, at: number, i: number): void {
  const f = at + t.frameAt;
  buf.writeUInt16BE(1024 + (i & 0x3fff), f + (t.clientIsSource ? AT.srcPort : AT.dstPort));
  buf.writeUInt16BE(1 + (i >>> 14), f + (t.clientIsSource ? AT.srcAddrEnd : AT.dstAddrEnd) - 2);
}

/** Every connection's packet-ins, in chunks of BATCH packet-ins as a switch's writes bring them. */
function chunks(variant: Variant, dpServiceId: number): Buffer[] {
  const ts = templates(variant, dpServiceId);
  const all: Buffer[] = [];
  for (let i = 0; i < N; i++) {
    for (const t of ts) {
      const b = Buffer.from(t.bytes);
      writeClient(b, t, 0, i);
      all.push(b);
    }
  }
  const out: Buffer[] = [];
  for (let i = 0; i < all.length; i += BATCH) out.push(Buffer.concat(all.slice(i, i + BATCH)));
  return out;
}

interface Result {
  wallNs: number;
  cpuNs: number;
  packetIns: number;
  answers: number;
  ended: number;
}

/** One round of a variant on a fresh app: [wall ns, CPU ns] per packet-in. */
function round(variant: Variant): Result {
  const parsed = parseConfig(CONFIG, 'bench.yaml');
  const app = new LoadBalancerApp(parsed.services, { datapath: parsed.datapath, emit: () => undefined });
  app.switchUp(sw, 0);
  const dp = app.serviceStates().find((s) => s.config.name === 'dp')!;
  if (variant === 'copy-known') {
    // What a tracker reading adopts: each connection to vm1:8080.
    const records = [];
    for (let i = 0; i < N; i++) {
      records.push({
        proto: 6, clientIp: ipv4ToUint32(`10.1.${(1 + (i >>> 14)) >>> 8}.${(1 + (i >>> 14)) & 0xff}`), clientPort: 1024 + (i & 0x3fff),
        vip: ipv4ToUint32('10.0.0.100'), vipPort: 80, backendId: 'v-vm1', softwarePort: BACKEND_PORT, state: 'active' as const, created: 0, lastSeen: 0,
      });
    }
    const { imported } = dp.lb.connections.import(records, (id) => dp.lb.backendById(id), { judge: true });
    if (imported !== N) throw new Error(`copy-known: ${imported} of ${N} connections imported`);
  }
  const handler = asControllerApp(app, () => undefined);
  const input = chunks(variant, dp.id);
  const reader = new FrameReader(65535);
  // A session's stream starts with the switch's hello.
  reader.forEachFrame(encode({ type: 'hello', xid: 1, elements: [{ type: 'versionbitmap', versions: [4] }] }), () => true);
  reader.requireVersion(4);
  let packetIns = 0;
  let answers = 0;
  const onResult = (r: Parameters<Parameters<FrameReader['forEachFrame']>[1]>[0]): boolean => {
    if (!r.ok) throw new Error(`bench frame refused: ${r.reason}`);
    const msg = decode(r.frame.bytes) as PacketIn;
    packetIns++;
    for (const m of handler.onPacketIn(sw, msg, 1) ?? []) answers += m.type === 'pre_encoded' ? m.messages : (encode(m), 1);
    return true;
  };
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  for (const chunk of input) reader.forEachFrame(chunk, onResult);
  const wallNs = Number(process.hrtime.bigint() - t0);
  const cpu = process.cpuUsage(cpu0);
  const vm1 = dp.lb.backendById('v-vm1')!;
  return { wallNs: wallNs / packetIns, cpuNs: ((cpu.user + cpu.system) * 1000) / packetIns, packetIns, answers, ended: vm1.completedConns };
}

/** What each variant must have done, or its figures mean nothing. */
function check(variant: Variant, r: Result): void {
  const per = variant === 'decision' ? 1 : 2;
  if (r.packetIns !== N * per) throw new Error(`${variant}: ${r.packetIns} packet-ins for ${N} connections`);
  if (variant === 'decision' && r.answers < N) throw new Error(`decision: ${r.answers} answers for ${N} SYNs: connections were refused`);
  if (variant !== 'decision' && r.answers !== 0) throw new Error(`${variant}: ${r.answers} messages answered copies`);
  if (variant === 'copy-known' && r.ended !== N) throw new Error(`copy-known: ${r.ended} of ${N} connections ended`);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const wall = new Map<Variant, number[]>(VARIANTS.map((v) => [v, []]));
const cpu = new Map<Variant, number[]>(VARIANTS.map((v) => [v, []]));
for (const v of VARIANTS) check(v, round(v)); // warm-up
for (let r = 0; r < ROUNDS; r++) {
  // ABBA-like: the order turns each round.
  for (const v of r % 2 === 0 ? VARIANTS : [...VARIANTS].reverse()) {
    const res = round(v);
    check(v, res);
    wall.get(v)!.push(res.wallNs);
    cpu.get(v)!.push(res.cpuNs);
  }
}
const us = (ns: number) => (ns / 1000).toFixed(2);
console.log(`packet-in path, ${N} connections x ${ROUNDS} rounds, ${BATCH} packet-in(s) per chunk, ${FILLERS} other services (node ${process.version}, load ${loadavg().map((x) => x.toFixed(2)).join(' ')})`);
const rows = VARIANTS.map((v) => {
  const w = wall.get(v)!;
  const c = cpu.get(v)!;
  return [v, us(median(w)), us(Math.min(...w)), us(Math.max(...w)), us(median(c)), us(Math.min(...c)), us(Math.max(...c))];
});
const headers = ['variant (per packet-in)', 'wall µs median', 'min', 'max', 'CPU µs median', 'min', 'max'];
console.log(formatTable(rows, headers.map((header, i) => ({ header, get: (row: string[]) => row[i] }))));
if (cpu.has('decision')) {
  const ceiling = median(cpu.get('decision')!);
  for (const v of VARIANTS.filter((x) => x !== 'decision')) {
    console.log(`${v}: ${us(median(cpu.get(v)!))} µs CPU per copy, ceiling ${us(ceiling)} (a decision packet-in): ${(median(cpu.get(v)!) / ceiling).toFixed(2)}x`);
  }
}

