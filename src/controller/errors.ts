/** Typed failures of the controller runtime; callers branch on the class, logs read the message. */
import { OFPET, OFP_ERROR_CODES } from '../openflow';
import type { ErrorMsg } from '../openflow';
import { formatDpid } from '../openflow/dpid';

export class ControllerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The switch answered a request with an OFPT_ERROR. */
export class SwitchErrorReply extends ControllerError {
  constructor(
    readonly dpid: bigint | undefined,
    readonly xid: number,
    readonly errType: number,
    readonly errCode: number,
    readonly errTypeName: string,
    readonly errCodeName: string,
    readonly data: Buffer,
  ) {
    super(`switch ${formatDpid(dpid)} rejected xid ${xid}: ${errTypeName}/${errCodeName} (type ${errType}, code ${errCode})`);
  }

  /** Names the type and code as the spec does (OFPET_x / OFPxx_y without prefixes), or by number if unknown. */
  static fromMessage(dpid: bigint | undefined, msg: ErrorMsg): SwitchErrorReply {
    const code = msg.code ?? msg.expType ?? 0;
    const typeName = Object.entries(OFPET).find(([, v]) => v === msg.errType)?.[0] ?? `type ${msg.errType}`;
    const codeName = OFP_ERROR_CODES[msg.errType]?.[code] ?? `code ${code}`;
    return new SwitchErrorReply(dpid, msg.xid, msg.errType, code, typeName, codeName, msg.data);
  }
}

/** Pre-encoded bytes handed to a session are not the whole messages they claim to be (an app bug). */
export class PreEncodedMessageError extends ControllerError {
  constructor(readonly reason: string) {
    super(`pre-encoded messages rejected: ${reason}`);
  }
}

/** No reply arrived within the request's timeout. */
export class RequestTimeoutError extends ControllerError {
  constructor(
    readonly xid: number,
    readonly requestType: string,
    readonly timeoutMs: number,
  ) {
    super(`${requestType} xid ${xid} got no reply within ${timeoutMs} ms`);
  }
}

/** A multipart reply grew past a limit (REPLY_MORE parts without end): the request fails and the session ends. */
export class ReplyTooLargeError extends ControllerError {
  constructor(
    readonly xid: number,
    readonly requestType: string,
    readonly limit: number,
    readonly scope: 'reply' | 'session',
  ) {
    super(`${requestType} xid ${xid}: the reply passed the ${limit}-byte limit for ${scope === 'reply' ? 'one reply (REPLY_MORE parts without end?)' : 'replies held at once'}`);
  }
}

/** The caller's AbortSignal fired before the reply came. */
export class RequestAbortedError extends ControllerError {
  constructor(
    readonly xid: number,
    readonly requestType: string,
    readonly reason: unknown,
  ) {
    super(`${requestType} xid ${xid} was cancelled${reason instanceof Error ? `: ${reason.message}` : ''}`);
  }
}

/** The session ended (peer gone, replaced, controller stopped) while the request was outstanding. */
export class SessionClosedError extends ControllerError {
  constructor(
    readonly dpid: bigint | undefined,
    readonly reason: string,
  ) {
    super(`switch ${formatDpid(dpid)} session closed: ${reason}`);
  }
}

/** No switch with this datapath id is connected (or it has not finished its handshake). */
export class UnknownSwitchError extends ControllerError {
  constructor(readonly dpid: bigint) {
    super(`no connected switch with datapath id ${formatDpid(dpid)}`);
  }
}

/** What a peer made us say about it is bounded: a log line must not grow with what the peer sends. */
export const MAX_REASON_CHARS = 300;

export function clipReason(reason: string): string {
  return reason.length > MAX_REASON_CHARS ? `${reason.slice(0, MAX_REASON_CHARS)}... (${reason.length} characters)` : reason;
}

/** The peer broke the protocol; it is answered (where the spec says so) and disconnected. */
export class ProtocolViolationError extends ControllerError {
  readonly reason: string;

  constructor(
    readonly peer: string,
    reason: string,
  ) {
    super(`peer ${peer}: ${clipReason(reason)}`);
    this.reason = clipReason(reason);
  }
}


export class MissingTlsMaterialError extends ControllerError {
  constructor(readonly target: string) {
    super(`listen target ${target} needs tls material (key, cert, ca)`);
  }
}
