// One harness for the app's behaviour tests in every NAT mode: a switch with VMs and a client, the app, and
// the fake flow table (with its small connection-tracker model) standing in for OVS. Packets go through the
// table; misses go to the app as packet-ins; its messages are installed and its packet-outs executed. Each
// test then asks: does this packet reach this backend (and the reply the client)?
import { LoadBalancerApp, type AccountingInput, type SwitchBatch, type VadcEvent } from '../../src/app';
import { parseConfig } from '../../src/config';
import type { OutboundMessage, SwitchInfo } from '../../src/controller/types';
import { checkFlow, checkGroup, endCopyService, parseCookie, parsePacket, vadcPipeline, vadcTables, type ConntrackEntry, type Pipeline, type VadcTables } from '../../src/flows';
import { foldIpv6, ipv4ToUint32, ipv6Pair, ipv6Words, parseIpv6 } from '../../src/net';
import { OFPP_LOCAL, OFPP_TABLE, OFPRR_IDLE_TIMEOUT } from '../../src/openflow/constants';
import type { FlowMod, FlowRemoved, FlowStats, OfpMessage, OfpPort, Oxm, PacketIn, PacketOut } from '../../src/openflow/types';
import { encode } from '../../src/openflow/codec';
import { FakeFlowTable, fieldsOfPacket, type FakeDatapathCache, type Outcome, type PacketFields } from './fake-flow-table';
import { ipv4Frame, ipv6Frame } from './frames';

export const CLIENT_MAC = '52:54:00:00:01:01';
/** The bridge's own (LOCAL) port: the host, where health checks come from. */
export const LOCAL_MAC = 'aa:00:00:00:00:fe';
export const VIP_MAC = '02:00:0a:00:00:64';
export const CLIENT_PORT = 10;
export const ZONE = 4321;
export const VMS = {
  'v-vm1': { ofport: 1, ip: '10.0.0.11', ip6: 'fd00::11', mac: '52:54:00:00:00:11' },
  'v-vm2': { ofport: 2, ip: '10.0.0.12', ip6: 'fd00::12', mac: '52:54:00:00:00:12' },
  'v-vm3': { ofport: 3, ip: '10.0.0.13', ip6: 'fd00::13', mac: '52:54:00:00:00:13' },
} as const;
/** The IPv6 services' VIP, its derived MAC, and the client's IPv6 address. */
export const VIP6 = 'fd00::100';
export const VIP6_MAC = '02:06:00:00:01:00';
export const CLIENT6 = 'fd00::101';
export type VmName = keyof typeof VMS;

/** The NAT modes (and conntrack's two accountings) every shared behaviour test runs in. */
export const NAT_MODES = [
  { name: 'flows', datapath: '' },
  { name: 'conntrack', datapath: `datapath: { nat: conntrack, ct_zone: ${ZONE}, accounting: conntrack }` },
  { name: 'conntrack with flow accounting', datapath: `datapath: { nat: conntrack, ct_zone: ${ZONE}, accounting: flows }` },
] as const;
export type NatModeCase = (typeof NAT_MODES)[number];

export function port(portNo: number, name: string, state = 0): OfpPort {
  return { portNo, name, hwAddr: `aa:00:00:00:00:${portNo.toString(16).padStart(2, '0')}`, config: 0, state, curr: 0, advertised: 0, supported: 0, peer: 0, currSpeed: 0, maxSpeed: 0 };
}

export function fakeSwitch(dpid = 0xabcn): SwitchInfo & { ports: Map<number, OfpPort> } {
  return {
    dpid, address: '127.0.0.1:1', connectedAt: 0,
    features: { type: 'features_reply', xid: 0, datapathId: dpid, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0, reserved: 0 },
    ports: new Map([...Object.entries(VMS).map(([name, vm]) => port(vm.ofport, name)), port(CLIENT_PORT, 'v-cl1'), { ...port(OFPP_LOCAL, 'br-lab'), hwAddr: LOCAL_MAC }]
      .map((p) => [p.portNo, p])),
    counters: { packetIns: 0, flowModsSent: 0, errorsReceived: 0, messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, withheld: 0 },
  };
}

