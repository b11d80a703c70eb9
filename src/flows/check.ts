import { OFPFC_ADD, OFPFC_DELETE, OFPFC_DELETE_STRICT, OFPFC_MODIFY, OFPFC_MODIFY_STRICT, OFPTT_ALL } from '../openflow/constants';
import { OFPGC_ADD, OFPGC_DELETE, OFPGC_MODIFY, OFPGT_SELECT } from '../openflow/constants';
import type { Action, FlowMod, GroupMod, Oxm } from '../openflow/types';
import { maskPinsMagic, parseCookie } from './cookies';
import { CT_STATE, CT_TUPLE_FIELDS, MATCH_PREREQUISITES, PRIORITY, VADC_GROUPS, type Pipeline, type TableSpec } from './pipeline';

/**
 * Checks a flow-mod against the pipeline declaration: table exists, match fields and their prerequisites,
 * set-fields, actions and goto targets allowed there, priority in one of the table's bands, cookie in
 * vadc's scheme, and deletes/modifies that can only reach vadc's own flows. Returns the problems (none = ok).
 */
export function checkFlow(flow: FlowMod, pipeline: Pipeline): string[] {
  const problems: string[] = [];
  const isDelete = flow.command === OFPFC_DELETE || flow.command === OFPFC_DELETE_STRICT;
  const isModify = flow.command === OFPFC_MODIFY || flow.command === OFPFC_MODIFY_STRICT;

  if (isDelete || isModify) {
    if (!maskPinsMagic(flow)) problems.push('delete/modify must pin the vadc cookie magic (it could touch flows vadc does not own)');
  } else if (flow.command !== OFPFC_ADD) {
    problems.push(`unknown flow-mod command ${flow.command}`);
  }

  const table = pipeline.find((t) => t.id === flow.tableId);
  if (!table) {
    if (!(isDelete && flow.tableId === OFPTT_ALL)) problems.push(`table ${flow.tableId} is not in the pipeline`);
    if (isDelete) problems.push(...checkMatch(flow.match, undefined));
    return problems;
  }
  problems.push(...checkMatch(flow.match, table));
  if (isDelete) return problems;

  const cookie = parseCookie(flow.cookie);
  if (!cookie) problems.push(`cookie 0x${flow.cookie.toString(16)} is not in the vadc scheme`);
  else if (!table.cookieKinds.includes(cookie.kind)) problems.push(`cookie kind ${cookie.kind} does not belong in table ${table.name}`);

  const band = table.bands.find((b) => flow.priority >= PRIORITY[b].min && flow.priority <= PRIORITY[b].max);
  if (!band) problems.push(`priority ${flow.priority} is in none of table ${table.name}'s bands (${table.bands.join(', ')})`);

  for (const instruction of flow.instructions) {
    if (instruction.type === 'goto_table') {
      if (!table.nextTables.includes(instruction.tableId)) problems.push(`goto_table ${instruction.tableId} is not a next table of ${table.name}`);
    } else if (instruction.type === 'apply_actions') {
      problems.push(...checkActions(instruction.actions, table));
    } else if (instruction.type === 'meter' && table.meters) {
      if (flow.instructions[0] !== instruction) problems.push('a meter instruction must come first (it polices before any action)');
    } else {
      problems.push(`instruction ${instruction.type} is not used by the vadc pipeline`);
    }
  }
  return problems;
}

function checkMatch(match: Oxm[], table: TableSpec | undefined): string[] {
  const problems: string[] = [];
  const values = new Map<string, unknown>();
  for (const oxm of match) {
    if (oxm.field === 'raw') {
      problems.push('raw OXM in a vadc match');
      continue;
    }
    if (values.has(oxm.field)) problems.push(`match field ${oxm.field} appears twice`);
    values.set(oxm.field, oxm.mask === undefined ? oxm.value : undefined);
    if (table && !table.matchFields.includes(oxm.field)) problems.push(`match field ${oxm.field} is not allowed in table ${table.name}`);
  }
  const ctState = match.find((m) => m.field === 'ct_state');
  const tracked = ctState !== undefined && ctState.field !== 'raw' && typeof ctState.value === 'number' && (ctState.value & CT_STATE.TRK) !== 0
    && (ctState.mask === undefined || (typeof ctState.mask === 'number' && (ctState.mask & CT_STATE.TRK) !== 0));
  for (const field of CT_TUPLE_FIELDS) {
    if (values.has(field) && !tracked) problems.push(`match field ${field} needs ct_state with +trk`);
  }
  for (const field of values.keys()) {
    for (const prereq of MATCH_PREREQUISITES[field as keyof typeof MATCH_PREREQUISITES] ?? []) {
      const got = values.get(prereq.field);
      if (typeof got !== 'number' || !prereq.values.includes(got)) {
        problems.push(`match field ${field} needs ${prereq.field} = ${prereq.values.map((v) => `0x${v.toString(16)}`).join(' or ')}`);
      }
    }
  }
  return problems;
}

