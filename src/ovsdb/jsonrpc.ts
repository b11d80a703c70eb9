/**
 * JSON-RPC 1.0 session (RFC 7047 section 4) over one byte stream: request ids -> promises, per-request
 * timeouts, cancellation (the "cancel" notification), answers to the server's echo requests, its own
 * echo probe for liveness, and a maximum message size. Malformed input closes the session with an
 * OvsdbProtocolError; it never throws out of a socket callback.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { Logger } from '../util/logger';
import { silentLogger } from '../util/logger';
import {
  OvsdbCancelledError,
  OvsdbClosedError,
  OvsdbError,
  OvsdbProtocolError,
  OvsdbRpcError,
  OvsdbTimeoutError,
} from './errors';
import { DEFAULT_MAX_MESSAGE_BYTES, JsonStreamParser } from './json-stream';
import { Json, describe, isPlainObject } from './notation';

export interface JsonRpcOptions {
  /** Default timeout of a request; 0 waits forever (monitors and waits can be long). Default 30 s. */
  requestTimeoutMs?: number;
  /** Send an echo when nothing was received for this long; close if that also goes unanswered. 0 disables. Default 5 s. */
  probeIntervalMs?: number;
  maxMessageBytes?: number;
  logger?: Logger;
}

export interface RequestOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

interface PendingRequest {
  method: string;
  resolve: (result: unknown) => void;
  reject: (err: OvsdbError) => void;
  timer?: NodeJS.Timeout;
  onAbort?: () => void;
  signal?: AbortSignal;
}

export interface JsonRpcSessionEvents {
  notification: [method: string, params: unknown[]];
  close: [error: OvsdbError | undefined];
}

export class JsonRpcSession extends EventEmitter<JsonRpcSessionEvents> {
  private readonly parser: JsonStreamParser;
  private readonly pending = new Map<number, PendingRequest>();
  private nextId = 1;
  private closedWith: OvsdbError | undefined;
  /** What requests made after the close are rejected with (also set by a clean close(reason)). */
  private rejectLateWith: OvsdbError | undefined;
  private isClosed = false;
  private lastReceived = Date.now();
  private probeOutstanding = false;
  private probeTimer?: NodeJS.Timeout;
  private readonly requestTimeoutMs: number;
  private readonly maxSendBufferBytes: number;
  private readonly logger: Logger;

