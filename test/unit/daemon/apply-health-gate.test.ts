// A configuration change that adds a service with active health checks: its backends take no connection before their
// first pass. The apply now sends the service flows a slice per turn; the new monitors (and the gate they put on their
// backends) must start in the turn the app takes the new services, not after the last slice.
import { parseConfig } from '../../../src/config';
import { ServiceTable } from '../../../src/app/services';
import { VadcDaemon } from '../../../src/daemon/daemon';
import { noVswitchd } from '../../helpers/nat-mode';
import { FakeSwitch, port } from '../controller/fake-switch';

const SMALL = 'controller: { listen: "tcp:127.0.0.1:0" }\ndatapath: { nat: flows }\nservices: []\n';

function withServices(n: number): string {
  let text = SMALL.replace('services: []\n', 'services:\n');
  for (let i = 0; i < n; i++) text += `  - { name: s${i}, vip: 10.1.${i >> 8}.${i & 255}, port: 80, backends: [{ vnic: v${i}, ip: 10.2.0.${(i % 250) + 1}, ports: [8080] }] }\n`;
  // The last service is health-checked (a check that never passes within the test: 60 s apart).
  return `${text}  - name: checked
    vip: 10.9.0.1
    port: 80
    health: { type: tcp, interval: 60, timeout: 1, rise: 1, fall: 1 }
    backends: [{ vnic: vc, ip: 10.9.0.11, ports: [8080] }]
`;
}

test('a new health-checked service: its backend is not available in any turn of the apply before its first check', async () => {
  const daemon = new VadcDaemon({ probeVswitchd: noVswitchd, config: parseConfig(SMALL), configText: SMALL, ovsdb: false });
  const [bound] = await daemon.start();
  const sw = await FakeSwitch.connect(Number(bound.split(':').pop()), { dpid: 7n, ports: [port(1, 'vc')], answerBarriers: true, answerEchoes: true });
  const configure = jest.spyOn(ServiceTable.prototype, 'configure');
  try {
    const end = Date.now() + 20_000;
    while (daemon.status().switches.length === 0) {
      if (Date.now() > end) throw new Error('the switch never came up');
      await new Promise((r) => setTimeout(r, 20));
    }
    // From the turn after the app takes the new services until the apply ends: what the app holds for `checked/vc`.
    const seen: Array<boolean | undefined> = [];
    let applying = true;
    const look = () => {
      const state = daemon.app.serviceStates().find((s) => s.config.name === 'checked')?.backends.get('vc');
      if (state) seen.push(state.healthy);
      if (applying) setImmediate(look);
    };
    configure.mockImplementation(function (this: ServiceTable, ...args) {
      setImmediate(look);
      configure.mockRestore();
      return ServiceTable.prototype.configure.apply(this, args);
    });
    // 100 services before it: the service flows go out over several turns.
    await daemon.applyConfig(withServices(100));
    applying = false;
    expect(daemon.app.serviceStates().find((s) => s.config.name === 'checked')?.backends.get('vc')?.location).toBeDefined();
    expect(seen.length).toBeGreaterThan(1);
    // false (held back until its first pass) in every turn; undefined would be "no active check": available.
    expect(seen.map(String)).toEqual(seen.map(() => 'false'));
  } finally {
    configure.mockRestore();
    sw.destroy();
    await daemon.stop();
  }
}, 60_000);
