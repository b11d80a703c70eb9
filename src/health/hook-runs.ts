import type { Logger } from '../util/logger';
import type { HookContext, HookResult } from './hooks';
import type { HookSpec } from './types';

export type RunHook = (hook: HookSpec, ctx: HookContext, logger: Logger, signal?: AbortSignal) => Promise<HookResult>;

/**
 * The hooks a health monitor started (launch, stop, relocate): each runs with the monitor's abort signal, and its
 * result is handed on unless the monitor stopped meanwhile (stop() kills their process groups and waits for them).
 */
export class HookRuns {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();

  constructor(private readonly runHook: RunHook, private readonly logger: Logger, private readonly service: string) {}

  start(hook: HookSpec, ctx: HookContext, onResult: (result: HookResult) => void): void {
    const running = this.runHook(hook, ctx, this.logger, this.abort.signal)
      .then((result) => {
        if (!this.abort.signal.aborted) onResult(result);
      })
      .catch((err: unknown) => {
        this.logger.error(`handling the ${ctx.action} hook's result failed: ${(err as Error).message}`, { service: this.service, backend: ctx.backend });
      })
      .finally(() => this.inFlight.delete(running));
    this.inFlight.add(running);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all([...this.inFlight]);
  }
}
