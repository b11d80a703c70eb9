// Typed Nicira actions: exact wire bytes for hand-built actions, and typed errors for bad field references.
import { decode, encode, OfpDecodeError, OfpEncodeError } from '../../../src/openflow';
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

  it('ct with nested nat, learn, controller2 and dec_ttl_cnt_ids round-trip as typed values', () => {
    const actions: Action[] = [
      { type: 'nx_ct', flags: 1, zoneSrc: 'reg3', zoneOfsNbits: 15, recircTable: 9, alg: 21, actions: [
        { type: 'nx_nat', flags: 3, rangeIpv4Min: '10.0.0.1', rangeProtoMax: 4000 },
        { type: 'set_field', field: { field: 'ct_mark', value: 77 } },
      ] },
      { type: 'nx_learn', idleTimeout: 1, hardTimeout: 2, priority: 3, cookie: 4n, flags: 5, tableId: 6, finIdleTimeout: 7,
        finHardTimeout: 8, specs: [
          { type: 'match', nBits: 16, src: { field: 'tcp_src', ofs: 0 }, dst: { field: 'tcp_dst', ofs: 0 } },
          { type: 'load', nBits: 20, src: Buffer.from([1, 2, 3, 4]), dst: { field: 'reg1', ofs: 2 } },
          { type: 'output', nBits: 32, src: { field: 'in_port', ofs: 0 } },
        ] },
      { type: 'nx_controller2', maxLen: 128, reason: 1, userdata: Buffer.from('abc'), pause: true },
      { type: 'nx_dec_ttl_cnt_ids', cntIds: [5, 6, 7] },
    ];
    expect(decode(encode(flowMod(actions)))).toEqual(flowMod(actions));
  });

  it('nat range bits are derived from the range fields set', () => {
    const bytes = actionBytes({ type: 'nx_nat', flags: 2, rangeProtoMin: 0x1234 });
    expect(bytes.toString('hex')).toBe('ffff001800002320' + '0024' + '0000' + '0002' + '0010' + '1234' + '000000000000');
  });

  it('well-formed bodies outside the canonical layout stay opaque and re-encode exactly', () => {
    // controller2 with its properties out of order (reason before max_len), and nat with a reserved range bit.
    const c2 = Buffer.from('ffff002000002320' + '0025' + '000000000000' + '0002000505000000' + '0000000800400000', 'hex');
    const nat = Buffer.from('ffff001800002320' + '0024' + '0000' + '0001' + '0040' + '000000000000' + '0000', 'hex');
    for (const action of [c2, nat]) {
      const msg = encode(flowMod([]));
      const bytes = Buffer.concat([msg.subarray(0, 56), Buffer.from('00040000', 'hex'), Buffer.alloc(4), action]);
      bytes.writeUInt16BE(bytes.length, 2);
      bytes.writeUInt16BE(8 + action.length, 58);
      const decoded = decode(bytes);
      expect(decoded).toMatchObject({ instructions: [{ actions: [{ type: 'nx_unknown', subtype: action.readUInt16BE(8) }] }] });
      expect(encode(decoded).equals(bytes)).toBe(true);
    }
  });

  it('learn: reserved spec bits are a typed decode error; a wrong immediate size a typed encode error', () => {
    const learn: Action = { type: 'nx_learn', idleTimeout: 0, hardTimeout: 0, priority: 0, cookie: 0n, flags: 0, tableId: 0,
      finIdleTimeout: 0, finHardTimeout: 0, specs: [{ type: 'output', nBits: 8, src: { field: 'reg0', ofs: 0 } }] };
    const bytes = encode(flowMod([learn]));
    bytes[64 + 32] |= 0x40; // first spec header: set reserved bit 14
    expect(() => decode(bytes)).toThrow(OfpDecodeError);
    expect(() => decode(bytes)).toThrow(/learn spec header 0x5008 uses reserved bits \(offset 96\)/);
    const wrong = { ...learn, specs: [{ type: 'load' as const, nBits: 17, src: Buffer.alloc(2), dst: { field: 'reg0' as const, ofs: 0 } }] };
    expect(() => encode(flowMod([wrong]))).toThrow(/immediate of 17 bits must be 4 bytes, got 2/);
  });
});
