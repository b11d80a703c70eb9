import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
// Concrete modules, not the '../openflow' barrel: its re-export getters cost on the per-message path.
import { decode, encode } from '../openflow/codec';
import {
  OFPCML_NO_BUFFER, OFPMPF_REPLY_MORE, OFP_HEADER_LEN, OFP_MAX_MESSAGE_LEN, OFP_VERSION, OFPT,
} from '../openflow/constants';
import { OFPET } from '../openflow/error-codes';
import type { ErrorMsg, FeaturesReply, OfpMessage, OfpMessageType, OfpPort } from '../openflow/types';
import type { Logger } from '../util/logger';
import { silentLogger } from '../util/logger';
import {
  PreEncodedMessageError, ProtocolViolationError, ReplyTooLargeError, SessionClosedError, SwitchErrorReply, clipReason,
} from './errors';
import { formatDpid } from '../openflow/dpid';
import { FrameReader, FrameResult, RawFrame } from './frame-reader';
import { EarlyPacketIns } from './early-packet-ins';
import { negotiateVersion, parsePeerHello } from './hello';
import { PendingRequests } from './pending-requests';
import { assembleReply } from './replies';
import type { RoleMachine } from './role';
import type { OutboundMessage, PreEncodedMessages, ReplyTo, RequestMessage, RequestOptions, SwitchCounters, SwitchInfo } from './types';
import { WriteBatcher } from './write-batcher';

export interface SessionOptions {
  /** miss_send_len in set_config; default OFPCML_NO_BUFFER (whole packets, no switch buffering). */
  missSendLen: number;
  /** Send an echo_request after this long without traffic from the switch. */
  echoIntervalMs: number;
  /** Disconnect after this many echo intervals without any traffic from the switch. */
  deadAfterIntervals: number;
  /** Hello, features, set_config and port_desc must complete within this. */
  handshakeTimeoutMs: number;
  requestTimeoutMs: number;
  /** A switch that lets more than this pile up unread is disconnected. */
  maxQueuedBytes: number;
  /** Largest message accepted from a switch. */
  maxMessageLen: number;
  /** Largest multipart reply (all its REPLY_MORE parts) a request may collect; more ends the session. */
  maxReplyBytes: number;
  /** Largest total of unfinished multipart replies the session holds at once. */
  maxBufferedReplyBytes: number;
  logger: Logger;
  now: () => number;
  /**
   * Where the session's warnings about its peer go (a disconnect and why). The controller passes one that logs
   * each peer's trouble once per interval; default: the logger, every time.
   */
  report?: (message: string, context: Record<string, string>) => void;
}

export const DEFAULT_SESSION_OPTIONS: Omit<SessionOptions, 'logger' | 'now' | 'report'> = {
  missSendLen: OFPCML_NO_BUFFER,
  echoIntervalMs: 5000,
  deadAfterIntervals: 3,
  handshakeTimeoutMs: 10000,
  requestTimeoutMs: 10000,
  maxQueuedBytes: 8 * 1024 * 1024,
  maxMessageLen: OFP_MAX_MESSAGE_LEN,
  // ~400k flow entries: the connection flows of ~200k connections in flows mode (docs/operators/resource-caps.md).
  maxReplyBytes: 64 * 1024 * 1024,
  maxBufferedReplyBytes: 128 * 1024 * 1024,
};

export type SessionState = 'hello' | 'handshake' | 'up' | 'closed';

/** Message types a switch may send; anything else from a switch is answered with BAD_TYPE. */
const FROM_SWITCH: ReadonlySet<OfpMessageType> = new Set<OfpMessageType>([
  'hello', 'error', 'echo_request', 'echo_reply', 'experimenter', 'features_reply', 'get_config_reply',
  'packet_in', 'flow_removed', 'port_status', 'multipart_reply', 'barrier_reply', 'queue_get_config_reply',
  'role_reply', 'get_async_reply', 'onf_role_status',
]);

