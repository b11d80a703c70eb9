// The one IPv6 text implementation (src/net/ipv6.ts): RFC 4291 text in, RFC 5952 text out. src/openflow's codec and
// everything that shows an address use it.
import { AddressError, formatIpv6, parseIpv6 } from '../../../src/net';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('formatIpv6 (RFC 5952)', () => {
  it.each([
    // Section 4.1: no leading zeros. 4.2.1: '::' as long as possible. 4.2.2: not for one group. 4.2.3: the
    // longest run, the first on a tie. 4.3: lower case.
    ['20010db8000000000000000000000001', '2001:db8::1'],
    ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
    ['20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'],
    ['20010db8000000000001000000000000', '2001:db8:0:0:1::'],
    ['20010db8000000000000000100000000', '2001:db8::1:0:0'],
    ['20010db800000000ffff000000000000', '2001:db8:0:0:ffff::'],
    ['00000000000000000000000000000000', '::'],
    ['00000000000000000000000000000001', '::1'],
    ['fd000000000000000000000000010100', 'fd00::1:100'],
    ['abcdef0123456789abcdef0123456789', 'abcd:ef01:2345:6789:abcd:ef01:2345:6789'],
  ])('%s is %s', (bytes, text) => {
    expect(formatIpv6(Buffer.from(bytes, 'hex'))).toBe(text);
    // The WHATWG URL serializer compresses independently of ours.
    expect(new URL(`http://[${text}]/`).hostname).toBe(`[${text}]`);
  });

  it('reads at an offset', () => {
    expect(formatIpv6(Buffer.from('ff20010db8000000000000000000000002', 'hex'), 1)).toBe('2001:db8::2');
  });
});

describe('parseIpv6 (RFC 4291 section 2.2)', () => {
  it.each([
    ['2001:DB8::1', '20010db8000000000000000000000001'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '20010db8000000000000000000000001'],
    ['::', '00000000000000000000000000000000'],
    ['1::', '00010000000000000000000000000000'],
    ['1:2:3:4:5:6:7::', '00010002000300040005000600070000'],
    ['::ffff:10.0.0.1', '00000000000000000000ffff0a000001'],
    ['64:ff9b::192.0.2.33', '0064ff9b0000000000000000c0000221'],
  ])('%s', (text, bytes) => {
    expect(hex(parseIpv6(text))).toBe(bytes);
  });

  it.each([
    ['1:2:3:4:5:6:7:8:9', '9 groups'],
    ['1::2::3', "more than one '::'"],
    ['1:2:3:4:5:6:7:8::', '8 groups'],
    ['12345::1', 'is not 1-4 hex digits'],
    ['fe80::1%eth0', 'zone ids'],
    ['1.2.3.4::', 'is not 1-4 hex digits'],
    ['::1.2.3.4:5', 'is not 1-4 hex digits'],
    ['g::1', 'is not 1-4 hex digits'],
    ['', '0 groups'],
  ])('refuses %s (%s)', (text, why) => {
    expect(() => parseIpv6(text)).toThrow(AddressError);
    expect(() => parseIpv6(text)).toThrow(why);
  });

  it('round-trips random addresses through text', () => {
    let seed = 7;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    for (let n = 0; n < 2000; n++) {
      const bytes = new Uint8Array(16).map((_, i) => (rnd() < 0.4 && i % 2 === 0 ? 0 : Math.floor(rnd() * 256)));
      for (let i = 0; i < 16; i += 2) if (rnd() < 0.3) bytes[i] = bytes[i + 1] = 0;
      const text = formatIpv6(bytes);
      expect(hex(parseIpv6(text))).toBe(hex(bytes));
      expect(new URL(`http://[${text}]/`).hostname).toBe(`[${text}]`);
    }
  });
});
