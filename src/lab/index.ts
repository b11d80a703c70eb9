export { Lab } from './lab';
export type { LabHost, LabHypervisor, LabOptions, LabServer } from './lab';
export type { ExecOptions, HttpAnswer } from './host-processes';
export { labDir } from './traces';
export type { LabHypervisorStatus, LabLocator, LabStatus } from './traces';
export { LabCommandError, LabError } from './errors';
export type { LabErrorCode } from './errors';
export { DEFAULT_LAB_NAME, ipv6ForIp, MAX_LAB_HYPERVISORS, planHost, planHypervisor, planLab, portPrefix, validateLabName } from './plan';
export type { HostPlan, HostRole, HypervisorPlan, LabPlan } from './plan';
export { HOST_LOCK_FILE } from './host-lock';
export { OVS_PREFIX_VARIABLE, ovsInstall } from './commands';
export type { OvsInstall } from './commands';
export { hostDaemonsStatus, planHostDaemons } from './host-daemons';
export type { HostDaemonNat, HostDaemonPlan, HostDaemonStatus, HostDaemonsInput } from './host-daemons';
export {
  storeClusterUp, storeClusterDown, storeClusterStatus, readStoreCluster, startStoreMember, stopStoreMember, planStoreCluster,
  waitForStoreCluster, MAX_STORE_MEMBERS,
} from './store-cluster';
export type { StoreClusterOptions, StoreClusterFile, StoreMember, StoreMemberStatus } from './store-cluster';
