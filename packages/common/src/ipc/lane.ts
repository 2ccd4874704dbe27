/**
 * The batch lane: a Unix socket from the InputProcess straight to the OutputProcess, so the event
 * stream does not pass through the supervisor (measured: ~2 CPU s per 60k breaches in the
 * supervisor, most of it GC of the forwarded buffers, plus two more pipe copies). The supervisor
 * still owns the lifecycle: it tells the input where the current output listens (`init`,
 * `output-restarted`), and everything else (logs, metrics, control) stays on IPC.
 *
 * Framing: u32 big-endian length, then a V8-serialized message (the encoding of the 'advanced'
 * IPC channel). Input → output: a packed EventBatch (packed-batch.ts). Output → input: the ack
 * messages. The socket lives in a 0700 directory of the supervisor's, so only our user connects.
 */
import v8 from 'node:v8';
import type { BatchAckMessage, BatchRejectedMessage } from './supervisor-to-input.js';

export type LaneAck = BatchAckMessage | BatchRejectedMessage;

const HEADER = 4;

export function laneFrame(body: Uint8Array): Buffer[] {
  const h = Buffer.allocUnsafe(HEADER);
  h.writeUInt32BE(body.length, 0);
  return [h, Buffer.from(body.buffer, body.byteOffset, body.length)];
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
