import { chartSvg, counterRates, formatBytes, formatClock, formatDuration, formatNumber, niceTicks, recentRate, timeTicks } from '../../../src/dashboard/plot';
import { CLIENT_SCRIPT } from '../../../src/dashboard/client';
import { renderDashboard } from '../../../src/dashboard/page';

describe('dashboard plotting (pure; the same functions run in the page)', () => {
  it('turns counters into per-second rates, with gaps and resets as no value', () => {
    const times = [0, 1000, 2000, 4000, 5000, 6000];
    expect(counterRates(times, [0, 10, 30, 70, null, 75])).toEqual([null, 10, 20, 20, null, null]);
    expect(counterRates(times, [100, 50, 60, 60, 61, 62])).toEqual([null, null, 10, 0, 1, 1]);
    // Over the last 10 s: back to the first sample that old (or the oldest contiguous one).
    expect(recentRate([0, 5000, 10000, 15000], [0, 50, 100, 200], 10000)).toBe(15);
    expect(recentRate([0, 5000, 10000, 15000], [null, 50, 100, 200], 30000)).toBe(15);
    expect(recentRate([0], [3], 10000)).toBeNull();
    expect(recentRate([0, 1000], [10, 5], 10000)).toBeNull();
  });

  it('picks round ticks from zero for the value axis and round wall-clock ticks for the time axis', () => {
    expect(niceTicks(87, 4)).toEqual([0, 25, 50, 75, 100]);
    expect(niceTicks(0, 4)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(niceTicks(3, 4)).toEqual([0, 1, 2, 3]);
    const t0 = Date.UTC(2026, 0, 1, 12, 0, 7);
    expect(timeTicks(t0, t0 + 15 * 60_000, 6)).toEqual([5, 10, 15].map((minute) => Date.UTC(2026, 0, 1, 12, minute, 0)));
    expect(timeTicks(t0, t0 + 60_000, 6).map((t) => new Date(t).getUTCSeconds() % 10)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('formats figures, bytes, durations and clock times', () => {
    expect([formatNumber(0), formatNumber(0.25), formatNumber(7.5), formatNumber(42), formatNumber(1234), formatNumber(25000)]).toEqual(['0', '0.25', '7.5', '42', '1.2k', '25k']);
    expect([formatBytes(512), formatBytes(1536), formatBytes(40 * 1024 * 1024)]).toEqual(['512 B', '1.5 KiB', '40 MiB']);
    expect([formatDuration(5000), formatDuration(75_000), formatDuration(3 * 3600_000 + 60_000)]).toEqual(['5s', '1m15s', '3h01m']);
    expect(formatClock(new Date(2026, 0, 1, 9, 5, 3).getTime())).toBe('09:05:03');
  });

  it('draws an SVG chart: value ticks, time ticks in the domain, one polyline per series broken at gaps, names escaped', () => {
    const t = 1_800_000_000_000;
    const svg = chartSvg({
      id: 'web/conns', times: [t, t + 2000, t + 4000, t + 6000], domain: [t, t + 60_000], unit: 'number',
      series: [{ name: 'a<b', color: '#000', values: [1, 2, null, 4] }, { name: 'c', color: '#111', values: [0, 80, 40, 10] }],
    });
    expect(svg).toContain('data-chart="web/conns"');
    expect([...svg.matchAll(/data-value="([\d.]+)"/g)].map((m) => Number(m[1]))).toEqual([0, 20, 40, 60, 80]);
    const times = [...svg.matchAll(/data-time="(\d+)"/g)].map((m) => Number(m[1]));
    expect(times.length).toBeGreaterThan(2);
    expect(times.every((x) => x >= t && x <= t + 60_000 && x % 10_000 === 0)).toBe(true);
    expect(svg.match(/<polyline[^>]*data-series="a&lt;b"/g)).toHaveLength(1); // [1,2] drawn, the lone 4 as a dot
    expect(svg.match(/<circle[^>]*data-series="a&lt;b"/g)).toHaveLength(1);
    expect(svg).not.toContain('a<b');
  });
});

describe('dashboard endpoints', () => {
  // The page's copy of the shared functions, evaluated as the browser would (page.ts inlines them as source).
  const script = /<script>([\s\S]*?)<\/script>/.exec(renderDashboard())?.[1] ?? '';
  const pageFormatEndpoint = new Function(`${script.slice(0, script.indexOf('const COLORS'))}; return formatEndpoint;`)() as (a: string, p: number | string) => string;

  it('writes an IPv6 address with its ports after brackets, as the CLI does (RFC 5952 section 6)', () => {
    expect(pageFormatEndpoint('fd00::100', 80)).toBe('[fd00::100]:80');
    expect(pageFormatEndpoint('fd00::11', '8080,8081')).toBe('[fd00::11]:8080,8081');
    expect(pageFormatEndpoint('10.0.0.100', 80)).toBe('10.0.0.100:80');
    // Every address and port in the client goes through it: no address glued to a port with a bare colon.
    expect(CLIENT_SCRIPT).not.toMatch(/\+ ':' \+/);
    // A dual-stack service's IPv6 VIP and its backends' IPv6 addresses too.
    expect(CLIENT_SCRIPT).toContain("formatEndpoint(s.vip, s.port) + (s.vip6 ? ' ' + formatEndpoint(s.vip6, s.port) : '') + '/' + s.protocol");
    expect(CLIENT_SCRIPT).toContain("formatEndpoint(b.ip, b.ports.join(',')) + (b.ip6 ? ' ' + formatEndpoint(b.ip6, b.ports.join(',')) : '')");
  });
});
