/**
 * Lazily generated, cached per hour bucket. Only small "seed" rows are cached (ids, times, a few
 * numbers); full records are rendered from templates when a response is built, so 30 days at 60
 * breaches per hour stays a few MB.
 */
export const HOUR_MS = 3_600_000;

export function hourOf(ms: number): number {
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
