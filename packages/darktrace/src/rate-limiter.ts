/**
 * The client's one rate limiter: sliding windows of "at most `max` requests in any `periodMs`".
 * `requests_per_second` is the window {1 s, rate}; `requests_limits` (devo.md §3.4) add windows
 * shared by every request of the input and windows of one scope (a service's endpoint). Darktrace
 * documents no rate limit (reference §1.1), but peers throttle themselves so that a catching-up
 * collector cannot hammer an appliance that also serves analysts.
 *
 * A request occupies its slot from `acquire` until its `release` (the response ended) and for
 * `periodMs` after that: the appliance sees each request arrive between the two, so no window of
 * `periodMs` on the appliance's clock can hold more than `max` of them, whatever the latency.
 */
import { sleep } from '@devo-collector/common';

export interface LimitSpec {
  periodMs: number;
  max: number;
  /** For log lines, e.g. `inputs.darktrace.requests_limits[0] (10 requests every 1m)`. */
  label: string;
}

export interface RateLimiterOptions {
  /** 0 or less: no per-second window. */
  requestsPerSecond: number;
  /** Windows every request counts in. */
  shared?: readonly LimitSpec[];
  /** Windows of one scope only (the client uses the endpoint path). */
  byScope?: Readonly<Record<string, readonly LimitSpec[]>>;
  /** Called when a `requests_limits` window starts holding requests back (not for requests_per_second). */
  onLimitReached?: (info: { label: string; scope: string; waitMs: number | null }) => void;
  nowMs?: () => number;
}

interface RateLimiter {
  /** Waits until a request of `scope` fits in every window; call the returned `release` when it has ended. */
  acquire(scope: string, signal?: AbortSignal): Promise<() => void>;
}

/** While in flight a slot's end is +Infinity: it counts until released and for a period after. */
class SlidingWindow {
  private ends: number[] = [];
  private head = 0;
  /** Absolute index of ends[0]. */
  private base = 0;
  blocking = false;

  constructor(
    readonly spec: LimitSpec,
    readonly reported: boolean,
  ) {}

  /** 0: one more fits now; > 0: ms until it may; null: only a release can make room. */
  waitMs(now: number): number | null {
    while (this.head < this.ends.length && this.ends[this.head]! + this.spec.periodMs <= now) this.head++;
    if (this.head > 1024 && this.head * 2 > this.ends.length) {
      this.ends = this.ends.slice(this.head);
      this.base += this.head;
      this.head = 0;
    }
    if (this.ends.length - this.head < this.spec.max) return 0;
    // Oldest first by acquire time; waiting for the oldest to expire is conservative when an
    // older request ends after a newer one.
    const oldest = this.ends[this.head]!;
    return oldest === Infinity ? null : Math.max(1, Math.ceil(oldest + this.spec.periodMs - now));
  }

  take(): number {
    this.ends.push(Infinity);
    return this.base + this.ends.length - 1;
  }

  release(slot: number, now: number): void {
    const i = slot - this.base;
    if (i >= this.head && i < this.ends.length) this.ends[i] = now;
  }
}

export function createRateLimiter(opts: RateLimiterOptions): RateLimiter {
  const nowMs = opts.nowMs ?? (() => performance.now());
  const rps = opts.requestsPerSecond;
  // A window the per-second one already enforces can never bind (and would keep a slot per request).
  const useful = (s: LimitSpec): boolean => s.max > 0 && !(rps > 0 && s.max >= rps * Math.ceil(s.periodMs / 1000));
  const shared: SlidingWindow[] = [
    ...(rps > 0 ? [new SlidingWindow({ periodMs: 1000, max: rps, label: 'requests_per_second' }, false)] : []),
    ...(opts.shared ?? []).filter(useful).map((s) => new SlidingWindow(s, true)),
  ];
  const scoped = new Map<string, SlidingWindow[]>();
  for (const [scope, specs] of Object.entries(opts.byScope ?? {})) {
    scoped.set(scope, [...shared, ...specs.filter(useful).map((s) => new SlidingWindow(s, true))]);
  }
  // Waiters of one scope are served in order, so a retry storm cannot starve earlier callers.
  const tails = new Map<string, Promise<unknown>>();
  let released = deferred();

  async function takeSlots(scope: string, windows: SlidingWindow[], signal?: AbortSignal): Promise<() => void> {
    for (;;) {
      signal?.throwIfAborted();
      const now = nowMs();
      let wait: number | null = 0;
      for (const w of windows) {
        const ms = w.waitMs(now);
        if (ms === 0) continue;
        if (w.reported && !w.blocking) opts.onLimitReached?.({ label: w.spec.label, scope, waitMs: ms });
        w.blocking = true;
        wait = ms === null || wait === null ? null : Math.max(wait, ms);
      }
      if (wait === 0) {
        const slots = windows.map((w) => {
          w.blocking = false;
          return w.take();
        });
        let done = false;
        return () => {
          if (done) return;
          done = true;
          const t = nowMs();
          windows.forEach((w, i) => w.release(slots[i]!, t));
          released.resolve();
          released = deferred();
        };
      }
      // A full window of requests still in flight: the next release (or a second) may make room.
      const nap = new AbortController();
      const napSignal = signal ? AbortSignal.any([signal, nap.signal]) : nap.signal;
      try {
        await Promise.race([released.promise, sleep(wait ?? 1000, napSignal)]);
      } finally {
        nap.abort(); // no timer outlives the wait (a `1d` window's wait would hold the process)
      }
    }
  }

  return {
    acquire(scope, signal) {
      const windows = scoped.get(scope) ?? shared;
      const p = (tails.get(scope) ?? Promise.resolve()).then(() => takeSlots(scope, windows, signal));
      tails.set(scope, p.catch(() => undefined));
      return p;
    },
  };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
