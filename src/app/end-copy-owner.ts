// Which service a connection-end copy is of (packet-in.ts connectionEnd), and its count there.
import { readTransportHeader6 } from '../flows/ipv6-packets';
import { emptyTransportHeader, readTransportHeader, type TransportHeader } from '../flows/packets';
import { vipFold6, type ConnKey } from '../lb/conn-key';
import { formatIpv6Source, ipv6Pair } from '../net/ipv6';
import { addressesOf, backendAt, backendAtText, type BackendAt } from './nat/common';
import { membersOf, type ServiceState } from './services';

/**
 * The service an end copy of `key` is of, its `endCopies` counted. A client's copy is of the service its cookie names.
 * A backend's copy flow is one per backend address:port, shared by the services that send there (sharedEndCopyCookie):
 * `named` is the first of them (sharedCopyService), or, from an older vadc's flows, the service whose cookie the switch
 * kept. When `named` does not track `key`, each other service of that backend address:port (`srcAddress()`:`srcPort`,
 * the copy's source) is asked with its own VIP address and port, set in `key`; left at `named`'s when none tracks it
 * (a health check's FIN is one such). A lookup of the services on such a miss only.
 */
export function endCopyOwner(
  services: readonly ServiceState[], named: ServiceState, key: ConnKey, fromClient: boolean, srcPort: number, srcAddress: () => string,
): ServiceState {
  const owner = fromClient || named.lb.connections.lookup(key) !== null ? named : otherOwner(services, named, key, backendAtText(srcAddress(), srcPort));
  owner.endCopies++;
  return owner;
}

function otherOwner(services: readonly ServiceState[], named: ServiceState, key: ConnKey, at: BackendAt): ServiceState {
  for (const other of backendServices(services).get(at) ?? []) {
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

const header: TransportHeader = emptyTransportHeader();
const header6: TransportHeader = { ...emptyTransportHeader(), ip6: ipv6Pair() };

/**
 * The service a shared backend copy (endCopyService's SHARED_END_COPY) is first read as: the first TCP service with a
 * single VIP of the packet's family that sends to the packet's source address:port; undefined when none does (a flow
 * an earlier configuration left). endCopyOwner then finds the one that tracks the connection.
 */
export function sharedCopyService(services: readonly ServiceState[], frame: Buffer): ServiceState | undefined {
  let at: BackendAt;
  if (readTransportHeader(frame, header)) at = backendAt(header.src >>> 0, header.srcPort);
  else if (readTransportHeader6(frame, header6, true)) at = backendAt(formatIpv6Source(header6.ip6!), header6.srcPort);
  else return undefined;
  return backendServices(services).get(at)?.[0];
}

/** The services by backend address:port, of each single-VIP TCP service in the address's family; made once per service list. */
const indexes = new WeakMap<readonly ServiceState[], Map<BackendAt, ServiceState[]>>();

function backendServices(services: readonly ServiceState[]): Map<BackendAt, ServiceState[]> {
  let index = indexes.get(services);
  if (index) return index;
  index = new Map();
  for (const s of services) {
    if (s.l4 !== 'tcp') continue;
    const single4 = s.vip.family === 4 && s.vip.length === 32;
    const single6 = s.vip6?.length === 128;
    for (const b of membersOf(s.config)) {
      for (const ip of addressesOf(b)) {
        if (!(ip.includes(':') ? single6 : single4)) continue;
        for (const port of b.ports) {
          const at = backendAtText(ip, port);
          const list = index.get(at) ?? [];
          if (!list.includes(s)) list.push(s);
          index.set(at, list);
        }
      }
    }
  }
  indexes.set(services, index);
  return index;
}
