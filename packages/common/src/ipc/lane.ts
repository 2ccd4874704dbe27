/**
 * The batch lane: a Unix socket from the InputProcess straight to the OutputProcess, the one way
 * batches travel (the event stream never passes through the supervisor: forwarding it there cost
 * ~2 CPU s per 60k breaches, most of it GC of the forwarded buffers, plus two more pipe copies).
 * The supervisor owns the lifecycle: it tells the input where the current output listens (`init`,
 * `output-restarted`); logs, metrics and control stay on IPC. No lane, no start: the output
 * answers `init-failed` (OutputError 430), the input too (RuntimeError 530).
 *
 * Framing: u32 big-endian length, then the body. Input -> output: u32 big-endian length of
 * `meta`, `meta` (the EventBatch without `data`, V8-serialized), then the records' bytes, written
 * from the batch's own buffer (never copied into one message, never through the serializer: that
 * copied every event into its growing buffer, ~400 MB of short-lived allocations per 60k
 * breaches). Output -> input: the answers (LaneAck), V8-serialized. The socket lives in a 0700
 * directory of the supervisor's, so only our user connects.
 */
import v8 from 'node:v8';
import type { SerializedError } from '../errors.js';
import type { EventBatch } from './batch.js';

/** The batch is durable in every output's spool: the cursor may advance. */
export interface BatchAckMessage {
  type: 'batch-ack';
  batchId: string;
}

/** The output could not take the batch (spool error): keep the cursor, retry later. */
export interface BatchRejectedMessage {
  type: 'batch-rejected';
  batchId: string;
  error: SerializedError;
}

export type LaneAck = BatchAckMessage | BatchRejectedMessage;

const HEADER = 4;

function view(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** The pieces of one batch frame, to be written in order (corked: one writev). */
export function laneFrame(batch: EventBatch): Buffer[] {
  const { data, ...meta } = batch;
  const packed = v8.serialize(meta);
  const h = Buffer.allocUnsafe(2 * HEADER);
  h.writeUInt32BE(HEADER + packed.byteLength + data.byteLength, 0);
  h.writeUInt32BE(packed.byteLength, HEADER);
  return data.byteLength > 0 ? [h, packed, view(data)] : [h, packed];
}

/** A batch frame's body back into the batch (`data` is a view into `body`, no copy). */
export function decodeLaneBatch(body: Buffer): EventBatch {
  if (body.length < HEADER) throw new Error(`batch frame of ${body.length} bytes`);
  const n = body.readUInt32BE(0);
  if (HEADER + n > body.length) throw new Error(`batch frame: metadata of ${n} bytes in a body of ${body.length}`);
  const meta = v8.deserialize(body.subarray(HEADER, HEADER + n)) as Omit<EventBatch, 'data'>;
  return { ...meta, data: body.subarray(HEADER + n) };
}

export function laneAckFrame(m: LaneAck): Buffer {
  const body = v8.serialize(m);
  const out = Buffer.allocUnsafe(HEADER + body.length);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, HEADER);
  return out;
}

export function decodeLaneAck(body: Buffer): LaneAck {
  return v8.deserialize(body) as LaneAck;
}

/** Splits a byte stream into frame bodies; keeps chunks in a list and copies each body once. */
export class LaneReader {
  private chunks: Buffer[] = [];
  private size = 0;

  push(chunk: Buffer, onFrame: (body: Buffer) => void): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    for (;;) {
      if (this.size < HEADER) return;
      const len = this.peekLength();
      if (this.size < HEADER + len) return;
      const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.size);
      onFrame(all.subarray(HEADER, HEADER + len));
      const rest = all.subarray(HEADER + len);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.size = rest.length;
    }
  }

  private peekLength(): number {
    // A header split over chunks: merge them once, so the header is whole in the first chunk.
    if ((this.chunks[0] as Buffer).length < HEADER) this.chunks = [Buffer.concat(this.chunks, this.size)];
    return (this.chunks[0] as Buffer).readUInt32BE(0);
  }
}
