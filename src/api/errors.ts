/** Error codes the control API puts in `{error:{code,message}}` bodies. */
export type ApiErrorCode =
  | 'not_found'
  | 'conflict'
  | 'invalid'
  | 'unauthorized'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'internal';

const STATUS_BY_CODE: Record<ApiErrorCode, number> = {
  not_found: 404,
  conflict: 409,
  invalid: 400,
  unauthorized: 401,
  method_not_allowed: 405,
  payload_too_large: 413,
  unsupported_media_type: 415,
  internal: 500,
};

/** An error the server turns into an HTTP status and a JSON body; the client rebuilds it from the body. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;

  constructor(
    readonly code: ApiErrorCode,
    message: string,
    status?: number,
  ) {
    super(message);
    this.status = status ?? STATUS_BY_CODE[code];
  }
}

export function statusForCode(code: ApiErrorCode): number {
  return STATUS_BY_CODE[code];
}

export function isApiErrorCode(value: unknown): value is ApiErrorCode {
  return typeof value === 'string' && value in STATUS_BY_CODE;
}

/** The daemon could not be reached at all (not running, wrong socket, no permission). */
export class DaemonUnreachableError extends Error {
  override readonly name = 'DaemonUnreachableError';

  constructor(
    readonly endpoint: string,
    readonly cause_code: string,
  ) {
    super(unreachableMessage(endpoint, cause_code));
  }
}

function unreachableMessage(endpoint: string, code: string): string {
  if (code === 'EACCES' || code === 'EPERM') {
    return `permission denied on vadc daemon at ${endpoint} (${code}): run as root or as a member of the socket's group`;
  }
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) {
    return `TLS certificate of vadc daemon at ${endpoint} not trusted (${code}): pass its CA with --api-ca`;
  }
  return `vadc daemon not reachable at ${endpoint} (${code}): is \`vadc start\` running?`;
}
