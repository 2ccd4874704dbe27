/**
 * `minscore` / `mingroupscore` of a service (InitVariablesError 62-64, docs/errors.md): passed to
 * the appliance as query parameters in the ranges the API guide documents (reference §2, §8):
 * `/modelbreaches?minscore` is the breach score, 0-1 (XSOAR and Google SecOps divide their 0-100
 * setting by 100 before sending it); `/aianalyst/incidentevents?minscore` is the event score and
 * `mingroupscore` the incident (group) score, both 0-100. Any other service takes neither.
 */
import type { ScoreFilters, ServiceName } from './types.js';
import { fail, show, type Dict } from './checks.js';

export const SCORE_FILTER_KEYS = ['minscore', 'mingroupscore'] as const;
type ScoreKey = (typeof SCORE_FILTER_KEYS)[number];

/** The range of each key per service; a key missing here is not accepted by that service. */
const RANGES: Partial<Record<ServiceName, Partial<Record<ScoreKey, { max: number; code: number; what: string }>>>> = {
  modelbreaches: { minscore: { max: 1, code: 62, what: 'the model breach score' } },
  aianalyst_incidentevents: {
    minscore: { max: 100, code: 63, what: 'the AI Analyst event score' },
    mingroupscore: { max: 100, code: 63, what: 'the AI Analyst incident (group) score' },
  },
};

/**
 * A number, or a numeric string (a `${VAR}` reference resolves to text), in [0, max]. Written back
 * as a plain decimal so the query value stays within the unreserved characters (no exponent).
 */
function scoreValue(v: unknown, where: string, max: number, code: number, what: string): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v.trim()) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || n > max) {
    fail(code, `${where} must be a number from 0 to ${max} (${what}), got ${show(v)}`);
  }
  const decimals = String(n).includes('e') ? Infinity : (String(n).split('.')[1] ?? '').length;
  if (decimals > 6) fail(code, `${where} must have at most 6 decimal places, got ${show(v)}`);
  return n;
}

export function compileScoreFilters(name: ServiceName, s: Dict, where: string): ScoreFilters {
  const out: ScoreFilters = {};
  for (const key of SCORE_FILTER_KEYS) {
    const v = s[key];
    if (v === undefined || v === null) continue;
    const range = RANGES[name]?.[key];
    if (!range) {
      const takers = Object.entries(RANGES).filter(([, r]) => r[key]).map(([svc]) => svc).join(', ');
      fail(64, `${where}.${key} is not a filter of the ${name} service (only ${takers} take ${key})`);
    }
    out[key] = scoreValue(v, `${where}.${key}`, range.max, range.code, range.what);
  }
  return out;
}

/** `minscore=0.5&mingroupscore=40` in key order, '' for none: the persisted form (change detection, log lines). */
export function scoreFiltersText(f: ScoreFilters): string {
  return SCORE_FILTER_KEYS.filter((k) => f[k] !== undefined).map((k) => `${k}=${String(f[k])}`).join('&');
}
