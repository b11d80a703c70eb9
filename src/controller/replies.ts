// What a request's reply parts become (PendingRequests settles with them, in order): the one reply the request's type
// expects, a multipart reply's REPLY_MORE parts merged into one (entries concatenated).
import type { MultipartReply, MultipartReplyBody, OfpMessage } from '../openflow/types';
import { ProtocolViolationError } from './errors';
import { REPLY_TYPE, type RequestMessage } from './types';

/** The reply to `request` made of its parts; a part of another type than the request's reply is `peer`'s violation. */
export function assembleReply(peer: string, request: RequestMessage, replies: OfpMessage[]): OfpMessage {
  const expected = REPLY_TYPE[request.type];
  const wrong = replies.find((r) => r.type !== expected);
  if (wrong) {
    throw new ProtocolViolationError(peer, `${request.type} xid ${wrong.xid} answered with ${wrong.type}`);
  }
  if (expected !== 'multipart_reply') return replies[0];
  return mergeMultipart(replies as MultipartReply[]);
}

function mergeMultipart(parts: MultipartReply[]): MultipartReply {
  const first = parts[0];
  if (parts.length === 1) return first;
  const mpType = first.body.mpType;
  const mixed = parts.find((p) => p.body.mpType !== mpType);
  if (mixed) throw new Error(`multipart reply xid ${first.xid} mixes ${mpType} and ${mixed.body.mpType} parts`);
  if (!('entries' in first.body)) return parts[parts.length - 1];
  const entries = parts.flatMap((p) => (p.body as { entries: unknown[] }).entries);
  return { ...first, flags: 0, body: { ...first.body, entries } as MultipartReplyBody };
}
