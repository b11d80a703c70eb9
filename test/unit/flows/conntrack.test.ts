// Conntrack NAT mode's builders: every flow fits the declared pipeline, survives the codec byte for byte,
// the accounting flow reads back into its connection, and Open vSwitch's own decoder (ovs-ofctl ofp-parse)
// reads the messages as the flows we mean. Missing ovs-ofctl fails the test: an oracle that is not run proves nothing.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode, encode, type FlowMod, type FlowStats, type OfpMessage, type PacketOut } from '../../../src/openflow';
import { OFPFC_ADD, OFPFC_DELETE_STRICT, OFPFF_SEND_FLOW_REM } from '../../../src/openflow/constants';
import {
  buildCtBackendFlow, buildCtCommitPacketOut, buildCtConnectionFlow, buildCtPipelineFlows, buildCtReplyFlows, buildCtServiceFlows,
  buildDeleteCtBackendFlow, connectionMark, ctConnectionFromFlow,
} from '../../../src/flows/conntrack';
import { FlowBuildError, type ConnectionSpec } from '../../../src/flows/builders';
import { checkFlow } from '../../../src/flows/check';
import { makeCookie } from '../../../src/flows/cookies';
import { CT_STATE, TABLE, VADC_PIPELINE } from '../../../src/flows/pipeline';

const SERVICE_ID = 0x1234;
const ZONE = 4321;
const VIP = { ip: '10.20.30.40', mac: '02:00:0a:14:1e:28', port: 8443 };
const CLIENT = { ofport: 17, mac: '52:54:00:aa:bb:c1', ip: '192.168.7.51', port: 45678 };
const BACKEND = { ofport: 23, mac: '52:54:00:aa:bb:0b', ip: '172.16.5.11', port: 9443 };

function connection(overrides: Partial<ConnectionSpec> = {}): ConnectionSpec {
  return {
    serviceId: SERVICE_ID, connectionId: 0xabcde, protocol: 'tcp', idleTimeout: 321, finTimeout: 9,
    client: CLIENT, vip: VIP, backend: BACKEND, ...overrides,
  };
}

const COMMIT = {
  zone: ZONE, serviceId: SERVICE_ID, protocol: 'tcp' as const, clientOfport: CLIENT.ofport, backendIp: BACKEND.ip, backendPort: BACKEND.port,
  backendMac: BACKEND.mac, backendOfport: BACKEND.ofport,
};

/**
 * Every flow-mod the conntrack builders make, for distinct non-default inputs, by builder call: built inside the tests
 * (not while jest collects the file), so a broken builder fails a test rather than the file's loading.
 */
const BUILDS: Array<[string, () => FlowMod[]]> = [
  ['ct pipeline', () => buildCtPipelineFlows()],
  ['tcp service', () => buildCtServiceFlows({ serviceId: SERVICE_ID, vip: VIP.ip, protocol: 'tcp', port: VIP.port }, ZONE)],
  ['udp service', () => buildCtServiceFlows({ serviceId: SERVICE_ID + 1, vip: VIP.ip, protocol: 'udp', port: 5353 }, ZONE)],
  ['prefix service', () => buildCtServiceFlows({ serviceId: SERVICE_ID + 2, vip: '10.99.0.0/16', protocol: 'tcp', port: 443 }, ZONE + 1)],
  ['tcp replies', () => buildCtReplyFlows({
    serviceId: SERVICE_ID, protocol: 'tcp', zone: ZONE, vipMac: VIP.mac,
    backends: [{ ip: BACKEND.ip, port: BACKEND.port }, { ip: '172.16.5.12', port: 9444 }],
  })],
  ['udp replies', () => buildCtReplyFlows({
    serviceId: SERVICE_ID + 1, protocol: 'udp', zone: ZONE, vipMac: VIP.mac, backends: [{ ip: BACKEND.ip, port: 5354 }],
  })],
  ['backend', () => [buildCtBackendFlow({ serviceId: SERVICE_ID, ip: BACKEND.ip, mac: BACKEND.mac, ofport: BACKEND.ofport })]],
  ['delete backend', () => [buildDeleteCtBackendFlow({ serviceId: SERVICE_ID, ip: BACKEND.ip })]],
  ['tcp connection', () => [buildCtConnectionFlow(connection())]],
  ['tcp connection without fin', () => [buildCtConnectionFlow(connection({ finTimeout: undefined }))]],
  ['udp connection', () => [buildCtConnectionFlow(connection({ protocol: 'udp', finTimeout: undefined, connectionId: 0x0fffffff }))]],
];

