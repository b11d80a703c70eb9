// A UDP service's payload rules (docs/operators/route-by-payload.md): the schema of the `payload_rules` section
// and the rules that need the rest of the service (its protocol, backends, family). The matcher is
// src/lb/payload-rules.ts.
import { z } from 'zod';
import { expected, integer, oneOf, showValue, strict } from './zod-helpers';

/** The largest UDP payload an IPv4 datagram carries (65535 - 20 - 8); IPv6's is 65527 (65535 - 8) without jumbograms. */
export const MAX_UDP_PAYLOAD_V4 = 65507;
export const MAX_UDP_PAYLOAD_V6 = 65527;
/** Bounds that keep the per-packet work small: a first datagram is checked against every rule in order. */
export const MAX_PAYLOAD_RULES = 64;
export const MAX_PAYLOAD_POOLS = 64;
export const MAX_RULE_BYTES = 64;

const NAME_RE = /^[A-Za-z0-9_.-]{1,63}$/;
const TAG_WHAT = 'a backend tag ([A-Za-z0-9_.-], 1..63)';
/** A backend's (or backends_from's) `tags` entry: what a pool may select backends by. */
export const backendTag = z.string({ error: expected(TAG_WHAT) }).regex(NAME_RE, { error: expected(TAG_WHAT) });
export const backendTags = z.array(backendTag, { error: expected('a list of tags') }).max(16, { error: 'expected at most 16 tags' });
const poolName = z.string({ error: expected('a pool name ([A-Za-z0-9_.-], 1..63)') })
  .regex(NAME_RE, { error: expected('a pool name ([A-Za-z0-9_.-], 1..63)') });

const HEX_WHAT = `hex bytes, e.g. "0a1b" or "0a:1b" (1..${MAX_RULE_BYTES} bytes)`;
/**
 * Hex bytes, optionally separated by ':' or spaces, optionally led by 0x; written back as plain lowercase hex (the
 * config crosses a worker and is compared as JSON, so it stays text; hexToBytes decodes it).
 */
const hexBytes = z.string({ error: expected(HEX_WHAT) }).max(MAX_RULE_BYTES * 3 + 2, { error: expected(HEX_WHAT) }).transform((text, ctx) => {
  const digits = text.trim().replace(/^0x/i, '').replace(/[:\s]/g, '');
  if (!/^([0-9a-fA-F]{2})+$/.test(digits) || digits.length / 2 > MAX_RULE_BYTES) {
    ctx.issues.push({ code: 'custom', input: text, message: `expected ${HEX_WHAT}, got ${showValue(text)}` });
    return z.NEVER;
  }
  return digits.toLowerCase();
});

/** A normalised hex string (hexBytes' output) as bytes. */
export function hexToBytes(hex: string): Buffer {
  return Buffer.from(hex, 'hex');
}

const payloadLength = integer(0, MAX_UDP_PAYLOAD_V6, `a payload length 0..${MAX_UDP_PAYLOAD_V6} (bytes)`);

const ruleSchema = strict({
  /** Names the rule in status, metrics and events; default rule-1, rule-2, ... by position. */
  name: z.string({ error: expected('a rule name ([A-Za-z0-9_.-], 1..63)') }).regex(NAME_RE, { error: expected('a rule name ([A-Za-z0-9_.-], 1..63)') }).optional(),
  /** Where `bytes` starts in the UDP payload. */
  offset: integer(0, MAX_UDP_PAYLOAD_V6, `an offset 0..${MAX_UDP_PAYLOAD_V6} (bytes into the UDP payload)`).default(0),
  /** The payload's bytes at `offset`, after `mask`, must equal these. */
  bytes: hexBytes.optional(),
  /** ANDed with the payload's bytes first (as long as `bytes`): e.g. "f0" compares a byte's high nibble. */
  mask: hexBytes.optional(),
  /** The payload must start with these bytes (bytes at offset 0). */
  prefix: hexBytes.optional(),
  /** The payload's length must lie in this range (inclusive). */
  length: strict({ min: payloadLength.default(0), max: payloadLength.default(MAX_UDP_PAYLOAD_V6) }).optional(),
  pool: poolName,
});

