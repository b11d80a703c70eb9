// vadc as a cluster product: its own OVSDB schema served by a Raft cluster of ovsdb-server, the pure merge of
// the policy rows into one host's effective services (with provenance), and the store sessions. docs/cluster.md.
export * from './schema';
export * from './merge';
export * from './combine';
export * from './policy-rows';
export * from './errors';
export * from './policy-cache';
export { ClusterAdmin, openStore, describeStoreError, type AdminOptions } from './admin';
export { ClusterStore, hostLockName, type ClusterStoreOptions, type HostReport, type BackendReport } from './store';
export { renderEffective, type EffectiveView } from './effective-yaml';
export { clusterStatus, memberView, type ClusterStatusView, type MemberView } from './status';
export { computeEffectiveView, effectiveNat } from './effective';