/** A backend line for the services YAML. */
export function backendYaml(vm: VmName, ports: number[], extra = ''): string {
  return `      - { vnic: ${vm}, ip: ${VMS[vm].ip}, ports: [${ports.join(', ')}], mac: "${VMS[vm].mac}"${extra ? `, ${extra}` : ''} }`;
}

/** The same backend's line in an IPv6 service (its IPv6 address). */
export function backendYaml6(vm: VmName, ports: number[], extra = ''): string {
  return `      - { vnic: ${vm}, ip: "${VMS[vm].ip6}", ports: [${ports.join(', ')}], mac: "${VMS[vm].mac}"${extra ? `, ${extra}` : ''} }`;
}

/** web (rr, `decisions: datapath`): vm1 (two ports) is tier 0; vm2 and vm3 are tier 1, which serves only when tier 0 cannot. */
export function tieredDatapathServices(extra = '', vm1Ports = [8080, 8081]): string {
  return `
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    decisions: datapath
    scheduler: rr
    idle_timeout: 30
${extra}
    backends:
${backendYaml('v-vm1', vm1Ports)}
${backendYaml('v-vm2', [8080], 'tier: 1')}
${backendYaml('v-vm3', [8080], 'tier: 1')}
`;
}

/** web6 (TCP 80 on the three VMs) and dns6 (UDP 53 on vm1) on VIP fd00::100: defaultServices' IPv6 twin. */
export function ipv6Services(scheduler = 'rr', extra = ''): string {
  return `
services:
${webYaml('web6', `vip: "${VIP6}"`, scheduler, extra, backendYaml6)}
  - name: dns6
    vip: "${VIP6}"
    protocol: udp
    port: 53
    scheduler: sh
    backends:
${backendYaml6('v-vm1', [5353])}
`;
}

/**
 * An IPv6 prefix VIP (pfx6: fd00:9::/64, dh over the three VMs' port 8080) and a single-address VIP inside it (host6:
 * fd00:9::5, vm3's port 8081), both TCP 80.
 */
export function prefixAndHostServices6(): string {
  return `
services:
  - name: pfx6
    vip: "fd00:9::/64"
    port: 80
    scheduler: dh
    backends:
${backendYaml6('v-vm1', [8080])}
${backendYaml6('v-vm2', [8080])}
${backendYaml6('v-vm3', [8080])}
  - name: host6
    vip: "fd00:9::5"
    port: 80
    backends:
${backendYaml6('v-vm3', [8081])}
`;
}

/**
 * One dual-stack service: web on 10.0.0.100 and fd00::100 (TCP 80), the three VMs with both addresses; its MAC is the
 * IPv4 VIP's (VIP_MAC) for both.
 */
export function dualStackService(scheduler = 'rr', extra = ''): string {
  const both = (vm: VmName, ports: number[]) => backendYaml(vm, ports, `ip6: "${VMS[vm].ip6}"`);
  return `\nservices:\n${webYaml('web', `vip: 10.0.0.100\n    vip6: "${VIP6}"`, scheduler, extra, both)}\n`;
}

/** A TCP service on port 80 over the three VMs (two software ports on vm1), each VM's line as `line` writes it. */
function webYaml(name: string, vips: string, scheduler: string, extra: string, line: (vm: VmName, ports: number[]) => string): string {
  return `  - name: ${name}
    ${vips}
    port: 80
    scheduler: ${scheduler}
    idle_timeout: 30
${extra}
    backends:
${line('v-vm1', [8080, 8081])}
${line('v-vm2', [8080])}
${line('v-vm3', [8080])}`;
}

/** web alone (TCP 80, rr, VIP 10.0.0.100) over the given VMs, each serving port 8080; `extra`: more lines of its own. */
export function webOver(vms: readonly VmName[], extra = ''): string {
  return `
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    scheduler: rr
    idle_timeout: 30
${extra}    backends:
${vms.map((vm) => backendYaml(vm, [8080])).join('\n')}
`;
}

/** web (TCP 80, three VMs, two ports on vm1) and dns (UDP 53 on vm1) on VIP 10.0.0.100. */
export function defaultServices(scheduler = 'rr', extra = ''): string {
  return `
services:
${webYaml('web', 'vip: 10.0.0.100', scheduler, extra, backendYaml)}
  - name: dns
    vip: 10.0.0.100
    protocol: udp
    port: 53
    scheduler: sh
    backends:
${backendYaml('v-vm1', [5353])}
`;
}

