// Flow-mod templates against the general encoder: for random layouts and random values in each layout, the
// template's bytes are exactly encode()'s; other layouts and bad values fall back to (and fail like) encode();
// layouts without fixed size are refused. Also: encoded messages are independent views of the shared slab.
import { compileFlowModTemplate, compileMessageTemplate, encode, OfpEncodeError, OfpTemplateError } from '../../../src/openflow';
import { OXM_FIELDS } from '../../../src/openflow/oxm';
import type { Action, FlowMod, Instruction, OfpMessage, Oxm, OxmFieldName } from '../../../src/openflow';

const SHAPES = Number(process.env.VADC_TEMPLATE_SHAPES ?? 300);
const PER_SHAPE = 20;

/** Seeded xorshift32, so a failure names a reproducible case. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; };
}
let rand = rng(20261125);
const below = (n: number): number => Math.floor(rand() * n);
/** Any value of the width, the ends of the range included (they catch sign and truncation mistakes). */
const uint = (bits: number): number => {
  const max = 2 ** bits - 1;
  const roll = rand();
  return roll < 0.1 ? 0 : roll < 0.2 ? max : Math.floor(rand() * (max + 1));
};
const u64 = (): bigint => (BigInt(uint(32)) << 32n) | BigInt(uint(32));
const mac = (): string => Array.from({ length: 6 }, () => uint(8).toString(16).padStart(2, '0')).join(':');
const ipv4 = (): string => Array.from({ length: 4 }, () => uint(8)).join('.');
const ipv6 = (): string => Array.from({ length: 8 }, () => uint(16).toString(16)).join(':');
const VALUE: Record<string, () => number | bigint | string> = {
  u8: () => uint(8), u16: () => uint(16), u24: () => uint(24), u32: () => uint(32), u64, mac, ipv4, ipv6,
};

// A layout: which OXM fields (masked or not), which instructions and actions; values are drawn per message.
interface OxmShape { field: OxmFieldName; type: string; masked: boolean }
type ActionShape = { type: 'set_field'; oxm: OxmShape } | { type: 'fixed'; make: () => Action };
type InstructionShape = { type: 'apply_actions' | 'write_actions'; actions: ActionShape[] } | { type: 'fixed'; make: () => Instruction };
interface Shape { match: OxmShape[]; instructions: InstructionShape[] }

function oxmShape(): OxmShape {
  const decl = OXM_FIELDS[below(OXM_FIELDS.length)];
  return { field: decl.name, type: decl.type, masked: decl.maskable && rand() < 0.4 };
}
const FIXED_ACTIONS: (() => Action)[] = [
  () => ({ type: 'output', port: uint(32), maxLen: uint(16) }), () => ({ type: 'group', groupId: uint(32) }),
  () => ({ type: 'set_queue', queueId: uint(32) }), () => ({ type: 'set_nw_ttl', nwTtl: uint(8) }),
  () => ({ type: 'push_vlan', ethertype: uint(16) }), () => ({ type: 'dec_nw_ttl' }), () => ({ type: 'pop_vlan' }),
  () => ({ type: 'nx_fin_timeout', finIdleTimeout: uint(16), finHardTimeout: uint(16) }),
  () => ({ type: 'nx_resubmit_table', inPort: uint(16), tableId: uint(8) }),
];
const FIXED_INSTRUCTIONS: (() => Instruction)[] = [
  () => ({ type: 'goto_table', tableId: uint(8) }), () => ({ type: 'write_metadata', metadata: u64(), metadataMask: u64() }),
  () => ({ type: 'clear_actions' }), () => ({ type: 'meter', meterId: uint(32) }),
];
function actionShape(): ActionShape {
  return rand() < 0.5 ? { type: 'set_field', oxm: oxmShape() } : { type: 'fixed', make: FIXED_ACTIONS[below(FIXED_ACTIONS.length)] };
}
function shape(): Shape {
  return {
    match: Array.from({ length: below(9) }, oxmShape),
    instructions: Array.from({ length: below(4) }, (): InstructionShape => (rand() < 0.6
      ? { type: rand() < 0.7 ? 'apply_actions' : 'write_actions', actions: Array.from({ length: below(7) }, actionShape) }
      : { type: 'fixed', make: FIXED_INSTRUCTIONS[below(FIXED_INSTRUCTIONS.length)] })),
  };
}
function oxm(s: OxmShape): Oxm {
  return s.masked ? { field: s.field, value: VALUE[s.type](), mask: VALUE[s.type]() } as Oxm : { field: s.field, value: VALUE[s.type]() } as Oxm;
}
/** A message of the layout with fresh random values everywhere. */
function message(s: Shape): FlowMod {
  return {
    type: 'flow_mod', xid: uint(32), cookie: u64(), cookieMask: u64(), tableId: uint(8), command: uint(8), idleTimeout: uint(16),
    hardTimeout: uint(16), priority: uint(16), bufferId: uint(32), outPort: uint(32), outGroup: uint(32), flags: uint(16),
    match: s.match.map(oxm),
    instructions: s.instructions.map((i): Instruction => (i.type === 'fixed' ? i.make() : {
      type: i.type, actions: i.actions.map((a): Action => (a.type === 'fixed' ? a.make() : { type: 'set_field', field: oxm(a.oxm) })),
    })),
  };
}

