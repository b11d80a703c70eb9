// The schema's building blocks with vadc's error wording ("expected <what>, got <value>", unknown keys listing
// the keys allowed), shared by schema.ts and the section modules beside it (payload-rules.ts, health-schema.ts, ...).
import { z } from 'zod';

/** Renders the offending value inside an error message. */
export function showValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'bigint') return `${value}`;
  try {
    const text = JSON.stringify(value);
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  } catch {
    return String(value);
  }
}

/** Error callback producing "expected <what>, got <value>" (or "missing" for an absent required key). */
export function expected(what: string) {
  return (issue: { input?: unknown }) =>
    issue.input === undefined ? `missing; expected ${what}` : `expected ${what}, got ${showValue(issue.input)}`;
}

export function integer(min: number, max: number, what: string) {
  const error = expected(what);
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

/** Strict object: unknown keys are an error that lists the keys allowed there. */
export function strict<T extends z.core.$ZodLooseShape>(shape: T) {
  const allowed = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? `unknown key; allowed here: ${allowed}` : expected('a mapping')(issue),
  });
}

export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: expected(`one of ${values.join(', ')}`) });
}

export const nonNegativeInt = (max = Number.MAX_SAFE_INTEGER) =>
  integer(0, max, max === Number.MAX_SAFE_INTEGER ? 'a non-negative integer' : `an integer 0..${max}`);
export const positiveSeconds = (max: number) => z.number({ error: expected(`a number of seconds > 0 and <= ${max}`) })
  .positive({ error: expected(`a number of seconds > 0 and <= ${max}`) })
  .max(max, { error: expected(`a number of seconds > 0 and <= ${max}`) });
export const nonNegativeSeconds = (max: number) => z.number({ error: expected(`a number of seconds 0..${max}`) })
  .min(0, { error: expected(`a number of seconds 0..${max}`) })
  .max(max, { error: expected(`a number of seconds 0..${max}`) });
export const portNumber = integer(1, 65535, 'a port number 1..65535');

/** Longest string any setting takes (commands, paths, payloads): bounded so a config cannot carry megabytes in one value. */
export const MAX_TEXT_LENGTH = 4096;

function tooLong(max: number) {
  return (issue: { input?: unknown }) => `expected at most ${max} characters, got ${typeof issue.input === 'string' ? issue.input.length : '?'}`;
}

export function text(what: string, pattern?: RegExp, max = MAX_TEXT_LENGTH) {
  const error = expected(what);
  const base = z.string({ error }).min(1, { error }).max(max, { error: tooLong(max) });
  return pattern ? base.regex(pattern, { error }) : base;
}

/** Any string (empty allowed), bounded. */
export function boundedString(what: string, max = MAX_TEXT_LENGTH) {
  return z.string({ error: expected(what) }).max(max, { error: tooLong(max) });
}
