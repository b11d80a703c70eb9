// Typed Nicira actions: exact wire bytes for hand-built actions, and typed errors for bad field references.
import { decode, encode, OfpEncodeError } from '../../../src/openflow';
import type { Action, FlowMod } from '../../../src/openflow';

const flowMod = (actions: Action[]): FlowMod => ({
  type: 'flow_mod', xid: 7, cookie: 1n, cookieMask: 0n, tableId: 2, command: 0, idleTimeout: 0, hardTimeout: 0,
  priority: 100, bufferId: 0xffffffff, outPort: 0xffffffff, outGroup: 0xffffffff, flags: 0, match: [],
  instructions: [{ type: 'apply_actions', actions }],
});
/** Bytes of the single action inside flowMod(): after header 8 + body 40 + empty match 8 + instruction head 8. */
const actionBytes = (a: Action): Buffer => encode(flowMod([a])).subarray(64);

describe('Nicira actions', () => {
  it('fin_timeout as the flow builders emit it: NX header, idle, hard, 2 pad bytes', () => {
    const bytes = actionBytes({ type: 'nx_fin_timeout', finIdleTimeout: 15, finHardTimeout: 0x1234 });
    expect(bytes.toString('hex')).toBe('ffff001000002320' + '0013' + '000f' + '1234' + '0000');
    const back = decode(encode(flowMod([{ type: 'nx_fin_timeout', finIdleTimeout: 15, finHardTimeout: 0x1234 }])));
    expect(back).toEqual(flowMod([{ type: 'nx_fin_timeout', finIdleTimeout: 15, finHardTimeout: 0x1234 }]));
  });

  it('field references: OXM names map to their header, unknown headers stay numbers', () => {
    const load: Action = { type: 'nx_reg_load', ofsNbits: (3 << 6) | 7, dst: 'reg5', value: 0xabcdn };
    expect(actionBytes(load).toString('hex')).toBe('ffff001800002320' + '0007' + '00c7' + '00010a04' + '000000000000abcd');
    const move: Action = { type: 'nx_reg_move', nBits: 4, srcOfs: 1, dstOfs: 2, srcField: 0x12345678, dstField: 'tcp_dst' };
    const m = decode(encode(flowMod([move])));
    expect(m).toEqual(flowMod([move]));
  });

  it('an unknown field name or a non-u32 header is a typed encode error naming the field', () => {
    const bad = flowMod([{ type: 'nx_stack_push', start: 0, field: 'no_such' as never, end: 4 }]);
    expect(() => encode(bad)).toThrow(OfpEncodeError);
    expect(() => encode(bad)).toThrow(/nx_stack_push\.field: expected an OXM field name/);
    expect(() => encode(flowMod([{ type: 'nx_output_reg', ofsNbits: 0, src: -1, maxLen: 0 }]))).toThrow(/u32 NXM header/);
  });
});
