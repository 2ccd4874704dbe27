/**
 * Where pullers hand their batches. `send` resolves once the batch is durable downstream (the
 * output's `batch-ack`); pullers commit cursors only after that. Rejected batches are re-sent by
 * the sink with identical content, so `send` never resolves for a batch that was not acked.
 */
import { packLines, utf8Bytes, type EventBatch } from '@devo-collector/common';

export interface BatchSink {
  send(batch: EventBatch): Promise<void>;
}

/** Process-wide batch sequence: ids are `<service>:<seq>` and unique for the life of the process. */
let batchSeq = 0;

export function nextBatchId(service: string): string {
  batchSeq += 1;
  return `${service}:${batchSeq}`;
}

interface BatchShape {
  inputName: string;
  serviceName: string;
  tag: string;
  maxMessages: number;
}

/** Cuts `n` items into runs of at most `maxMessages`; `body` fills each batch's records part. */
function chunked(
  n: number,
  shape: BatchShape,
  nowMs: number,
  keys: readonly string[] | undefined,
  body: (from: number, to: number) => Pick<EventBatch, 'records' | 'lines' | 'bounds' | 'count' | 'bytes'>,
): EventBatch[] {
  const out: EventBatch[] = [];
  const size = Math.max(1, shape.maxMessages);
  for (let i = 0; i < n; i += size) {
    const to = Math.min(n, i + size);
    out.push({
      ...(keys ? { keys: keys.slice(i, to) } : {}),
      batchId: nextBatchId(shape.serviceName),
      group: 'standard',
      inputName: shape.inputName,
      serviceName: shape.serviceName,
      tag: shape.tag,
      ...body(i, to),
      createdAtMs: nowMs,
    });
  }
  return out;
}

/**
 * Splits serialized records into EventBatch messages of at most `maxMessages` records each.
 * `keys` (parallel to `records`) are the records' dedup identities for the output's ledger.
 */
export function buildBatches(records: readonly string[], shape: BatchShape, nowMs = Date.now(), keys?: readonly string[]): EventBatch[] {
  return chunked(records.length, shape, nowMs, keys, (from, to) => {
    const chunk = records.slice(from, to);
    return { records: chunk, bytes: utf8Bytes(chunk) };
  });
}

/**
 * The hot path's batches: each record as its UTF-8 bytes (the response's own), as one view of the
 * response with the records' bounds, or joined with LFs into one buffer (`packLines`), so no record
 * becomes a JS string in this process.
 */
export function buildLineBatches(items: readonly Uint8Array[], shape: BatchShape, nowMs = Date.now(), keys?: readonly string[]): EventBatch[] {
  return chunked(items.length, shape, nowMs, keys, (from, to) => {
    const run = items.slice(from, to);
    let bytes = 0;
    for (const it of run) bytes += it.byteLength;
    return { records: [], ...packLines(run), count: to - from, bytes };
  });
}