export function fieldsOf(frame: Buffer): PacketFields {
  const r = parsePacket(frame);
  if (!r.ok) throw new Error(r.reason);
  return fieldsOfPacket(r.packet);
}

export function fromClient(clientPort: number, opts: { flags?: number; proto?: 'tcp' | 'udp'; dstPort?: number; clientIp?: string } = {}): Buffer {
  return ipv4Frame({
    srcMac: CLIENT_MAC, dstMac: VIP_MAC, srcIp: opts.clientIp ?? '10.0.0.101', dstIp: '10.0.0.100', proto: opts.proto ?? 'tcp', srcPort: clientPort,
    dstPort: opts.dstPort ?? (opts.proto === 'udp' ? 53 : 80), ...(opts.flags !== undefined ? { tcpFlags: opts.flags } : {}),
  });
}

/** fromClient's IPv6 twin: client fd00::101 to the VIP fd00::100. */
export function fromClient6(clientPort: number, opts: { flags?: number; proto?: 'tcp' | 'udp'; dstPort?: number; clientIp?: string } = {}): Buffer {
  return ipv6Frame({
    srcMac: CLIENT_MAC, dstMac: VIP6_MAC, srcIp: opts.clientIp ?? CLIENT6, dstIp: VIP6, proto: opts.proto ?? 'tcp', srcPort: clientPort,
    dstPort: opts.dstPort ?? (opts.proto === 'udp' ? 53 : 80), ...(opts.flags !== undefined ? { tcpFlags: opts.flags } : {}),
  });
}

/** fromBackend's IPv6 twin: the VM answers from its IPv6 address. */
export function fromBackend6(vm: VmName, clientPort: number, opts: { proto?: 'tcp' | 'udp'; backendPort?: number; flags?: number; seq?: number; clientIp?: string } = {}): Buffer {
  return ipv6Frame({
    srcMac: VMS[vm].mac, dstMac: CLIENT_MAC, srcIp: VMS[vm].ip6, dstIp: opts.clientIp ?? CLIENT6, proto: opts.proto ?? 'tcp',
    srcPort: opts.backendPort ?? 8080, dstPort: clientPort, tcpFlags: opts.flags ?? 0x12, ...(opts.seq !== undefined ? { tcpSeq: opts.seq } : {}),
  });
}

/** The backend's answer, as the VM sends it: from its own address and software port, to the client's MAC. */
export function fromBackend(
  vm: VmName, clientPort: number, opts: { proto?: 'tcp' | 'udp'; backendPort?: number; flags?: number; seq?: number; dstMac?: string; dstIp?: string } = {},
): Buffer {
  return ipv4Frame({
    srcMac: VMS[vm].mac, dstMac: opts.dstMac ?? CLIENT_MAC, srcIp: VMS[vm].ip, dstIp: opts.dstIp ?? '10.0.0.101', proto: opts.proto ?? 'tcp',
    srcPort: opts.backendPort ?? 8080, dstPort: clientPort, tcpFlags: opts.flags ?? 0x12, ...(opts.seq !== undefined ? { tcpSeq: opts.seq } : {}),
  });
}

export function delivered(outcomes: Outcome[]): { port: number; fields: PacketFields } {
  const out = outcomes.filter((o) => o.kind === 'output');
  if (out.length !== 1) throw new Error(`expected exactly one output, got ${JSON.stringify(outcomes, (_k, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v))}`);
  return out[0] as { port: number; fields: PacketFields };
}

/** Opens a TCP connection through the switch from `clientPort` (SYN, the backend's SYN-ACK, ACK): the VM it went to. */
export function openTcp(h: AppHarness, clientPort: number): VmName {
  const port = delivered(h.send(fromClient(clientPort)).outcomes).port;
  const vm = (Object.keys(VMS) as VmName[]).find((name) => VMS[name].ofport === port)!;
  h.send(fromBackend(vm, clientPort, { flags: 0x12 }), VMS[vm].ofport);
  h.send(fromClient(clientPort, { flags: 0x10 }));
  return vm;
}

