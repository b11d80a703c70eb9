// The buckets vadc installs for a select group get 256 hash values in OVS (its 3.1 construction, modelled in
// test/helpers/ovs-hash-table.ts), so each backend's share of new connections is within a slot or two of its weight's.
import { exactInOvs, forOvsHashTable, ovsHashValues, OVS_MAX_HASH_VALUES } from '../../../src/flows/hash-slots';
import { ovsHashTableHits } from '../../helpers/ovs-hash-table';

/** Each id's share of OVS's hash values for the buckets `buckets`. */
function sharesInOvs(buckets: ReadonlyArray<{ id: number; weight: number }>): { values: number; shares: Map<number, number> } {
  const table = ovsHashTableHits(buckets.map((b) => b.weight));
  if (!table) throw new Error('OVS would fall back to its slow-path method');
  const shares = new Map<number, number>();
  buckets.forEach((b, i) => shares.set(b.id, (shares.get(b.id) ?? 0) + table.hits[i] / table.values));
  return { values: table.values, shares };
}

const withIds = (weights: number[]) => weights.map((weight, id) => ({ id, weight }));

describe('forOvsHashTable', () => {
  it.each([
    ['3:2:1 (wrr, 60 per unit)', [180, 120, 60], [8, 5, 3]],
    ['three equal backends (rr)', [60, 60, 60], [6, 5, 5]],
    ['feedback: one VM 4x slower, one VM on two ports', [500, 500, 250, 1000], [4, 3, 2, 7]],
  ])('%s: as they are OVS gives 16 values, off by up to 12.5 %% of a share; as installed 256, within 1.6 %%', (_name, weights, sixteen) => {
    expect(ovsHashTableHits(weights)).toEqual({ values: 16, hits: sixteen });
    const total = weights.reduce((a, b) => a + b, 0);
    const { values, shares } = sharesInOvs(forOvsHashTable(withIds(weights)));
    expect(values).toBe(256);
    weights.forEach((w, id) => expect(Math.abs(shares.get(id)! / (w / total) - 1)).toBeLessThan(0.016));
  });

  it('random weights (2-12 buckets, 1-1000 each): always 256 values, each id within 2 values of its share unless raised to the least OVS can give', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 500; round++) {
      const weights = Array.from({ length: 2 + Math.floor(random() * 11) }, () => 1 + Math.floor(random() * 1000));
      if (exactInOvs(weights)) continue; // as they are (below)
      const buckets = forOvsHashTable(withIds(weights));
      expect(ovsHashValues(buckets.map((b) => b.weight))).toBe(OVS_MAX_HASH_VALUES);
      const { shares } = sharesInOvs(buckets);
      const total = weights.reduce((a, b) => a + b, 0);
      for (const [id, share] of shares) {
        // A share under 1/256 gets one value (OVS cannot give less without falling back).
        const target = Math.max(weights[id] / total, 1 / 256);
        expect(Math.abs(share - target) * 256).toBeLessThanOrEqual(2);
      }
    }
  });

  it('one bucket, or buckets that already get 256 values, stay as they are', () => {
    expect(forOvsHashTable(withIds([60]))).toEqual(withIds([60]));
    expect(forOvsHashTable(withIds([200, 1]))).toEqual(withIds([200, 1]));
  });

  it.each([
    ['two equal backends (rr)', [60, 60], [8, 8]],
    ['four equal backends', [5, 5, 5, 5], [4, 4, 4, 4]],
    ['1:1:2', [30, 30, 60], [4, 4, 8]],
    ['1:3', [10, 30], [4, 12]],
  ])("%s: OVS's own table deals the shares exactly, so the buckets stay as they are (no split bucket)", (_name, weights, hits) => {
    expect(exactInOvs(weights)).toBe(true);
    expect(ovsHashTableHits(weights)?.hits).toEqual(hits);
    const total = weights.reduce((a, b) => a + b, 0);
    const values = ovsHashTableHits(weights)!.values;
    weights.forEach((w, i) => expect(hits[i] / values).toBe(w / total));
    expect(forOvsHashTable(withIds(weights))).toEqual(withIds(weights));
  });

  it('weights that are not exact in 16 values are still split (three equal, 1:2 by 16 values)', () => {
    for (const weights of [[60, 60, 60], [10, 20], [1, 1, 1, 1, 1]]) {
      expect(exactInOvs(weights)).toBe(false);
      expect(forOvsHashTable(withIds(weights))).toHaveLength(weights.length + 1);
    }
  });
});
