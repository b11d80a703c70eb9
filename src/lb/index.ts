export * from './errors';
export * from './hash';
export * from './backend';
export * from './scheduler';
export * from './registry';
export * from './port-picker';
export * from './persistence';
export * from './end-linger';
export { connAddresses, connKeyFromText, hashConnKey, hashConnKey6, vipMix6, type ConnKey } from './conn-key';
export type { ConnEntry, ConnRecord } from './conn-slots';
export * from './conn-table';
export * from './service';
export { leastWeighted } from './schedulers/least';
export { isLocalityOverloaded } from './schedulers/locality';
export type { LocalityOptions } from './schedulers/locality';
export type { SourceHashOptions } from './schedulers/hashing';
export { HASH_TABLE_SIZE } from './schedulers/hashing';
export type { MaglevOptions } from './schedulers/maglev';
export { MAGLEV_DEFAULT_TABLE_SIZE } from './schedulers/maglev';
export type { FeedbackOptions, LoadSample } from './schedulers/feedback';
export { FeedbackScheduler, type MemberLoad } from './schedulers/feedback';
export {
  RoundRobinScheduler,
} from './schedulers/rr';
export { WeightedRoundRobinScheduler } from './schedulers/wrr';
export {
  LeastConnectionScheduler, WeightedLeastConnectionScheduler, ShortestExpectedDelayScheduler, NeverQueueScheduler,
} from './schedulers/least';
export { LocalityLeastConnectionScheduler, LocalityReplicatedScheduler } from './schedulers/locality';
export { DestinationHashScheduler, SourceHashScheduler } from './schedulers/hashing';
export { MaglevScheduler } from './schedulers/maglev';
export * from './outlier';
