// Where a backend's vNIC is: a pure function of its selector, what OVSDB says of vNICs, and the switches'
// port tables. No state: ./backend-locator.ts recomputes the locations whenever one of the inputs changes.
import type { SwitchInfo } from '../controller/types';
import { macBytes } from '../net/mac';
import { OFPPC_PORT_DOWN, OFPPS_LINK_DOWN } from '../openflow/constants';
import type { OfpPort } from '../openflow/types';
import type { PublishedBackendReport } from '../runtime/types';

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
  /**
   * Set when the vNIC is on another cluster host (docs/cluster.md, remote backends): `ofport` is then this
   * switch's uplink toward it and `mac` the MAC that host published for the vNIC.
   */
  remoteHost?: string;
  /**
   * Bytes made for this location by a fast path (conntrack mode's commit head for one software port, see
   * encodedAt): made at its first connection, gone with the object, since every relocation (a port, link, vNIC or
   * configuration change) makes new location objects.
   */
  encoded?: EncodedAtLocation[];
}

/** Bytes a fast path made for one backend port at a location, and what they were made of beside the location. */
export interface EncodedAtLocation {
  /** Who made them (an encoder: its service, zone and protocol). */
  readonly maker: object;
  /** The backend's address (IPv4 as a number, IPv6 as the backend's 16-byte array). */
  readonly ip: number | Uint8Array;
  readonly port: number;
  readonly bytes: Buffer;
}

/** More than a location's few ports and makers: dropped, to be made again, rather than growing. */
const MAX_ENCODED = 8;

/** The bytes `maker` made at `location` for the backend address `ip` and software port `port`, if kept. */
export function encodedAt(location: BackendLocation, maker: object, ip: number | Uint8Array, port: number): Buffer | undefined {
  const kept = location.encoded;
  if (kept === undefined) return undefined;
  for (let i = 0; i < kept.length; i++) {
    const e = kept[i];
    if (e.maker === maker && e.ip === ip && e.port === port) return e.bytes;
  }
  return undefined;
}

/** Keeps bytes made at `location` (encodedAt finds them). */
export function keepEncodedAt(location: BackendLocation, made: EncodedAtLocation): void {
  if (location.encoded === undefined || location.encoded.length >= MAX_ENCODED) location.encoded = [];
  location.encoded.push(made);
}

/** What the host that has a backend's vNIC published about it (a Backend_Status row of the cluster store). */
/** Another host's report of one of its backends (the cluster store's row, as runtime declares it). */
export type RemoteBackendReport = PublishedBackendReport;

export function isPortUp(port: OfpPort): boolean {
  return (port.state & OFPPS_LINK_DOWN) === 0 && (port.config & OFPPC_PORT_DOWN) === 0;
}

/**
 * A backend's location: the interface OVSDB names for its selector ('NAME', 'iface-id:ID', 'mac:MAC', 'vm-uuid:UUID', 'vm-id:UUID'), or
 * without OVSDB a plain selector taken as the port name, looked up in every connected switch's port table.
 * The MAC is the configured one, else OVSDB's attached-mac, else the port's own. The last switch wins when
 * two have a port of that name (the order switches connected in).
 */
export function locateBackend(
  selector: string, configuredMac: string | undefined, vnic: VnicInfo | undefined, ports: PortsByName,
): BackendLocation | undefined {
  const portName = vnic?.name ?? (selector.includes(':') ? undefined : selector);
  if (portName === undefined) return undefined;
  const found = ports.get(portName);
  if (!found) return undefined;
  const { dpid, port } = found;
  const mac = configuredMac ?? vnic?.mac ?? port.hwAddr;
  return { dpid, ofport: port.portNo, mac, macBytes: macBytes(mac), linkUp: isPortUp(port) && vnic?.up !== false };
}

/** Every connected switch's ports by name; the last switch (in the order given) wins a name two switches have. */
export type PortsByName = ReadonlyMap<string, { dpid: bigint; port: OfpPort }>;

/**
 * The index locateBackend looks names up in, made once per relocation: looking each backend up by walking every
 * port cost backends x ports (a 1,000-service configuration on a switch with 10,000 ports: ~1 s per relocation).
 */
export function portsByName(switches: Iterable<SwitchInfo>): PortsByName {
  const index = new Map<string, { dpid: bigint; port: OfpPort }>();
  for (const sw of switches) for (const port of sw.ports.values()) index.set(port.name, { dpid: sw.dpid, port });
  return index;
}

/**
 * A backend whose vNIC another cluster host has: reached out of this switch's uplink port (named by
 * `cluster.uplink`) with the configured MAC, else the one that host published, over an L2 underlay. Undefined
 * without a MAC or
 * an uplink port on a connected switch. Its link is up when both the uplink's and the remote vNIC's are.
 */
export function locateRemoteBackend(
  report: RemoteBackendReport, configuredMac: string | undefined, uplink: string, switches: Iterable<SwitchInfo>,
): BackendLocation | undefined {
  const mac = configuredMac ?? report.mac;
  if (mac === undefined) return undefined;
  let location: BackendLocation | undefined;
  for (const sw of switches) {
    for (const port of sw.ports.values()) {
      if (port.name !== uplink) continue;
      location = {
        dpid: sw.dpid, ofport: port.portNo, mac, macBytes: macBytes(mac), linkUp: isPortUp(port) && report.linkUp,
        remoteHost: report.host,
      };
    }
  }
  return location;
}

export function sameLocation(a: BackendLocation | undefined, b: BackendLocation | undefined): boolean {
  if (!a || !b) return a === b;
  return a.dpid === b.dpid && a.ofport === b.ofport && a.mac === b.mac && a.linkUp === b.linkUp && a.remoteHost === b.remoteHost;
}
