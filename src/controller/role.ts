// OpenFlow 1.3 controller roles (spec 6.3.7) as OVS implements them (ofproto/connmgr.c, ofproto.c
// handle_role_request): one pure state machine per switch connection. It takes `now` and the switch's messages
// and returns the messages to send and what happened; the session does the I/O.
import {
  OFPCR_ROLE_EQUAL, OFPCR_ROLE_MASTER, OFPCR_ROLE_NOCHANGE, OFPCR_ROLE_SLAVE, OFPPR_ADD, OFPPR_DELETE, OFPPR_MODIFY,
  OFPR_ACTION, OFPR_NO_MATCH, OFPRR_DELETE, OFPRR_GROUP_DELETE, OFPRR_HARD_TIMEOUT, OFPRR_IDLE_TIMEOUT,
} from '../openflow/constants';
import { OFPERR, ofpErrorName, type OfpErrorName } from '../openflow/error-codes';
import type { ErrorMsg, OfpMessage, OfpMessageType, OnfRoleStatus, RoleReply, RoleRequest, SetAsync } from '../openflow/types';

const U64 = (1n << 64n) - 1n;

/**
 * OVS's stale check on a MASTER/SLAVE request (connmgr.c ofconn_set_master_election_id): the unsigned 64-bit
 * difference read as two's complement; negative is stale. An equal id is accepted, and the ids wrap around.
 */
export function generationIsStale(id: bigint, cached: bigint): boolean {
  return BigInt.asIntN(64, (id - cached) & U64) < 0n;
}

/** The later of two generation ids in the same wrap-around order. */
export function laterGeneration(a: bigint, b: bigint): bigint {
  return generationIsStale(a, b) ? b : a;
}

/** What the election wants this instance to be, and its fencing token. */
export interface WantedRole {
  role: 'master' | 'standby';
  generation: bigint;
}

/**
 * unknown: the role is being asked; slave/master: what the switch granted; claiming: MASTER asked, not answered;
 * fenced: the switch knows a later generation than ours (another instance is master), until the election agrees.
 */
export type SwitchRoleState = 'unknown' | 'slave' | 'claiming' | 'master' | 'fenced';

/** What a role input caused, for the owner to report (events, status). */
export type RoleReport =
  | { kind: 'master'; generation: bigint }
  | { kind: 'slave'; generation: bigint }
  /** The switch refused our MASTER request as stale, or demoted us for a later generation than ours. */
  | { kind: 'fenced'; generation: bigint; ours: bigint; reason: string }
  /** The switch refused a role request for another reason (OFPRRFC_UNSUP, OFPRRFC_BAD_ROLE, ...). */
  | { kind: 'refused'; reason: string }
  /** A write was refused with OFPBRC_IS_SLAVE: we are not master on this switch. */
  | { kind: 'not_master'; reason: string };

export interface RoleStep {
  msgs: OfpMessage[];
  report?: RoleReport;
}

const ALL_PORT_STATUS = (1 << OFPPR_ADD) | (1 << OFPPR_DELETE) | (1 << OFPPR_MODIFY);
const ALL_FLOW_REMOVED = (1 << OFPRR_IDLE_TIMEOUT) | (1 << OFPRR_HARD_TIMEOUT) | (1 << OFPRR_DELETE) | (1 << OFPRR_GROUP_DELETE);

const PACKET_INS = (1 << OFPR_NO_MATCH) | (1 << OFPR_ACTION);

/**
 * The async configuration vadc asks for ([master/equal, slave] masks). Both get packet-ins (no match, action): a
 * standby decides none, but keeps the last second of them (packet-in-ring.ts) and replays those the old master never
 * answered when it takes over, instead of leaving each to its client's retransmit a second later. The cost: the
 * switch sends every packet-in twice (docs/operators/run-a-pair.md). Both get every port status, so a standby keeps
 * its port table (and backend locations) current, and every flow-removed, so a standby's connection table loses the
 * connections that end (only flows that ask for it are reported: the connection flows of the modes that count
 * connections by flow). OVS's default gives a slave port status only.
 */
export const ASYNC_CONFIG: Omit<SetAsync, 'xid' | 'type'> = {
  packetInMask: [PACKET_INS, PACKET_INS],
  portStatusMask: [ALL_PORT_STATUS, ALL_PORT_STATUS],
  flowRemovedMask: [ALL_FLOW_REMOVED, ALL_FLOW_REMOVED],
};

/**
 * Messages a connection that is not master may send (OVS answers a slave's others with OFPBRC_IS_SLAVE): the
 * handshake, keepalive, reads, and the role and async configuration. Flow, group, meter, port and table
 * modifications and packet-outs wait for mastership.
 */
