/**
 * /modelbreaches data. `time` is the first activity, `creationTime` when the alert was created;
 * a share of breaches is created hours late (reference §4.2), which is exactly what a collector
 * with a cursor on `time` loses. A breach exists on the appliance only once created.
 */
import { breachTemplate, type Json } from './fixtures.js';
import { createHourlyStore, HOUR_MS, hourOf } from './hourly-store.js';
import { countForHour, randInt, rngFor, type Rng } from './prng.js';

export interface BreachRow {
  pbid: number;
  time: number;
  creationTime: number;
  score: number;
  variant: number;
  overrides?: Json;
}

/** pbid = (hour - first hour) * SLOTS + slot: increasing with time, no global counter needed. */
const SLOTS = 100_000;
/** Slots from here on are for records added live, so they never collide with generated ones. */
const LIVE_SLOT = 50_000;
export const MAX_LATE_MS = 6 * HOUR_MS + 60_000;

const MODEL_NAMES = [
  'Compromise::Watched Domain',
  'Anomalous Connection::Data Sent to Rare Domain',
  'Device::Suspicious Domain',
  'Compromise::Beaconing Activity To External Rare',
  'Anomalous File::Zip or Gzip from Rare External Location',
  'Compliance::Remote Management Tool On Server',
  'Unusual Activity::Enhanced Unusual External Data Transfer',
  'Anomalous Server Activity::Outgoing from Server',
];
const DEVICES = 24;

export interface BreachConfig {
  seed: number;
  dataStartMs: number;
  perHour: number;
  lateCreatedShare: number;
}

export function createBreachSource(cfg: BreachConfig) {
  const firstHour = hourOf(cfg.dataStartMs);
  const live: BreachRow[] = [];
  const liveSlots = new Map<number, number>();

  const store = createHourlyStore<BreachRow>(cfg.dataStartMs, (hour) => {
    const rng = rngFor(cfg.seed, 'modelbreaches', hour);
    const n = Math.min(countForHour(rng, cfg.perHour), LIVE_SLOT - 1);
    const times = Array.from({ length: n }, () => hour * HOUR_MS + Math.floor(rng() * HOUR_MS)).sort((a, b) => a - b);
    return times
      .map((time, i) => makeRow(rng, (hour - firstHour) * SLOTS + i + 1, time, cfg.lateCreatedShare))
      .filter((r) => r.time >= cfg.dataStartMs);
  });

  /** Every breach that exists at `nowMs` and has `field` within [fromMs, toMs]. */
  function query(field: 'time' | 'creationTime', fromMs: number, toMs: number, nowMs: number): BreachRow[] {
    const lag = field === 'creationTime' ? MAX_LATE_MS : 0;
    const rows = store.rowsBetween(fromMs - lag, Math.min(toMs, nowMs)).concat(live);
    return rows.filter((r) => r.creationTime <= nowMs && r[field] >= fromMs && r[field] <= toMs);
  }

  function add(partial: Json | undefined, nowMs: number): BreachRow {
    const hour = hourOf(nowMs);
    const slot = (liveSlots.get(hour) ?? LIVE_SLOT) + 1;
    liveSlots.set(hour, slot);
    const rng = rngFor(cfg.seed, 'modelbreaches-live', hour, slot);
    const creationTime = typeof partial?.['creationTime'] === 'number' ? partial['creationTime'] : nowMs;
    const time = typeof partial?.['time'] === 'number' ? partial['time'] : creationTime - 10_000;
    const row: BreachRow = { ...makeRow(rng, (hour - firstHour) * SLOTS + slot, time, 0), creationTime };
    // A given score is the one minscore filters on, as the one rendered.
    if (typeof partial?.['score'] === 'number') row.score = partial['score'];
    if (partial) row.overrides = partial;
    live.push(row);
    return row;
  }

  return { query, add, byPbid: (pbid: number, nowMs: number) => query('creationTime', 0, nowMs, nowMs).find((r) => r.pbid === pbid) };
}

function makeRow(rng: Rng, pbid: number, time: number, lateShare: number): BreachRow {
  const late = rng() < lateShare;
  const creationTime = late ? time + randInt(rng, HOUR_MS, 6 * HOUR_MS) : time + randInt(rng, 6_000, 40_000);
  return { pbid, time, creationTime, score: Math.round(rng() * 1000) / 1000, variant: Math.floor(rng() * 1_000_000) };
}

let variants: { models: Json[]; devices: Json[] } | undefined;

function buildVariants(): { models: Json[]; devices: Json[] } {
  const t = breachTemplate();
  const model = t['model'] as { then: Json; now: Json };
  const device = t['device'] as Json;
  const models = MODEL_NAMES.map((name, i) => {
    const ids = { name, pid: 600 + i, phid: 6700 + i, uuid: `80010119-6d7f-0000-0305-5e00000002${String(i).padStart(2, '0')}` };
    return { then: { ...model.then, ...ids }, now: { ...model.now, ...ids } };
  });
  const devices = Array.from({ length: DEVICES }, (_, i) => {
    const ip = `10.0.${Math.floor(i / 8)}.${10 + i}`;
    return { ...device, did: 100 + i, ip, ips: [{ ip, timems: 1687773600000, time: '2023-06-26 10:00:00', sid: 1 }], hostname: `host-${i}` };
  });
  return { models, devices };
}

/** What a rendered breach is made of; `renderBreach` and the text cache both build from this. */
export interface BreachParts {
  pbid: unknown;
  time: unknown;
  creationTime: unknown;
  score: unknown;
  model: unknown;
  device: unknown;
  overrides?: Json | undefined;
}

/** The breach object for given parts: key order and values are those of the appliance sample. */
export function breachObject(p: BreachParts): Json {
  const t = breachTemplate();
  const components = (t['triggeredComponents'] as Json[]).map((c) => ({ ...c, time: p.time }));
  return {
    ...t,
    pbid: p.pbid,
    time: p.time,
    creationTime: p.creationTime,
    score: p.score,
    model: p.model,
    triggeredComponents: components,
    device: p.device,
    ...p.overrides,
  };
}

export function breachModel(variant: number, historicModelOnly: boolean): Json {
  variants ??= buildVariants();
  const model = variants.models[variant % variants.models.length] as { then: Json; now: Json };
  return historicModelOnly ? model.then : model;
}

export function breachDevice(variant: number): Json {
  variants ??= buildVariants();
  return variants.devices[Math.floor(variant / 8) % variants.devices.length] as Json;
}

export function renderBreach(r: BreachRow, opts: { historicModelOnly: boolean }): Json {
  return breachObject({
    pbid: r.pbid,
    time: r.time,
    creationTime: r.creationTime,
    score: r.score,
    model: breachModel(r.variant, opts.historicModelOnly),
    device: breachDevice(r.variant),
    overrides: r.overrides,
  });
}