const MAX_OFPT = Math.max(...Object.values(OFPT));
/** The spec asks error replies to quote at least the first 64 bytes of the offending message. */
const ERROR_QUOTE_LEN = 64;
/** HELLO_FAILED carries an ASCII explanation; ours are short, and a peer's input never makes them long. */
const ERROR_TEXT_LEN = 256;
const BAD_REQUEST_CODE = {
  BAD_VERSION: 0, BAD_TYPE: 1, BAD_LEN: 6,
} as const;
const HELLO_FAILED_INCOMPATIBLE = 0;

export interface SwitchSessionEvents {
  up: [];
  message: [OfpMessage];
  backpressure: [boolean];
  close: [string];
}

/**
 * One switch connection: the OpenFlow 1.3 handshake, echo keepalive and dead-peer detection,
 * xid-matched requests (multipart reassembled), batched writes with backpressure, and hostile-peer
 * handling. The only code that reads or writes the switch's socket.
 */
export class SwitchSession extends EventEmitter<SwitchSessionEvents> implements SwitchInfo {
  readonly address: string;
  readonly connectedAt: number;
  readonly counters: SwitchCounters = {
    packetIns: 0, flowModsSent: 0, errorsReceived: 0, messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, withheld: 0,
  };
  private readonly portTable = new Map<number, OfpPort>();
  private readonly pending: PendingRequests<OfpMessage>;
  private readonly frames: FrameReader;
  private readonly writer: WriteBatcher;
  private readonly opts: SessionOptions;
  private stateValue: SessionState = 'hello';
  private featuresValue?: FeaturesReply;
  private lastHeardAt: number;
  /** When the liveness check last ran (a late one means this process was paused). */
  private lastCheckAt: number;
  private echoTimer?: NodeJS.Timeout;
  private handshakeTimer?: NodeJS.Timeout;
  private closeReason?: string;
  private destroyTimer?: NodeJS.Timeout;
  /** The protocol violation that ended the session, if one did. */
  violation?: ProtocolViolationError;
  /** Packet-ins that came during the handshake, handed over right after `up` (./early-packet-ins.ts). */
  private early?: EarlyPacketIns;
  /** With controller roles: this connection's role (set by the controller when the session is up). */
  role?: RoleMachine;
  /** Which messages may leave now; the rest of what send() gets is withheld (counted). Default: everything. */
  private gate?: (type: OutboundMessage['type']) => boolean;

