// Payload rules (the seed's layers 4-7 control information): a UDP service's first datagram of a new flow picks a
// backend pool by bytes at an offset (masked), a prefix or a length range, rules checked in order, else the
// default pool. Pure: bytes in, a verdict out; the scheduler then picks within the pool (LbService.open).

/** One rule, compiled from the config (src/app/payload.ts): every condition given must hold. */
export interface PayloadRule {
  name: string;
  pool: string;
  /** Where `value` is compared in the datagram's payload (after the UDP header). */
  offset: number;
  /** Bytes to compare (empty: no byte condition). */
  value: Uint8Array;
  /** ANDed with the payload's bytes before comparing (same length as value); undefined = all bits. */
  mask?: Uint8Array;
  /** The datagram's payload length range, inclusive. */
  minLength: number;
  maxLength: number;
}

export interface PayloadRuleSet {
  rules: readonly PayloadRule[];
  defaultPool: string;
  /** A first datagram whose payload is shorter is malformed. */
  minLength: number;
  /** What a malformed first datagram gets: the default pool, or a refusal (ICMP port unreachable). */
  malformed: 'default' | 'refuse';
}

export type PayloadVerdict =
  | { kind: 'rule'; rule: number; pool: string }
  | { kind: 'default'; pool: string }
  /** pool: the default pool (malformed: default) or null (malformed: refuse). */
  | { kind: 'malformed'; reason: string; pool: string | null };

/**
 * The pool for a flow's first datagram. `payload` is what the packet-in carried of the UDP payload; `length` is
 * the payload's length as the UDP header says (-1 when the header contradicts the IP header). A rule that needs
 * bytes past `length` does not match; one that needs bytes the packet-in did not carry (a truncated packet-in)
 * makes the datagram malformed, as it cannot be judged.
 */
export function matchPayload(set: PayloadRuleSet, payload: Uint8Array, length: number): PayloadVerdict {
  if (length < 0) return malformed(set, 'the UDP length field contradicts the IP header');
  if (length < set.minLength) return malformed(set, `payload of ${length} bytes is shorter than min_length ${set.minLength}`);
  const rules = set.rules;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i];
    if (length < rule.minLength || length > rule.maxLength) continue;
    const end = rule.offset + rule.value.length;
    if (end > length) continue;
    if (end > payload.length) {
      return malformed(set, `rule ${rule.name} reads bytes ${rule.offset}..${end - 1} and the packet-in carried ${payload.length} of the ${length}`);
    }
    if (bytesMatch(rule, payload)) return { kind: 'rule', rule: i, pool: rule.pool };
  }
  return { kind: 'default', pool: set.defaultPool };
}

function bytesMatch(rule: PayloadRule, payload: Uint8Array): boolean {
  const { value, mask, offset } = rule;
  for (let j = 0; j < value.length; j++) {
    const byte = payload[offset + j];
    if ((mask ? byte & mask[j] : byte) !== value[j]) return false;
  }
  return true;
}

function malformed(set: PayloadRuleSet, reason: string): PayloadVerdict {
  return { kind: 'malformed', reason, pool: set.malformed === 'default' ? set.defaultPool : null };
}