/** The packet-in the switch sends for `frame` at a controller outcome: in_port, and the metadata when not 0 (as OVS reports it). */
function packetInOf(frame: Buffer, inPort: number, o: Outcome & { kind: 'controller' }): PacketIn {
  const match: Oxm[] = [{ field: 'in_port', value: inPort }];
  if (o.fields.metadata) match.push({ field: 'metadata', value: BigInt(o.fields.metadata) });
  return { type: 'packet_in', xid: 0, bufferId: 0xffffffff, totalLen: frame.length, reason: 0, tableId: o.tableId, cookie: o.cookie, match, data: frame };
}

const isEndCopy = (o: Outcome) => o.kind === 'controller' && endCopyService(o.cookie) !== 0;

const isResubmit = (po: PacketOut) => po.actions.length === 1 && po.actions[0].type === 'output' && po.actions[0].port === OFPP_TABLE;

export class AppHarness {
  readonly table = new FakeFlowTable();
  readonly sw = fakeSwitch();
  readonly app: LoadBalancerApp;
  readonly events: VadcEvent[] = [];
  readonly sent: OfpMessage[] = [];
  packetIns = 0;
  /** Connection-end copies the switch sent (not counted in packetIns). */
  endCopies = 0;
  /** Flow-mods each packet-in's answer carried. */
  flowModsPerPacketIn: number[] = [];
  /** ms */
  now = 1000;
  /**
   * When set, frames the harness sends meet this model of the datapath's flow cache first (stale entries until its
   * `revalidate()`); packet-outs are translated by the tables, as OVS translates them.
   */
  datapath?: FakeDatapathCache;
  /**
   * Who answers the switch's packet-ins (default: this.app). Controller HA tests put a dead master (nothing) or a
   * promoted standby here; `standbyCopy` sees every packet-in too, as a standby asking for packet-ins does.
   */
  answer: (packetIn: PacketIn) => OfpMessage[] = (packetIn) => this.app.packetIn(this.sw, packetIn, this.now);
  standbyCopy?: (packetIn: PacketIn) => void;
  /**
   * When set, a packet an answer's packet-out sent through the tables that comes back to the controller is sent up
   * again, as the switch does, at most this many more times per frame (each counted in packetIns). Unset: the
   * outcome is returned as it is.
   */
  followPacketIns?: number;

  /** vadc's tables and pipeline in this harness (datapath.first_table). */
  readonly tables: VadcTables;
  readonly pipeline: Pipeline;

  /**
   * `opts.uplink`: a cluster host's port toward the other hosts (remote backends), added to the switch.
   * `opts.firstTable`: vadc's tables start there (datapath.first_table); table 0 then belongs to "another
   * controller", whose one flow sends everything to vadc's first table unless `foreignTableZero` says otherwise.
   * `opts.checkSources`: where the health checks may come from (app.setCheckSources, as the daemon's health bridge sets it).
   */
  constructor(
    readonly mode: NatModeCase, services = defaultServices(),
    opts: {
      uplink?: { ofport: number; name: string }; firstTable?: number; foreignTableZero?: FlowMod[]; leftBy?: NatModeCase; leftServices?: string; checkSources?: string[];
    } = {},
  ) {
    const config = AppHarness.config(mode, services, opts.firstTable);
    this.tables = vadcTables(config.datapath.first_table);
    this.pipeline = vadcPipeline(config.datapath.first_table);
    if (opts.uplink) this.sw.ports.set(opts.uplink.ofport, port(opts.uplink.ofport, opts.uplink.name));
    if (this.tables.CLASSIFY > 0) for (const f of opts.foreignTableZero ?? [gotoFirstTable(this.tables.CLASSIFY)]) this.table.apply(f, 0);
    this.app = new LoadBalancerApp(config.services, {
      datapath: config.datapath, emit: (e) => this.events.push(e), uplink: opts.uplink?.name, ...(config.egress ? { egress: config.egress } : {}),
    });
    if (opts.checkSources) this.app.setCheckSources(opts.checkSources);
    // `opts.leftBy`: the bridge still holds what a vadc of another NAT mode installed (a restart with another mode);
    // `opts.leftServices`: that vadc's services, when they were not these (a restart with another configuration).
    if (opts.leftBy) {
      const before = AppHarness.config(opts.leftBy, opts.leftServices ?? services, opts.firstTable);
      const previous = new LoadBalancerApp(before.services, { datapath: before.datapath, emit: () => undefined, uplink: opts.uplink?.name });
      this.install(previous.switchUp(this.sw, this.now));
    }
    this.install(this.app.switchUp(this.sw, this.now));
  }

