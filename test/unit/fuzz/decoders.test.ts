// Fuzz of the decoders a peer or an operator feeds (issue 18): the OVSDB JSON-RPC stream, OVSDB notation and
// schemas, the packet parser (IPv4, ARP, IPv6, VLAN), the config loader and the API's request bodies. Each input
// gives a value or the decoder's own typed error, never another exception. The OpenFlow codec has its own
// (test/unit/openflow/fuzz.test.ts). VADC_FUZZ_ITERATIONS=10000000 VADC_FUZZ_SEED=N for the long local run.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { ApiError } from '../../../src/api/errors';
import { backendSpecSchema, serviceSpecSchema, validate } from '../../../src/api/schemas';
import { parseConfig, validateConfig } from '../../../src/config';
import { ConfigError } from '../../../src/config/errors';
import { ListingReplyDecoder, ListingReplyError } from '../../../src/daemon/listing-reply';
import { parseConntrackDump } from '../../../src/flows/conntrack-dump';
import { parsePacket } from '../../../src/flows/packets';
import { decodeRow, decodeValue, JsonStreamParser, OvsdbError, parseSchema } from '../../../src/ovsdb';
import { arpRequest, ipv4Frame } from '../../helpers/frames';
import { describeReport, fuzz, fuzzIterations, mutateBytes, mutateJson, mutateText } from '../../helpers/fuzz';

const ROOT = path.resolve(__dirname, '../../..');
const read = (p: string) => readFileSync(path.join(ROOT, p), 'utf8');

/** The outcome's name when `err` is one of `types`; anything else is a failure and is thrown on. */
function typed(err: unknown, ...types: Array<abstract new (...args: never[]) => Error>): string {
  if (types.some((t) => err instanceof t)) return (err as Error).constructor.name;
  throw err;
}

