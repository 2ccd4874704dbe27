import type { CompiledConfig } from '../config/types.js';
import type { SerializedError } from '../errors.js';

/** Start: open state stores, then answer `ready` or `init-failed`. */
export interface InputInitMessage {
  type: 'init';
  config: CompiledConfig;
  saveState: boolean;
  /** `--validate`: run every service's setup once, report, do not pull. */
  validateOnly: boolean;
  /** The output's batch lane (lane.ts); without it batches go through the supervisor. */
  outputLane?: string;
}

/** The batch is durable in every output's spool: the cursor may advance. */
export interface BatchAckMessage {
  type: 'batch-ack';
  batchId: string;
}

/** The output could not take the batch (spool error): keep the cursor, retry later. */
export interface BatchRejectedMessage {
  type: 'batch-rejected';
  batchId: string;
  error: SerializedError;
}

/** The output process was restarted: every batch not yet acked must be sent again. */
export interface OutputRestartedMessage {
  type: 'output-restarted';
  /** The new output's batch lane. */
  outputLane?: string;
}

/** Stop pulling, commit what is acked, answer `stopped`, exit. */
export interface InputShutdownMessage {
  type: 'shutdown';
  deadlineMs: number;
}

export type SupervisorToInputMessage =
  | InputInitMessage
  | BatchAckMessage
  | BatchRejectedMessage
  | OutputRestartedMessage
  | InputShutdownMessage;
