import { describe, expect, it } from 'vitest';
import { createRateLimiter } from '../src/rate-limiter.js';

describe('createRateLimiter', () => {
  it('allows a burst of `rate` then at most `rate` per second', async () => {
    const limiter = createRateLimiter({ requestsPerSecond: 20 });
    const t0 = performance.now();
    for (let i = 0; i < 30; i++) (await limiter.acquire('/x'))();
    const elapsed = performance.now() - t0;
    // 20 at once, the next 10 once the first second has passed.
    expect(elapsed).toBeGreaterThanOrEqual(990);
    expect(elapsed).toBeLessThan(3000);
  });

  it('is unlimited at 0', async () => {
    const limiter = createRateLimiter({ requestsPerSecond: 0 });
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) (await limiter.acquire('/x'))();
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it('rejects a waiting acquire when aborted', async () => {
    const limiter = createRateLimiter({ requestsPerSecond: 1 });
    (await limiter.acquire('/x'))();
    const ac = new AbortController();
    const p = limiter.acquire('/x', ac.signal);
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
  });

  it('counts a request from acquire to release and for a period after', async () => {
    let now = 0;
    const limiter = createRateLimiter({ requestsPerSecond: 0, shared: [{ periodMs: 100, max: 2, label: 'L' }], nowMs: () => now });
    const r1 = await limiter.acquire('/a');
    const r2 = await limiter.acquire('/b');
    let third = false;
    const p3 = limiter.acquire('/a').then((r) => ((third = true), r));
    now = 500; // long after, but both still in flight: no room
    await new Promise((r) => setTimeout(r, 30));
    expect(third).toBe(false);
    r1(); // released at 500: free at 600
    now = 599;
    await new Promise((r) => setTimeout(r, 30));
    expect(third).toBe(false);
    now = 600;
    (await p3)();
    expect(third).toBe(true);
    r2();
  });

  it('applies a scope\'s windows to that scope only, the shared ones to all, and reports a limit once', async () => {
    let now = 0;
    const reached: string[] = [];
    const limiter = createRateLimiter({
      requestsPerSecond: 0,
      shared: [{ periodMs: 1000, max: 4, label: 'input' }],
      byScope: { '/a': [{ periodMs: 1000, max: 1, label: 'service a' }] },
      onLimitReached: (i) => reached.push(`${i.label}@${i.scope}`),
      nowMs: () => now,
    });
    (await limiter.acquire('/a'))();
    let aDone = false;
    const a2 = limiter.acquire('/a').then((r) => ((aDone = true), r));
    // /b is not held up by /a's own limit.
    for (let i = 0; i < 3; i++) (await limiter.acquire('/b'))();
    expect(aDone).toBe(false);
    let bDone = false;
    const b4 = limiter.acquire('/b').then((r) => ((bDone = true), r));
    await new Promise((r) => setTimeout(r, 30));
    expect(bDone).toBe(false); // 4 in the shared window
    now = 1000;
    (await a2)();
    (await b4)();
    expect(reached[0]).toBe('service a@/a');
    expect(reached.filter((r) => r.startsWith('input@'))).toHaveLength(1); // once per episode, not per poll
  });
});
