/** A request the app cannot carry out: an unknown service/backend, or an invalid value. */
export class AppError extends Error {
  override readonly name = 'AppError';
  constructor(readonly code: 'not_found' | 'invalid', message: string) {
    super(message);
  }
}
