// The host's last policy from the store, kept on local disk: a vadc restarted while the store is unreachable
// (no quorum, network down) serves it instead of nothing. The policy rows are kept, not the merge's result, so
// the merge (and its checks) runs again on load with the host's configuration as it is then. The store's log
// position when it was saved (cluster id, `_Server` index) is kept with it: a restarted host refuses members of
// that cluster still behind it (a member catching up after an outage would otherwise hand it an older policy).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ClusterError } from './errors';
import type { LogPosition } from '../ovsdb';
import type { PolicySnapshot } from './schema';

export const POLICY_CACHE_VERSION = 1;
/** Larger than any sane policy; a cache file this big is refused rather than parsed. */
const MAX_CACHE_BYTES = 64 * 1024 * 1024;

const settings = z.object({ uuid: z.string(), name: z.string(), nat: z.enum(['flows', 'conntrack']).optional() });
const strings = z.record(z.string(), z.string());
const cacheSchema = z.object({
  version: z.literal(POLICY_CACHE_VERSION),
  savedAt: z.number(),
  remotes: z.string(),
  log: z.object({ clusterId: z.string(), index: z.number().int().nonnegative() }).optional(),
  snapshot: z.object({
    cluster: settings.optional(),
    groups: z.array(settings),
    hosts: z.array(settings),
    services: z.array(z.object({
      uuid: z.string(), name: z.string(), scope: z.string(), vip: z.string().optional(), port: z.number().optional(),
      protocol: z.enum(['tcp', 'udp']).optional(), scheduler: z.string().optional(), options: strings,
    })),
    backends: z.array(z.object({
      uuid: z.string(), service: z.string(), name: z.string(), scope: z.string(), vnic: z.string().optional(), ip: z.string().optional(),
      ports: z.array(z.number()), weight: z.number().optional(), tier: z.number().optional(), drain: z.boolean().optional(), options: strings,
    })),
  }),
});

export interface CachedPolicy {
  savedAt: number;
  remotes: string;
  /** Where the store's log was when the snapshot was read (absent in caches written before vadc kept it). */
  log?: LogPosition;
  snapshot: PolicySnapshot;
}

/** Writes the cache atomically (a reader never sees half a file), readable by its owner only. */
export function savePolicyCache(file: string, entry: CachedPolicy): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify({ version: POLICY_CACHE_VERSION, ...entry }) + '\n', { mode: 0o600 });
  renameSync(tmp, file);
}

/** The cached policy, undefined when there is none; a ClusterError('cache') when the file is unusable. */
export function loadPolicyCache(file: string): CachedPolicy | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ClusterError('cache', `cannot read the policy cache ${file}: ${(err as Error).message}`);
  }
  if (text.length > MAX_CACHE_BYTES) throw new ClusterError('cache', `the policy cache ${file} is larger than ${MAX_CACHE_BYTES} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ClusterError('cache', `the policy cache ${file} is not JSON: ${(err as Error).message}`);
  }
  const parsed = cacheSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ClusterError('cache', `the policy cache ${file} is not a vadc policy cache (${issue.path.join('.')}: ${issue.message})`);
  }
  const { savedAt, remotes, log, snapshot } = parsed.data;
  return { savedAt, remotes, ...(log ? { log } : {}), snapshot };
}

/** Where the cache lives by default: next to the config file, or under /var/lib/vadc. */
export function defaultPolicyCachePath(configPath: string | undefined, host: string): string {
  return configPath ? `${configPath}.cluster-${host}.json` : `/var/lib/vadc/cluster-${host}.json`;
}
