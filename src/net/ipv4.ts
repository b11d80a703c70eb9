import { AddressError } from './errors';

const DIGIT_0 = 48;
const DOT = 46;

function badQuad(text: string): AddressError {
  return new AddressError('ipv4', `expected a dotted quad like 10.0.0.1, got ${JSON.stringify(text)}`);
}

/**
 * '10.0.0.1' -> 0x0a000001. The hot path works on uint32 numbers; strings only at the edges. Parsed
 * by char codes (no regex, no match array): it runs several times per packet-in.
 */
export function ipv4ToUint32(text: string): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === DOT) {
      if (digits === 0 || dots === 3) throw badQuad(text);
      if (octet > 255) throw new AddressError('ipv4', `octet ${octet} out of range 0..255 in ${text}`);
      value = value * 256 + octet;
      dots++;
      octet = 0;
      digits = 0;
    } else {
      const d = c - DIGIT_0;
      if (d < 0 || d > 9 || digits === 3) throw badQuad(text);
      octet = octet * 10 + d;
      digits++;
    }
  }
  if (digits === 0 || dots !== 3) throw badQuad(text);
  if (octet > 255) throw new AddressError('ipv4', `octet ${octet} out of range 0..255 in ${text}`);
  return value * 256 + octet;
}

/** 0x0a000001 -> '10.0.0.1'. */
export function uint32ToIpv4(value: number): string {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new AddressError('ipv4', `expected an integer 0..2^32-1, got ${value}`);
  }
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/** Accepts either form, so specs can carry addresses as configuration strings or numbers. */
export function toUint32(ip: string | number): number {
  if (typeof ip === 'number') {
    uint32ToIpv4(ip); // validates the range
    return ip;
  }
  return ipv4ToUint32(ip);
}