  constructor(
    private readonly socket: Socket,
    options: Partial<SessionOptions> = {},
  ) {
    super();
    this.opts = { ...DEFAULT_SESSION_OPTIONS, logger: silentLogger(), now: Date.now, ...options };
    this.pending = new PendingRequests<OfpMessage>(1, { maxReplyBytes: this.opts.maxReplyBytes, maxBufferedBytes: this.opts.maxBufferedReplyBytes });
    this.address = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.connectedAt = this.opts.now();
    this.lastHeardAt = this.connectedAt;
    this.lastCheckAt = this.connectedAt;
    this.frames = new FrameReader(this.opts.maxMessageLen);
    this.writer = new WriteBatcher(socket, {
      maxQueuedBytes: this.opts.maxQueuedBytes,
      onOverflow: (queued) =>
        this.abort(`switch cannot keep up: ${queued} bytes queued, limit ${this.opts.maxQueuedBytes}`),
      onBackpressure: (blocked) => this.onBackpressure(blocked),
    });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.close(`socket error: ${err.message}`));
    socket.on('close', () => {
      clearTimeout(this.destroyTimer);
      this.close('connection closed by peer');
    });
    socket.on('end', () => this.close('connection closed by peer'));
    this.handshakeTimer = setTimeout(
      () => this.abort(`handshake did not complete within ${this.opts.handshakeTimeoutMs} ms`),
      this.opts.handshakeTimeoutMs,
    );
    this.echoTimer = setInterval(() => this.checkLiveness(), this.opts.echoIntervalMs);
    this.enqueue({ type: 'hello', xid: this.pending.allocateXid(), elements: [{ type: 'versionbitmap', versions: [OFP_VERSION] }] });
  }

  get state(): SessionState {
    return this.stateValue;
  }

  /** The datapath id; valid once the features reply has arrived. */
  get dpid(): bigint {
    if (!this.featuresValue) throw new Error(`switch at ${this.address} has not told its datapath id yet`);
    return this.featuresValue.datapathId;
  }

  get features(): FeaturesReply {
    if (!this.featuresValue) throw new Error(`switch at ${this.address} has not sent its features yet`);
    return this.featuresValue;
  }

  get ports(): ReadonlyMap<number, OfpPort> {
    return this.portTable;
  }

  /** The switch's socket is refusing data; producers should hold off until 'backpressure' false. */
  get isBackpressured(): boolean {
    return this.writer.isBlocked;
  }

  /**
   * Lets only the messages `gate` passes leave through send() (a connection that is not master may not write);
   * the session's own handshake, echo and requests are not gated.
   */
  setWriteGate(gate: (type: OutboundMessage['type']) => boolean): void {
    this.gate = gate;
  }

  /** Queues messages for the switch, in order; ones with xid 0 get a fresh xid (so errors can be matched). */
  send(msgs: readonly OutboundMessage[]): void {
    if (this.stateValue === 'closed') throw new SessionClosedError(this.knownDpid, this.closeReason ?? 'closed');
    for (const msg of msgs) {
      if (this.gate && !this.gate(msg.type)) {
        this.counters.withheld += msg.type === 'pre_encoded' ? msg.messages : 1;
        continue;
      }
      if (msg.type === 'pre_encoded') this.enqueuePreEncoded(msg);
      else this.enqueue(msg.xid === 0 ? { ...msg, xid: this.pending.allocateXid() } : msg);
    }
  }

  /** Sends a request and resolves with its reply; multipart replies are reassembled into one. */
  request<T extends RequestMessage>(msg: T, opts: RequestOptions = {}): Promise<ReplyTo<T>> {
    if (this.stateValue === 'closed') {
      return Promise.reject(new SessionClosedError(this.knownDpid, this.closeReason ?? 'closed'));
    }
    const xid = msg.xid === 0 ? this.pending.allocateXid() : msg.xid;
    const requestType = msg.type === 'multipart_request' ? `multipart_request/${msg.body.mpType}` : msg.type;
    const parts = this.pending.expect(xid, {
      requestType,
      timeoutMs: opts.timeoutMs ?? this.opts.requestTimeoutMs,
      signal: opts.signal,
    });
    this.enqueue({ ...msg, xid });
    return parts.then((replies) => assembleReply(this.address, msg, replies) as ReplyTo<T>);
  }

  /** Resolves once the switch has processed everything sent before it. */
  async barrier(opts: RequestOptions = {}): Promise<void> {
    await this.request({ type: 'barrier_request', xid: 0 }, opts);
  }

  /** Ends the session: outstanding requests fail, the socket is ended after what is queued is flushed. */
  close(reason: string): void {
    if (this.stateValue === 'closed') return;
    this.finish(reason);
    this.writer.flush();
    this.writer.close();
    this.socket.end();
    // A peer that never reads would keep the socket half-open; do not wait for it.
    this.destroyTimer = setTimeout(() => this.socket.destroy(), 1000);
    this.destroyTimer.unref();
  }

  /** Drops the connection at once and says nothing (the controller reports why, once for many). */
  drop(reason: string): void {
    if (this.stateValue === 'closed') return;
    this.finish(reason);
    this.writer.close();
    this.socket.destroy();
  }

  /** The datapath id if the features reply has arrived, else undefined. */
  get knownDpid(): bigint | undefined {
    return this.featuresValue?.datapathId;
  }

  private isClosed(): boolean {
    return this.stateValue === 'closed';
  }

  /** Drops the connection at once, without flushing (overflow, dead peer). */
  private abort(reason: string): void {
    if (this.stateValue === 'closed') return;
    const message = `disconnecting switch: ${clipReason(reason)}`;
    if (this.opts.report) this.opts.report(message, this.logContext());
    else this.opts.logger.warn(message, this.logContext());
    this.drop(reason);
  }

  private finish(reason: string): void {
    this.stateValue = 'closed';
    this.closeReason = reason;
    clearTimeout(this.handshakeTimer);
    clearInterval(this.echoTimer);
    this.pending.failAll(new SessionClosedError(this.knownDpid, reason));
    this.emit('close', reason);
  }

  private enqueue(msg: OfpMessage): void {
    const bytes = encode(msg);
    this.counters.messagesOut++;
    this.counters.bytesOut += bytes.length;
    if (msg.type === 'flow_mod') this.counters.flowModsSent++;
    this.writer.enqueue(bytes);
  }

  /** Checks the bytes are exactly the messages claimed, gives xid-0 ones fresh xids (in place), queues them. */
  private enqueuePreEncoded(msg: PreEncodedMessages): void {
    const b = msg.bytes;
    const total = b.length;
    let count = 0;
    let p = 0;
    // One pass with plain byte reads: this runs for every new connection. Bytes that fail the check are
    // not sent, so xids already written into them do no harm.
    while (p < total) {
      if (total - p < OFP_HEADER_LEN) throw new PreEncodedMessageError(`${total - p} trailing bytes after ${count} message(s)`);
      const length = (b[p + 2] << 8) | b[p + 3];
      if (length < OFP_HEADER_LEN || p + length > total) {
        throw new PreEncodedMessageError(`message ${count} at byte ${p} has length ${length}, ${total - p} bytes left`);
      }
      if ((b[p + 4] | b[p + 5] | b[p + 6] | b[p + 7]) === 0) {
        const xid = this.pending.allocateXid();
        b[p + 4] = xid >>> 24;
        b[p + 5] = xid >>> 16;
        b[p + 6] = xid >>> 8;
        b[p + 7] = xid;
      }
      count++;
      p += length;
    }
    if (count !== msg.messages) throw new PreEncodedMessageError(`${count} message(s) in the bytes, ${msg.messages} declared`);
    this.counters.messagesOut += count;
    this.counters.bytesOut += total;
    this.counters.flowModsSent += msg.flowMods;
    this.writer.enqueue(b);
  }

  private onBackpressure(blocked: boolean): void {
    // While the switch is not reading our replies, stop reading its requests (echo floods etc.).
    if (blocked) this.socket.pause();
    else this.socket.resume();
    this.emit('backpressure', blocked);
  }

  private onData(chunk: Buffer): void {
    if (this.stateValue === 'closed') return;
    this.counters.bytesIn += chunk.length;
    this.lastHeardAt = this.opts.now();
    this.frames.forEachFrame(chunk, this.onFrameResult);
    // The answers to this chunk (a packet-in's packet-out) leave now, as one write, rather than at the end of the
    // turn: whatever else the turn holds (other sockets' reads, the statistics poll's slices) runs after they left.
    this.writer.flush();
  }

  /** One frame of a chunk; false stops reading the chunk (the session ended). */
  private readonly onFrameResult = (result: FrameResult): boolean => {
    if (this.isClosed()) return false; // an earlier frame in this chunk ended the session
    if (!result.ok) {
      this.refuseFrame(result);
      return false;
    }
    this.counters.messagesIn++;
    try {
      this.onFrame(result.frame);
    } catch (err) {
      // A bug in our handling must cost this switch its session, not the process.
      this.abort(`internal error handling ${result.frame.type}: ${(err as Error).message}`);
    }
    return true;
  };

  private onFrame(frame: RawFrame): void {
    if (this.stateValue === 'hello') {
      this.onFirstFrame(frame);
      return;
    }
    if (frame.type > MAX_OFPT) {
      this.refuse(`unknown message type ${frame.type}`, OFPET.BAD_REQUEST, BAD_REQUEST_CODE.BAD_TYPE, frame.xid, frame.bytes);
      return;
    }
    let msg: OfpMessage;
    try {
      msg = decode(frame.bytes);
    } catch (err) {
      this.refuse(`malformed message type ${frame.type}: ${(err as Error).message}`, OFPET.BAD_REQUEST, BAD_REQUEST_CODE.BAD_LEN, frame.xid, frame.bytes);
      return;
    }
    // packet_in first: the one type of nearly every message, spared a Set lookup (~100 instructions, callgrind).
    if (msg.type !== 'packet_in' && !FROM_SWITCH.has(msg.type)) {
      this.refuse(`${msg.type} is not a message a switch sends`, OFPET.BAD_REQUEST, BAD_REQUEST_CODE.BAD_TYPE, frame.xid, frame.bytes);
      return;
    }
    this.onMessage(msg, frame.length);
  }

  private refuseFrame(result: Extract<FrameResult, { ok: false }>): void {
    if (result.problem === 'not_hello') {
      const text = Buffer.from(result.reason, 'ascii');
      this.refuse(result.reason, OFPET.HELLO_FAILED, HELLO_FAILED_INCOMPATIBLE, result.xid, text, result.header[0] || OFP_VERSION);
      return;
    }
    const code = result.problem === 'bad_version' ? BAD_REQUEST_CODE.BAD_VERSION : BAD_REQUEST_CODE.BAD_LEN;
    this.refuse(result.reason, OFPET.BAD_REQUEST, code, result.xid, result.header);
  }

  private onFirstFrame(frame: RawFrame): void {
    const negotiation = negotiateVersion(parsePeerHello(frame.bytes));
    if (!negotiation.ok) {
      this.refuse(negotiation.reason, OFPET.HELLO_FAILED, HELLO_FAILED_INCOMPATIBLE, frame.xid, Buffer.from(negotiation.reason, 'ascii'), frame.version);
      return;
    }
    this.stateValue = 'handshake';
    this.frames.requireVersion(OFP_VERSION);
    this.handshake().catch((err: Error) => this.abort(`handshake failed: ${err.message}`));
  }

  private async handshake(): Promise<void> {
    this.featuresValue = await this.request({ type: 'features_request', xid: 0 });
    this.send([{ type: 'set_config', xid: 0, flags: 0, missSendLen: this.opts.missSendLen }]);
    const portDesc = await this.request({ type: 'multipart_request', xid: 0, flags: 0, body: { mpType: 'port_desc' } });
    if (portDesc.body.mpType !== 'port_desc') throw new Error(`port_desc request answered with ${portDesc.body.mpType}`);
    for (const port of portDesc.body.entries) this.portTable.set(port.portNo, port);
    if (this.stateValue !== 'handshake') return;
    clearTimeout(this.handshakeTimer);
    this.stateValue = 'up';
    this.opts.logger.info('switch connected', { ...this.logContext(), ports: this.portTable.size });
    this.emit('up');
    this.handOverEarly();
  }

  /** The handshake's packet-ins, after `up`'s listeners (the app's connect batch) ran: as if they came now. */
  private handOverEarly(): void {
    if (!this.early) return;
    const { fresh, tooOld, dropped } = this.early.take(this.opts.now());
    this.early = undefined;
    this.opts.logger.info('packet-ins received during the handshake handed over', { ...this.logContext(), handed: fresh.length, tooOld, dropped });
    for (const msg of fresh) if (this.stateValue === 'up') this.emit('message', msg);
  }

  private onMessage(msg: OfpMessage, length: number): void {
    switch (msg.type) {
      case 'echo_request':
        this.enqueue({ type: 'echo_reply', xid: msg.xid, data: msg.data });
        return;
      case 'hello':
        return; // a repeated hello carries nothing new
      case 'port_status':
        this.applyPortStatus(msg);
        break;
      case 'packet_in':
        this.counters.packetIns++;
        if (this.stateValue === 'handshake') return void (this.early ??= new EarlyPacketIns()).push(msg, this.opts.now());
        break;
      case 'error':
        this.counters.errorsReceived++;
        if (this.failRequest(msg)) return;
        break;
      default:
        if (this.deliverReply(msg, length)) return;
    }
    // Only a switch that finished its handshake has anything to say to applications.
    if (this.stateValue === 'up') this.emit('message', msg);
  }

  private applyPortStatus(msg: Extract<OfpMessage, { type: 'port_status' }>): void {
    // OFPPR_DELETE = 1; ADD and MODIFY both carry the port's current description.
    if (msg.reason === 1) this.portTable.delete(msg.desc.portNo);
    else this.portTable.set(msg.desc.portNo, msg.desc);
  }

  private deliverReply(msg: OfpMessage, length: number): boolean {
    if (!this.pending.has(msg.xid)) return false;
    const more = msg.type === 'multipart_reply' && (msg.flags & OFPMPF_REPLY_MORE) !== 0;
    try {
      return this.pending.deliver(msg.xid, msg, more, length);
    } catch (err) {
      if (!(err instanceof ReplyTooLargeError)) throw err;
      // The request already failed with this error; the peer is flooding us: it goes.
      this.violation = new ProtocolViolationError(this.address, err.message);
      this.abort(err.message);
      return true;
    }
  }

  private failRequest(msg: ErrorMsg): boolean {
    return this.pending.fail(msg.xid, SwitchErrorReply.fromMessage(this.knownDpid, msg));
  }

  private checkLiveness(): void {
    const now = this.opts.now();
    // A check far later than its interval: this process was paused (SIGSTOP, a stalled event loop), and what the
    // switch sent meanwhile may still be unread in the socket (timers can run before the socket is read). The
    // switch's silence is counted from one interval ago, not across the pause: it is asked for an echo now and
    // judged on the intervals that follow. (A pair's master woken from a 5 s SIGSTOP dropped its live connection
    // here, reconnected a second later and read every connection back, on a host its successor was serving from.)
    if (now - this.lastCheckAt > 2 * this.opts.echoIntervalMs) this.lastHeardAt = Math.max(this.lastHeardAt, now - this.opts.echoIntervalMs);
    this.lastCheckAt = now;
    const silentFor = now - this.lastHeardAt;
    if (silentFor >= this.opts.echoIntervalMs * this.opts.deadAfterIntervals) {
      this.abort(`no traffic from switch for ${silentFor} ms`);
    } else if (silentFor >= this.opts.echoIntervalMs && this.stateValue !== 'hello') {
      this.enqueue({ type: 'echo_request', xid: this.pending.allocateXid(), data: Buffer.alloc(0) });
    }
  }

  /**
   * Answers a protocol violation with an OpenFlow error and disconnects; the violation is kept for the controller,
   * which reports it (once per peer per interval). What we send back is bounded whatever the peer sent.
   */
  private refuse(reason: string, errType: number, code: number, xid: number, offending: Buffer, version = OFP_VERSION): void {
    const violation = new ProtocolViolationError(this.address, reason);
    const data = Buffer.from(offending.subarray(0, errType === OFPET.HELLO_FAILED ? ERROR_TEXT_LEN : ERROR_QUOTE_LEN));
    this.enqueue({ type: 'error', xid, version, errType, code, data });
    this.violation = violation;
    this.close(violation.reason);
  }

  private logContext(): Record<string, string> {
    return { peer: this.address, dpid: formatDpid(this.knownDpid) };
  }
}
