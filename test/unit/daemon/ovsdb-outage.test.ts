// Issue 18, defect 1: an OVSDB server that accepts connections, answers echo and errors everything else used to
// make the daemon leak one connection per retry, report "connected", flood the event ring and ignore stop.
// The daemon now holds one session: at most one connection at a time, status and events that tell the truth.
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../src/config';
import { VadcDaemon } from '../../../src/daemon/daemon';
import { echoOnlyServer } from '../../helpers/echo-only-ovsdb';
import { noVswitchd } from '../../helpers/nat-mode';

const dir = mkdtempSync(join(tmpdir(), 'vadc-ovsdb-outage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** This process's sockets to `path` (a unix socket's peer name is not in /proc, so count sockets overall). */
function openSockets(): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:');
    } catch {
      return false;
    }
  }).length;
}

const CONFIG = (ovsdb: string) => parseConfig(`
controller: { listen: "tcp:127.0.0.1:0" }
ovsdb: unix:${ovsdb}
services:
  - { name: web, vip: 10.0.0.100, port: 80, backends: [{ vnic: v-vm1, ip: 10.0.0.11, ports: [8080] }] }
`, 'test');

it('an OVSDB that answers echo and errors the rest: one connection at a time, never "connected", one event, a prompt stop', async () => {
  const path = join(dir, 'db.sock');
  const fake = echoOnlyServer(path);
  const daemon = new VadcDaemon({ probeVswitchd: noVswitchd, config: CONFIG(path), ovsdbSession: { backoffInitialMs: 50, backoffMaxMs: 100 } });
  await daemon.start();
  const before = openSockets();
  const samples: number[] = [];
  for (let i = 0; i < 15; i++) {
    await new Promise((r) => setTimeout(r, 100));
    samples.push(fake.open());
    expect(daemon.status().ovsdb.connected).toBe(false);
  }
  // It kept trying (every ~50-100 ms), and never held more than one connection.
  expect(fake.accepted()).toBeGreaterThanOrEqual(5);
  expect(Math.max(...samples)).toBeLessThanOrEqual(1);
  expect(openSockets() - before).toBeLessThanOrEqual(1);
  const outages = daemon.events(1000).filter((e) => e.kind === 'ovsdb_unreachable');
  expect(outages).toHaveLength(1);
  expect(outages[0].message).toMatch(/not supported|get_schema|_Server/);
  const t0 = Date.now();
  await daemon.stop();
  expect(Date.now() - t0).toBeLessThan(2000);
  await new Promise((r) => setTimeout(r, 100));
  expect(fake.open()).toBe(0);
  fake.server.close();
}, 20_000);
