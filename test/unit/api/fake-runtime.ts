import { EventEmitter } from 'node:events';
import {
  RuntimeError,
  type BackendSpec,
  type BackendStatus,
  type ConnectionStatus,
  type FlowStatus,
  type HealthState,
  type ServiceSpec,
  type ServiceStatus,
  type StatusSnapshot,
  type VadcEvent,
  type VadcRuntime,
} from '../../../src/runtime/types';

/** An in-memory VadcRuntime for unit tests of the API, CLI, metrics and dashboard. */
export class FakeRuntime implements VadcRuntime {
  readonly bus = new EventEmitter();
  private readonly svcs = new Map<string, ServiceStatus>();
  private readonly log: VadcEvent[] = [];
  private config = 'services: []\n';
  readonly applied: string[] = [];
  conns: ConnectionStatus[] = [];
  flowTable: FlowStatus[] = [];
  switches: StatusSnapshot['switches'] = [];
  now = 1_700_000_000_000;

  status(): StatusSnapshot {
    return { version: '0.1.0-test', startedAt: this.now - 60_000, switches: this.switches, services: this.services(), ovsdb: { target: 'unix:/fake/db.sock', connected: true }, datapath: { nat: 'conntrack', ctZone: 2780, accounting: 'conntrack', reason: 'datapath.nat: conntrack in the configuration', reading: { at: this.now - 2000, tookMs: 35, answerWaitMs: 12.5, spacingMs: 2500, spacedBy: 'ovs-vswitchd' } } };
  }
  services(): ServiceStatus[] {
    return [...this.svcs.values()].map((s) => structuredClone(s));
  }
  service(name: string): ServiceStatus {
    return structuredClone(this.get(name));
  }
  async addService(spec: ServiceSpec): Promise<ServiceStatus> {
    if (this.svcs.has(spec.name)) throw new RuntimeError('conflict', `service ${spec.name} already exists`);
    const svc: ServiceStatus = {
      name: spec.name,
      vip: spec.vip,
      vipMac: '02:00:0a:00:00:64',
      protocol: spec.protocol ?? 'tcp',
      port: spec.port,
      scheduler: spec.scheduler ?? 'wlc',
      activeTier: 0,
      backends: [],
      decisions: 0,
      decidedBy: 'controller',
      refused: 0,
      endCopies: 0,
      repeats: 0,
      guardedReplies: 0,
      flowsResent: 0,
    };
    this.svcs.set(spec.name, svc);
    for (const b of spec.backends) await this.addBackend(spec.name, b);
    this.emit({ kind: 'service_added', level: 'info', message: `service ${spec.name} added`, service: spec.name });
    return this.service(spec.name);
  }
  async removeService(name: string): Promise<void> {
    this.get(name);
    this.svcs.delete(name);
  }
  async addBackend(service: string, spec: BackendSpec): Promise<BackendStatus> {
    const svc = this.get(service);
    if (svc.backends.some((b) => b.id === spec.vnic)) throw new RuntimeError('conflict', `backend ${spec.vnic} already in ${service}`);
    const b: BackendStatus = {
      id: spec.vnic,
      service,
      vnic: spec.vnic,
      ip: spec.ip,
      ports: spec.ports,
      weight: spec.weight ?? 1,
      tier: spec.tier ?? 0,
      health: 'up',
      ofport: svc.backends.length + 1,
      mac: '52:54:00:00:00:0' + (svc.backends.length + 1),
      dpid: '0000000000000001',
      activeConns: 0,
      inactiveConns: 0,
      totalConns: 0,
      overloaded: false,
      packets: 0,
      bytes: 0,
    };
    svc.backends.push(b);
    return structuredClone(b);
  }
  async removeBackend(service: string, backend: string): Promise<void> {
    const svc = this.get(service);
    this.backend(service, backend);
    svc.backends = svc.backends.filter((b) => b.id !== backend);
  }
  async setWeight(service: string, backend: string, weight: number): Promise<BackendStatus> {
    const b = this.backend(service, backend);
    b.weight = weight;
    return structuredClone(b);
  }
  async drain(service: string, backend: string): Promise<BackendStatus> {
    const b = this.backend(service, backend);
    b.weight = 0;
    b.health = 'draining';
    return structuredClone(b);
  }
  async enable(service: string, backend: string): Promise<BackendStatus> {
    const b = this.backend(service, backend);
    b.weight = b.weight || 1;
    b.health = 'up';
    return structuredClone(b);
  }
  connections(filter: { service?: string; backend?: string } = {}): ConnectionStatus[] {
    return this.conns.filter((c) => (!filter.service || c.service === filter.service) && (!filter.backend || c.backend === filter.backend));
  }
  async flows(dpid?: string): Promise<FlowStatus[]> {
    return this.flowTable.filter((f) => !dpid || f.dpid === dpid);
  }
  events(limit?: number): VadcEvent[] {
    return limit ? this.log.slice(-limit) : [...this.log];
  }
  configText(): string {
    return this.config;
  }
  async applyConfig(yamlText: string): Promise<{ changed: string[] }> {
    if (!yamlText.includes('services')) throw new RuntimeError('invalid', 'config: services: missing');
    this.applied.push(yamlText);
    this.config = yamlText;
    return { changed: ['service web'] };
  }

