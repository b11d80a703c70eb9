import { LbInputError } from './errors';

const DOTTED_QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** '10.0.0.1' -> 0x0a000001. The hot path works on uint32 numbers; strings only at the edges. */
export function ipv4ToUint32(text: string): number {
  const m = DOTTED_QUAD.exec(text);
  if (!m) throw new LbInputError('ipv4', `expected a dotted quad like 10.0.0.1, got ${JSON.stringify(text)}`);
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255) throw new LbInputError('ipv4', `octet ${octet} out of range 0..255 in ${text}`);
    value = value * 256 + octet;
  }
  return value;
}

/** 0x0a000001 -> '10.0.0.1'. */
export function uint32ToIpv4(value: number): string {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new LbInputError('ipv4', `expected an integer 0..2^32-1, got ${value}`);
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
