/** A health-check or hook specification that cannot be run as given (caught before any I/O). */
export class HealthSpecError extends Error {
  override readonly name = 'HealthSpecError';

  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** Why a hook or script could not be started at all (as opposed to running and failing). */
/** 'unsafe': a relative path, or an executable (or a directory above it) that someone else could change. */
export type SpawnFailure = 'not_found' | 'not_executable' | 'unsafe' | 'spawn_error';

/** Thrown by HookRunner.run when the caller asks for a hook outcome as an error (e.g. a failed launch). */
export class HookError extends Error {
  override readonly name = 'HookError';

  constructor(
    readonly hook: string,
    readonly reason: string,
  ) {
    super(`hook ${hook}: ${reason}`);
  }
}
