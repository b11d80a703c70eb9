// The controller runtime against a real Open vSwitch (the private lab): handshake, port table,
// flows, stats, port status, vswitchd restart, TLS, a hostile peer and a datapath-id impostor beside a real switch.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Controller } from '../../src/controller/controller';
import type { SwitchInfo } from '../../src/controller/types';
import { Lab } from '../../src/lab';
import { OFPPR_MODIFY, OFPPS_LINK_DOWN, OFPP_LOCAL, decode, encode } from '../../src/openflow';
import type { FlowMod, OfpMessage, PortStatus } from '../../src/openflow';

const LAB_NAME = `c${process.pid.toString(36).slice(-4)}`;
const COOKIE = 0x7ad0_0000_00c0_ffeen;

let lab: Lab;
let controller: Controller;
let dpid: bigint;
let controllerTarget: string;

function portOf(bound: string): number {
  return Number(bound.split(':').pop());
}

function nextEvent<T extends unknown[]>(c: Controller, event: 'switch_up' | 'switch_down'): Promise<T> {
  return new Promise((resolve) => c.once(event, (...args: unknown[]) => resolve(args as T)));
}

/** Resolves with the first message from the switch that passes the test. */
function nextMessage(c: Controller, test: (m: OfpMessage) => boolean): Promise<OfpMessage> {
  return new Promise((resolve) => {
    const listener = (_sw: SwitchInfo, m: OfpMessage) => {
      if (!test(m)) return;
      c.off('message', listener);
      resolve(m);
    };
    c.on('message', listener);
  });
}

function flowMod(priority: number, tcpDst: number): FlowMod {
  return {
    type: 'flow_mod', xid: 0, cookie: COOKIE, cookieMask: 0n, tableId: 0, command: 0, idleTimeout: 0, hardTimeout: 0,
    priority, bufferId: 0xffffffff, outPort: 0xffffffff, outGroup: 0xffffffff, flags: 0,
    match: [{ field: 'eth_type', value: 0x0800 }, { field: 'ip_proto', value: 6 }, { field: 'tcp_dst', value: tcpDst }],
    instructions: [{ type: 'apply_actions', actions: [{ type: 'output', port: lab.vms[0].ofport, maxLen: 0 }] }],
  };
}

beforeAll(async () => {
  controller = new Controller({ listen: ['tcp:127.0.0.1:0'], session: { echoIntervalMs: 2000 } });
  [controllerTarget] = await controller.start();
  const up = nextEvent<[SwitchInfo]>(controller, 'switch_up');
  lab = await Lab.up({ name: LAB_NAME, vms: 2, clients: 1, controller: controllerTarget, waitForHostMs: 100_000 });
  const [sw] = await up;
  dpid = sw.dpid;
}, 150_000);

afterAll(async () => {
  await controller?.stop();
  await lab?.down();
}, 60_000);

