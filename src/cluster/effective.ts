// What a host serves, computed the way its daemon does: the config file's services plus the store's effective
// policy for the host (from the store now, else from the host's policy cache), with provenance.
import type { DatapathConfig, VadcConfig } from '../config';
import type { TlsFiles } from '../ovsdb';
import { ClusterAdmin } from './admin';
import { combineServices } from './combine';
import type { EffectiveView } from './effective-yaml';
import { effectivePolicy, type EffectivePolicy } from './merge';
import { defaultPolicyCachePath, loadPolicyCache } from './policy-cache';

export interface EffectiveViewOptions {
  configPath?: string;
  tls?: TlsFiles;
  timeoutMs?: number;
  /** The running daemon's NAT mode and why (its status), when the view is of a running daemon. */
  running?: EffectiveView['running'];
}

/**
 * The NAT mode of a host and where it came from, as its daemon chooses it at start (src/app/nat/factory.ts):
 * the file's flows/conntrack wins over the store; with auto the store's mode for the host (taken from the policy
 * cache at start), else auto (the probe of ovs-vswitchd at start). Pure.
 */
export function effectiveNat(file: DatapathConfig['nat'], store: EffectivePolicy['nat']): EffectiveView['nat'] {
  if (file !== 'auto') {
    return { value: file, from: store && store.value !== file ? `file (the store's ${store.from} sets ${store.value}; the file's datapath.nat wins)` : 'file' };
  }
  return store ? { value: store.value, from: `${store.from}` } : { value: file, from: 'file (ovs-vswitchd probed at start)' };
}

export async function computeEffectiveView(config: VadcConfig, opts: EffectiveViewOptions = {}): Promise<EffectiveView> {
  const running = opts.running ? { running: opts.running } : {};
  const c = config.cluster;
  if (!c) {
    return {
      origin: 'the config file (no cluster: key)', fileServices: config.services, nat: effectiveNat(config.datapath.nat, undefined), served: config.services, problems: [], ...running,
    };
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
    host: c.host, group: c.group, origin, fileServices: config.services, policy, nat: effectiveNat(config.datapath.nat, policy.nat), served: combined.services,
    problems: [...policy.problems, ...combined.problems], ...running,
  };
}
