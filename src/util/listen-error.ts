/**
 * A listener that could not bind, said in the operator's terms: which setting, which address, and what to do.
 * Node's own text ("listen EADDRINUSE: address already in use 127.0.0.1:6653") names neither the setting nor the
 * usual cause: a second vadc started with the same listen, often the second instance of a pair.
 */
export class ListenError extends Error {
  override readonly name = 'ListenError';
  constructor(readonly setting: string, readonly target: string, readonly code: string | undefined, message: string) {
    super(message);
  }
}

const ADVICE: Record<string, string> = {
  EADDRINUSE: 'the address is already in use by another process (another vadc with the same setting? '
    + 'the two instances of a controller pair need different controller.listen, api.listen and metrics.listen)',
  EACCES: 'permission denied (a port below 1024 needs root or CAP_NET_BIND_SERVICE)',
  EADDRNOTAVAIL: 'no interface of this host has that address',
};

/** Wraps a bind failure of `setting` (e.g. "controller.listen") at `target` into a ListenError; other errors pass. */
export function listenError(err: unknown, setting: string, target: string): Error {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const advice = code ? ADVICE[code] : undefined;
  if (!advice) return err instanceof Error ? err : new Error(String(err));
  return new ListenError(setting, target, code, `${setting} ${target}: ${advice}`);
}
