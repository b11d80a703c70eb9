import { Backend, BackendSpec, PacketKey, Scheduler } from '../../../src/lb';

/** Backends named A, B, C ... with the given weights, one software port each unless told. */
export function members(weights: number[], extra: Partial<BackendSpec> = {}): Backend[] {
  return weights.map((weight, i) => new Backend({
    id: String.fromCharCode(65 + i), ip: 0x0a000001 + i, ports: [8080], weight, ...extra,
  }));
}

export function packet(srcIp = 0xc0a80001, srcPort = 40000, dstIp = 0x0a000064): PacketKey {
  return { srcIp, srcPort, dstIp, dstPort: 80, proto: 6 };
}

/** The ids a scheduler picks over `count` new connections (null shown as '-'). */
export function sequence(s: Scheduler, list: readonly Backend[], count: number, now = 0): string {
  let out = '';
  for (let i = 0; i < count; i++) out += s.pick(list, packet(0xc0a80001, 1024 + i), now)?.id ?? '-';
  return out;
}
