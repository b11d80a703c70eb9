/**
 * The dashboard's plotting, hand-written and self-contained: pure functions that turn columns of samples into
 * rates and an SVG line chart with a time axis and a value axis. They run in Node (unit tests) and, copied into
 * the page with Function.prototype.toString (page.ts), in the browser: so each function here uses only its
 * arguments, the other functions listed in PLOT_FUNCTIONS, and standard built-ins (no imports, no closures).
 */

import { formatEndpoint } from '../net/endpoint';

export type Column = Array<number | null>;

/** Per-second rates of a counter column: null at the first sample, after a gap, or when the counter went down (restart). */
export function counterRates(times: number[], values: Column): Column {
  const out: Column = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const p = i > 0 ? values[i - 1] : null;
    const dt = i > 0 ? (times[i] - times[i - 1]) / 1000 : 0;
    out.push(v === null || p === null || dt <= 0 || v < p ? null : (v - p) / dt);
  }
  return out;
}

/**
 * A counter's per-second rate over (about) the last `spanMs`: from the newest sample back to the first one at
 * least `spanMs` older (or the oldest there is). Null with fewer than two samples or across a counter reset.
 */
export function recentRate(times: number[], values: Column, spanMs: number): number | null {
  let last = values.length - 1;
  while (last >= 0 && values[last] === null) last--;
  if (last < 1) return null;
  let first = last - 1;
  while (first > 0 && times[last] - times[first] < spanMs && values[first - 1] !== null) first--;
  const v1 = values[last] as number;
  const v0 = values[first];
  const dt = (times[last] - times[first]) / 1000;
  return v0 === null || dt <= 0 || v1 < v0 ? null : (v1 - v0) / dt;
}

/** About `count` round tick values covering [0, max] (1, 2, 2.5 or 5 times a power of ten). */
export function niceTicks(max: number, count: number): number[] {
  const top = max > 0 && Number.isFinite(max) ? max : 1;
  const raw = top / Math.max(1, count);
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let v = 0; v <= top + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1] < top) ticks.push(Number((ticks[ticks.length - 1] + step).toPrecision(12)));
  return ticks;
}

/** Round time ticks (ms since epoch) within [t0, t1]: every 10 s, 30 s, 1, 2, 5 or 15 minutes. */
export function timeTicks(t0: number, t1: number, count: number): number[] {
  const span = Math.max(1, t1 - t0);
  const steps = [10e3, 30e3, 60e3, 120e3, 300e3, 900e3, 1800e3, 3600e3];
  const step = steps.find((s) => span / s <= count) ?? steps[steps.length - 1];
  const ticks: number[] = [];
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) ticks.push(t);
  return ticks;
}

/** 1234 -> "1.2k", 0.25 -> "0.25": short figures for axes and tables. */
export function formatNumber(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${(value / 1e9).toFixed(abs >= 1e10 ? 0 : 1)}G`;
  if (abs >= 1e6) return `${(value / 1e6).toFixed(abs >= 1e7 ? 0 : 1)}M`;
  if (abs >= 1e3) return `${(value / 1e3).toFixed(abs >= 1e4 ? 0 : 1)}k`;
  if (abs === 0 || abs >= 10) return String(Math.round(value));
  return String(Number(value.toPrecision(2)));
}

/** Bytes with binary units: 1536 -> "1.5 KiB". */
export function formatBytes(value: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = value;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? Math.round(v) : v.toFixed(Math.abs(v) >= 10 ? 0 : 1)} ${units[i]}`;
}

/** 75000 -> "1m15s": durations for "since" and downtime. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, '0')}h`;
}

/** Wall-clock time of day, HH:MM:SS (24 h, local time). */
export function formatClock(t: number): string {
  const d = new Date(t);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export interface ChartSeries {
  name: string;
  color: string;
  values: Column;
}

export interface ChartSpec {
  /** Identifies the chart for tests and styling (data-chart). */
  id: string;
  times: number[];
  /** The shared time domain [t0, t1] of every chart on the page. */
  domain: [number, number];
  series: ChartSeries[];
  /** 'bytes' formats the value axis in bytes; anything else as plain figures. */
  unit: 'bytes' | 'number';
  /** Width in SVG units (default 560; the height is 170); the chart scales with its box, keeping its aspect. */
  width?: number;
}

/** One SVG line chart: value axis with round ticks from 0, time axis with wall-clock ticks, one polyline per series (broken at gaps). */
export function chartSvg(spec: ChartSpec): string {
  const W = spec.width ?? 560, H = 170, L = 48, R = 10, T = 10, B = 24;
  const [t0, t1] = spec.domain;
  const span = Math.max(1, t1 - t0);
  let max = 0;
  for (const s of spec.series) for (const v of s.values) if (v !== null && Number.isFinite(v) && v > max) max = v;
  const ticks = niceTicks(max, 4);
  const top = ticks[ticks.length - 1];
  const x = (t: number) => L + ((t - t0) / span) * (W - L - R);
  const y = (v: number) => T + (1 - v / top) * (H - T - B);
  const label = (v: number) => (spec.unit === 'bytes' ? formatBytes(v) : formatNumber(v));
  const parts: string[] = [];
  parts.push(`<svg class="chart" data-chart="${escapeXml(spec.id)}" viewBox="0 0 ${W} ${H}" role="img">`);
  parts.push('<g class="y-axis">');
  for (const v of ticks) {
    const yy = y(v).toFixed(1);
    parts.push(`<line class="grid" x1="${L}" x2="${W - R}" y1="${yy}" y2="${yy}"/><text class="tick" x="${L - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle" data-value="${v}">${escapeXml(label(v))}</text>`);
  }
  parts.push('</g><g class="x-axis">');
  parts.push(`<line class="axis" x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}"/>`);
  for (const t of timeTicks(t0, t1, Math.max(3, Math.round(W / 90)))) {
    const xx = x(t).toFixed(1);
    parts.push(`<line class="grid" x1="${xx}" x2="${xx}" y1="${T}" y2="${H - B}"/><text class="tick" x="${xx}" y="${H - B + 15}" text-anchor="middle" data-time="${t}">${formatClock(t)}</text>`);
  }
  parts.push('</g><g class="lines">');
  for (const s of spec.series) {
    let run: string[] = [];
    const flush = () => {
      if (run.length === 1) parts.push(`<circle cx="${run[0].split(',')[0]}" cy="${run[0].split(',')[1]}" r="1.8" fill="${s.color}" data-series="${escapeXml(s.name)}"/>`);
      if (run.length > 1) parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.6" points="${run.join(' ')}" data-series="${escapeXml(s.name)}"/>`);
      run = [];
    };
    for (let i = 0; i < spec.times.length; i++) {
      const v = s.values[i];
      const t = spec.times[i];
      if (v === null || v === undefined || !Number.isFinite(v) || t < t0 || t > t1) flush();
      else run.push(`${x(t).toFixed(1)},${y(v).toFixed(1)}`);
    }
    flush();
  }
  parts.push('</g></svg>');
  return parts.join('');
}

/** What page.ts copies into the browser, in an order where each is defined before use at run time. */
export const PLOT_FUNCTIONS = [formatEndpoint, counterRates, recentRate, niceTicks, timeTicks, formatNumber, formatBytes, formatDuration, formatClock, escapeXml, chartSvg];
