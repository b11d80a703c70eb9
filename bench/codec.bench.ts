// Codec throughput on one core: packet-in decode, flow-mod encode (5-tuple + 4 set-field + output), packet-out encode.
// Prints figures (warm-up, then the median of several runs); not a test.
import { decode, encode } from '../src/openflow';
import type { OfpMessage } from '../src/openflow';

const frame = Buffer.alloc(128, 0xab);
const packetIn = encode({
  type: 'packet_in', xid: 7, bufferId: 0xffffffff, totalLen: 128, reason: 1, tableId: 3, cookie: 0x1234n,
  match: [{ field: 'in_port', value: 5 }], data: frame,
});
const flowMod: OfpMessage = {
  type: 'flow_mod', xid: 9, cookie: 0xabcdn, cookieMask: 0n, tableId: 1, command: 0, idleTimeout: 30, hardTimeout: 0,
  priority: 1000, bufferId: 0xffffffff, outPort: 0xffffffff, outGroup: 0xffffffff, flags: 1,
  match: [
    { field: 'eth_type', value: 0x0800 }, { field: 'ip_proto', value: 6 }, { field: 'ipv4_src', value: '10.0.0.1' },
    { field: 'ipv4_dst', value: '10.0.0.100' }, { field: 'tcp_src', value: 40000 }, { field: 'tcp_dst', value: 80 },
  ],
  instructions: [{ type: 'apply_actions', actions: [
    { type: 'set_field', field: { field: 'eth_dst', value: '02:00:00:00:00:02' } },
    { type: 'set_field', field: { field: 'ipv4_dst', value: '10.0.1.2' } },
    { type: 'set_field', field: { field: 'tcp_dst', value: 8080 } },
    { type: 'set_field', field: { field: 'eth_src', value: '02:00:00:00:00:fe' } },
    { type: 'output', port: 4, maxLen: 0 },
  ] }],
};
const packetOut: OfpMessage = { type: 'packet_out', xid: 3, bufferId: 0xffffffff, inPort: 0xfffffffd, actions: [{ type: 'output', port: 2, maxLen: 0 }], data: frame };

function rate(label: string, fn: () => unknown, n = 300_000, runs = 7): void {
  for (let i = 0; i < n; i++) fn(); // warm-up
  const results: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    results.push(n / (Number(process.hrtime.bigint() - t0) / 1e9));
  }
  results.sort((a, b) => a - b);
  console.log(`${label.padEnd(40)} ${(results[runs >> 1] / 1e6).toFixed(2)} M msg/s (median of ${runs}, min ${(results[0] / 1e6).toFixed(2)}, max ${(results[runs - 1] / 1e6).toFixed(2)})`);
}

console.log(`node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
rate('decode packet_in (1 OXM, 128 B data)', () => decode(packetIn));
rate('encode flow_mod (5-tuple, 4 set_field)', () => encode(flowMod));
rate('encode packet_out (1 output, 128 B)', () => encode(packetOut));
