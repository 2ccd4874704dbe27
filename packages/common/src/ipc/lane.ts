/**
 * The batch lane: a Unix socket from the InputProcess straight to the OutputProcess, so the event
 * stream does not pass through the supervisor (measured: ~2 CPU s per 60k breaches in the
 * supervisor, most of it GC of the forwarded buffers, plus two more pipe copies). The supervisor
 * still owns the lifecycle: it tells the input where the current output listens (`init`,
 * `output-restarted`), and everything else (logs, metrics, control) stays on IPC.
 *
 * Framing: u32 big-endian length, then the body. Input → output: a packed EventBatch
 * (packed-batch.ts) as u32 big-endian length of `packed`, `packed`, then the lines' bytes (written
 * from the batch's own buffer, never copied into one message). Output → input: the ack messages,
 * V8-serialized (the encoding of the 'advanced' IPC channel). The socket lives in a 0700 directory of the supervisor's, so only our user connects.
 */
import v8 from 'node:v8';
import type { PackedBatch } from './packed-batch.js';
import type { BatchAckMessage, BatchRejectedMessage } from './supervisor-to-input.js';

export type LaneAck = BatchAckMessage | BatchRejectedMessage;

const HEADER = 4;

function view(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** The pieces of one batch frame, to be written in order (corked: one writev). */
export function laneFrame(p: Pick<PackedBatch, 'packed' | 'lines'>): Buffer[] {
  const lines = p.lines?.byteLength ?? 0;
  const h = Buffer.allocUnsafe(2 * HEADER);
  h.writeUInt32BE(HEADER + p.packed.byteLength + lines, 0);
  h.writeUInt32BE(p.packed.byteLength, HEADER);
  const parts = [h, view(p.packed)];
  if (p.lines && lines > 0) parts.push(view(p.lines));
  return parts;
}

/** A batch frame's body back into its parts (views into `body`, no copy). */
export function decodeLaneBatch(body: Buffer): Pick<PackedBatch, 'packed' | 'lines'> {
  if (body.length < HEADER) throw new Error(`batch frame of ${body.length} bytes`);
  const n = body.readUInt32BE(0);
  if (HEADER + n > body.length) throw new Error(`batch frame: metadata of ${n} bytes in a body of ${body.length}`);
  const packed = body.subarray(HEADER, HEADER + n);
  return HEADER + n < body.length ? { packed, lines: body.subarray(HEADER + n) } : { packed };
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
