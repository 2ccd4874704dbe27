import type { SerializedError } from '../errors.js';
import type { InputMetrics } from './batch.js';
import type { LogRecordsMessage } from './log-records.js';

/**
 * First message of a worker, sent once its IPC listener is installed. The supervisor sends `init`
 * only after it: an ESM entry loads asynchronously, and a message that arrives before the
 * listener exists is dropped by Node.
 */
export interface InputStartedMessage {
  type: 'started';
  pid: number;
}

export interface InputReadyMessage {
  type: 'ready';
}

export interface InputInitFailedMessage {
  type: 'init-failed';
  error: SerializedError;
}

export interface InputMetricsMessage {
  type: 'metrics';
  metrics: InputMetrics;
}

/** Outcome of a service's setup (token check); `--validate` waits for all of them. */
export interface SetupResultMessage {
  type: 'setup-result';
  service: string;
  ok: boolean;
  error?: SerializedError;
}

export interface InputStoppedMessage {
  type: 'stopped';
}

export type InputToSupervisorMessage =
  | InputStartedMessage
  | InputReadyMessage
  | InputInitFailedMessage
  | InputMetricsMessage
  | SetupResultMessage
  | InputStoppedMessage
  | LogRecordsMessage;
