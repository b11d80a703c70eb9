// A cluster host serves its config file's services and the store's: one list for the app. Pure.
import type { ServiceConfig } from '../config';
import { conflictWith, type EffectiveService, type PolicyProblem } from './merge';

export interface CombinedServices {
  services: ServiceConfig[];
  /** The cluster services left out (a name or listener the file already has), each as a problem. */
  problems: PolicyProblem[];
}

/**
 * The file's services first, as they are; then each cluster service unless its name is one of the file's (an
 * error: the operator must rename one) or its listener or VIP MAC collides with one kept before it.
 */
export function combineServices(local: readonly ServiceConfig[], cluster: readonly EffectiveService[]): CombinedServices {
  const services = [...local];
  const problems: PolicyProblem[] = [];
  for (const s of cluster) {
    const name = s.config.name;
    if (local.some((l) => l.name === name)) {
      problems.push({ kind: 'name_conflict', service: name, scope: s.definedAt, message: `service ${name} is in the config file and in the cluster store (${s.definedAt}): the file's is served; rename one` });
      continue;
    }
    const clash = conflictWith(s.config, services);
    if (clash) {
      problems.push({ kind: 'conflicting_vip', service: name, scope: s.definedAt, message: `cluster service ${name} (${s.definedAt}) is left out: ${clash}` });
      continue;
    }
    services.push(s.config);
  }
  return { services, problems };
}
