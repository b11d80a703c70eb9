// Fuzz: random and mutated inputs never crash or hang the decoder; failures are always OfpDecodeError,
// and whatever decodes re-encodes and decodes to the same object. VADC_FUZZ_ITERATIONS raises the count.
import * as fs from 'fs';
import * as path from 'path';
import { isDeepStrictEqual } from 'util';
import { decode, encode, OfpDecodeError } from '../../../src/openflow';
// Deterministic PRNG (mulberry32) so a failure can be reproduced from the printed seed.
import { rng } from '../../helpers/fuzz';

const ITERATIONS = Number(process.env.VADC_FUZZ_ITERATIONS ?? 200_000);
const DIR = path.resolve(__dirname, '../../fixtures/of13/packet');
/** Open vSwitch's own messages (roles, role status, async config, groups, IPv6 matches, NAT ranges) as seeds too. */
const OVS_VECTORS = path.resolve(__dirname, '../../fixtures/ovs-of13/vectors.json');
const ovsSeeds = (JSON.parse(fs.readFileSync(OVS_VECTORS, 'utf8')) as { vectors: { hex: string }[] }).vectors.map((v) => Buffer.from(v.hex, 'hex'));
const seeds = [...fs.readdirSync(DIR).filter((f) => f.endsWith('.packet')).map((f) => fs.readFileSync(path.join(DIR, f))), ...ovsSeeds]
  .filter((b) => b.length <= 1200); // the two 11 KB table-features vectors would dominate the run time


function mutate(r: () => number, seed: Buffer): Buffer {
  const b = Buffer.from(seed);
  const kind = Math.floor(r() * 4);
  if (kind === 0) { for (let i = 0, n = 1 + Math.floor(r() * 4); i < n; i++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256); }
  else if (kind === 1 && b.length > 9) { // rewrite a 16-bit word (often a nested length or type)
    const at = 8 + Math.floor(r() * (b.length - 9)); b.writeUInt16BE(Math.floor(r() * 65536) & (r() < 0.5 ? 0xff : 0xffff), at);
  } else if (kind === 2) { const cut = Math.floor(r() * b.length); const t = b.subarray(0, cut); if (t.length >= 4) t.writeUInt16BE(t.length, 2); return t; }
  else { const at = 8 + Math.floor(r() * Math.max(1, b.length - 8)); b[at] ^= 1 << Math.floor(r() * 8); }
  return b;
}

function randomMessage(r: () => number): Buffer {
  const len = 8 + Math.floor(r() * 120);
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = Math.floor(r() * 256);
  b[0] = 4; b[1] = Math.floor(r() * 31); b.writeUInt16BE(len, 2);
  return b;
}

it(`fuzz: ${ITERATIONS} random and mutated inputs give messages or typed decode errors`, () => {
  const seed = Number(process.env.VADC_FUZZ_SEED ?? 20261125);
  const r = rng(seed);
  let decoded = 0;
  let rejected = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const input = i % 2 === 0 ? randomMessage(r) : mutate(r, seeds[Math.floor(r() * seeds.length)]);
    let msg;
    try {
      msg = decode(input);
    } catch (e) {
      if (!(e instanceof OfpDecodeError)) throw new Error(`seed ${seed} iteration ${i}: ${String(e)} for ${input.toString('hex')}`);
      if (e.reason.startsWith('internal')) throw new Error(`seed ${seed} iteration ${i}: ${e.message} for ${input.toString('hex')}`);
      rejected++;
      continue;
    }
    decoded++;
    // isDeepStrictEqual costs a fraction of expect().toEqual(); jest's diff is only built for a failure.
    const back = decode(encode(msg));
    if (!isDeepStrictEqual(back, msg)) expect({ iteration: i, back }).toEqual({ iteration: i, back: msg });
  }
  console.log(`fuzz seed ${seed}: ${ITERATIONS} inputs, ${decoded} decoded and round-tripped, ${rejected} typed errors`);
  expect(decoded + rejected).toBe(ITERATIONS);
  expect(decoded).toBeGreaterThan(0);
  expect(rejected).toBeGreaterThan(0);
});
