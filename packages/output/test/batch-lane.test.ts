/**
 * The batch lane's framing (common/src/ipc/lane.ts) and the output's end of it; the input's end
 * (LaneClient) against this server is in packages/input/test/lane-client.test.ts.
 */
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeLaneAck, decodeLaneBatch, laneFrame, LaneReader, packRecords, recordTexts, textRecords, type EventBatch, type LaneAck } from '@devo-collector/common';
import { startBatchLane } from '../src/batch-lane.js';

const batch = (n: number, size = 3): EventBatch => {
  const records = Array.from({ length: size }, (_, i) => JSON.stringify({ n, i, pad: 'x'.repeat(n * 100) }));
  return { batchId: `modelbreaches:${n}`, group: 'standard', inputName: 'darktrace', serviceName: 'modelbreaches', tag: 't', ...textRecords(records), keys: records.map((_, i) => `${n}-${i}`), createdAtMs: 1 };
};
const plain = (b: EventBatch) => ({ ...b, data: Buffer.from(b.data) });

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

  it('a batch frame carries the metadata and the records side by side, and decodes back to the same batch', () => {
    for (const b of [batch(1), batch(2), batch(3, 0)]) {
      const parts = laneFrame(b);
      expect(parts.length).toBe(b.data.length ? 3 : 2);
      if (b.data.length) expect(parts[2]).toBe(b.data); // written from the batch's own buffer, not copied
      const whole = Buffer.concat(parts);
      expect(whole.readUInt32BE(0)).toBe(whole.length - 4);
      expect(plain(decodeLaneBatch(whole.subarray(4)))).toEqual(plain(b));
    }
    // records as a view of a response (the pullers' batches): only the records' span travels
    const body = Buffer.from('[{"a":1},{"b":2}]');
    const view: EventBatch = { ...batch(5), ...packRecords([body.subarray(1, 8), body.subarray(9, 16)]) };
    const back = decodeLaneBatch(Buffer.concat(laneFrame(view)).subarray(4));
    expect(back.bounds).toEqual(view.bounds);
    expect(recordTexts(back)).toEqual(['{"a":1}', '{"b":2}']);
    expect(() => decodeLaneBatch(Buffer.from([0, 0, 0, 9, 1]))).toThrow(/metadata of 9 bytes/);
  });

  it('the server hands every batch over intact and in order and answers on the same connection; an unreadable frame closes it', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lane-'));
    const received: EventBatch[] = [];
    const server = await startBatchLane(dir, (b, reply) => {
      received.push(b);
      reply({ type: 'batch-ack', batchId: b.batchId });
    });
    const socket = net.createConnection(server.path);
    await new Promise((r) => socket.once('connect', r));
    const acks: LaneAck[] = [];
    const reader = new LaneReader();
    socket.on('data', (c: Buffer) => reader.push(c, (body) => acks.push(decodeLaneAck(body))));
    const sent = Array.from({ length: 50 }, (_, i) => batch(i));
    for (const b of sent) for (const part of laneFrame(b)) socket.write(part);
    await expect.poll(() => acks.length, { timeout: 10_000 }).toBe(50);
    expect(received.map(plain)).toEqual(sent.map(plain));
    expect(acks.map((a) => a.batchId)).toEqual(sent.map((b) => b.batchId));
    const closed = new Promise((r) => socket.once('close', r));
    socket.write(frame(Buffer.from([0, 0, 0, 9, 1])));
    await closed;
    await server.close();
  });
});
