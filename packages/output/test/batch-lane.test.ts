/**
 * The batch lane end to end inside one process: the input's LanePeer → Unix socket → the output's
 * lane server → acks back on the same connection; framing split at every byte boundary.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { laneFrame, LaneReader, packBatch, type EventBatch, type LaneAck } from '@devo-collector/common';
import { LanePeer } from '../../input/src/delivery/lane-peer.js';
import { startBatchLane } from '../src/batch-lane.js';

const batch = (n: number, size = 3): EventBatch => {
  const records = Array.from({ length: size }, (_, i) => JSON.stringify({ n, i, pad: 'x'.repeat(n * 100) }));
  return { batchId: `modelbreaches:${n}`, group: 'standard', inputName: 'darktrace', serviceName: 'modelbreaches', tag: 't', records, keys: records.map((_, i) => `${n}-${i}`), bytes: 0, createdAtMs: 1 };
};

describe('batch lane', () => {
  it('LaneReader reassembles frames split anywhere', () => {
    const bodies = [Buffer.from('a'), Buffer.alloc(70_000, 7), Buffer.from('hello')];
    const stream = Buffer.concat(bodies.flatMap((b) => laneFrame(b)));
    for (const step of [1, 3, 4, 5, 1000, stream.length]) {
      const r = new LaneReader();
      const got: Buffer[] = [];
      for (let i = 0; i < stream.length; i += step) r.push(stream.subarray(i, i + step), (b) => got.push(Buffer.from(b)));
      expect(got.map((b) => b.toString('hex'))).toEqual(bodies.map((b) => b.toString('hex')));
    }
  });

  it('batches reach the output intact and in order, acks come back on the lane; a dead lane falls back to IPC', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lane-'));
    const received: EventBatch[] = [];
    const server = await startBatchLane(dir, (b, reply) => {
      received.push(b);
      reply({ type: 'batch-ack', batchId: b.batchId });
    });
    const acks: LaneAck[] = [];
    const viaIpc: unknown[] = [];
    const peer = new LanePeer({ send: (m, cb) => (viaIpc.push(m), cb?.(null), true) }, (a) => acks.push(a));
    expect(await peer.connect(server.path)).toBe(true);
    const sent = Array.from({ length: 50 }, (_, i) => batch(i));
    for (const b of sent) peer.send({ type: 'packed-batch', ...packBatch(b) });
    await new Promise<void>((r) => {
      const t = setInterval(() => acks.length === 50 && (clearInterval(t), r()), 5);
    });
    expect(received).toEqual(sent);
    expect(acks.map((a) => a.batchId)).toEqual(sent.map((b) => b.batchId));
    expect(viaIpc).toEqual([]);

    await server.close();
    await new Promise((r) => setTimeout(r, 50));
    peer.send({ type: 'packed-batch', ...packBatch(batch(99)) });
    expect(viaIpc).toHaveLength(1); // the lane is gone: the batch takes the supervisor's way
    expect(await peer.connect(path.join(dir, 'nobody.sock'))).toBe(false);
    peer.close();
  });
});
