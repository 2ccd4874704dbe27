/**
 * A window's response body is freed (its ArrayBuffer detached) by the puller, not left to a
 * mark-compact: only once every batch cut from it is acked and the window committed. A batch
 * re-sent on a new lane (the output restarted before acking) still carries the body's bytes.
 * Real simulator over HTTP, real Darktrace client, real LaneClient and lane servers.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recordTexts, type EventBatch } from '@devo-collector/common';
import { makeServiceConfig } from '@devo-collector/testkit';
import { startBatchLane } from '../../output/src/batch-lane.js';
import type { DarktraceApi, RawText } from '../src/client.js';
import { LaneClient } from '../src/delivery/lane-client.js';
import { createTimeSlotPuller } from '../src/pullers/time-slot-puller.js';
import { openStateStore } from '../src/state/state-store.js';
import { HOUR, captureLogs, realClient, startSim } from './helpers.js';

const logs = captureLogs();
afterAll(() => logs.dispose());

describe('response body release', () => {
  it('detaches a window body only after its batches are acked and the window committed; a batch re-sent after a lane reconnect is intact', async () => {
    const start = Date.now() - 10 * 60_000;
    const sim = await startSim({ dataStartMs: start - HOUR, modelBreachesPerHour: 600, aiEventsPerHour: 0, antigenaPerHour: 0 });
    const client = realClient(sim);
    const store = await openStateStore({ mode: 'memory', directory: '', inputName: 'd', inputId: '1', service: 'modelbreaches', startTimeText: 'x', version: 1, ownerName: 'P' });
    const lane = new LaneClient();
    const bodies: Array<{ ab: ArrayBufferLike; releasedAt: { cursor: number | null; pending: number } | null }> = [];
    const api: DarktraceApi = {
      ...client,
      getRecords: async (endpoint, query, o) => {
        let ab: ArrayBufferLike | null = null;
        const each = (v: unknown, raw: RawText, complete: boolean) => {
          ab ??= raw.bytes?.().buffer ?? null;
          return o.each(v, raw, complete);
        };
        const answer = await client.getRecords!(endpoint, query, { ...o, each });
        if (!('records' in answer) || !ab) return answer;
        const body = { ab, releasedAt: null as { cursor: number | null; pending: number } | null };
        bodies.push(body);
        const release = answer.release;
        expect(release).toBeTypeOf('function');
        return {
          records: answer.records,
          release: () => {
            body.releasedAt = { cursor: store.data.cursor_ms, pending: lane.pendingCount };
            release?.();
          },
        };
      },
    };
    const dir = mkdtempSync(path.join(os.tmpdir(), 'body-release-'));
    const first: EventBatch[] = [];
    const firstLane = await startBatchLane(dir, (b) => first.push(b)); // dies before acking anything
    const second: Array<{ batch: EventBatch; bodyBytes: number }> = [];
    const secondLane = await startBatchLane(mkdtempSync(path.join(os.tmpdir(), 'body-release-')), (b, reply) => {
      second.push({ batch: b, bodyBytes: bodies[0]?.ab.byteLength ?? -1 });
      reply({ type: 'batch-ack', batchId: b.batchId });
    });
    await lane.connect(firstLane.path);
    const service = makeServiceConfig('modelbreaches', { startTimeMs: start, requestPeriodMs: 60_000 });
    const puller = createTimeSlotPuller({ inputName: 'd', inputId: '1', service, client: api, store, sink: lane, maxMessagesPerBatch: 10, firstWindowMs: HOUR });
    puller.start();
    try {
      await expect.poll(() => first.length > 1 && first.length === lane.pendingCount, { timeout: 10_000 }).toBe(true);
      expect(bodies).toHaveLength(1); // one window, several batches cut from its one body
      const body = bodies[0]!;
      const bodySize = body.ab.byteLength;
      expect(bodySize).toBeGreaterThan(0);
      await firstLane.close();
      await expect.poll(() => lane.connected, { timeout: 10_000 }).toBe(false);
      expect(body.releasedAt).toBeNull();
      expect(body.ab.byteLength).toBe(bodySize);

      await lane.connect(secondLane.path);
      await expect.poll(() => puller.cursorMs, { timeout: 10_000 }).not.toBeNull();
      await expect.poll(() => body.releasedAt, { timeout: 10_000 }).not.toBeNull();
      // Released after the commit moved the cursor, with no batch left unacked; detached since.
      expect(body.releasedAt).toEqual({ cursor: puller.cursorMs, pending: 0 });
      expect(body.ab.byteLength).toBe(0);
      // Every batch went again on the new lane (replay), from the intact body, byte for byte.
      expect(second.map((s) => s.batch.batchId)).toEqual(first.map((b) => b.batchId));
      expect(second.every((s) => s.batch.replay === true && s.bodyBytes === bodySize)).toBe(true);
      expect(second.map((s) => recordTexts(s.batch))).toEqual(first.map((b) => recordTexts(b)));
      expect(second.flatMap((s) => recordTexts(s.batch)).every((t) => t.startsWith('{"') && t.endsWith('}'))).toBe(true);
    } finally {
      await puller.stop(Date.now() + 200);
      lane.close();
      await secondLane.close();
      await client.close();
      await sim.close();
    }
  });
});
