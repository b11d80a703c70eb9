import { AddressError, containsIpv4, isSingleAddress, containsIpv6Words, formatIpv6, ipv6Words, notUnicastReason, ipv4ToUint32, macToNumber, numberToMac, overlaps, parseIpv6, parsePrefix } from '../../../src/net';

describe('parsePrefix: one parser for VIPs and networks', () => {
  it('gives an address and its /32 the same canonical text, with base and mask', () => {
    expect(parsePrefix('10.0.0.100')).toMatchObject({ family: 4, address: '10.0.0.100', length: 32, text: '10.0.0.100', base: 0x0a000064, mask: 0xffffffff });
    expect(parsePrefix('10.0.0.100/32').text).toBe('10.0.0.100');
    expect(parsePrefix('10.2.0.0/16')).toMatchObject({ text: '10.2.0.0/16', base: 0x0a020000, mask: 0xffff0000 });
    expect(parsePrefix('0.0.0.0/0')).toMatchObject({ length: 0, mask: 0 });
  });

  it('tells a single address (/32, /128) from a range, by family', () => {
    expect(['10.0.0.100', '10.0.0.100/32', 'fd00::100', 'fd00::100/128'].map((t) => isSingleAddress(parsePrefix(t)))).toEqual([true, true, true, true]);
    // /32 is a range in IPv6, and /31 and /127 are ranges of two.
    expect(['fd00::/32', '10.0.0.100/31', 'fd00::100/127', '0.0.0.0/0'].map((t) => isSingleAddress(parsePrefix(t)))).toEqual([false, false, false, false]);
  });

  it('reads IPv6 addresses and prefixes into RFC 5952 text', () => {
    expect(parsePrefix('FD00:0:0:0:0:0:0:100')).toMatchObject({ family: 6, text: 'fd00::100', length: 128 });
    expect(parsePrefix('fd00:1::/64')).toMatchObject({ family: 6, text: 'fd00:1::/64', length: 64 });
  });

  it.each([
    ['10.0.0.1/24', /host bits are set; the network is 10.0.0.0\/24/],
    ['fd00::1/64', /host bits are set; the network is fd00::\/64/],
    ['10.0.0.0/33', /prefix length "33" is not 0..32/],
    ['10.0.0.0/', /prefix length "" is not 0..32/],
    ['10.0.0.0/8x', /prefix length "8x"/],
    ['10.0.0', /is not an IPv4 or IPv6 address/],
    ['fe80::1%eth0', /is not an IPv4 or IPv6 address/],
    ['', /is not an IPv4 or IPv6 address/],
  ])('refuses %s', (text, message) => {
    expect(() => parsePrefix(text)).toThrow(AddressError);
    expect(() => parsePrefix(text)).toThrow(message);
  });

  it('containment and overlap, by prefix', () => {
    const net = parsePrefix('10.0.0.0/24');
    expect(containsIpv4(net, ipv4ToUint32('10.0.0.255'))).toBe(true);
    expect(containsIpv4(net, ipv4ToUint32('10.0.1.0'))).toBe(false);
    expect(overlaps(net, parsePrefix('10.0.0.100'))).toBe(true);
    expect(overlaps(net, parsePrefix('10.0.1.0/24'))).toBe(false);
    expect(overlaps(parsePrefix('fd00::/16'), parsePrefix('fd00:1::5'))).toBe(true);
    expect(overlaps(parsePrefix('fd00::/16'), parsePrefix('fd01::5'))).toBe(false);
    expect(overlaps(net, parsePrefix('fd00::/16'))).toBe(false);
  });
});

describe('IPv6 prefixes as the packet-in path asks them (address words)', () => {
  const words = (text: string) => ipv6Words(parseIpv6(text));
  it('holds an address inside the prefix on every word boundary, and not one a bit outside', () => {
    for (const [prefix, inside, outside] of [
      ['fd00::100', 'fd00::100', 'fd00::101'],
      ['fd00:1::/64', 'fd00:1::ffff:1', 'fd00:1:0:1::1'],
      ['fd00:1::/33', 'fd00:1:7fff::1', 'fd00:1:8000::'],
      ['fd00::/8', 'fdff:ffff::1', 'fe00::'],
      ['2001:db8::/96', '2001:db8::ffff:ffff', '2001:db8::1:0:0'],
    ]) {
      expect([prefix, containsIpv6Words(parsePrefix(prefix), words(inside))]).toEqual([prefix, true]);
      expect([prefix, containsIpv6Words(parsePrefix(prefix), words(outside))]).toEqual([prefix, false]);
    }
    expect(containsIpv6Words(parsePrefix('10.0.0.0/8'), words('a00::'))).toBe(false);
  });

  it('names why an IPv6 address cannot be a VIP or backend, and lets unique-local and global ones through', () => {
    expect(notUnicastReason('::')).toBe(':: is the unspecified address ::');
    expect(notUnicastReason('FE80::1')).toBe('fe80::1 is a link-local address (fe80::/10), which needs a zone');
    expect(notUnicastReason('fd00::1')).toBeUndefined();
    expect(notUnicastReason('2001:db8::1')).toBeUndefined();
  });
});

describe('IPv6 text <-> bytes', () => {
  it.each([
    ['::', '::'], ['::1', '::1'], ['2001:db8::1', '2001:db8::1'], ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], ['::ffff:10.0.0.1', '::ffff:a00:1'], ['fd00:0:0:0:0:0:0:0', 'fd00::'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
  ])('%s is %s in RFC 5952 form', (text, canonical) => {
    expect(formatIpv6(parseIpv6(text))).toBe(canonical);
  });

  it.each(['1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', 'g::1', '1:2:3:4:5:6:7', ':::'])('refuses %s', (text) => {
    expect(() => parseIpv6(text)).toThrow(AddressError);
  });
});

describe('MACs as numbers (pre-encoded layout slots)', () => {
  it('round-trips through 48-bit numbers', () => {
    for (const mac of ['00:00:00:00:00:00', 'ff:ff:ff:ff:ff:ff', '52:54:00:12:34:56']) expect(numberToMac(macToNumber(mac))).toBe(mac);
    expect(() => macToNumber('52:54:00:12:34')).toThrow(/not a MAC/);
  });
});
