// Codec throughput on one core: packet-in decode, flow-mod encode (5-tuple + 4 set-field + output), packet-out
// encode, and a pre-encoded layout (the packet-in fast paths' mechanism). Prints figures (warm-up, then the median of several runs); not a test.
// Each run is timed twice: wall clock, and this process's CPU time (user + system). On a shared machine the
// wall-clock rate also counts the time other processes had the core; the CPU-time rate is the one-core figure.
import { compileLayout, decode, encode } from '../src/openflow';
import type { FlowMod, OfpMessage } from '../src/openflow';

const frame = Buffer.alloc(128, 0xab);
const packetIn = encode({
  type: 'packet_in', xid: 7, bufferId: 0xffffffff, totalLen: 128, reason: 1, tableId: 3, cookie: 0x1234n,
  match: [{ field: 'in_port', value: 5 }], data: frame,
});

/** The benchmark's flow-mod: a 6-field 5-tuple match, 4 set_field and an output; `k` varies every value. */
function flowMod(k: number): FlowMod {
  const octet = k & 0xff;
  return {
    type: 'flow_mod', xid: 9 + k, cookie: 0xabcdn + BigInt(k), cookieMask: 0n, tableId: 1, command: 0, idleTimeout: 30, hardTimeout: 0,
    priority: 1000, bufferId: 0xffffffff, outPort: 0xffffffff, outGroup: 0xffffffff, flags: 1,
    match: [
      { field: 'eth_type', value: 0x0800 }, { field: 'ip_proto', value: 6 }, { field: 'ipv4_src', value: `10.0.${k >> 8 & 0xff}.${octet}` },
      { field: 'ipv4_dst', value: '10.0.0.100' }, { field: 'tcp_src', value: 40000 + k }, { field: 'tcp_dst', value: 80 },
    ],
    instructions: [{ type: 'apply_actions', actions: [
      { type: 'set_field', field: { field: 'eth_dst', value: `02:00:00:00:00:${octet.toString(16).padStart(2, '0')}` } },
      { type: 'set_field', field: { field: 'ipv4_dst', value: `10.0.1.${octet}` } },
      { type: 'set_field', field: { field: 'tcp_dst', value: 8080 + (k & 7) } },
      { type: 'set_field', field: { field: 'eth_src', value: '02:00:00:00:00:fe' } },
      { type: 'output', port: 4 + (k & 15), maxLen: 0 },
    ] }],
  };
}
const sameFlowMod = flowMod(0);
// 256 distinct messages, as the flow-setup path encodes a different connection's values each time.
const variedFlowMods = Array.from({ length: 256 }, (_, k) => flowMod(k));
// The layout of the same flow-mod with the values that vary per connection as slots (src/openflow/layout.ts).
const flowModOf = (v: { k: number }) => flowMod(v.k);
const layout = compileLayout((v: { src: number; port: number; mac: number; out: number }) => {
  const m = flowModOf({ k: 0 });
  m.match[2] = { field: 'ipv4_src', value: `10.0.${(v.src >>> 8) & 0xff}.${v.src & 0xff}` };
  m.match[4] = { field: 'tcp_src', value: v.port };
  m.instructions = [{ type: 'apply_actions', actions: [
    { type: 'set_field', field: { field: 'eth_dst', value: v.mac.toString(16).padStart(12, '0').replace(/(..)(?!$)/g, '$1:') } },
    { type: 'set_field', field: { field: 'ipv4_dst', value: '10.0.1.0' } }, { type: 'set_field', field: { field: 'tcp_dst', value: 8080 } },
    { type: 'set_field', field: { field: 'eth_src', value: '02:00:00:00:00:fe' } }, { type: 'output', port: v.out, maxLen: 0 },
  ] }];
  return m;
}, { src: 1, port: 40000, mac: 0x020000000001, out: 4 }, { src: { bytes: 4, bits: 16 }, port: { bytes: 2 }, mac: { bytes: 6 }, out: { bytes: 4 } });
const layoutValues = Array.from({ length: 256 }, (_, k) => ({ src: k, port: 40000 + k, mac: 0x020000000000 + k, out: 4 + (k & 15) }));
const layoutOut = Buffer.alloc(layout.bytes.length);
const packetOut: OfpMessage = { type: 'packet_out', xid: 3, bufferId: 0xffffffff, inPort: 0xfffffffd, actions: [{ type: 'output', port: 2, maxLen: 0 }], data: frame };

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

function rate(label: string, fn: (i: number) => unknown, n = 300_000, runs = 7): void {
  for (let i = 0; i < n; i++) fn(i); // warm-up
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < runs; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn(i);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const used = process.cpuUsage(c0);
    wall.push(n / seconds);
    cpu.push(n / ((used.user + used.system) / 1e6));
  }
  const m = (x: number): string => (x / 1e6).toFixed(2);
  console.log(`${label.padEnd(46)} ${m(median(wall))} M msg/s wall (min ${m(Math.min(...wall))}, max ${m(Math.max(...wall))}), `
    + `${m(median(cpu))} M msg/s per CPU-second (median of ${runs})`);
}

console.log(`node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
rate('decode packet_in (1 OXM, 128 B data)', () => decode(packetIn));
rate('encode flow_mod (5-tuple, 4 set_field)', () => encode(sameFlowMod));
rate('encode flow_mod, 256 varied messages', (i) => encode(variedFlowMods[i & 255]));
rate('layout flow_mod write, 256 varied values', (i) => layout.write(layoutOut, 0, layoutValues[i & 255]));
rate('encode packet_out (1 output, 128 B)', () => encode(packetOut));
