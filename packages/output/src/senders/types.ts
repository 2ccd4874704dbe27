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

/**
 * What the sender knows about its peer, for readiness: *stalled* when data waits and the peer has
 * accepted no bytes for the output's stall bound (`OutputConfig.stallTimeoutMs`).
 */
export type SenderHealth = { state: 'ok' } | { state: 'stalled'; sinceMs: number; message: string };

/** A sender drains one spool; several senders may share a spool (output.concurrency). */
export interface Sender {
  readonly name: string;
  start(): void;
  /** Stop taking frames, flush and close until the deadline (epoch ms); unsent frames stay spooled. */
  stop(deadlineAtMs: number): Promise<void>;
  status(): SenderStatus;
  counters(): SenderCounters;
  health(): SenderHealth;
  /** `--validate`: connect once (TLS handshake included), close, report. */
  check(): Promise<DeliveryResult>;
}
