/**
 * An endpoint as people and HTTP read it: 10.0.0.1:80, or an IPv6 address in brackets, [fd00::1]:80 (RFC 5952 section 6,
 * RFC 3986); `port` may be a list as text (`8080,8081`) or `?`. Self-contained: the dashboard page copies it (plot.ts).
 */
export function formatEndpoint(address: string, port: number | string): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** A service's VIP endpoints: a dual-stack service's IPv4 one, then its IPv6 one, space-separated. */
export function formatVipEndpoints(s: { vip: string; vip6?: string; port: number | string }): string {
  return s.vip6 === undefined ? formatEndpoint(s.vip, s.port) : `${formatEndpoint(s.vip, s.port)} ${formatEndpoint(s.vip6, s.port)}`;
}
