// encode/decode of whole messages: the 8-byte header here, bodies from the registered declarations.
import { OfpDecodeError, OfpEncodeError } from './errors';
import { messagesByCode, messagesByName } from './messages';
import './nicira';
import { Writer } from './wire';
import { OFP_HEADER_LEN, OFP_VERSION } from './constants';
import type { OfpHeader, OfpMessage } from './types';

const writer = new Writer(1 << 16);

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
  w.pos = OFP_HEADER_LEN;
  codec.enc(w, msg, msg.type);
  const length = w.pos;
  if (length > 0xffff) throw new OfpEncodeError(msg.type, `message is ${length} bytes, more than the 65535 the header allows`);
  const out = Buffer.allocUnsafe(length);
  w.buf.copy(out, 0, 0, length);
  out[0] = version;
  out[1] = codec.code;
  out.writeUInt16BE(length, 2);
  out.writeUInt32BE(msg.xid, 4);
  return out;
}
