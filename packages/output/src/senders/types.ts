import type { DeliveryResult } from './delivery.js';

/** What the monitor prints: `status: {"internal_queue_size": 0, "is_connection_open": false}`. */
export interface SenderStatus {
  internal_queue_size: number;
  is_connection_open: boolean;
}

/** Totals since start; `messages`/`bytes` count settled frames. */
export interface SenderCounters {
  messages: number;
  bytes: number;
  /** Time spent between handing bytes to the socket and their flush. */
  writeMs: number;
}

/** A sender drains one spool; several senders may share a spool (output.concurrency). */
export interface Sender {
  readonly name: string;
  start(): void;
  /** Stop taking frames, flush and close until the deadline (epoch ms); unsent frames stay spooled. */
  stop(deadlineAtMs: number): Promise<void>;
  status(): SenderStatus;
  counters(): SenderCounters;
  /** `--validate`: connect once (TLS handshake included), close, report. */
  check(): Promise<DeliveryResult>;
}
