// encode/decode of whole messages: the 8-byte header here, bodies from the registered declarations.
import { OfpDecodeError, OfpEncodeError } from './errors';
import { messagesByCode, messagesByName } from './messages';
import './nicira';
import { Writer } from './wire';
import { OFP_HEADER_LEN, OFP_VERSION } from './constants';
import type { OfpHeader, OfpMessage } from './types';

/** Shared by every encode call (and the flow-mod templates): messages are views into its slabs. */
export const writer = new Writer();

/** Reads the OpenFlow header; throws OfpDecodeError if fewer than 8 bytes are given. */
export function decodeHeader(buf: Buffer): OfpHeader {
  if (buf.length < OFP_HEADER_LEN) {
    throw new OfpDecodeError(`header truncated: ${buf.length} bytes, needs ${OFP_HEADER_LEN}`, 0, buf.length >= 2 ? buf[1] : 'unknown');
  }
  return { version: buf[0], type: buf[1], length: buf.readUInt16BE(2), xid: buf.readUInt32BE(4) };
}

/** Decodes exactly one message; the buffer must hold the message and nothing else. */
export function decode(buf: Buffer): OfpMessage {
  const header = decodeHeader(buf);
  const codec = messagesByCode[header.type];
  const msgType = codec ? codec.type : header.type;
  if (header.length < OFP_HEADER_LEN) {
    throw new OfpDecodeError(`header length ${header.length} is shorter than the header`, 2, msgType);
  }
  if (header.length > buf.length) {
    throw new OfpDecodeError(`message truncated: header length ${header.length}, ${buf.length} bytes given`, 2, msgType);
  }
  if (header.length < buf.length) {
    throw new OfpDecodeError(`${buf.length - header.length} bytes after the message (header length ${header.length})`, header.length, msgType);
  }
  if (!codec) throw new OfpDecodeError(`unknown message type ${header.type}`, 1, header.type);
  let msg: OfpMessage;
  try {
    msg = codec.dec(buf, OFP_HEADER_LEN, header.length, header.xid);
  } catch (err) {
    if (err instanceof OfpDecodeError) throw err.withMessageType(msgType);
    // A decoder bug must still surface as a typed error naming the message, never as a stray exception.
    throw new OfpDecodeError(`internal decoder error: ${(err as Error).message}`, 0, msgType);
  }
  if (header.version !== OFP_VERSION) msg.version = header.version;
  return msg;
}

/** Encodes one message; lengths and padding are derived, never taken from the object. */
export function encode(msg: OfpMessage): Buffer {
  if (msg === null || typeof msg !== 'object') throw new OfpEncodeError('message', 'expected a message object');
  const codec = messagesByName.get(msg.type);
  if (!codec) throw new OfpEncodeError('message', `unknown message type ${String((msg as { type?: unknown }).type)}`);
  const version = msg.version ?? OFP_VERSION;
  if ((version & 0xff) !== version) throw new OfpEncodeError(`${msg.type}.version`, `expected u8, got ${String(version)}`);
  if (msg.xid >>> 0 !== msg.xid) throw new OfpEncodeError(`${msg.type}.xid`, `expected u32, got ${String(msg.xid)}`);
  const w = writer;
  const start = w.begin(OFP_HEADER_LEN);
  w.pos = start + OFP_HEADER_LEN;
  try {
    codec.enc(w, msg, msg.type);
  } catch (err) {
    w.pos = start; // nothing of a failed message is kept; the next one reuses its room
    throw err;
  }
  const length = w.pos - start;
  if (length > 0xffff) throw new OfpEncodeError(msg.type, `message is ${length} bytes, more than the 65535 the header allows`);
  const b = w.buf;
  b[start] = version;
  b[start + 1] = codec.code;
  b[start + 2] = length >>> 8;
  b[start + 3] = length & 0xff;
  const xid = msg.xid;
  b[start + 4] = xid >>> 24;
  b[start + 5] = (xid >>> 16) & 0xff;
  b[start + 6] = (xid >>> 8) & 0xff;
  b[start + 7] = xid & 0xff;
  const out = w.finish();
  return out;
}
