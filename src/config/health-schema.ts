// A service's health settings: active checks (health), passive outlier detection (outlier) and tier failover
// (failover). Part of the service schema (schema.ts); each setting's default is what an operator gets with no section.
import { z } from 'zod';
import { envSchema, hookCommand } from './hook-schema';
import { boundedString, expected, integer, nonNegativeInt, nonNegativeSeconds, portNumber, positiveSeconds, strict, text } from './zod-helpers';

/**
 * Defaults that take a dead port out within 3 s: the next check starts at most 1.1 s (interval + 10 % jitter)
 * after the last one ended, so two failures in a row, each taking at most its 0.4 s timeout, come within
 * 1.1 + 0.4 + 1.1 + 0.4 = 3.0 s of the death (a refused connection fails at once: about 2.2 s).
 */
const healthCommon = {
  interval: positiveSeconds(3600).default(1),
  timeout: positiveSeconds(3600).default(0.4),
  rise: integer(1, 100, 'an integer 1..100').default(2),
  fall: integer(1, 100, 'an integer 1..100').default(2),
  /** Port to probe; default: each of the backend's software ports. */
  port: portNumber.optional(),
};
const HEALTH_TYPES = ['tcp', 'http', 'https', 'udp', 'script'] as const;

/** A regular expression given as text; compiled here so a bad one is a config error, not a runtime one. */
const regexText = text('a regular expression', undefined, 1024).check((ctx) => {
  try {
    new RegExp(ctx.value);
  } catch (err) {
    ctx.issues.push({ code: 'custom', input: ctx.value, message: `not a valid regular expression: ${(err as Error).message}` });
  }
});

const STATUS_WHAT = 'an HTTP status 100..599 or a range "200-299"';
/** One status or an inclusive range "from-to". */
const statusCode = z.union([
  integer(100, 599, STATUS_WHAT),
  z.string().regex(/^[1-5]\d\d-[1-5]\d\d$/).refine((r) => Number(r.slice(0, 3)) <= Number(r.slice(4)), { error: 'range must run low-high' }),
], { error: expected(STATUS_WHAT) });

/** Declared here, used by the health-check/failover work (src/health). Absent: passive health (vNIC link state). */
export const healthSchema = z.discriminatedUnion(
  'type',
  [
    strict({ type: z.literal('tcp'), ...healthCommon }),
    strict({
      type: z.literal(['http', 'https']),
      ...healthCommon,
      path: text('an absolute URL path', /^\//).default('/'),
      /** Accepted statuses; default 200-299. */
      expect_status: z.union([statusCode, z.array(statusCode).min(1, { error: expected('a non-empty list of statuses') })], { error: expected(STATUS_WHAT) }).optional(),
      /** The body must contain this text ... */
      expect_body: text('a non-empty string').optional(),
      /** ... or match this regular expression. */
      expect_body_match: regexText.optional(),
      host_header: text('a host name').optional(),
      /** https only: verify the backend's certificate (default off: backends usually have self-signed ones). */
      tls_verify: z.boolean({ error: expected('true or false') }).default(false),
    }),
    strict({
      type: z.literal('udp'),
      ...healthCommon,
      send: boundedString('a payload string'),
      /** The reply must contain this text, or match expect_match; neither = any reply passes. */
      expect: text('a non-empty string').optional(),
      expect_match: regexText.optional(),
    }),
    strict({ type: z.literal('script'), ...healthCommon, command: hookCommand, env: envSchema }),
  ],
  { error: expected(`a mapping with type one of ${HEALTH_TYPES.join(', ')}`) },
);

const hysteresis = (what: string) =>
  strict({ high: z.number({ error: expected(`a ${what} >= 0`) }).min(0, { error: expected(`a ${what} >= 0`) }), low: z.number({ error: expected(`a ${what} >= 0`) }).min(0, { error: expected(`a ${what} >= 0`) }) });

/** Tier failover policy (src/health/tiers.ts). */
export const failoverSchema = strict({
  /** Seconds a lower tier must stay eligible before traffic fails back to it. */
  hold: nonNegativeSeconds(86400).default(10),
  /** A tier is overloaded above `high` mean active connections per healthy backend, recovered at or below `low`. */
  conns_per_backend: hysteresis('connection count').optional(),
  /** Same, on the feedback scheduler's queue measure. */
  queue_measure: hysteresis('queue measure').optional(),
  /** Growth of the tier's vNIC drop counters between two evaluations that marks it overloaded. */
  drops_rising: nonNegativeInt().optional(),
});

/**
 * Passive outlier detection (src/lb/outlier.ts), on for TCP services unless `enabled: false`: every setting has a
 * default, so a service without this section gets it too.
 */
export const outlierSchema = strict({
  enabled: z.boolean({ error: expected('true or false') }).default(true),
  /** Failed connections in a row that eject a backend's port (0 = this rule off). */
  consecutive_failures: integer(0, 1000, 'an integer 0..1000').default(3),
  /** Failed share of a window's connections that ejects the port (0 = this rule off). */
  failure_ratio: z.number({ error: expected('a ratio 0..1') }).min(0, { error: expected('a ratio 0..1') }).max(1, { error: expected('a ratio 0..1') }).default(0.5),
  /** The ratio's window. */
  window: positiveSeconds(3600).default(10),
  /** Connections a window needs before its ratio counts. */
  min_connections: integer(1, 1_000_000, 'an integer 1..1000000').default(10),
  /** A TCP connection not established this long after its first packet failed. */
  connect_timeout: positiveSeconds(3600).default(2),
  /** A backend's RST this soon after the connection's first packet failed it. */
  reset_within: positiveSeconds(3600).default(1),
  /**
   * UDP services: a flow its backend has not answered within this many seconds failed, an answered one worked
   * (0 = UDP is not judged, the default: a backend's silence may be the protocol, as syslog's or statsd's).
   */
  udp_reply_within: z.number({ error: expected('a number of seconds 0..3600') })
    .min(0, { error: expected('a number of seconds 0..3600') }).max(3600, { error: expected('a number of seconds 0..3600') }).default(0),
  /** The first ejection; each further one in a row doubles, up to max_ejection_time. A probe then decides. */
  ejection_time: positiveSeconds(3600).default(2),
  max_ejection_time: positiveSeconds(86400).default(30),
  /** The most backends out whole at once, as a percentage of the service's backends (at least one may go). */
  max_ejected_percent: integer(0, 100, 'an integer 0..100').default(50),
}).check((ctx) => {
  if (ctx.value.max_ejection_time < ctx.value.ejection_time) {
    ctx.issues.push({
      code: 'custom', input: ctx.value, path: ['max_ejection_time'],
      message: `expected max_ejection_time >= ejection_time (${ctx.value.ejection_time} s), got ${ctx.value.max_ejection_time}`,
    });
  }
});