/** The FlowStats entry a switch would report for the flow the flow-mod added (read back through the codec). */
function asFlowStats(flow: FlowMod): FlowStats {
  const decoded = decode(encode(flow));
  if (decoded.type !== 'flow_mod') throw new Error(`decoded a ${decoded.type}, not a flow_mod`);
  return {
    tableId: decoded.tableId, durationSec: 0, durationNsec: 0, priority: decoded.priority, idleTimeout: decoded.idleTimeout,
    hardTimeout: decoded.hardTimeout, flags: decoded.flags, cookie: decoded.cookie, packetCount: 0n, byteCount: 0n,
    match: decoded.match, instructions: decoded.instructions,
  };
}

describe('conntrack flows fit the vadc pipeline', () => {
  it.each(BUILDS)('%s: every flow passes checkFlow', (_name, build) => {
    const flows = build();
    expect(flows.length).toBeGreaterThan(0);
    expect(flows.map((flow) => checkFlow(flow, VADC_PIPELINE))).toEqual(flows.map(() => []));
  });

  it('builds the flows in the tables and with the commands described', () => {
    expect(buildCtPipelineFlows().map((f) => [f.tableId, f.priority, f.command])).toEqual([[TABLE.CT_REPLY, 0, OFPFC_ADD]]);
    const [service] = buildCtServiceFlows({ serviceId: SERVICE_ID, vip: VIP.ip, protocol: 'tcp', port: VIP.port }, ZONE);
    expect(service.tableId).toBe(TABLE.CLASSIFY);
    expect(service.instructions).toEqual([{ type: 'apply_actions', actions: [expect.objectContaining({ type: 'nx_ct', zoneOfsNbits: ZONE, recircTable: TABLE.FORWARD })] }]);
    const replies = buildCtReplyFlows({
      serviceId: SERVICE_ID, protocol: 'tcp', zone: ZONE, vipMac: VIP.mac,
      backends: [{ ip: BACKEND.ip, port: BACKEND.port }, { ip: BACKEND.ip, port: BACKEND.port }, { ip: BACKEND.ip, port: 1 }],
    });
    // The duplicate backend address:port gets one table-0 flow; then the one table-3 flow.
    expect(replies.map((f) => f.tableId)).toEqual([TABLE.CLASSIFY, TABLE.CLASSIFY, TABLE.CT_REPLY]);
    const conn = buildCtConnectionFlow(connection());
    expect(conn).toMatchObject({ tableId: TABLE.FORWARD, idleTimeout: 321, flags: OFPFF_SEND_FLOW_REM, cookie: makeCookie('connection', SERVICE_ID, 0xabcde) });
    expect(buildDeleteCtBackendFlow({ serviceId: SERVICE_ID, ip: BACKEND.ip })).toMatchObject({ command: OFPFC_DELETE_STRICT, instructions: [] });
    expect(() => buildCtConnectionFlow(connection({ idleTimeout: 0 }))).toThrow(FlowBuildError);
    expect(() => buildCtConnectionFlow(connection({ idleTimeout: 0x10000 }))).toThrow(FlowBuildError);
  });

  it('only TCP connection flows carry fin_timeout', () => {
    const actionTypes = (flow: FlowMod) => flow.instructions.flatMap((i) => (i.type === 'apply_actions' ? i.actions.map((a) => a.type) : []));
    expect(actionTypes(buildCtConnectionFlow(connection()))).toEqual(['nx_fin_timeout', 'set_field', 'output']);
    expect(actionTypes(buildCtConnectionFlow(connection({ finTimeout: 0 })))).toEqual(['set_field', 'output']);
    expect(actionTypes(buildCtConnectionFlow(connection({ protocol: 'udp', finTimeout: 9 })))).toEqual(['set_field', 'output']);
  });

  it('checkFlow rejects ct_nw_dst matched without ct_state +trk', () => {
    const flow = buildCtConnectionFlow(connection());
    const withoutCtState: FlowMod = { ...flow, match: flow.match.filter((m) => m.field !== 'ct_state') };
    expect(checkFlow(withoutCtState, VADC_PIPELINE)).toEqual(expect.arrayContaining([expect.stringContaining('ct_nw_dst needs ct_state with +trk')]));
    // ct_state present but -trk (or +trk not in the mask) is not tracked either.
    const untracked: FlowMod = {
      ...flow, match: flow.match.map((m) => (m.field === 'ct_state' ? { field: 'ct_state', value: 0, mask: CT_STATE.TRK | CT_STATE.INV } : m)),
    };
    expect(checkFlow(untracked, VADC_PIPELINE)).toEqual(expect.arrayContaining([expect.stringContaining('needs ct_state with +trk')]));
    const trkOutOfMask: FlowMod = {
      ...flow, match: flow.match.map((m) => (m.field === 'ct_state' ? { field: 'ct_state', value: CT_STATE.TRK, mask: CT_STATE.INV } : m)),
    };
    expect(checkFlow(trkOutOfMask, VADC_PIPELINE)).toEqual(expect.arrayContaining([expect.stringContaining('needs ct_state with +trk')]));
    // A bare ct_nw_dst match, nothing else.
    const bare: FlowMod = { ...flow, match: [{ field: 'ct_nw_dst', value: VIP.ip }] };
    expect(checkFlow(bare, VADC_PIPELINE)).toContain('match field ct_nw_dst needs ct_state with +trk');
  });
});

