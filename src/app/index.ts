// The load-balancing application: pure decisions over services, backends and connections; see app.ts.
export { LoadBalancerApp, type AppOptions } from './app';
export { AppError } from './errors';
export type { EventSink, VadcEvent } from './events';
export type { BackendLocation, RemoteBackendReport, VnicInfo } from './location';
export type { AccountingInput, DatapathStatus, NatMode } from './nat/nat-mode';
export type { VswitchdProbe } from './nat/factory';
export type { SwitchBatch } from './outbox';
export type { OutlierProbe } from './outliers';
export type { PayloadState } from './payload';
export { publishedVerdict, type BackendState, type Routing, type ServiceState } from './services';
export { serviceIds } from './service-ids';
export { asControllerApp } from './controller-app';
