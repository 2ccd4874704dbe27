import type { CompiledConfig } from '../config/types.js';
import type { EventBatch } from './batch.js';
import type { PackedBatch } from './packed-batch.js';
import type { LogRecordsMessage } from './log-records.js';

export interface OutputInitMessage {
  type: 'init';
  config: CompiledConfig;
  /** `--validate`: open TLS material and try one connection per output, report, exit. */
  validateOnly: boolean;
  /** The supervisor's private (0700) run directory: where the batch lane's socket goes. */
  runDir?: string;
}

/** Make the batch durable in the spool, answer `batch-durable` (or `batch-failed`). */
export interface OutputBatchMessage {
  type: 'batch';
  batch: EventBatch;
}

/** Flush what can be flushed, checkpoint the spool, answer `stopped`, exit. */
/** The same, still serialized as the input packed it: the supervisor forwards bytes. */
export interface OutputPackedBatchMessage extends PackedBatch {
  type: 'packed-batch';
}

export interface OutputShutdownMessage {
  type: 'shutdown';
  deadlineMs: number;
}

export type SupervisorToOutputMessage =
  | OutputInitMessage
  | OutputBatchMessage
  | OutputPackedBatchMessage
  | OutputShutdownMessage
  | LogRecordsMessage;
