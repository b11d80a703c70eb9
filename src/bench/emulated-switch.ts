// One emulated OpenFlow 1.3 switch: a TCP connection to the controller under test. It answers the
// controller (switch-replies.ts), then sends packet-ins for distinct client 5-tuples, keeping up to
// `window` in flight, and hands completed responses to the run via onResponse. Where the controller
// installed connection-end copy flows (end-copies.ts), each answered connection then ends: the switch sends
// the copies of its FINs, through the controller's meter, ahead of its next packet-ins.
import net from 'node:net';
import { OFP_NO_BUFFER, OFP_VERSION, OFPR_NO_MATCH, OFPT, decode, encode } from '../openflow';
import type { FlowMod, OfpMessage, OfpPort } from '../openflow';
import { makeCookie } from '../flows/cookies';
import { TABLE } from '../flows/pipeline';
import { ResponseCorrelator } from './correlator';
import { END_FLAGS, EndCopyLearner, EndCopyTemplate } from './end-copies';
import { ControllerProtocolError } from './errors';
import { BenchFamily, BenchProtocol, buildFrameTemplate, clientAddress, writeClient } from './frames';
import { answerControllerMessage, buildPorts, EmulatedSwitchState } from './switch-replies';
import { emptyTuple, readFlowModTuple, readPacketOutTuple } from './wire';

export interface EmulatedSwitchOptions {
  index: number;
  switches: number;
  dpid: bigint;
  host: string;
  port: number;
  portNames: readonly string[];
  /** Name of the port the clients' packets come in on (one of portNames). */
  clientPortName: string;
  /** The backends' vNICs and addresses (a backend's FIN copy comes in on its vNIC); none: the client port. */
  backends?: ReadonlyArray<{ portName: string; ip: string }>;
  protocol: BenchProtocol;
  family: BenchFamily;
  vip: string;
  vipMac: string;
  servicePort: number;
  /** Distinct client addresses per switch. */
  clients: number;
  /** The first client's number (IPv4: its address; IPv6: its address's last 32 bits); default frames' CLIENT_BASE_IP. */
  clientBase?: number;
  /** Packet-ins kept in flight (1 = latency mode). */
  window: number;
  expectedFlowMods: number;
  /** Fixed-count loops: it sends only the packet-ins allow() lets it (none before the first call). */
  counted?: boolean;
  /** Called with the response latency in ns for each completed packet-in. */
  onResponse: (latencyNs: number) => void;
}

export interface SwitchCounters {
  packetInsSent: number;
  flowModsReceived: number;
  packetOutsReceived: number;
  errorsReceived: number;
  otherMessages: number;
  /** Connection-end copies sent (FINs the controller's end-copy flows copy), and those its meter dropped. */
  endCopiesSent: number;
  endCopiesMetered: number;
  /** Connections all of whose end copies were sent (none metered): the ones the controller can see end. */
  endsSent: number;
}

const HEADER_LEN = 8;

function nowNs(): number {
  return Number(process.hrtime.bigint());
}

export class EmulatedSwitch {
  readonly correlator: ResponseCorrelator;
  readonly counters: SwitchCounters = {
    packetInsSent: 0, flowModsReceived: 0, packetOutsReceived: 0, errorsReceived: 0, otherMessages: 0, endCopiesSent: 0, endCopiesMetered: 0, endsSent: 0,
  };
  /** The last OFPT_ERROR text from the controller, for the report. */
  lastError?: string;
  /** Set when the connection failed; the run stops and reports it. */
  failure?: ControllerProtocolError;
  private readonly state: EmulatedSwitchState;
  private readonly template: Buffer;
  private readonly frameAt: number;
  private readonly tuple = emptyTuple();
  private socket?: net.Socket;
  private pending: Buffer = Buffer.alloc(0);
  private sequence = 0;
  private sending = false;
  /** Packet-ins it may still send (fixed-count loops: allow()); Infinity in wall-clock loops. */
  private budget: number;
  private ourXid = 1;
  private readyXid = -1;
  private readyResolve?: () => void;
  private failReject?: (err: Error) => void;
  private closedByUs = false;
  private readonly endCopies: EndCopyLearner;
  /** Client endpoints (endpointKey) of answered connections whose end copies are still to send. */
  private readonly ending: number[] = [];
  /** The client's FIN copy and each learned backend's, built once the copy flows are known. */
  private copyTemplates?: { client?: EndCopyTemplate; backends: EndCopyTemplate[] };

  constructor(private readonly opts: EmulatedSwitchOptions) {
    const ports: OfpPort[] = buildPorts(opts.index, opts.portNames);
    const clientPort = ports.find((p) => p.name === opts.clientPortName);
    if (!clientPort) throw new RangeError(`client port ${opts.clientPortName} is not among ${opts.portNames.join(', ')}`);
    this.state = { dpid: opts.dpid, ports, missSendLen: 0xffff, configFlags: 0 };
    this.budget = opts.counted ? 0 : Infinity;
    this.correlator = new ResponseCorrelator(opts.expectedFlowMods);
    this.endCopies = new EndCopyLearner(opts.vip);
    const frame = buildFrameTemplate(opts);
    this.template = encode({
      type: 'packet_in', xid: 0, bufferId: OFP_NO_BUFFER, totalLen: frame.length, reason: OFPR_NO_MATCH,
      tableId: TABLE.FORWARD, cookie: makeCookie('pipeline'), match: [{ field: 'in_port', value: clientPort.portNo }], data: frame,
    });
    this.frameAt = this.template.length - frame.length;
  }

