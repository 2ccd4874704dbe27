/**
 * The data endpoints, as pure functions of (query, clock) -> {status, JSON text}. Parameter semantics
 * follow reference §2: epoch-ms windows, inclusive on both ends; the time field each endpoint
 * filters on; defaults when a bound is missing.
 */
import type { Json } from './fixtures.js';
import { HOUR_MS } from './hourly-store.js';
import { rngFor, shuffle } from './prng.js';
import { createAiSource } from './ai-events.js';
import { createAntigenaSource, renderAntigena } from './antigena.js';
import { renderBreachesJson, renderBreachText } from './breach-text.js';
import { createBreachSource } from './breaches.js';
import { statusSnapshot, summaryStatisticsSnapshot } from './snapshots.js';
import type { SimOrder } from './types.js';

export interface RouteResult {
  status: number;
  /** The body's JSON: text, or UTF-8 bytes for breach arrays (written from cached pieces, breach-text.ts). */
  json: string | Buffer;
}

export interface Sources {
  breaches: ReturnType<typeof createBreachSource>;
  ai: ReturnType<typeof createAiSource>;
  antigena: ReturnType<typeof createAntigenaSource>;
  seed: number;
}

type Query = Record<string, string>;
const DAY_MS = 24 * HOUR_MS;

function inputError(endpoint: string): RouteResult {
  return json(400, { [endpoint]: 'INPUT ERROR' });
}

function json(status: number, body: unknown): RouteResult {
  return { status, json: JSON.stringify(body) };
}


/** `YYYY-MM-DD HH:MM:SS` (from/to), UTC. */
function parseFromTo(v: string): number {
  return Date.parse(`${v.replace(' ', 'T')}Z`);
}

/** Resolves starttime/endtime (ms) or from/to; NaN marks a malformed value. */
function bounds(q: Query, defaults: { start: (end: number) => number; end: number }): { from: number; to: number } {
  const start = q['starttime'] !== undefined ? Number(q['starttime']) : q['from'] !== undefined ? parseFromTo(q['from']) : undefined;
  const end = q['endtime'] !== undefined ? Number(q['endtime']) : q['to'] !== undefined ? parseFromTo(q['to']) : undefined;
  const to = end ?? defaults.end;
  return { from: start ?? defaults.start(to), to };
}

function order<T>(rows: T[], key: (r: T) => number, how: SimOrder, seed: number, salt: number): T[] {
  if (how === 'shuffled') return shuffle(rngFor(seed, 'order', salt), rows);
  const sign = how === 'newest-first' ? -1 : 1;
  return rows.sort((a, b) => sign * (key(a) - key(b)));
}

export function route(path: string, q: Query, nowMs: number, s: Sources, how: SimOrder, requestNo: number): RouteResult | null {
  switch (path) {
    case '/modelbreaches': {
      const { from, to } = bounds(q, { start: (end) => end - 365 * DAY_MS, end: nowMs });
      if (Number.isNaN(from) || Number.isNaN(to)) return inputError('modelbreaches');
      const field = q['creationtime'] === 'true' ? 'creationTime' : 'time';
      let rows = s.breaches.query(field, from, to, nowMs);
      if (q['minscore'] !== undefined) rows = rows.filter((r) => r.score >= Number(q['minscore']));
      const historicModelOnly = q['historicmodelonly'] === 'true';
      if (q['pbid'] !== undefined) {
        // With pbid the answer is a single object, not an array (reference §2).
        const one = s.breaches.byPbid(Number(q['pbid']), nowMs);
        return one ? { status: 200, json: renderBreachText(one, { historicModelOnly }) } : json(404, { error: 'Not found' });
      }
      return { status: 200, json: renderBreachesJson(order(rows, (r) => r.time, how, s.seed, requestNo), { historicModelOnly }) };
    }
    case '/aianalyst/incidentevents': {
      // Only endtime: start = end - 1 week; only starttime: end = now; neither: last 7 days.
      const { from, to } = bounds(q, { start: (end) => end - 7 * DAY_MS, end: nowMs });
      if (Number.isNaN(from) || Number.isNaN(to)) return inputError('aianalyst');
      const rows = s.ai.query(
        { fromMs: from, toMs: to, includeAllPinned: q['includeallpinned'] !== 'false', onlyPinned: q['includeonlypinned'] === 'true' },
        nowMs,
      );
      return json(200, order(rows, (r) => r.createdAt, how, s.seed, requestNo).map((r) => s.ai.render(r)));
    }
    case '/antigena': {
      const includeCleared = q['includecleared'] === 'true';
      const windowed = q['starttime'] !== undefined || q['endtime'] !== undefined || q['from'] !== undefined || q['to'] !== undefined;
      const { from, to } = bounds(q, { start: (end) => end - 7 * DAY_MS, end: nowMs });
      if (Number.isNaN(from) || Number.isNaN(to)) return inputError('antigena');
      const rows = windowed ? s.antigena.query({ fromMs: from, toMs: to, includeCleared }, nowMs) : s.antigena.current(includeCleared, nowMs);
      const includeHistory = q['includehistory'] === 'true';
      return json(200, order(rows, (r) => r.start, how, s.seed, requestNo).map((r) => renderAntigena(r, nowMs, includeHistory)));
    }
    case '/summarystatistics':
      // `hours` is rejected on 7.0.42 (reference §2, [R]).
      if (q['hours'] !== undefined) return inputError('summarystatistics');
      return json(200, pickResponseData(summaryStatisticsSnapshot(nowMs), q));
    case '/status':
      return json(200, pickResponseData(statusSnapshot(nowMs, s.seed), q));
    default:
      return null;
  }
}

/** `responsedata=<field>` keeps one top-level field. */
function pickResponseData(body: Json, q: Query): Json {
  const field = q['responsedata'];
  return field !== undefined && field in body ? { [field]: body[field] } : body;
}
