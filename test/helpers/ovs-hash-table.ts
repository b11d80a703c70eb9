// A model of how Open vSwitch 3.1 maps a select group's bucket weights onto hash values (ofproto/ofproto-dpif.c,
// group_setup_dp_hash_table, called by group_set_selection_method for a group without a selection method): n =
// max(16, the power of two at or above ceil(total / smallest weight)) values, none if that is over 256 (OVS then falls
// back to its slow-path method), dealt one by one to the bucket with the highest weight / divisor, whose divisor then
// grows by 2 (the Webster method). A connection takes the bucket of its symmetric L4 hash's low bits, so a bucket's
// share of new connections is its share of the n values. A test oracle, written from the C source.

/** How many of the hash values each bucket gets, in bucket order; undefined when OVS would not use a table (n > 256). */
export function ovsHashTableHits(weights: readonly number[]): { values: number; hits: number[] } | undefined {
  const total = weights.reduce((a, b) => a + b, 0);
  const minSlots = Math.ceil(total / Math.min(...weights));
  let pow2 = 1;
  while (pow2 < minSlots) pow2 *= 2;
  const values = Math.max(16, pow2);
  if (values > 256) return undefined;
  const webster = weights.map((weight) => ({ weight, divisor: 1, value: weight, hits: 0 }));
  for (let hash = 0; hash < values; hash++) {
    let winner = webster[0];
    for (const w of webster.slice(1)) if (w.value > winner.value) winner = w;
    winner.hits++;
    winner.divisor += 2;
    winner.value = winner.weight / winner.divisor;
  }
  return { values, hits: webster.map((w) => w.hits) };
}
