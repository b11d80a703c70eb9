// The byte-level helpers under every codec: address text to bytes and back (parsed by char codes, so each edge
// of the digit ranges and separators is checked here), the NUL-padded string fields, and the slab writer.
import { OfpDecodeError, OfpEncodeError } from '../../../src/openflow/errors';
import {
  Writer, readFixedString, readIpv4, readIpv6, readMac, writeFixedString, writeIpv4, writeIpv6, writeMac, readU64, writeU64,
} from '../../../src/openflow/wire';

const macBytes = (mac: unknown): string => {
  const b = Buffer.alloc(8, 0xee);
  writeMac(b, 1, mac, 'm.mac');
  return b.toString('hex');
};
const ipv4Bytes = (ip: unknown): string => {
  const b = Buffer.alloc(6, 0xee);
  writeIpv4(b, 1, ip, 'm.ip');
  return b.toString('hex');
};

describe('wire: MAC addresses', () => {
  it('writes every hex digit, lower and upper case, at the offset given', () => {
    expect(macBytes('01:23:45:67:89:ab')).toBe('ee0123456789abee');
    expect(macBytes('cd:ef:AB:CD:EF:00')).toBe('eecdefabcdef00ee');
    expect(macBytes('90:fa:Fa:09:aF:Af')).toBe('ee90fafa09afafee');
  });

  it('refuses a character just outside each digit range, a wrong separator and a wrong length', () => {
    // '/' and ':' border '0'-'9', '`' and 'g' border 'a'-'f', '@' and 'G' border 'A'-'F'.
    for (const bad of ['/0', '0:', '`0', '0g', '@0', '0G']) {
      const mac = `${bad}:00:00:00:00:00`;
      expect(() => macBytes(mac)).toThrow(new OfpEncodeError('m.mac', `expected a MAC address 'aa:bb:cc:dd:ee:ff', got ${mac}`));
      expect(() => macBytes(`00:00:00:00:00:${bad}`)).toThrow(OfpEncodeError);
    }
    expect(() => macBytes('00-00:00:00:00:00')).toThrow(OfpEncodeError);
    expect(() => macBytes('00:00:00:00:00;00')).toThrow(OfpEncodeError);
    expect(() => macBytes('00:00:00:00:00:0')).toThrow(OfpEncodeError);
    expect(() => macBytes('00:00:00:00:00:000')).toThrow(OfpEncodeError);
    expect(() => macBytes(0x010203040506)).toThrow(OfpEncodeError);
    expect(() => macBytes({ length: 17 })).toThrow(OfpEncodeError); // not a string, whatever its length
  });

  it('reads six bytes at the offset as lower-case text', () => {
    expect(readMac(Buffer.from('ff0a0b0c0d0eff01', 'hex'), 1)).toBe('0a:0b:0c:0d:0e:ff');
  });
});

describe('wire: IPv4 addresses', () => {
  it('writes the shortest and the longest dotted quads and every octet edge', () => {
    expect(ipv4Bytes('1.2.3.4')).toBe('ee01020304ee');
    expect(ipv4Bytes('255.255.255.255')).toBe('eeffffffffee');
    expect(ipv4Bytes('0.9.10.199')).toBe('ee00090ac7ee');
    expect(ipv4Bytes('200.250.100.99')).toBe('eec8fa6463ee');
  });

  it('refuses an octet above 255 or of four digits, an empty part, a part too many or too few, other characters', () => {
    for (const bad of ['256.0.0.0', '0.0.0.256', '0255.0.0.0', '1.2.3.0004', '1..2.3.4', '.1.2.3.4', '1.2.3.4.', '1.2.3.4.5',
      '1.2.3', '1.2.3.', '1.2.3.4a', '1.2.3/4', '1.2.3:4', '1.2.3 4', '255.255.255.2555', '', '.12.3.4', '1..23.4',
      '10.20.30', '1.2.3.4.5.6', '10.20.30.40.5']) {
      const b = Buffer.alloc(6, 0xee);
      expect(() => writeIpv4(b, 1, bad, 'm.ip')).toThrow(new OfpEncodeError('m.ip', `expected a dotted-quad IPv4 address, got ${bad}`));
      expect(b[5]).toBe(0xee); // nothing written past the field
    }
    expect(() => ipv4Bytes(0x01020304)).toThrow(OfpEncodeError);
    expect(() => ipv4Bytes({ length: 9 })).toThrow(OfpEncodeError);
  });

  it('reads four bytes at the offset', () => {
    expect(readIpv4(Buffer.from('ff0a140001fe', 'hex'), 1)).toBe('10.20.0.1');
  });
});

