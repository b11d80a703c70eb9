/**
 * The one rule for control API listeners. `vadc config validate` (config rules) and `ApiServer.start` both
 * ask it, so a configuration that validates also starts, and start never refuses what validate passed.
 */
export const MIN_API_TOKEN_LENGTH = 16;

export interface ApiListenerFacts {
  kind: 'unix' | 'tcp' | 'ssl';
  /** The endpoint as written, for messages. */
  where: string;
  role: 'control' | 'metrics';
  token?: string;
  /** Whether a certificate and key were given. */
  hasTls: boolean;
}

/** What is wrong with a listener: the setting to fix ('token' or 'ssl') and why. Empty when it may start. */
export function apiListenerProblems(l: ApiListenerFacts): { setting: 'token' | 'ssl'; message: string }[] {
  const problems: { setting: 'token' | 'ssl'; message: string }[] = [];
  // Any tcp port, loopback included, is reachable by every local user; only a unix socket has file permissions.
  if (l.role === 'control' && l.kind !== 'unix' && !l.token) {
    problems.push({ setting: 'token', message: `required for ${l.where}: a tcp listener is reachable by every local user (and beyond loopback by the network)` });
  }
  if (l.token !== undefined && l.token.length < MIN_API_TOKEN_LENGTH) {
    problems.push({ setting: 'token', message: `too short (${l.token.length} characters): use at least ${MIN_API_TOKEN_LENGTH}, e.g. openssl rand -hex 32` });
  }
  if (l.kind === 'ssl' && !l.hasTls) problems.push({ setting: 'ssl', message: `required for ${l.where}: a certificate and key (cert, key)` });
  if (l.kind !== 'ssl' && l.hasTls) problems.push({ setting: 'ssl', message: `only meaningful for an ssl: listener, not ${l.where}` });
  return problems;
}
