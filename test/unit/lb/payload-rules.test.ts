import { matchPayload, type PayloadRule, type PayloadRuleSet, type PayloadVerdict } from '../../../src/lb/payload-rules';
import { describeReport, fuzz, fuzzIterations } from '../../helpers/fuzz';

const bytes = (hex: string) => Buffer.from(hex, 'hex');
function rule(over: Partial<PayloadRule> & { pool: string }): PayloadRule {
  return { name: over.pool, offset: 0, value: new Uint8Array(0), minLength: 0, maxLength: Number.MAX_SAFE_INTEGER, ...over };
}

/** A QUIC-like header: byte 0 flags, bytes 1..4 the version; a tenant id at 6..7 (masked), a length rule last. */
const SET: PayloadRuleSet = {
  rules: [
    rule({ name: 'v2', pool: 'new', offset: 1, value: bytes('00000002') }),
    rule({ name: 'tenant-7', pool: 'tenant7', offset: 6, value: bytes('0007'), mask: bytes('0fff') }),
    rule({ name: 'hello', pool: 'text', value: bytes('48454c4c4f') }),
    rule({ name: 'big', pool: 'bulk', minLength: 1000, maxLength: 1500 }),
  ],
  defaultPool: 'old',
  minLength: 5,
  malformed: 'default',
};

describe('matchPayload', () => {
  const at = (hex: string, length = hex.length / 2): PayloadVerdict => matchPayload(SET, bytes(hex), length);

  it('checks rules in order: bytes at an offset, a masked tenant id, a prefix, a length range', () => {
    expect(at('c000000002')).toEqual({ kind: 'rule', rule: 0, pool: 'new' });
    expect(at('c000000001aaf007')).toEqual({ kind: 'rule', rule: 1, pool: 'tenant7' }); // high nibble masked off
    expect(at('c000000001aaf008')).toEqual({ kind: 'default', pool: 'old' });
    expect(at('48454c4c4f21')).toEqual({ kind: 'rule', rule: 2, pool: 'text' });
    expect(at('00'.repeat(1200))).toEqual({ kind: 'rule', rule: 3, pool: 'bulk' });
    expect(at('00'.repeat(1501))).toEqual({ kind: 'default', pool: 'old' });
    // The first rule that matches wins: a v2 header that also carries tenant 7 goes to `new`.
    expect(at('c000000002aa0007')).toEqual({ kind: 'rule', rule: 0, pool: 'new' });
  });

  it('calls a payload shorter than min_length malformed, and sends it to the default pool or refuses it', () => {
    expect(at('c00000')).toEqual({ kind: 'malformed', reason: 'payload of 3 bytes is shorter than min_length 5', pool: 'old' });
    expect(matchPayload({ ...SET, malformed: 'refuse' }, bytes(''), 0)).toEqual({ kind: 'malformed', reason: 'payload of 0 bytes is shorter than min_length 5', pool: null });
    expect(matchPayload({ ...SET, malformed: 'refuse' }, bytes(''), -1)).toMatchObject({ kind: 'malformed', pool: null, reason: expect.stringMatching(/UDP length/) });
  });

  it('skips a rule whose bytes lie past the payload, and calls a packet-in cut short of them malformed', () => {
    // 6 bytes: tenant-7 reads bytes 6..7, beyond the payload: no match, the default pool.
    expect(at('c00000000100')).toEqual({ kind: 'default', pool: 'old' });
    // The datagram has 8 bytes but the packet-in carried 6: tenant-7 cannot be judged.
    expect(at('c00000000100', 8)).toEqual({
      kind: 'malformed', reason: 'rule tenant-7 reads bytes 6..7 and the packet-in carried 6 of the 8', pool: 'old',
    });
  });

  it('gives typed verdicts only, for arbitrary payloads and rules (fuzz)', () => {
    const report = fuzz({
      iterations: fuzzIterations(20_000),
      input: (r) => {
        const randomBytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));
        const rules = Array.from({ length: Math.floor(r() * 5) }, (_, i) => {
          const len = Math.floor(r() * 6);
          const min = Math.floor(r() * 40);
          return rule({
            name: `r${i}`, pool: `p${i}`, offset: Math.floor(r() * 40), value: randomBytes(len), mask: r() < 0.5 ? randomBytes(len) : undefined,
            minLength: min, maxLength: r() < 0.5 ? Number.MAX_SAFE_INTEGER : min + Math.floor(r() * 40),
          });
        });
        const payload = randomBytes(Math.floor(r() * 48));
        // The declared length: mostly the payload's, sometimes more (a cut packet-in), less, or -1 (a broken header).
        const choice = r();
        const length = choice < 0.7 ? payload.length : choice < 0.85 ? payload.length + Math.floor(r() * 20) : choice < 0.95 ? Math.floor(r() * payload.length) : -1;
        const set: PayloadRuleSet = { rules, defaultPool: 'dflt', minLength: Math.floor(r() * 10), malformed: r() < 0.5 ? 'default' : 'refuse' };
        return { set, payload, length };
      },
      check: ({ set, payload, length }) => {
        const v = matchPayload(set, payload, length);
        // A second, plain reading of what a rule means.
        const holds = (r: PayloadRule) => length >= r.minLength && length <= r.maxLength && r.offset + r.value.length <= Math.min(length, payload.length)
          && r.value.every((b, j) => (payload[r.offset + j] & (r.mask ? r.mask[j] : 0xff)) === b);
        if (v.kind === 'rule') {
          const r = set.rules[v.rule];
          if (!r || r.pool !== v.pool) throw new Error(`rule ${v.rule} is not the set's`);
          // The verdict holds, and no earlier rule matched.
          if (!holds(r)) throw new Error('the rule does not hold');
          if (set.rules.slice(0, v.rule).some(holds)) throw new Error('an earlier rule holds');
        } else if (v.kind === 'default') {
          if (v.pool !== set.defaultPool) throw new Error('default is not the default pool');
          if (set.rules.some(holds)) throw new Error('a rule holds, yet the default pool');
        } else if (v.kind === 'malformed') {
          if (typeof v.reason !== 'string' || v.pool !== (set.malformed === 'default' ? set.defaultPool : null)) throw new Error('malformed verdict inconsistent');
        } else {
          throw new Error(`untyped verdict ${JSON.stringify(v)}`);
        }
        return v.kind;
      },
      show: ({ set, payload, length }) => JSON.stringify({ set, payload: payload.toString('hex'), length }),
    });
    console.log(describeReport('matchPayload', report));
    expect(report.outcomes.get('rule')).toBeGreaterThan(0);
    expect(report.outcomes.get('default')).toBeGreaterThan(0);
    expect(report.outcomes.get('malformed')).toBeGreaterThan(0);
  });
});
