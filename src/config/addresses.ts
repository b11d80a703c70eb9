import { isIPv4, isIP } from 'node:net';
import { parsePrefix } from '../net';

/**
 * The VIP's default MAC: 02:00 followed by the four IPv4 bytes, or for an IPv6 VIP 02:06 followed by its last
 * four bytes. 0x02 in the first octet sets the locally-administered bit and clears the multicast bit, so it never
 * collides with a vendor-assigned NIC address, and the same VIP always gets the same MAC across restarts
 * (clients' ARP and neighbor caches stay valid). For a prefix VIP the network address is used.
 */
export function deriveVipMac(vip: string): string {
  const prefix = parsePrefix(vip);
  const hex = (o: number) => o.toString(16).padStart(2, '0');
  if (prefix.family === 6) return ['02', '06', ...[...prefix.bytes!.subarray(12)].map(hex)].join(':');
  const { base } = prefix;
  return ['02', '00', ...[base >>> 24, (base >>> 16) & 0xff, (base >>> 8) & 0xff, base & 0xff].map(hex)].join(':');
}

export type Target =
  | { kind: 'unix'; path: string }
  | { kind: 'tcp' | 'ssl'; host: string; port: number };

/**
 * Parses OVS-style connection targets: `unix:/path`, `tcp:HOST:PORT`, `ssl:HOST:PORT`
 * (an IPv6 host is written in brackets, `tcp:[::1]:6653`). Port 0 means "any free port" for listeners.
 */
export function parseTarget(text: string, kinds: ReadonlyArray<Target['kind']>): Target | { error: string } {
  const colon = text.indexOf(':');
  const kind = colon < 0 ? '' : text.slice(0, colon);
  if (!(kinds as string[]).includes(kind)) {
    return { error: `expected ${kinds.map((k) => (k === 'unix' ? 'unix:PATH' : `${k}:HOST:PORT`)).join(' or ')}, got "${text}"` };
  }
  const rest = text.slice(colon + 1);
  if (kind === 'unix') {
    if (!rest.startsWith('/')) return { error: `expected an absolute socket path after "unix:", got "${rest}"` };
    return { kind: 'unix', path: rest };
  }
  const m = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(rest);
  if (!m) return { error: `expected ${kind}:HOST:PORT, got "${text}"` };
  const host = m[1].startsWith('[') ? m[1].slice(1, -1) : m[1];
  if (m[1].startsWith('[') && isIP(host) !== 6) return { error: `"${host}" is not an IPv6 address` };
  if (!m[1].startsWith('[') && !isIPv4(host) && !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(host)) {
    return { error: `"${host}" is neither an IPv4 address nor a host name` };
  }
  const port = Number(m[2]);
  if (port > 65535) return { error: `port ${port} is out of range 0..65535` };
  return { kind: kind as 'tcp' | 'ssl', host, port };
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIPv4(host) && host.startsWith('127.'));
}
