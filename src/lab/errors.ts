/** Why a lab operation failed; `code` lets callers (and the CLI) react without parsing text. */
export type LabErrorCode =
  | 'bad-name'
  | 'bad-option'
  | 'bad-state'
  | 'not-root'
  | 'missing-package'
  | 'host-busy'
  | 'subnet-in-use'
  | 'exists'
  | 'unknown-host'
  | 'command-failed'
  | 'timeout';

export class LabError extends Error {
  constructor(
    readonly code: LabErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'LabError';
  }
}

/** A command the lab ran exited non-zero; carries what it printed so the one-line error says why. */
export class LabCommandError extends LabError {
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    const why = stderr.trim().split('\n').slice(-1)[0] || `exit code ${String(exitCode)}`;
    super('command-failed', `\`${argv.join(' ')}\` failed: ${why}`);
    this.name = 'LabCommandError';
  }
}
