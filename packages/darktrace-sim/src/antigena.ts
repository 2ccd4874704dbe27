/**
 * /antigena (RESPOND actions). The window filters on `start`. Field list from reference §3.3;
 * there is no public sample file. Manually cleared actions have cleared=true, active=false and are
 * only returned with includecleared=true (the default is false, per the guide).
 */
import type { Json } from './fixtures.js';
import { createNumberedSource, HOUR_MS, type SourceConfig } from './hourly-store.js';
import { pick, randInt, rngFor, type Rng } from './prng.js';

interface AntigenaRow {
  codeid: number;
  start: number;
  durationMs: number;
  manual: boolean;
  cleared: boolean;
  variant: number;
  overrides?: Json;
}

const CLEARED_SHARE = 0.1;
const MANUAL_SHARE = 0.15;
const ACTIONS = [
  { action: 'quarantine', label: 'Quarantine device' },
  { action: 'connection', label: 'Block connections' },
  { action: 'pol', label: 'Enforce pattern of life' },
  { action: 'gpol', label: 'Enforce group pattern of life' },
  { action: 'quarantineOutgoing', label: 'Block all outgoing traffic' },
  { action: 'quarantineIncoming', label: 'Block all incoming traffic' },
] as const;

export function createAntigenaSource(cfg: SourceConfig) {
  const source = createNumberedSource(cfg, 'antigena', makeRow);

  function query(q: { fromMs: number; toMs: number; includeCleared: boolean }, nowMs: number): AntigenaRow[] {
    return source
      .rowsBetween(q.fromMs, Math.min(q.toMs, nowMs))
      .filter((r) => r.start <= nowMs && r.start >= q.fromMs && r.start <= q.toMs && (q.includeCleared || !r.cleared));
  }

  /** No window: current actions plus those that expired in the last 14 days (reference §2). */
  function current(includeCleared: boolean, nowMs: number): AntigenaRow[] {
    return query({ fromMs: nowMs - 15 * 24 * HOUR_MS, toMs: nowMs, includeCleared }, nowMs).filter(
      (r) => r.start + r.durationMs >= nowMs - 14 * 24 * HOUR_MS,
    );
  }

  function add(partial: Json | undefined, nowMs: number): AntigenaRow {
    const start = typeof partial?.['start'] === 'number' ? partial['start'] : nowMs;
    return source.addLive(nowMs, (rng, codeid) => {
      const row = makeRow(rng, codeid, start);
      row.cleared = partial?.['cleared'] === true;
      if (partial) row.overrides = partial;
      return row;
    });
  }

  return { query, current, add };
}

function makeRow(rng: Rng, codeid: number, start: number): AntigenaRow {
  return {
    codeid,
    start,
    durationMs: randInt(rng, 1, 24) * HOUR_MS,
    manual: rng() < MANUAL_SHARE,
    cleared: rng() < CLEARED_SHARE,
    variant: Math.floor(rng() * 1_000_000),
  };
}

export function renderAntigena(r: AntigenaRow, nowMs: number, includeHistory: boolean): Json {
  const rng = rngFor('antigena-render', r.variant);
  const { action, label } = pick(rng, ACTIONS);
  const did = 100 + (r.variant % 24);
  const expires = r.start + r.durationMs;
  const updated = r.cleared ? r.start + Math.floor(r.durationMs / 3) : r.start;
  const out: Json = {
    codeid: r.codeid,
    did,
    ip: `10.0.${Math.floor((did - 100) / 8)}.${10 + did - 100}`,
    action,
    label,
    detail: action === 'connection' ? `Block connections to 203.0.113.${r.variant % 250} port 443` : '',
    manual: r.manual,
    triggerer: r.manual ? { username: 'analyst', reason: 'Manual action from the Threat Visualizer' } : null,
    score: r.manual ? 0 : Math.round(rng() * 1000) / 1000,
    pbid: r.manual ? 0 : r.codeid,
    model: r.manual ? '' : 'Antigena::Network::Significant Anomaly::Antigena Breaches Over Time Block',
    modeluuid: r.manual ? '' : '1a2b3c4d-0000-4000-8000-00000000a001',
    start: r.start,
    expires,
    updated: String(updated),
    blocked: true,
    agemail: false,
    aghost: false,
    // Expired actions keep active=true; only cleared ones turn inactive (reference §2 /antigena).
    active: !r.cleared,
    cleared: r.cleared,
    ...r.overrides,
  };
  if (includeHistory) {
    const history: Json[] = [{ action: 'created', time: r.start, username: r.manual ? 'analyst' : '', reason: '' }];
    if (r.cleared) history.push({ action: 'cleared', time: updated, username: 'analyst', reason: '' });
    if (expires < nowMs && !r.cleared) history.push({ action: 'expired', time: expires, username: '', reason: '' });
    out['history'] = history;
  }
  return out;
}
