// The vadc table pipeline as data, its cookie scheme, the flow checker, and pure flow/packet builders.
export * from './cookies';
export * from './pipeline';
export * from './check';
export * from './builders';
export * from './connection-reading';
export * from './conntrack';
export * from './conntrack-dump';
export * from './groups';
export * from './packets';
export * from './ipv6-packets';
export * from './ipv6-replies';
export * from './table-entry';
export * from './egress';
