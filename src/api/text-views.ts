// How control-API objects look as text for people (tables, ovs-ofctl-like flow lines); pure, used by the CLI.
import { formatEndpoint } from '../net/endpoint';
import type { BackendStatus, ConnectionStatus, FlowStatus, PayloadRulesStatus, VadcEvent } from '../runtime/types';
import type { Column } from '../cli/table';

export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, '0')}h`;
}

/** ipvsadm prints expiry as mm:ss; vadc shows idle time the same way. */
export function formatMinSec(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

export function formatHealth(b: Pick<BackendStatus, 'health' | 'healthReason' | 'portsOut'>): string {
  const out = b.portsOut?.length ? ` [out: ${b.portsOut.map((p) => `${p.port} ${p.why}${p.family ? ` ${p.family}` : ''}`).join(', ')}]` : '';
  return (b.healthReason ? `${b.health} (${b.healthReason})` : b.health) + out;
}

/** One line for a service's payload rules: which rule sent how many new flows to which pool. */
export function formatPayloadRules(p: PayloadRulesStatus): string {
  const rules = p.rules.map((r) => `${r.name} -> ${r.pool} ${r.hits}`);
  return `payload rules: ${[...rules, `(default) -> ${p.defaultPool} ${p.defaultHits}`].join(', ')}; malformed ${p.malformed} (${p.malformedAction === 'refuse' ? 'refused' : 'to the default pool'})`;
}

export const backendColumns: ReadonlyArray<Column<BackendStatus>> = [
  { header: 'BACKEND', get: 'id' },
  { header: 'ADDRESS', get: (b) => formatEndpoint(b.ip, b.ports.join(',')) },
  { header: 'HEALTH', get: formatHealth },
  { header: 'WEIGHT', get: 'weight' },
  { header: 'TIER', get: 'tier' },
  { header: 'ACTIVE', get: 'activeConns' },
  { header: 'INACTIVE', get: 'inactiveConns' },
  { header: 'TOTAL', get: 'totalConns' },
  { header: 'QUEUE', get: (b) => (b.queueMeasure === undefined ? undefined : b.queueMeasure.toFixed(3)) },
  { header: 'OFPORT', get: 'ofport' },
];

export const connectionColumns: ReadonlyArray<Column<ConnectionStatus>> = [
  { header: 'PRO', get: (c) => c.protocol.toUpperCase() },
  { header: 'IDLE', get: (c) => formatMinSec(c.idleMs) },
  { header: 'AGE', get: (c) => formatAge(c.ageMs) },
  { header: 'STATE', get: (c) => c.state.toUpperCase() },
  { header: 'SOURCE', get: 'client' },
  { header: 'VIRTUAL', get: 'vip' },
  { header: 'DESTINATION', get: 'destination' },
  { header: 'SERVICE', get: 'service' },
  { header: 'BACKEND', get: 'backend' },
];

/** One flow the way `ovs-ofctl dump-flows` prints it, so operators can compare the two directly. */
export function formatFlow(f: FlowStatus): string {
  const idle = f.idleTimeout ? ` idle_timeout=${f.idleTimeout},` : '';
  const match = f.match ? `${f.match} ` : '';
  return ` cookie=${f.cookie}, duration=${f.durationSec}s, table=${f.tableId}, n_packets=${f.packets}, n_bytes=${f.bytes},${idle} priority=${f.priority}${match ? `,${match}` : ' '}actions=${f.actions}`;
}

export function formatEvent(e: VadcEvent): string {
  const where = [e.service, e.backend, e.dpid && `dpid=${e.dpid}`].filter(Boolean).join(' ');
  return `${new Date(e.time).toISOString()} ${e.level.toUpperCase().padEnd(5)} ${e.kind}${where ? ` [${where}]` : ''} ${e.message}`;
}
