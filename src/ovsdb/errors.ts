/**
 * Typed errors of the OVSDB client. Every failure a caller can see is one of these, so callers can
 * branch on `instanceof` (or `code`) instead of parsing messages.
 */

export class OvsdbError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A value that does not follow RFC 7047 notation (wrong shape, unknown tag, bad uuid). */
export class OvsdbNotationError extends OvsdbError {
  constructor(
    readonly reason: string,
    readonly path: string,
  ) {
    super(`invalid OVSDB notation at ${path}: ${reason}`, 'NOTATION');
  }
}

/** A target string that is not unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT. */
export class OvsdbTargetError extends OvsdbError {
  constructor(
    readonly target: string,
    readonly reason: string,
  ) {
    super(`invalid OVSDB target "${target}": ${reason}`, 'TARGET');
  }
}

/** The server could not be reached (or the TLS handshake failed). Names the target and the cause. */
export class OvsdbConnectionError extends OvsdbError {
  constructor(
    readonly target: string,
    readonly reason: string,
    readonly causeCode?: string,
  ) {
    super(`cannot reach OVSDB at ${target}: ${reason}`, 'CONNECTION');
  }
}

/** The peer sent bytes that are not valid JSON-RPC (bad JSON, oversized message, wrong shapes). */
export class OvsdbProtocolError extends OvsdbError {
  constructor(
    readonly reason: string,
    readonly offset?: number,
  ) {
    super(`OVSDB protocol error: ${reason}${offset === undefined ? '' : ` (at byte ${offset})`}`, 'PROTOCOL');
  }
}

/** A request (or the liveness probe) got no answer in time. */
export class OvsdbTimeoutError extends OvsdbError {
  constructor(
    readonly method: string,
    readonly timeoutMs: number,
  ) {
    super(`OVSDB ${method} got no answer within ${timeoutMs} ms`, 'TIMEOUT');
  }
}

/** The caller cancelled a request (AbortSignal); the server was told with a "cancel" notification. */
export class OvsdbCancelledError extends OvsdbError {
  constructor(readonly method: string) {
    super(`OVSDB ${method} was cancelled`, 'CANCELLED');
  }
}

/** The connection closed while a request was outstanding, or a request was made on a closed client. */
export class OvsdbClosedError extends OvsdbError {
  constructor(readonly reason: string) {
    super(`OVSDB connection closed: ${reason}`, 'CLOSED');
  }
}

/**
 * The server answered a request with a JSON-RPC error (e.g. "unknown database", "unknown method").
 * `serverError` is the server's short error string, `details` its longer text when given.
 */
export class OvsdbRpcError extends OvsdbError {
  constructor(
    readonly method: string,
    readonly serverError: string,
    readonly details?: string,
  ) {
    super(`OVSDB ${method} failed: ${serverError}${details ? `: ${details}` : ''}`, 'RPC');
  }
}

/**
 * A transaction failed. `opIndex` is the failing operation's index in the request; when the server
 * reports a failure after all operations succeeded (e.g. a commit or referential integrity failure),
 * `opIndex` equals the number of operations, as RFC 7047 puts that error after the last result.
 */
export class OvsdbTransactionError extends OvsdbError {
  constructor(
    readonly serverError: string,
    readonly details: string | undefined,
    readonly opIndex: number,
    readonly op: string | undefined,
  ) {
    super(
      `OVSDB transaction failed at operation ${opIndex}${op ? ` (${op})` : ''}: ${serverError}` +
        (details ? `: ${details}` : ''),
      'TRANSACTION',
    );
  }
}

/** A vNIC specification that is not NAME, iface-id:ID, mac:MAC, vm-uuid:UUID or vm-id:UUID. */
export class VnicSpecError extends OvsdbError {
  constructor(
    readonly spec: string,
    readonly reason: string,
  ) {
    super(`invalid vNIC "${spec}": ${reason}`, 'VNIC_SPEC');
  }
}

/**
 * A server that answered but cannot serve this session (ovsdb-server(5) `_Server` database): the database
 * is missing, a clustered member is cut off from its cluster, is not the leader when the session needs the
 * leader, is behind data already seen (`stale`: its `_Server` index, or `no-history`: it has not got the last
 * transaction a monitor applied, so it could only send everything again), or belongs to another cluster. The
 * session moves on to another remote.
 */
export class OvsdbMemberError extends OvsdbError {
  constructor(
    readonly remote: string,
    readonly problem: 'no-database' | 'not-connected' | 'not-leader' | 'stale' | 'no-history' | 'other-cluster',
    readonly reason: string,
  ) {
    super(`OVSDB server ${remote} cannot serve: ${reason}`, 'MEMBER');
  }
}

/** The caller used the client in a way it cannot work (a lock on a follower, a bad lock name). */
export class OvsdbUsageError extends OvsdbError {
  constructor(readonly reason: string) {
    super(`OVSDB client misuse: ${reason}`, 'USAGE');
  }
}
