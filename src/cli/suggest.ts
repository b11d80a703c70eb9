// "Did you mean ...?" for a mistyped command: the closest command ids by edit distance, if close enough.

/** Edit distance with adjacent transpositions (optimal string alignment): "stauts" is 1 from "status". */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

export interface Suggestion {
  /** The words typed that name no command (the rest are the command's arguments). */
  typed: string;
  /** The closest command ids, best first (ties: same length as typed first). */
  ids: string[];
}

/**
 * The command ids closest to what was typed (ids and `typed` use ':' between words, as oclif keeps them; a
 * candidate of n words is compared with the first n typed words, the rest being its arguments), or none when
 * nothing is within a third of the typed length (at least 2 edits): a wild guess helps nobody.
 */
export function suggestCommands(typed: string, ids: readonly string[]): Suggestion {
  const words = typed.split(':');
  let best = Infinity;
  let found: Array<{ id: string; prefix: string }> = [];
  for (const id of new Set(ids)) {
    const n = id.split(':').length;
    if (n > words.length) continue;
    const prefix = words.slice(0, n).join(':');
    const distance = editDistance(prefix, id);
    if (distance > Math.max(2, Math.floor(prefix.length / 3))) continue;
    if (distance < best) {
      best = distance;
      found = [];
    }
    if (distance === best) found.push({ id, prefix });
  }
  if (found.length === 0) return { typed, ids: [] };
  const prefix = found[0].prefix;
  const same = found.filter((f) => f.prefix === prefix).map((f) => f.id);
  same.sort((a, b) => Math.abs(a.length - prefix.length) - Math.abs(b.length - prefix.length) || a.localeCompare(b));
  return { typed: prefix, ids: same };
}
