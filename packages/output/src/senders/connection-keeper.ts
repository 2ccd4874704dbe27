/**
 * The stream sender's connection lifecycle: connect, replace a connection past its maximum age or
 * idle, reconnect after a failure with common's backoff (retry/backoff.ts, through `deliveryResult`),
 * and one attempt only once shutting down. Why its own file: the one place that decides when a
 * connection opens and how long to wait for the next; the confirmation rule decides what its frames
 * are worth.
 */
import type net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelayMs, type Logger } from '@devo-collector/common';
import { PROVE_MS } from './confirm-rule.js';
import { type BackoffPolicy, deliveryResult, describeSocketError } from './delivery.js';
import { StreamConnection } from './stream-connection.js';

export type Connector = (timeoutMs: number) => Promise<net.Socket>;

export interface KeeperOptions {
  /** `host:port`, for log lines. */
  target: string;
  connect: Connector;
  log: Logger;
  connectTimeoutMs: number;
  idleReconnectMs: number;
  maxConnectionAgeMs: number;
  backoff: BackoffPolicy;
  signal: AbortSignal;
  onClosed: (c: StreamConnection) => void;
}

export class ConnectionKeeper {
  current: StreamConnection | null = null;
  /** The last connection attempt's error ('' once connected). */
  lastCause = '';
  /** Failures since the last confirmation. */
  private attempt = 0;
  private reconnectDelayMs = 0;
  private shutdownAttempted = false;

  constructor(private readonly o: KeeperOptions) {}

  /** A frame was confirmed: the peer is fine, the backoff starts over. */
  confirmed(): void {
    this.attempt = 0;
  }

  /** A usable connection, or null: permanently rejected, or none at shutdown (`signal` aborted). */
  async ensure(): Promise<StreamConnection | null> {
    const { o } = this;
    for (;;) {
      const c = this.current;
      if (o.signal.aborted) {
        if (c?.usable) return c;
        // Draining at shutdown: one connection attempt, no retries (the data stays spooled anyway).
        if (this.shutdownAttempted) return null;
        this.shutdownAttempted = true;
        try {
          return (this.current = new StreamConnection(await o.connect(o.connectTimeoutMs), o.log, o.target, o.onClosed));
        } catch (err) {
          o.log.warn(`Connection to ${o.target} failed during shutdown: ${describeSocketError(err)}; data stays in the spool`);
          return null;
        }
      }
      if (c?.usable && !c.error) {
        const now = Date.now();
        // (A connection younger than PROVE_MS is kept: its clean close would confirm nothing.)
        if (now - c.openedAt < PROVE_MS) return c;
        if (now - c.openedAt > o.maxConnectionAgeMs) await c.close('maximum connection age reached');
        else if (now - c.lastWriteAt > o.idleReconnectMs) await c.close('idle connection');
        else return c;
      } else if (c && !c.closed) {
        await c.whenClosed;
      }
      if (this.reconnectDelayMs > 0) {
        const wait = this.reconnectDelayMs;
        this.reconnectDelayMs = 0;
        await sleep(wait, undefined, { signal: o.signal, ref: false }).catch(() => undefined);
        continue;
      }
      try {
        this.current = new StreamConnection(await o.connect(o.connectTimeoutMs), o.log, o.target, o.onClosed);
        const proto = (this.current.socket as net.Socket & { getProtocol?: () => string | null }).getProtocol?.();
        o.log.info(`Connected to ${o.target}${proto ? ` (${proto})` : ''}`);
        this.lastCause = '';
      } catch (err) {
        const r = deliveryResult(err, ++this.attempt, o.backoff);
        if (r.kind === 'rejected') {
          o.log.error(`Connection to ${o.target} rejected permanently: ${r.cause}; the data stays in the spool`);
          return null;
        }
        if (r.kind === 'retryable') {
          const line = `Connection to ${o.target} failed: ${r.cause}; retrying in ${(r.retryInMs / 1000).toFixed(1)} s (attempt ${this.attempt})`;
          if (r.cause !== this.lastCause) o.log.error(line);
          else o.log.warn(line);
          this.lastCause = r.cause;
          await sleep(r.retryInMs, undefined, { signal: o.signal, ref: false }).catch(() => undefined);
        }
      }
    }
  }

  /** `c` closed without confirming its `frames` (released): back off after a failure, say so. */
  lost(c: StreamConnection, frames: number): void {
    const stopping = this.o.signal.aborted;
    if (c.error && !stopping) this.reconnectDelayMs = backoffDelayMs(this.attempt++, this.o.backoff);
    if (stopping && !c.error) return;
    const cause = c.error ? describeSocketError(c.error) : 'connection closed before the peer confirmed it';
    this.o.log.error(`Connection to ${this.o.target} lost: ${cause}` + (frames ? `; ${frames} unconfirmed frames will be re-sent` : ''));
  }
}
