/**
 * Failure handling against the real simulator: every fault kind logs its PullError id, the window
 * is retried (never skipped) and nothing is lost once the fault clears; an output that never acks
 * stops the cursor and pauses pulling at the in-flight bound.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { FaultKind } from '@devo-collector/darktrace-sim';
import { makeServiceConfig } from '@devo-collector/testkit';
import { HOUR, RecordingSink, captureLogs, directPuller, duplicates, realClient, startSim, tempDir, waitFor } from './helpers.js';

const logs = captureLogs();
afterAll(() => logs.dispose());

const KINDS: FaultKind[] = ['500', '502-html', '429', 'truncated-json', 'html-login-200', 'hang', 'reset'];

describe('faults', () => {
  it.each(KINDS)('%s: logged with its PullError id, retried, nothing lost', async (kind) => {
    const now = Date.now();
    const sim = await startSim({ dataStartMs: now - 3 * HOUR, modelBreachesPerHour: 20, lateCreatedShare: 0.2 });
    try {
      // maxRetries 1: the client gives up after 2 attempts, so 3 faults reach the puller's own retry.
      sim.injectFault({ kind, count: 3, endpoint: '/modelbreaches', retryAfterSec: 0 });
      const sink = new RecordingSink();
      const service = makeServiceConfig('modelbreaches', { startTimeMs: now - 3 * HOUR, windowMs: HOUR, requestPeriodMs: 200, maxWindowsInFlight: 1 });
      const { puller } = await directPuller({
        sim,
        service,
        sink,
        stateDir: await tempDir(),
        client: realClient(sim, { requestTimeoutMs: 300, maxRetries: 1 }),
      });
      logs.lines.length = 0;
      puller.start();
      await waitFor(() => (puller.cursorMs ?? 0) > Date.now() - 60_000, 20_000, 'catch up');
      await puller.stop(Date.now() + 1000);
      const errors = logs.lines.filter((l) => /PullError\(30[01]\)/.test(l));
      expect(errors.length, `${kind}: ${logs.lines.filter((l) => l.startsWith('ERROR')).join('\n')}`).toBeGreaterThan(0);
      expect(errors[0]).toMatch(/the time slot will be retried/);
      const got = sink.records('modelbreaches').map((r) => String(r['pbid']));
      expect(duplicates(got)).toEqual([]);
      expect(new Set(got)).toEqual(new Set(sim.expectedIds('modelbreaches', puller.cursorMs ?? 0)));
      // The failed first window was asked again: its starttime appears more than once.
      const firstWindow = sim.requestLog().filter((r) => r.path === '/modelbreaches' && r.query['starttime'] === String(service.startTimeMs));
      expect(firstWindow.length).toBeGreaterThan(1);
    } finally {
      await sim.close();
    }
  });

  it('an ack that never comes keeps the cursor and pauses pulling at the in-flight bound', async () => {
    const now = Date.now();
    const sim = await startSim({ dataStartMs: now - 6 * HOUR, modelBreachesPerHour: 40 });
    try {
      const sink = new RecordingSink(false);
      const service = makeServiceConfig('modelbreaches', { startTimeMs: now - 6 * HOUR, windowMs: HOUR, requestPeriodMs: 100, maxWindowsInFlight: 2 });
      const maxInFlightBytes = 20_000;
      const { puller, store } = await directPuller({ sim, service, sink, stateDir: await tempDir(), maxInFlightBytes });
      logs.lines.length = 0;
      puller.start();
      await waitFor(() => logs.lines.some((l) => l.includes('Pulling paused')), 10_000, 'pause');
      const sentAtPause = sink.sent.length;
      await new Promise((r) => setTimeout(r, 500)); // nothing may happen while paused: the point of the test
      // Nothing acked: nothing committed, and no more batches than the bound admits.
      expect(puller.cursorMs).toBeNull();
      expect(store.data.seen).toEqual([]);
      expect(sink.sent.length).toBe(sentAtPause);
      const inFlight = sink.sent.reduce((n, b) => n + b.bytes, 0);
      const biggest = Math.max(...sink.sent.map((b) => b.bytes));
      expect(inFlight).toBeLessThanOrEqual(maxInFlightBytes + biggest);
      // Requests stop too: at most the windows fetched ahead.
      const requestsAtPause = sim.requestLog().length;
      await new Promise((r) => setTimeout(r, 300)); // no request may follow: the point of the test
      expect(sim.requestLog().length).toBe(requestsAtPause);

      // The output recovers: everything flows and commits.
      const pump = setInterval(() => sink.ackAll(), 20);
      await waitFor(() => (puller.cursorMs ?? 0) > Date.now() - 60_000, 20_000, 'catch up after acks');
      clearInterval(pump);
      sink.autoAck = true;
      sink.ackAll();
      await puller.stop(Date.now() + 1000);
      expect(logs.lines.some((l) => l.includes('Pulling resumed'))).toBe(true);
      const got = sink.records('modelbreaches').map((r) => String(r['pbid']));
      expect(duplicates(got)).toEqual([]);
      expect(new Set(got)).toEqual(new Set(sim.expectedIds('modelbreaches', puller.cursorMs ?? 0)));
    } finally {
      await sim.close();
    }
  });

  it('a shutdown with unacked batches does not commit them; the next run re-delivers them', async () => {
    const now = Date.now();
    const sim = await startSim({ dataStartMs: now - 2 * HOUR, modelBreachesPerHour: 20 });
    try {
      const stateDir = await tempDir();
      const service = makeServiceConfig('modelbreaches', { startTimeMs: now - 2 * HOUR, windowMs: HOUR, requestPeriodMs: 100 });
      const held = new RecordingSink(false);
      const first = await directPuller({ sim, service, sink: held, stateDir });
      first.puller.start();
      await waitFor(() => held.sent.length > 0, 10_000, 'first batch');
      await first.puller.stop(Date.now() + 100);
      await first.store.close();
      expect(first.store.data.cursor_ms).toBeNull();
      const sink = new RecordingSink();
      const second = await directPuller({ sim, service, sink, stateDir });
      second.puller.start();
      await waitFor(() => (second.puller.cursorMs ?? 0) > Date.now() - 60_000, 10_000, 'second run');
      await second.puller.stop(Date.now() + 1000);
      const got = sink.records('modelbreaches').map((r) => String(r['pbid']));
      expect(new Set(got)).toEqual(new Set(sim.expectedIds('modelbreaches', second.puller.cursorMs ?? 0)));
      expect(duplicates(got)).toEqual([]);
    } finally {
      await sim.close();
    }
  });
});