const NON_MASTER_MAY_SEND: ReadonlySet<OfpMessageType | 'pre_encoded'> = new Set<OfpMessageType>([
  'hello', 'echo_request', 'echo_reply', 'features_request', 'get_config_request', 'set_config', 'multipart_request',
  'barrier_request', 'queue_get_config_request', 'role_request', 'get_async_request', 'set_async', 'error',
]);

export function nonMasterMaySend(type: OfpMessageType | 'pre_encoded'): boolean {
  return NON_MASTER_MAY_SEND.has(type);
}

const is = (msg: ErrorMsg, name: OfpErrorName): boolean => msg.errType === OFPERR[name].errType && msg.code === OFPERR[name].code;

const fenceKey = (ours: bigint, switchGeneration: bigint): string => `${ours}/${switchGeneration}`;

const roleRequest = (role: number, generationId: bigint): RoleRequest => ({ type: 'role_request', xid: 0, role, generationId });

/**
 * One switch connection's role. Every connection starts EQUAL at the switch; the machine asks the switch's
 * generation (NOCHANGE), then becomes SLAVE (or MASTER when the election says so, with its generation as the
 * fencing token). At most one role request is outstanding: a change of the wanted role meanwhile is sent when
 * the answer arrives. Replies are matched by order, not xid (the session numbers what it sends).
 */
export class RoleMachine {
  private stateValue: SwitchRoleState = 'unknown';
  /** The request sent and not answered yet. */
  private outstanding?: RoleRequest;
  /** The generation the switch last told us (role reply or role status). */
  private switchGeneration?: bigint;
  private wanted: WantedRole;
  /** When the switch granted what we hold now (ms). */
  private sinceValue: number;
  /** The (ours, switch's) generations of the last fenced report, so that each pair is reported once. */
  private reportedFence?: string;

  constructor(wanted: WantedRole, now: number) {
    this.wanted = wanted;
    this.sinceValue = now;
  }

  get state(): SwitchRoleState {
    return this.stateValue;
  }

  /** The switch's generation as last heard, if any. */
  get generation(): bigint | undefined {
    return this.switchGeneration;
  }

  get since(): number {
    return this.sinceValue;
  }

  get isMaster(): boolean {
    return this.stateValue === 'master';
  }

  /** The connection finished its handshake: set the async configuration and ask the switch's generation. */
  connected(_now: number): RoleStep {
    const query = roleRequest(OFPCR_ROLE_NOCHANGE, 0n);
    this.outstanding = query;
    return { msgs: [{ type: 'set_async', xid: 0, ...ASYNC_CONFIG }, query] };
  }

  /** The election's verdict changed (or was repeated): ask the switch for the matching role. */
  want(wanted: WantedRole, now: number): RoleStep {
    this.wanted = wanted;
    if (this.outstanding) return { msgs: [] }; // sent when the outstanding request is answered
    return this.next(now);
  }

  /** A role_reply: the answer to the outstanding request. */
  reply(msg: RoleReply, now: number): RoleStep {
    const asked = this.outstanding;
    if (!asked) return { msgs: [] }; // an answer to nothing we asked: nothing to learn
    this.outstanding = undefined;
    this.switchGeneration = msg.generationId;
    let report: RoleReport | undefined;
    if (asked.role === OFPCR_ROLE_MASTER && msg.role === OFPCR_ROLE_MASTER) {
      if (this.stateValue !== 'master') report = { kind: 'master', generation: msg.generationId };
      this.grant('master', now);
    } else if (asked.role === OFPCR_ROLE_SLAVE && msg.role === OFPCR_ROLE_SLAVE) {
      if (this.stateValue !== 'slave') report = { kind: 'slave', generation: msg.generationId };
      this.grant('slave', now);
    }
    const step = this.next(now);
    return { msgs: step.msgs, report: step.report ?? report };
  }

