import { negotiateVersion, parsePeerHello, versionBitmap } from '../../../src/controller/hello';

function hello(version: number, bitmaps?: number[]): Buffer {
  const elemLen = bitmaps ? 4 + 4 * bitmaps.length : 0;
  const padded = Math.ceil(elemLen / 8) * 8;
  const buf = Buffer.alloc(8 + padded);
  buf.writeUInt8(version, 0);
  buf.writeUInt8(0, 1);
  buf.writeUInt16BE(buf.length, 2);
  buf.writeUInt32BE(7, 4);
  if (bitmaps) {
    buf.writeUInt16BE(1, 8);
    buf.writeUInt16BE(elemLen, 10);
    bitmaps.forEach((b, i) => buf.writeUInt32BE(b >>> 0, 12 + 4 * i));
  }
  return buf;
}

describe('hello version negotiation', () => {
  it('reads the version bitmap element', () => {
    expect(parsePeerHello(hello(6, [0b1011010]))).toEqual({ headerVersion: 6, bitmapVersions: [1, 3, 4, 6] });
    expect(parsePeerHello(hello(4))).toEqual({ headerVersion: 4 });
  });

  it('picks 1.3 from a bitmap that includes it, even when the header says newer', () => {
    expect(negotiateVersion(parsePeerHello(hello(6, [versionBitmap([1, 4, 6])])))).toEqual({ ok: true, version: 4 });
  });

  it('refuses a bitmap without 1.3 and names both sides', () => {
    const result = negotiateVersion(parsePeerHello(hello(6, [versionBitmap([1, 5, 6])])));
    expect(result).toEqual({ ok: false, reason: 'no common version: peer supports 0x01, 0x05, 0x06, we support 0x04' });
  });

  it('without a bitmap uses the smaller header version', () => {
    expect(negotiateVersion(parsePeerHello(hello(5)))).toEqual({ ok: true, version: 4 });
    expect(negotiateVersion(parsePeerHello(hello(1)))).toEqual({
      ok: false,
      reason: "peer's highest version is 0x01, we support 0x04",
    });
  });

  it('ignores a truncated element rather than reading past the message', () => {
    const buf = hello(4, [versionBitmap([4])]);
    buf.writeUInt16BE(200, 10);
    expect(parsePeerHello(buf)).toEqual({ headerVersion: 4 });
  });

  it('reads only the 8 bitmap words that can name a version, however long the element (issue 18, defect 6)', () => {
    const words = Array.from({ length: 16000 }, (_, i) => (i === 0 ? 0xffffffef : 0xffffffff)); // all but 1.3
    const buf = hello(6, words);
    const wordReads = jest.spyOn(Buffer.prototype, 'readUInt32BE');
    try {
      const peer = parsePeerHello(buf);
      expect(wordReads).toHaveBeenCalledTimes(8);
      expect(peer.bitmapVersions).toHaveLength(255);
    } finally {
      wordReads.mockRestore();
    }
  });

  it('encodes our bitmap with bit 4 set', () => {
    expect(versionBitmap()).toBe(0x10);
  });
});
