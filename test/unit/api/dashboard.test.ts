import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { ApiServer } from '../../../src/api';
import { sampleRuntime, type FakeRuntime } from './fake-runtime';

const CHROMIUM = process.env.VADC_CHROMIUM ?? '/usr/bin/chromium';
const TOKEN = 'dashboard-test-token-0123456789';

describe('dashboard in headless Chromium against a fake runtime', () => {
  let rt: FakeRuntime;
  let server: ApiServer;
  let browser: BrowserContext;
  let profileDir: string;
  let shotDir: string;
  let baseUrl: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium) or set VADC_CHROMIUM; this test must not pass without a browser`);
    }
    rt = await sampleRuntime();
    server = await ApiServer.start({ runtime: rt, listen: [{ endpoint: 'tcp:127.0.0.1:0', token: TOKEN }], statusIntervalMs: 250 });
    baseUrl = `http://${server.endpoints[0].replace(/^tcp:/, '')}`;
    profileDir = mkdtempSync(path.join(os.tmpdir(), 'vadc-dash-profile-'));
    shotDir = mkdtempSync(path.join(os.tmpdir(), 'vadc-dash-shots-'));
    // A fresh, empty profile per run; playwright passes it as --user-data-dir.
    browser = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 800 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
  }, 60000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  });

  it('shows services and backends, then a backend going down, live', async () => {
    const page = await browser.newPage();
    const consoleErrors: string[] = [];
    page.on('pageerror', (err) => consoleErrors.push(err.message));
    await page.goto(`${baseUrl}/?token=${TOKEN}`);

    const vm2Health = page.locator('[data-backend="web/v-vm2"] [data-health]');
    await vm2Health.waitFor();
    expect(await vm2Health.getAttribute('data-health')).toBe('up');
    expect(await page.locator('[data-service="web"] h2').textContent()).toBe('web');
    expect(await page.locator('[data-backend="web/v-vm1"]').textContent()).toContain('10.0.0.11:8080');
    await page.locator('#live.pill-up').waitFor();

    // Some load over time, so the plots have something to draw.
    for (let i = 1; i <= 6; i++) {
      rt.patchBackend('web', 'v-vm1', { activeConns: 2 + i, queueMeasure: 0.1 * i });
      rt.patchBackend('web', 'v-vm2', { activeConns: i % 3 });
      rt.emit({ kind: 'stats_sample', level: 'info', message: `sample ${i}` });
    }
    rt.setHealth('web', 'v-vm2', 'down', 'tcp connect to 10.0.0.12:8080 refused');

    await page.locator('[data-backend="web/v-vm2"] [data-health="down"]').waitFor();
    expect(await page.locator('[data-backend="web/v-vm2"]').textContent()).toContain('tcp connect to 10.0.0.12:8080 refused');
    await page.locator('#events li[data-kind="backend_down"]').waitFor();
    expect(await page.locator('#events li[data-kind="backend_down"]').first().textContent()).toContain('backend v-vm2 is down');
    expect(await page.locator('[data-backend="web/v-vm1"] svg.spark polyline').count()).toBe(2);

    const shot = path.join(shotDir, 'dashboard-backend-down.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(existsSync(shot)).toBe(true);
    console.log(`dashboard screenshot: ${shot}`);
    expect(consoleErrors).toEqual([]);
  }, 60000);
});
