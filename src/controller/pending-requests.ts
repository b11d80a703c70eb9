import { ReplyTooLargeError, RequestAbortedError, RequestTimeoutError } from './errors';

export interface ExpectOptions {
  /** For the error message: 'features_request', 'multipart_request/flow', ... */
  requestType: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

interface Pending<Reply> {
  requestType: string;
  parts: Reply[];
  /** Bytes of the parts so far (as the caller measured them). */
  bytes: number;
  resolve: (parts: Reply[]) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  signal?: AbortSignal;
  onAbort?: () => void;
}

const XID_SPACE = 0x1_0000_0000;

/**
 * The requests a session is waiting on, by xid. A reply may come in parts (multipart REPLY_MORE);
 * the promise settles with all parts once the last arrives, or rejects on timeout, abort, an error
 * from the switch, or the session closing. Knows nothing of sockets: the session feeds it.
 */
export interface ReplyLimits {
  /** Bytes one reply's parts may reach (default unbounded). */
  maxReplyBytes?: number;
  /** Bytes all unfinished replies together may hold (default unbounded). */
  maxBufferedBytes?: number;
}

export class PendingRequests<Reply> {
  private readonly byXid = new Map<number, Pending<Reply>>();
  private nextXid: number;
  private buffered = 0;

  constructor(firstXid = 1, private readonly limits: ReplyLimits = {}) {
    this.nextXid = firstXid;
  }

  /** Bytes held in replies still waiting for their last part. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  get size(): number {
    return this.byXid.size;
  }

  has(xid: number): boolean {
    return this.byXid.has(xid);
  }

  /** A fresh xid: never 0 (reserved for unsolicited messages), never one still awaiting a reply. */
  allocateXid(): number {
    for (;;) {
      const xid = this.nextXid;
      this.nextXid = (this.nextXid + 1) % XID_SPACE;
      // Most xids are taken with no request outstanding (every pre-encoded message asks): no lookup then.
      if (xid !== 0 && (this.byXid.size === 0 || !this.byXid.has(xid))) return xid;
    }
  }

  /** Starts waiting for the reply to `xid`; call before the request is written. */
  expect(xid: number, opts: ExpectOptions): Promise<Reply[]> {
    if (this.byXid.has(xid)) throw new Error(`xid ${xid} is already awaiting a reply`);
    return new Promise<Reply[]>((resolve, reject) => {
      if (opts.signal?.aborted) {
        reject(new RequestAbortedError(xid, opts.requestType, opts.signal.reason));
        return;
      }
      const timer = setTimeout(
        () => this.fail(xid, new RequestTimeoutError(xid, opts.requestType, opts.timeoutMs)),
        opts.timeoutMs,
      );
      const entry: Pending<Reply> = { requestType: opts.requestType, parts: [], bytes: 0, resolve, reject, timer };
      if (opts.signal) {
        const signal = opts.signal;
        entry.signal = signal;
        entry.onAbort = () => this.fail(xid, new RequestAbortedError(xid, opts.requestType, signal.reason));
        signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      this.byXid.set(xid, entry);
    });
  }

  /**
   * Feeds one reply part of `size` bytes; `more` is the REPLY_MORE flag. Returns false if nobody waits for xid.
   * A part that takes the reply or all held replies past their limit fails the request with ReplyTooLargeError,
   * and throws it (the peer is misbehaving: the caller ends the session).
   */
  deliver(xid: number, reply: Reply, more = false, size = 0): boolean {
    const entry = this.byXid.get(xid);
    if (!entry) return false;
    entry.parts.push(reply);
    entry.bytes += size;
    this.buffered += size;
    const { maxReplyBytes = Infinity, maxBufferedBytes = Infinity } = this.limits;
    if (more && (entry.bytes > maxReplyBytes || this.buffered > maxBufferedBytes)) {
      const err = entry.bytes > maxReplyBytes
        ? new ReplyTooLargeError(xid, entry.requestType, maxReplyBytes, 'reply')
        : new ReplyTooLargeError(xid, entry.requestType, maxBufferedBytes, 'session');
      this.fail(xid, err);
      throw err;
    }
    if (!more) {
      this.forget(xid, entry);
      entry.resolve(entry.parts);
    }
    return true;
  }

  /** Rejects the request waiting on xid. Returns false if nobody waits for it. */
  fail(xid: number, err: Error): boolean {
    const entry = this.byXid.get(xid);
    if (!entry) return false;
    this.forget(xid, entry);
    entry.reject(err);
    return true;
  }

  /** Rejects every outstanding request (session closing). */
  failAll(err: Error): void {
    for (const xid of [...this.byXid.keys()]) this.fail(xid, err);
  }

  private forget(xid: number, entry: Pending<Reply>): void {
    this.buffered -= entry.bytes;
    clearTimeout(entry.timer);
    if (entry.signal && entry.onAbort) entry.signal.removeEventListener('abort', entry.onAbort);
    this.byXid.delete(xid);
  }
}
