import { describe, expect, it } from 'vitest';
import { createRateLimiter } from '../src/rate-limiter.js';

describe('createRateLimiter', () => {
  it('allows a burst of `rate` then spaces requests at 1/rate', async () => {
    const limiter = createRateLimiter(20);
    const t0 = performance.now();
    for (let i = 0; i < 30; i++) await limiter.acquire();
    const elapsed = performance.now() - t0;
    // 20 immediately, 10 more at 50 ms each.
    expect(elapsed).toBeGreaterThanOrEqual(400);
    expect(elapsed).toBeLessThan(1500);
  });
  it('is unlimited at 0', async () => {
    const limiter = createRateLimiter(0);
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) await limiter.acquire();
    expect(performance.now() - t0).toBeLessThan(200);
  });
  it('rejects a waiting acquire when aborted', async () => {
    const limiter = createRateLimiter(1);
    await limiter.acquire();
    const ac = new AbortController();
    const p = limiter.acquire(ac.signal);
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
  });
});
