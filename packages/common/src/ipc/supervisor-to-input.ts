import type { CompiledConfig } from '../config/types.js';

/** Start: open state stores, then answer `ready` or `init-failed`. */
export interface InputInitMessage {
  type: 'init';
  config: CompiledConfig;
  saveState: boolean;
  /** `--validate`: run every service's setup once, report, do not pull. */
  validateOnly: boolean;
  /** The output's batch lane (lane.ts), the only way batches travel; absent only with validateOnly. */
  outputLane?: string;
}

/** The output process was restarted: every batch not yet acked is sent again, on its new lane. */
export interface OutputRestartedMessage {
  type: 'output-restarted';
  /** The new output's batch lane. */
  outputLane: string;
}

/** Stop pulling, commit what is acked, answer `stopped`, exit. */
export interface InputShutdownMessage {
  type: 'shutdown';
  deadlineMs: number;
}

export type SupervisorToInputMessage =
  | InputInitMessage
  | OutputRestartedMessage
  | InputShutdownMessage;
