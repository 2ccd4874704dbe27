/**
 * /modelbreaches data. `time` is the first activity, `creationTime` when the alert was created;
 * a share of breaches is created hours late (reference §4.2), which is exactly what a collector
 * with a cursor on `time` loses. A breach exists on the appliance only once created.
 */
import { breachTemplate, type Json } from './fixtures.js';
import { createNumberedSource, HOUR_MS, type SourceConfig } from './hourly-store.js';
import { randInt, type Rng } from './prng.js';

export interface BreachRow {
  pbid: number;
  time: number;
  creationTime: number;
  score: number;
  variant: number;
  overrides?: Json;
}

const MAX_LATE_MS = 6 * HOUR_MS + 60_000;

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

interface BreachConfig extends SourceConfig {
  lateCreatedShare: number;
}

export function createBreachSource(cfg: BreachConfig) {
  const source = createNumberedSource(cfg, 'modelbreaches', (rng, pbid, time) => makeRow(rng, pbid, time, cfg.lateCreatedShare));

  /** Every breach that exists at `nowMs` and has `field` within [fromMs, toMs]. */
  function query(field: 'time' | 'creationTime', fromMs: number, toMs: number, nowMs: number): BreachRow[] {
    const lag = field === 'creationTime' ? MAX_LATE_MS : 0;
    const rows = source.rowsBetween(fromMs - lag, Math.min(toMs, nowMs));
    return rows.filter((r) => r.creationTime <= nowMs && r[field] >= fromMs && r[field] <= toMs);
  }

  function add(partial: Json | undefined, nowMs: number): BreachRow {
    const creationTime = typeof partial?.['creationTime'] === 'number' ? partial['creationTime'] : nowMs;
    const time = typeof partial?.['time'] === 'number' ? partial['time'] : creationTime - 10_000;
    return source.addLive(nowMs, (rng, pbid) => {
      const row: BreachRow = { ...makeRow(rng, pbid, time, 0), creationTime };
      // A given score is the one minscore filters on, as the one rendered.
      if (typeof partial?.['score'] === 'number') row.score = partial['score'];
      if (partial) row.overrides = partial;
      return row;
    });
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
interface BreachParts {
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
