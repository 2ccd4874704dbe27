/**
 * LaneClient (the input's end of the batch lane) against the output's real lane server over a Unix
 * socket: answers by request id, re-sends on rejection, re-sends what a closed lane took with it on
 * the next lane (marked replay), and rate-limits its rejection lines.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recordTexts, type EventBatch, type LaneAck } from '@devo-collector/common';
import { startBatchLane, type BatchLaneServer } from '../../output/src/batch-lane.js';
import { buildBatches } from '../src/delivery/batch-sink.js';
import { LaneClient } from '../src/delivery/lane-client.js';
import { captureLogs } from './helpers.js';

const logs = captureLogs();
afterAll(() => logs.dispose());

const runDir = (): string => mkdtempSync(path.join(os.tmpdir(), 'lane-client-'));
const shape = { inputName: 'darktrace', serviceName: 'antigena', tag: 't', maxMessages: 1 };
const batches = (n: number): EventBatch[] => buildBatches(Array.from({ length: n }, (_, i) => Buffer.from(`{"a":${i}}`)), shape);
const REFUSE = { name: 'OutputError' as const, code: 402, message: 'batch is not durable: ENOSPC: no space left on device, write' };

/** A lane server whose answer to each batch `answer` decides (null: no answer yet). */
async function lane(answer: (b: EventBatch) => LaneAck | null, dir = runDir()): Promise<{ server: BatchLaneServer; received: EventBatch[] }> {
  const received: EventBatch[] = [];
  const server = await startBatchLane(dir, (b, reply) => {
    received.push(b);
    const a = answer(b);
    if (a) reply(a);
  });
  return { server, received };
}

describe('LaneClient', () => {
  it('resolves each send on its ack; re-sends identical content after a rejection', async () => {
    const tries = new Map<string, number>();
    const { server, received } = await lane((b) => {
      const n = (tries.get(b.batchId) ?? 0) + 1;
      tries.set(b.batchId, n);
      return n <= 2 ? { type: 'batch-rejected', batchId: b.batchId, error: REFUSE } : { type: 'batch-ack', batchId: b.batchId };
    });
    const client = new LaneClient({ retry: { baseMs: 5, capMs: 10 } });
    await client.connect(server.path);
    const sent = batches(20);
    expect(sent[0]?.batchId).toMatch(/^antigena:\d+$/);
    await Promise.all(sent.map((b) => client.send(b)));
    expect(client.pendingCount).toBe(0);
    expect(received).toHaveLength(60);
    for (const b of sent) {
      const copies = received.filter((r) => r.batchId === b.batchId);
      expect(copies.map(recordTexts)).toEqual([recordTexts(b), recordTexts(b), recordTexts(b)]);
      expect(copies.every((c) => !c.replay)).toBe(true);
    }
    client.close();
    await server.close();
  });

  it('a lane that closes before answering: its batches go again, in order and marked replay, on the next lane', async () => {
    const first = await lane(() => null); // the output dies before making anything durable
    const client = new LaneClient();
    await client.connect(first.server.path);
    const sent = batches(5);
    let acked = 0;
    const sends = sent.map((b) => client.send(b).then(() => acked++));
    await expect.poll(() => first.received.length, { timeout: 10_000 }).toBe(5);
    await first.server.close();
    await expect.poll(() => client.connected, { timeout: 10_000 }).toBe(false);
    expect(acked).toBe(0);
    expect(client.pendingCount).toBe(5);

    const second = await lane((b) => ({ type: 'batch-ack', batchId: b.batchId }));
    await client.connect(second.server.path);
    await Promise.all(sends);
    expect(second.received.map((b) => b.batchId)).toEqual(sent.map((b) => b.batchId));
    expect(second.received.every((b) => b.replay === true)).toBe(true);
    expect(second.received.map(recordTexts)).toEqual(sent.map(recordTexts));
    client.close();
    await second.server.close();
  });

  it('a lane that only dropped the connection is dialled again: what was in flight goes again there', async () => {
    const dir = runDir();
    const first = await lane(() => null, dir);
    const client = new LaneClient({ redialMs: 50 });
    await client.connect(first.server.path);
    const sent = batches(3);
    const sends = Promise.all(sent.map((b) => client.send(b)));
    await expect.poll(() => first.received.length, { timeout: 10_000 }).toBe(3);
    await first.server.close();
    // The same socket path again (same directory, same pid): no `connect` call, the client redials.
    const again = await lane((b) => ({ type: 'batch-ack', batchId: b.batchId }), dir);
    expect(again.server.path).toBe(first.server.path);
    await sends;
    expect(again.received.map((b) => [b.batchId, b.replay])).toEqual(sent.map((b) => [b.batchId, true]));
    client.close();
    await again.server.close();
  });

  it('connect rejects when nobody listens (the worker answers init-failed then)', async () => {
    const client = new LaneClient();
    await expect(client.connect(path.join(runDir(), 'nobody.sock'))).rejects.toThrow(/ENOENT/);
    client.close();
  });

  it('logs rejections at most once per period, with the count of the others', async () => {
    const tries = new Map<string, number>();
    const { server } = await lane((b) => {
      const n = (tries.get(b.batchId) ?? 0) + 1;
      tries.set(b.batchId, n);
      return n <= 6 ? { type: 'batch-rejected', batchId: b.batchId, error: REFUSE } : { type: 'batch-ack', batchId: b.batchId };
    });
    const client = new LaneClient({ retry: { baseMs: 20, capMs: 40 }, rejectLogEveryMs: 100 });
    await client.connect(server.path);
    const from = logs.lines.length;
    const t0 = Date.now();
    await Promise.all(batches(20).map((b) => client.send(b)));
    const elapsed = Date.now() - t0;
    const lines = logs.lines.slice(from).filter((l) => l.includes('rejected by the output (OutputError(402)'));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.length).toBeLessThanOrEqual(Math.ceil(elapsed / 100) + 1);
    const counted = lines.reduce((n, l) => n + 1 + Number(/and (\d+) more rejections/.exec(l)?.[1] ?? 0), 0);
    // The counts account for the rejections not logged (those after the last line wait for the next one).
    expect(counted).toBeLessThanOrEqual(120);
    expect(counted).toBeGreaterThanOrEqual(120 - 20 * Math.ceil(100 / 20));
    client.close();
    await server.close();
  });
});
