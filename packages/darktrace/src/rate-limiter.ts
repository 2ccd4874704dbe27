/**
 * Token bucket: at most `ratePerSec` requests per second on average, bursts up to `ratePerSec`.
 * Darktrace documents no rate limit (reference §1.1), but peers throttle themselves so that a
 * catching-up collector cannot hammer an appliance that also serves analysts.
 */
export interface RateLimiter {
  acquire(signal?: AbortSignal): Promise<void>;
}

export function createRateLimiter(ratePerSec: number, nowMs: () => number = () => performance.now()): RateLimiter {
  if (ratePerSec <= 0) return { acquire: async () => {} };
  const capacity = Math.max(1, ratePerSec);
  let tokens = capacity;
  let last = nowMs();
  // Waiters are served in order so a retry storm cannot starve earlier callers.
  let tail: Promise<void> = Promise.resolve();

  function refill(): void {
    const t = nowMs();
    tokens = Math.min(capacity, tokens + ((t - last) / 1000) * ratePerSec);
    last = t;
  }

  async function takeOne(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      refill();
      if (tokens >= 1) {
        tokens -= 1;
        return;
      }
      const waitMs = Math.ceil(((1 - tokens) / ratePerSec) * 1000);
      await sleep(waitMs, signal);
    }
  }

  return {
    acquire(signal) {
      const p = tail.then(() => takeOne(signal));
      tail = p.catch(() => {});
      return p;
    },
  };
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
