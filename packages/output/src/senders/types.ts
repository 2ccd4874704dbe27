import type { Spool, SpoolFrame } from '../spool.js';

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
}

/**
 * The next frame a sender takes: waits for one until `signal` aborts (stop), then takes only what
 * is ready now, while `draining()` allows (shutdown drains it); null: no more.
 */
export async function nextFrame(spool: Spool, signal: AbortSignal, draining: () => boolean = () => true): Promise<SpoolFrame | null> {
  if (!signal.aborted) {
    const frame = await spool.next(signal);
    if (frame || !signal.aborted) return frame;
  }
  return draining() ? spool.nextReady() : null;
}
