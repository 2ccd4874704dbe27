import type { SerializedError } from '../errors.js';
import type { OutputMetrics } from './batch.js';

/**
 * First message of a worker, sent once its IPC listener is installed. The supervisor sends `init`
 * only after it: an ESM entry loads asynchronously, and a message that arrives before the
 * listener exists is dropped by Node.
 */
export interface OutputStartedMessage {
  type: 'started';
  pid: number;
}

export interface OutputReadyMessage {
  type: 'ready';
  /** Path of the batch lane's Unix socket (lane.ts); without one the output answers init-failed instead. */
  lane: string;
}

export interface OutputInitFailedMessage {
  type: 'init-failed';
  error: SerializedError;
}

export interface OutputMetricsMessage {
  type: 'metrics';
  metrics: OutputMetrics;
}

/** `--validate`: result of the connectivity check of one output. */
export interface OutputCheckResultMessage {
  type: 'output-check';
  output: string;
  ok: boolean;
  error?: SerializedError;
}

export interface OutputStoppedMessage {
  type: 'stopped';
}

export type OutputToSupervisorMessage =
  | OutputStartedMessage
  | OutputReadyMessage
  | OutputInitFailedMessage
  | OutputMetricsMessage
  | OutputCheckResultMessage
  | OutputStoppedMessage;
