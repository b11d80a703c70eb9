// src/flows/end-copies.ts on its own (test/unit/app/end-copies.test.ts drives it through the app): the meter that
// rate-limits the copies, where the copy goes among a flow's instructions, and the copies' flags, cookie and
// priorities. The meter and flow fields are written out as OpenFlow numbers, not taken from the code under test.
import {
  buildBackendEndCopies, buildClientEndCopies, buildEndCopyFlows, buildEndCopyMeter,
} from '../../../src/flows/end-copies';
import type { FlowMod, Instruction } from '../../../src/openflow/types';

const COPY = { type: 'nx_controller2', maxLen: 128, meterId: 0xadc } as const;
const OUTPUT = { type: 'output', port: 3, maxLen: 0 } as const;
const GOTO: Instruction = { type: 'goto_table', tableId: 1 };
const APPLY: Instruction = { type: 'apply_actions', actions: [OUTPUT] };
const METER: Instruction = { type: 'meter', meterId: 7 };

const base = (priority: number, instructions: Instruction[], flags = 0): FlowMod => ({
  type: 'flow_mod', xid: 0, cookie: 0x1234n, cookieMask: 0n, tableId: 0, command: 1, idleTimeout: 0, hardTimeout: 0, priority,
  bufferId: 0xffffffff, outPort: 0xffffffff, outGroup: 0xffffffff, flags, match: [{ field: 'eth_type', value: 0x0800 }], instructions,
});

/** A backend's reply-path flow: its address and TCP source port. */
const backendBase = (priority: number): FlowMod => ({
  ...base(priority, [GOTO]), match: [{ field: 'eth_type', value: 0x0800 }, { field: 'ipv4_src', value: '10.0.1.11' }, { field: 'tcp_src', value: 8080 }],
});

describe('end copies (src/flows/end-copies.ts)', () => {
  it('replaces the meter whole: a delete without bands, then an add in packets/s with a burst of a quarter of the rate (at least 1)', () => {
    // OFPMC_DELETE 2, OFPMC_ADD 0; OFPMF_PKTPS 0x2 | OFPMF_BURST 0x4 | OFPMF_STATS 0x8.
    expect(buildEndCopyMeter(1000)).toEqual([
      { type: 'meter_mod', xid: 0, meterId: 0xadc, command: 2, flags: 0, bands: [] },
      { type: 'meter_mod', xid: 0, meterId: 0xadc, command: 0, flags: 0xe, bands: [{ type: 'drop', rate: 1000, burstSize: 250 }] },
    ]);
    expect(buildEndCopyMeter(10)[1].bands).toEqual([{ type: 'drop', rate: 10, burstSize: 3 }]);
    expect(buildEndCopyMeter(1)[1].bands).toEqual([{ type: 'drop', rate: 1, burstSize: 1 }]);
  });

  it('shadows a flow twice, FIN and RST, as an add with its cookie and priority and without send_flow_rem', () => {
    // flags: OFPFF_SEND_FLOW_REM (1) | OFPFF_CHECK_OVERLAP (2): the copies keep the second only.
    const flows = buildEndCopyFlows(base(100, [GOTO], 0x3), 5, 150);
    const shadow = {
      ...base(150, [{ type: 'apply_actions', actions: [COPY] }, GOTO], 0x2), command: 0, cookie: 0xadc0_6000_5000_0000n,
    };
    expect(flows).toEqual([
      { ...shadow, match: [{ field: 'eth_type', value: 0x0800 }, { field: 'tcp_flags', value: 0x001, mask: 0x001 }] },
      { ...shadow, match: [{ field: 'eth_type', value: 0x0800 }, { field: 'tcp_flags', value: 0x004, mask: 0x004 }] },
    ]);
  });

  it("with kinds 'rst' shadows the flow once, for RST alone, on either side, and deletes a FIN copy left from before (strict, its cookie pinned)", () => {
    const flagsOf = (flows: FlowMod[]) => flows.map((f) => [f.command, f.match.find((m) => m.field === 'tcp_flags')]);
    // OFPFC_DELETE_STRICT 4, OFPFC_ADD 0; FIN 0x001, RST 0x004.
    const expected = [[4, { field: 'tcp_flags', value: 0x001, mask: 0x001 }], [0, { field: 'tcp_flags', value: 0x004, mask: 0x004 }]];
    expect(flagsOf(buildEndCopyFlows(base(100, [GOTO]), 5, 150, 'rst'))).toEqual(expected);
    expect(flagsOf(buildClientEndCopies(base(132, [GOTO]), 5, 'rst'))).toEqual(expected);
    expect(flagsOf(buildBackendEndCopies(backendBase(20), 'rst'))).toEqual(expected);
    const [gone, rst] = buildEndCopyFlows(base(100, [GOTO]), 5, 150, 'rst');
    expect(gone).toMatchObject({
      tableId: 0, priority: 150, cookie: rst.cookie, cookieMask: 0xffff_ffff_ffff_ffffn, outPort: 0xffffffff, outGroup: 0xffffffff, instructions: [],
    });
  });

  it("puts the copy first: into the flow's apply_actions, before its goto, and after a meter (OpenFlow runs a meter first)", () => {
    const copied = (instructions: Instruction[]): Instruction[] => buildEndCopyFlows(base(100, instructions), 5, 150)[0].instructions;
    expect(copied([APPLY, GOTO])).toEqual([{ type: 'apply_actions', actions: [COPY, OUTPUT] }, GOTO]);
    expect(copied([GOTO])).toEqual([{ type: 'apply_actions', actions: [COPY] }, GOTO]);
    expect(copied([])).toEqual([{ type: 'apply_actions', actions: [COPY] }]);
    expect(copied([METER, APPLY, GOTO])).toEqual([METER, { type: 'apply_actions', actions: [COPY, OUTPUT] }, GOTO]);
    expect(copied([METER, GOTO])).toEqual([METER, { type: 'apply_actions', actions: [COPY] }, GOTO]);
    expect(copied([METER])).toEqual([METER, { type: 'apply_actions', actions: [COPY] }]);
  });

  it('gives the client side the END_COPY band plus the prefix length (END_COPY6 for an IPv6 service) at both ends of each band, the backend side REPLY_END_COPY', () => {
    // SERVICE 100..132 -> END_COPY 140..172; SERVICE6 2200..2328 -> END_COPY6 2600..2728; REPLY_END_COPY 30.
    const priorityOf = (servicePriority: number): number => buildClientEndCopies(base(servicePriority, [GOTO]), 5)[0].priority;
    expect([100, 124, 132, 2200, 2264, 2328].map(priorityOf)).toEqual([140, 164, 172, 2600, 2664, 2728]);
    expect(buildBackendEndCopies(backendBase(20)).map((f) => f.priority)).toEqual([30, 30]);
  });
});
