// Pre-encoded layouts: slots found where encode() puts the values, whatever encodes them; layouts that
// cannot be made are refused with the reason.
import { compileLayout, OfpLayoutError, storeSlot, u16, u32 } from '../../../src/openflow/layout';
import { encode } from '../../../src/openflow/codec';
import type { FlowMod, OfpMessage } from '../../../src/openflow/types';

function flow(v: { port: number; ip: number; mark: number }): FlowMod {
  return {
    type: 'flow_mod', xid: 0, cookie: 0x1234n, cookieMask: 0n, tableId: 1, command: 0, idleTimeout: 30, hardTimeout: 0, priority: 100,
    bufferId: 0xffffffff, outPort: 0xffffffff, outGroup: 0xffffffff, flags: 0,
    match: [{ field: 'in_port', value: v.port }, { field: 'eth_type', value: 0x800 }, { field: 'ipv4_src', value: `10.${(v.ip >>> 16) & 255}.${(v.ip >>> 8) & 255}.${v.ip & 255}` }],
    instructions: [{ type: 'apply_actions', actions: [
      { type: 'nx_ct', flags: 1, zoneSrc: 0, zoneOfsNbits: 7, recircTable: 255, alg: 0, actions: [{ type: 'set_field', field: { field: 'ct_mark', value: ((0xab << 16) | v.mark) >>> 0 } }] },
      { type: 'output', port: v.port, maxLen: 0 },
    ] }],
  };
}

