/** Unit tests with fakes: slot planning, seen ids, store versions, commit order, content changes, setup retries (the lane client: lane-client.test.ts). */
import { afterAll, describe, expect, it } from 'vitest';
import { recordTexts, SetupError, PullError } from '@devo-collector/common';
import type { DarktraceApi, Query } from '../src/client.js';
import { createTimeSlotPuller, planTimeSlots } from '../src/pullers/time-slot-puller.js';
import { createServiceSetup } from '../src/setup/service-setup.js';
import { SeenIds } from '../src/state/seen-ids.js';
import { openStateStore } from '../src/state/state-store.js';
import { makeServiceConfig } from '@devo-collector/testkit';
import { HOUR, RecordingSink, captureLogs, tempDir, waitFor } from './helpers.js';
import { writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';

const logs = captureLogs();
afterAll(() => logs.dispose());

describe('planTimeSlots', () => {
  it('slices from the start time, last slot ends at now, no overlap on the first run', () => {
    const s = planTimeSlots({ committedCursorMs: null, startTimeMs: 0, nowMs: 2.5 * HOUR, windowMs: HOUR, overlapMs: 600_000 });
    expect(s).toEqual([
      { startMs: 0, endMs: HOUR, queryStartMs: 0 },
      { startMs: HOUR, endMs: 2 * HOUR, queryStartMs: HOUR },
      { startMs: 2 * HOUR, endMs: 2.5 * HOUR, queryStartMs: 2 * HOUR },
    ]);
  });
  it('live tail re-reads the overlap before the cursor, never before the start time', () => {
    const s = planTimeSlots({ committedCursorMs: 10 * HOUR, startTimeMs: 0, nowMs: 10 * HOUR + 60_000, windowMs: HOUR, overlapMs: 600_000 });
    expect(s).toEqual([{ startMs: 10 * HOUR, endMs: 10 * HOUR + 60_000, queryStartMs: 10 * HOUR - 600_000 }]);
    const t = planTimeSlots({ committedCursorMs: 1000, startTimeMs: 0, nowMs: 2000, windowMs: HOUR, overlapMs: 600_000 });
    expect(t[0]?.queryStartMs).toBe(0);
    expect(planTimeSlots({ committedCursorMs: 5000, startTimeMs: 0, nowMs: 5000, windowMs: HOUR, overlapMs: 0 })).toEqual([]);
  });
});

describe('SeenIds', () => {
  it('evicts the oldest beyond the bound; re-setting refreshes', () => {
    const s = new SeenIds(3, [['a', ''], ['b', ''], ['c', '']]);
    s.set('a', 'h');
    s.set('d', '');
    expect(s.entries().map(([k]) => k)).toEqual(['c', 'a', 'd']);
    expect(s.get('a')).toBe('h');
  });
});

describe('state store', () => {
  const base = { inputName: 'darktrace', inputId: '1', service: 'modelbreaches', startTimeText: '2024-01-01T00:00:00', ownerName: 'X' };
  it('migrates with the hook, resets without one, memory mode writes nothing', async () => {
    const dir = await tempDir();
    const file = join(dir, 'darktrace;1;modelbreaches.json');
    await writeFile(file, JSON.stringify({ persistence_version: 1, start_time: '2024-01-01T00:00:00', cursor: 1234, seen: [] }));
    const s = await openStateStore({ ...base, mode: 'filesystem', directory: dir, version: 2, migrations: { 1: (d) => ({ ...d, cursor_ms: d['cursor'], last_pull_ms: null, last_record_time_ms: null }) } });
    expect(s.data.cursor_ms).toBe(1234);
    expect(s.data.persistence_version).toBe(2);
    await s.close();
    const reset = await openStateStore({ ...base, mode: 'filesystem', directory: dir, version: 3 });
    expect(reset.data.cursor_ms).toBeNull();
    expect(logs.lines.some((l) => l.includes('No migration from Version 2 to Version 3'))).toBe(true);
    await reset.close();
    const memDir = join(dir, 'mem');
    const m = await openStateStore({ ...base, mode: 'memory', directory: memDir, version: 1 });
    await m.update((d) => void (d.cursor_ms = 5));
    await expect(readFile(join(memDir, 'darktrace;1;modelbreaches.json'))).rejects.toThrow();
  });
});

/** A fake API: answers per window start with a configurable delay or failure. */
function fakeApi(answer: (q: Query) => Promise<unknown>): DarktraceApi & { calls: Query[] } {
  const calls: Query[] = [];
  return {
    calls,
    get: (_e, q) => {
      calls.push(q ?? {});
      return answer(q ?? {});
    },
    checkCredentials: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

describe('time-slot puller with a fake API', () => {
  it('fetches windows concurrently but commits strictly in window order; a failing window blocks the cursor', async () => {
    // A second more than three hours: the last window is never empty (with exactly three hours a
    // fast start planned the cycle in the same millisecond and saw one window less).
    const start = Date.now() - 3 * HOUR - 1000;
    let failFirst = true;
    let releaseFirst: () => void = () => undefined;
    const firstGate = new Promise<void>((r) => (releaseFirst = r));
    const api = fakeApi(async (q) => {
      const s = Number(q['starttime']);
      if (s === start) {
        if (failFirst) {
          failFirst = false;
          throw new PullError(300, 'HTTP Error occurred while retrieving events from Darktrace server: summary 500');
        }
        await firstGate;
      }
      return [{ pbid: Math.floor(s / 1000), creationTime: s + 1 }];
    });
    const store = await openStateStore({ mode: 'memory', directory: '', inputName: 'd', inputId: '1', service: 'modelbreaches', startTimeText: 'x', version: 1, ownerName: 'P' });
    const sink = new RecordingSink();
    const service = makeServiceConfig('modelbreaches', { startTimeMs: start, windowMs: HOUR, maxWindowsInFlight: 4, requestPeriodMs: 60_000 });
    const puller = createTimeSlotPuller({ inputName: 'd', inputId: '1', service, client: api, store, sink, maxMessagesPerBatch: 10, retry: { baseMs: 10, capMs: 20 }, firstWindowMs: HOUR });
    puller.start();
    // Until a window's size is known the puller fetches two windows at once (then up to 4).
    await waitFor(() => api.calls.length >= 3, 5000, 'concurrent fetches'); // 2 windows + the retry
    expect(puller.cursorMs).toBeNull();
    expect(sink.sent).toHaveLength(0); // later windows wait for the first
    expect(logs.lines.some((l) => l.includes('PullError(300)'))).toBe(true);
    releaseFirst();
    await waitFor(() => (puller.cursorMs ?? 0) > Date.now() - 60_000, 5000, 'commit');
    // The two hours fetched at once, then the rest in one window: one record an hour is sparse
    // history, so the sizer grew the windows planned after the first one was processed.
    expect(sink.sent.map((b) => JSON.parse(recordTexts(b)[0] as string).pbid)).toEqual([0, 1, 2].map((i) => Math.floor((start + i * HOUR) / 1000)));
    expect(logs.lines.some((l) => l.includes('Time slot length set to 480.0 minutes'))).toBe(true);
    await puller.stop(Date.now());
  });

  it("a window refused with Retry-After is retried after the appliance's delay, not the backoff", async () => {
    const start = Date.now() - 30 * 60_000;
    let refused = 0;
    const api = fakeApi(() => {
      if (refused++ === 0) return Promise.reject(new PullError(300, 'HTTP Error occurred while retrieving events from Darktrace server: summary HTTP 429', 1_500));
      return Promise.resolve([{ pbid: 1, creationTime: start + 1 }]);
    });
    const store = await openStateStore({ mode: 'memory', directory: '', inputName: 'd', inputId: '1', service: 'modelbreaches', startTimeText: 'x', version: 1, ownerName: 'P' });
    const sink = new RecordingSink();
    const service = makeServiceConfig('modelbreaches', { startTimeMs: start, windowMs: HOUR, requestPeriodMs: 60_000 });
    // A backoff of 10-20 ms: only the Retry-After explains a 1.5 s wait.
    const puller = createTimeSlotPuller({ inputName: 'd', inputId: '1', service, client: api, store, sink, maxMessagesPerBatch: 10, retry: { baseMs: 20, capMs: 20 } });
    logs.lines.length = 0;
    const t0 = Date.now();
    puller.start();
    await waitFor(() => sink.sent.length === 1, 10_000, 'the retried window');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_400);
    expect(logs.lines.some((l) => /PullError\(300\).*attempt 1\); the time slot will be retried in 1\.5 seconds/.test(l))).toBe(true);
    await puller.stop(Date.now() + 500);
  });

  it('aianalyst: the same id is re-emitted only when groupScore/currentGroup changed', async () => {
    const start = Date.now() - 30 * 60_000;
    let score = 10;
    const api = fakeApi(() => Promise.resolve([{ id: 'e1', createdAt: start + 1, groupScore: score, currentGroup: 'g1' }, { id: 'e2', createdAt: start + 2, groupScore: 1, currentGroup: 'g2' }]));
    const store = await openStateStore({ mode: 'memory', directory: '', inputName: 'd', inputId: '1', service: 'aianalyst_incidentevents', startTimeText: 'x', version: 1, ownerName: 'P' });
    const sink = new RecordingSink();
    const service = makeServiceConfig('aianalyst_incidentevents', { startTimeMs: start, requestPeriodMs: 30, overlapMs: HOUR });
    const puller = createTimeSlotPuller({ inputName: 'd', inputId: '1', service, client: api, store, sink, maxMessagesPerBatch: 10 });
    puller.start();
    await waitFor(() => api.calls.length >= 3, 5000, 'three polls');
    score = 15;
    const callsAtChange = api.calls.length;
    await waitFor(() => api.calls.length >= callsAtChange + 3, 5000, 'more polls');
    await puller.stop(Date.now() + 500);
    const got = sink.records('aianalyst_incidentevents').map((r) => `${String(r['id'])}:${String(r['groupScore'])}`);
    expect(got).toEqual(['e1:10', 'e2:1', 'e1:15']);
    expect(api.calls.every((q) => q['includeallpinned'] === false)).toBe(true);
  });
});

describe('setup', () => {
  it('logs the SetupError id and keeps retrying until the tokens are fixed', async () => {
    let attempts = 0;
    const api = fakeApi(() => Promise.resolve([]));
    api.checkCredentials = () => {
      attempts += 1;
      if (attempts === 1) return Promise.reject(new SetupError(100, 'Error occurred while requesting from the Darktrace server. Error message: ECONNREFUSED'));
      if (attempts < 4) return Promise.reject(new SetupError(101, 'The tokens provided are incorrect. Please specify the correct credentials. Error message API SIGNATURE ERROR'));
      return Promise.resolve();
    };
    const setup = createServiceSetup({
      inputName: 'darktrace',
      inputId: '1',
      service: makeServiceConfig('status', { startTimeMs: 0 }),
      client: api,
      moduleName: 'StatelessServicePuller',
      transientRetry: { baseMs: 5, capMs: 10 },
      slowRetryMs: 20,
    });
    const outcomes: boolean[] = [];
    const ok = await setup.runUntilReady(new AbortController().signal, (o) => outcomes.push(o.ok));
    expect(ok).toBe(true);
    expect(outcomes).toEqual([false, false, false, true]);
    expect(logs.lines.some((l) => l.includes('SetupError(100)'))).toBe(true);
    expect(logs.lines.some((l) => l.includes('SetupError(101): The tokens provided are incorrect'))).toBe(true);
    expect(logs.lines.some((l) => l.endsWith('Setup for module <StatelessServicePuller> has been successfully executed'))).toBe(true);
  });
});
