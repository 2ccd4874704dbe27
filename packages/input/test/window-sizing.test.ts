/**
 * Volume-sized windows: the sizer's arithmetic, the split of an over-limit window, and the puller
 * keeping its invariants (order of commits, nothing skipped, no duplicates) while window lengths
 * change within a cycle.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ResponseTooLargeError } from '@devo-collector/common';
import { createDarktraceClient } from '@devo-collector/darktrace';
import type { DarktraceApi, Query } from '../src/client.js';
import { createTimeSlotPuller } from '../src/pullers/time-slot-puller.js';
import { BIG_WINDOW_BYTES, BIG_WINDOW_RECORDS, FIRST_WINDOW_MS, MAX_WINDOW_MS, MIN_WINDOW_MS, splitSlot, WindowSizer } from '../src/pullers/window-sizer.js';
import { openStateStore } from '../src/state/state-store.js';
import { makeServiceConfig } from '@devo-collector/testkit';
import { HOUR, RecordingSink, TOKENS, captureLogs, directPuller, duplicates, startSim, tempDir, waitFor } from './helpers.js';

const logs = captureLogs();
afterAll(() => logs.dispose());
const MIN = 60_000;

describe('WindowSizer', () => {
  it('shrinks after a big window so the next ones hold about half the limit, by records or by bytes', () => {
    const s = new WindowSizer(HOUR);
    expect(s.observe(HOUR, 2500, 15e6)).toBe(s.lengthMs);
    // 2,500 records/h, aiming at 500 per window: 12 minutes (the bytes, 15 MB/h at 2 MiB, ask for less).
    const byBytes = Math.floor((HOUR * BIG_WINDOW_BYTES) / 2 / 15e6 / 1000) * 1000;
    expect(s.lengthMs).toBe(Math.min(12 * MIN, byBytes));
    const t = new WindowSizer(HOUR);
    t.observe(HOUR, 2 * BIG_WINDOW_RECORDS, 100);
    expect(t.lengthMs).toBe(HOUR / 4);
  });

  it('keeps the length while windows stay between a quarter and the whole limit', () => {
    const s = new WindowSizer(HOUR);
    s.observe(HOUR, 4 * BIG_WINDOW_RECORDS, 0);
    const len = s.lengthMs;
    expect(s.observe(len, BIG_WINDOW_RECORDS, 0)).toBeNull();
    expect(s.observe(len, BIG_WINDOW_RECORDS / 4 + 1, 0)).toBeNull();
    expect(s.lengthMs).toBe(len);
  });

  it('grows over sparse windows toward half the limits at the rate seen, at most x8 per window, up to 24 h; a window cut at now does not count', () => {
    const s = new WindowSizer(HOUR);
    s.observe(HOUR, 8 * BIG_WINDOW_RECORDS, 0);
    expect(s.lengthMs).toBe(HOUR / 16);
    expect(s.observe(HOUR / 32, 1, 100)).toBeNull(); // the last window of a cycle, shorter than planned
    expect(s.observe(HOUR / 16, 1, 100)).toBe(HOUR / 2); // x8
    expect(s.observe(HOUR / 2, 1, 100)).toBe(4 * HOUR);
    // Growth is x8 of the window seen, not of the current length: windows fetched ahead at an
    // older length neither compound it nor shrink it.
    expect(s.observe(HOUR, 0, 0)).toBe(8 * HOUR);
    expect(s.observe(HOUR, 0, 0)).toBeNull();
    expect(s.observe(HOUR / 2, 0, 0)).toBeNull();
    expect(s.observe(8 * HOUR, 0, 0)).toBe(MAX_WINDOW_MS);
    expect(s.observe(MAX_WINDOW_MS, 0, 0)).toBeNull();
    expect(s.lengthMs).toBe(24 * HOUR);
    // Moderately sparse (200 records an hour, under a quarter of the limit): 2.5 h holds 500.
    const m = new WindowSizer(HOUR);
    expect(m.observe(HOUR, 200, 200 * 3000)).toBe(2.5 * HOUR);
    // A live-tail window (shorter than the configured one) is no evidence.
    expect(new WindowSizer(HOUR).observe(10 * MIN, 0, 0)).toBeNull();
    // A configured window longer than 24 h is the bound.
    const l = new WindowSizer(48 * HOUR);
    expect(l.observe(48 * HOUR, 0, 0)).toBeNull();
  });

  it('starts at the first-window length (at most the configured window) and still grows to 24 h over sparse history', () => {
    const s = new WindowSizer(HOUR, MIN_WINDOW_MS, FIRST_WINDOW_MS);
    expect(s.lengthMs).toBe(10 * MIN);
    expect(s.observe(10 * MIN, 1, 100)).toBe(80 * MIN); // x8
    expect(s.observe(80 * MIN, 1, 100)).toBe(640 * MIN);
    expect(s.observe(640 * MIN, 1, 100)).toBe(MAX_WINDOW_MS);
    expect(new WindowSizer(5 * MIN, MIN_WINDOW_MS, FIRST_WINDOW_MS).lengthMs).toBe(5 * MIN);
  });

  it('never goes below the floor, and an oversize response halves the length', () => {
    const s = new WindowSizer(HOUR);
    s.observe(HOUR, 1e9, 1e12);
    expect(s.lengthMs).toBe(MIN_WINDOW_MS);
    const t = new WindowSizer(HOUR);
    expect(t.oversize(HOUR)).toBe(HOUR / 2);
    expect(t.oversize(HOUR)).toBeNull(); // already at most half of that window
    expect(t.oversize(90_000)).toBe(MIN_WINDOW_MS);
    // Small windows do not grow back into the size limit.
    expect(t.observe(MIN_WINDOW_MS, 1, 100)).toBeNull();
  });
});

describe('splitSlot', () => {
  it('halves the query range; the first half keeps the overlap; nothing below twice the floor', () => {
    expect(splitSlot({ startMs: 0, endMs: HOUR, queryStartMs: 0 }, MIN)).toEqual([
      { startMs: 0, endMs: HOUR / 2, queryStartMs: 0 },
      { startMs: HOUR / 2, endMs: HOUR, queryStartMs: HOUR / 2 },
    ]);
    // Live tail: cursor at 10 h, 10 min overlap, 4 min of new data: the first half only re-reads.
    const live = { startMs: 10 * HOUR, endMs: 10 * HOUR + 4 * MIN, queryStartMs: 10 * HOUR - 10 * MIN };
    expect(splitSlot(live, MIN)).toEqual([
      { startMs: 10 * HOUR - 3 * MIN, endMs: 10 * HOUR - 3 * MIN, queryStartMs: 10 * HOUR - 10 * MIN },
      { startMs: 10 * HOUR, endMs: 10 * HOUR + 4 * MIN, queryStartMs: 10 * HOUR - 3 * MIN },
    ]);
    expect(splitSlot({ startMs: 0, endMs: 2 * MIN - 1, queryStartMs: 0 }, MIN)).toBeNull();
  });
});

/** A fake appliance: `perMs` breaches per ms of window, pbid = creation time; oversize above `limit` records. */
function denseApi(p: { start: number; everyMs: number; limit?: number }): DarktraceApi & { calls: Array<{ s: number; e: number }> } {
  const calls: Array<{ s: number; e: number }> = [];
  return {
    calls,
    get: (_e, q?: Query) => {
      const s = Number(q?.['starttime']);
      const e = Number(q?.['endtime']);
      calls.push({ s, e });
      const first = p.start + Math.ceil((s - p.start) / p.everyMs) * p.everyMs;
      const out: unknown[] = [];
      for (let t = first; t <= e; t += p.everyMs) out.push({ pbid: t, creationTime: t, pad: 'x'.repeat(100) });
      if (p.limit !== undefined && out.length > p.limit) {
        return Promise.reject(new ResponseTooLargeError(301, `Some error occurred while retrieving events from Darktrace server. Error details: response of ${out.length * 150} bytes exceeds the limit`));
      }
      return Promise.resolve(out);
    },
    checkCredentials: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

async function memoryStore() {
  return openStateStore({ mode: 'memory', directory: '', inputName: 'd', inputId: '1', service: 'modelbreaches', startTimeText: 'x', version: 1, ownerName: 'P' });
}

describe('time-slot puller with volume-sized windows', () => {
  it('plans the windows after a big one smaller within the same cycle; everything delivered once, cursor at now', async () => {
    const now = Date.now();
    const start = Math.floor(now / HOUR) * HOUR - 4 * HOUR;
    const api = denseApi({ start, everyMs: 1000 }); // 3,600 records per hour
    const sink = new RecordingSink();
    const service = makeServiceConfig('modelbreaches', { startTimeMs: start, windowMs: HOUR, maxWindowsInFlight: 1, requestPeriodMs: 60_000 });
    const puller = createTimeSlotPuller({ inputName: 'd', inputId: '1', service, client: api, store: await memoryStore(), sink, maxMessagesPerBatch: 100, firstWindowMs: HOUR });
    logs.lines.length = 0;
    puller.start();
    await waitFor(() => logs.lines.some((l) => l.includes('Received response, messages(total/duplicated)')), 10_000, 'cycle end');
    await puller.stop(Date.now() + 500);
    const spans = api.calls.map((c) => c.e - c.s);
    expect(spans[0]).toBe(HOUR);
    // 3,600 records in the first hour: the next windows aim at 500 records, i.e. ~8 minutes.
    expect(Math.max(...spans.slice(1))).toBeLessThanOrEqual(9 * MIN);
    // Windows are contiguous: each starts where the previous ended (inclusive bounds).
    for (let i = 1; i < api.calls.length; i++) expect(api.calls[i]?.s).toBe(api.calls[i - 1]?.e);
    expect(logs.lines.some((l) => /Time slot length set to [\d.]+ minutes/.test(l))).toBe(true);
    expect(logs.lines.some((l) => /Total number of time slots to be processed: 5$/.test(l))).toBe(true);
    const got = sink.records('modelbreaches').map((r) => r['pbid'] as number);
    expect(duplicates(got.map(String))).toEqual([]);
    expect(got).toHaveLength(Math.floor((api.calls.at(-1)!.e - start) / 1000) + 1);
    expect(puller.cursorMs).toBe(api.calls.at(-1)?.e);
  });

  it('splits a window whose response is over the limit, recursively, and commits the halves in order', async () => {
    const now = Date.now();
    const start = Math.floor(now / HOUR) * HOUR - 2 * HOUR;
    // 360 records per hour, limit 50 records: an hour must be split to 7.5-minute windows.
    const api = denseApi({ start, everyMs: 10_000, limit: 50 });
    const sink = new RecordingSink();
    const store = await memoryStore();
    const service = makeServiceConfig('modelbreaches', { startTimeMs: start, windowMs: HOUR, maxWindowsInFlight: 2, requestPeriodMs: 60_000 });
    const puller = createTimeSlotPuller({ inputName: 'd', inputId: '1', service, client: api, store, sink, maxMessagesPerBatch: 100, retry: { baseMs: 10, capMs: 20 }, firstWindowMs: HOUR });
    const cursors: Array<number | null> = [];
    const timer = setInterval(() => cursors.push(puller.cursorMs), 1);
    logs.lines.length = 0;
    puller.start();
    await waitFor(() => logs.lines.some((l) => l.includes('Received response, messages(total/duplicated)')), 10_000, 'cycle end');
    clearInterval(timer);
    await puller.stop(Date.now() + 500);
    const splits = logs.lines.filter((l) => l.includes('split into 2 time slots'));
    expect(splits.length).toBeGreaterThanOrEqual(3); // 60 -> 30 -> 15 -> 7.5 minutes
    expect(logs.lines.filter((l) => /PullError\(301\).*the time slot is split in two/.test(l)).length).toBe(splits.length);
    expect(logs.lines.some((l) => l.includes('will be retried'))).toBe(false);
    const got = sink.records('modelbreaches').map((r) => r['pbid'] as number);
    expect(duplicates(got.map(String))).toEqual([]);
    const end = puller.cursorMs as number;
    expect(end).toBeGreaterThan(now - 60_000);
    expect(new Set(got)).toEqual(new Set(Array.from({ length: Math.floor((end - start) / 10_000) + 1 }, (_, i) => start + i * 10_000)));
    // The cursor only moved forward, window by window.
    const seen = cursors.filter((c): c is number => c !== null);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
  });

  it('a window still over the limit at the floor is retried with its PullError(301), never skipped', async () => {
    const start = Date.now() - 30 * MIN;
    const api = denseApi({ start, everyMs: 1000, limit: 10 }); // even 1 minute is 60 records
    const sink = new RecordingSink();
    const service = makeServiceConfig('modelbreaches', { startTimeMs: start, windowMs: HOUR, maxWindowsInFlight: 1, requestPeriodMs: 60_000 });
    const puller = createTimeSlotPuller({ inputName: 'd', inputId: '1', service, client: api, store: await memoryStore(), sink, maxMessagesPerBatch: 100, retry: { baseMs: 5, capMs: 10 } });
    logs.lines.length = 0;
    puller.start();
    await waitFor(() => logs.lines.filter((l) => l.includes('will be retried')).length >= 3, 10_000, 'retries at the floor');
    await puller.stop(Date.now() + 200);
    expect(puller.cursorMs).toBeNull();
    expect(sink.sent).toHaveLength(0);
    expect(api.calls.every((c) => c.e - c.s >= MIN_WINDOW_MS)).toBe(true);
    const retried = logs.lines.filter((l) => l.includes('will be retried'));
    expect(retried[0]).toMatch(/PullError\(301\): .*exceeds the limit/);
    // The same smallest window each time.
    const last = api.calls.at(-1);
    expect(api.calls.slice(-3).every((c) => c.s === last?.s && c.e === last?.e)).toBe(true);
  });
});

describe('volume-sized windows against the simulator', () => {
  it('a sparse month (2 breaches an hour, 100 ms per answer) takes at most 400 requests; every breach exactly once; the window lines give the real bounds', async () => {
    const now = Date.now();
    const start = Math.floor(now / HOUR) * HOUR - 30 * 24 * HOUR;
    const sim = await startSim({ dataStartMs: start, modelBreachesPerHour: 2, latencyMs: 100 });
    try {
      const client = createDarktraceClient({ baseUrl: sim.url, ...TOKENS, requestsPerSecond: 0, maxRetries: 0 });
      const service = makeServiceConfig('modelbreaches', { startTimeMs: start, windowMs: HOUR, requestPeriodMs: 60_000, maxWindowsInFlight: 8 });
      const sink = new RecordingSink();
      const { puller } = await directPuller({ sim, service, sink, stateDir: await tempDir(), client });
      logs.lines.length = 0;
      puller.start();
      await waitFor(() => logs.lines.some((l) => l.includes('Received response, messages(total/duplicated)')), 60_000, 'backfill done');
      await puller.stop(Date.now() + 1000);
      const windows = sim.requestLog().filter((r) => r.path === '/modelbreaches');
      expect(windows.length).toBeLessThanOrEqual(400);
      // 721 windows at the configured hour; the growth is what saves the round trips.
      expect(windows.length).toBeLessThan(100);
      expect(Math.max(...windows.map((w) => Number(w.query['endtime']) - Number(w.query['starttime'])))).toBe(24 * HOUR);
      const got = sink.records('modelbreaches').map((r) => String(r['pbid']));
      expect(duplicates(got)).toEqual([]);
      expect(new Set(got)).toEqual(new Set(sim.expectedIds('modelbreaches', puller.cursorMs ?? 0)));
      expect(got.length).toBeGreaterThan(1000);
      // Each "time slot >>" line names the bounds that were asked, and they tile the month.
      const bounds = logs.lines
        .map((l) => /Number of events received for time slot >> (.+?) - (.+?) is: \d+/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [Date.parse(String(m[1]).replace(' ', 'T')), Date.parse(String(m[2]).replace(' ', 'T'))]);
      expect(bounds).toHaveLength(windows.length);
      expect(bounds[0]?.[0]).toBe(start);
      for (let i = 1; i < bounds.length; i++) expect(bounds[i]?.[0]).toBe(bounds[i - 1]?.[1]);
      const asked = windows.map((w) => [Number(w.query['starttime']), Number(w.query['endtime'])]);
      expect(bounds.map(([a, b]) => [Math.floor((a ?? 0) / 1000), Math.floor((b ?? 0) / 1000)])).toEqual(
        [...asked].sort((x, y) => (x[0] ?? 0) - (y[0] ?? 0)).map(([a, b]) => [Math.floor((a ?? 0) / 1000), Math.floor((b ?? 0) / 1000)]),
      );
      expect(logs.lines.some((l) => l.includes('Time slot length set to 1440.0 minutes'))).toBe(true);
      await client.close();
    } finally {
      await sim.close();
    }
  });

  it('a real over-limit response (client max bytes) is split until it fits; exact id set, no duplicates', async () => {
    const now = Date.now();
    const sim = await startSim({ dataStartMs: now - 3 * HOUR, modelBreachesPerHour: 200, lateCreatedShare: 0.2 });
    try {
      // ~6 KB per breach: an hour is ~1.2 MB; 300 KB fits about 12 minutes.
      const client = createDarktraceClient({ baseUrl: sim.url, ...TOKENS, maxResponseBytes: 300_000, requestsPerSecond: 0, maxRetries: 0 });
      const service = makeServiceConfig('modelbreaches', { startTimeMs: now - 3 * HOUR, windowMs: HOUR, requestPeriodMs: 200, maxWindowsInFlight: 4 });
      const sink = new RecordingSink();
      const { puller } = await directPuller({ sim, service, sink, stateDir: await tempDir(), client });
      logs.lines.length = 0;
      puller.start();
      await waitFor(() => (puller.cursorMs ?? 0) > Date.now() - 60_000, 20_000, 'catch up');
      await puller.stop(Date.now() + 1000);
      expect(logs.lines.some((l) => l.includes('split into 2 time slots'))).toBe(true);
      expect(logs.lines.some((l) => l.includes('will be retried'))).toBe(false);
      const got = sink.records('modelbreaches').map((r) => String(r['pbid']));
      expect(duplicates(got)).toEqual([]);
      expect(new Set(got)).toEqual(new Set(sim.expectedIds('modelbreaches', puller.cursorMs ?? 0)));
      await client.close();
    } finally {
      await sim.close();
    }
  });
});
