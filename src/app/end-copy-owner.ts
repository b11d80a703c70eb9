// Which service a connection-end copy is of (end-copy-path.ts connectionEnd), and its count there.
import type { TransportHeader } from '../flows/packets';
import { clientFold6, vipFold6, type ConnKey } from '../lb/conn-key';
import { ipv4ToUint32 } from '../net/ipv4';
import { foldIpv6, ipv6Words, parseIpv6 } from '../net/ipv6';
import { addressesOf } from './nat/common';
import { membersOf, type ServiceState } from './services';

/**
 * The service an end copy of `key` is of, its `endCopies` counted. A client's copy is of the service its cookie names.
 * A backend's copy flow is one per backend address:port, shared by the services that send there (sharedEndCopyCookie):
 * `named` is the first of them (sharedCopyService), or, from an older vadc's flows, the service whose cookie the switch
 * kept. When `named` does not track `key`, each other service of that backend address:port (`h`'s source address and
 * port, the copy's) is asked with its own VIP address and port, set in `key`; left at `named`'s when none tracks it
 * (a health check's FIN is one such). A lookup of the services on such a miss only.
 */
export function endCopyOwner(services: readonly ServiceState[], named: ServiceState, key: ConnKey, fromClient: boolean, h: TransportHeader): ServiceState {
  const owner = fromClient || named.lb.connections.lookup(key) !== null ? named : otherOwner(services, named, key, h);
  owner.endCopies++;
  return owner;
}

function otherOwner(services: readonly ServiceState[], named: ServiceState, key: ConnKey, h: TransportHeader): ServiceState {
  for (const other of servicesAt(backendServices(services), h) ?? []) {
    if (other === named || other.l4 !== 'tcp') continue;
    setVip(key, other);
    if (other.lb.connections.lookup(key) !== null) return other;
  }
  setVip(key, named);
  return named;
}

/** `key`'s VIP address and port made `service`'s (its single address in the key's family). */
function setVip(key: ConnKey, service: ServiceState): void {
  key.vipPort = service.config.port;
  const pair = key.ip6;
  if (pair === undefined) {
    key.vip = service.vip.base;
    return;
  }
  const words = service.vip6!.words!;
  pair.d0 = words[0] | 0;
  pair.d1 = words[1] | 0;
  pair.d2 = words[2] | 0;
  pair.d3 = words[3] | 0;
  key.vip = vipFold6(pair);
}

/**
 * The service a shared backend copy (endCopyService's SHARED_END_COPY) is first read as, from the copy's header (read
 * once by the caller): the first TCP service with a single VIP of the packet's family that sends to the packet's source
 * address:port; undefined when none does (a flow an earlier configuration left). endCopyOwner then finds the one that
 * tracks the connection.
 */
export function sharedCopyService(services: readonly ServiceState[], h: TransportHeader): ServiceState | undefined {
  return servicesAt(backendServices(services), h)?.[0];
}

/** One IPv6 backend address (its words as int32s) and software port, with the services that send there. */
interface BackendAt6 {
  w0: number;
  w1: number;
  w2: number;
  w3: number;
  port: number;
  services: ServiceState[];
}

/**
 * The services by backend address:port, of each single-VIP TCP service in the address's family. IPv4: keyed by
 * address * 65536 + port. IPv6: by the address's words' fold and the port, each entry's words compared (two addresses
 * may fold alike), so a copy's source is looked up from its words with no text made per copy.
 */
interface BackendServices {
  v4: Map<number, ServiceState[]>;
  v6: Map<number, BackendAt6[]>;
}

/** The services sending to `h`'s source address and port (a backend's segment), in the order of the list. */
function servicesAt(index: BackendServices, h: TransportHeader): ServiceState[] | undefined {
  const p = h.ip6;
  if (p === undefined) return index.v4.get((h.src >>> 0) * 65536 + h.srcPort);
  const port = h.srcPort;
  const candidates = index.v6.get(key6(clientFold6(p), port)); // the source's fold: a backend's segment comes from it
  if (candidates === undefined) return undefined;
  for (const c of candidates) if (c.w0 === p.s0 && c.w1 === p.s1 && c.w2 === p.s2 && c.w3 === p.s3 && c.port === port) return c.services;
  return undefined;
}

const key6 = (fold: number, port: number): number => (fold >>> 0) * 65536 + port;

/** Made once per service list. */
const indexes = new WeakMap<readonly ServiceState[], BackendServices>();

function backendServices(services: readonly ServiceState[]): BackendServices {
  let index = indexes.get(services);
  if (index) return index;
  index = { v4: new Map(), v6: new Map() };
  for (const s of services) {
    if (s.l4 !== 'tcp') continue;
    const single4 = s.vip.family === 4 && s.vip.length === 32;
    const single6 = s.vip6?.length === 128;
    for (const b of membersOf(s.config)) {
      for (const ip of addressesOf(b)) {
        const v6 = ip.includes(':');
        if (!(v6 ? single6 : single4)) continue;
        for (const port of b.ports) {
          if (v6) add6(index.v6, ip, port, s);
          else add(index.v4, ipv4ToUint32(ip) * 65536 + port, s);
        }
      }
    }
  }
  indexes.set(services, index);
  return index;
}

function add(map: Map<number, ServiceState[]>, key: number, s: ServiceState): void {
  const list = map.get(key) ?? [];
  if (!list.includes(s)) list.push(s);
  map.set(key, list);
}

function add6(map: Map<number, BackendAt6[]>, ip: string, port: number, s: ServiceState): void {
  const w = ipv6Words(parseIpv6(ip));
  const [w0, w1, w2, w3] = [w[0] | 0, w[1] | 0, w[2] | 0, w[3] | 0];
  const key = key6(foldIpv6(w), port);
  const list = map.get(key) ?? [];
  let entry = list.find((c) => c.w0 === w0 && c.w1 === w1 && c.w2 === w2 && c.w3 === w3 && c.port === port);
  if (entry === undefined) {
    entry = { w0, w1, w2, w3, port, services: [] };
    list.push(entry);
  }
  if (!entry.services.includes(s)) entry.services.push(s);
  map.set(key, list);
}
