// The schema's building blocks with vadc's error wording ("expected <what>, got <value>", unknown keys listing
// the keys allowed), shared by schema.ts and the section modules beside it (payload-rules.ts).
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
