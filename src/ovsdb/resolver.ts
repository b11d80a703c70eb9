/**
 * VnicResolver: finds a vNIC in the VswitchCache by interface name ('NAME'), by external_ids:iface-id
 * ('iface-id:ID', the port id OpenStack/OVN and libvirt set), by MAC ('mac:aa:bb:cc:dd:ee:ff', matching
 * external_ids:attached-mac or mac_in_use), or by the VM that owns it ('vm-uuid:UUID' as OpenStack's os-vif
 * sets it, 'vm-id:UUID' as libvirt does), and follows watched vNICs: 'appear', 'change' (ofport, link, admin state, statistics,
 * MAC, external_ids), 'move' (another interface or bridge now carries it) and 'disappear'.
 * Resolution and classification are pure functions of the cache contents.
 */
import { EventEmitter } from 'node:events';
import { VnicSpecError } from './errors';
import type { InterfaceRow, VswitchCache } from './cache';

/** external_ids keys that name the VM owning an interface: os-vif (OpenStack) writes vm-uuid, libvirt vm-id. */
export const VM_ID_KEYS = ['vm-uuid', 'vm-id'] as const;
export type VmIdKey = (typeof VM_ID_KEYS)[number];

export type VnicSpec =
  | { by: 'name'; name: string }
  | { by: 'iface-id'; ifaceId: string }
  | { by: 'mac'; mac: string }
  | { by: VmIdKey; vmId: string };

export interface VnicInfo {
  name: string;
  interfaceUuid: string;
  /** Bridge name; absent while the interface belongs to no bridge. */
  bridge?: string;
  port?: string;
  ofport?: number;
  mac?: string;
  linkState?: string;
  adminState?: string;
  statistics: Record<string, number>;
  externalIds: Record<string, string>;
}

export type VnicEventKind = 'appear' | 'change' | 'move' | 'disappear';

export interface VnicEvent {
  spec: string;
  kind: VnicEventKind;
  old?: VnicInfo;
  new?: VnicInfo;
  /** Which VnicInfo fields differ (for 'change' and 'move'). */
  changed: (keyof VnicInfo)[];
}

const MAC_PATTERN = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

export function parseVnicSpec(spec: string): VnicSpec {
  if (spec.startsWith('iface-id:')) {
    const ifaceId = spec.slice('iface-id:'.length);
    if (!ifaceId) throw new VnicSpecError(spec, 'iface-id: needs an id');
    return { by: 'iface-id', ifaceId };
  }
  for (const key of VM_ID_KEYS) {
    if (!spec.startsWith(`${key}:`)) continue;
    const vmId = spec.slice(key.length + 1);
    if (!vmId) throw new VnicSpecError(spec, `${key}: needs an id`);
    return { by: key, vmId };
  }
  if (spec.startsWith('mac:')) {
    const mac = spec.slice('mac:'.length);
    if (!MAC_PATTERN.test(mac)) throw new VnicSpecError(spec, 'mac: needs six hex octets like aa:bb:cc:dd:ee:ff');
    return { by: 'mac', mac: mac.toLowerCase() };
  }
  if (!spec || spec.includes(':') || spec.length > 255) {
    throw new VnicSpecError(spec, 'expected an interface NAME, iface-id:ID, mac:MAC, vm-uuid:UUID or vm-id:UUID');
  }
  return { by: 'name', name: spec };
}

function matches(spec: VnicSpec, iface: InterfaceRow): boolean {
  switch (spec.by) {
    case 'name':
      return iface.name === spec.name;
    case 'iface-id':
      return iface.externalIds['iface-id'] === spec.ifaceId;
    case 'mac':
      return iface.externalIds['attached-mac']?.toLowerCase() === spec.mac || iface.macInUse?.toLowerCase() === spec.mac;
    case 'vm-uuid':
    case 'vm-id':
      return iface.externalIds[spec.by] === spec.vmId;
  }
}

