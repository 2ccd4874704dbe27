/**
 * The batch lane end to end inside one process: the input's LanePeer → Unix socket → the output's
 * lane server → acks back on the same connection; framing split at every byte boundary.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { batchTexts, decodeLaneBatch, joinLines, laneFrame, LaneReader, packBatch, packLines, unpackBatch, type EventBatch, type LaneAck } from '@devo-collector/common';
import { LanePeer } from '../../input/src/delivery/lane-peer.js';
import { startBatchLane } from '../src/batch-lane.js';

const batch = (n: number, size = 3): EventBatch => {
  const records = Array.from({ length: size }, (_, i) => JSON.stringify({ n, i, pad: 'x'.repeat(n * 100) }));
  const b: EventBatch = { batchId: `modelbreaches:${n}`, group: 'standard', inputName: 'darktrace', serviceName: 'modelbreaches', tag: 't', records, keys: records.map((_, i) => `${n}-${i}`), bytes: 0, createdAtMs: 1 };
  // Every other batch in the hot path's form: records as LF-joined bytes beside the metadata.
  return n % 2 === 1 ? { ...b, records: [], lines: joinLines(records.map((r) => Buffer.from(r))), count: size } : b;
};

/** A plain frame: u32 BE length + body. */
const frame = (body: Buffer): Buffer => Buffer.concat([Buffer.from([0, 0, 0, 0].map((_, i) => (body.length >>> (8 * (3 - i))) & 0xff)), body]);

describe('batch lane', () => {
  it('LaneReader reassembles frames split anywhere', () => {
    const bodies = [Buffer.from('a'), Buffer.alloc(70_000, 7), Buffer.from('hello')];
    const stream = Buffer.concat(bodies.map(frame));
    for (const step of [1, 3, 4, 5, 1000, stream.length]) {
      const r = new LaneReader();
      const got: Buffer[] = [];
      for (let i = 0; i < stream.length; i += step) r.push(stream.subarray(i, i + step), (b) => got.push(Buffer.from(b)));
      expect(got.map((b) => b.toString('hex'))).toEqual(bodies.map((b) => b.toString('hex')));
    }
  });

  it('a batch frame carries the metadata and the lines side by side, and decodes back to the same batch', () => {
    for (const b of [batch(1), batch(2), { ...batch(3), lines: Buffer.alloc(0), count: 0 }]) {
      const parts = laneFrame(packBatch(b));
      expect(parts.length).toBe(b.lines?.length ? 3 : 2);
      if (b.lines?.length) expect(parts[2]).toBe(b.lines); // written from the batch's own buffer, not copied
      const whole = Buffer.concat(parts);
      expect(whole.readUInt32BE(0)).toBe(whole.length - 4);
      const back = unpackBatch(decodeLaneBatch(whole.subarray(4)));
      expect({ ...back, lines: back.lines ? Buffer.from(back.lines) : undefined }).toEqual({ ...b, lines: b.lines?.length ? Buffer.from(b.lines) : undefined });
    }
    // records as a view of a response plus bounds (the input's hot path): the bounds survive the trip
    const body = Buffer.from('[{"a":1},{"b":2}]');
    const viewBatch: EventBatch = { ...batch(5), records: [], ...packLines([body.subarray(1, 8), body.subarray(9, 16)]), count: 2 };
    expect(viewBatch.bounds).toBeDefined();
    const back = unpackBatch(decodeLaneBatch(Buffer.concat(laneFrame(packBatch(viewBatch))).subarray(4)));
    expect(back.bounds).toEqual(viewBatch.bounds);
    expect(batchTexts(back)).toEqual(['{"a":1}', '{"b":2}']);
    expect(() => decodeLaneBatch(Buffer.from([0, 0, 0, 9, 1]))).toThrow(/metadata of 9 bytes/);
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
    expect(received.map((b) => ({ ...b, lines: b.lines && Buffer.from(b.lines) }))).toEqual(sent.map((b) => ({ ...b, lines: b.lines && Buffer.from(b.lines) })));
    expect(acks.map((a) => a.batchId)).toEqual(sent.map((b) => b.batchId));
    expect(viaIpc).toEqual([]);

    await server.close();
    await new Promise((r) => setTimeout(r, 50));
    peer.send({ type: 'packed-batch', ...packBatch(batch(99)) });
    expect(viaIpc).toHaveLength(1); // the lane is gone: the batch takes the supervisor's way
    // ... with its lines beside the metadata, as the supervisor forwards them
    expect(unpackBatch(viaIpc[0] as { packed: Uint8Array; lines?: Uint8Array }).lines).toEqual(batch(99).lines);
    expect(await peer.connect(path.join(dir, 'nobody.sock'))).toBe(false);
    peer.close();
  });
});
