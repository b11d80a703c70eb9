// One emulated OpenFlow 1.3 switch: a TCP connection to the controller under test. It answers the
// controller (switch-replies.ts), then sends packet-ins for distinct client 5-tuples, keeping up to
// `window` in flight, and hands completed responses to the run via onResponse.
import net from 'node:net';
import { OFP_NO_BUFFER, OFP_VERSION, OFPR_NO_MATCH, OFPT, decode, encode } from '../openflow';
import type { OfpMessage, OfpPort } from '../openflow';
import { makeCookie } from '../flows/cookies';
import { TABLE } from '../flows/pipeline';
import { ResponseCorrelator } from './correlator';
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
  protocol: BenchProtocol;
  family: BenchFamily;
  vip: string;
  vipMac: string;
  servicePort: number;
  /** Distinct client addresses per switch. */
  clients: number;
  /** Packet-ins kept in flight (1 = latency mode). */
  window: number;
  expectedFlowMods: number;
  /** Called with the response latency in ns for each completed packet-in. */
  onResponse: (latencyNs: number) => void;
}

export interface SwitchCounters {
  packetInsSent: number;
  flowModsReceived: number;
  packetOutsReceived: number;
  errorsReceived: number;
  otherMessages: number;
}

const HEADER_LEN = 8;

function nowNs(): number {
  return Number(process.hrtime.bigint());
}

export class EmulatedSwitch {
  readonly correlator: ResponseCorrelator;
  readonly counters: SwitchCounters = { packetInsSent: 0, flowModsReceived: 0, packetOutsReceived: 0, errorsReceived: 0, otherMessages: 0 };
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
  private ourXid = 1;
  private readyXid = -1;
  private readyResolve?: () => void;
  private failReject?: (err: Error) => void;
  private closedByUs = false;

  constructor(private readonly opts: EmulatedSwitchOptions) {
    const ports: OfpPort[] = buildPorts(opts.index, opts.portNames);
    const clientPort = ports.find((p) => p.name === opts.clientPortName);
    if (!clientPort) throw new RangeError(`client port ${opts.clientPortName} is not among ${opts.portNames.join(', ')}`);
    this.state = { dpid: opts.dpid, ports, missSendLen: 0xffff, configFlags: 0 };
    this.correlator = new ResponseCorrelator(opts.expectedFlowMods);
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

  /** Stops sending new packet-ins; answers keep being read. */
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

  /** Sends packet-ins until `window` are in flight, as one write. */
  private pump(): void {
    if (!this.sending || !this.socket) return;
    const room = this.opts.window - this.correlator.inFlight;
    if (room <= 0) return;
    const size = this.template.length;
    const batch = Buffer.allocUnsafe(size * room);
    const sentAt = nowNs();
    for (let i = 0; i < room; i++) {
      const at = i * size;
      this.template.copy(batch, at);
      batch.writeUInt32BE(this.nextXid(), at + 4);
      const n = this.sequence++;
      const client = clientAddress(this.opts.index, this.opts.switches, this.opts.clients, n);
      writeClient(batch, at + this.frameAt, this.opts.protocol, client, n, this.opts.family);
      this.correlator.track(client.ip, client.port, sentAt);
    }
    this.counters.packetInsSent += room;
    this.write(batch);
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

  private completed(latencyNs: number): void {
    if (latencyNs >= 0) this.opts.onResponse(latencyNs);
  }

  private onControlMessage(msg: OfpMessage, bytes: Buffer): void {
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
