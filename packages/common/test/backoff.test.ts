import { describe, expect, it } from 'vitest';
import { backoffDelayMs, MAX_RETRY_AFTER_MS, MIN_RETRY_AFTER_MS, parseRetryAfterMs, retryDelayMs, sleep } from '../src/index.js';

// The properties every former formula had (client 500 ms -> 30 s, pullers 1 s -> 60 s, setup 1 s ->
// 30 s, the output's 2 s -> 60 s, the supervisor's 1 s -> 30 s), as one table.
describe('backoffDelayMs', () => {
  it.each<[string, number, { baseMs: number; capMs: number }, number, number]>([
    ['first retry, jitter low: half the base', 0, { baseMs: 500, capMs: 30_000 }, 0, 250],
    ['first retry, jitter high: the base', 0, { baseMs: 500, capMs: 30_000 }, 1, 500],
    ['doubles per retry', 3, { baseMs: 500, capMs: 30_000 }, 1, 4000],
    ['the output, attempt 3 (retry 2), jitter low', 2, { baseMs: 2000, capMs: 60_000 }, 0, 4000],
    ['capped', 20, { baseMs: 500, capMs: 30_000 }, 1, 30_000],
    ['capped, output', 9, { baseMs: 2000, capMs: 60_000 }, 1, 60_000],
    ['never below half the cap once capped', 50, { baseMs: 1000, capMs: 60_000 }, 0, 30_000],
    ['a huge retry count neither overflows nor loses the cap', 10_000, { baseMs: 1000, capMs: 30_000 }, 0.5, 22_500],
    ['a negative index counts as the first retry', -1, { baseMs: 1000, capMs: 30_000 }, 1, 1000],
  ])('%s', (_name, retry, policy, r, expected) => {
    expect(backoffDelayMs(retry, policy, () => r)).toBe(expected);
  });

  it('stays within [50 %, 100 %] of the step with the real random', () => {
    for (let i = 0; i < 200; i++) {
      const d = backoffDelayMs(2, { baseMs: 1000, capMs: 60_000 });
      expect(d).toBeGreaterThanOrEqual(2000);
      expect(d).toBeLessThanOrEqual(4000);
    }
  });
});

describe('parseRetryAfterMs', () => {
  const now = Date.UTC(2024, 0, 1, 0, 0, 0);
  it.each<[string | undefined, number | undefined]>([
    ['3', 3000],
    [' 1.5 ', 1500],
    ['0', 0],
    [undefined, undefined],
    ['', undefined],
    ['soon', undefined],
    ['-5', undefined],
    ['Mon, 01 Jan 2024 00:00:10 GMT', 10_000],
    ['Sun, 31 Dec 2023 23:59:00 GMT', 0],
    ['3600', MAX_RETRY_AFTER_MS],
    ['Tue, 01 Jan 2030 00:00:00 GMT', MAX_RETRY_AFTER_MS],
  ])('%s -> %s', (value, expected) => {
    expect(parseRetryAfterMs(value, now)).toBe(expected);
  });
});

describe('retryDelayMs', () => {
  const p = { baseMs: 500, capMs: 10 };
  it('honours Retry-After over the policy and its cap', () => {
    expect(retryDelayMs(0, p, 2000, () => 1)).toBe(2000);
  });
  it('clamps Retry-After: never a busy loop, never a stall', () => {
    expect(retryDelayMs(0, p, 0)).toBe(MIN_RETRY_AFTER_MS);
    expect(retryDelayMs(0, p, 3_600_000)).toBe(MAX_RETRY_AFTER_MS);
  });
  it('falls back to the backoff without one', () => {
    expect(retryDelayMs(3, { baseMs: 500, capMs: 30_000 }, null, () => 1)).toBe(4000);
    expect(retryDelayMs(3, { baseMs: 500, capMs: 30_000 }, undefined, () => 0)).toBe(2000);
  });
});

describe('sleep', () => {
  it('ends early, without throwing, on abort', async () => {
    const ac = new AbortController();
    const t0 = performance.now();
    const p = sleep(60_000, ac.signal);
    ac.abort();
    await p;
    expect(performance.now() - t0).toBeLessThan(5_000);
  });
});
