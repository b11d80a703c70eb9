import { AddressError, ipv4ToUint32 } from '../../../src/net';

describe('ipv4ToUint32 (char-code parser)', () => {
  it('parses every octet position and the extremes', () => {
    expect(ipv4ToUint32('0.0.0.0')).toBe(0);
    expect(ipv4ToUint32('1.2.3.4')).toBe(0x01020304);
    expect(ipv4ToUint32('192.168.100.7')).toBe(0xc0a86407);
    expect(ipv4ToUint32('255.255.255.255')).toBe(0xffffffff);
    expect(ipv4ToUint32('010.0.0.1')).toBe(0x0a000001);
  });

  it.each(['', '.', '1.2.3', '1.2.3.4.5', '1..2.3', '.1.2.3', '1.2.3.', '1.2.3.4 ', 'a.b.c.d', '1.2.3.1000', '-1.2.3.4', '1.2.3.4/24'])(
    'rejects %j as not a dotted quad', (text) => {
      expect(() => ipv4ToUint32(text)).toThrow(AddressError);
      expect(() => ipv4ToUint32(text)).toThrow(/expected a dotted quad/);
    },
  );

  it('names the octet that is out of range, in any position', () => {
    expect(() => ipv4ToUint32('300.0.0.1')).toThrow(/octet 300 out of range 0..255 in 300.0.0.1/);
    expect(() => ipv4ToUint32('10.0.0.256')).toThrow(/octet 256/);
  });
});
