import type { Action, Instruction, Oxm } from '../openflow/types';

const PORT_NAMES: Record<number, string> = {
  0xfffffff8: 'IN_PORT', 0xfffffff9: 'TABLE', 0xfffffffa: 'NORMAL', 0xfffffffb: 'FLOOD', 0xfffffffc: 'ALL',
  0xfffffffd: 'CONTROLLER', 0xfffffffe: 'LOCAL', 0xffffffff: 'ANY',
};

function value(v: unknown): string {
  if (Buffer.isBuffer(v)) return `0x${v.toString('hex')}`;
  if (typeof v === 'bigint') return `0x${v.toString(16)}`;
  return String(v);
}

/** ovs-ofctl-like text of a match, e.g. "in_port=3,eth_type=0x800,ipv4_dst=10.0.0.100". */
export function describeMatch(match: readonly Oxm[]): string {
  if (match.length === 0) return '*';
  return match.map((m) => {
    if (m.field === 'raw') return `raw=0x${m.bytes.toString('hex')}`;
    const v = m.field === 'eth_type' && typeof m.value === 'number' ? `0x${m.value.toString(16)}` : value(m.value);
    return m.mask === undefined ? `${m.field}=${v}` : `${m.field}=${v}/${value(m.mask)}`;
  }).join(',');
}

function describeAction(a: Action): string {
  switch (a.type) {
    case 'output': return `output:${PORT_NAMES[a.port] ?? a.port}`;
    case 'set_field': return a.field.field === 'raw' ? 'set_field:raw' : `set_field:${value(a.field.value)}->${a.field.field}`;
    case 'nx_fin_timeout': return `fin_timeout(idle_timeout=${a.finIdleTimeout})`;
    case 'group': return `group:${a.groupId}`;
    default: return a.type;
  }
}

/** ovs-ofctl-like text of instructions, e.g. "set_field:10.0.0.11->ipv4_dst,output:1" or "goto_table:1". */
export function describeActions(instructions: readonly Instruction[]): string {
  const parts: string[] = [];
  for (const i of instructions) {
    if (i.type === 'apply_actions' || i.type === 'write_actions') parts.push(...i.actions.map(describeAction));
    else if (i.type === 'goto_table') parts.push(`goto_table:${i.tableId}`);
    else parts.push(i.type);
  }
  return parts.length ? parts.join(',') : 'drop';
}
