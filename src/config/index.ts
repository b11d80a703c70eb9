export { parseConfig, loadConfig, parseServiceConfig, validateConfig } from './load';
export { ConfigError, formatIssue, type ConfigIssue } from './errors';
export {
  configSchema,
  SCHEDULERS,
  SCHEDULER_FLAGS,
  MH_TABLE_SIZES,
  DESTINATION_SCHEDULERS,
  type VadcConfig,
  type VadcConfigInput,
  type ServiceConfig,
  type DatapathConfig,
  type NatModeName,
  type BackendConfig,
  type HealthCheckConfig,
  type OutlierConfig,
  DEFAULT_OUTLIER_CONFIG,
  type LaunchConfig,
  type StopConfig,
  type RelocateConfig,
  type FailoverConfig,
  type BackendsFromConfig,
  type PayloadRulesConfig,
  MAX_TAGGED_BACKENDS,
  VNIC_SELECTOR_PREFIXES,
  type LimitsConfig,
  type ClusterConfig,
  type EgressConfig,
  type QueueConfig,
  CLUSTER_NAME_RE,
  CLUSTER_REPORT_INTERVAL_S,
  type SchedulerName,
} from './schema';
export { deriveVipMac, parseTarget, type Target } from './addresses';
export { checkConfigRules, checkServiceRules, fixedAddressesOf, vipHolding, vipPrefixesOf, type FixedAddress, type VipPrefix } from './rules';
export { MAX_UDP_PAYLOAD_V4, MAX_UDP_PAYLOAD_V6 } from './payload-rules';
export { parseConfigOffThread, type OffThreadOptions } from './parse-off-thread';
export { DEFAULT_MAX_CONFIG_BYTES, maxConfigBytes, readConfigFile, readConfigFileSync } from './limits';