  /** An error from the switch; returns undefined when it is not about roles (the caller handles it). */
  error(msg: ErrorMsg, now: number): RoleStep | undefined {
    if (is(msg, 'OFPBRC_IS_SLAVE')) {
      if (this.stateValue !== 'master') return { msgs: [] }; // a write that left before a demotion we already know of
      this.grant('slave', now);
      return { msgs: [], report: { kind: 'not_master', reason: 'the switch refused a write with OFPBRC_IS_SLAVE' } };
    }
    if (msg.errType !== OFPERR.OFPRRFC_STALE.errType || !this.outstanding) return undefined;
    const asked = this.outstanding;
    this.outstanding = undefined;
    const name = ofpErrorName(msg.errType, msg.code ?? -1) ?? `ROLE_REQUEST_FAILED code ${msg.code}`;
    if (is(msg, 'OFPRRFC_STALE') && asked.role === OFPCR_ROLE_MASTER) {
      // The switch holds a later generation: another instance became master after us, or the generation came from
      // outside our election. The election decides (stand by, or outbid); ask the switch's generation meanwhile so
      // that what it decides with is current (reported again from next() if it moved).
      this.grant('fenced', now);
      const generation = this.switchGeneration ?? asked.generationId;
      this.reportedFence = fenceKey(asked.generationId, generation);
      const query = roleRequest(OFPCR_ROLE_NOCHANGE, 0n);
      this.outstanding = query;
      return { msgs: [query], report: { kind: 'fenced', generation, ours: asked.generationId, reason: `MASTER request with generation ${asked.generationId} refused as ${name}` } };
    }
    if (is(msg, 'OFPRRFC_STALE')) {
      // A SLAVE request older than the switch's generation: ask the generation again and follow it.
      const query = roleRequest(OFPCR_ROLE_NOCHANGE, 0n);
      this.outstanding = query;
      return { msgs: [query] };
    }
    // Refused outright (OFPRRFC_UNSUP, OFPRRFC_BAD_ROLE): a MASTER request that was refused leaves no claim pending.
    if (this.stateValue === 'claiming') this.grant('unknown', now);
    return { msgs: [], report: { kind: 'refused', reason: `${roleName(asked.role)} request refused: ${name}` } };
  }

  /** ONF role status: the switch demoted us (another connection asked MASTER) or changed our role otherwise. */
  status(msg: OnfRoleStatus, now: number): RoleStep {
    this.switchGeneration = msg.generationId;
    if (msg.role === OFPCR_ROLE_MASTER) {
      this.grant('master', now);
      return { msgs: [] };
    }
    const wasMaster = this.stateValue === 'master' || this.stateValue === 'claiming';
    const later = generationIsStale(this.wanted.generation, msg.generationId);
    this.grant(later ? 'fenced' : 'slave', now);
    if (!wasMaster) return { msgs: [] };
    return later
      ? { msgs: [], report: { kind: 'fenced', generation: msg.generationId, ours: this.wanted.generation, reason: `demoted by the switch: another controller is master with generation ${msg.generationId}` } }
      : { msgs: [], report: { kind: 'slave', generation: msg.generationId } };
  }

  /** Sends what the wanted role needs, if the switch does not grant it already. */
  private next(now: number): RoleStep {
    if (this.outstanding) return { msgs: [] };
    const want = this.wanted;
    if (want.role === 'master') {
      if (this.stateValue === 'master' && this.switchGeneration === want.generation) return { msgs: [] };
      // A fenced instance asks again only with a generation later than the one that fenced it. It says so once per
      // pair of generations, so the election hears of a switch generation that moved (or an outbid that fell short).
      if (this.stateValue === 'fenced' && this.switchGeneration !== undefined && generationIsStale(want.generation, this.switchGeneration)) {
        const key = fenceKey(want.generation, this.switchGeneration);
        if (key === this.reportedFence) return { msgs: [] };
        this.reportedFence = key;
        return { msgs: [], report: { kind: 'fenced', generation: this.switchGeneration, ours: want.generation, reason: `the switch knows generation ${this.switchGeneration}, later than ours (${want.generation})` } };
      }
      const claim = roleRequest(OFPCR_ROLE_MASTER, want.generation);
      this.outstanding = claim;
      if (this.stateValue !== 'master') this.grant('claiming', now);
      return { msgs: [claim] };
    }
    if (this.stateValue === 'slave') return { msgs: [] };
    // A SLAVE request carries a generation too, and OVS refuses an older one: follow the switch's when it is later.
    const generation = this.switchGeneration === undefined || this.switchGeneration === U64 ? want.generation : laterGeneration(want.generation, this.switchGeneration);
    const demote = roleRequest(OFPCR_ROLE_SLAVE, generation);
    this.outstanding = demote;
    if (this.stateValue === 'master' || this.stateValue === 'claiming') this.grant('unknown', now);
    return { msgs: [demote] };
  }

  private grant(state: SwitchRoleState, now: number): void {
    if (state !== this.stateValue) this.sinceValue = now;
    this.stateValue = state;
  }
}

export function roleName(role: number): string {
  switch (role) {
    case OFPCR_ROLE_NOCHANGE: return 'NOCHANGE';
    case OFPCR_ROLE_EQUAL: return 'EQUAL';
    case OFPCR_ROLE_MASTER: return 'MASTER';
    case OFPCR_ROLE_SLAVE: return 'SLAVE';
    default: return `role ${role}`;
  }
}
