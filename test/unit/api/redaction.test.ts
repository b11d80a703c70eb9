import { ApiServer, VadcClient } from '../../../src/api';
import { parseConfig } from '../../../src/config';
import { sampleRuntime, type FakeRuntime } from './fake-runtime';

const TOKEN = 'redaction-test-token-0123456789ab';
const CONFIG = `api: {listen: "tcp:127.0.0.1:8181", token: ${TOKEN}}\nservices: []\n`;

describe('the API never echoes the token (issue 18, defect 3)', () => {
  let rt: FakeRuntime;
  let server: ApiServer;
  let client: VadcClient;

  beforeAll(async () => {
    rt = await sampleRuntime();
    server = await ApiServer.start({ runtime: rt, listen: [{ endpoint: 'tcp:127.0.0.1:0', token: TOKEN }] });
    client = new VadcClient({ endpoint: server.endpoints[0], token: TOKEN });
  });
  afterAll(() => server.close());

  it('GET /v1/config shows the token redacted', async () => {
    await rt.applyConfig(CONFIG);
    const shown = await client.configText();
    expect(shown).not.toContain(TOKEN);
    expect(shown).toContain('token: <redacted>');
    expect(parseConfig(CONFIG).api?.token).toBe(TOKEN);
  });

  it('PUT /v1/config of what GET showed keeps the token in force', async () => {
    await rt.applyConfig(CONFIG);
    const shown = await client.configText();
    await client.applyConfig(shown.replace('services: []', 'services: [] # edited'));
    expect(rt.configText()).toContain(TOKEN);
    expect(rt.configText()).toContain('# edited');
  });
});
