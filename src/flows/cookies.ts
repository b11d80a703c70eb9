/**
 * vadc's one cookie scheme. Every flow vadc installs carries a cookie laid out as
 *
 *   bits 63..48  MAGIC (0xadc0)        - "this is a vadc flow"; deletes always mask on it
 *   bits 47..44  kind                  - pipeline / vip / service / connection / backend / end (copies of FIN/RST) / decision / egress
 *   bits 43..28  service id (16 bits)  - 0 for flows owned by no single service (pipeline, vip, egress)
 *   bits 27..0   connection id (28)    - a connection flow's connection id; an egress flow's queue id; a VIP flow's
 *                                        VIP tag (vipTag); else 0
 *
 * Kind is left out of the per-service mask, so "all flows of service S" takes its service flows and
 * its connection flows together; pipeline and VIP flows use service 0, which no service has.
 */
export const COOKIE_MAGIC = 0xadc0n;
export const MAX_SERVICE_ID = 0xffff;
export const MAX_CONNECTION_ID = 0x0fffffff;

export const COOKIE_KINDS = { pipeline: 1, vip: 2, service: 3, connection: 4, backend: 5, end: 6, decision: 7, egress: 8 } as const;
export type CookieKind = keyof typeof COOKIE_KINDS;

const MAGIC_MASK = 0xffffn << 48n;
const KIND_MASK = 0xfn << 44n;
const SERVICE_MASK = 0xffffn << 28n;
const ALL_ONES = 0xffffffffffffffffn;

export interface CookieParts {
  kind: CookieKind;
  serviceId: number;
  connectionId: number;
}

export class CookieError extends Error {
  override readonly name = 'CookieError';
}

export function makeCookie(kind: CookieKind, serviceId = 0, connectionId = 0): bigint {
  if (!Number.isInteger(serviceId) || serviceId < 0 || serviceId > MAX_SERVICE_ID) {
    throw new CookieError(`service id ${serviceId} is outside 0..${MAX_SERVICE_ID}`);
  }
  if (!Number.isInteger(connectionId) || connectionId < 0 || connectionId > MAX_CONNECTION_ID) {
    throw new CookieError(`connection id ${connectionId} is outside 0..${MAX_CONNECTION_ID}`);
  }
  if ((kind === 'service' || kind === 'connection' || kind === 'backend' || kind === 'end' || kind === 'decision') && serviceId === 0) {
    throw new CookieError(`a ${kind} cookie needs a service id >= 1 (0 means "no service")`);
  }
  return (COOKIE_MAGIC << 48n) | (BigInt(COOKIE_KINDS[kind]) << 44n) | (BigInt(serviceId) << 28n) | BigInt(connectionId);
}

const KIND_BY_CODE: readonly (CookieKind | undefined)[] = (() => {
  const byCode: (CookieKind | undefined)[] = new Array(16).fill(undefined);
  for (const kind of Object.keys(COOKIE_KINDS) as CookieKind[]) byCode[COOKIE_KINDS[kind]] = kind;
  return byCode;
})();
const MAGIC_NUMBER = Number(COOKIE_MAGIC);
const SERVICE_SCALE = 2 ** 28;

/** Parses a cookie read back from the switch; null when it is not a vadc cookie (someone else's flow). */
export function parseCookie(cookie: bigint): CookieParts | null {
  // Two numbers out of the bigint, then number arithmetic: each bigint operation allocates, and a restore reads
  // hundreds of thousands of cookies.
  const high = Number(cookie >> 32n);
  const low = Number(BigInt.asUintN(32, cookie));
  if (high >>> 16 !== MAGIC_NUMBER) return null;
  const kind = KIND_BY_CODE[(high >>> 12) & 0xf];
  if (!kind) return null;
  return { kind, serviceId: ((high & 0xfff) << 4) | (low >>> 28), connectionId: low & MAX_CONNECTION_ID };
}

/**
 * A connection cookie's service and connection id as one number (service id x 2^28 + connection id), or -1 for
 * any other cookie: a cheap key to pair a connection's flows by, where a bigint key would be hashed per lookup.
 */
export function connectionIndex(cookie: bigint): number {
  const parts = parseCookie(cookie);
  return parts?.kind === 'connection' ? connectionIndexOf(parts.serviceId, parts.connectionId) : -1;
}

/** connectionIndex of a connection's ids. */
export const connectionIndexOf = (serviceId: number, connectionId: number): number => serviceId * SERVICE_SCALE + connectionId;

/** The service id of a connectionIndex. */
export const serviceOfConnectionIndex = (index: number): number => Math.floor(index / SERVICE_SCALE);

/** The connection id of a connectionIndex. */
export const connectionOfConnectionIndex = (index: number): number => index % SERVICE_SCALE;

export interface CookieMatch {
  cookie: bigint;
  cookieMask: bigint;
}

/**
 * The tag of a VIP's flows (kind `vip`, in the connection-id bits; the service bits stay 0, so no service's delete
 * takes them): a hash of the VIP's canonical text (IpPrefix.text), never 0, the same in every run. The switch's VIP
 * flows then say which VIP they are for, and a VIP removed while vadc was away is swept by it (src/app/sweeps.ts). An
 * older vadc's VIP flows carry 0. Two VIPs may share a tag (28 bits): a removed one's flows then stay, as before tags.
 */
