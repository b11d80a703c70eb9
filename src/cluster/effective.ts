// What a host serves, computed the way its daemon does: the config file's services plus the store's effective
// policy for the host (from the store now, else from the host's policy cache), with provenance.
import type { VadcConfig } from '../config';
import type { TlsFiles } from '../ovsdb';
import { ClusterAdmin } from './admin';
import { combineServices } from './combine';
import type { EffectiveView } from './effective-yaml';
import { effectivePolicy } from './merge';
import { defaultPolicyCachePath, loadPolicyCache } from './policy-cache';

export async function computeEffectiveView(config: VadcConfig, opts: { configPath?: string; tls?: TlsFiles; timeoutMs?: number } = {}): Promise<EffectiveView> {
  const fileNat = { value: config.datapath.nat, from: 'file' };
  const c = config.cluster;
  if (!c) {
    return { origin: 'the config file (no cluster: key)', fileServices: config.services, nat: fileNat, served: config.services, problems: [] };
  }
  const who = { host: c.host, group: c.group };
  let origin: string;
  let policy;
  try {
    const admin = await ClusterAdmin.open(c.remotes, { tls: opts.tls, timeoutMs: opts.timeoutMs ?? 5000 });
    try {
      policy = effectivePolicy(await admin.snapshot(), who);
      origin = `the config file and the cluster store ${c.remotes}`;
    } finally {
      admin.close();
    }
  } catch (err) {
    const cachePath = c.policy_cache ?? (opts.configPath ? defaultPolicyCachePath(opts.configPath, c.host) : undefined);
    const cached = cachePath ? loadPolicyCache(cachePath) : undefined;
    if (!cached) throw err;
    policy = effectivePolicy(cached.snapshot, who);
    origin = `the config file and the policy cache ${cachePath} of ${new Date(cached.savedAt).toISOString()} (store: ${(err as Error).message})`;
  }
  const combined = combineServices(config.services, policy.services);
  return {
    host: c.host, group: c.group, origin, fileServices: config.services, policy, nat: policy.nat ?? fileNat, served: combined.services,
    problems: [...policy.problems, ...combined.problems],
  };
}