describe('conntrack messages round-trip through the codec', () => {
  const messages: Array<[string, () => OfpMessage[]]> = [
    ...BUILDS,
    ['commit packet-out', () => [buildCtCommitPacketOut(Buffer.alloc(74, 0x5a), CLIENT.ofport, COMMIT)]],
  ];

  it.each(messages)('%s: encode -> decode -> encode gives the same bytes', (_name, build) => {
    for (const msg of build()) {
      const bytes = encode(msg);
      const decoded = decode(bytes);
      expect(decoded.type).toBe(msg.type);
      expect(encode(decoded).toString('hex')).toBe(bytes.toString('hex'));
    }
  });

  it('the commit packet-out carries the frame, the input port and the commit with mark and DNAT', () => {
    const frame = Buffer.alloc(74, 0x5a);
    const decoded = decode(encode(buildCtCommitPacketOut(frame, CLIENT.ofport, COMMIT))) as PacketOut;
    expect(decoded.inPort).toBe(CLIENT.ofport);
    expect(Buffer.from(decoded.data).equals(frame)).toBe(true);
    expect(decoded.actions.map((a) => a.type)).toEqual(['nx_ct', 'set_field', 'set_field', 'set_field', 'output']);
    expect(decoded.actions[0]).toMatchObject({ type: 'nx_ct', flags: 1, zoneOfsNbits: ZONE });
    // The backend's address and port once more after the commit: the translation's view of the packet past the output.
    expect(decoded.actions.slice(2, 4)).toEqual([
      { type: 'set_field', field: { field: 'ipv4_dst', value: BACKEND.ip } }, { type: 'set_field', field: { field: 'tcp_dst', value: BACKEND.port } },
    ]);
  });

  it('a commit for a client port that does not fit ct_mark is refused', () => {
    expect(() => buildCtCommitPacketOut(Buffer.alloc(60), 0x10000, { ...COMMIT, clientOfport: 0x10000 })).toThrow(FlowBuildError);
  });
});

