/**
 * An endpoint as people and HTTP read it: 10.0.0.1:80, or an IPv6 address in brackets, [fd00::1]:80 (RFC 5952 section 6,
 * RFC 3986); `port` may be a list as text (`8080,8081`) or `?`. Self-contained: the dashboard page copies it (plot.ts).
 */
export function formatEndpoint(address: string, port: number | string): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
