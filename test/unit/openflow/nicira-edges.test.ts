// The Nicira actions' refusals as a caller reads them (src/openflow/nicira.ts): each bad value is an OfpEncodeError
// naming the property's path and what was expected, each malformed body an OfpDecodeError with its reason and offset,
// and a well-formed controller2 body outside the canonical layout stays opaque (nx_unknown). Decoded from 8 bytes into
// a buffer, so an offset mix-up shows.
import { decode, encode, OfpDecodeError, OfpEncodeError } from '../../../src/openflow';
import type { Action, FlowMod } from '../../../src/openflow';
import { nxFieldRef } from '../../../src/openflow/nicira';
import { actionCodec } from '../../../src/openflow/structures';
import { Writer } from '../../../src/openflow/wire';

const flowMod = (actions: Action[]): FlowMod => ({
  type: 'flow_mod', xid: 7, cookie: 1n, cookieMask: 0n, tableId: 2, command: 0, idleTimeout: 0, hardTimeout: 0,
  priority: 100, bufferId: 0xffffffff, outPort: 0xffffffff, outGroup: 0xffffffff, flags: 0, match: [],
  instructions: [{ type: 'apply_actions', actions }],
});
function encodeError(action: unknown): { path: string; reason: string } {
  try { encode(flowMod([action as Action])); } catch (e) {
    if (e instanceof OfpEncodeError) return { path: e.path, reason: e.reason };
    throw e;
  }
  throw new Error('encode did not fail');
}
/** The action's bytes (hex) decoded at offset 8 of a buffer. */
const decodeAt8 = (hex: string): unknown => {
  const b = Buffer.concat([Buffer.alloc(8, 0xee), Buffer.from(hex, 'hex')]);
  return actionCodec.dec(b, 8, b.length);
};
function decodeError(hex: string): { reason: string; offset: number } {
  try { decodeAt8(hex); } catch (e) {
    if (e instanceof OfpDecodeError) return { reason: e.reason, offset: e.offset };
    throw e;
  }
  throw new Error('decode did not fail');
}
const NX = (len: number, subtype: number): string => `ffff${len.toString(16).padStart(4, '0')}00002320${subtype.toString(16).padStart(4, '0')}`;
const learn = (specs: unknown): Action => ({
  type: 'nx_learn', idleTimeout: 0, hardTimeout: 0, priority: 0, cookie: 0n, flags: 0, tableId: 0, finIdleTimeout: 0, finHardTimeout: 0,
  specs: specs as never,
});
/** nx_learn's fixed part after the NX header: timeouts, priority, cookie, flags, table, pad, fin timeouts (22 bytes). */
const LEARN_FIXED = '0'.repeat(44);
const roundTrip = (actions: Action[]) => expect(decode(encode(flowMod(actions)))).toEqual(flowMod(actions));

describe('NXM field references', () => {
  it('names a field only for its exact unmasked header; another length or the mask bit stays a number', () => {
    roundTrip([{ type: 'nx_reg_move', nBits: 4, srcOfs: 0, dstOfs: 0, srcField: 0x00010a08, dstField: 0x00010b04 | 0x100 }]);
    expect(decode(encode(flowMod([{ type: 'nx_reg_move', nBits: 4, srcOfs: 0, dstOfs: 0, srcField: 0x00010a04, dstField: 'reg5' }]))))
      .toMatchObject({ instructions: [{ actions: [{ srcField: 'reg5', dstField: 'reg5' }] }] });
  });

  it('refuses a header that is not a u32 number and a reference cut short', () => {
    expect(encodeError({ type: 'nx_output_reg', ofsNbits: 0, src: 5n, maxLen: 0 }))
      .toEqual({ path: 'Nicira action nx_output_reg.src', reason: 'expected an OXM field name or a u32 NXM header, got 5' });
    const b = Buffer.from('eeeeeeeeeeeeeeee0001', 'hex');
    expect(() => nxFieldRef.dec(b, 8, 10)).toThrow(expect.objectContaining({ reason: 'NXM field header truncated: 2 bytes left, needs 4', offset: 8 }));
  });
});

