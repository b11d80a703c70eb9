// The scheduler end-to-end tests' harness: an in-process vadc daemon driving the lab's Open vSwitch.
import { parseConfig } from '../../src/config';
import { VadcDaemon } from '../../src/daemon/daemon';
import type { Lab } from '../../src/lab';
import type { BackendStatus, VadcEvent } from '../../src/runtime/types';
import { datapathYaml } from './nat-mode';
import { waitFor as waitUntil } from './until';
import { switchSynced } from './switch-synced';

export { waitUntil };

export class SchedDaemon {
  readonly events: VadcEvent[] = [];

  private constructor(readonly daemon: VadcDaemon, readonly serviceName: string) {
    daemon.bus.on('event', (e: VadcEvent) => this.events.push(e));
  }

  /**
   * Starts vadc with one service (`service`: the YAML mapping's lines, without the leading dash) and
   * points the bridge at it; waits for the switch and for the backends named in `located`.
   */
  static async start(lab: Lab, service: string, opts: { statsIntervalMs?: number; daemonDefaults?: boolean; located?: string[] } = {}): Promise<SchedDaemon> {
    const text = `controller: { listen: "tcp:127.0.0.1:0", echo_interval: 1 }\n${datapathYaml(lab.vswitchdControlSocket)}\novsdb: unix:${lab.ovsdbSocket}\nservices:\n  - ${service.trim().split('\n').map((l) => l.trim()).join('\n    ')}\n`;
    const config = parseConfig(text, 'scheduler e2e');
    // daemonDefaults: the statistics poll the daemon picks from the config (as `vadc start` runs), not the tests' quick one.
    const statsIntervalMs = opts.daemonDefaults ? undefined : opts.statsIntervalMs ?? 200;
    const daemon = new VadcDaemon({ config, configText: text, ...(statsIntervalMs !== undefined ? { statsIntervalMs } : {}) });
    const under = new SchedDaemon(daemon, config.services[0].name);
    const [target] = await daemon.start();
    await lab.setController(target);
    const located = opts.located ?? config.services[0].backends.map((b) => b.name);
    await waitUntil(() => switchSynced(daemon.status()) && located.every((id) => under.backend(id).ofport !== undefined), 15_000, `switch up and ${located.join(', ')} located`);
    return under;
  }

  backend(id: string): BackendStatus {
    const found = this.daemon.service(this.serviceName).backends.find((b) => b.id === id);
    if (!found) throw new Error(`no backend ${id}`);
    return found;
  }

  /** Active connections per backend id, as the daemon counts them. */
  active(): Record<string, number> {
    return Object.fromEntries(this.daemon.service(this.serviceName).backends.map((b) => [b.id, b.activeConns]));
  }

  /** Open (active + inactive) connections per backend id. */
  open(): Record<string, number> {
    return Object.fromEntries(this.daemon.service(this.serviceName).backends.map((b) => [b.id, b.activeConns + b.inactiveConns]));
  }

  totalActive(): number {
    return Object.values(this.active()).reduce((a, b) => a + b, 0);
  }

  /**
   * Stops vadc and removes every vadc flow from the bridge, so the next test's daemon does not
   * re-track this test's connections from the switch (which a restart rightly does).
   */
  async stop(lab: Lab): Promise<void> {
    await this.daemon.stop();
    await lab.ofctl('del-flows', 'cookie=0xadc0000000000000/0xffff000000000000');
  }
}
