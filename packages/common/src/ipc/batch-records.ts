/**
 * The one form of a batch's records (`EventBatch.data` + `bounds`): building it from record bytes
 * (the pullers: views of the response) or from strings (snapshots, the output's own records), and
 * reading it back (tests, the console sink).
 */
import type { EventBatch } from './batch.js';

export type BatchRecords = Pick<EventBatch, 'data' | 'bounds' | 'bytes'>;

/**
 * The records as one buffer plus their bounds. When they lie in order in one buffer (the response
 * they came from, with little else between them) `data` is a view of it: no copy. Otherwise they
 * are copied into one buffer, back to back.
 */
export function packRecords(items: readonly Uint8Array[]): BatchRecords {
  const bounds = new Uint32Array(2 * items.length);
  let bytes = 0;
  let inOrder = true;
  for (let k = 0; k < items.length; k++) {
    const it = items[k] as Uint8Array;
    bytes += it.byteLength;
    const prev = items[k - 1];
    inOrder &&= it.buffer === items[0]?.buffer && (!prev || it.byteOffset >= prev.byteOffset + prev.byteLength);
  }
  const first = items[0];
  const last = items[items.length - 1];
  const start = first?.byteOffset ?? 0;
  const span = first && last ? last.byteOffset + last.byteLength - start : 0;
  // Gaps are separators, or records dropped as duplicates: worth sending only while they are few.
  if (first && inOrder && span <= bytes + bytes / 4 + items.length * 8) {
    items.forEach((it, k) => {
      bounds[2 * k] = it.byteOffset - start;
      bounds[2 * k + 1] = it.byteOffset - start + it.byteLength;
    });
    return { data: new Uint8Array(first.buffer, start, span), bounds, bytes };
  }
  const data = Buffer.allocUnsafe(bytes);
  let off = 0;
  items.forEach((it, k) => {
    bounds[2 * k] = off;
    data.set(it, off);
    off += it.byteLength;
    bounds[2 * k + 1] = off;
  });
  return { data, bounds, bytes };
}

/** Records that start as strings (a snapshot, a metric), encoded once as UTF-8. */
export function textRecords(texts: readonly string[]): BatchRecords {
  const bounds = new Uint32Array(2 * texts.length);
  let bytes = 0;
  for (const t of texts) bytes += Buffer.byteLength(t, 'utf8');
  const data = Buffer.allocUnsafe(bytes);
  let off = 0;
  texts.forEach((t, k) => {
    bounds[2 * k] = off;
    off += data.write(t, off, 'utf8');
    bounds[2 * k + 1] = off;
  });
  return { data, bounds, bytes };
}

export function recordCount(b: Pick<EventBatch, 'bounds'>): number {
  return b.bounds.length >> 1;
}

/** A Buffer over the same bytes (after v8.deserialize they may arrive as a plain Uint8Array). */
export function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** Each record's text (tests, console output; not the hot path). */
export function recordTexts(b: Pick<EventBatch, 'data' | 'bounds'>): string[] {
  const buf = asBuffer(b.data);
  const out = new Array<string>(recordCount(b));
  for (let k = 0; k < out.length; k++) out[k] = buf.toString('utf8', b.bounds[2 * k], b.bounds[2 * k + 1]);
  return out;
}
