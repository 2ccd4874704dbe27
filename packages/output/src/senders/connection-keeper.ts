/**
 * The stream sender's connection lifecycle: connect, replace a connection past its maximum age or
 * idle, reconnect after a failure with common's backoff (retry/backoff.ts),
 * and one attempt only once shutting down. Why its own file: the one place that decides when a
 * connection opens and how long to wait for the next; the confirmation rule decides what its frames
 * are worth.
 */
import type net from 'node:net';
import { backoffDelayMs, sleep, type Logger, type OutputConfig } from '@devo-collector/common';
import { PROVE_MS } from './confirm-rule.js';
import { type BackoffPolicy, describeSocketError, isPermanent } from './delivery.js';
import { StreamConnection } from './stream-connection.js';

export type Connector = (timeoutMs: number) => Promise<net.Socket>;

export type KeeperOptions = Pick<OutputConfig, 'connectTimeoutMs' | 'idleReconnectMs' | 'maxConnectionAgeMs'> & {
  /** `host:port`, for log lines. */
  target: string;
  connect: Connector;
  logger: Logger;
  backoff: BackoffPolicy;
  signal: AbortSignal;
  onClosed: (c: StreamConnection) => void;
};

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
          return await this.open();
        } catch (err) {
          o.logger.warn(`Connection to ${o.target} failed during shutdown: ${describeSocketError(err)}; data stays in the spool`);
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
        await sleep(wait, o.signal);
        continue;
      }
      try {
        const proto = ((await this.open()).socket as net.Socket & { getProtocol?: () => string | null }).getProtocol?.();
        o.logger.info(`Connected to ${o.target}${proto ? ` (${proto})` : ''}`);
        this.lastCause = '';
      } catch (err) {
        const cause = describeSocketError(err);
        if (isPermanent(err)) {
          o.logger.error(`Connection to ${o.target} rejected permanently: ${cause}; the data stays in the spool`);
          return null;
        }
        const wait = this.nextDelayMs();
        const line = `Connection to ${o.target} failed: ${cause}; retrying in ${(wait / 1000).toFixed(1)} s (attempt ${this.attempt})`;
        if (cause !== this.lastCause) o.logger.error(line);
        else o.logger.warn(line);
        this.lastCause = cause;
        await sleep(wait, o.signal);
      }
    }
  }

  private async open(): Promise<StreamConnection> {
    return (this.current = new StreamConnection(await this.o.connect(this.o.connectTimeoutMs), this.o.logger, this.o.target, this.o.onClosed));
  }

  /** The wait before the next attempt: common's backoff over the failures since the last confirmation. */
  private nextDelayMs(): number {
    return backoffDelayMs(this.attempt++, this.o.backoff);
  }

  /** `c` closed without confirming its `frames` (released): back off after a failure, say so. */
  lost(c: StreamConnection, frames: number): void {
    const stopping = this.o.signal.aborted;
    if (c.error && !stopping) this.reconnectDelayMs = this.nextDelayMs();
    if (stopping && !c.error) return;
    const cause = c.error ? describeSocketError(c.error) : 'connection closed before the peer confirmed it';
    this.o.logger.error(`Connection to ${this.o.target} lost: ${cause}` + (frames ? `; ${frames} unconfirmed frames will be re-sent` : ''));
  }
}
