// Re-derives the golden vectors that come from ovs-ofctl (the fixture's `from: ovs-ofctl` entries) and checks
// Open vSwitch's decoder on the requests it has no encoder for. Missing ovs-ofctl fails: an oracle that is not
// run proves nothing. VADC_OVS_VECTORS=write rewrites those fixture entries from this run instead.
import { encode } from '../../../../src/openflow';
import {
  WRITE_VECTORS, ovsErrorReply, ovsOfctl, ovsPrint, ovsVersion, readVectors, recordOfctl, writeVectors,
} from '../../../helpers/ovs-capture';
import type { OvsVector } from '../../../helpers/ovs-capture';
import { ofctlCommand, ovsCases, ovsReads } from './cases';
import type { OfctlRecipe } from './cases';

const binary = ovsOfctl();

async function derive(recipe: OfctlRecipe): Promise<Buffer> {
  if ('errorReply' in recipe) return ovsErrorReply(binary, recipe.errorReply, Buffer.from(recipe.request, 'hex'));
  const sent = await recordOfctl(binary, recipe.command, recipe.args);
  if (sent.length !== 1) throw new Error(`${ofctlCommand(recipe)} sent ${sent.length} messages: ${sent.map((m) => m.toString('hex')).join(' ')}`);
  return sent[0];
}

describe('golden vectors re-derived with ovs-ofctl', () => {
  it(WRITE_VECTORS ? 'writes the fixture entries from this run' : 'gives the fixture bytes for every ovs-ofctl vector', async () => {
    const fresh: OvsVector[] = [];
    for (const c of ovsCases()) {
      if (!c.ofctl) continue;
      fresh.push({ name: c.name, from: 'ovs-ofctl', command: ofctlCommand(c.ofctl), hex: (await derive(c.ofctl)).toString('hex') });
    }
    if (WRITE_VECTORS) {
      writeVectors('ovs-ofctl', fresh, ovsVersion(binary));
      return;
    }
    expect(fresh).toEqual(readVectors().vectors.filter((v) => v.from === 'ovs-ofctl'));
  }, 60_000);

  // The reads are built while jest collects the file (their messages name the tests): src/flows/groups.ts's mutants
  // are static for this file (golden.test.ts builds its cases inside its tests).
  it.each(ovsReads().map((r) => [`${r.message.type} xid ${r.message.xid}`, r] as const))('ovs-ofctl ofp-print reads our %s as intended', (_name, r) => {
    expect(ovsPrint(binary, encode(r.message))).toBe(r.text);
  });
});
