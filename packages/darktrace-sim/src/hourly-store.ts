/**
 * Lazily generated, cached per hour bucket. Only small "seed" rows are cached (ids, times, a few
 * numbers); full records are rendered from templates when a response is built, so 30 days at 60
 * breaches per hour stays a few MB.
 */
import { countForHour, rngFor, type Rng } from './prng.js';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

function hourOf(ms: number): number {
  return Math.floor(ms / HOUR_MS);
}

interface HourlyStore<S> {
  /** Generated rows of the hours overlapping [fromMs, toMs] (callers filter on exact fields). */
  rowsBetween(fromMs: number, toMs: number): S[];
}

export function createHourlyStore<S>(firstMs: number, generate: (hour: number) => S[]): HourlyStore<S> {
  const cache = new Map<number, S[]>();
  const firstHour = hourOf(firstMs);
  return {
    rowsBetween(fromMs, toMs) {
      const out: S[] = [];
      for (let h = Math.max(firstHour, hourOf(fromMs)); h <= hourOf(toMs); h++) {
        let rows = cache.get(h);
        if (!rows) {
          rows = generate(h);
          cache.set(h, rows);
        }
        for (const r of rows) out.push(r);
      }
      return out;
    },
  };
}

/** What every generated source is made from: the seed, where its data starts, its mean rows per hour. */
export interface SourceConfig {
  seed: number;
  dataStartMs: number;
  perHour: number;
}

/** id = (hour - first hour) * SLOTS + slot: increasing with time, no global counter needed. */
const SLOTS = 100_000;
/** Slots from here on are for records added live, so they never collide with generated ones. */
const LIVE_SLOT = 50_000;

/**
 * Rows numbered by hour and slot (a breach's pbid, an action's codeid): per hour `perHour` rows on
 * average at sorted random times, each made by `make` from the hour's stream `<name>`; a live row
 * takes the hour's next live slot and the stream `<name>-live`. `rowsBetween` ends with every live row.
 */
export function createNumberedSource<S>(cfg: SourceConfig, name: string, make: (rng: Rng, id: number, timeMs: number) => S) {
  const firstHour = hourOf(cfg.dataStartMs);
  const live: S[] = [];
  const liveSlots = new Map<number, number>();
  const store = createHourlyStore<S>(cfg.dataStartMs, (hour) => {
    const rng = rngFor(cfg.seed, name, hour);
    const n = Math.min(countForHour(rng, cfg.perHour), LIVE_SLOT - 1);
    const times = Array.from({ length: n }, () => hour * HOUR_MS + Math.floor(rng() * HOUR_MS)).sort((a, b) => a - b);
    // Made in order before the filter: each row's draws from the hour's stream stay the same.
    return times.map((t, i) => make(rng, (hour - firstHour) * SLOTS + i + 1, t)).filter((_, i) => (times[i] as number) >= cfg.dataStartMs);
  });
  return {
    rowsBetween: (fromMs: number, toMs: number): S[] => store.rowsBetween(fromMs, toMs).concat(live),
    addLive(nowMs: number, build: (rng: Rng, id: number) => S): S {
      const hour = hourOf(nowMs);
      const slot = (liveSlots.get(hour) ?? LIVE_SLOT) + 1;
      liveSlots.set(hour, slot);
      const row = build(rngFor(cfg.seed, `${name}-live`, hour, slot), (hour - firstHour) * SLOTS + slot);
      live.push(row);
      return row;
    },
  };
}
