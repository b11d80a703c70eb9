// A private ovs-vswitchd for codec tests: its own ovsdb-server and run directory, one bridge on the dummy datapath
// (`--enable-dummy`, datapath_type=dummy) with two dummy ports. It makes no kernel devices and needs no network
// namespaces, so it never collides with the lab; tests still run it under the e2e lock like any real-OVS test.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ovsEnv, ovsInstall } from '../../src/lab/commands';

export interface PrivateSwitch {
  dir: string;
  bridge: string;
  /** unix socket path of the bridge's management (service) connection: OpenFlow, any number of peers. */
  mgmt: string;
  /** ovs-appctl target of the ovs-vswitchd. */
  vswitchdCtl: string;
  ofctl(args: string[]): string;
  appctl(args: string[]): string;
  stop(): void;
}

function run(argv: string[], env: NodeJS.ProcessEnv): string {
  try {
    return execFileSync(argv[0], argv.slice(1), { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${argv.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

function killPidfile(file: string): void {
  let pid: number;
  try { pid = Number(fs.readFileSync(file, 'utf8').trim()); } catch { return; }
  if (!Number.isInteger(pid) || pid <= 1) return;
  try { process.kill(pid, 'SIGTERM'); } catch { /* already gone */ }
}

/** Starts ovsdb-server and ovs-vswitchd in a fresh temp directory with bridge br0 (ports p1, p2 = ofports 1, 2). */
export function startPrivateSwitch(datapathId = '00000000000000a1'): PrivateSwitch {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vadc-ovs-'));
  // The lab's choice of install (VADC_OVS_PREFIX or the system's), pointed at this directory.
  const env = ovsEnv(dir);
  const db = path.join(dir, 'conf.db');
  const dbSock = path.join(dir, 'db.sock');
  const vswitchdCtl = path.join(dir, 'ovs-vswitchd.ctl');
  const bridge = 'br0';
  const stop = (): void => {
    killPidfile(path.join(dir, 'ovs-vswitchd.pid'));
    killPidfile(path.join(dir, 'ovsdb-server.pid'));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    run(['ovsdb-tool', 'create', db, ovsInstall(env).schema], env);
    run(['ovsdb-server', db, `--remote=punix:${dbSock}`, `--pidfile=${path.join(dir, 'ovsdb-server.pid')}`,
      `--log-file=${path.join(dir, 'ovsdb-server.log')}`, `--unixctl=${path.join(dir, 'ovsdb-server.ctl')}`, '--detach'], env);
    run(['ovs-vsctl', `--db=unix:${dbSock}`, '--no-wait', 'init'], env);
    run(['ovs-vswitchd', `unix:${dbSock}`, '--enable-dummy', `--pidfile=${path.join(dir, 'ovs-vswitchd.pid')}`,
      `--log-file=${path.join(dir, 'ovs-vswitchd.log')}`, `--unixctl=${vswitchdCtl}`, '--detach', '-vconsole:off'], env);
    run(['ovs-vsctl', `--db=unix:${dbSock}`, '--timeout=20', 'add-br', bridge,
      '--', 'set', 'bridge', bridge, 'datapath_type=dummy', 'protocols=OpenFlow13', 'fail_mode=secure',
      `other_config:datapath-id=${datapathId}`,
      '--', 'add-port', bridge, 'p1', '--', 'set', 'interface', 'p1', 'type=dummy', 'ofport_request=1',
      '--', 'add-port', bridge, 'p2', '--', 'set', 'interface', 'p2', 'type=dummy', 'ofport_request=2'], env);
  } catch (err) {
    stop();
    throw err;
  }
  const mgmt = path.join(dir, `${bridge}.mgmt`);
  return {
    dir, bridge, mgmt, vswitchdCtl, stop,
    ofctl: (args) => run(['ovs-ofctl', '-O', 'OpenFlow13', '--no-names', args[0], `unix:${mgmt}`, ...args.slice(1)], env),
    appctl: (args) => run(['ovs-appctl', '-t', vswitchdCtl, ...args], env),
  };
}
