import { JsonStreamParser, OvsdbProtocolError } from '../../../src/ovsdb';

const messages = [
  { id: 1, method: 'echo', params: ['a "quoted" }{ brace', 'back\\slash\\'] },
  { id: null, method: 'update2', params: ['m', { Interface: { u: { modify: { name: 'ünïcødé ✓ 😀' } } } }] },
  [1, [2, [3, {}]], '[]'],
  { result: { rows: [] }, error: null, id: 'x' },
];
const stream = Buffer.from(messages.map((m) => JSON.stringify(m)).join('\n  '));

describe('JsonStreamParser', () => {
  test('yields every value when the stream is split at every offset', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const parser = new JsonStreamParser();
      const out = [...parser.push(stream.subarray(0, cut)), ...parser.push(stream.subarray(cut))];
      expect(out).toEqual(messages);
      expect(parser.bufferedBytes).toBe(0);
    }
  });

  test('yields every value when fed one byte at a time', () => {
    const parser = new JsonStreamParser();
    const out: unknown[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...parser.push(stream.subarray(i, i + 1)));
    expect(out).toEqual(messages);
  });

  test('keeps an incomplete value buffered', () => {
    const parser = new JsonStreamParser();
    expect(parser.push(Buffer.from('{"id":1,"result":[1,2'))).toEqual([]);
    expect(parser.bufferedBytes).toBe(21);
    expect(parser.push(Buffer.from(']}{"id"'))).toEqual([{ id: 1, result: [1, 2] }]);
    expect(parser.bufferedBytes).toBe(5);
  });

  test.each([
    ['garbage between messages', 'hello', 'unexpected byte 0x68'],
    ['a bare number', '42 ', 'unexpected byte 0x34'],
    ['a stray closing brace', '{}}', 'unexpected byte 0x7d'],
    ['mismatched brackets', '{"a":[1}]', 'invalid JSON'],
    ['a trailing comma', '{"a":1,}', 'invalid JSON'],
  ])('rejects %s with a typed error that sticks', (_, text, reason) => {
    const parser = new JsonStreamParser();
    let before: unknown[] = [];
    try {
      before = parser.push(Buffer.from(text));
    } catch (err) {
      expect(err).toBeInstanceOf(OvsdbProtocolError);
    }
    expect(before.length).toBeLessThanOrEqual(1);
    expect(parser.failure).toBeInstanceOf(OvsdbProtocolError);
    expect(() => parser.push(Buffer.from('{}'))).toThrow(reason);
  });

  test('returns the values completed before bad bytes, then reports the failure', () => {
    const parser = new JsonStreamParser();
    expect(parser.push(Buffer.from('{"id":1,"result":[]} \u0000junk'))).toEqual([{ id: 1, result: [] }]);
    expect(parser.failure?.message).toContain('unexpected byte 0x00 between messages (at byte 21)');
    expect(() => parser.push(Buffer.from('{}'))).toThrow(OvsdbProtocolError);
  });

  test('reports the stream offset of an error', () => {
    const parser = new JsonStreamParser();
    parser.push(Buffer.from('{"a":1}  '));
    try {
      parser.push(Buffer.from('x'));
      throw new Error('expected a protocol error');
    } catch (err) {
      expect(err).toBeInstanceOf(OvsdbProtocolError);
      expect((err as OvsdbProtocolError).offset).toBe(9);
    }
  });

  test('refuses a message larger than the limit, complete or still arriving', () => {
    const complete = new JsonStreamParser(16);
    expect(() => complete.push(Buffer.from(JSON.stringify({ data: 'x'.repeat(20) })))).toThrow('exceeds the limit of 16');
    const endless = new JsonStreamParser(1024);
    endless.push(Buffer.from('{"data":"'));
    expect(() => {
      for (let i = 0; i < 10; i++) endless.push(Buffer.alloc(200, 0x61));
    }).toThrow('exceeds the limit of 1024');
    const fits = new JsonStreamParser(16);
    expect(fits.push(Buffer.from('{"a":"0123456"}{"b":1}'))).toEqual([{ a: '0123456' }, { b: 1 }]);
  });

  test('joins a value that arrives in many chunks once, when it completes (not at every chunk)', () => {
    // A tracker listing of 100,000 connections is ~18 MB in 64 KB chunks: joining at every chunk copied ~2.6 GB.
    const value = { id: 7, result: 'c'.repeat(256 * 1024), error: null };
    const bytes = Buffer.from(JSON.stringify(value));
    const parser = new JsonStreamParser();
    const concat = jest.spyOn(Buffer, 'concat');
    try {
      const out: unknown[] = [];
      for (let o = 0; o < bytes.length; o += 1024) out.push(...parser.push(bytes.subarray(o, o + 1024)));
      expect(out).toEqual([value]);
      const copied = concat.mock.calls.reduce((n, [list]) => n + list.reduce((m, b) => m + b.length, 0), 0);
      expect(copied).toBeLessThanOrEqual(bytes.length);
    } finally {
      concat.mockRestore();
    }
  });
});
