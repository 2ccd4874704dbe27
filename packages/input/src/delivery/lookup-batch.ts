/**
 * The one place a lookup job becomes a batch: group `lookup`, its single record the job's JSON
 * (the output encodes it, per output, into its sender's wire form). Its ledger key is the job's
 * name and id: the same batch sent again after an output restart is dropped when already durable.
 * After an input restart the job is rebuilt (a new id) from the committed inventory: the same
 * changes again, which an INC applies idempotently and a FULL replaces.
 */
import { serializeLookupJob, textRecords, type EventBatch, type LookupJob } from '@devo-collector/common';
import { newBatch } from './batch-sink.js';

export function buildLookupBatch(job: LookupJob, shape: { inputName: string; serviceName: string; tag: string }, nowMs = Date.now()): EventBatch {
  return { ...newBatch(shape, textRecords([serializeLookupJob(job)]), nowMs, [`lookup:${job.name}:${job.lookupId}`]), group: 'lookup' };
}
