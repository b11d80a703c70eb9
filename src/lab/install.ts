// Makes sure Open vSwitch is there: installs it with apt-get as root, or says what to install.
import { LabError } from './errors';
import { pathWithSbin, run, which } from './system';

export const REQUIRED_TOOLS: ReadonlyArray<[binary: string, debianPackage: string]> = [
  ['ovs-vswitchd', 'openvswitch-switch'],
  ['ovsdb-server', 'openvswitch-switch'],
  ['ovs-vsctl', 'openvswitch-switch'],
  ['ip', 'iproute2'],
  ['ethtool', 'ethtool'],
];

export function missingPackages(present: ReadonlySet<string>): string[] {
  const missing = REQUIRED_TOOLS.filter(([binary]) => !present.has(binary)).map(([, pkg]) => pkg);
  return [...new Set(missing)];
}

export async function ensureLabTools(isRoot: boolean): Promise<void> {
  const present = new Set<string>();
  for (const [binary] of REQUIRED_TOOLS) if (await which(binary)) present.add(binary);
  const missing = missingPackages(present);
  if (missing.length === 0) return;
  if (!isRoot) {
    throw new LabError('missing-package', `the lab needs ${missing.join(', ')}: run as root, or install them: apt-get install ${missing.join(' ')}`);
  }
  const env = { ...pathWithSbin(), DEBIAN_FRONTEND: 'noninteractive' };
  await run(['apt-get', 'update', '-qq'], { env, timeoutMs: 300_000 });
  await run(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...missing], { env, timeoutMs: 600_000 });
}