  /** The config the harness runs, for a second app (a restart) or a reconfiguration. */
  static config(mode: NatModeCase, services = defaultServices(), firstTable?: number) {
    const datapath = firstTable === undefined ? mode.datapath
      : mode.datapath ? mode.datapath.replace('datapath: {', `datapath: { first_table: ${firstTable},`) : `datapath: { first_table: ${firstTable} }`;
    return parseConfig(`${datapath}\n${services}`, 'harness.yaml');
  }

  /** Installs what the app returned (per-switch batches or one switch's messages); every flow is checked against the pipeline. */
  install(out: SwitchBatch[] | OutboundMessage[]): void {
    const msgs = out.flatMap((m) => ('dpid' in m ? m.msgs : [m]));
    for (const m of msgs) {
      if (m.type === 'pre_encoded') throw new Error('the harness takes codec messages (packetIn, not packetInEncoded)');
      this.sent.push(m);
      if (m.type === 'group_mod') {
        expect(checkGroup(m, this.pipeline)).toEqual([]);
        this.table.applyGroup(m);
      }
      if (m.type !== 'flow_mod') continue;
      expect(checkFlow(m, this.pipeline)).toEqual([]);
      this.table.apply(m, this.now / 1000);
    }
  }

  /** The end copies the switch sends are lost on their way (the meter, ovs-vswitchd's packet-in queue). */
  dropEndCopies = false;

  /** A frame enters the switch on `inPort`: packet-ins go to the app, its packet-outs are executed. */
  send(frame: Buffer, inPort = CLIENT_PORT): { outcomes: Outcome[]; replies: PacketOut[] } {
    const fields = fieldsOf(frame);
    const all = this.datapath ? this.datapath.process(fields, inPort, this.now / 1000) : this.table.process(fields, inPort, this.now / 1000);
    // A connection-end copy goes to the app while the switch forwards the segment itself (unless lost: dropEndCopies).
    for (const copy of this.dropEndCopies ? [] : all.filter(isEndCopy)) {
      this.endCopies++;
      this.install(this.app.packetIn(this.sw, packetInOf(frame, inPort, copy as Outcome & { kind: 'controller' }), this.now));
    }
    const outcomes = all.filter((o) => !isEndCopy(o));
    const toController = outcomes.find((o) => o.kind === 'controller');
    if (!toController || toController.kind !== 'controller') return { outcomes, replies: [] };
    return this.answerPacketIn(frame, fields, inPort, packetInOf(frame, inPort, toController), this.followPacketIns ?? 0);
  }

  /** One packet-in answered (and, `more` times at most, the packet-ins its packet-outs bring back: followPacketIns). */
  private answerPacketIn(frame: Buffer, fields: PacketFields, inPort: number, packetIn: PacketIn, more: number): { outcomes: Outcome[]; replies: PacketOut[] } {
    this.packetIns++;
    this.standbyCopy?.(packetIn);
    const msgs = this.answer(packetIn);
    this.flowModsPerPacketIn.push(msgs.filter((m) => m.type === 'flow_mod').length);
    this.install(msgs);
    const result = this.execute(fields, inPort, msgs);
    const back = result.outcomes.find((o): o is Outcome & { kind: 'controller' } => o.kind === 'controller' && !isEndCopy(o));
    if (more <= 0 || !back) return result;
    const again = this.answerPacketIn(frame, fields, inPort, packetInOf(frame, inPort, back), more - 1);
    return { outcomes: [...result.outcomes.filter((o) => o !== back), ...again.outcomes], replies: [...result.replies, ...again.replies] };
  }

  /** A packet-in's answer `msgs` (installed already): its packet-outs executed; what reached a port, and the replies. */
  execute(fields: PacketFields, inPort: number, msgs: OfpMessage[]): { outcomes: Outcome[]; replies: PacketOut[] } {
    const replies: PacketOut[] = [];
    const after: Outcome[] = [];
    for (const po of msgs) {
      if (po.type !== 'packet_out') continue;
      if (isResubmit(po)) after.push(...this.table.process(fields, po.inPort, this.now / 1000));
      else if (po.inPort === inPort) after.push(...this.table.executePacketOut(fields, po.inPort, po.actions));
      else replies.push(po);
    }
    return { outcomes: after, replies };
  }

