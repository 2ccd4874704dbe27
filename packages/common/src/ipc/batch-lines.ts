/**
 * Helpers for batches whose records travel as LF-terminated bytes (`EventBatch.lines`): building
 * them from record bytes, counting, splitting and decoding (tests, console output).
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
export function batchCount(b: Pick<EventBatch, 'records' | 'lines' | 'count'>): number {
  return b.lines ? (b.count ?? lineBounds(b.lines).length) : b.records.length;
}

/** Each record's text, in either form (tests, console output; not the hot path). */
export function batchTexts(b: Pick<EventBatch, 'records' | 'lines'>): string[] {
  if (!b.lines) return b.records;
  const buf = linesBuffer(b.lines);
  return lineBounds(buf).map(([s, e]) => buf.toString('utf8', s, e));
}
