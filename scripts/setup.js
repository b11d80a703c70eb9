#!/usr/bin/env node
// Makes a fresh clone runnable: npm packages, the TypeScript build, and (for tests and the demo,
// when running as root) the Debian packages the lab needs. Safe to run again; it skips what is done.
'use strict';
const { execSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const purpose = process.argv.includes('--for') ? process.argv[process.argv.indexOf('--for') + 1] : 'build';
const log = (m) => process.stderr.write(`[setup] ${m}\n`);
const run = (cmd) => execSync(cmd, { cwd: root, stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
const have = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;

function npmPackages() {
  const lock = path.join(root, 'package-lock.json');
  const marker = path.join(root, 'node_modules', '.package-lock.json');
  if (fs.existsSync(marker) && fs.statSync(marker).mtimeMs >= fs.statSync(lock).mtimeMs) return;
  log('installing npm packages (npm ci)');
  run('npm ci --no-audit --no-fund');
}

// Debian packages the lab and its tests use; installed only when missing.
const debian = [
  ['ovs-vswitchd', 'openvswitch-switch'],
  ['ip', 'iproute2'],
  ['ethtool', 'ethtool'],
  ['iperf3', 'iperf3'],
  ['tshark', 'tshark'],
  ['curl', 'curl'],
  ['openssl', 'openssl'],
  // The schedulers e2e test sends a raw IP packet of an unknown protocol from a client (Node has no raw sockets).
  ['python3', 'python3'],
  // The dashboard test drives Debian's Chromium through playwright-core.
  ['chromium', 'chromium'],
  // The metrics are checked with Prometheus's promtool (from Debian's prometheus package; its service is not
  // started here) and the OpenMetrics parser of the Python Prometheus client.
  ['promtool', 'prometheus'],
  [() => spawnSync('/usr/bin/python3', ['-c', 'import prometheus_client.openmetrics.parser'], { stdio: 'ignore' }).status === 0, 'python3-prometheus-client'],
];

function debianPackages() {
  const missing = debian.filter(([check]) => !(typeof check === 'function' ? check() : have(check))).map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    log(`missing Debian packages: ${missing.join(' ')}; run as root or install them: apt-get install ${missing.join(' ')}`);
    return;
  }
  log(`installing Debian packages: ${missing.join(' ')}`);
  run('apt-get update -qq');
  // The package's init script may try to start a system OVS; vadc's lab runs its own private instance.
  run(`apt-get install -y -qq --no-install-recommends ${missing.join(' ')}`);
}

// The unit suite also runs on the current LTS line (Node 24). It is installed privately, never as a project
// dependency: `node` in node_modules/.bin would come first on PATH in every npm script.
const NODE24 = path.join(root, '.tools', 'node24');
const node24Bin = path.join(NODE24, 'node_modules', '.bin', 'node');
function node24() {
  const version = spawnSync(node24Bin, ['--version'], { encoding: 'utf8' }).stdout ?? '';
  if (version.startsWith('v24.')) return;
  log('installing Node.js 24 for the unit suite (npm i --prefix .tools/node24 node@24)');
  fs.mkdirSync(NODE24, { recursive: true });
  run(`npm i --prefix ${JSON.stringify(NODE24)} --no-audit --no-fund --no-package-lock node@24`);
}

npmPackages();
if (purpose === 'test') node24();
if (purpose === 'test' || purpose === 'demo') debianPackages();
log('building (tsc, then the CLI\'s command manifest)');
run('npm run -s build');