describe('dec_ttl_cnt_ids', () => {
  it('refuses a count of ids longer than the action', () => {
    // count 5 (10 bytes of ids) in a 24-byte action: 6 + 10 > 14 bytes of body.
    expect(decodeError(`${NX(24, 21)}0005000000000001000200030004`)).toEqual({
      reason: 'dec_ttl_cnt_ids ids length 16 overflows its container (14 bytes left)', offset: 18,
    });
  });

  it('refuses ids that are not an array of u16, naming the path', () => {
    expect(encodeError({ type: 'nx_dec_ttl_cnt_ids', cntIds: 'x' }))
      .toEqual({ path: 'Nicira action nx_dec_ttl_cnt_ids.cntIds', reason: 'expected an array of u16 controller ids, got x' });
    expect(encodeError({ type: 'nx_dec_ttl_cnt_ids', cntIds: [1, 70000] }))
      .toEqual({ path: 'Nicira action nx_dec_ttl_cnt_ids.cntIds[]', reason: 'expected u16, got 70000' });
  });

  it('takes up to 65535 ids, which no 16-bit action length holds, and refuses more', () => {
    expect(encodeError({ type: 'nx_dec_ttl_cnt_ids', cntIds: new Array(65535).fill(1) }).reason).toMatch(/^length \d+ does not fit in 16 bits$/);
    expect(encodeError({ type: 'nx_dec_ttl_cnt_ids', cntIds: new Array(65536).fill(1) }).reason).toMatch(/^expected an array of u16 controller ids, got 1,1,1/);
  });
});

describe('learn', () => {
  const spec = (s: unknown) => learn([s]);
  const at = 'Nicira action nx_learn.specs[0]';

  it('refuses specs that are not a list, of no known type, with more than 10 bits, or a match of 0 bits from a field', () => {
    expect(encodeError(learn({}))).toEqual({ path: 'Nicira action nx_learn.specs', reason: 'expected an array' });
    expect(encodeError(learn([null]))).toEqual({ path: `${at}.type`, reason: "expected 'match', 'load' or 'output', got undefined" });
    expect(encodeError(spec({ type: 'copy', nBits: 1, src: Buffer.alloc(2) }))).toEqual({ path: `${at}.type`, reason: "expected 'match', 'load' or 'output', got copy" });
    expect(encodeError(spec({ type: 'output', nBits: 1024, src: { field: 'reg0', ofs: 0 } }))).toEqual({ path: `${at}.nBits`, reason: 'expected a 10-bit bit count, got 1024' });
    expect(encodeError(spec({ type: 'match', nBits: 0, src: { field: 'reg0', ofs: 0 }, dst: { field: 'reg1', ofs: 0 } })))
      .toEqual({ path: at, reason: 'a match spec from a field needs nBits >= 1' });
  });

  it('refuses a bad source or destination, naming which', () => {
    expect(encodeError(spec({ type: 'load', nBits: 16, src: Buffer.alloc(4), dst: { field: 'reg0', ofs: 0 } })))
      .toEqual({ path: `${at}.src`, reason: 'immediate of 16 bits must be 2 bytes, got 4' });
    expect(encodeError(spec({ type: 'output', nBits: 16, src: null }))).toEqual({ path: `${at}.src`, reason: 'expected a { field, ofs } object, got null' });
    expect(encodeError(spec({ type: 'output', nBits: 16, src: 7 }))).toEqual({ path: `${at}.src`, reason: 'expected a { field, ofs } object, got 7' });
    expect(encodeError(spec({ type: 'output', nBits: 16, src: { field: 'no_such', ofs: 0 } })).path).toBe(`${at}.src.field`);
    expect(encodeError(spec({ type: 'load', nBits: 16, src: { field: 'reg0', ofs: 0 }, dst: { field: 'reg1', ofs: 70000 } })))
      .toEqual({ path: `${at}.dst.ofs`, reason: 'expected u16, got 70000' });
  });

  it('reads a 2-byte spec that ends the action exactly', () => {
    // load of a 16-bit immediate (10 bytes), then 2-byte outputs of a 0-bit immediate, the last one at the very end.
    const empty = { type: 'output' as const, nBits: 0, src: Buffer.alloc(0) };
    roundTrip([learn([{ type: 'load', nBits: 16, src: Buffer.from([1, 2]), dst: { field: 'reg1', ofs: 0 } }, empty, empty, empty])]);
  });

  it('refuses a spec header with the reserved destination 3, an immediate or a field cut short', () => {
    expect(decodeError(`${NX(40, 16)}${LEARN_FIXED}1810000000000000`)).toEqual({ reason: 'learn spec header 0x1810 uses reserved bits', offset: 40 });
    // A load of a 64-bit immediate (8 bytes) with 6 bytes left.
    expect(decodeError(`${NX(40, 16)}${LEARN_FIXED}2840000000000000`)).toEqual({ reason: 'learn spec immediate truncated: 6 bytes left, needs 8', offset: 42 });
    // A match from a field: its source takes the 6 bytes left, its destination has none.
    expect(decodeError(`${NX(40, 16)}${LEARN_FIXED}001000010a040000`)).toEqual({ reason: 'learn spec field truncated: 0 bytes left, needs 6', offset: 48 });
  });
});

