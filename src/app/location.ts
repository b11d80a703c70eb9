// Where a backend's vNIC is: a pure function of its selector, what OVSDB says of vNICs, and the switches'
// port tables. No state: the app recomputes locations whenever one of the inputs changes.
import type { SwitchInfo } from '../controller/types';
import { macBytes } from '../net/mac';
import { OFPPC_PORT_DOWN, OFPPS_LINK_DOWN } from '../openflow/constants';
import type { OfpPort } from '../openflow/types';

/** What OVSDB (the VnicResolver) says about a vNIC, keyed by the backend's vnic selector. */
export interface VnicInfo {
  /** OVS interface name, i.e. the OpenFlow port name. */
  name: string;
  /** The VM's MAC (external_ids:attached-mac), when known. */
  mac?: string;
  /** False when OVSDB says link_state or admin_state is down. */
  up: boolean;
}

/** Where a backend vNIC is right now, as the datapath sees it. */
export interface BackendLocation {
  dpid: bigint;
  ofport: number;
  mac: string;
  /** `mac` as 6 bytes, for the packet-in fast paths (made once per relocation, not per packet). */
  macBytes: Buffer;
  linkUp: boolean;
}

export function isPortUp(port: OfpPort): boolean {
  return (port.state & OFPPS_LINK_DOWN) === 0 && (port.config & OFPPC_PORT_DOWN) === 0;
}

/**
 * A backend's location: the interface OVSDB names for its selector ('NAME', 'iface-id:ID', 'mac:MAC'), or
 * without OVSDB a plain selector taken as the port name, looked up in every connected switch's port table.
 * The MAC is the configured one, else OVSDB's attached-mac, else the port's own. The last switch wins when
 * two have a port of that name (the order switches connected in).
 */
export function locateBackend(
  selector: string, configuredMac: string | undefined, vnic: VnicInfo | undefined, switches: Iterable<SwitchInfo>,
): BackendLocation | undefined {
  const portName = vnic?.name ?? (selector.includes(':') ? undefined : selector);
  if (portName === undefined) return undefined;
  let location: BackendLocation | undefined;
  for (const sw of switches) {
    for (const port of sw.ports.values()) {
      if (port.name !== portName) continue;
      const mac = configuredMac ?? vnic?.mac ?? port.hwAddr;
      location = { dpid: sw.dpid, ofport: port.portNo, mac, macBytes: macBytes(mac), linkUp: isPortUp(port) && vnic?.up !== false };
    }
  }
  return location;
}

export function sameLocation(a: BackendLocation | undefined, b: BackendLocation | undefined): boolean {
  if (!a || !b) return a === b;
  return a.dpid === b.dpid && a.ofport === b.ofport && a.mac === b.mac && a.linkUp === b.linkUp;
}
