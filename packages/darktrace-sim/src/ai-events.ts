/**
 * /aianalyst/incidentevents data. The window filters on `createdAt`; activity (`periods`) can
 * precede it by days (reference §3.2). Pinned events come back on every poll unless
 * `includeallpinned=false`, and a small share of events sees its `groupScore` grow on each poll
 * (reference §4.5), so collectors meet both re-delivery and mutation.
 */
import { aiEventTemplates, type Json } from './fixtures.js';
import { createHourlyStore, HOUR_MS, type SourceConfig } from './hourly-store.js';
import { countForHour, randInt, rngFor, uuidFrom, type Rng } from './prng.js';

interface AiRow {
  id: string;
  createdAt: number;
  lagMs: number;
  groupScore: number;
  template: number;
  group: string;
  pinned: boolean;
  /** Grows with each poll that returns the event (the "score may increase" behaviour). */
  growing: boolean;
  overrides?: Json;
}

interface AiQuery {
  fromMs: number;
  toMs: number;
  includeAllPinned: boolean;
  onlyPinned: boolean;
  /** aiaScore bounds (minscore/maxscore), 0-100, inclusive. */
  minScore?: number | undefined;
  maxScore?: number | undefined;
  /** groupScore bounds (mingroupscore/maxgroupscore), 0-100, inclusive. */
  minGroupScore?: number | undefined;
  maxGroupScore?: number | undefined;
}

interface AiConfig extends SourceConfig {
  pinned: number;
}

const GROWING_SHARE = 0.1;

export function createAiSource(cfg: AiConfig) {
  const live: AiRow[] = [];
  const polls = new Map<string, number>();
  let liveCount = 0;

  const store = createHourlyStore<AiRow>(cfg.dataStartMs, (hour) => {
    const rng = rngFor(cfg.seed, 'aianalyst', hour);
    const n = countForHour(rng, cfg.perHour);
    return Array.from({ length: n }, () => makeRow(rng, hour * HOUR_MS + Math.floor(rng() * HOUR_MS), false)).filter(
      (r) => r.createdAt >= cfg.dataStartMs,
    );
  });

  // Pinned events sit at the very start of the data so that only the pinned rule can return them
  // for a recent window.
  const pinnedRng = rngFor(cfg.seed, 'aianalyst-pinned');
  const pinned = Array.from({ length: cfg.pinned }, (_, i) => makeRow(pinnedRng, cfg.dataStartMs + (i + 1) * 60_000, true));

  /** The event score: its own stream (not makeRow's), so adding it left every other field as it was. */
  function aiaScore(r: AiRow): number {
    return Math.round((20 + rngFor(cfg.seed, 'aianalyst-aia', r.id)() * 80) * 100) / 100;
  }

  /** groupScore as the next render shows it (without counting a poll). */
  function groupScoreNow(r: AiRow): number {
    const n = polls.get(r.id) ?? 0;
    return r.growing ? Math.min(100, r.groupScore + 5 * n) : r.groupScore;
  }

  /** An override (addAiEvent) wins, as in render. */
  const scoreOf = (r: AiRow, field: 'aiaScore' | 'groupScore', computed: number): number =>
    typeof r.overrides?.[field] === 'number' ? (r.overrides[field] as number) : computed;

  function query(q: AiQuery, nowMs: number): AiRow[] {
    const existing = (r: AiRow) => r.createdAt <= nowMs;
    const inWindow = (r: AiRow) => r.createdAt >= q.fromMs && r.createdAt <= q.toMs;
    const windowed = store.rowsBetween(q.fromMs, Math.min(q.toMs, nowMs)).concat(live, pinned).filter((r) => existing(r) && inWindow(r));
    const extraPinned = q.includeAllPinned ? pinned.filter((r) => existing(r) && !inWindow(r)) : [];
    const inRange = (v: number, min?: number, max?: number) => (min === undefined || v >= min) && (max === undefined || v <= max);
    // The score filters apply to pinned events too (they are filters, not the window).
    const rows = windowed.concat(extraPinned).filter(
      (r) =>
        inRange(scoreOf(r, 'aiaScore', aiaScore(r)), q.minScore, q.maxScore) &&
        inRange(scoreOf(r, 'groupScore', groupScoreNow(r)), q.minGroupScore, q.maxGroupScore),
    );
    return q.onlyPinned ? rows.filter((r) => r.pinned) : rows;
  }

  function all(uptoMs: number): AiRow[] {
    return query({ fromMs: cfg.dataStartMs, toMs: uptoMs, includeAllPinned: false, onlyPinned: false }, uptoMs);
  }

  function add(partial: Json | undefined, nowMs: number): AiRow {
    const rng = rngFor(cfg.seed, 'aianalyst-live', ++liveCount);
    const createdAt = typeof partial?.['createdAt'] === 'number' ? partial['createdAt'] : nowMs;
    const row = makeRow(rng, createdAt, partial?.['pinned'] === true);
    if (typeof partial?.['id'] === 'string') row.id = partial['id'];
    if (partial) row.overrides = partial;
    live.push(row);
    return row;
  }

  /** Renders and counts the poll, so growing scores rise on the next poll. */
  function render(r: AiRow): Json {
    const score = groupScoreNow(r);
    if (r.growing) polls.set(r.id, (polls.get(r.id) ?? 0) + 1);
    const t = aiEventTemplates()[r.template] as Json;
    return {
      ...t,
      aiaScore: aiaScore(r),
      id: r.id,
      createdAt: r.createdAt,
      pinned: r.pinned,
      acknowledged: false,
      currentGroup: r.group,
      groupScore: score,
      groupPreviousGroups: null,
      periods: [{ start: r.createdAt - r.lagMs, end: r.createdAt - Math.floor(r.lagMs / 2) }],
      children: [r.id],
      ...r.overrides,
    };
  }

  return { query, all, add, render, scores: (r: AiRow) => ({ aiaScore: scoreOf(r, 'aiaScore', aiaScore(r)), groupScore: scoreOf(r, 'groupScore', groupScoreNow(r)) }) };
}

function makeRow(rng: Rng, createdAt: number, pinned: boolean): AiRow {
  const id = uuidFrom(rng);
  return {
    id,
    createdAt,
    // Activity up to ~3 days before creation, as in the fixture's event 6a69e007 (≈64 h).
    lagMs: randInt(rng, 60_000, 72 * HOUR_MS),
    groupScore: Math.round(rng() * 8000) / 100,
    template: Math.floor(rng() * aiEventTemplates().length),
    group: `g${uuidFrom(rng)}`,
    pinned,
    growing: rng() < GROWING_SHARE,
  };
}
