import * as fs from 'fs';
import * as path from 'path';
import { encode, OfpFramer, OfpFramingError, OfpDecodeError } from '../../../src/openflow';
import type { FramedItem, OfpMessage } from '../../../src/openflow';

const DIR = path.resolve(__dirname, '../../fixtures/of13/packet');
const sample = ['4-4-ofp_packet_in', '4-3-ofp_flow_mod', '4-13-ofp_echo_request', '4-17-ofp_barrier_request', '4-39-ofp_port_status']
  .map((n) => fs.readFileSync(path.join(DIR, `${n}.packet`)));
const stream = Buffer.concat(sample);
const types = (items: FramedItem[]): string[] => items.map((i) => (i.kind === 'message' ? i.message.type : i.kind));
const expected = ['packet_in', 'flow_mod', 'echo_request', 'barrier_request', 'port_status'];

describe('OfpFramer', () => {
  it('yields the same messages for a split at every offset', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const f = new OfpFramer();
      const got = [...f.push(stream.subarray(0, cut)), ...f.push(stream.subarray(cut))];
      expect(types(got)).toEqual(expected);
      expect(f.buffered).toBe(0);
    }
  });

  it('handles one byte at a time and all messages coalesced in one chunk', () => {
    const f = new OfpFramer();
    const oneByOne: FramedItem[] = [];
    for (let i = 0; i < stream.length; i++) oneByOne.push(...f.push(stream.subarray(i, i + 1)));
    expect(types(oneByOne)).toEqual(expected);
    const whole = new OfpFramer().push(stream);
    expect(types(whole)).toEqual(expected);
    expect((whole[2] as Extract<FramedItem, { kind: 'message' }>).bytes.equals(sample[2])).toBe(true);
  });

  it('keeps leftover bytes until the rest arrives', () => {
    const f = new OfpFramer();
    expect(f.push(sample[0].subarray(0, 5))).toEqual([]);
    expect(f.buffered).toBe(5);
    expect(types(f.push(sample[0].subarray(5)))).toEqual(['packet_in']);
  });

  it('reports a body that does not decode and carries on with the next message', () => {
    const bad = Buffer.from(sample[1]);
    bad.writeUInt16BE(7, 48); // the match type of the flow_mod: not OXM
    const items = new OfpFramer().push(Buffer.concat([bad, sample[2]]));
    expect(types(items)).toEqual(['decode_error', 'echo_request']);
    const err = (items[0] as Extract<FramedItem, { kind: 'decode_error' }>).error;
    expect(err).toBeInstanceOf(OfpDecodeError);
    expect(err.msgType).toBe('flow_mod');
    expect(err.offset).toBe(48);
  });

  it('skips an oversized message with a sane length, across chunks, and keeps the following ones', () => {
    const big: OfpMessage = { type: 'echo_request', xid: 9, data: Buffer.alloc(300, 7) };
    const bytes = Buffer.concat([encode(big), sample[3]]);
    const f = new OfpFramer({ maxMessageSize: 256 });
    const items = [...f.push(bytes.subarray(0, 100)), ...f.push(bytes.subarray(100, 200)), ...f.push(bytes.subarray(200))];
    expect(types(items)).toEqual(['framing_error', 'barrier_request']);
    const first = items[0] as Extract<FramedItem, { kind: 'framing_error' }>;
    expect(first.fatal).toBe(false);
    expect(first.error).toBeInstanceOf(OfpFramingError);
    expect(first.error.reason).toMatch(/exceeds the maximum 256/);
  });

  it('stops on a header length shorter than the header (no way to resynchronise)', () => {
    const f = new OfpFramer();
    const broken = Buffer.from([4, 0, 0, 4, 0, 0, 0, 1]);
    const items = f.push(Buffer.concat([sample[2], broken, sample[3]]));
    expect(types(items)).toEqual(['echo_request', 'framing_error']);
    expect((items[1] as Extract<FramedItem, { kind: 'framing_error' }>).fatal).toBe(true);
    expect((items[1] as Extract<FramedItem, { kind: 'framing_error' }>).error.streamOffset).toBe(sample[2].length);
    expect(f.isBroken).toBe(true);
    expect(f.push(sample[3])).toEqual([]);
  });
  it('checks maxMessageSize: an integer of at least the header length (8)', () => {
    expect(() => new OfpFramer({ maxMessageSize: 7 })).toThrow(new RangeError('maxMessageSize must be an integer >= 8'));
    expect(() => new OfpFramer({ maxMessageSize: 100.5 })).toThrow(RangeError);
    expect(new OfpFramer({ maxMessageSize: 8 }).maxMessageSize).toBe(8);
    // A header-only message is exactly 8 bytes: accepted at the smallest maximum.
    expect(types(new OfpFramer({ maxMessageSize: 8 }).push(sample[3]))).toEqual(['barrier_request']);
  });

  it('accepts a message exactly maxMessageSize long and skips one a byte longer', () => {
    const f = new OfpFramer({ maxMessageSize: sample[2].length });
    expect(types(f.push(sample[2]))).toEqual(['echo_request']);
    const longer: OfpMessage = { type: 'echo_request', xid: 3, data: Buffer.alloc(sample[2].length - 8 + 1, 1) };
    expect(types(f.push(Buffer.concat([encode(longer), sample[3]])))).toEqual(['framing_error', 'barrier_request']);
  });

  it('gives each error its offset in the whole stream, across chunks and after a skipped message', () => {
    const big = encode({ type: 'echo_request', xid: 9, data: Buffer.alloc(300, 7) });
    const broken = Buffer.from([4, 0, 0, 4, 0, 0, 0, 1]);
    const f = new OfpFramer({ maxMessageSize: 256 });
    // A message, then the first 40 bytes of the oversized one; the rest of it, a message and a broken header.
    const first = f.push(Buffer.concat([sample[2], big.subarray(0, 40)]));
    expect(types(first)).toEqual(['echo_request', 'framing_error']);
    expect((first[1] as Extract<FramedItem, { kind: 'framing_error' }>).error.streamOffset).toBe(sample[2].length);
    expect(f.buffered).toBe(0);
    const rest = f.push(big.subarray(40, 200));
    expect(rest).toEqual([]);
    const last = f.push(Buffer.concat([big.subarray(200), sample[3], broken]));
    expect(types(last)).toEqual(['barrier_request', 'framing_error']);
    const error = (last[1] as Extract<FramedItem, { kind: 'framing_error' }>).error;
    expect(error.streamOffset).toBe(sample[2].length + big.length + sample[3].length);
    expect(error.reason).toBe('header length 4 is shorter than the header');
  });
});