beforeEach(() => { rand = rng(20261125); });

describe('compileFlowModTemplate', () => {
  it(`encodes ${SHAPES} random layouts x ${PER_SHAPE} random messages to exactly encode()'s bytes`, () => {
    let compared = 0;
    for (let k = 0; k < SHAPES; k++) {
      const s = shape();
      const template = compileFlowModTemplate(message(s));
      for (let n = 0; n < PER_SHAPE; n++) {
        const m = message(s);
        expect(template.fits(m)).toBe(true);
        const fast = template.encode(m);
        const general = encode(m);
        if (!fast.equals(general)) throw new Error(`layout ${k} message ${n}: ${fast.toString('hex')} != ${general.toString('hex')}`);
        expect(fast.length).toBe(template.length);
        compared++;
      }
    }
    expect(compared).toBe(SHAPES * PER_SHAPE);
  });

  it('gives the general encoding for messages of another layout (and says they do not fit)', () => {
    const s: Shape = { match: [{ field: 'ipv4_src', type: 'ipv4', masked: false }, { field: 'tcp_dst', type: 'u16', masked: false }],
      instructions: [{ type: 'apply_actions', actions: [{ type: 'set_field', oxm: { field: 'eth_dst', type: 'mac', masked: false } }] }] };
    const template = compileFlowModTemplate(message(s));
    const others: FlowMod[] = [
      { ...message(s), match: [{ field: 'ipv4_src', value: '10.0.0.1', mask: '255.0.0.0' }, { field: 'tcp_dst', value: 80 }] },
      { ...message(s), match: [{ field: 'ipv4_dst', value: '10.0.0.1' }, { field: 'tcp_dst', value: 80 }] },
      { ...message(s), match: [{ field: 'ipv4_src', value: '10.0.0.1' }] },
      { ...message(s), instructions: [] },
      { ...message(s), instructions: [{ type: 'write_actions', actions: [{ type: 'set_field', field: { field: 'eth_dst', value: '02:00:00:00:00:01' } }] }] },
      { ...message(s), instructions: [{ type: 'apply_actions', actions: [{ type: 'output', port: 1, maxLen: 0 }] }] },
      { ...message(s), version: 5 },
    ];
    for (const m of others) {
      expect(template.fits(m)).toBe(false);
      expect(template.encode(m).equals(encode(m))).toBe(true);
    }
  });

  it('fails on bad values exactly as encode() does', () => {
    const s: Shape = { match: [{ field: 'ipv4_src', type: 'ipv4', masked: false }, { field: 'tcp_dst', type: 'u16', masked: false }],
      instructions: [{ type: 'apply_actions', actions: [{ type: 'set_field', oxm: { field: 'eth_dst', type: 'mac', masked: false } }] }] };
    const template = compileFlowModTemplate(message(s));
    const bad: FlowMod[] = [
      { ...message(s), xid: -1 },
      { ...message(s), priority: 70000 },
      { ...message(s), cookie: 5 as unknown as bigint },
      { ...message(s), match: [{ field: 'ipv4_src', value: '10.0.0.256' }, { field: 'tcp_dst', value: 80 }] },
      { ...message(s), match: [{ field: 'ipv4_src', value: '10.0.0.1' }, { field: 'tcp_dst', value: 1.5 }] },
      { ...message(s), instructions: [{ type: 'apply_actions', actions: [{ type: 'set_field', field: { field: 'eth_dst', value: '02:00:00:00:00' } }] }] },
    ];
    for (const m of bad) {
      expect(template.fits(m)).toBe(true); // the layout is right; a value is not
      let expected: unknown;
      try { encode(m); } catch (err) { expected = err; }
      expect(expected).toBeInstanceOf(OfpEncodeError);
      expect(() => template.encode(m)).toThrow((expected as Error).message);
    }
  });

  it('refuses layouts without a fixed size, with the path of the part that varies', () => {
    const raw: FlowMod = { ...message({ match: [], instructions: [] }), match: [{ field: 'raw', bytes: Buffer.from([0x7f, 0xfe, 0x02, 1, 9]) }] };
    expect(() => compileFlowModTemplate(raw)).toThrow(OfpTemplateError);
    expect(() => compileFlowModTemplate(raw)).toThrow(/flow_mod\.match\[0\]/);
    const opaque: FlowMod = { ...message({ match: [], instructions: [] }), instructions: [{ type: 'experimenter', experimenter: 1, data: Buffer.alloc(4) }] };
    expect(() => compileFlowModTemplate(opaque)).toThrow(/flow_mod\.instructions\[0\]\.data/);
    const packetOut: OfpMessage = { type: 'packet_out', xid: 1, bufferId: 1, inPort: 1, actions: [], data: Buffer.alloc(60) };
    expect(() => compileMessageTemplate(packetOut)).toThrow(/packet_out\.data: a bytes item has no fixed layout/);
    expect(() => compileFlowModTemplate(packetOut as unknown as FlowMod)).toThrow(/needs a flow_mod prototype/);
  });

  it('templates other fixed-layout messages too (role_request)', () => {
    const template = compileMessageTemplate<OfpMessage>({ type: 'role_request', xid: 1, role: 2, generationId: 3n });
    const m: OfpMessage = { type: 'role_request', xid: 0xfffffffe, role: 0xffffffff, generationId: 0xffffffffffffffffn };
    expect(template.encode(m).equals(encode(m))).toBe(true);
  });
});

describe('encoded messages share the slab but not their bytes', () => {
  it('keeps earlier messages intact while later ones are written, across slab changes and failed encodes', () => {
    const s: Shape = { match: [{ field: 'tcp_src', type: 'u16', masked: false }], instructions: [] };
    const template = compileFlowModTemplate(message(s));
    const kept: [Buffer, Buffer][] = [];
    const keep = (b: Buffer): void => { kept.push([b, Buffer.from(b)]); };
    for (let i = 0; i < 3000; i++) { // ~3000 x 80 bytes: several 64 KiB slabs
      keep(template.encode(message(s)));
      keep(encode(message(s)));
      if (i % 500 === 0) keep(encode({ type: 'echo_request', xid: i, data: Buffer.alloc(60_000, i & 0xff) }));
      if (i % 100 === 0) expect(() => encode({ ...message(s), priority: -1 })).toThrow(OfpEncodeError);
    }
    for (const [view, copy] of kept) expect(view.equals(copy)).toBe(true);
  });
});
