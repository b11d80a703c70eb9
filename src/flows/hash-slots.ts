/**
 * How finely OVS follows a select group's weights, and the buckets that make it follow them closely.
 *
 * OVS (ofproto/ofproto-dpif.c, group_set_selection_method and group_setup_dp_hash_table, v3.1) gives a select group
 * without a selection method (all an OpenFlow 1.3 group can be) a table of n = max(16, pow2ceil(ceil(total weight /
 * smallest weight))) hash values, dealt to the buckets by the Webster method, and picks a connection's bucket by its
 * symmetric L4 hash masked to n; if n would exceed 256 it falls back to the slow path's method (the best of hash16 x
 * weight), which does not follow the weights (2:1 gives 3:1). A backend therefore gets a whole number of n slots:
 * with n = 16, 3:2:1 gets 8/5/3 (50 / 31.25 / 18.75 %: the third 12.5 % over its share) and three equal backends
 * 6/5/5. With 256 values every bucket is within a slot or so of its share (3:2:1: 128/85/43).
 *
 * forOvsHashTable makes OVS take 256: weights scaled so their total is at least 512; none below total / 256 (a share
 * under 0.4 % is raised to it: OVS cannot give it and would fall back); and the largest bucket split in two with the
 * same action, one of them total / 256 (rounded up), so that the smallest weight is that and OVS needs more than 128
 * values. OVS 3.5 also takes at least 4 values per bucket (the same 256 here). Weights OVS's own table already deals
 * exactly (each bucket's share of its n values a whole number: two or four equal backends, 1:1:2) stay as they are:
 * a split would only add a bucket. Pure.
 */
export const OVS_MAX_HASH_VALUES = 256;
/** Weights are scaled up to at least this total, so that total / 256 (the split-off bucket) is at least 2. */
const MIN_TOTAL = 2 * OVS_MAX_HASH_VALUES;
const MAX_WEIGHT = 0xffff;

/** The least weight OVS can give a hash value of 256, for these weights. */
const leastWeight = (weights: readonly number[]) => Math.ceil(weights.reduce((a, b) => a + b, 0) / OVS_MAX_HASH_VALUES);

/** The hash values OVS 3.1 gives a select group with these weights (undefined: more than 256, its slow-path fallback). */
export function ovsHashValues(weights: readonly number[]): number | undefined {
  const total = weights.reduce((a, b) => a + b, 0);
  const needed = Math.ceil(total / Math.min(...weights));
  const n = Math.max(16, 2 ** Math.ceil(Math.log2(needed)));
  return n <= OVS_MAX_HASH_VALUES ? n : undefined;
}

/** Whether OVS's table for these weights gives each bucket exactly its share (weight x n / total whole for each). */
export function exactInOvs(weights: readonly number[]): boolean {
  const n = ovsHashValues(weights);
  const total = weights.reduce((a, b) => a + b, 0);
  return n !== undefined && weights.every((w) => (w * n) % total === 0);
}

/**
 * The buckets to install for `buckets` (one per backend software port, weighted by its share): the same shares, as
 * buckets OVS maps onto 256 hash values (see above). One bucket, buckets that already get 256, or buckets OVS deals
 * exactly are returned as they are; so are weights that would not fit 16 bits once scaled (not reached by vadc's weights).
 */
export function forOvsHashTable<B extends { weight: number }>(buckets: readonly B[]): B[] {
  const given = buckets.map((b) => b.weight);
  if (buckets.length < 2 || ovsHashValues(given) === OVS_MAX_HASH_VALUES || exactInOvs(given)) return [...buckets];
  const total = buckets.reduce((a, b) => a + b.weight, 0);
  const scale = Math.ceil(MIN_TOTAL / total);
  let weights = buckets.map((b) => b.weight * scale);
  // The least weight OVS can represent is total / 256; raising one raises the total (a few rounds at most).
  let piece: number;
  do {
    piece = leastWeight(weights);
    weights = weights.map((w) => Math.max(w, piece));
  } while (leastWeight(weights) !== piece);
  const largest = weights.indexOf(Math.max(...weights));
  if (weights[largest] - piece < piece || Math.max(...weights) > MAX_WEIGHT) return [...buckets];
  const out = buckets.map((b, i) => ({ ...b, weight: weights[i] }));
  out.splice(largest, 1, { ...out[largest], weight: weights[largest] - piece }, { ...out[largest], weight: piece });
  return out;
}
