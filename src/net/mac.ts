import { AddressError } from './errors';

/** Lower- or upper-case colon-separated MAC, the form OpenFlow match values use. */
const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

export function isMac(text: string): boolean {
  return MAC_RE.test(text);
}

/** A MAC with the group (multicast) bit set cannot be a VIP's or a host's own address. */
export function isUnicastMac(text: string): boolean {
  return isMac(text) && (parseInt(text.slice(0, 2), 16) & 1) === 0;
}

/** A MAC text as its 6 bytes. */
export function macBytes(mac: string): Buffer {
  if (!isMac(mac)) throw new AddressError('mac', `not a MAC: ${JSON.stringify(mac)}`);
  return Buffer.from(mac.replace(/:/g, ''), 'hex');
}

/** A MAC as a 48-bit number (exact in a double), for pre-encoded layouts' slots. */
export function macToNumber(mac: string): number {
  const b = macBytes(mac);
  return b.readUIntBE(0, 6);
}

/** A 48-bit number as a MAC text (the inverse of macToNumber). */
export function numberToMac(value: number): string {
  const b = Buffer.alloc(6);
  b.writeUIntBE(value, 0, 6);
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}
