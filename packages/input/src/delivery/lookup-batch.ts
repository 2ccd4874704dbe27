/**
 * The one place a lookup job becomes a batch: group `lookup`, its single record the job's JSON
 * (the output encodes it, per output, into its sender's wire form). No dedup keys: a job re-sent
 * after a crash is rebuilt against the same committed inventory, so sending it twice is harmless.
 */
import { serializeLookupJob, utf8Bytes, type EventBatch, type LookupJob } from '@devo-collector/common';
import { nextBatchId } from './batch-sink.js';

export function buildLookupBatch(job: LookupJob, shape: { inputName: string; serviceName: string; tag: string }, nowMs = Date.now()): EventBatch {
  const records = [serializeLookupJob(job)];
  return {
    batchId: nextBatchId(shape.serviceName),
    group: 'lookup',
    inputName: shape.inputName,
    serviceName: shape.serviceName,
    tag: shape.tag,
    records,
    bytes: utf8Bytes(records),
    createdAtMs: nowMs,
  };
}
