// Which service a connection-end copy is of (packet-in.ts connectionEnd), and its count there.
import type { ConnKey } from '../lb/conn-key';
import type { ServiceState } from './services';

/**
 * The service an end copy of `key` is of, its `endCopies` counted. A client's copy is of the service its cookie names.
 * A backend's may not be: services of one VIP address sharing a backend address:port have the same backend-side copy
 * flow (match and priority), so the switch keeps the last one added, whose cookie then names its service for the
 * others' connections too (on real OVS every backend FIN of the bench's port-80 service came up as its port-81 one's,
 * so none ended a connection). The copy names the client and the VIP's address, not its port: when `named` does not
 * track `key`, each other TCP service of that single VIP address is asked with its own port, and `key.vipPort` is left
 * at the owner's. A scan of the services on such a miss only (a health check's FIN is one too).
 */
export function endCopyOwner(services: readonly ServiceState[], named: ServiceState, key: ConnKey, fromClient: boolean): ServiceState {
  const owner = fromClient || named.lb.connections.lookup(key) !== null ? named : otherOwner(services, named, key);
  owner.endCopies++;
  return owner;
}

function otherOwner(services: readonly ServiceState[], named: ServiceState, key: ConnKey): ServiceState {
  for (const other of services) {
    if (other === named || other.l4 !== 'tcp' || !sameSingleVip(other, named, key.ip6 !== undefined)) continue;
    key.vipPort = other.config.port;
    if (other.lb.connections.lookup(key) !== null) return other;
  }
  key.vipPort = named.config.port;
  return named;
}

/** Whether `a` has the single-address VIP of `b` in that family (a backend's copies are only a single VIP's). */
function sameSingleVip(a: ServiceState, b: ServiceState, ipv6: boolean): boolean {
  if (ipv6) return a.vip6?.length === 128 && a.vip6.address === b.vip6?.address;
  return a.vip.family === 4 && a.vip.length === 32 && a.vip.base === b.vip.base;
}
