/**
 * Helpers for batches whose records travel as bytes (`EventBatch.lines`, LF-terminated or with
 * `bounds`): building them from record bytes, counting, splitting and decoding (tests, console output).
 */
import type { EventBatch } from './batch.js';

const LF = 0x0a;

/** One buffer holding each record's bytes followed by a LF. */
export function joinLines(items: readonly Uint8Array[]): Buffer {
  let total = 0;
  for (const b of items) total += b.length + 1;
  const out = Buffer.allocUnsafe(total);
  let off = 0;
  for (const b of items) {
    out.set(b, off);
    off += b.length;
    out[off++] = LF;
  }
  return out;
}

/**
 * The records as `lines` plus, when they lie in order in one buffer (the response they came from,
 * with little else between them), `bounds` into a view of it: no copy. Otherwise LF-joined.
 */
export function packLines(items: readonly Uint8Array[]): Pick<EventBatch, 'lines' | 'bounds'> {
  const first = items[0];
  const last = items[items.length - 1];
  if (first && last) {
    let size = 0;
    let inOrder = true;
    for (let k = 0; k < items.length && inOrder; k++) {
      const it = items[k] as Uint8Array;
      size += it.byteLength;
      const prev = items[k - 1];
      inOrder = it.buffer === first.buffer && (!prev || it.byteOffset >= prev.byteOffset + prev.byteLength);
    }
    const start = first.byteOffset;
    const span = last.byteOffset + last.byteLength - start;
    // Gaps are separators, or records dropped as duplicates: worth sending only while they are few.
    if (inOrder && span <= size + size / 4 + items.length * 8) {
      const bounds = new Uint32Array(2 * items.length);
      items.forEach((it, k) => {
        bounds[2 * k] = it.byteOffset - start;
        bounds[2 * k + 1] = it.byteOffset - start + it.byteLength;
      });
      return { lines: new Uint8Array(first.buffer, start, span), bounds };
    }
  }
  return { lines: joinLines(items) };
}

/** [start, end) of each record of a batch's `lines`, from its `bounds` or its LFs. */
export function recordBounds(b: Pick<EventBatch, 'lines' | 'bounds'>): Array<[number, number]> {
  const bounds = b.bounds;
  if (!bounds) return b.lines ? lineBounds(b.lines) : [];
  const out = new Array<[number, number]>(bounds.length >> 1);
  for (let k = 0; k < out.length; k++) out[k] = [bounds[2 * k] as number, bounds[2 * k + 1] as number];
  return out;
}

/** The lines as a Buffer (after IPC or v8.deserialize they may arrive as a plain Uint8Array). */
export function linesBuffer(lines: Uint8Array): Buffer {
  return Buffer.isBuffer(lines) ? lines : Buffer.from(lines.buffer, lines.byteOffset, lines.byteLength);
}

/** [start, end) of each record in `lines` (end excludes the LF). */
export function lineBounds(lines: Uint8Array): Array<[number, number]> {
  const buf = linesBuffer(lines);
  const out: Array<[number, number]> = [];
  let pos = 0;
  while (pos < buf.length) {
    const lf = buf.indexOf(LF, pos);
    const end = lf < 0 ? buf.length : lf;
    out.push([pos, end]);
    pos = end + 1;
  }
  return out;
}

/** How many records the batch holds, in either form. */
export function batchCount(b: Pick<EventBatch, 'records' | 'lines' | 'bounds' | 'count'>): number {
  return b.lines ? (b.count ?? recordBounds(b).length) : b.records.length;
}

/** Each record's text, in either form (tests, console output; not the hot path). */
export function batchTexts(b: Pick<EventBatch, 'records' | 'lines' | 'bounds'>): string[] {
  if (!b.lines) return b.records;
  const buf = linesBuffer(b.lines);
  return recordBounds(b).map(([s, e]) => buf.toString('utf8', s, e));
}
