/**
 * Stall detection and the stream sender's health (`Sender.health()`, OutputError 405). Why its own
 * file: readiness (`/ready`) trusts this state, so when a stall starts and ends is decided here.
 * A connection with frames on which for the stall bound nothing is confirmed, no further byte is
 * acknowledged and no clean close starts (a peer that accepts TLS and never reads, or never answers
 * our FIN) is torn down; stalled from then until the next confirmation, and also when data has waited
 * the bound with no connection; ok again on a confirmation or once nothing waited NOTHING_WAITS_MS.
 */
import { OutputError, type Logger } from '@devo-collector/common';
import { OUTPUT_ERROR } from '../errors.js';
import { PROVE_MS } from './confirm-rule.js';
import type { StreamConnection } from './stream-connection.js';
import { readTxQueue } from './tcp-queue.js';
import type { SenderHealth } from './types.js';

/** How often the sender checks its connection (confirmations, stall, quiet close). */
export const TICK_MS = 100;
/**
 * How long nothing must wait before a stall is over without a confirmation (a few ticks): right
 * after a reconnect the send loop gives its frame back and re-leases the oldest one (a disk read),
 * and for that instant it holds nothing.
 */
const NOTHING_WAITS_MS = 1_000;

export class StallWatch {
  /** The stall bound per connection, never shorter than it takes a young connection to close cleanly. */
  readonly tearDownMs: number;
  /** Since when data has waited without a confirmation, and since when nothing has (null: not so). */
  private waitingSince: number | null = null;
  private idleSince: number | null = null;
  private stalled: { sinceMs: number; message: string } | null = null;

  constructor(private readonly target: string, private readonly log: Logger, private readonly stallTimeoutMs: number, quietMs: number) {
    this.tearDownMs = Math.max(stallTimeoutMs, PROVE_MS + quietMs + 2 * TICK_MS);
  }

  health(): SenderHealth {
    return this.stalled ? { state: 'stalled', sinceMs: this.stalled.sinceMs, message: this.stalled.message } : { state: 'ok' };
  }

  get isStalled(): boolean {
    return !!this.stalled;
  }

  /** The send loop took a frame. */
  waiting(now: number): void {
    this.waitingSince ??= now;
  }

  /** Something was confirmed on `c`: the stall clocks restart, a stall is over. */
  progressed(c: StreamConnection, now: number, stillWaiting: boolean): void {
    c.progressAt = now;
    this.waitingSince = stillWaiting ? now : null;
    if (this.stalled) {
      this.log.info(`${this.target} accepts data again after ${((now - this.stalled.sinceMs) / 1000).toFixed(0)} s`);
      this.stalled = null;
    }
  }

  /** `c` holds frames and made no progress for the bound. */
  isStalledOut(c: StreamConnection, now: number): boolean {
    return c.frames > 0 && now - c.progressAt >= this.tearDownMs;
  }

  /** The peer confirmed nothing for the stall bound: drop the connection, re-send on the next. */
  tearDown(c: StreamConnection, now: number): void {
    const s = ((now - c.progressAt) / 1000).toFixed(0);
    const unacked = readTxQueue(c.row); // for the figures of the line below
    if (unacked !== null) c.acked = Math.max(c.acked, c.done - unacked);
    const message =
      `${this.target} accepted no data for ${s} s (${c.frames} frames unconfirmed; its kernel acknowledged ${c.acked} bytes of this connection, ` +
      `${c.handed - c.acked} more wait)`;
    this.log.error(`${new OutputError(OUTPUT_ERROR.stalled, `${message}: closing the connection; the unconfirmed frames are re-sent on the next one`)}`);
    this.stalled ??= { sinceMs: Math.min(this.waitingSince ?? c.progressAt, c.progressAt), message };
    c.error ??= Object.assign(new Error(`stalled: no data accepted for ${s} s`), { code: 'ESTALLED' });
    c.socket.destroy();
  }

  /**
   * Every tick: stalled when data has waited the bound with no connection to send it on
   * (`lastCause`: the last connection attempt's error); a stall ends once nothing has waited a while.
   */
  check(now: number, waiting: boolean, connected: boolean, lastCause: string): void {
    if (!waiting) {
      this.waitingSince = null;
      this.idleSince ??= now;
      if (this.stalled && now - this.idleSince >= NOTHING_WAITS_MS) {
        this.log.info(`${this.target}: nothing waits any more, no longer stalled`);
        this.stalled = null;
      }
      return;
    }
    this.idleSince = null;
    this.waitingSince ??= now;
    if (!this.stalled && !connected && now - this.waitingSince >= this.stallTimeoutMs) {
      const s = ((now - this.waitingSince) / 1000).toFixed(0);
      const why = lastCause ? ` (last connection attempt: ${lastCause})` : '';
      const message = `${this.target} accepted no data for ${s} s while data waits${why}`;
      this.stalled = { sinceMs: this.waitingSince, message };
      this.log.error(`${new OutputError(OUTPUT_ERROR.stalled, message)}`);
    }
  }
}
