/**
 * Volume-sized time windows. A configured 60-minute window can hold thousands of records (15 MB
 * of JSON): the appliance takes long to build it, the input holds it whole while it is processed,
 * and only a couple fit in the fetch-ahead byte budget, so the pipeline waits on responses. A quiet
 * month in 60-minute windows is the opposite waste: 721 round trips for a few breaches each. The
 * sizer shrinks the windows that follow a big one and grows them over sparse history.
 *
 * Constants:
 * - a window is "big" above 1,000 records or 4 MiB of JSON: at ~6 KB per breach that is ~1 s of
 *   delivery at the 10k events/s target, and the appliance builds it in well under a second;
 * - a big window makes the next windows aim at half of that (500 records / 2 MiB), proportionally
 *   to the record and byte rate just seen, so a dense hour converges in one step, and normal
 *   variation (+-50 %) does not trigger another shrink;
 * - a sparse window (below a quarter of the limits, hysteresis) makes them aim at the same half,
 *   from the rate it showed, at most x8 per window (one quiet hour does not plan a day blind) and
 *   at most MAX_WINDOW_MS (24 h: a quiet month is ~35 requests instead of 721; the configured
 *   window is the upper bound only when it is longer), nor beyond half of a window that was over
 *   the response size limit (growing into that limit again would cost a failed request each time);
 * - only a window at least as long as the current length (or the configured window) is evidence of
 *   a low rate: the last window of a cycle is cut at now, and a live-tail window is short;
 * - the first window is at most FIRST_WINDOW_MS (10 min) until one has been seen: a configured
 *   60-minute window of a dense day is ~15 MB of JSON held whole (two are fetched at once), and
 *   a sparse history grows back to 24 h in three windows (x8 each);
 * - never below MIN_WINDOW_MS: below a minute the request overhead dominates, and a minute that is
 *   still over the response size limit is reported (PullError 301) rather than cut further.
 * The log lines give each window's real bounds ("time slot >> start - end") and every change of
 * length ("Time slot length set to ...").
 */
import type { TimeSlot } from './time-slot.js';

export const BIG_WINDOW_RECORDS = 1000;
export const BIG_WINDOW_BYTES = 4 * 1024 * 1024;
export const MIN_WINDOW_MS = 60_000;
export const MAX_WINDOW_MS = 24 * 3_600_000;
export const FIRST_WINDOW_MS = 10 * 60_000;
const MAX_GROWTH_PER_WINDOW = 8;

export class WindowSizer {
  /** Length of the windows planned from now on. */
  private length: number;
  /** Upper bound: MAX_WINDOW_MS (or a longer configured window), lowered for good by a response over the size limit. */
  private cap: number;

  constructor(
    /** The configured window. */
    readonly maxMs: number,
    readonly minMs = Math.min(MIN_WINDOW_MS, maxMs),
    /** The length before any window was seen (at most the configured one). */
    firstMs = maxMs,
  ) {
    this.length = Math.max(1, Math.min(maxMs, firstMs));
    this.cap = Math.max(maxMs, MAX_WINDOW_MS);
  }

  get lengthMs(): number {
    return this.length;
  }

  /**
   * A window covering `spanMs` (its whole query range) returned `records` records of `bytes` JSON
   * bytes. Returns the new length when it changed, else null.
   */
  observe(spanMs: number, records: number, bytes: number): number | null {
    const span = Math.max(1, spanMs);
    let next = this.length;
    // The length at which the rate just seen fills half of the limits.
    const fit = Math.min(
      records > 0 ? (span * BIG_WINDOW_RECORDS) / 2 / records : Infinity,
      bytes > 0 ? (span * BIG_WINDOW_BYTES) / 2 / bytes : Infinity,
    );
    if (records > BIG_WINDOW_RECORDS || bytes > BIG_WINDOW_BYTES) {
      next = Math.min(this.length, fit);
    } else if (records < BIG_WINDOW_RECORDS / 4 && bytes < BIG_WINDOW_BYTES / 4 && span >= Math.min(this.length, this.maxMs)) {
      // Windows fetched ahead at an older, shorter length say the same rate: they never shrink it.
      next = Math.max(this.length, Math.min(fit, span * MAX_GROWTH_PER_WINDOW));
    }
    return this.set(next);
  }

  /** A window of `spanMs` was over the response size limit: plan the next ones at most half as long. */
  oversize(spanMs: number): number | null {
    this.cap = Math.max(this.minMs, Math.min(this.cap, Math.floor(spanMs / 2)));
    return this.set(Math.min(this.length, Math.floor(spanMs / 2)));
  }

  private set(ms: number): number | null {
    // Whole seconds: slot bounds stay readable in the logs.
    const next = Math.min(this.cap, Math.max(this.minMs, Math.floor(ms / 1000) * 1000 || this.minMs));
    if (next === this.length) return null;
    this.length = next;
    return next;
  }
}

/**
 * The two halves of a slot whose response was too large, split in the middle of its query range;
 * null when the range is already at the floor. The first half keeps the overlap re-read; a half
 * that lies before the slot's start only re-reads (committing it does not move the cursor, which
 * never goes back).
 */
export function splitSlot(slot: TimeSlot, minMs: number): [TimeSlot, TimeSlot] | null {
  const span = slot.endMs - slot.queryStartMs;
  if (span < 2 * Math.max(1, minMs)) return null;
  const mid = slot.queryStartMs + Math.floor(span / 2);
  return [
    { queryStartMs: slot.queryStartMs, startMs: Math.min(slot.startMs, mid), endMs: mid },
    { queryStartMs: mid, startMs: Math.max(slot.startMs, mid), endMs: slot.endMs },
  ];
}