describe('ctConnectionFromFlow reads back what buildCtConnectionFlow wrote', () => {
  const cases: Array<[string, ConnectionSpec]> = [
    ['tcp with fin_timeout', connection()],
    ['udp without fin_timeout', connection({
      protocol: 'udp', connectionId: 0x0fffffff, finTimeout: undefined, idleTimeout: 65535,
      client: { ...CLIENT, ofport: 0xfffffeff, port: 1 }, vip: { ...VIP, port: 53 }, backend: { ...BACKEND, ofport: 1, port: 65535 },
    })],
  ];

  it.each(cases)('%s', (_name, spec) => {
    const back = ctConnectionFromFlow(asFlowStats(buildCtConnectionFlow(spec)));
    expect(back).not.toBeNull();
    if (!back) return;
    expect(back.serviceId).toBe(spec.serviceId);
    expect(back.connectionId).toBe(spec.connectionId);
    expect(back.protocol).toBe(spec.protocol);
    expect(back.idleTimeout).toBe(spec.idleTimeout);
    expect(back.client).toMatchObject({ ofport: spec.client.ofport, ip: spec.client.ip, port: spec.client.port });
    expect(back.vip).toMatchObject({ ip: spec.vip.ip, port: spec.vip.port });
    expect(back.backend).toEqual(spec.backend);
    expect(back.finTimeout).toBe(spec.finTimeout);
  });

  it('returns null for a flow without ct_nw_dst', () => {
    const stats = asFlowStats(buildCtConnectionFlow(connection()));
    expect(ctConnectionFromFlow({ ...stats, match: stats.match.filter((m) => m.field !== 'ct_nw_dst') })).toBeNull();
  });

  it('returns null for a flow whose cookie is not a connection cookie', () => {
    const stats = asFlowStats(buildCtConnectionFlow(connection()));
    expect(ctConnectionFromFlow({ ...stats, cookie: makeCookie('backend', SERVICE_ID) })).toBeNull();
    expect(ctConnectionFromFlow({ ...stats, cookie: makeCookie('service', SERVICE_ID) })).toBeNull();
    expect(ctConnectionFromFlow({ ...stats, cookie: 0x1234n })).toBeNull();
    // The backend flow (backend cookie, no ct_nw_dst) is not a connection either.
    expect(ctConnectionFromFlow(asFlowStats(buildCtBackendFlow({ serviceId: SERVICE_ID, ip: BACKEND.ip, mac: BACKEND.mac, ofport: 3 })))).toBeNull();
  });
});

describe('connectionMark', () => {
  it('puts the service id in the high half and the client port in the low half, unsigned', () => {
    expect(connectionMark(5, 4)).toBe(0x50004);
    expect(connectionMark(SERVICE_ID, 0x4321)).toBe(0x12344321);
    expect(connectionMark(0xcc6b, 2)).toBe(3429564418);
    expect(connectionMark(0xffff, 0xffff)).toBe(0xffffffff);
    expect(connectionMark(0x8000, 1)).toBeGreaterThan(0);
  });

  it('refuses client ports that do not fit 16 bits', () => {
    expect(() => connectionMark(SERVICE_ID, 0)).toThrow(FlowBuildError);
    expect(() => connectionMark(SERVICE_ID, 0x10000)).toThrow(/does not fit ct_mark/);
  });
});