describe('controller runtime on real OVS', () => {
  it('completes the handshake with the lab bridge; its port table agrees with ovs-ofctl show', async () => {
    expect(dpid).toBe(BigInt(`0x${lab.datapathId}`));
    const show = await lab.ofctl('show');
    const shown = new Map<number, string>();
    for (const m of show.matchAll(/^\s*(\d+|LOCAL)\(([^)]+)\): addr:([0-9a-f:]+)/gm)) {
      shown.set(m[1] === 'LOCAL' ? OFPP_LOCAL : Number(m[1]), `${m[2]} ${m[3]}`);
    }
    const ours = new Map([...controller.switch(dpid)!.ports.values()].map((p) => [p.portNo, `${p.name} ${p.hwAddr}`]));
    expect(ours).toEqual(shown);
    expect(ours.get(lab.vms[0].ofport)).toMatch(new RegExp(`^${lab.vms[0].port} `));
  });

  it('installs flows that ovs-ofctl dump-flows shows with the vadc cookie, and reads them back by cookie', async () => {
    controller.send(dpid, [flowMod(1234, 8080), flowMod(1235, 8081)]);
    await controller.barrier(dpid);
    const dump = await lab.ofctl('dump-flows');
    const ours = dump.split('\n').filter((l) => l.includes(`cookie=0x${COOKIE.toString(16)}`));
    expect(ours.map((l) => /priority=(\d+)/.exec(l)?.[1]).sort()).toEqual(['1234', '1235']);

    const reply = await controller.request(dpid, {
      type: 'multipart_request', xid: 0, flags: 0,
      body: { mpType: 'flow', tableId: 0xff, outPort: 0xffffffff, outGroup: 0xffffffff, cookie: COOKIE, cookieMask: ~0n & 0xffff_ffff_ffff_ffffn, match: [] },
    });
    if (reply.body.mpType !== 'flow') throw new Error(`expected flow stats, got ${reply.body.mpType}`);
    expect(reply.body.entries.map((e) => [e.priority, e.cookie]).sort()).toEqual([[1234, COOKIE], [1235, COOKIE]]);
    expect(controller.switch(dpid)!.counters.flowModsSent).toBeGreaterThanOrEqual(2);
  });

  it('sees port_status when a VM port goes down and up, and keeps the port table current', async () => {
    const vm = lab.vms[1];
    const isVmPort = (m: OfpMessage) => m.type === 'port_status' && m.desc.portNo === vm.ofport;
    const down = nextMessage(controller, (m) => isVmPort(m) && ((m as PortStatus).desc.state & OFPPS_LINK_DOWN) !== 0);
    await lab.setLinkUp(vm, false);
    expect(await down).toMatchObject({ reason: OFPPR_MODIFY, desc: { name: vm.port } });
    expect(controller.switch(dpid)!.ports.get(vm.ofport)!.state & OFPPS_LINK_DOWN).toBe(OFPPS_LINK_DOWN);
    const up = nextMessage(controller, (m) => isVmPort(m) && ((m as PortStatus).desc.state & OFPPS_LINK_DOWN) === 0);
    await lab.setLinkUp(vm, true);
    await up;
    expect(controller.switch(dpid)!.ports.get(vm.ofport)!.state & OFPPS_LINK_DOWN).toBe(0);
  });

  it('disconnects a hostile peer (junk, lying lengths) while the real switch stays up', async () => {
    const downs: bigint[] = [];
    controller.on('switch_down', (d) => downs.push(d));
    const port = portOf(controllerTarget);
    const hello = encode({ type: 'hello', xid: 1, elements: [] });
    const attacks: Array<[Buffer, { errType: number; code: number }]> = [
      [Buffer.from('\x00\x01garbage that is not OpenFlow at all'), { errType: 0, code: 0 }], // HELLO_FAILED/INCOMPATIBLE
      [Buffer.concat([hello, Buffer.from([4, 10, 0, 2, 0, 0, 0, 9])]), { errType: 1, code: 6 }], // BAD_REQUEST/BAD_LEN
      [Buffer.concat([hello, Buffer.from([4, 6, 0, 12, 0, 0, 0, 9, 1, 2, 3, 4])]), { errType: 1, code: 6 }],
      [Buffer.concat([hello, Buffer.from([1, 10, 0, 8, 0, 0, 0, 9])]), { errType: 1, code: 0 }], // BAD_VERSION
    ];
    for (const [attack, expected] of attacks) {
      const answer = await new Promise<Buffer>((resolve) => {
        const chunks: Buffer[] = [];
        const socket = net.connect(port, '127.0.0.1', () => socket.write(attack));
        socket.on('data', (d: Buffer) => chunks.push(d));
        socket.on('error', () => undefined);
        socket.on('close', () => resolve(Buffer.concat(chunks)));
      });
      const errors = splitMessages(answer).filter((m) => m.type === 'error');
      expect(errors).toEqual([expect.objectContaining(expected)]);
    }
    await controller.barrier(dpid);
    expect(downs).toEqual([]);
    expect(controller.switch(dpid)).toBeDefined();
  });

  it('keeps the real switch when another connection claims its datapath id, and reports the claimant', async () => {
    const downs: bigint[] = [];
    controller.on('switch_down', (d) => downs.push(d));
    const realAddress = controller.switch(dpid)!.address;
    const conflict = new Promise<{ holder: string; claimant: string; kept: string }>((resolve) => controller.once('dpid_conflict', resolve));
    // An impostor that answers the handshake with the lab bridge's datapath id.
    const claimant = net.connect(portOf(controllerTarget), '127.0.0.1', () => claimant.write(encode({ type: 'hello', xid: 1, elements: [] })));
    let pending = Buffer.alloc(0);
    claimant.on('data', (d: Buffer) => {
      pending = Buffer.concat([pending, d]);
      while (pending.length >= 8 && pending.length >= pending.readUInt16BE(2)) {
        const msg = decode(pending.subarray(0, pending.readUInt16BE(2)));
        pending = pending.subarray(pending.readUInt16BE(2));
        if (msg.type === 'features_request') {
          claimant.write(encode({ type: 'features_reply', xid: msg.xid, datapathId: dpid, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0, reserved: 0 }));
        } else if (msg.type === 'multipart_request' && msg.body.mpType === 'port_desc') {
          claimant.write(encode({ type: 'multipart_reply', xid: msg.xid, flags: 0, body: { mpType: 'port_desc', entries: [] } }));
        }
      }
    });
    claimant.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => claimant.on('close', () => resolve()));
    expect(await conflict).toMatchObject({ holder: realAddress, claimant: `127.0.0.1:${claimant.localPort}`, kept: 'holder' });
    await closed;
    await controller.barrier(dpid); // the real switch still answers through the session vadc kept
    expect(controller.switch(dpid)!.address).toBe(realAddress);
    expect(downs).toEqual([]);
  });

  it('re-handshakes after ovs-vswitchd restarts', async () => {
    const down = nextEvent<[bigint, string]>(controller, 'switch_down');
    const up = nextEvent<[SwitchInfo]>(controller, 'switch_up');
    await lab.restartVswitchd();
    expect((await down)[0]).toBe(dpid);
    const [sw] = await up;
    expect(sw.dpid).toBe(dpid);
    await controller.barrier(dpid);
  });

  it('accepts the switch over mutual TLS with certificates made in the test', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vadc-ctl-tls-'));
    try {
      const pki = makePki(dir);
      const tlsController = new Controller({
        listen: ['ssl:127.0.0.1:0'],
        tls: { key: fs.readFileSync(pki.controllerKey), cert: fs.readFileSync(pki.controllerCert), ca: fs.readFileSync(pki.caCert) },
      });
      const [bound] = await tlsController.start();
      try {
        const up = nextEvent<[SwitchInfo]>(tlsController, 'switch_up');
        await lab.vsctl('set-ssl', pki.switchKey, pki.switchCert, pki.caCert);
        await lab.setController(bound);
        const [sw] = await up;
        expect(sw.dpid).toBe(dpid);
        await tlsController.barrier(dpid);
      } finally {
        await tlsController.stop();
      }
    } finally {
      const back = nextEvent<[SwitchInfo]>(controller, 'switch_up');
      await lab.setController(controllerTarget);
      await back;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

function splitMessages(bytes: Buffer): OfpMessage[] {
  const out: OfpMessage[] = [];
  for (let off = 0; off + 8 <= bytes.length; off += bytes.readUInt16BE(off + 2)) {
    out.push(decode(bytes.subarray(off, off + bytes.readUInt16BE(off + 2))));
  }
  return out;
}

/** A CA, and a certificate it signs for each side, made with openssl. */
function makePki(dir: string) {
  const f = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=vadc-test-ca', '-keyout', f('ca.key'), '-out', f('ca.pem'));
  for (const who of ['controller', 'switch']) {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=vadc-test-${who}`, '-keyout', f(`${who}.key`), '-out', f(`${who}.csr`));
    openssl('x509', '-req', '-in', f(`${who}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '1', '-out', f(`${who}.pem`));
  }
  return {
    caCert: f('ca.pem'), controllerKey: f('controller.key'), controllerCert: f('controller.pem'),
    switchKey: f('switch.key'), switchCert: f('switch.pem'),
  };
}
