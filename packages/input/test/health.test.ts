/** Unit tests with fakes: the per-service health book, and how setup classifies and delays its retries. */
import { afterAll, describe, expect, it, vi } from 'vitest';
import { PullError, SetupError, TransientSetupError } from '@devo-collector/common';
import type { DarktraceApi } from '../src/client.js';
import { ServiceHealthBook } from '../src/health.js';
import { createServiceSetup, type SetupAttempt } from '../src/setup/service-setup.js';
import { makeServiceConfig } from '@devo-collector/testkit';
import { captureLogs } from './helpers.js';

const logs = captureLogs();
afterAll(() => logs.dispose());

describe('ServiceHealthBook', () => {
  it('is failing at the first failed setup with its id, ok at the success, and tells each change at once', () => {
    let changes = 0;
    let now = 1_000;
    const book = new ServiceHealthBook(() => changes++, () => now);
    book.register('modelbreaches', 60_000);
    expect(book.snapshot()).toEqual({ modelbreaches: { state: 'starting', lastSuccessMs: null } });
    book.setupFailed('modelbreaches', { name: 'SetupError', code: 101, message: 'The tokens provided are incorrect.' }, false, 60_000);
    expect(changes).toBe(1);
    const h = book.snapshot().modelbreaches!;
    expect(h.state).toBe('failing');
    expect(h.reason?.id).toBe('SetupError(101)');
    expect(h.reason?.message).toMatch(/^The tokens provided are incorrect\. \(another try cannot fix this .*retried in 60\.0 s\)$/);
    expect(h.reason?.sinceMs).toBe(1_000);
    // The same failure again: same state and id, no new report, the condition keeps its start.
    now = 61_000;
    book.setupFailed('modelbreaches', { name: 'SetupError', code: 101, message: 'The tokens provided are incorrect.' }, false, 60_000);
    expect(changes).toBe(1);
    expect(book.snapshot().modelbreaches?.reason?.sinceMs).toBe(1_000);
    now = 62_000;
    book.setupSucceeded('modelbreaches');
    expect(changes).toBe(2);
    expect(book.snapshot().modelbreaches).toEqual({ state: 'ok', lastSuccessMs: 62_000 });
  });

  it('says a transient setup failure is transient', () => {
    const book = new ServiceHealthBook();
    book.register('status', 60_000);
    book.setupFailed('status', { name: 'SetupError', code: 103, message: 'Unexpected HTTP error occurred at the Darktrace server. status code, 429' }, true, 1_000);
    expect(book.snapshot().status?.reason?.message).toMatch(/\(transient, setup is retried in 1\.0 s\)$/);
  });

  it('is failing only once pulls have failed for two request periods, and ok at the next success', () => {
    vi.useFakeTimers();
    try {
      const changes: string[] = [];
      const book = new ServiceHealthBook(() => changes.push(book.snapshot().status!.state));
      book.register('status', 1_000);
      book.setupSucceeded('status');
      const e = new PullError(300, 'HTTP Error occurred while retrieving events from Darktrace server: summary HTTP 500');
      book.pullFailed('status', e);
      vi.advanceTimersByTime(1_500);
      book.pullFailed('status', e);
      expect(book.snapshot().status?.state).toBe('ok');
      // The bound passes with no attempt ending then: the timer flips it.
      vi.advanceTimersByTime(600);
      const h = book.snapshot().status!;
      expect(h.state).toBe('failing');
      expect(h.reason?.id).toBe('PullError(300)');
      expect(h.reason?.message).toMatch(/^pulls have failed for 2 s without a success; last: HTTP Error occurred/);
      book.pullFailed('status', new PullError(301, 'Some error occurred'));
      expect(book.snapshot().status?.reason?.id).toBe('PullError(301)');
      book.pullSucceeded('status');
      expect(book.snapshot().status?.state).toBe('ok');
      expect(changes).toEqual(['ok', 'failing', 'failing', 'ok']);
      // A success in between starts the count again.
      book.pullFailed('status', e);
      vi.advanceTimersByTime(1_900);
      book.pullSucceeded('status');
      vi.advanceTimersByTime(5_000);
      expect(book.snapshot().status?.state).toBe('ok');
      book.close();
    } finally {
      vi.useRealTimers();
    }
  });
});

function fakeClient(failures: Array<Error>): DarktraceApi {
  return {
    get: () => Promise.resolve([]),
    checkCredentials: () => {
      const f = failures.shift();
      return f ? Promise.reject(f) : Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
}

async function attempts(failures: Error[], slowRetryMs = 300): Promise<{ attempts: SetupAttempt[]; ms: number }> {
  const setup = createServiceSetup({
    inputName: 'darktrace',
    inputId: '1',
    service: makeServiceConfig('status', { startTimeMs: 0 }),
    client: fakeClient(failures),
    moduleName: 'StatelessServicePuller',
    transientRetry: { baseMs: 20, capMs: 40 },
    slowRetryMs,
  });
  const out: SetupAttempt[] = [];
  const t0 = Date.now();
  expect(await setup.runUntilReady(new AbortController().signal, (a) => out.push(a))).toBe(true);
  return { attempts: out, ms: Date.now() - t0 };
}

describe('setup retries', () => {
  it('retries transient failures with the short backoff, honouring Retry-After', async () => {
    const { attempts: a } = await attempts([
      new TransientSetupError(100, 'Error occurred while requesting from the Darktrace server. Error message: ECONNRESET'),
      new TransientSetupError(103, 'Unexpected HTTP error occurred at the Darktrace server. status code, 429', 350),
      new TransientSetupError(103, 'Unexpected HTTP error occurred at the Darktrace server. status code, 502'),
      new SetupError(100, 'Error occurred while requesting from the Darktrace server. Error message: timeout'),
    ]);
    expect(a.map((x) => [x.ok, x.transient])).toEqual([[false, true], [false, true], [false, true], [false, true], [true, false]]);
    // Backoff 20 ms doubling (equal jitter) capped at 40 ms; the Retry-After of 350 ms wins.
    expect(a[0]!.retryInMs).toBeGreaterThanOrEqual(10);
    expect(a[0]!.retryInMs).toBeLessThanOrEqual(20);
    expect(a[1]!.retryInMs).toBe(350);
    expect(a[2]!.retryInMs).toBeLessThanOrEqual(40);
    expect(a[3]!.retryInMs).toBeLessThanOrEqual(40);
    expect(a[4]!.retryInMs).toBeNull();
    expect(logs.lines.some((l) => l.endsWith('Setup will be retried in 0.3 seconds') || l.endsWith('Setup will be retried in 0.4 seconds'))).toBe(true);
  });

  it('waits the long period for what another try cannot fix (tokens, permission)', async () => {
    const { attempts: a, ms } = await attempts([
      new SetupError(101, 'The tokens provided are incorrect. Please specify the correct credentials. Error message API SIGNATURE ERROR'),
      new SetupError(102, 'The provided tokens are valid but they do not have the permission to get data'),
    ], 150);
    expect(a.map((x) => [x.ok, x.transient, x.retryInMs])).toEqual([[false, false, 150], [false, false, 150], [true, false, null]]);
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(logs.lines.some((l) => l.endsWith('Setup will be retried in 0.1 seconds') || l.endsWith('Setup will be retried in 0.2 seconds'))).toBe(true);
  });
});
