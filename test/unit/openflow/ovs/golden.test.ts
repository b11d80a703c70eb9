// Golden vectors from Open vSwitch itself (test/fixtures/ovs-of13/vectors.json: bytes ovs-ofctl wrote or a real
// ovs-vswitchd sent), both ways: decoding OVS's bytes gives the typed message, and encoding the typed message gives
// exactly OVS's bytes. The fixture is re-derived by ./ofctl.test.ts (ovs-ofctl) and test/e2e/openflow-ovs.e2e.ts.
import { decode, encode } from '../../../../src/openflow';
import { readVectors } from '../../../helpers/ovs-capture';
import { ovsCases } from './cases';

const { vectors } = readVectors();

describe(`Open vSwitch golden vectors (${vectors.length})`, () => {
  it('has a typed message for every fixture vector and a fixture vector for every typed message', () => {
    expect(vectors.map((v) => v.name).sort()).toEqual(ovsCases().map((c) => c.name).sort());
    expect(new Set(vectors.map((v) => v.name)).size).toBe(vectors.length);
  });

  it.each(vectors.map((v) => [v.name, v] as const))('%s: decode(OVS bytes) is the typed message and encode gives the same bytes', (_name, v) => {
    // Built here, not while jest collects the file (./groups.ts says why).
    const want = ovsCases().find((c) => c.name === v.name);
    if (!want) throw new Error(`no typed message for fixture vector ${v.name}`);
    expect(decode(Buffer.from(v.hex, 'hex'))).toEqual(want.message);
    expect(encode(want.message).toString('hex')).toBe(v.hex);
  });
});