  // Test controls.
  setHealth(service: string, backend: string, health: HealthState, reason?: string): void {
    const b = this.backend(service, backend);
    b.health = health;
    b.healthReason = reason;
    this.emit({ kind: health === 'up' ? 'backend_up' : 'backend_down', level: health === 'up' ? 'info' : 'warn', message: `backend ${backend} is ${health}${reason ? `: ${reason}` : ''}`, service, backend });
  }
  patchBackend(service: string, backend: string, patch: Partial<BackendStatus>): void {
    Object.assign(this.backend(service, backend), patch);
  }
  patchService(service: string, patch: Partial<ServiceStatus>): void {
    Object.assign(this.get(service), patch);
  }
  emit(e: Omit<VadcEvent, 'time'>): void {
    const event = { time: this.now, ...e };
    this.log.push(event);
    this.bus.emit('event', event);
  }

  private get(name: string): ServiceStatus {
    const svc = this.svcs.get(name);
    if (!svc) throw new RuntimeError('not_found', `no service named ${name}`);
    return svc;
  }
  private backend(service: string, backend: string): BackendStatus {
    const b = this.get(service).backends.find((x) => x.id === backend);
    if (!b) throw new RuntimeError('not_found', `no backend ${backend} in service ${service}`);
    return b;
  }
}

/** A runtime with one service `web` (two backends, some traffic) and one switch. */
export async function sampleRuntime(): Promise<FakeRuntime> {
  const rt = new FakeRuntime();
  rt.switches = [{ dpid: '0000000000000001', address: '127.0.0.1:40001', connectedAt: rt.now - 50_000, ports: 5, packetIns: 42, flowModsSent: 17, errorsReceived: 1 }];
  await rt.addService({ name: 'web', vip: '10.0.0.100', port: 80, scheduler: 'wlc', backends: [
    { vnic: 'v-vm1', ip: '10.0.0.11', ports: [8080], weight: 2 },
    { vnic: 'v-vm2', ip: '10.0.0.12', ports: [8080] },
  ] });
  rt.patchBackend('web', 'v-vm1', { activeConns: 3, inactiveConns: 1, totalConns: 10, packets: 1200, bytes: 96000, queueMeasure: 0.25 });
  rt.patchBackend('web', 'v-vm2', { activeConns: 1, totalConns: 5, packets: 600, bytes: 48000 });
  rt.patchService('web', { decisions: 15, refused: 2 });
  rt.conns = [
    { service: 'web', protocol: 'tcp', client: '10.0.0.50:41000', vip: '10.0.0.100:80', backend: 'v-vm1', destination: '10.0.0.11:8080', state: 'active', ageMs: 5000, idleMs: 200 },
    { service: 'web', protocol: 'tcp', client: '10.0.0.51:41001', vip: '10.0.0.100:80', backend: 'v-vm2', destination: '10.0.0.12:8080', state: 'inactive', ageMs: 9000, idleMs: 4000 },
  ];
  rt.flowTable = [
    { dpid: '0000000000000001', tableId: 0, priority: 100, cookie: '0x1', match: 'tcp,nw_dst=10.0.0.100,tp_dst=80', actions: 'controller', packets: 4, bytes: 300, durationSec: 50, idleTimeout: 0 },
  ];
  return rt;
}