function checkActions(actions: Action[], table: TableSpec): string[] {
  const problems: string[] = [];
  for (const action of actions) {
    if (!table.actions.includes(action.type)) problems.push(`action ${action.type} is not allowed in table ${table.name}`);
    if (action.type === 'set_field') {
      const field = action.field.field;
      if (field === 'raw' || !table.setFields.includes(field)) problems.push(`set_field ${field} is not allowed in table ${table.name}`);
    }
    if (action.type === 'group' && !isVadcGroup(action.groupId)) {
      problems.push(`group ${action.groupId} is not one of vadc's (0x${VADC_GROUPS.base.toString(16)} or 0x${VADC_GROUPS.ipv6Base.toString(16)} + service id)`);
    }
  }
  return problems;
}

function isVadcGroup(groupId: number): boolean {
  return [VADC_GROUPS.base, VADC_GROUPS.ipv6Base].some((base) => groupId - base >= 1 && groupId - base <= VADC_GROUPS.maxServiceId);
}

/** What a bucket's ct may do inside: write ct_mark, and NAT. */
function checkBucketCtActions(actions: Action[]): string[] {
  return actions.flatMap((a) => {
    if (a.type === 'nx_nat') return [];
    const dst = a.type === 'nx_reg_move' ? a.dstField : a.type === 'nx_reg_load' ? a.dst : a.type === 'set_field' ? a.field.field : undefined;
    return dst === 'ct_mark' ? [] : [`a bucket's ct may only write ct_mark and NAT, not ${a.type}${dst === undefined ? '' : ` to ${String(dst)}`}`];
  });
}

/**
 * Checks a group-mod against vadc's group rules (VADC_GROUPS): a select group in vadc's id range whose buckets
 * each commit the connection (ct with commit) and recirculate it to the pipeline's bucket table. Returns the problems.
 */
export function checkGroup(group: GroupMod, pipeline: Pipeline): string[] {
  const problems: string[] = [];
  if (!isVadcGroup(group.groupId)) problems.push(`group ${group.groupId} is not one of vadc's`);
  if (group.command === OFPGC_DELETE) return group.buckets.length ? [...problems, 'a group delete carries no buckets'] : problems;
  if (group.command !== OFPGC_ADD && group.command !== OFPGC_MODIFY) problems.push(`unknown group-mod command ${group.command}`);
  if (group.groupType !== OFPGT_SELECT) problems.push(`group type ${group.groupType} is not select`);
  if (group.buckets.length === 0) problems.push('a select group without buckets drops every packet sent to it');
  const recirc = pipeline.find((t) => t.name === VADC_GROUPS.bucketRecircTable)?.id;
  if (recirc === undefined) problems.push(`table ${VADC_GROUPS.bucketRecircTable} is not in the pipeline`);
  group.buckets.forEach((bucket, i) => {
    if (bucket.weight < 1) problems.push(`bucket ${i} has weight 0 (leave it out instead)`);
    const [ct, ...rest] = bucket.actions;
    if (!ct || ct.type !== 'nx_ct' || rest.length > 0) {
      problems.push(`bucket ${i} must do exactly one ct(commit, ...)`);
      return;
    }
    if ((ct.flags & 1) === 0) problems.push(`bucket ${i}'s ct does not commit`);
    if (ct.recircTable !== recirc) problems.push(`bucket ${i}'s ct goes to table ${ct.recircTable}, not ${VADC_GROUPS.bucketRecircTable} (${recirc})`);
    problems.push(...checkBucketCtActions(ct.actions).map((p) => `bucket ${i}: ${p}`));
  });
  return problems;
}
