// The OpenFlow controller's happenings as vadc events (docs/operators: events): a switch gone, a datapath id
// claimed twice, this instance's role at each switch. The daemon only adds what it does about a demotion.
import type { Controller } from '../controller';
import type { RoleReport } from '../controller/role';
import { formatDpid } from '../openflow/dpid';
import type { VadcEvent } from '../runtime/types';

export function reportControllerEvents(
  controller: Controller,
  emit: (event: Omit<VadcEvent, 'time'>) => void,
  /** The switch fenced this instance (a later generation) or refused one of its writes as a slave's (`not_master`). */
  onDemoted: (dpid: string, report: Extract<RoleReport, { kind: 'fenced' | 'not_master' }>) => void,
): void {
  controller.on('switch_down', (dpid, reason) => emit({ kind: 'switch_down', level: 'warn', dpid: formatDpid(dpid), message: `switch ${formatDpid(dpid)} disconnected: ${reason}` }));
  controller.on('dpid_conflict', (c) => emit({
    kind: 'dpid_conflict', level: 'warn', dpid: formatDpid(c.dpid), data: { holder: c.holder, claimant: c.claimant, kept: c.kept },
    message: c.kept === 'holder'
      ? `${c.claimant} claimed datapath id ${formatDpid(c.dpid)}, connected from ${c.holder}: refused (${c.reason})`
      : `${c.claimant} took over datapath id ${formatDpid(c.dpid)} from ${c.holder}: ${c.reason}`,
  }));
  controller.on('role', (sw, report) => {
    const dpid = formatDpid(sw.dpid);
    if (report.kind === 'master' || report.kind === 'slave') {
      emit({ kind: 'switch_role', level: 'info', dpid, data: { role: report.kind, generation: String(report.generation) }, message: `switch ${dpid}: this instance is ${report.kind.toUpperCase()} (generation ${report.generation})` });
    } else if (report.kind === 'refused') {
      emit({ kind: 'role_refused', level: 'error', dpid, message: `switch ${dpid}: ${report.reason}` });
    } else {
      emit({ kind: 'demoted', level: 'warn', dpid, data: 'generation' in report ? { generation: String(report.generation), ours: String(report.ours) } : undefined, message: `switch ${dpid}: ${report.reason}` });
      onDemoted(dpid, report);
    }
  });
}