export function vipTag(canonical: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < canonical.length; i++) hash = Math.imul(hash ^ canonical.charCodeAt(i), 0x01000193);
  return (hash & MAX_CONNECTION_ID) || 1;
}

/** The cookie of a VIP's flows (`canonical`: its IpPrefix.text). */
export function vipCookie(canonical: string): bigint {
  return makeCookie('vip', 0, vipTag(canonical));
}

/** Selects every flow vadc owns, and nothing else. */
export function allVadcFlows(): CookieMatch {
  return { cookie: COOKIE_MAGIC << 48n, cookieMask: MAGIC_MASK };
}

/** Selects every flow of one kind (e.g. all connection flows, for rebuilding the connection table). */
export function allFlowsOfKind(kind: CookieKind): CookieMatch {
  return { cookie: (COOKIE_MAGIC << 48n) | (BigInt(COOKIE_KINDS[kind]) << 44n), cookieMask: MAGIC_MASK | KIND_MASK };
}

/** Selects the service flows and the connection flows of service S. */
export function allFlowsOfService(serviceId: number): CookieMatch {
  return { cookie: makeCookie('service', serviceId) & ~KIND_MASK, cookieMask: MAGIC_MASK | SERVICE_MASK };
}

/** Selects the connection flows of service S (not its service or backend flows). */
export function connectionsOfService(serviceId: number): CookieMatch {
  return { cookie: makeCookie('connection', serviceId), cookieMask: MAGIC_MASK | KIND_MASK | SERVICE_MASK };
}

/** Selects the flows whose cookie is exactly `cookie` (a delete that must not reach a foreign flow with the same match). */
export function exactCookie(cookie: bigint): CookieMatch {
  return { cookie, cookieMask: ALL_ONES };
}

/** Selects exactly one connection's forward and reverse flow. */
export function oneConnection(serviceId: number, connectionId: number): CookieMatch {
  return exactCookie(makeCookie('connection', serviceId, connectionId));
}

/** True when a cookie mask cannot select flows outside vadc's (it pins the magic bits). */
export function maskPinsMagic(match: CookieMatch): boolean {
  return (match.cookieMask & MAGIC_MASK) === MAGIC_MASK && (match.cookie & MAGIC_MASK) >> 48n === COOKIE_MAGIC;
}

const END_PREFIX = (COOKIE_MAGIC << 4n) | BigInt(COOKIE_KINDS.end);
const SERVICE_PREFIX = (COOKIE_MAGIC << 4n) | BigInt(COOKIE_KINDS.service);

/**
 * The service id of `cookie` when its top 20 bits (magic and kind) are `prefix`, else 0. Two compares against the
 * prefix's range, not `cookie >> 44n === prefix`: the shift allocates a BigInt and the equality is a runtime call
 * (323 -> 93 instructions per packet-in, callgrind; every packet-in asks endCopyService).
 */
function serviceWithPrefix(cookie: bigint, first: bigint, after: bigint): number {
  return cookie >= first && cookie < after ? Number((cookie & SERVICE_MASK) >> 28n) : 0;
}

const END_FIRST = END_PREFIX << 44n;
const END_AFTER = (END_PREFIX + 1n) << 44n;

/** endCopyService of a backend address:port's shared copy flow (sharedEndCopyCookie): no service of its own. */
export const SHARED_END_COPY = -1;

/**
 * The service id of a packet-in's cookie when the packet is a connection-end copy (a flow of kind `end` sent
 * it), SHARED_END_COPY for a backend address:port's shared copy flow (service bits 0), else 0. On the packet-in
 * path, so no allocation.
 */
export function endCopyService(cookie: bigint): number {
  if (cookie < END_FIRST || cookie >= END_AFTER) return 0;
  return Number((cookie & SERVICE_MASK) >> 28n) || SHARED_END_COPY;
}

/**
 * The cookie of a backend address:port's end-copy flows (kind `end`, service bits 0: owned by no single service, so no
 * service's delete takes them), shared by every service that sends to that address and port: their copy flows would
 * have one match and priority, and the switch keeps one flow of them. The connection-id bits hold a tag of the address
 * and port (vipTag of `ip/port`), so the switch's copy flows say which they are for.
 */
export function sharedEndCopyCookie(ip: string, port: number): bigint {
  return (COOKIE_MAGIC << 48n) | (BigInt(COOKIE_KINDS.end) << 44n) | BigInt(vipTag(`${ip}/${port}`));
}

const SERVICE_FIRST = SERVICE_PREFIX << 44n;
const SERVICE_AFTER = (SERVICE_PREFIX + 1n) << 44n;

/** The service id of a service flow's cookie (the reply guard's packet-ins), else 0. No allocation. */
export function serviceOfGuard(cookie: bigint): number {
  return serviceWithPrefix(cookie, SERVICE_FIRST, SERVICE_AFTER);
}