describe('fuzz', () => {
  it('OVSDB JSON-RPC byte stream: values or OvsdbProtocolError, whatever the chunking', () => {
    const messages = [
      { id: 1, method: 'transact', params: ['Open_vSwitch', { op: 'select', table: 'Interface', where: [['name', '==', 'v-vm1']] }] },
      { id: null, method: 'update2', params: ['m1', { Interface: { 'a1b2c3d4-0000-4000-8000-000000000001': { modify: { link_state: 'down', external_ids: ['map', [['iface-id', 'vm1']]] } } } }] },
      { id: 7, result: [{ rows: [{ _uuid: ['uuid', 'a1b2c3d4-0000-4000-8000-000000000001'], ofport: 3, name: 'v-vm1' }] }], error: null },
      { id: 'echo', method: 'echo', params: [] },
      { id: 9, result: null, error: { error: 'not leader', details: 'é ünïcode "quoted" \\ back' } },
    ].map((m) => Buffer.from(JSON.stringify(m)));
    const corpus = [Buffer.concat(messages), ...messages];
    const report = fuzz({
      iterations: fuzzIterations(5_000),
      input: (r) => {
        const stream = r() < 0.1 ? corpus[0] : mutateBytes(r, corpus[Math.floor(r() * corpus.length)], corpus);
        const cuts = Array.from({ length: Math.floor(r() * 4) }, () => Math.floor(r() * (stream.length + 1))).sort((a, b) => a - b);
        return { stream, cuts };
      },
      show: ({ stream, cuts }) => `${stream.toString('hex')} cut at ${cuts.join(',')}`,
      check: ({ stream, cuts }) => {
        const parser = new JsonStreamParser(4096);
        let values = 0;
        try {
          let from = 0;
          for (const to of [...cuts, stream.length]) {
            values += parser.push(stream.subarray(from, to)).length;
            from = to;
          }
          return values > 0 ? 'values' : 'incomplete';
        } catch (err) {
          return typed(err, OvsdbError);
        }
      },
    });
    console.log(describeReport('OVSDB JSON-RPC stream', report));
    expect(report.outcomes.get('values')).toBeGreaterThan(0);
    expect(report.outcomes.get('OvsdbProtocolError')).toBeGreaterThan(0);
  });

  it("ovs-vswitchd's tracker listing (unixctl answer, -m lines): the one-shot parse's dump or ListingReplyError, whatever the pieces", () => {
    const tuples = 'orig=(src=10.0.0.101,dst=10.0.0.100,sport=39646,dport=80),reply=(src=10.0.0.11,dst=10.0.0.101,sport=8080,dport=39646)';
    const lines = [
      `tcp,${tuples},id=0,zone=2780,status=0,mark=3429564418,protoinfo=(state_orig=TIME_WAIT,state_reply=TIME_WAIT,wscale_orig=7,wscale_reply=0,flags_orig=WINDOW_SCALE,flags_reply=0)`,
      `tcp,${tuples},id=0,zone=2780,status=0,mark=0xcc6a0002,protoinfo=(state_orig=ESTABLISHED,state_reply=ESTABLISHED,flags_orig=0,flags_reply=0)`,
      `udp,${tuples},zone=2780,mark=7`,
      `tcp,${tuples},zone=2780,mark=1,protoinfo=(state=ESTABLISHED)`,
    ];
    const corpus = [Buffer.from(JSON.stringify({ id: 1, result: `${lines.join('\n')}\n`, error: null }))];
    const report = fuzz({
      iterations: fuzzIterations(5_000),
      input: (r) => {
        const stream = mutateBytes(r, corpus[0], corpus);
        const cuts = Array.from({ length: Math.floor(r() * 4) }, () => Math.floor(r() * (stream.length + 1))).sort((a, b) => a - b);
        return { stream, cuts };
      },
      show: ({ stream, cuts }) => `${stream.toString('hex')} cut at ${cuts.join(',')}`,
      check: ({ stream, cuts }) => {
        const decoder = new ListingReplyDecoder();
        try {
          let from = 0;
          let done = false;
          for (const to of [...cuts, stream.length]) {
            done = decoder.push(stream.subarray(from, to));
            from = to;
          }
          if (!done) return 'incomplete';
          const reply = decoder.reply();
          // Where the whole answer is valid JSON with a text result, the dump is the one-shot parser's, to the entry.
          let whole: { result?: unknown } | undefined;
          try {
            whole = JSON.parse(stream.toString('utf8')) as { result?: unknown };
          } catch {
            whole = undefined;
          }
          if (typeof whole?.result === 'string') expect(reply.dump).toEqual(parseConntrackDump(whole.result));
          return reply.dump.malformed.length ? 'dump with malformed lines' : 'dump';
        } catch (err) {
          return typed(err, ListingReplyError);
        }
      },
    });
    console.log(describeReport('tracker listing', report));
    expect(report.outcomes.get('dump')).toBeGreaterThan(0);
    expect(report.outcomes.get('dump with malformed lines')).toBeGreaterThan(0);
  });

  it('OVSDB notation (rows, values) and schemas: decoded or OvsdbError', () => {
    const rows = [
      '{"name":"v-vm1","ofport":3,"external_ids":["map",[["iface-id","vm1"],["ip","10.0.0.11"]]],"_uuid":["uuid","a1b2c3d4-0000-4000-8000-000000000001"]}',
      '{"ports":["set",[["uuid","a1b2c3d4-0000-4000-8000-000000000002"],["named-uuid","row1"]]],"statistics":["map",[["rx_packets",10],["rx_dropped",0]]],"link_speed":1.5e9,"admin_state":"up","lacp":["set",[]]}',
    ];
    const schema = read('schema/vadc.ovsschema');
    const report = fuzz({
      iterations: fuzzIterations(5_000),
      // Half the inputs break the text, half keep valid JSON and break its shape.
      input: (r, i) => {
        const kind = i % 5 === 0 ? 'schema' : i % 2 ? 'row' : 'value';
        const base = kind === 'schema' ? schema : rows[i % rows.length];
        return { kind, text: r() < 0.5 ? mutateText(r, base, rows) : JSON.stringify(mutateJson(r, JSON.parse(base))) };
      },
      check: ({ kind, text }) => {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          return 'not JSON';
        }
        try {
          if (kind === 'schema') parseSchema(json);
          else if (kind === 'row') decodeRow(json);
          else decodeValue(json);
          return `${kind} ok`;
        } catch (err) {
          return `${kind} ${typed(err, OvsdbError)}`;
        }
      },
    });
    console.log(describeReport('OVSDB notation and schemas', report));
    expect(report.outcomes.get('row ok')).toBeGreaterThan(0);
    expect(report.outcomes.get('schema ok')).toBeGreaterThan(0);
    expect([...report.outcomes.keys()].some((k) => k.startsWith('schema Ovsdb'))).toBe(true);
  });

  it('packet parser (Ethernet, VLAN, ARP, IPv4 TCP/UDP/ICMP, IPv6): a parsed packet or a typed reason', () => {
    const base = { srcMac: '02:00:00:00:00:01', dstMac: '02:00:00:00:00:02', srcIp: '10.0.0.1', dstIp: '10.0.0.100' };
    const frames = [
      ipv4Frame({ ...base, proto: 'tcp', srcPort: 40000, dstPort: 80, payload: Buffer.from('GET / HTTP/1.1\r\n\r\n') }),
      ipv4Frame({ ...base, proto: 'udp', srcPort: 5353, dstPort: 53, payload: Buffer.from('query') }),
      ipv4Frame({ ...base, proto: 'icmp' }),
      arpRequest('02:00:00:00:00:01', '10.0.0.1', '10.0.0.100'),
    ];
    // An IPv6 TCP SYN (fe80::1 -> 2001:db8::100), and the IPv4 TCP frame behind an 802.1Q tag.
    const tcp = Buffer.alloc(20);
    tcp.writeUInt16BE(40000, 0);
    tcp.writeUInt16BE(80, 2);
    tcp[12] = 5 << 4;
    tcp[13] = 0x02;
    frames.push(Buffer.concat([
      Buffer.from('020000000002' + '020000000001' + '86dd', 'hex'),
      Buffer.from('60000000' + '0014' + '06' + '40', 'hex'),
      Buffer.from('fe800000000000000000000000000001' + '20010db8000000000000000000000100', 'hex'),
      tcp,
    ]));
    frames.push(Buffer.concat([frames[0].subarray(0, 12), Buffer.from('8100000a', 'hex'), frames[0].subarray(12)]));
    const report = fuzz({
      iterations: fuzzIterations(100_000),
      input: (r) => mutateBytes(r, frames[Math.floor(r() * frames.length)], frames),
      check: (frame) => {
        const result = parsePacket(frame);
        return result.ok ? 'parsed' : result.reason;
      },
    });
    console.log(describeReport('packet parser', report));
    expect(report.outcomes.get('parsed')).toBeGreaterThan(0);
    expect(report.outcomes.size).toBeGreaterThan(3);
    expect([...report.outcomes.keys()].some((k) => k.includes('ipv6'))).toBe(true);
  });

  it('config loader: a configuration or a ConfigError naming the problem', () => {
    const examples = ['examples/vadc.yaml', 'examples/full.yaml', 'examples/lab.yaml'].map(read);
    const report = fuzz({
      iterations: fuzzIterations(1_000),
      // Half break the YAML text; half keep it valid YAML and break the configuration's shape and values.
      input: (r) => {
        const base = examples[Math.floor(r() * examples.length)];
        return r() < 0.5 ? mutateText(r, base, examples) : stringify(mutateJson(r, parse(base)));
      },
      check: (text) => {
        try {
          parseConfig(text, 'fuzz.yaml');
          return 'parsed';
        } catch (err) {
          const name = typed(err, ConfigError);
          if (!(err as ConfigError).issues.length) throw new Error('a ConfigError with no issue');
          return name;
        }
      },
      show: (text) => JSON.stringify(text),
    });
    console.log(describeReport('config loader', report));
    expect(report.outcomes.get('ConfigError')).toBeGreaterThan(0);
  });

  // The loader's own half after the YAML layer (schema, cross-field rules, the issues' paths and messages) at the
  // rate 10 million inputs need: the whole loader spends ~4 ms per input in the yaml library's parser of full.yaml.
  it('config validation (the loader after YAML): a configuration or a ConfigError naming each problem', () => {
    const examples = ['examples/vadc.yaml', 'examples/full.yaml', 'examples/lab.yaml'].map((file) => parse(read(file)) as unknown);
    const report = fuzz({
      iterations: fuzzIterations(5_000),
      input: (r) => mutateJson(r, examples[Math.floor(r() * examples.length)]),
      check: (raw) => {
        try {
          validateConfig(raw, 'fuzz.json');
          return 'parsed';
        } catch (err) {
          const name = typed(err, ConfigError);
          const { issues } = err as ConfigError;
          if (!issues.length) throw new Error('a ConfigError with no issue');
          if (issues.some((issue) => typeof issue.path !== 'string' || !issue.message)) throw new Error('a ConfigError issue without a path or a message');
          return name;
        }
      },
      show: (raw) => JSON.stringify(raw),
    });
    console.log(describeReport('config validation', report));
    expect(report.outcomes.get('ConfigError')).toBeGreaterThan(0);
    expect(report.outcomes.get('parsed')).toBeGreaterThan(0);
  });

  it('API request bodies (service and backend specs): the spec or an ApiError', () => {
    const bodies = [
      JSON.stringify({ name: 'web', vip: '10.0.0.100', port: 80, protocol: 'tcp', scheduler: 'wrr', backends: [{ vnic: 'v-vm1', ip: '10.0.0.11', ports: [8080], weight: 2 }] }),
      JSON.stringify({ vnic: 'iface-id:vm2', ip: '10.0.0.12', ports: [8080, 8081], weight: 1, tier: 1 }),
    ];
    const report = fuzz({
      iterations: fuzzIterations(5_000),
      input: (r) => {
        const base = bodies[Math.floor(r() * bodies.length)];
        return r() < 0.5 ? mutateText(r, base, bodies) : JSON.stringify(mutateJson(r, JSON.parse(base)));
      },
      check: (text) => {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          return 'not JSON';
        }
        const outcomes = [serviceSpecSchema, backendSpecSchema].map((schema) => {
          try {
            validate(schema as never, body);
            return 'ok';
          } catch (err) {
            return typed(err, ApiError);
          }
        });
        return outcomes.includes('ok') ? 'accepted' : 'ApiError';
      },
      show: (text) => JSON.stringify(text),
    });
    console.log(describeReport('API bodies', report));
    expect(report.outcomes.get('accepted')).toBeGreaterThan(0);
    expect(report.outcomes.get('ApiError')).toBeGreaterThan(0);
  });
});