export const payloadRulesSchema = strict({
  /** Named subsets of the service's backends: pool name -> backend names and/or { tag: T } (every backend whose tags hold T). */
  pools: z.record(poolName, z.array(
    z.union([z.string(), strict({ tag: backendTag })], { error: expected('a backend name or { tag: <tag> }') }),
    { error: expected('a list of backend names or { tag: <tag> }') },
  ).min(1, { error: 'expected at least one backend; an empty pool could serve no flow' }).max(4096, { error: 'expected at most 4096 backends' }),
  { error: expected('a mapping of pool names to lists of backend names, e.g. { v1: [vm1, vm2] }') })
    .refine((pools) => Object.keys(pools).length >= 1 && Object.keys(pools).length <= MAX_PAYLOAD_POOLS, { error: `expected 1..${MAX_PAYLOAD_POOLS} pools` }),
  /** Checked in order on a flow's first datagram; the first that matches picks the pool. */
  rules: z.array(ruleSchema, { error: expected('a list of rules') }).max(MAX_PAYLOAD_RULES, { error: `expected at most ${MAX_PAYLOAD_RULES} rules` }).default([]),
  /** The pool of a first datagram no rule matches. */
  default_pool: poolName,
  /** A first datagram with a shorter payload is malformed; default: the end of the furthest bytes a rule reads. */
  min_length: payloadLength.optional(),
  /** What a malformed first datagram (shorter than min_length, or a broken UDP header) gets. */
  malformed: oneOf(['default', 'refuse']).default('default'),
}).transform((section) => ({
  ...section,
  rules: section.rules.map((rule, i) => ({ ...rule, name: rule.name ?? `rule-${i + 1}` })),
}));

export type PayloadRulesConfig = z.output<typeof payloadRulesSchema>;
export type PayloadRuleConfig = PayloadRulesConfig['rules'][number];

type AddIssue = (path: string, message: string) => void;

/** What the service around the section tells: its protocol, decisions, family and backend names. */
export interface PayloadRulesContext {
  protocol: 'tcp' | 'udp';
  decisions: 'controller' | 'datapath';
  vip: string;
  backends: readonly string[];
  sorryBackend?: string;
  tagged: boolean;
  /** Every tag a backend (or backends_from) carries. */
  tags: ReadonlySet<string>;
}

/** The bytes a rule compares and where: `prefix` is bytes at offset 0. */
export function ruleBytes(rule: PayloadRuleConfig): { offset: number; value: Buffer } | undefined {
  if (rule.prefix) return { offset: 0, value: hexToBytes(rule.prefix) };
  if (rule.bytes) return { offset: rule.offset, value: hexToBytes(rule.bytes) };
  return undefined;
}