describe('compileLayout', () => {
  const slots = { port: { bytes: 4 }, ip: { bytes: 4, bits: 24 }, mark: { bytes: 4, bits: 16 } } as const;

  it('finds each value where encode() puts it, including a value in two places and one inside a Nicira action', () => {
    const layout = compileLayout(flow, { port: 3, ip: 0x010203, mark: 9 }, slots);
    expect(layout.offsets.port).toHaveLength(2); // in_port and the output action
    expect(layout.offsets.ip).toHaveLength(1);
    expect(layout.offsets.mark).toHaveLength(1);
    expect(() => layout.offset('port')).toThrow(/appears 2 times/);
    for (const values of [{ port: 0xfffffff0, ip: 0xffffff, mark: 0xffff }, { port: 1, ip: 1, mark: 1 }, { port: 77, ip: 0x0a0b0c, mark: 0x1234 }]) {
      const out = Buffer.alloc(layout.bytes.length);
      layout.write(out, 0, values);
      expect(out.toString('hex')).toBe(Buffer.from(encode(flow(values))).toString('hex'));
    }
  });

  it('refuses a slot whose value changes the message length, or does not appear, or lands in wider bytes than declared', () => {
    const grows = (v: { n: number }): OfpMessage => ({ type: 'echo_request', xid: 0, data: Buffer.alloc(v.n % 7) });
    expect(() => compileLayout(grows, { n: 1 }, { n: { bytes: 1 } })).toThrow(/changes the message length/);
    const ignores = (v: { n: number }): OfpMessage => ({ type: 'echo_request', xid: 0, data: Buffer.alloc(v.n * 0) });
    expect(() => compileLayout(ignores, { n: 1 }, { n: { bytes: 1 } })).toThrow(/does not appear/);
    // A value the builder spreads over more bytes than the slot declares (here: both halves of in_port).
    const spread = (v: { n: number }) => flow({ port: (v.n * 0x10001) >>> 0, ip: 1, mark: 1 });
    expect(() => compileLayout(spread, { n: 3 }, { n: { bytes: 2 } })).toThrow(/more than its 2/);
    expect(() => compileLayout(flow, { port: 3, ip: 0x01020304, mark: 9 }, slots)).toThrow(OfpLayoutError);
  });

  it('storeSlot keeps the bits outside the value', () => {
    const b = Buffer.from('ffffffff', 'hex');
    storeSlot(b, 0, { bytes: 4, bits: 12 }, 0x123);
    expect(b.toString('hex')).toBe('fffff123');
    const mac = Buffer.alloc(6);
    storeSlot(mac, 0, { bytes: 6 }, 0x0102030405ff);
    expect(mac.toString('hex')).toBe('0102030405ff');
  });

  it('u32 and u16 store big-endian at an offset, the low bits only', () => {
    const b = Buffer.alloc(8);
    u32(b, 1, 0x01020304);
    u16(b, 5, 0x12345);
    expect(b.toString('hex')).toBe('0001020304234500');
  });

  it('takes prototype values from 0 to the top of their bits and refuses the rest by name; offset() gives a slot that appears once', () => {
    expect(compileLayout(flow, { port: 3, ip: 0, mark: 0xffff }, slots).offsets.ip).toHaveLength(1);
    const layout = compileLayout(flow, { port: 3, ip: 0xffffff, mark: 0 }, slots);
    // ipv4_src 10.x.y.z: the slot's 4 bytes end with the 3 of the value.
    const at = layout.offset('ip');
    expect(at).toBe(layout.offsets.ip[0]);
    expect(layout.bytes.subarray(at, at + 4).toString('hex')).toBe('0affffff');
    for (const ip of [-1, 1.5, 2 ** 24]) {
      expect(() => compileLayout(flow, { port: 3, ip, mark: 9 }, slots)).toThrow(new OfpLayoutError(`layout slot ip: prototype value ${ip} does not fit 24 bits`));
    }
    const error = new OfpLayoutError('x');
    expect([error.name, error.message]).toEqual(['OfpLayoutError', 'x']);
  });

  it('places a 48-bit slot (a MAC) and writes values across its whole range', () => {
    const macText = (n: number): string => n.toString(16).padStart(12, '0').replace(/(..)(?!$)/g, '$1:');
    const setMac = (v: { mac: number }): FlowMod => ({
      ...flow({ port: 3, ip: 1, mark: 1 }),
      instructions: [{ type: 'apply_actions', actions: [{ type: 'set_field', field: { field: 'eth_dst', value: macText(v.mac) } }] }],
    });
    // The second prototype has an 0xff byte in its low 32 bits: the flip must change it too.
    for (const prototype of [0x0200_0000_0a0b, 0x0200_00ff_ff0b]) {
      const layout = compileLayout(setMac, { mac: prototype }, { mac: { bytes: 6 } });
      expect(layout.offsets.mac).toHaveLength(1);
      for (const mac of [0xffff_ffff_ffff, 1, 0x1234_5678_9abc, 0x0001_0000_0000]) {
        const out = Buffer.alloc(layout.bytes.length);
        layout.write(out, 0, { mac });
        expect(out.toString('hex')).toBe(Buffer.from(encode(setMac({ mac }))).toString('hex'));
      }
    }
  });

  /** A flow with an 8-bit, a 16-bit, a 24-bit, a 32-bit and a 48-bit slot; every value set it is given, recorded. */
  function recordingBuilder(): { build: (v: Wide) => FlowMod; seen: Wide[] } {
    const seen: Wide[] = [];
    const macText = (n: number): string => n.toString(16).padStart(12, '0').replace(/(..)(?!$)/g, '$1:');
    const build = (v: Wide): FlowMod => {
      seen.push({ ...v });
      const base = flow({ port: v.port, ip: v.ip, mark: v.mark });
      return {
        ...base,
        match: [...base.match, { field: 'ipv4_dst', value: `10.0.0.${v.low}` }],
        instructions: base.instructions.map((i) => (i.type === 'apply_actions'
          ? { ...i, actions: [{ type: 'set_field', field: { field: 'eth_dst', value: macText(v.mac) } }, ...i.actions] } : i)),
      };
    };
    return { build, seen };
  }
  interface Wide { [key: string]: number; low: number; mark: number; ip: number; port: number; mac: number }
  const wideSlots = { low: { bytes: 4, bits: 8 }, mark: { bytes: 4, bits: 16 }, ip: { bytes: 4, bits: 24 }, port: { bytes: 4 }, mac: { bytes: 6 } } as const;
  const wideBits: Record<keyof typeof wideSlots, number> = { low: 8, mark: 16, ip: 24, port: 32, mac: 48 };
  const widePrototype: Wide = { low: 5, mark: 5, ip: 5, port: 5, mac: 5 };

  /** The value sets the verifier made up: no slot at its prototype value (the prototype and its one-slot flips are not). */
  const randomSets = (seen: Wide[]): Wide[] => seen.filter((v) => Object.keys(wideBits).every((k) => v[k] !== widePrototype[k]));

  it("verifies with random integers across each slot's whole width (8, 16, 24, 32 and 48 bits), the same ones every time", () => {
    const { build, seen } = recordingBuilder();
    compileLayout(build, widePrototype, wideSlots);
    const sets = randomSets(seen);
    expect(sets).toHaveLength(8);
    for (const [key, bits] of Object.entries(wideBits)) {
      const values = sets.map((v) => v[key]);
      for (const value of values) expect([key, Number.isInteger(value) && value >= 1 && value < 2 ** bits]).toEqual([key, true]);
      // Spread over the width, not stuck in its low bits: the largest of the 8 reaches its top two bits.
      expect([key, Math.max(...values) >= 2 ** (bits - 2)]).toEqual([key, true]);
    }
    const again = recordingBuilder();
    compileLayout(again.build, widePrototype, wideSlots);
    expect(randomSets(again.seen)).toEqual(sets);
  });

  it('verifies with 2 of the 8 random value sets taken, and refuses when the builder takes only 1', () => {
    const { build, seen } = recordingBuilder();
    compileLayout(build, widePrototype, wideSlots);
    const sets = randomSets(seen);
    const takingOnly = (taken: Wide[]) => (v: Wide): FlowMod => {
      const random = Object.keys(wideBits).every((k) => v[k] !== widePrototype[k]);
      if (random && !taken.some((t) => Object.keys(wideBits).every((k) => t[k] === v[k]))) throw new RangeError('refused');
      return build(v);
    };
    expect(compileLayout(takingOnly([sets[1], sets[6]]), widePrototype, wideSlots).bytes.length).toBeGreaterThan(0);
    expect(() => compileLayout(takingOnly([sets[6]]), widePrototype, wideSlots))
      .toThrow(new OfpLayoutError('the builder refused 7 of 8 random value sets: the layout could not be verified'));
  });

  it('refuses a layout that does not reproduce encode() for random values, and one whose builder refuses nearly every random value', () => {
    // Linear where the slot is located (3 and its flip), different for most values: only random values show it.
    const bent = (v: { n: number }): FlowMod => flow({ port: (v.n & 0xff) === 3 || (v.n & 0xff) === 0xfc ? v.n : (v.n ^ 0x10) >>> 0, ip: 1, mark: 1 });
    const mismatch = /^cannot encode OpenFlow layout: the layout does not reproduce encode\(\) for \{"n":\d+\}$/;
    expect(() => compileLayout(bent, { n: 3 }, { n: { bytes: 4 } })).toThrow(mismatch);
    // Linear for values below 256 too: only values across the slot's 32 bits show it (not a generator stuck at 0 and 1).
    const bentHigh = (v: { n: number }): FlowMod => flow({ port: v.n < 0x100 || (v.n & 0xff) === 0xfc ? v.n : (v.n ^ 0x10) >>> 0, ip: 1, mark: 1 });
    expect(() => compileLayout(bentHigh, { n: 3 }, { n: { bytes: 4 } })).toThrow(mismatch);
    const picky = (v: { n: number }): FlowMod => {
      if ((v.n & 0xff) !== 3 && (v.n & 0xff) !== 0xfc) throw new RangeError('refused');
      return flow({ port: v.n, ip: 1, mark: 1 });
    };
    // 2 of 256 low bytes pass: at most one of the 8 random sets (from the verifier's fixed seed, 7 refused here).
    const refused = (() => { try { compileLayout(picky, { n: 3 }, { n: { bytes: 4 } }); return undefined; } catch (e) { return e; } })();
    expect(refused).toBeInstanceOf(OfpLayoutError);
    expect((refused as Error).message).toMatch(/^the builder refused [78] of 8 random value sets: the layout could not be verified$/);
  });
});
