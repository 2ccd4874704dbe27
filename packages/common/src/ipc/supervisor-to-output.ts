import type { CompiledConfig } from '../config/types.js';
import type { LogRecordsMessage } from './log-records.js';

export interface OutputInitMessage {
  type: 'init';
  config: CompiledConfig;
  /** `--validate`: open TLS material and try one connection per output, report, exit. */
  validateOnly: boolean;
  /** The supervisor's private (0700) run directory: where the batch lane's socket goes (required unless validateOnly). */
  runDir?: string;
}

/** Flush what can be flushed, checkpoint the spool, answer `stopped`, exit. */
export interface OutputShutdownMessage {
  type: 'shutdown';
  deadlineMs: number;
}

export type SupervisorToOutputMessage =
  | OutputInitMessage
  | OutputShutdownMessage
  | LogRecordsMessage;
