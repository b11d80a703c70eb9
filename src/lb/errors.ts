/** Bad input handed to the load-balancing model (malformed address, unknown scheduler, bad weight ...). */
export class LbInputError extends Error {
  constructor(
    /** Which input was wrong, e.g. 'backend.weight' or 'scheduler'. */
    readonly field: string,
    /** What was expected and what was given. */
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'LbInputError';
  }
}
