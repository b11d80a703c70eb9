// The relocate hook end to end on real Open vSwitch (issue 17): a backend that stays overloaded (more live
// connections than `conns_above`, counted by vadc from what the datapath carries) for `overloaded_for` gets the
// service's relocate hook run for it, once, with its context in the environment; below the threshold nothing
// runs. The hook here records its environment (a real one would live-migrate the VM).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Lab, type LabServer } from '../../src/lab';
import { DaemonUnderTest, heldConnections, sleep, vipOf } from '../helpers/health-lab';
import { e2eNatMode } from '../helpers/nat-mode';

const LAB = 'reloc';
let lab: Lab;
let server: LabServer | undefined;
let d: DaemonUnderTest | undefined;
let hooksDir: string;

beforeAll(async () => {
  lab = await Lab.up({ name: LAB, vms: 1, clients: 1, waitForHostMs: 600_000 });
  server = await lab.startHttpServer('vm1', 8080);
  hooksDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vadc-relocate-hooks-'));
}, 660_000);

afterAll(async () => {
  await d?.stop();
  await server?.stop().catch(() => undefined);
  await lab?.down();
  if (hooksDir) fs.rmSync(hooksDir, { recursive: true, force: true });
}, 120_000);

describe(`relocate hook on real OVS (NAT by ${e2eNatMode()})`, () => {
  it('runs once for a backend held above conns_above for overloaded_for, with its context; not below the threshold', async () => {
    const record = path.join(hooksDir, 'relocations.log');
    const hook = path.join(hooksDir, 'migrate-vm.sh');
    fs.writeFileSync(hook, `#!/bin/sh\necho "$VADC_ACTION $VADC_BACKEND $VADC_VNIC $VADC_IP attempt=$VADC_ATTEMPT: $VADC_REASON" >> ${record}\necho "migrated $VADC_BACKEND"\n`);
    fs.chmodSync(hook, 0o755);
    const vm1 = lab.host('vm1');
    d = await DaemonUnderTest.start(lab, `  - name: web
    vip: ${vipOf(lab)}
    port: 80
    health: { type: tcp, interval: 0.5, timeout: 0.4, rise: 1, fall: 2 }
    relocate: { command: [${hook}], conns_above: 3, overloaded_for: 1, timeout: 10, max_attempts: 1, rearm: 600 }
    backends:
      - { vnic: ${vm1.port}, ip: ${vm1.ip}, ports: [8080] }`);
    await d.waitHealth('web', vm1.port, 'up');

    // At the threshold (3 live connections, not above it) for three times overloaded_for: nothing runs.
    const atThreshold = heldConnections(lab, 'cl1', 3);
    expect(await atThreshold.bodies).toHaveLength(3);
    await sleep(3000);
    const live = d.daemon.services()[0].backends[0].activeConns;
    console.log(`[relocate] 3 held connections: vadc counts ${live} live on ${vm1.port}; relocate events: ${d.events.filter((e) => e.kind.startsWith('relocate')).length}`);
    expect(d.events.some((e) => e.kind.startsWith('relocate'))).toBe(false);
    expect(fs.existsSync(record)).toBe(false);

    // Two more: above it. After overloaded_for the hook runs, once, and succeeds.
    const from = d.events.length;
    const above = heldConnections(lab, 'cl1', 2);
    expect(await above.bodies).toHaveLength(2);
    const started = await d.waitEvent((e) => e.kind === 'relocate_started', 20_000, 'relocate_started', from);
    expect(started.backend).toBe(vm1.port);
    expect(started.message).toMatch(/attempt 1 of 1: overloaded for \d+ ms/);
    const finished = await d.waitEvent((e) => e.kind === 'relocate_succeeded' || e.kind === 'relocate_failed', 20_000, 'the hook to finish', from);
    expect(finished.kind).toBe('relocate_succeeded');
    expect(finished.data?.lastOutput).toContain(`migrated ${vm1.port}`);
    const lines = fs.readFileSync(record, 'utf8').trim().split('\n');
    console.log(`[relocate] 5 held connections (vadc counts ${d.daemon.services()[0].backends[0].activeConns}); the hook ran: ${lines.join(' | ')}`);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^relocate ${vm1.port} ${vm1.port} ${vm1.ip.replace(/\./g, '\\.')} attempt=1: overloaded for \\d+ ms`));

    // Still overloaded, but the backend rests (rearm 600 s): the hook does not run again.
    await sleep(3000);
    expect(d.events.slice(from).filter((e) => e.kind === 'relocate_started')).toHaveLength(1);
    expect(fs.readFileSync(record, 'utf8').trim().split('\n')).toHaveLength(1);
    await atThreshold.release();
    await above.release();
  }, 120_000);
});
