/**
 * Shared puller contract. Lifecycle: 'idle' -> 'waiting-setup' -> 'running' -> 'draining' ->
 * 'stopped'; `start()` in any state but 'idle' throws, `stop()` is idempotent.
 */
import { CollectorError, PullError, retryDelayMs, type BackoffPolicy, type ServiceConfig } from '@devo-collector/common';
import type { DarktraceApi } from '../client.js';
import type { BatchSink } from '../delivery/batch-sink.js';
import type { InputMetricsRegistry } from '../metrics.js';
import type { StateStore } from '../state/state-store.js';

export type PullerState = 'idle' | 'waiting-setup' | 'running' | 'draining' | 'stopped';

export interface Puller {
  readonly name: string;
  readonly service: string;
  readonly state: PullerState;
  /** Committed cursor (epoch ms) for time-slot services, last acked snapshot for stateless ones. */
  readonly cursorMs: number | null;
  start(): void;
  /** Stops pulling (aborts requests), waits for outstanding acks until `deadlineMs` (epoch ms), commits. */
  stop(deadlineMs: number): Promise<void>;
}

export interface PullerOptions {
  inputName: string;
  inputId: string;
  service: ServiceConfig;
  client: DarktraceApi;
  store: StateStore;
  sink: BatchSink;
  /** globals.queueWrapMaxMessages */
  maxMessagesPerBatch: number;
  /** Unacked bytes per service before pulling pauses (default 8 MiB). */
  maxInFlightBytes?: number;
  /** Time-slot services: the window length before one has been seen (default FIRST_WINDOW_MS, capped by the configured window). */
  firstWindowMs?: number;
  /** Resolves true once setup succeeded (false if it was abandoned); pulling waits for it. */
  ready?: Promise<boolean>;
  metrics?: InputMetricsRegistry;
  now?: () => number;
  /** Backoff between attempts of a failed window/snapshot. */
  retry?: BackoffPolicy;
}

export const DEFAULT_MAX_IN_FLIGHT_BYTES = 8 * 1024 * 1024;
export const DEFAULT_PULL_RETRY: BackoffPolicy = { baseMs: 1000, capMs: 60_000 };

export function asPullError(err: unknown): CollectorError {
  if (err instanceof CollectorError) return err;
  return new PullError(301, `Some error occurred while retrieving events from Darktrace server. Error details: ${err instanceof Error ? err.message : String(err)}`);
}

/** A 2xx answer the service cannot use (PullError 301), quoting its start. */
export function unexpectedShape(endpoint: string, body: unknown): CollectorError {
  return asPullError(new Error(`unexpected response shape from ${endpoint}: ${JSON.stringify(body)?.slice(0, 200)}`));
}

/** Wait before the next try of a failed pull: the appliance's Retry-After when the last attempt had one. */
export function pullRetryDelayMs(attempt: number, e: CollectorError, policy: BackoffPolicy): number {
  return retryDelayMs(attempt, policy, e instanceof PullError ? e.retryAfterMs : null);
}

/** Resolves when `signal` aborts (never rejects). */
export function whenAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