/** The section's rules that need the service; each issue under `at` (the section's path). */
export function checkPayloadRules(section: PayloadRulesConfig, service: PayloadRulesContext, at: string, add: AddIssue): void {
  if (service.protocol !== 'udp') {
    add(at, 'payload rules are for UDP services: a TCP flow\'s first data comes after the handshake, which vadc leaves to the backend, '
      + 'so choosing a backend by payload would need a proxy that terminates TCP; that is out of scope (docs/operators/route-by-payload.md)');
    return;
  }
  if (service.decisions === 'datapath') {
    add(`${at}`, 'payload rules need decisions: controller (with datapath decisions the switch picks the backend without showing vadc the first datagram)');
  }
  const v6 = service.vip.includes(':');
  const maxPayload = v6 ? MAX_UDP_PAYLOAD_V6 : MAX_UDP_PAYLOAD_V4;
  const known = new Set(service.backends);
  if (service.sorryBackend) known.add(service.sorryBackend);
  for (const [pool, names] of Object.entries(section.pools)) {
    const seen = new Set<string>();
    names.forEach((entry, k) => {
      const key = typeof entry === 'string' ? entry : `tag ${entry.tag}`;
      if (seen.has(key)) add(`${at}.pools.${pool}[${k}]`, typeof entry === 'string' ? `backend "${entry}" is listed twice` : `tag ${entry.tag} is listed twice`);
      seen.add(key);
      if (typeof entry !== 'string') {
        if (!service.tags.has(entry.tag)) {
          add(`${at}.pools.${pool}[${k}].tag`, `no backend carries the tag ${entry.tag} (give backends, or backends_from, tags: [${entry.tag}])`);
        }
      } else if (!known.has(entry)) {
        const list = [...known];
        add(`${at}.pools.${pool}[${k}]`, `"${entry}" is not a backend of this service (its backends: ${list.length ? list.join(', ') : 'none'})`
          + (service.tagged ? '; backends that join by tag (backends_from) are in a pool by their tags ({ tag: ... })' : ''));
      }
    });
  }
  const pools = new Set(Object.keys(section.pools));
  const poolProblem = (name: string) => `no pool named "${name}" (pools: ${[...pools].join(', ')})`;
  if (!pools.has(section.default_pool)) add(`${at}.default_pool`, poolProblem(section.default_pool));
  if (section.min_length !== undefined && section.min_length > maxPayload) {
    add(`${at}.min_length`, `${section.min_length} is beyond the largest ${v6 ? 'IPv6' : 'IPv4'} UDP payload (${maxPayload} bytes): every datagram would be malformed`);
  }
  const names = new Map<string, number>();
  section.rules.forEach((rule, j) => {
    const rat = `${at}.rules[${j}]`;
    const first = names.get(rule.name);
    if (first !== undefined) add(`${rat}.name`, `duplicate rule name "${rule.name}" (also rules[${first}])`);
    else names.set(rule.name, j);
    if (!pools.has(rule.pool)) add(`${rat}.pool`, poolProblem(rule.pool));
    checkRule(rule, rat, maxPayload, v6, add);
  });
}

function checkRule(rule: PayloadRuleConfig, at: string, maxPayload: number, v6: boolean, add: AddIssue): void {
  if (rule.prefix && rule.bytes) add(`${at}.prefix`, 'give prefix (bytes at offset 0) or bytes at an offset, not both');
  if (rule.prefix && rule.offset !== 0) add(`${at}.offset`, 'a prefix starts at offset 0; use bytes with offset for bytes further in');
  if (!rule.prefix && !rule.bytes && !rule.length) {
    add(at, 'a rule needs bytes, prefix or length: one with none matches every datagram (that is what default_pool is for)');
  }
  if (rule.bytes === undefined && rule.prefix === undefined && rule.offset !== 0) add(`${at}.offset`, 'an offset needs bytes to compare there');
  const compared = ruleBytes(rule);
  if (rule.mask) {
    if (!rule.bytes) add(`${at}.mask`, 'a mask applies to bytes (give bytes at an offset)');
    else if (rule.mask.length !== rule.bytes.length) add(`${at}.mask`, `expected ${rule.bytes.length / 2} bytes, as long as bytes; got ${rule.mask.length / 2}`);
    else {
      const mask = hexToBytes(rule.mask);
      const clearedBit = hexToBytes(rule.bytes).findIndex((b, i) => (b & ~mask[i]) !== 0);
      if (clearedBit >= 0) add(`${at}.bytes`, `byte ${clearedBit} has bits the mask clears, so the rule could never match; clear them in bytes too`);
    }
  }
  if (compared && compared.offset + compared.value.length > maxPayload) {
    add(rule.prefix ? `${at}.prefix` : `${at}.offset`, `bytes ${compared.offset}..${compared.offset + compared.value.length - 1} lie beyond the largest `
      + `${v6 ? 'IPv6' : 'IPv4'} UDP payload (${maxPayload} bytes): no datagram could match`);
  }
  if (rule.length) {
    if (rule.length.min > rule.length.max) add(`${at}.length.min`, `must not exceed length.max (${rule.length.max})`);
    if (rule.length.min > maxPayload) add(`${at}.length.min`, `${rule.length.min} is beyond the largest ${v6 ? 'IPv6' : 'IPv4'} UDP payload (${maxPayload} bytes)`);
    if (compared && compared.offset + compared.value.length > rule.length.max) {
      add(`${at}.length.max`, `the rule reads bytes up to ${compared.offset + compared.value.length - 1}, so no payload of at most ${rule.length.max} bytes could match`);
    }
  }
}
