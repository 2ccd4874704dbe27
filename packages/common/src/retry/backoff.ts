/**
 * The one retry delay of the collector: every retry loop (Darktrace client, pullers, setup, state
 * writes, IPC re-sends, the output's reconnects, the supervisor's restarts) takes its wait from
 * here, and every HTTP retry honours the appliance's `Retry-After` through `retryDelayMs`.
 */
export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

/** A bogus or hostile `Retry-After` (an hour, a date next year) must not stall a pull or a setup. */
export const MAX_RETRY_AFTER_MS = 120_000;
/** `Retry-After: 0` must not turn a retry loop into a busy loop. */
export const MIN_RETRY_AFTER_MS = 250;

/**
 * Delay before retry number `retry` (0-based: the first retry waits ~`baseMs`): exponential,
 * capped, with "equal jitter" (between half and all of the step) so parallel loops (pullers,
 * workers, senders) spread out but never retry at once.
 */
export function backoffDelayMs(retry: number, p: BackoffPolicy, random: () => number = Math.random): number {
  const step = Math.min(p.capMs, p.baseMs * 2 ** Math.min(Math.max(0, retry), 30));
  return Math.round(step / 2 + (step / 2) * random());
}

/**
 * `Retry-After` as delta-seconds or an HTTP date (RFC 9110 §10.2.3), in ms from `nowMs`, capped
 * at MAX_RETRY_AFTER_MS; undefined when absent or unreadable (the backoff applies then).
 */
export function parseRetryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  const v = value?.trim();
  if (!v) return undefined;
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(v)) ms = Math.round(Number(v) * 1000);
  else {
    // An HTTP date names its month; "-5" or "1e3" is neither form (Date.parse would take a year).
    const at = /[a-z]/i.test(v) ? Date.parse(v) : Number.NaN;
    if (Number.isNaN(at)) return undefined;
    ms = Math.max(0, at - nowMs);
  }
  return Math.min(ms, MAX_RETRY_AFTER_MS);
}

/**
 * Delay before retry number `retry`: the server's `Retry-After` when it sent one (it knows when it
 * can serve again; it wins over the policy's cap, within [MIN, MAX]_RETRY_AFTER_MS), else the backoff.
 */
export function retryDelayMs(retry: number, p: BackoffPolicy, retryAfterMs?: number | null, random: () => number = Math.random): number {
  if (retryAfterMs !== undefined && retryAfterMs !== null) {
    return Math.min(MAX_RETRY_AFTER_MS, Math.max(MIN_RETRY_AFTER_MS, retryAfterMs));
  }
  return backoffDelayMs(retry, p, random);
}

/** Resolves after `ms`, or early (without throwing) when `signal` aborts. The timer never holds the process. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    t.unref?.();
    signal?.addEventListener('abort', done, { once: true });
  });
}
