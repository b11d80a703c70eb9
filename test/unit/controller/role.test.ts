import {
  ASYNC_CONFIG, RoleMachine, generationIsStale, laterGeneration, nonMasterMaySend, type RoleStep, type WantedRole,
} from '../../../src/controller/role';
import {
  OFPCR_ROLE_EQUAL, OFPCR_ROLE_MASTER, OFPCR_ROLE_NOCHANGE, OFPCR_ROLE_SLAVE, OFPCRR_MASTER_REQUEST, OFPERR,
} from '../../../src/openflow';
import type { ErrorMsg, OfpMessage, RoleRequest } from '../../../src/openflow';

const U64 = (1n << 64n) - 1n;

describe('generationIsStale: OVS ofconn_set_master_election_id', () => {
  it.each([
    // [id, cached, stale]
    [5n, 5n, false], // equal is accepted
    [6n, 5n, false],
    [4n, 5n, true],
    [0n, U64, false], // wraps: 0 - (2^64-1) = 1
    [U64, 0n, true], // -1
    [1n << 63n, 0n, true], // the difference 2^63 reads as the most negative int64
    [(1n << 63n) - 1n, 0n, false],
    [3n, (1n << 63n) + 5n, false], // 3 - (2^63+5) = 2^63 - 2 mod 2^64: positive
    [0x1122334455667787n, 0x1122334455667788n, true],
  ])('id %s against cached %s: stale %s', (id, cached, stale) => {
    expect(generationIsStale(id, cached)).toBe(stale);
  });

  it('laterGeneration follows the same order', () => {
    expect(laterGeneration(1n, U64)).toBe(1n);
    expect(laterGeneration(U64, 1n)).toBe(1n);
    expect(laterGeneration(7n, 7n)).toBe(7n);
  });
});

describe('nonMasterMaySend', () => {
  it.each(['role_request', 'echo_request', 'multipart_request', 'barrier_request', 'set_async', 'get_async_request'] as const)('%s may leave a slave', (t) => {
    expect(nonMasterMaySend(t)).toBe(true);
  });
  it.each(['flow_mod', 'packet_out', 'group_mod', 'meter_mod', 'port_mod', 'table_mod', 'pre_encoded'] as const)('%s waits for mastership', (t) => {
    expect(nonMasterMaySend(t)).toBe(false);
  });
});

/**
 * A bridge's role handling as OVS does it (connmgr.c, ofproto.c handle_role_request): connections start EQUAL,
 * MASTER/SLAVE requests pass the stale check (and update the cached id), a MASTER request demotes the master
 * with an ONF role status, a slave's writes get OFPBRC_IS_SLAVE. Errors quote nothing here.
 */
class OvsBridgeModel {
  generation?: bigint;
  readonly roles = new Map<string, number>();
  readonly sent = new Map<string, OfpMessage[]>();
  /** Writes the bridge accepted, by connection. */
  readonly accepted: { from: string; msg: OfpMessage }[] = [];

  connect(name: string): void {
    this.roles.set(name, OFPCR_ROLE_EQUAL);
    this.sent.set(name, []);
  }

  take(name: string): OfpMessage[] {
    const out = this.sent.get(name)!;
    this.sent.set(name, []);
    return out;
  }

  receive(from: string, msgs: OfpMessage[]): void {
    for (const msg of msgs) this.one(from, msg);
  }

