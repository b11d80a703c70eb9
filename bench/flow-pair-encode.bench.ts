// Flows mode's pre-encoded flow pair (src/app/nat/flow-pair-wire.ts), IPv4 against IPv6: one encoder, `--count`
// encodes of distinct connections, ns per encode printed. Asserts nothing. Its figures in docs/benchmarks.md are
// instruction counts: run it under `valgrind --tool=callgrind` at two counts and divide the difference.
//   node -r ts-node/register/transpile-only bench/flow-pair-encode.bench.ts [--family 4|6] [--count 100000]
import { parseArgs } from 'node:util';
import { FlowPairWireEncoder, FlowPairWireEncoder6, type FlowPairService } from '../src/app/nat/flow-pair-wire';
import { ipv6Pair } from '../src/net/ipv6';

const { values } = parseArgs({ options: { family: { type: 'string', default: '4' }, count: { type: 'string', default: '100000' } } });
const family = values.family === '6' ? 6 : 4;
const count = Number(values.count);
if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`--count: a whole number >= 1, got ${values.count}`);

const service: FlowPairService = { serviceId: 3, protocol: 'tcp', idleTimeout: 30, finTimeout: 2, vipMac: '02:00:0a:00:00:64', vipPort: 80 };
// A SYN's length in each family (Ethernet + IP + TCP); the bytes do not matter to the encoder.
const frame = Buffer.alloc(family === 6 ? 74 : 54, 7);
const backendMac = Buffer.from([0x52, 0x54, 0, 0, 0, 0x11]);
let bytes = 0;
const started = process.hrtime.bigint();
if (family === 4) {
  const encoder = new FlowPairWireEncoder(service);
  const v = {
    connectionId: 1, clientOfport: 5, clientIp: 0x0a010001, clientPort: 1000, clientMacOffset: 6, vipIp: 0x0a000064,
    backendOfport: 2, backendIp: 0x0a00000b, backendPort: 8080, backendMac,
  };
  for (let i = 0; i < count; i++) {
    v.connectionId = 1 + (i & 0xffff);
    v.clientPort = i & 0xffff;
    bytes += encoder.encode(v, frame).length;
  }
} else {
  const encoder = new FlowPairWireEncoder6(service);
  const v = {
    connectionId: 1, clientOfport: 5, clientPort: 1000, clientMacOffset: 6,
    ip6: ipv6Pair([0xfd010000, 0, 0, 1, 0xfd000000, 0, 0, 0x100]), backendOfport: 2, backendIp6: Buffer.alloc(16, 9), backendPort: 8080, backendMac,
  };
  for (let i = 0; i < count; i++) {
    v.connectionId = 1 + (i & 0xffff);
    v.clientPort = i & 0xffff;
    bytes += encoder.encode(v, frame).length;
  }
}
const ns = Number(process.hrtime.bigint() - started) / count;
console.log(`IPv${family} flow pair: ${count} encodes, ${bytes / count} bytes each, ${ns.toFixed(1)} ns per encode (node ${process.version})`);