function describeInterface(cache: VswitchCache, iface: InterfaceRow): VnicInfo {
  const port = cache.portOfInterface(iface.uuid);
  const bridge = port ? cache.bridgeOfPort(port.uuid) : undefined;
  return {
    name: iface.name,
    interfaceUuid: iface.uuid,
    bridge: bridge?.name,
    port: port?.name,
    ofport: iface.ofport,
    mac: (iface.macInUse ?? iface.externalIds['attached-mac'] ?? iface.mac)?.toLowerCase(),
    linkState: iface.linkState,
    adminState: iface.adminState,
    statistics: iface.statistics,
    externalIds: iface.externalIds,
  };
}

/**
 * Pure over the cache. When several interfaces match (a VM mid-migration has two; a vm-uuid/vm-id selector
 * matches each of a VM's vNICs), the one on a bridge wins, then the lowest name, so the answer is stable.
 */
export function resolveVnic(cache: VswitchCache, spec: VnicSpec): VnicInfo | undefined {
  const candidates = [...cache.rows('Interface').values()]
    .filter((iface) => matches(spec, iface))
    .map((iface) => describeInterface(cache, iface))
    .sort((a, b) => Number(b.bridge !== undefined) - Number(a.bridge !== undefined) || a.name.localeCompare(b.name));
  return candidates[0];
}

const MOVE_FIELDS: (keyof VnicInfo)[] = ['name', 'interfaceUuid', 'bridge', 'port'];
const CHANGE_FIELDS: (keyof VnicInfo)[] = ['ofport', 'mac', 'linkState', 'adminState', 'statistics', 'externalIds'];

function sameField(a: VnicInfo[keyof VnicInfo], b: VnicInfo[keyof VnicInfo]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Pure: what happened to a vNIC between two resolutions; undefined when nothing did. */
export function classifyVnicChange(
  old: VnicInfo | undefined,
  now: VnicInfo | undefined,
): { kind: VnicEventKind; changed: (keyof VnicInfo)[] } | undefined {
  if (!old && !now) return undefined;
  if (!old) return { kind: 'appear', changed: [] };
  if (!now) return { kind: 'disappear', changed: [] };
  const moved = MOVE_FIELDS.filter((f) => !sameField(old[f], now[f]));
  const changed = CHANGE_FIELDS.filter((f) => !sameField(old[f], now[f]));
  if (moved.length > 0) return { kind: 'move', changed: [...moved, ...changed] };
  if (changed.length > 0) return { kind: 'change', changed };
  return undefined;
}

export interface VnicResolverEvents {
  appear: [event: VnicEvent];
  change: [event: VnicEvent];
  move: [event: VnicEvent];
  disappear: [event: VnicEvent];
}

export class VnicResolver extends EventEmitter<VnicResolverEvents> {
  private readonly watched = new Map<string, { spec: VnicSpec; last: VnicInfo | undefined }>();
  private readonly onChanged = (): void => this.reevaluate();

  constructor(private readonly cache: VswitchCache) {
    super();
    cache.on('changed', this.onChanged);
  }

  /** Throws VnicSpecError on a malformed spec. */
  resolve(spec: string): VnicInfo | undefined {
    return resolveVnic(this.cache, parseVnicSpec(spec));
  }

  /** Follows a vNIC; returns its current resolution (events fire only for later changes). */
  watch(spec: string): VnicInfo | undefined {
    const parsed = parseVnicSpec(spec);
    const last = resolveVnic(this.cache, parsed);
    this.watched.set(spec, { spec: parsed, last });
    return last;
  }

  unwatch(spec: string): void {
    this.watched.delete(spec);
  }

  dispose(): void {
    this.cache.off('changed', this.onChanged);
    this.watched.clear();
  }

  private reevaluate(): void {
    for (const [text, entry] of this.watched) {
      const now = resolveVnic(this.cache, entry.spec);
      const verdict = classifyVnicChange(entry.last, now);
      const old = entry.last;
      entry.last = now;
      if (verdict) this.emit(verdict.kind, { spec: text, kind: verdict.kind, old, new: now, changed: verdict.changed });
    }
  }
}
