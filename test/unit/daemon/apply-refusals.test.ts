// What `config apply` (PUT /v1/config) cannot change while vadc runs is refused with the reason, and nothing
// of the running configuration is lost; the rest applies.
import { serviceIds } from '../../../src/app';
import { parseConfig } from '../../../src/config';
import { VadcDaemon } from '../../../src/daemon/daemon';
import { RuntimeError } from '../../../src/runtime/types';
import { noVswitchd } from '../../helpers/nat-mode';

const BASE = `controller: { listen: "tcp:127.0.0.1:0" }
datapath: { nat: flows }
services:
  - { name: web, vip: 10.0.0.100, port: 80, backends: [{ vnic: v1, ip: 10.0.0.11, ports: [8080] }] }
`;

describe('config apply on a running daemon', () => {
  let daemon: VadcDaemon;
  beforeEach(() => {
    daemon = new VadcDaemon({ probeVswitchd: noVswitchd, config: parseConfig(BASE), configText: BASE, ovsdb: false });
  });
  afterEach(() => daemon.stop());

  async function refusal(text: string): Promise<RuntimeError> {
    const err = await daemon.applyConfig(text).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeError);
    expect(daemon.configText()).toBe(BASE);
    return err as RuntimeError;
  }

  it('refuses another NAT mode, naming the one in force', async () => {
    expect((await refusal(BASE.replace('nat: flows', 'nat: conntrack'))).message)
      .toMatch(/^datapath \(nat mode, conntrack zone\) cannot change while vadc runs: it is \{"nat":"flows".*restart vadc to change it$/);
  });

  it('refuses a cluster section added while it runs (it was accepted and ignored until the next restart)', async () => {
    const err = await refusal(`${BASE}cluster: { remotes: "unix:/tmp/s1.sock", host: h1, report_interval: 2 }\n`);
    expect(err.message).toMatch(/^the cluster section \(remotes, host, group, uplink, policy_cache, report_interval\) cannot change while vadc runs: it is absent, the new configuration has \{"remotes":"unix:\/tmp\/s1.sock","host":"h1".*restart vadc to change it$/);
  });

  it('refuses a pinned id that would renumber the running service, naming its id; pinning that id applies', async () => {
    const running = serviceIds(['web']).get('web')!;
    const other = running === 7 ? 8 : 7;
    const err = await refusal(BASE.replace('name: web,', `name: web, id: ${other},`));
    expect(err.message).toBe(`service ids: service web runs with id ${running}: pinning id ${other} would renumber it and drop its live connections' flows (pin ${running}, or remove the service and add it back)`);
    const pinned = BASE.replace('name: web,', `name: web, id: ${running},`);
    expect(await daemon.applyConfig(pinned)).toEqual({ changed: ['web'] });
  });

  it('a service added with an id (vadc service add --id) is pinned to it; an id a running service has is refused', async () => {
    const web = serviceIds(['web']).get('web')!;
    const spec = { name: 'api', vip: '10.0.0.101', port: 443, backends: [{ vnic: 'v2', ip: '10.0.0.12', ports: [8443] }] };
    const err = await daemon.addService({ ...spec, id: web }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as RuntimeError).message).toBe(`service ids: service api: id ${web} is service web's, which this configuration keeps (pin another id)`);
    expect(daemon.configText()).toBe(BASE);
    const free = web === 7 ? 8 : 7;
    expect((await daemon.addService({ ...spec, id: free })).name).toBe('api');
    expect(parseConfig(daemon.configText()).services.map((s) => [s.name, s.id])).toEqual([['web', undefined], ['api', free]]);
  });

  it('applies a change of services', async () => {
    const next = BASE.replace('ports: [8080]', 'ports: [8080, 8081]');
    expect(await daemon.applyConfig(next)).toEqual({ changed: ['web'] });
    expect(daemon.configText()).toBe(next);
  });
});