describe('Open vSwitch reads the conntrack messages as intended (ovs-ofctl ofp-parse)', () => {
  const OVS_OFCTL = '/usr/bin/ovs-ofctl';

  /** The binary, on PATH or at its Debian place; missing fails the test. */
  function ovsOfctl(): string {
    for (const candidate of ['ovs-ofctl', OVS_OFCTL]) {
      try {
        execFileSync(candidate, ['--version'], { stdio: 'ignore' });
        return candidate;
      } catch {
        // try the next one
      }
    }
    throw new Error(`ovs-ofctl not found (on PATH or at ${OVS_OFCTL}${existsSync(OVS_OFCTL) ? ', present but not runnable' : ''}): `
      + 'the Open vSwitch decoder oracle needs it; run `npm run setup`');
  }

  it('prints each message as the expected flow', () => {
    const messages: OfpMessage[] = [
      ...buildCtServiceFlows({ serviceId: 5, vip: '10.0.0.100', protocol: 'tcp', port: 80 }, 2780),
      ...buildCtReplyFlows({ serviceId: 5, protocol: 'udp', zone: 2780, vipMac: '02:00:0a:00:00:64', backends: [{ ip: '10.0.0.11', port: 8080 }] }),
      buildCtBackendFlow({ serviceId: 5, ip: '10.0.0.11', mac: '02:0a:00:00:00:0b', ofport: 3 }),
      buildDeleteCtBackendFlow({ serviceId: 5, ip: '10.0.0.11' }),
      ...buildCtPipelineFlows(),
      buildCtCommitPacketOut(Buffer.alloc(60, 1), 4, {
        zone: 2780, serviceId: 5, protocol: 'tcp', clientOfport: 4, backendIp: '10.0.0.11', backendPort: 8080, backendMac: '02:0a:00:00:00:0b', backendOfport: 3,
      }),
      buildCtConnectionFlow({
        serviceId: 5, connectionId: 7, protocol: 'tcp', idleTimeout: 60, finTimeout: 1,
        client: { ofport: 4, mac: '02:00:00:00:00:01', ip: '10.0.0.101', port: 5555 },
        vip: { mac: '02:00:0a:00:00:64', ip: '10.0.0.100', port: 80 },
        backend: { ofport: 1, mac: '02:0a:00:00:00:0b', ip: '10.0.0.11', port: 8080 },
      }),
    ];
    // Produced by OVS 3.1 for exactly these inputs.
    const expected = [
      'ADD priority=132,tcp,nw_dst=10.0.0.100,tp_dst=80 cookie:0xadc0300050000000 actions=ct(table=1,zone=2780,nat)',
      'ADD priority=20,udp,nw_src=10.0.0.11,tp_src=8080 cookie:0xadc0300050000000 actions=ct(table=3,zone=2780,nat)',
      'ADD table:3 priority=100,ct_state=+rpl+trk,ct_mark=0x50000/0xffff0000,ip cookie:0xadc0300050000000 actions=set_field:02:00:0a:00:00:64->eth_src,output:NXM_NX_CT_MARK[0..15]',
      'ADD table:1 priority=500,ct_state=-rpl+trk+dnat,ct_mark=0x50000/0xffff0000,ip,nw_dst=10.0.0.11 cookie:0xadc0500050000000 actions=set_field:02:0a:00:00:00:0b->eth_dst,output:3',
      'DEL_STRICT table:1 priority=500,ct_state=-rpl+trk+dnat,ct_mark=0x50000/0xffff0000,ip,nw_dst=10.0.0.11 cookie:0xadc0500000000000/0xfffff00000000000',
      'ADD table:3 priority=0 cookie:0xadc0100000000000 actions=NORMAL',
      'in_port=4 actions=ct(commit,zone=2780,exec(set_field:0x50004->ct_mark,nat(dst=10.0.0.11:8080))),set_field:02:0a:00:00:00:0b->eth_dst,'
        + 'set_field:10.0.0.11->ip_dst,set_field:8080->tcp_dst,output:3 data_len=60',
      'ADD table:1 priority=1000,ct_state=-inv+trk,ct_nw_dst=10.0.0.100,ct_nw_proto=6,ct_tp_dst=80,tcp,in_port=4,nw_src=10.0.0.101,nw_dst=10.0.0.11,'
        + 'tp_src=5555,tp_dst=8080 cookie:0xadc0400050000007 idle:60 send_flow_rem actions=fin_timeout(idle_timeout=1),set_field:02:0a:00:00:00:0b->eth_dst,output:1',
    ];
    expect(messages).toHaveLength(expected.length);

    const ofctl = ovsOfctl();
    const dir = mkdtempSync(join(tmpdir(), 'vadc-ct-ofp-parse-'));
    let output: string;
    try {
      const file = join(dir, 'messages.bin');
      writeFileSync(file, Buffer.concat(messages.map((m) => encode(m))));
      output = execFileSync(ofctl, ['ofp-parse', file], { encoding: 'utf8' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    expect(output).not.toMatch(/decode error/i);
    const lines = output.split('\n');
    // Other lines (hex dumps, the packet-out's frame summary) may follow a message's own line.
    const messageLines = lines.filter((l) => l.startsWith('OFPT_'));
    expect(messageLines).toHaveLength(messages.length);
    for (const line of lines) expect(line).not.toContain('decode error');
    messageLines.forEach((line, i) => {
      const prefix = messages[i].type === 'packet_out' ? 'OFPT_PACKET_OUT (OF1.3) (xid=0x0): ' : 'OFPT_FLOW_MOD (OF1.3) (xid=0x0): ';
      expect(line.startsWith(prefix)).toBe(true);
      expect(line).toContain(expected[i]);
    });
  });
});
