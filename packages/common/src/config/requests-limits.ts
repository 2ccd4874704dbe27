/**
 * `requests_limits` (devo.md §3.4/§3.5): a list of `{period, number_of_requests}` at the input and
 * at each service; `period` is `^\d+[smhdwMy]$`, `number_of_requests` -1 (unlimited) or
 * 1..9999999. The 2022 format, a single mapping (with `behavior`), is read as a list of one.
 * Any other shape is InitVariablesError(58).
 */
import type { RequestsLimit } from './types.js';
import { fail, isDict, show } from './checks.js';

const UNIT_MS: Record<string, number> = {
  s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000, M: 30 * 86_400_000, y: 365 * 86_400_000,
};
const PERIOD = /^(\d+)([smhdwMy])$/;

export function parseRequestsLimits(v: unknown, at: string): RequestsLimit[] | null {
  if (v === undefined || v === null) return null;
  const list = isDict(v) ? [v] : v;
  if (!Array.isArray(list)) fail(58, `${at} must be a list of {period, number_of_requests}, got ${show(v)}`);
  return list.map((item, i) => {
    const where = isDict(v) ? at : `${at}[${i}]`;
    if (!isDict(item)) fail(58, `${where} must be a mapping {period, number_of_requests}, got ${show(item)}`);
    const m = typeof item.period === 'string' ? PERIOD.exec(item.period) : null;
    if (!m || Number(m[1]) < 1) {
      fail(58, `${where}.period must be a number and a unit s, m, h, d, w, M or y (e.g. "1m", "1d"), got ${show(item.period)}`);
    }
    const n = item.number_of_requests;
    if (!Number.isInteger(n) || ((n as number) !== -1 && ((n as number) < 1 || (n as number) > 9_999_999))) {
      fail(58, `${where}.number_of_requests must be -1 (unlimited) or an integer 1-9999999, got ${show(n)}`);
    }
    if (item.behavior !== undefined && typeof item.behavior !== 'string') fail(58, `${where}.behavior must be a string, got ${show(item.behavior)}`);
    return { period: item.period as string, periodMs: Number(m[1]) * UNIT_MS[m[2]!]!, numberOfRequests: n as number };
  });
}

/** `10 requests every 1m, unlimited every 1d` for log lines. */
export function describeRequestsLimits(limits: readonly RequestsLimit[]): string {
  return limits.map((l) => (l.numberOfRequests < 0 ? `unlimited every ${l.period}` : `${l.numberOfRequests} requests every ${l.period}`)).join(', ');
}
