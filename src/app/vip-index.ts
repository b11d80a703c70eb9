// The services' VIPs indexed for the packet-in's lookup (ServiceTable.lookup/lookup6/owner/owner6): by protocol and
// port, then longest prefix first, each family on its own. find4 and find6 run on every packet-in to a VIP.
import type { Ipv6Pair } from '../net/ipv6';
import type { IpPrefix } from '../net/prefix';
import type { ServiceState } from './services';

/**
 * One family's VIPs of a set of services, indexed as a scan of them longest prefix first finds them (the switch's
 * table-0 priorities, band + prefix length, decide the same): one level per prefix length in use, longest first, each
 * a map from the network's key (IPv4: the network address; IPv6: its words' fold) to the services with that network,
 * in configuration order. An address is looked up once per level: a port with 1,000 single-address VIPs costs one map
 * lookup, not 1,000 compares (a decision packet-in went from 1.7 to 6.3-7.5 us with the scan).
 */
export interface VipIndex {
  levels: VipLevel[];
  /**
   * IPv6, where the longest level is /128 with one address: its first service and the address's words as int32s,
   * checked before the levels (findPair6). A port with one IPv6 VIP address, the common case, then costs four compares
   * inside the caller instead of the out-of-line find6 (V8 does not inline it: ~90 instructions per new connection).
   */
  top6: ServiceState | undefined;
  top0: number;
  top1: number;
  top2: number;
  top3: number;
}

interface VipLevel {
  length: number;
  /** IPv4: the prefix mask; IPv6: the four words' masks. */
  mask: number;
  masks6: Uint32Array | undefined;
  byKey: Map<number, ServiceState[]>;
}

export const EMPTY_INDEX: VipIndex = { levels: [], top6: undefined, top0: 0, top1: 0, top2: 0, top3: 0 };

/** The index of `services` by the prefix `vip` gives each (all of one family). */
export function vipIndexOf(services: readonly ServiceState[], vip: (s: ServiceState) => IpPrefix): VipIndex {
  const byLength = new Map<number, VipLevel>();
  for (const service of services) {
    const prefix = vip(service);
    let level = byLength.get(prefix.length);
    if (level === undefined) {
      level = { length: prefix.length, mask: prefix.mask | 0, masks6: prefix.words?.slice(4, 8), byKey: new Map() };
      byLength.set(prefix.length, level);
    }
    const key = prefix.family === 4 ? prefix.base | 0 : prefix.fold! | 0;
    const list = level.byKey.get(key);
    if (list === undefined) level.byKey.set(key, [service]);
    else list.push(service);
  }
  const levels = [...byLength.values()].sort((a, b) => b.length - a.length);
  const top = levels.length > 0 && levels[0].length === 128 && levels[0].byKey.size === 1 ? [...levels[0].byKey.values()][0][0] : undefined;
  const w = top?.vip6!.words;
  return { levels, top6: top, top0: w ? w[0] | 0 : 0, top1: w ? w[1] | 0 : 0, top2: w ? w[2] | 0 : 0, top3: w ? w[3] | 0 : 0 };
}

/** `services` indexed by protocol and port (proto << 16 | port). */
export function byPortOf(services: readonly ServiceState[], vip: (s: ServiceState) => IpPrefix): Map<number, VipIndex> {
  const byPort = new Map<number, ServiceState[]>();
  for (const service of services) {
    const slot = (service.proto << 16) | service.config.port;
    const list = byPort.get(slot);
    if (list === undefined) byPort.set(slot, [service]);
    else list.push(service);
  }
  return new Map([...byPort].map(([slot, list]) => [slot, vipIndexOf(list, vip)]));
}

/** The first service, longest prefix first, whose IPv4 VIP holds dst (a network's services all hold it: its first). */
export function find4(index: VipIndex, dst: number): ServiceState | undefined {
  const levels = index.levels;
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i];
    const list = level.byKey.get(dst & level.mask);
    if (list !== undefined) return list[0];
  }
  return undefined;
}

/**
 * find6 of a packet's destination (`p`'s d0..d3; `fold`, their fold): the index's top address compared first, the levels
 * only where it is not the packet's. Small, so V8 inlines it into the packet-in's transport.
 */
export function findPair6(index: VipIndex, p: Ipv6Pair, fold: number): ServiceState | undefined {
  const top = index.top6;
  if (top !== undefined && p.d0 === index.top0 && p.d1 === index.top1 && p.d2 === index.top2 && p.d3 === index.top3) return top;
  return find6(index, p.d0, p.d1, p.d2, p.d3, fold);
}

/**
 * find4 for IPv6 (the address's four words a0..a3): the key is the fold of the address's masked words; services
 * whose network has that fold are checked word by word (another network may share a fold). The check is containsIpv6Words written out with the level's masks
 * (every network of a level has its length): on every IPv6 packet-in, and the call was not inlined (86 instructions
 * per new connection of its own, callgrind).
 */
export function find6(index: VipIndex, a0: number, a1: number, a2: number, a3: number, fold: number): ServiceState | undefined {
  const levels = index.levels;
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i];
    const m = level.masks6!;
    const d0 = a0 & m[0];
    const d1 = a1 & m[1];
    const d2 = a2 & m[2];
    const d3 = a3 & m[3];
    const list = level.byKey.get(level.length === 128 ? fold | 0 : d0 ^ d1 ^ d2 ^ d3);
    if (list === undefined) continue;
    for (let j = 0; j < list.length; j++) {
      // The network's words have no bits outside the mask: equal to the masked address's words (as int32s) or not inside.
      const net = list[j].vip6!.words!;
      if (d0 === (net[0] | 0) && d1 === (net[1] | 0) && d2 === (net[2] | 0) && d3 === (net[3] | 0)) return list[j];
    }
  }
  return undefined;
}
