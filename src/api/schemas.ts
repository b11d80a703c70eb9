import { isIP } from 'node:net';
import { z } from 'zod';
import type { BackendSpec, ServiceSpec } from '../runtime/types';
import { formatPath } from '../config/errors';
import { ApiError } from './errors';

/** Request body limits and shapes. Validation failures become 400 with the dotted field path. */
const portNumber = z.number().int().min(1).max(65535);
/** IPv4 or IPv6 (a service is one family; the daemon's config rules refuse a mixed one with the reason). */
const ipAddress = z.string().refine((s) => isIP(s) !== 0 && !s.includes('%'), { message: 'must be an IPv4 or IPv6 address (a.b.c.d or x:y::z)' })
  .meta({ description: 'an IPv4 or IPv6 address' });
/** A VIP: an address, or (lblc, lblcr, dh) a prefix; the daemon's config rules check the rest (host bits, scheduler, overlaps). */
const vipAddressOrPrefix = z.string().refine((s) => {
  const [address, length, extra] = s.split('/');
  return extra === undefined && isIP(address) !== 0 && !address.includes('%') && (length === undefined || /^\d{1,3}$/.test(length));
}, { message: 'must be an IPv4 or IPv6 address, or a prefix a.b.c.d/len or x:y::/len (lblc, lblcr, dh)' })
  .meta({ description: 'an IPv4 or IPv6 address, or (lblc, lblcr, dh) a prefix' });
const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, { message: 'must be 1-63 letters, digits, "_", "." or "-"' });

export const backendSpecSchema = z.strictObject({
  vnic: z.string().min(1, { message: 'must not be empty' }).meta({ description: 'how vadc finds the vNIC: iface-id:ID, mac:MAC, vm-uuid:UUID (OpenStack), vm-id:UUID (libvirt) or an interface name' }),
  ip: ipAddress,
  ip6: ipAddress.optional().meta({ description: "a dual-stack service's backend: its IPv6 address (ip is then its IPv4 one)" }),
  ports: z.array(portNumber).min(1, { message: 'needs at least one port' }),
  weight: z.number().int().min(0).max(65535).optional(),
  tier: z.number().int().min(0).max(15).optional(),
}).meta({ id: 'BackendSpec' });

export const serviceSpecSchema = z.strictObject({
  name,
  id: z.number().int().min(1).max(65535).optional()
    .meta({ description: "the service id to pin (in every flow's cookie; docs/operators/add-a-service.md): default from the name" }),
  vip: vipAddressOrPrefix,
  vip6: vipAddressOrPrefix.optional().meta({ description: 'dual stack: the IPv6 VIP (address or prefix) beside the IPv4 vip (one service, one scheduler state for both)' }),
  protocol: z.enum(['tcp', 'udp']).optional(),
  port: portNumber,
  scheduler: z.string().min(1).optional(),
  persistence: z.number().int().min(0).optional(),
  idle_timeout: z.number().int().min(1).optional(),
  backends: z.array(backendSpecSchema),
}).meta({ id: 'ServiceSpec' });

export const weightBodySchema = z.strictObject({ weight: z.number().int().min(0).max(65535) }).meta({ id: 'WeightBody' });

export const configBodySchema = z.strictObject({ yaml: z.string().min(1, { message: 'must not be empty' }) }).meta({ id: 'ConfigBody' });

/** Parses `value` with `schema` or throws a 400 ApiError naming every bad field. */
export function validate<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${formatPath(issue.path) || '(body)'}: ${issue.message}`);
  throw new ApiError('invalid', `invalid request body: ${problems.join('; ')}`);
}

export function parseServiceSpec(value: unknown): ServiceSpec {
  return validate(serviceSpecSchema, value);
}

export function parseBackendSpec(value: unknown): BackendSpec {
  return validate(backendSpecSchema, value);
}