  constructor(
    private readonly stream: Duplex,
    opts: JsonRpcOptions = {},
  ) {
    super();
    this.parser = new JsonStreamParser(opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES);
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    // Room for one message of the largest size allowed, never less than 1 MiB.
    this.maxSendBufferBytes = Math.max(opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES, 1024 * 1024);
    this.logger = opts.logger ?? silentLogger();
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('error', (err: Error) => this.shutdown(new OvsdbClosedError(err.message)));
    stream.on('close', () => this.shutdown(new OvsdbClosedError('peer closed the connection')));
    const probeMs = opts.probeIntervalMs ?? 5_000;
    if (probeMs > 0) {
      this.probeTimer = setInterval(() => this.probe(probeMs), probeMs);
      this.probeTimer.unref();
    }
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Why the session closed (undefined while open or after a clean close()). */
  get closeReason(): OvsdbError | undefined {
    return this.closedWith;
  }

  request(method: string, params: Json[], opts: RequestOptions = {}): Promise<unknown> {
    if (this.isClosed) return Promise.reject(this.rejectLateWith ?? new OvsdbClosedError('session closed'));
    if (opts.signal?.aborted) return Promise.reject(new OvsdbCancelledError(method));
    const id = this.nextId++;
    return new Promise<unknown>((resolve, reject) => {
      const entry: PendingRequest = { method, resolve, reject, signal: opts.signal };
      const timeoutMs = opts.timeoutMs ?? this.requestTimeoutMs;
      if (timeoutMs > 0) {
        entry.timer = setTimeout(() => this.settle(id)?.reject(new OvsdbTimeoutError(method, timeoutMs)), timeoutMs);
      }
      if (opts.signal) {
        entry.onAbort = () => {
          if (!this.settle(id)) return;
          // RFC 7047 4.1.4: tell the server to stop working on it; it then answers the original with an error we drop.
          this.send({ method: 'cancel', params: [id], id: null });
          reject(new OvsdbCancelledError(method));
        };
        opts.signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      this.pending.set(id, entry);
      this.send({ method, params, id });
    });
  }

  notify(method: string, params: Json[]): void {
    if (!this.isClosed) this.send({ method, params, id: null });
  }

  /** Closes the session; outstanding requests fail with OvsdbClosedError(reason). */
  close(reason = 'closed by client'): void {
    this.shutdown(new OvsdbClosedError(reason), true);
    this.stream.destroy();
  }

  private send(message: Record<string, Json>): void {
    if (this.isClosed) return;
    // A peer that stops reading (while, say, flooding us with echo requests) must not make us buffer without end.
    if (this.stream.writableLength > this.maxSendBufferBytes) {
      this.fail(new OvsdbProtocolError(`the peer is not reading: more than ${this.maxSendBufferBytes} bytes wait to be sent`));
      return;
    }
    this.stream.write(JSON.stringify(message));
  }

  private settle(id: number): PendingRequest | undefined {
    const entry = this.pending.get(id);
    if (!entry) return undefined;
    this.pending.delete(id);
    if (entry.timer) clearTimeout(entry.timer);
    if (entry.onAbort) entry.signal?.removeEventListener('abort', entry.onAbort);
    return entry;
  }

  private probe(intervalMs: number): void {
    if (this.isClosed || Date.now() - this.lastReceived < intervalMs) return;
    if (this.probeOutstanding) {
      this.fail(new OvsdbTimeoutError('echo (liveness probe)', intervalMs));
      return;
    }
    this.probeOutstanding = true;
    // Any answer (or any other received message) proves liveness; errors surface via close.
    this.request('echo', ['vadc-probe'], { timeoutMs: 0 }).catch(() => undefined);
  }

  private onData(chunk: Buffer): void {
    if (this.isClosed) return;
    this.lastReceived = Date.now();
    this.probeOutstanding = false;
    let messages: unknown[];
    try {
      messages = this.parser.push(chunk);
    } catch (err) {
      this.fail(err instanceof OvsdbError ? err : new OvsdbProtocolError(String(err)));
      return;
    }
    for (const message of messages) {
      if (this.isClosed) return;
      try {
        this.dispatch(message);
      } catch (err) {
        this.fail(err instanceof OvsdbError ? err : new OvsdbProtocolError(`handler failed: ${String(err)}`));
      }
    }
    if (this.parser.failure && !this.isClosed) this.fail(this.parser.failure);
  }

  private dispatch(message: unknown): void {
    if (!isPlainObject(message)) throw new OvsdbProtocolError(`expected a JSON-RPC object, got ${describe(message)}`);
    if (typeof message.method === 'string') {
      if (!Array.isArray(message.params)) throw new OvsdbProtocolError(`"${message.method}" without a params array`);
      const id = message.id ?? null;
      if (id === null) {
        this.emit('notification', message.method, message.params);
      } else if (message.method === 'echo') {
        this.send({ result: message.params as Json[], error: null, id: id as Json });
      } else {
        this.send({ result: null, error: 'unknown method', id: id as Json });
      }
      return;
    }
    if (!('id' in message) || !('result' in message || 'error' in message)) {
      throw new OvsdbProtocolError(`message is neither request nor response: ${describe(message)}`);
    }
    const entry = typeof message.id === 'number' ? this.settle(message.id) : undefined;
    if (!entry) {
      // Late answers to timed-out or cancelled requests land here; they are harmless.
      this.logger.debug('ovsdb: response to unknown request id', { id: describe(message.id) });
      return;
    }
    const error = message.error ?? null;
    if (error === null) {
      entry.resolve(message.result);
    } else {
      entry.reject(rpcError(entry.method, error));
    }
  }

  private fail(error: OvsdbError): void {
    this.logger.warn('ovsdb: closing session', { error: error.message });
    this.shutdown(error);
    this.stream.destroy();
  }

  private shutdown(error: OvsdbError, clean = false): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closedWith = clean ? undefined : error;
    this.rejectLateWith = error;
    if (this.probeTimer) clearInterval(this.probeTimer);
    for (const id of [...this.pending.keys()]) this.settle(id)?.reject(error);
    this.emit('close', this.closedWith);
  }
}

/** Server errors are a string or {error, details} (RFC 7047 3.1 and ovsdb-server practice). */
export function rpcError(method: string, error: unknown): OvsdbRpcError {
  if (typeof error === 'string') return new OvsdbRpcError(method, error);
  if (isPlainObject(error) && typeof error.error === 'string') {
    return new OvsdbRpcError(method, error.error, typeof error.details === 'string' ? error.details : undefined);
  }
  return new OvsdbRpcError(method, describe(error));
}
