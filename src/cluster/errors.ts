export type ClusterErrorCode =
  | 'not_vadc_store' | 'schema_version' | 'no_quorum' | 'no_leader' | 'unreachable' | 'invalid_policy' | 'exists' | 'not_found' | 'bad_input'
  | 'cache';

/** A cluster store problem, with a code scripts can test (`vadc ... --json` prints it). */
export class ClusterError extends Error {
  override readonly name = 'ClusterError';

  constructor(readonly code: ClusterErrorCode, message: string) {
    super(message);
  }
}