  private one(from: string, msg: OfpMessage): void {
    const out = this.sent.get(from)!;
    if (msg.type === 'role_request') {
      if (msg.role !== OFPCR_ROLE_NOCHANGE) {
        if (msg.role !== OFPCR_ROLE_EQUAL) {
          if (this.generation !== undefined && generationIsStale(msg.generationId, this.generation)) {
            out.push(error(msg, 'OFPRRFC_STALE'));
            return;
          }
          this.generation = msg.generationId;
        }
        if (msg.role === OFPCR_ROLE_MASTER) {
          for (const [other, role] of this.roles) {
            if (other !== from && role === OFPCR_ROLE_MASTER) {
              this.roles.set(other, OFPCR_ROLE_SLAVE);
              this.sent.get(other)!.push({ type: 'onf_role_status', xid: 0, role: OFPCR_ROLE_SLAVE, reason: OFPCRR_MASTER_REQUEST, generationId: this.generation! });
            }
          }
        }
        this.roles.set(from, msg.role);
      }
      out.push({ type: 'role_reply', xid: msg.xid, role: this.roles.get(from)!, generationId: this.generation ?? U64 });
      return;
    }
    if (nonMasterMaySend(msg.type)) return; // reads and async configuration: not writes
    if (this.roles.get(from) === OFPCR_ROLE_SLAVE) {
      out.push(error(msg, 'OFPBRC_IS_SLAVE'));
      return;
    }
    this.accepted.push({ from, msg });
  }
}

function error(msg: OfpMessage, name: 'OFPRRFC_STALE' | 'OFPBRC_IS_SLAVE'): ErrorMsg {
  return { type: 'error', xid: msg.xid, ...OFPERR[name], data: Buffer.alloc(0) };
}

/** One vadc instance's connection to the bridge: its machine, and what its reports were. */
class Instance {
  readonly machine: RoleMachine;
  readonly reports: RoleStep['report'][] = [];

  constructor(readonly name: string, private readonly bridge: OvsBridgeModel, wanted: WantedRole) {
    this.machine = new RoleMachine(wanted, 0);
    bridge.connect(name);
    this.send(this.machine.connected(0));
  }

  /** Sends a step's messages and answers everything the bridge has for us until it is quiet. */
  send(step: RoleStep): void {
    if (step.report) this.reports.push(step.report);
    this.bridge.receive(this.name, step.msgs);
  }

  /** Delivers what the bridge sent this instance. */
  pump(now = 1): void {
    for (let msgs = this.bridge.take(this.name); msgs.length; msgs = this.bridge.take(this.name)) {
      for (const msg of msgs) {
        if (msg.type === 'role_reply') this.send(this.machine.reply(msg, now));
        else if (msg.type === 'onf_role_status') this.send(this.machine.status(msg, now));
        else if (msg.type === 'error') this.send(this.machine.error(msg, now) ?? { msgs: [] });
      }
    }
  }

  write(msg: OfpMessage): void {
    this.bridge.receive(this.name, [msg]);
  }
}

const flowMod = { type: 'barrier_reply', xid: 9 } as unknown as OfpMessage; // any write: the model only looks at the type
const packetOut: OfpMessage = { type: 'packet_out', xid: 7, bufferId: 0xffffffff, inPort: 1, actions: [], data: Buffer.alloc(0) };

