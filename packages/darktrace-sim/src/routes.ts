/**
 * The data endpoints, as pure functions of (query, clock) -> {status, JSON text}. Parameter semantics
 * follow reference §2: epoch-ms windows, inclusive on both ends; the time field each endpoint
 * filters on; defaults when a bound is missing.
 */
import type { Json } from './fixtures.js';
import { DAY_MS } from './hourly-store.js';
import { rngFor, shuffle } from './prng.js';
import { createAiSource } from './ai-events.js';
import { createAntigenaSource, renderAntigena } from './antigena.js';
import { renderBreachesJson, renderBreachText } from './breach-text.js';
import { createBreachSource } from './breaches.js';
import { createDeviceSource, parseSeenSince } from './devices.js';
import { eventTypeSnapshot, statusSnapshot, summaryStatisticsSnapshot } from './snapshots.js';
import type { SimOrder } from './types.js';

interface RouteResult {
  status: number;
  /** The body's JSON: text, or UTF-8 bytes for breach arrays (written from cached pieces, breach-text.ts). */
  json: string | Buffer;
}

export interface Sources {
  breaches: ReturnType<typeof createBreachSource>;
  ai: ReturnType<typeof createAiSource>;
  antigena: ReturnType<typeof createAntigenaSource>;
  devices: ReturnType<typeof createDeviceSource>;
  seed: number;
  /** Answer /status as a Unified View master (an `instances` object). */
  unifiedView: boolean;
}

type Query = Record<string, string>;

function inputError(endpoint: string): RouteResult {
  return json(400, { [endpoint]: 'INPUT ERROR' });
}

/**
 * A boolean parameter: lowercase as the guide writes it, or Python's `True`/`False` as the SDK
 * sent them (reference §8: accept both). Anything else is the default.
 */
function flag(q: Query, name: string, fallback: boolean): boolean {
  const v = q[name]?.toLowerCase();
  return v === 'true' ? true : v === 'false' ? false : fallback;
}

/** A numeric filter parameter: undefined when absent, NaN when malformed (INPUT ERROR). */
function num(q: Query, name: string): number | undefined {
  const v = q[name];
  return v === undefined ? undefined : v.trim() === '' ? NaN : Number(v);
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
      const field = flag(q, 'creationtime', false) ? 'creationTime' : 'time';
      // minscore: the breach score, 0-1 (reference §2), inclusive.
      const minScore = num(q, 'minscore');
      if (minScore !== undefined && !(minScore >= 0 && minScore <= 1)) return inputError('modelbreaches');
      let rows = s.breaches.query(field, from, to, nowMs);
      if (minScore !== undefined) rows = rows.filter((r) => r.score >= minScore);
      const historicModelOnly = flag(q, 'historicmodelonly', false);
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
      // Event score (aiaScore) and incident score (groupScore) bounds, 0-100, inclusive (reference §2).
      const scores = { minScore: num(q, 'minscore'), maxScore: num(q, 'maxscore'), minGroupScore: num(q, 'mingroupscore'), maxGroupScore: num(q, 'maxgroupscore') };
      if (Object.values(scores).some((v) => v !== undefined && !(v >= 0 && v <= 100))) return inputError('aianalyst');
      const rows = s.ai.query(
        { fromMs: from, toMs: to, includeAllPinned: flag(q, 'includeallpinned', true), onlyPinned: flag(q, 'includeonlypinned', false), ...scores },
        nowMs,
      );
      return json(200, order(rows, (r) => r.createdAt, how, s.seed, requestNo).map((r) => s.ai.render(r)));
    }
    case '/antigena': {
      const includeCleared = flag(q, 'includecleared', false);
      const windowed = q['starttime'] !== undefined || q['endtime'] !== undefined || q['from'] !== undefined || q['to'] !== undefined;
      const { from, to } = bounds(q, { start: (end) => end - 7 * DAY_MS, end: nowMs });
      if (Number.isNaN(from) || Number.isNaN(to)) return inputError('antigena');
      const rows = windowed ? s.antigena.query({ fromMs: from, toMs: to, includeCleared }, nowMs) : s.antigena.current(includeCleared, nowMs);
      const includeHistory = flag(q, 'includehistory', false);
      return json(200, order(rows, (r) => r.start, how, s.seed, requestNo).map((r) => renderAntigena(r, nowMs, includeHistory)));
    }
    case '/summarystatistics': {
      // Only one of eventtype / csensor / mitreTactics; hours, endtime and to need eventtype, and
      // `hours` is rejected even then on 7.0.42 (reference §2, §8, [R]).
      const modes = ['eventtype', 'csensor', 'mitreTactics'].filter((k) => q[k] !== undefined);
      if (modes.length > 1 || q['hours'] !== undefined) return inputError('summarystatistics');
      if (q['eventtype'] === undefined && (q['endtime'] !== undefined || q['to'] !== undefined)) return inputError('summarystatistics');
      if (q['eventtype'] !== undefined) {
        const end = q['endtime'] !== undefined ? Number(q['endtime']) : q['to'] !== undefined ? parseFromTo(q['to']) : nowMs;
        if (!Number.isFinite(end) || !EVENT_TYPES.test(q['eventtype'])) return inputError('summarystatistics');
        return json(200, pickResponseData(eventTypeSnapshot(Math.min(end, nowMs), q['eventtype'], s.seed), q));
      }
      return json(200, pickResponseData(summaryStatisticsSnapshot(nowMs, { mitreTactics: flag(q, 'mitreTactics', false) }), q));
    }
    case '/status':
      return json(200, pickResponseData(statusSnapshot(nowMs, s.seed, { includeChildren: flag(q, 'includechildren', true), unifiedView: s.unifiedView }), q));
    case '/devices':
      return devicesRoute(q, nowMs, s);
    default:
      return null;
  }
}