  /** What the tracker holds, as ovs-appctl dpctl/dump-conntrack would list it. */
  trackerListing(state = 'ESTABLISHED'): ConntrackEntry[] {
    return this.table.connections.map((c) => ({
      proto: c.proto === 6 ? 'tcp' : 'udp',
      orig: tuple(c.orig.src, c.orig.dst, c.orig.sport, c.orig.dport),
      reply: tuple(c.natDst!.ip, c.orig.src, c.natDst!.port, c.orig.sport),
      zone: c.zone, mark: c.mark, ...(c.proto === 6 ? { state } : {}),
    }));
  }

  /** The connection flows the switch holds, as a flow-stats reply would list them. */
  connectionFlowStats(packets = 5n): FlowStats[] {
    return this.table.flows().filter((f) => parseCookie(f.cookie)?.kind === 'connection').map((f) => ({
      tableId: f.tableId, durationSec: 1, durationNsec: 0, priority: f.priority, idleTimeout: f.idleTimeout, hardTimeout: 0, flags: f.flags,
      cookie: f.cookie, packetCount: packets, byteCount: packets * 60n, match: f.match, instructions: f.instructions,
    }));
  }

  /** What the daemon would read for the app's accounting right now. */
  accountingReading(): AccountingInput {
    return this.app.accountingSource === 'tracker'
      ? { source: 'tracker', entries: this.trackerListing() }
      : { source: 'flow_stats', entries: this.connectionFlowStats() };
  }

  /**
   * Every connection ends, as the datapath reports it in this mode: connection flows idle out (flow_removed)
   * or the tracker stops listing them.
   */
  endAllConnections(): void {
    this.now += 3_600_000;
    if (this.app.accountingSource === 'tracker') {
      this.table.connections.splice(0);
      this.install(this.app.applyAccounting({ source: 'tracker', entries: [] }, this.now));
      return;
    }
    for (const removed of this.table.expire(this.now / 1000)) {
      if (!removed.notify) continue;
      this.install(this.app.flowRemoved(this.sw, flowRemovedOf(removed.flow, removed.reason), this.now));
    }
  }

  /** Marks a switch port's link up or down in place and tells the app, as a port_status would. */
  setLink(ofport: number, up: boolean): void {
    const desc = { ...this.sw.ports.get(ofport)!, state: up ? 0 : 1 };
    this.sw.ports.set(ofport, desc);
    this.install(this.app.portStatus(this.sw, { type: 'port_status', xid: 0, reason: 2, desc }, this.now));
  }

  /** Forward-table flows to the controller-chosen backends (flows mode's per-connection, conntrack's per-backend). */
  forwardFlows(priority: number): FlowMod[] {
    return this.table.flows(this.tables.FORWARD).filter((f) => f.priority === priority);
  }
}

/** A tracker tuple as the listing's parser makes it: IPv4 as numbers, IPv6 as words and folds. */
function tuple(src: string, dst: string, sport: number, dport: number): ConntrackEntry['orig'] {
  if (!src.includes(':')) return { src: ipv4ToUint32(src), dst: ipv4ToUint32(dst), sport, dport };
  const words = new Uint32Array(8);
  ipv6Words(parseIpv6(src), 0, words, 0);
  ipv6Words(parseIpv6(dst), 0, words, 4);
  return { src: foldIpv6(words, 0), dst: foldIpv6(words, 4), sport, dport, ip6: ipv6Pair(words) };
}

/** Another controller's table-0 flow that sends every packet on to vadc's first table. */
/**
 * The two answers of one app: `objects` answers each frame with packetIn (codec messages, built from the config
 * and locations as they are now), `wire` with packetInEncoded (the NAT mode's fast path, which keeps bytes it made);
 * each frame's answers must be the same bytes. Returns how many answers took the fast path, and packetIn's answers.
 */
export function expectSameAnswers(objects: AppHarness, wire: AppHarness, frames: readonly Buffer[]): { fastPath: number; answers: OfpMessage[] } {
  let fastPath = 0;
  const answers: OfpMessage[] = [];
  for (const [i, frame] of frames.entries()) {
    const expected = objects.app.packetIn(objects.sw, clientPacketIn(frame), objects.now);
    const got = wire.app.packetInEncoded(wire.sw, clientPacketIn(frame), wire.now);
    expect([i, answerBytes(got)]).toEqual([i, answerBytes(expected)]);
    fastPath += got.filter((m) => m.type === 'pre_encoded').length;
    answers.push(...expected);
  }
  return { fastPath, answers };
}

