/**
 * Where pullers hand their batches. `send` resolves once the batch is durable downstream (the
 * output's `batch-ack`); pullers commit cursors only after that. Rejected batches are re-sent by
 * the sink with identical content, so `send` never resolves for a batch that was not acked.
 * `data` may be a view of a response that is freed once its window commits: a sink copies what it keeps past the ack.
 */
import { packRecords, type BatchRecords, type EventBatch } from '@devo-collector/common';

export interface BatchSink {
  send(batch: EventBatch): Promise<void>;
}

/** Process-wide batch sequence: ids are `<service>:<seq>` and unique for the life of the process. */
let batchSeq = 0;

function nextBatchId(service: string): string {
  batchSeq += 1;
  return `${service}:${batchSeq}`;
}

interface BatchShape {
  inputName: string;
  serviceName: string;
  tag: string;
  maxMessages: number;
}

/** One batch of `records` (packRecords, or textRecords for records that start as strings). */
export function newBatch(shape: Omit<BatchShape, 'maxMessages'>, records: BatchRecords, nowMs = Date.now(), keys?: string[]): EventBatch {
  return {
    ...(keys ? { keys } : {}),
    batchId: nextBatchId(shape.serviceName),
    group: 'standard',
    inputName: shape.inputName,
    serviceName: shape.serviceName,
    tag: shape.tag,
    ...records,
    createdAtMs: nowMs,
  };
}

/**
 * Splits records (their UTF-8 bytes, views of the response they came from) into batches of at most
 * `maxMessages` records each, so no record becomes a JS string in this process. `keys` (parallel to
 * `items`) are the records' dedup identities for the output's ledger.
 */
export function buildBatches(items: readonly Uint8Array[], shape: BatchShape, nowMs = Date.now(), keys?: readonly string[]): EventBatch[] {
  const out: EventBatch[] = [];
  const size = Math.max(1, shape.maxMessages);
  for (let i = 0; i < items.length; i += size) {
    const to = Math.min(items.length, i + size);
    out.push(newBatch(shape, packRecords(items.slice(i, to)), nowMs, keys?.slice(i, to)));
  }
  return out;
}
