import type { Logger } from '../util/logger';
import { describeEnd, runProcess } from './process';
import type { HookSpec } from './types';

/** The context a launch/stop/relocate hook receives, as VADC_* environment variables. */
export interface HookContext {
  action: 'launch' | 'stop' | 'relocate';
  service: string;
  backend?: string;
  vnic?: string;
  ip?: string;
  tier?: number;
  reason: string;
  attempt?: number;
}

export interface HookResult {
  ok: boolean;
  /** 'exit code 0', 'exit code 2', 'timed out after 30000 ms; process group killed', 'not found: ...' */
  reason: string;
  /** stdout and stderr, truncated. */
  output: string;
  durationMs: number;
}

export function hookEnvironment(ctx: HookContext): Record<string, string> {
  const env: Record<string, string> = { VADC_ACTION: ctx.action, VADC_SERVICE: ctx.service, VADC_REASON: ctx.reason };
  if (ctx.backend !== undefined) env.VADC_BACKEND = ctx.backend;
  if (ctx.vnic !== undefined) env.VADC_VNIC = ctx.vnic;
  if (ctx.ip !== undefined) env.VADC_IP = ctx.ip;
  if (ctx.tier !== undefined) env.VADC_TIER = String(ctx.tier);
  if (ctx.attempt !== undefined) env.VADC_ATTEMPT = String(ctx.attempt);
  return env;
}

/**
 * Runs a launch, stop or relocate hook: never throws, never outlives its timeout (the process group is killed),
 * logs its output. The hook's own env comes first so VADC_* cannot be overridden by accident.
 */
export async function runHook(hook: HookSpec, ctx: HookContext, logger: Logger, signal?: AbortSignal): Promise<HookResult> {
  const meta = { service: ctx.service, backend: ctx.backend, tier: ctx.tier, hook: ctx.action };
  logger.info(`running ${ctx.action} hook`, { ...meta, command: hook.command, reason: ctx.reason });
  const outcome = await runProcess({ command: hook.command, timeoutMs: hook.timeoutMs, env: { ...hook.env, ...hookEnvironment(ctx) }, signal });
  const ok = outcome.end.kind === 'exited' && outcome.end.code === 0;
  const reason = describeEnd(outcome.end, hook.timeoutMs);
  const output = [outcome.stdout, outcome.stderr].filter(Boolean).join('\n');
  logger.log(ok ? 'info' : 'error', `${ctx.action} hook ${ok ? 'succeeded' : 'failed'}: ${reason}`, { ...meta, output, durationMs: outcome.durationMs });
  return { ok, reason, output, durationMs: outcome.durationMs };
}