/** A frame from the client's port as the switch sends it up (table 1's miss). */
export function clientPacketIn(frame: Buffer): PacketIn {
  return {
    type: 'packet_in', xid: 0, bufferId: 0xffffffff, totalLen: frame.length, reason: 0, tableId: 1, cookie: 0n,
    match: [{ field: 'in_port', value: CLIENT_PORT }], data: frame,
  };
}

/** Every message's bytes with xid 0, as the wire would carry them before the session numbers them. */
function answerBytes(msgs: ReadonlyArray<OfpMessage | OutboundMessage>): string {
  return msgs.map((m) => (m.type === 'pre_encoded' ? m.bytes : encode(m)).toString('hex')).join('');
}

/** The output ports of codec messages' actions (flow-mods' apply-actions and packet-outs). */
export function outputPorts(msgs: ReadonlyArray<OfpMessage>): number[] {
  return msgs.flatMap((m) => (m.type === 'packet_out' ? m.actions : m.type === 'flow_mod' ? m.instructions.flatMap((i) => (i.type === 'apply_actions' ? i.actions : [])) : []))
    .flatMap((a) => (a.type === 'output' ? [a.port] : []));
}

/**
 * Both answers of one app (expectSameAnswers) stay the same bytes when what the fast path's kept bytes were made of
 * changes under them: v-vm1's vNIC moves to port 7, v-vm2 gets another address (`vm2`: old, new) and the UDP service
 * on port 53 becomes TCP. Each step's connections reach every backend port (rr).
 */
export function expectFastPathFollows(
  mode: NatModeCase, services: () => string, client: typeof fromClient, vm2: { vm2: [string, string] },
): void {
  const objects = new AppHarness(mode, services());
  const wire = new AppHarness(mode, services());
  let clientPort = 31000;
  const connections = (extra: Buffer[]) => [...Array.from({ length: 8 }, () => client(clientPort++)), ...extra];
  expect(expectSameAnswers(objects, wire, connections([client(clientPort++, { proto: 'udp', dstPort: 53 })])).fastPath).toBe(9);
  for (const h of [objects, wire]) {
    h.sw.ports.set(7, port(7, 'v-vm7'));
    h.install(h.app.setVnic('v-vm1', { name: 'v-vm7', up: true }, h.now));
  }
  const moved = expectSameAnswers(objects, wire, connections([]));
  expect(moved.fastPath).toBe(8);
  // The move happened: vm1's connections now leave by port 7 (the codec answers, made from the locations as they are).
  expect(outputPorts(moved.answers)).toContain(7);
  const changed = services().replace(vm2.vm2[0], vm2.vm2[1]).replace('protocol: udp', 'protocol: tcp');
  expect(changed).not.toBe(services());
  for (const h of [objects, wire]) h.install(h.app.setServices(AppHarness.config(mode, changed).services, h.now));
  expect(expectSameAnswers(objects, wire, connections([client(clientPort++, { dstPort: 53 })])).fastPath).toBe(9);
  expect(wire.app.connectionRecords()).toEqual(objects.app.connectionRecords());
}

export function gotoFirstTable(first: number, priority = 0): FlowMod {
  return {
    type: 'flow_mod', xid: 0, cookie: 0x1234n, cookieMask: 0n, tableId: 0, command: 0, idleTimeout: 0, hardTimeout: 0, priority,
    bufferId: 0xffffffff, outPort: 0xffffffff, outGroup: 0xffffffff, flags: 0, match: [], instructions: [{ type: 'goto_table', tableId: first }],
  };
}

export function flowRemovedOf(f: FlowMod, reason = OFPRR_IDLE_TIMEOUT, packets = 3n): FlowRemoved {
  return {
    type: 'flow_removed', xid: 0, cookie: f.cookie, priority: f.priority, reason, tableId: f.tableId,
    durationSec: 1, durationNsec: 0, idleTimeout: f.idleTimeout, hardTimeout: 0, packetCount: packets, byteCount: packets * 60n, match: f.match,
  };
}