describe('wire: IPv6 addresses', () => {
  it('writes sixteen bytes at the offset and refuses what is not an address, naming the path', () => {
    const b = Buffer.alloc(18, 0xee);
    writeIpv6(b, 1, '2001:db8::1', 'm.ip6');
    expect(b.toString('hex')).toBe('ee20010db8000000000000000000000001ee');
    expect(() => writeIpv6(b, 1, '2001:db8::g', 'm.ip6')).toThrow(new OfpEncodeError('m.ip6', 'expected an IPv6 address, got 2001:db8::g'));
    expect(() => writeIpv6(b, 1, 5, 'm.ip6')).toThrow(new OfpEncodeError('m.ip6', 'expected an IPv6 address, got 5'));
    expect(readIpv6(b, 1)).toBe('2001:db8::1');
  });
});

describe('wire: fixed-size strings', () => {
  it('reads up to the first NUL or the end of the field, ASCII and UTF-8', () => {
    const b = Buffer.from('ff6574683000ffff6162636465ff', 'hex'); // 'eth0' NUL ..., 'abcde'
    expect(readFixedString(b, 1, 6)).toBe('eth0');
    expect(readFixedString(b, 8, 5)).toBe('abcde');
    expect(readFixedString(b, 8, 3)).toBe('abc');
    expect(readFixedString(b, 5, 0)).toBe('');
    const utf8 = Buffer.concat([Buffer.from('x'), Buffer.from('pört', 'utf8'), Buffer.alloc(2)]);
    expect(readFixedString(utf8, 1, 7)).toBe('pört');
    const allWide = Buffer.concat([Buffer.from('éé', 'utf8'), Buffer.alloc(1)]); // no ASCII byte at all
    expect(readFixedString(allWide, 0, 5)).toBe('éé');
  });

  it('refuses bytes that are not UTF-8, at the field offset', () => {
    const b = Buffer.from('ff41c328ff', 'hex');
    let caught: unknown;
    try { readFixedString(b, 1, 3); } catch (e) { caught = e; }
    expect(caught).toBeInstanceOf(OfpDecodeError);
    expect(caught).toMatchObject({ offset: 1, reason: 'string field is not valid UTF-8' });
  });

  it('writes the text NUL-padded to the field size, and refuses a longer text or a non-string', () => {
    const b = Buffer.alloc(8, 0xee);
    writeFixedString(b, 1, 6, 'eth0', 'p.name');
    expect(b.toString('hex')).toBe('ee657468300000ee');
    writeFixedString(b, 1, 6, 'abcdef', 'p.name');
    expect(b.toString('hex')).toBe('ee616263646566ee');
    writeFixedString(b, 1, 6, 'pört', 'p.name');
    expect(b.toString('hex')).toBe('ee70c3b6727400ee');
    expect(() => writeFixedString(b, 1, 6, 'abcdefg', 'p.name')).toThrow(new OfpEncodeError('p.name', 'string longer than 6 bytes'));
    expect(() => writeFixedString(b, 1, 6, 'pörtxx', 'p.name')).toThrow(OfpEncodeError);
    expect(() => writeFixedString(b, 1, 6, 7, 'p.name')).toThrow(new OfpEncodeError('p.name', 'expected a string'));
  });
});