describe('RoleMachine against a model of OVS role handling', () => {
  it('starts by setting the async config and asking the generation, then becomes SLAVE', () => {
    const m = new RoleMachine({ role: 'standby', generation: 3n }, 0);
    const first = m.connected(0);
    expect(first.msgs[0]).toEqual({ type: 'set_async', xid: 0, ...ASYNC_CONFIG });
    expect(first.msgs[1]).toMatchObject({ type: 'role_request', role: OFPCR_ROLE_NOCHANGE });
    const step = m.reply({ type: 'role_reply', xid: 1, role: OFPCR_ROLE_EQUAL, generationId: U64 }, 5);
    expect(step.msgs).toEqual([{ type: 'role_request', xid: 0, role: OFPCR_ROLE_SLAVE, generationId: 3n }]);
    expect(m.state).toBe('unknown');
    const granted = m.reply({ type: 'role_reply', xid: 2, role: OFPCR_ROLE_SLAVE, generationId: 3n }, 6);
    expect(granted).toEqual({ msgs: [], report: { kind: 'slave', generation: 3n } });
    expect(m.state).toBe('slave');
    expect(m.isMaster).toBe(false);
    expect(m.since).toBe(6);
  });

  it('a SLAVE request follows a later generation the switch already holds (no stale refusal)', () => {
    const m = new RoleMachine({ role: 'standby', generation: 3n }, 0);
    m.connected(0);
    const step = m.reply({ type: 'role_reply', xid: 1, role: OFPCR_ROLE_EQUAL, generationId: 40n }, 1);
    expect((step.msgs[0] as RoleRequest).generationId).toBe(40n);
  });

  it('a lone instance wanted as master becomes master with its generation', () => {
    const bridge = new OvsBridgeModel();
    const a = new Instance('a', bridge, { role: 'master', generation: 1n });
    a.pump();
    expect(a.machine.state).toBe('master');
    expect(a.reports).toEqual([{ kind: 'master', generation: 1n }]);
    expect(bridge.roles.get('a')).toBe(OFPCR_ROLE_MASTER);
    a.write(packetOut);
    expect(bridge.accepted.map((x) => x.from)).toEqual(['a']);
  });

  it('a standby takes over with a later generation; the old master is told and fenced; its writes are refused', () => {
    const bridge = new OvsBridgeModel();
    const a = new Instance('a', bridge, { role: 'master', generation: 1n });
    const b = new Instance('b', bridge, { role: 'standby', generation: 1n });
    a.pump();
    b.pump();
    expect([a.machine.state, b.machine.state]).toEqual(['master', 'slave']);
    // a hangs; the election gives b generation 2
    b.send(b.machine.want({ role: 'master', generation: 2n }, 10));
    b.pump(10);
    expect(b.machine.state).toBe('master');
    expect(bridge.roles.get('a')).toBe(OFPCR_ROLE_SLAVE);
    // a wakes: a write it had queued is refused by the switch, the role status tells it why
    a.write(packetOut);
    a.pump(20);
    expect(a.machine.state).toBe('fenced');
    expect(a.reports).toContainEqual(expect.objectContaining({ kind: 'fenced', generation: 2n, ours: 1n }));
    expect(bridge.accepted).toEqual([]);
    // a keeps asking nothing while it still believes in generation 1
    expect(a.machine.want({ role: 'master', generation: 1n }, 21).msgs).toEqual([]);
    // the election makes a a standby: it asks SLAVE at the switch's generation
    a.send(a.machine.want({ role: 'standby', generation: 2n }, 22));
    a.pump(22);
    expect(a.machine.state).toBe('slave');
    b.write(packetOut);
    expect(bridge.accepted.map((x) => x.from)).toEqual(['b']);
  });

  it('a MASTER request with an older generation is refused as stale and reported as fenced', () => {
    const bridge = new OvsBridgeModel();
    bridge.generation = 9n;
    const a = new Instance('a', bridge, { role: 'master', generation: 4n });
    a.pump();
    expect(a.machine.state).toBe('fenced');
    expect(a.reports).toEqual([expect.objectContaining({ kind: 'fenced', ours: 4n, generation: 9n, reason: expect.stringContaining('OFPRRFC_STALE') })]);
    // a later generation from the election claims again
    a.send(a.machine.want({ role: 'master', generation: 10n }, 2));
    a.pump(2);
    expect(a.machine.state).toBe('master');
    expect(bridge.generation).toBe(10n);
  });

  it('fenced: the switch generation is asked again, and a move of it (or an outbid that falls short) is reported once', () => {
    const bridge = new OvsBridgeModel();
    bridge.generation = 9n;
    const a = new Instance('a', bridge, { role: 'master', generation: 4n });
    // The switch moves on after answering a's connect-time query: another controller (outside a's election) claims 12.
    bridge.generation = 12n;
    a.pump();
    expect(a.machine.state).toBe('fenced');
    expect(a.machine.generation).toBe(12n); // the STALE answer made a ask again
    expect(a.reports.map((r) => r && r.kind === 'fenced' && `${r.ours}<${r.generation}`)).toEqual(['4<9', '4<12']);
    // An outbid computed from the old figure (10) still falls short of 12: said once, nothing sent.
    a.send(a.machine.want({ role: 'master', generation: 10n }, 2));
    a.send(a.machine.want({ role: 'master', generation: 10n }, 3));
    expect(a.reports.slice(2)).toEqual([expect.objectContaining({ kind: 'fenced', ours: 10n, generation: 12n })]);
    // Past it: MASTER asked and granted.
    a.send(a.machine.want({ role: 'master', generation: 13n }, 4));
    a.pump(4);
    expect(a.machine.state).toBe('master');
    expect(bridge.generation).toBe(13n);
  });

  it('an equal generation is accepted: a master that reconnects keeps its role', () => {
    const bridge = new OvsBridgeModel();
    const a = new Instance('a', bridge, { role: 'master', generation: 5n });
    a.pump();
    bridge.roles.delete('a');
    const again = new Instance('a', bridge, { role: 'master', generation: 5n });
    again.pump();
    expect(again.machine.state).toBe('master');
  });

  it('a change of the wanted role while a request is outstanding is sent after the answer', () => {
    const m = new RoleMachine({ role: 'standby', generation: 1n }, 0);
    m.connected(0);
    expect(m.want({ role: 'master', generation: 2n }, 1).msgs).toEqual([]);
    const step = m.reply({ type: 'role_reply', xid: 1, role: OFPCR_ROLE_EQUAL, generationId: 1n }, 2);
    expect(step.msgs).toEqual([{ type: 'role_request', xid: 0, role: OFPCR_ROLE_MASTER, generationId: 2n }]);
  });

  it('OFPBRC_IS_SLAVE while master means we were demoted; other role errors are reported as refusals', () => {
    const m = new RoleMachine({ role: 'master', generation: 1n }, 0);
    m.connected(0);
    m.reply({ type: 'role_reply', xid: 1, role: OFPCR_ROLE_EQUAL, generationId: U64 }, 0);
    m.reply({ type: 'role_reply', xid: 2, role: OFPCR_ROLE_MASTER, generationId: 1n }, 0);
    expect(m.error(error(flowMod, 'OFPBRC_IS_SLAVE'), 3)).toEqual({ msgs: [], report: expect.objectContaining({ kind: 'not_master' }) });
    expect(m.state).toBe('slave');
    expect(m.error(error(flowMod, 'OFPBRC_IS_SLAVE'), 4)).toEqual({ msgs: [] });
    const n = new RoleMachine({ role: 'master', generation: 1n }, 0);
    n.connected(0);
    expect(n.error({ type: 'error', xid: 1, ...OFPERR.OFPRRFC_UNSUP, data: Buffer.alloc(0) }, 1)).toEqual({
      msgs: [], report: { kind: 'refused', reason: 'NOCHANGE request refused: OFPRRFC_UNSUP' },
    });
    // an error that is not about roles is left to the caller
    expect(n.error({ type: 'error', xid: 1, ...OFPERR.OFPBMC_BAD_PREREQ, data: Buffer.alloc(0) }, 1)).toBeUndefined();
  });

  it('a stale SLAVE request asks the generation again and follows it', () => {
    const m = new RoleMachine({ role: 'standby', generation: 1n }, 0);
    m.connected(0);
    m.reply({ type: 'role_reply', xid: 1, role: OFPCR_ROLE_EQUAL, generationId: U64 }, 0);
    const step = m.error({ type: 'error', xid: 2, ...OFPERR.OFPRRFC_STALE, data: Buffer.alloc(0) }, 1);
    expect(step?.msgs).toEqual([{ type: 'role_request', xid: 0, role: OFPCR_ROLE_NOCHANGE, generationId: 0n }]);
    const next = m.reply({ type: 'role_reply', xid: 3, role: OFPCR_ROLE_EQUAL, generationId: 8n }, 2);
    expect(next.msgs).toEqual([{ type: 'role_request', xid: 0, role: OFPCR_ROLE_SLAVE, generationId: 8n }]);
  });
});