/** saas/csensor/network/loginput, each optionally followed by notices/devicedetails/modelevents. */
const EVENT_TYPES = /^(saas|csensor|network|loginput)(notices|devicedetails|modelevents)?$/;

/**
 * /devices (reference §2, §8): the devices seen within `seensince` (default 7 days) of now; `did`
 * answers one object; `ip`, `mac`, `sid` narrow; `count` keeps the first n (by did); `includetags`
 * adds tags; `responsedata` keeps the named fields of each device.
 */
function devicesRoute(q: Query, nowMs: number, s: Sources): RouteResult {
  const includeTags = flag(q, 'includetags', false);
  const within = q['seensince'] !== undefined ? parseSeenSince(q['seensince']) : 7 * DAY_MS;
  const count = num(q, 'count');
  if (within === null || (count !== undefined && !(Number.isInteger(count) && count >= 1))) return inputError('devices');
  if (q['did'] !== undefined) {
    const one = s.devices.byDid(Number(q['did']), nowMs, includeTags);
    return one ? json(200, pickFields(one, q['responsedata'])) : json(404, { error: 'Not found' });
  }
  let rows = s.devices.all(nowMs, includeTags).filter((d) => (d['lastSeen'] as number) >= nowMs - within);
  if (q['ip'] !== undefined) rows = rows.filter((d) => d['ip'] === q['ip']);
  if (q['mac'] !== undefined) rows = rows.filter((d) => String(d['macaddress']).toLowerCase() === q['mac']!.toLowerCase());
  if (q['sid'] !== undefined) rows = rows.filter((d) => d['sid'] === Number(q['sid']));
  if (count !== undefined) rows = rows.slice(0, count);
  return json(200, rows.map((d) => pickFields(d, q['responsedata'])));
}

/** `responsedata=a,b` on a list: each object keeps those fields. */
function pickFields(d: Json, fields: string | undefined): Json {
  if (fields === undefined) return d;
  const keep = fields.split(',').map((f) => f.trim());
  return Object.fromEntries(Object.entries(d).filter(([k]) => keep.includes(k)));
}

/** `responsedata=<field>` keeps one top-level field. */
function pickResponseData(body: Json, q: Query): Json {
  const field = q['responsedata'];
  return field !== undefined && field in body ? { [field]: body[field] } : body;
}
