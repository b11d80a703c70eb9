import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ApiServer } from '../../../src/api';
import { RuntimeWithHistory } from '../../../src/runtime/with-history';
import { sampleRuntime, type FakeRuntime } from './fake-runtime';

const CHROMIUM = process.env.VADC_CHROMIUM ?? '/usr/bin/chromium';
const TOKEN = 'dashboard-test-token-0123456789';

describe('dashboard in headless Chromium against a fake runtime (with the daemon-side history)', () => {
  let rt: FakeRuntime;
  let history: RuntimeWithHistory;
  let server: ApiServer;
  let browser: BrowserContext;
  let profileDir: string;
  let shotDir: string;
  let baseUrl: string;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium) or set VADC_CHROMIUM; this test must not pass without a browser`);
    }
    rt = await sampleRuntime();
    history = new RuntimeWithHistory(rt, { intervalMs: 250 }).start();
    server = await ApiServer.start({ runtime: history, listen: [{ endpoint: 'tcp:127.0.0.1:0', token: TOKEN }], statusIntervalMs: 250 });
    baseUrl = `http://${server.endpoints[0].replace(/^tcp:/, '')}`;
    profileDir = mkdtempSync(path.join(os.tmpdir(), 'vadc-dash-profile-'));
    shotDir = mkdtempSync(path.join(os.tmpdir(), 'vadc-dash-shots-'));
    // A fresh, empty profile per run; playwright passes it as --user-data-dir.
    browser = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
  }, 60000);

  afterAll(async () => {
    await browser?.close();
    history?.stop();
    await server?.close();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  });

  it('plots rates on a wall-clock time axis, shows a backend going down with its last check', async () => {
    await page.goto(`${baseUrl}/?token=${TOKEN}`);
    const vm2Health = page.locator('[data-backend="web/v-vm2"] [data-health]');
    await vm2Health.waitFor();
    expect(await vm2Health.getAttribute('data-health')).toBe('up');
    expect(await page.locator('[data-service="web"] h2').textContent()).toBe('web');
    expect(await page.locator('[data-backend="web/v-vm1"]').textContent()).toContain('10.0.0.11:8080');
    expect(await page.locator('#nat').textContent()).toBe('NAT conntrack · ctZone 2780 · accounting conntrack · listing 12.5 ms every 2.5 s');
    await page.locator('#live.pill-up').waitFor();

    // Traffic over time: 20 new connections and 40 kB per 250 ms sample on v-vm1.
    for (let i = 1; i <= 8; i++) {
      rt.patchBackend('web', 'v-vm1', { totalConns: 10 + 20 * i, bytes: 96000 + 40000 * i, activeConns: 3 + i });
      await new Promise((r) => setTimeout(r, 250));
    }
    // The table shows the rate over the last 10 s.
    const rate = page.locator('[data-backend="web/v-vm1"] [data-field="rate"]');
    const perSecond = Number(await rate.getAttribute('data-value'));
    // 160 new connections within the last 10 s window: 16/s and more (timer jitter on a loaded host widens the band).
    expect(perSecond).toBeGreaterThan(10);
    expect(perSecond).toBeLessThan(400);
    // The time axis is wall-clock time (HH:MM:SS) within the last minute, shared by every chart.
    const ticks = await page.locator('[data-chart="web/conns"] .x-axis text').evaluateAll((ns) => ns.map((n) => [n.textContent, Number(n.getAttribute('data-time'))]));
    expect(ticks.length).toBeGreaterThan(0);
    for (const [text, t] of ticks as Array<[string, number]>) {
      expect(text).toMatch(/^\d\d:\d\d:\d\d$/);
      expect(Math.abs(Date.now() - t)).toBeLessThan(120_000);
    }
    const axes = await page.locator('svg.chart').evaluateAll((svgs) => svgs.map((s) => [...s.querySelectorAll('.x-axis text')].map((t) => t.getAttribute('data-time')).join()));
    expect(new Set(axes).size).toBe(1);
    expect(await page.locator('[data-chart="web/conns"] polyline[data-series="v-vm1"]').count()).toBe(1);

    rt.patchBackend('web', 'v-vm2', { lastCheck: { at: Date.now(), ok: false, port: 8080, reason: 'tcp connect to 10.0.0.12:8080 refused', durationMs: 1 } });
    rt.setHealth('web', 'v-vm2', 'down', 'tcp connect to 10.0.0.12:8080 refused');
    await page.locator('[data-backend="web/v-vm2"] [data-health="down"]').waitFor();
    expect(await page.locator('[data-backend="web/v-vm2"] [data-field="check"]').textContent()).toContain('✗ tcp connect to 10.0.0.12:8080 refused');
    expect(await page.locator('[data-backend="web/v-vm2"] [data-field="down"]').textContent()).toMatch(/^1×/);
    await page.locator('#events li[data-kind="backend_down"]').waitFor();
    expect(pageErrors).toEqual([]);
  }, 60000);

  it('drains, re-enables and re-weights a backend from the page, through the API with the cookie', async () => {
    await page.locator('[data-backend="web/v-vm1"] button[data-action="drain"]').click();
    await page.locator('[data-backend="web/v-vm1"] [data-health="draining"]').waitFor();
    expect(rt.service('web').backends.find((b) => b.id === 'v-vm1')?.weight).toBe(0);
    expect(await page.locator('#notice').textContent()).toBe('drain v-vm1: weight 0, draining');
    const shot = path.join(shotDir, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`dashboard screenshot: ${shot}`);

    await page.locator('[data-backend="web/v-vm1"] button[data-action="enable"]').click();
    await page.locator('[data-backend="web/v-vm1"] [data-health="up"]').waitFor();
    await page.locator('[data-backend="web/v-vm1"] input[data-input="weight"]').fill('7');
    await page.locator('[data-backend="web/v-vm1"] button[data-action="weight"]').click();
    await page.locator('[data-backend="web/v-vm1"] [data-field="weight"]', { hasText: /^7$/ }).waitFor();
    expect(rt.service('web').backends.find((b) => b.id === 'v-vm1')?.weight).toBe(7);
    expect(pageErrors).toEqual([]);
  }, 60000);

  it('a reload shows the history the daemon kept, and the page without the cookie cannot act', async () => {
    await page.reload();
    await page.locator('[data-chart="web/conns"] polyline[data-series="v-vm1"]').waitFor();
    const points = (await page.locator('[data-chart="web/active"] polyline[data-series="v-vm1"]').getAttribute('points'))!.split(' ');
    // Samples from before the reload: far more than the one status message since.
    expect(points.length).toBeGreaterThan(8);

    const stranger = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      const other = await stranger.newPage();
      const response = await other.goto(`${baseUrl}/`);
      expect(response?.status()).toBe(401);
      const post = await other.evaluate(async () => (await fetch('/v1/services/web/backends/v-vm1/drain', { method: 'POST' })).status);
      expect(post).toBe(401);
    } finally {
      await stranger.close();
    }
    expect(rt.service('web').backends.find((b) => b.id === 'v-vm1')?.weight).toBe(7);
  }, 60000);

  it('writes an IPv6 service and backend with the port after brackets (RFC 5952 section 6), an IPv4 one without', async () => {
    await rt.addService({ name: 'web6', vip: 'fd00::100', port: 80, backends: [{ vnic: 'v-vm1', ip: 'fd00::11', ports: [8080, 8081] }] });
    try {
      const meta = page.locator('[data-service="web6"] .svc-meta', { hasText: 'fd00::100' });
      await meta.waitFor();
      expect(await meta.textContent()).toContain('[fd00::100]:80/tcp');
      expect(await page.locator('[data-backend="web6/v-vm1"]').textContent()).toContain('[fd00::11]:8080,8081');
      expect(await page.locator('[data-service="web"] .svc-meta').textContent()).toContain('10.0.0.100:80/tcp');
      expect(pageErrors).toEqual([]);
    } finally {
      await rt.removeService('web6');
    }
  }, 60000);
});