describe('wire: u64 and the slab writer', () => {
  it('writes a u64 big-endian', () => {
    const b = Buffer.alloc(10, 0xee);
    writeU64(b, 1, 0x0102030405060708n);
    expect(b.toString('hex')).toBe('ee0102030405060708ee');
  });

  it('reads a u64 big-endian, each value right whether it repeats the last one read or not', () => {
    // readU64 returns the last value again while the bytes repeat: every change of either half (and of the sign bit of
    // each, as the halves are compared as signed 32-bit numbers) must make a new value; all-zero bytes are 0n at once.
    const values = [
      0n, 0x0102030405060708n, 0x0102030405060708n, 0x0102030405060709n, 0x0002030405060709n, 0xffffffffffffffffn,
      0xffffffff00000000n, 0x00000000ffffffffn, 0x8000000000000000n, 0x0000000080000000n, 0x0000000080000000n, 0n,
      0xabcde00000000001n, 0n, 0xffffffffffffffffn,
    ];
    for (const v of values) {
      const b = Buffer.alloc(11, 0xee);
      b.writeBigUInt64BE(v, 2);
      expect(readU64(b, 2)).toBe(v);
      expect(readU64(b, 2)).toBe(b.readBigUInt64BE(2));
    }
  });

  it('reads a new u64 when only one byte changed since the last read, whichever byte and whatever the bytes around', () => {
    // The repeat check compares the eight bytes at p: a value that differs from the last in one byte alone is new, even
    // where the bytes just before and after p stay the same.
    const base = 0x0102030405060708n;
    for (let k = 0; k < 8; k++) {
      const b = Buffer.alloc(12, 0xee);
      b.writeBigUInt64BE(base, 2);
      expect(readU64(b, 2)).toBe(base);
      b[2 + k] ^= 0x80;
      expect(readU64(b, 2)).toBe(b.readBigUInt64BE(2));
      expect(readU64(b, 2)).not.toBe(base);
    }
  });

  it('hands out messages as views that later messages never overwrite, each starting 8-aligned', () => {
    const w = new Writer(64);
    const views: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      const start = w.begin(8);
      expect(start % 8).toBe(0);
      w.bytes(Buffer.alloc(3 + (i % 11), i), 'm');
      views.push(w.finish());
    }
    views.forEach((v, i) => expect(v.equals(Buffer.alloc(3 + (i % 11), i))).toBe(true));
  });

  it('grows past a slab mid-message keeping what was written, and keeps earlier views', () => {
    const w = new Writer();
    w.begin(8);
    w.bytes(Buffer.from('first'), 'm');
    const first = w.finish();
    w.begin(8);
    w.bytes(Buffer.from('abc'), 'm');
    w.zeros(3);
    w.bytes(Buffer.alloc(70000, 0x61), 'm');
    w.zeros(40);
    w.bytes(Buffer.from('z'), 'm');
    const out = w.finish();
    expect(out.length).toBe(3 + 3 + 70000 + 40 + 1);
    expect(out.subarray(0, 6).toString('hex')).toBe('616263000000');
    expect(out.subarray(6, 70006).equals(Buffer.alloc(70000, 0x61))).toBe(true);
    expect(out.subarray(70006).toString('hex')).toBe(`${'00'.repeat(40)}7a`);
    expect(first.toString()).toBe('first');
    // More than twice the slab at once: the growth takes what is needed.
    const pattern = Buffer.from(Array.from({ length: 200000 }, (_, i) => i % 251));
    w.begin(8);
    w.bytes(pattern, 'm');
    w.bytes(Buffer.from('y'), 'm');
    const huge = w.finish();
    expect(huge.length).toBe(200001);
    expect(huge.subarray(0, 200000).equals(pattern)).toBe(true);
    expect(huge[200000]).toBe(0x79);
    expect(() => w.bytes('x' as unknown as Buffer, 'm.data')).toThrow(new OfpEncodeError('m.data', 'expected a Buffer'));
  });

  it('writes zeros over whatever the slab held, short padding and long', () => {
    const w = new Writer();
    w.begin(8);
    w.buf.fill(0xff);
    w.zeros(5);
    w.zeros(16);
    w.zeros(17);
    expect(w.finish().equals(Buffer.alloc(38))).toBe(true);
  });
});
