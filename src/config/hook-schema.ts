// The hook settings shared by the launch, stop and relocate hooks and the script health check: the command (argv or a
// shell string), its environment and its timeout.
import { z } from 'zod';
import { programOf, relativePathProblem } from '../util/command';
import { boundedString, expected, positiveSeconds, text } from './zod-helpers';

/** argv (run directly) or a string (run by /bin/sh -c). */
/** The executable of a hook or script check: a path with a slash must be absolute (a bare name is found on the hook's PATH). */
export const hookCommand = z.union([
  z.array(text('a non-empty argument')).min(1, { error: expected('a non-empty argv list') }).max(256, { error: 'expected at most 256 arguments' }),
  text('a command'),
], {
  error: expected('a command string or a non-empty list of arguments'),
}).check((ctx) => {
  const problem = relativePathProblem(programOf(ctx.value) ?? '');
  if (problem) ctx.issues.push({ code: 'custom', input: ctx.value, message: problem, ...(Array.isArray(ctx.value) ? { path: [0] } : {}) });
});
export const envSchema = z.record(text('an environment variable name', /^[A-Za-z_][A-Za-z0-9_]*$/, 128), boundedString('a string value'))
  .refine((env) => Object.keys(env).length <= 64, { error: 'expected at most 64 variables' }).default({});
export const hookFields = { command: hookCommand, timeout: positiveSeconds(3600).default(30), env: envSchema };