  /** Connects and completes the handshake; resolves once the controller has answered our echo after it. */
  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.readyResolve = resolve;
      this.failReject = reject;
      const socket = net.connect({ host: this.opts.host, port: this.opts.port });
      this.socket = socket;
      socket.setNoDelay(true);
      socket.on('connect', () => this.write(encode({ type: 'hello', xid: this.nextXid(), elements: [{ type: 'versionbitmap', versions: [OFP_VERSION] }] })));
      socket.on('data', (chunk: Buffer) => this.onData(chunk));
      socket.on('error', (err) => this.fail(`connection error: ${err.message}`));
      socket.on('close', () => {
        if (!this.closedByUs) this.fail('the controller closed the connection');
      });
    });
  }

  /** Starts (or resumes) sending packet-ins. */
  start(): void {
    this.sending = true;
    this.pump();
  }

  /** Fixed-count loops (options.counted): `n` more packet-ins to send, sent at once if it is started. */
  allow(n: number): void {
    this.budget += n;
    this.pump();
  }

  /**
   * Resolves once the controller answered an echo sent now: it handles a switch's messages in order, so
   * everything sent before (end copies included) has been handled.
   */
  barrier(): Promise<void> {
    return new Promise((resolve) => {
      this.readyResolve = resolve;
      this.readyXid = this.nextXid();
      this.write(encode({ type: 'echo_request', xid: this.readyXid, data: Buffer.alloc(0) }));
    });
  }

  /** Stops sending new packet-ins (and end copies); answers keep being read. */
  pause(): void {
    this.sending = false;
  }

  close(): void {
    this.sending = false;
    this.closedByUs = true;
    this.socket?.destroy();
  }

  private nextXid(): number {
    const xid = this.ourXid;
    this.ourXid = (this.ourXid % 0x7fffffff) + 1;
    return xid;
  }

  private fail(problem: string): void {
    if (this.closedByUs) return;
    const err = new ControllerProtocolError(this.opts.dpid, problem);
    this.failure = err;
    this.closedByUs = true;
    this.socket?.destroy();
    this.failReject?.(err);
  }

  private write(bytes: Buffer): void {
    this.socket?.write(bytes);
  }

  /** Sends the pending end copies, then packet-ins until `window` are in flight, as one write. */
  private pump(): void {
    if (!this.sending || !this.socket) return;
    const room = Math.min(Math.max(0, this.opts.window - this.correlator.inFlight), this.budget);
    const ends = this.ending.length;
    if (room === 0 && ends === 0) return;
    const size = this.template.length;
    const copies = ends ? this.templates() : undefined;
    const perEnd = copies ? (copies.client?.length ?? 0) + (copies.backends[0]?.length ?? 0) : 0;
    const batch = Buffer.allocUnsafe(size * room + perEnd * ends);
    const sentAt = nowNs();
    let at = 0;
    if (copies) at = this.writeEndCopies(batch, copies, sentAt);
    for (let i = 0; i < room; i++) {
      this.template.copy(batch, at);
      batch.writeUInt32BE(this.nextXid(), at + 4);
      const n = this.sequence++;
      const client = clientAddress(this.opts.index, this.opts.switches, this.opts.clients, n, this.opts.clientBase);
      writeClient(batch, at + this.frameAt, this.opts.protocol, client, n, this.opts.family);
      this.correlator.track(client.ip, client.port, sentAt);
      at += size;
    }
    this.counters.packetInsSent += room;
    this.budget -= room;
    if (at > 0) this.write(at === batch.length ? batch : batch.subarray(0, at));
  }

  /**
   * The FIN copies of each connection in `ending`: the client's, then a backend's (backends in turn: vadc keys a
   * backend's FIN by its destination, the client, and reads its source only on a RST), each only if the meter
   * lets it through. Returns the bytes written.
   */
  private writeEndCopies(batch: Buffer, copies: NonNullable<EmulatedSwitch['copyTemplates']>, nowAt: number): number {
    const meter = this.endCopies.meter();
    let at = 0;
    for (const key of this.ending) {
      const client = { ip: Math.floor(key / 65536), port: key % 65536 };
      const n = this.sequence++;
      const backend = copies.backends.length ? copies.backends[n % copies.backends.length] : undefined;
      let all = true;
      for (const copy of [copies.client, backend]) {
        if (!copy) continue;
        if (meter && !meter.pass(nowAt)) {
          this.counters.endCopiesMetered++;
          all = false;
          continue;
        }
        copy.write(batch, at, client, n);
        at += copy.length;
        this.counters.endCopiesSent++;
      }
      if (all) this.counters.endsSent++;
    }
    this.ending.length = 0;
    return at;
  }

  /** The copy templates, from the end-copy flows learned so far (built on first use: they come at switch-up). */
  private templates(): NonNullable<EmulatedSwitch['copyTemplates']> {
    if (this.copyTemplates) return this.copyTemplates;
    const learned = this.endCopies.copies!;
    const o = this.opts;
    const spec = { protocol: 'tcp' as const, family: o.family, vipMac: o.vipMac, vip: o.vip, servicePort: o.servicePort, tcpFlags: END_FLAGS };
    const portNo = (name: string | undefined) => this.state.ports.find((p) => p.name === name)?.portNo;
    const clientPort = portNo(o.clientPortName)!;
    this.copyTemplates = {
      client: learned.client ? new EndCopyTemplate(spec, learned.cookie, TABLE.CLASSIFY, clientPort) : undefined,
      // A backend address:port's copy flow names no service, and every switch gets every service's: this switch's own.
      backends: learned.backends.filter((b) => !o.backends || o.backends.some((p) => p.ip === b.ip)).map((b) => new EndCopyTemplate(
        { ...spec, from: b }, b.cookie, TABLE.CLASSIFY, portNo(o.backends?.find((p) => p.ip === b.ip)?.portName) ?? clientPort,
      )),
    };
    return this.copyTemplates;
  }

  private onData(chunk: Buffer): void {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let p = 0;
    const receivedAt = nowNs();
    while (buf.length - p >= HEADER_LEN) {
      const length = buf.readUInt16BE(p + 2);
      if (length < HEADER_LEN) {
        this.fail(`message with length ${length} shorter than the OpenFlow header`);
        return;
      }
      if (buf.length - p < length) break;
      this.onMessage(buf.subarray(p, p + length), receivedAt);
      if (this.closedByUs) return;
      p += length;
    }
    buf = buf.subarray(p);
    this.pending = buf.length ? Buffer.from(buf) : Buffer.alloc(0);
    this.pump();
  }

  private onMessage(bytes: Buffer, receivedAt: number): void {
    const type = bytes[1];
    if (type === OFPT.FLOW_MOD) {
      this.counters.flowModsReceived++;
      // Table 0 holds the end-copy flows (a connection's flows are in later tables): learn them.
      if (bytes[24] === TABLE.CLASSIFY && bytes.length >= 16 && EndCopyLearner.isCopyCookie(bytes.readBigUInt64BE(8))) this.learnCopyFlow(bytes);
      if (readFlowModTuple(bytes, this.tuple)) this.completed(this.correlator.onFlowMod(this.tuple, receivedAt));
      else this.correlator.counters.unmatched++;
      return;
    }
    if (type === OFPT.PACKET_OUT) {
      this.counters.packetOutsReceived++;
      if (readPacketOutTuple(bytes, this.tuple)) this.completed(this.correlator.onPacketOut(this.tuple, receivedAt));
      else this.correlator.counters.unmatched++;
      return;
    }
    let msg: OfpMessage;
    try {
      msg = decode(bytes);
    } catch (err) {
      this.fail(`undecodable message type ${type}: ${(err as Error).message}`);
      return;
    }
    this.onControlMessage(msg, bytes);
  }

  private learnCopyFlow(bytes: Buffer): void {
    try {
      this.endCopies.flowMod(decode(bytes) as FlowMod);
      this.copyTemplates = undefined;
    } catch (err) {
      this.fail(`undecodable end-copy flow-mod: ${(err as Error).message}`);
    }
  }

  private completed(latencyNs: number): void {
    if (latencyNs < 0) return;
    this.opts.onResponse(latencyNs);
    // The connection was set up; where the controller asked for copies of connection ends, it now ends.
    if (this.endCopies.copies && this.sending) this.ending.push(this.correlator.lastCompleted);
  }

  private onControlMessage(msg: OfpMessage, bytes: Buffer): void {
    if (msg.type === 'meter_mod') this.endCopies.meterMod(msg);
    if (msg.type === 'error') {
      this.counters.errorsReceived++;
      this.lastError = `type ${msg.errType} code ${msg.code ?? '-'} for xid ${msg.xid}`;
    } else if (msg.type === 'echo_reply' && msg.xid === this.readyXid) {
      this.readyXid = -1;
      this.readyResolve?.();
      this.readyResolve = undefined;
      return;
    } else if (msg.type !== 'echo_request') {
      this.counters.otherMessages++;
    }
    const action = answerControllerMessage(msg, this.state, bytes);
    if (action.kind === 'reply') this.write(Buffer.concat(action.messages.map(encode)));
    if (msg.type === 'multipart_request' && msg.body.mpType === 'port_desc' && this.readyXid === -1 && this.readyResolve) {
      // The controller handles a switch's messages in order: once it answers this echo, its
      // switch-up work (pipeline flows etc.) is behind us and packet-ins meet a ready app.
      this.readyXid = this.nextXid();
      this.write(encode({ type: 'echo_request', xid: this.readyXid, data: Buffer.alloc(0) }));
    }
  }
}