describe('nat and controller2', () => {
  it('refuse an action shorter than 16 bytes or longer than what is left', () => {
    expect(decodeError(`${NX(8, 36)}000000000000`)).toEqual({ reason: 'Nicira action nx_nat length 8 is shorter than its minimum 16', offset: 8 });
    expect(decodeError(`${NX(24, 36)}000000000000`)).toEqual({ reason: 'Nicira action nx_nat length 24 overflows its container (16 bytes left)', offset: 8 });
  });

  it('nat: refuses a range cut short and trailing bytes', () => {
    expect(decodeError(`${NX(16, 36)}000000000004`)).toEqual({ reason: 'Nicira action nx_nat rangeIpv6Min truncated: 0 bytes left, needs 16', offset: 24 });
    expect(decodeError(`${NX(24, 36)}0000000000000000000000000000`)).toEqual({ reason: 'Nicira action nx_nat has 8 unexpected trailing bytes', offset: 24 });
  });

  it('nat: refuses flags and ranges out of range, naming them', () => {
    // These two actions' own encoders name the property under the list's path (the declared ones under their own name).
    const at = 'instruction apply_actions.actions[0]';
    expect(encodeError({ type: 'nx_nat', flags: 70000 })).toEqual({ path: `${at}.flags`, reason: 'expected u16, got 70000' });
    expect(encodeError({ type: 'nx_nat', flags: 0, rangeProtoMin: 70000 })).toEqual({ path: `${at}.rangeProtoMin`, reason: 'expected u16, got 70000' });
    expect(encodeError({ type: 'nx_nat', flags: 0, rangeProtoMax: 80n })).toEqual({ path: `${at}.rangeProtoMax`, reason: 'expected u16, got 80n' });
    expect(encodeError({ type: 'nx_nat', flags: 0, rangeIpv4Min: '10.0.0.256' }).path).toBe(`${at}.rangeIpv4Min`);
  });

  it('controller2: an empty one round-trips; properties repeated, too short, too long for what is left or of the wrong length stay opaque', () => {
    roundTrip([{ type: 'nx_controller2' }]);
    const opaque = (props: string) => {
      const hex = `${NX(16 + props.length / 2, 37)}000000000000${props}`;
      expect(decodeAt8(hex)).toEqual({ type: 'nx_unknown', subtype: 37, data: Buffer.from(hex.slice(20), 'hex') });
    };
    opaque('0000000800400000' + '0000000800800000'); // max_len twice
    opaque('0003000200000000'); // userdata of length 2, under its 4-byte header
    opaque('0003001000000000'); // userdata of 16 bytes in 8
    opaque('0000000600400000'); // max_len of length 6, not 8
  });

  it('controller2: refuses each property out of range, naming it', () => {
    const at = 'instruction apply_actions.actions[0]';
    expect(encodeError({ type: 'nx_controller2', maxLen: 70000 })).toEqual({ path: `${at}.maxLen`, reason: 'expected u16, got 70000' });
    expect(encodeError({ type: 'nx_controller2', controllerId: -1 })).toEqual({ path: `${at}.controllerId`, reason: 'expected u16, got -1' });
    expect(encodeError({ type: 'nx_controller2', reason: 256 })).toEqual({ path: `${at}.reason`, reason: 'expected u8, got 256' });
    expect(encodeError({ type: 'nx_controller2', userdata: 'abc' })).toEqual({ path: `${at}.userdata`, reason: 'expected a Buffer' });
    expect(encodeError({ type: 'nx_controller2', pause: 1 })).toEqual({ path: `${at}.pause`, reason: 'expected a boolean, got 1' });
    expect(encodeError({ type: 'nx_controller2', meterId: -1 })).toEqual({ path: `${at}.meterId`, reason: 'expected u32, got -1' });
  });

  it('controller2: userdata up to 65531 bytes fits its property, more does not; the action then needs 16 bits too', () => {
    const at = 'instruction apply_actions.actions[0]';
    expect(encodeError({ type: 'nx_controller2', userdata: Buffer.alloc(65532) })).toEqual({ path: `${at}.userdata`, reason: 'length 65536 does not fit in 16 bits' });
    expect(encodeError({ type: 'nx_controller2', userdata: Buffer.alloc(65531) })).toEqual({ path: at, reason: 'length 65552 does not fit in 16 bits' });
  });
});

describe('into a writer that starts small', () => {
  it('grows it for a nat with every range and for many counter ids', () => {
    const actions: Action[] = [
      { type: 'nx_nat', flags: 1, rangeIpv4Min: '10.0.0.1', rangeIpv4Max: '10.0.0.2', rangeIpv6Min: 'fd00::1', rangeIpv6Max: 'fd00::2', rangeProtoMin: 1, rangeProtoMax: 2 },
      { type: 'nx_dec_ttl_cnt_ids', cntIds: Array.from({ length: 100 }, (_, i) => i) },
    ];
    for (const action of actions) {
      const w = new Writer(16);
      actionCodec.enc(w, action, 'action');
      const b = w.buf.subarray(0, w.pos);
      expect(actionCodec.dec(b, 0, b.length)).toEqual(action);
    }
  });
});
