import { PullError, ResponseTooLargeError } from '@devo-collector/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FaultKind, Simulator } from '../src/index.js';
import { clientFor, NOW, rejection, startSim } from './helpers.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSim();
});
afterAll(() => sim.close());

const window = { starttime: NOW - 3_600_000, endtime: NOW, creationtime: true };
const MAX_RETRIES = 2;

function hits(path: string, since: number): number {
  return sim.requestLog().slice(since).filter((e) => e.path === path).length;
}

describe.each<[FaultKind, number]>([
  ['500', 300],
  ['502-html', 300],
  ['429', 300],
  ['truncated-json', 301],
  ['html-login-200', 301],
  ['hang', 301],
  ['reset', 301],
])('fault %s', (kind, expectedId) => {
  it(`-> PullError(${expectedId}) once ${MAX_RETRIES} retries are exhausted`, async () => {
    const c = clientFor(sim, { maxRetries: MAX_RETRIES, requestTimeoutMs: 400 });
    const before = sim.requestLog().length;
    sim.injectFault({ kind, count: MAX_RETRIES + 1, endpoint: '/modelbreaches', retryAfterSec: 0 });
    const e = await rejection(c.get('/modelbreaches', window));
    expect(e).toBeInstanceOf(PullError);
    expect(e.code).toBe(expectedId);
    expect(e.message).toMatch(
      expectedId === 300
        ? /^HTTP Error occurred while retrieving events from Darktrace server: summary .* details /
        : /^Some error occurred while retrieving events from Darktrace server\. Error details: /,
    );
    expect(hits('/modelbreaches', before)).toBe(MAX_RETRIES + 1);
    await c.close();
  });

  it('-> success when the fault count is below the retries', async () => {
    const c = clientFor(sim, { maxRetries: MAX_RETRIES, requestTimeoutMs: 400 });
    sim.injectFault({ kind, count: MAX_RETRIES, endpoint: '/modelbreaches', retryAfterSec: 0 });
    const body = await c.get('/modelbreaches', window);
    expect(Array.isArray(body)).toBe(true);
    await c.close();
  });
});

describe('retry behaviour', () => {
  it('honours Retry-After on 429', async () => {
    const c = clientFor(sim, { maxRetries: 2 });
    const t0 = performance.now();
    sim.injectFault({ kind: '429', count: 1, endpoint: '/status', retryAfterSec: 1 });
    await c.get('/status');
    // The backoff without Retry-After would be <= 20 ms here.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(950);
    await c.close();
  });

  it('faults only hit the matching endpoint', async () => {
    const c = clientFor(sim, { maxRetries: 0 });
    sim.injectFault({ kind: '500', count: 1, endpoint: '/antigena' });
    await expect(c.get('/status')).resolves.toBeTruthy();
    expect((await rejection(c.get('/antigena'))).code).toBe(300);
    await c.close();
  });

  it('an oversize response is PullError(301) and not retried', async () => {
    const c = clientFor(sim, { maxResponseBytes: 100 });
    const before = sim.requestLog().length;
    const e = await rejection(c.get('/status'));
    expect(e.code).toBe(301);
    expect(e.message).toMatch(/exceeds the limit of 100 bytes/);
    // Typed, so a time-slot puller splits the window; still a plain PullError(301) to everyone else.
    expect(e).toBeInstanceOf(ResponseTooLargeError);
    expect(String(e)).toMatch(/^PullError\(301\): /);
    expect(hits('/status', before)).toBe(1);
    await c.close();
  });

  it('an aborted pull stops retrying', async () => {
    const c = clientFor(sim, { maxRetries: 4, requestTimeoutMs: 5_000 });
    sim.injectFault({ kind: 'hang', count: 1, endpoint: '/status' });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const e = await rejection(c.get('/status', undefined, { signal: ac.signal }));
    expect(e.code).toBe(301);
    expect(e.message).toMatch(/aborted/);
    await c.close();
  });

  it('reports each attempt through onRequest', async () => {
    const seen: Array<{ endpoint: string; status: number | null }> = [];
    const c = clientFor(sim, { maxRetries: 2, onRequest: ({ endpoint, status }) => seen.push({ endpoint, status }) });
    sim.injectFault({ kind: '502-html', count: 1, endpoint: '/status' });
    sim.injectFault({ kind: 'reset', count: 1, endpoint: '/status' });
    await c.get('/status');
    expect(seen).toEqual([
      { endpoint: '/status', status: 502 },
      { endpoint: '/status', status: null },
      { endpoint: '/status', status: 200 },
    ]);
    await c.close();
  });

  it('sends a User-Agent and one consistent DTAPI-Date per attempt', async () => {
    // The simulator rejects a signature made with another date, so success proves consistency.
    const c = clientFor(sim, { userAgent: 'test-agent/1' });
    await expect(c.get('/summarystatistics')).resolves.toMatchObject({ subnets: 4 });
    await c.close();
  });
});
