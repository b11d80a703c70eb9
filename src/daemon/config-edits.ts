// Changes made through the control API (services, backends, weights) as edits of the configuration file's
// services: pure, each returns the new configuration in its raw form (the daemon parses and applies it as a
// `config apply`). Services a cluster host gets from the store are not the file's: they change in the store.
import type { VadcConfig } from '../config';
import { RuntimeError, type BackendSpec, type ServiceSpec } from '../runtime/types';

export type ConfigEdit =
  | { op: 'add_service'; spec: ServiceSpec }
  | { op: 'remove_service'; service: string }
  | { op: 'add_backend'; service: string; spec: BackendSpec }
  | { op: 'remove_backend'; service: string; backend: string }
  | { op: 'weight'; service: string; backend: string; weight: number };

type RawBackend = Record<string, unknown> & { name?: string; vnic: string };
type RawService = Record<string, unknown> & { name: string; backends: RawBackend[] };
type RawConfig = Record<string, unknown> & { services: RawService[] };

const backendName = (b: RawBackend) => b.name ?? b.vnic;

/** The configuration after `edit`; a RuntimeError when it cannot be made. */
export function editConfig(config: VadcConfig, clusterServices: readonly string[], edit: ConfigEdit): RawConfig {
  const raw = JSON.parse(JSON.stringify(config)) as RawConfig;
  if (edit.op === 'add_service') {
    if (config.services.some((s) => s.name === edit.spec.name)) throw new RuntimeError('conflict', `service ${edit.spec.name} exists`);
    if (clusterServices.includes(edit.spec.name)) {
      throw new RuntimeError('conflict', `service ${edit.spec.name} exists: it comes from the cluster store (change it with --cluster)`);
    }
    raw.services = [...raw.services, edit.spec as unknown as RawService];
    return raw;
  }
  const svc = raw.services.find((s) => s.name === edit.service);
  if (!svc) {
    const where = clusterServices.includes(edit.service) ? 'comes from the cluster store: change it there (vadc ... --cluster REMOTES)' : 'does not exist';
    throw new RuntimeError(clusterServices.includes(edit.service) ? 'invalid' : 'not_found', `service ${edit.service} ${where}`);
  }
  switch (edit.op) {
    case 'remove_service':
      raw.services = raw.services.filter((s) => s !== svc);
      return raw;
    case 'add_backend':
      if (svc.backends.some((b) => backendName(b) === edit.spec.vnic)) throw new RuntimeError('conflict', `service ${edit.service} already has backend ${edit.spec.vnic}`);
      svc.backends.push({ ...edit.spec });
      return raw;
    case 'remove_backend':
      if (svc.backends.length === 1) throw new RuntimeError('invalid', `cannot remove the last backend of ${edit.service}; remove the service instead`);
      svc.backends = svc.backends.filter((b) => backendName(b) !== edit.backend);
      return raw;
    case 'weight': {
      if (!Number.isInteger(edit.weight) || edit.weight < 0 || edit.weight > 65535) throw new RuntimeError('invalid', `weight must be an integer 0..65535, got ${edit.weight}`);
      const b = svc.backends.find((x) => backendName(x) === edit.backend);
      if (!b) throw new RuntimeError('not_found', `service ${edit.service} has no backend ${JSON.stringify(edit.backend)}`);
      b.weight = edit.weight;
      return raw;
    }
  }
}
