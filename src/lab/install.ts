// Makes sure Open vSwitch is there: installs it with apt-get as root, or says what to install; with VADC_OVS_PREFIX,
// checks that the named install has the tools the lab runs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LAB_OVS_TOOLS, OVS_PREFIX_VARIABLE, ovsInstall, type OvsInstall } from './commands';
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

/** What an install named by VADC_OVS_PREFIX lacks of what the lab runs: tools in neither bin/ nor sbin/, the schema. */
export function missingFromInstall(install: OvsInstall, exists: (file: string) => boolean = fs.existsSync): string[] {
  if (install.prefix === undefined) return [];
  const tools = LAB_OVS_TOOLS.filter((tool) => !install.binDirs.some((dir) => exists(path.join(dir, tool))));
  return exists(install.schema) ? tools : [...tools, install.schema];
}

export async function ensureLabTools(isRoot: boolean): Promise<void> {
  const install = ovsInstall();
  const lacking = missingFromInstall(install);
  if (lacking.length > 0) {
    throw new LabError('missing-package', `${OVS_PREFIX_VARIABLE}=${install.prefix} lacks ${lacking.join(', ')}: expected an Open vSwitch ` +
      `built with ./configure --prefix=${install.prefix} and installed there (make install)`);
  }
  // With another install (checked above), the system's OVS is not needed.
  const present = new Set<string>(install.prefix === undefined ? [] : LAB_OVS_TOOLS);
  for (const [binary] of REQUIRED_TOOLS) if (!present.has(binary) && await which(binary)) present.add(binary);
  const missing = missingPackages(present);
  if (missing.length === 0) return;
  if (!isRoot) {
    throw new LabError('missing-package', `the lab needs ${missing.join(', ')}: run as root, or install them: apt-get install ${missing.join(' ')}`);
  }
  const env = { ...pathWithSbin(), DEBIAN_FRONTEND: 'noninteractive' };
  await run(['apt-get', 'update', '-qq'], { env, timeoutMs: 300_000 });
  await run(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...missing], { env, timeoutMs: 600_000 });
}
