// Addresses: IPv4 and IPv6 text <-> bytes/numbers, prefixes (VIPs), MACs. Pure; no dependency on the rest.
export * from './errors';
export * from './ipv4';
export * from './ipv6';
export * from './prefix';
export * from './mac';
export * from './special';
export * from './endpoint';
