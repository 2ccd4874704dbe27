/**
 * A sender that drains a spool into one stream connection (TLS or plain TCP; the connector
 * decides): the send loop and the shutdown. Frames go out in spool order; `write() === false`
 * waits for 'drain'. What it delegates: the connection's counts (stream-connection.ts), when a
 * frame counts as sent (confirm-rule.ts), stall detection and health (stall-watch.ts), connecting
 * and reconnecting (connection-keeper.ts).
 *
 * Shutdown drains what is ready until the last CLOSE_RESERVE_MS (at most half the time left) and
 * then closes cleanly, so what it sent is confirmed.
 *
 * After a crash (kill -9) recovery resumes after the confirmed prefix: the unconfirmed frames are
 * the duplicates (bound: packages/output/README.md, "Delivery and the re-send bound").
 */
import { sleep, type OutputConfig } from '@devo-collector/common';
import type { Spool, SpoolFrame } from '../spool.js';
import { closedCleanly, confirmWithinMs, drainConfirmed, PROVE_MS, tailCloseReason } from './confirm-rule.js';
import { ConnectionKeeper, type KeeperOptions } from './connection-keeper.js';
import { type BackoffPolicy, DEFAULT_BACKOFF, describeSocketError } from './delivery.js';
import { StallWatch, TICK_MS } from './stall-watch.js';
import type { FrameCount, StreamConnection } from './stream-connection.js';
import { nextFrame, type Sender, type SenderCounters, type SenderHealth, type SenderStatus } from './types.js';

const DEFAULT_QUIET_MS = 1_000;
/**
 * At shutdown, the last part of the time left (at most this) is kept for the clean close that
 * confirms what was sent: draining a backlog until the deadline and then destroying the
 * connection would confirm nothing (everything re-sent at the next start).
 */
const CLOSE_RESERVE_MS = 1_500;

/** The keeper's options, the stall bound and the drain rule's margin (`peerReceiveBufferBytes`), as configured. */
type StreamSenderOptions = Omit<KeeperOptions, 'backoff' | 'signal' | 'onClosed'> &
  Pick<OutputConfig, 'stallTimeoutMs' | 'peerReceiveBufferBytes'> & {
    name: string;
    spool: Spool;
    /** Close cleanly after this long without writes while frames are unconfirmed (default 1 s). */
    quietMs?: number;
    backoff?: BackoffPolicy;
  };

class StreamSender implements Sender {
  readonly name: string;
  private readonly tail: { quietMs: number; confirmWithinMs: number; idleReconnectMs: number };
  private readonly link: ConnectionKeeper;
  private readonly stall: StallWatch;
  private readonly abort = new AbortController();
  private loop: Promise<void> | null = null;
  private tick: NodeJS.Timeout | null = null;
  /** The send loop holds a frame it has not written yet (connecting, backing off). */
  private holding = false;
  /** Once stopping: take no more frames after this instant (the rest of the time is the clean close's). */
  private drainUntil = Infinity;
  private readonly count: SenderCounters = { messages: 0, bytes: 0, writeMs: 0 };

  constructor(private readonly o: StreamSenderOptions) {
    this.name = o.name;
    // Explicit `undefined` in opts must not override the defaults (a spread would).
    const quietMs = o.quietMs ?? DEFAULT_QUIET_MS;
    this.tail = { quietMs, confirmWithinMs: confirmWithinMs(quietMs, o.stallTimeoutMs), idleReconnectMs: o.idleReconnectMs };
    this.stall = new StallWatch(o.target, o.logger, o.stallTimeoutMs, quietMs);
    this.link = new ConnectionKeeper({ ...o, backoff: o.backoff ?? DEFAULT_BACKOFF, signal: this.abort.signal, onClosed: (c) => this.onClosed(c) });
  }

  start(): void {
    if (this.loop) return;
    this.tick = setInterval(() => this.onTick(), TICK_MS);
    this.tick.unref();
    this.loop = this.run().catch((err: unknown) => this.o.logger.error(`Sender stopped unexpectedly: ${describeSocketError(err)}`));
  }

  status(): SenderStatus {
    const c = this.link.current;
    return { internal_queue_size: c ? c.frames : 0, is_connection_open: !!c?.usable };
  }

  counters(): SenderCounters {
    return { ...this.count };
  }

  health(): SenderHealth {
    return this.stall.health();
  }

  private async run(): Promise<void> {
    // Once stopping, drain what is ready on the live connection, then leave.
    for (let frame: SpoolFrame | null; (frame = await nextFrame(this.o.spool, this.abort.signal, () => Date.now() < this.drainUntil)); ) {
      this.holding = true;
      this.stall.waiting(Date.now());
      try {
        const previous = this.link.current;
        const conn = await this.link.ensure();
        // A new connection: frames of the old one were released meanwhile and are older than the
        // one we hold. Give it back and take the oldest, so the order on the wire holds.
        if (!conn || conn !== previous || !conn.usable) this.o.spool.release(frame.seq);
        else await conn.write(frame, (ms) => (this.count.writeMs += ms));
        if (!conn) return;
      } finally {
        this.holding = false;
      }
    }
  }

  private onClosed(c: StreamConnection): void {
    const frames = c.takeFrames();
    const now = Date.now();
    // Clean close: the peer read everything up to our FIN (our FIN follows every written byte).
    if (closedCleanly(c, now)) return this.settle(c, frames, now);
    for (const f of frames) this.o.spool.release(f.seq);
    this.link.lost(c, frames.length);
  }

  private settle(c: StreamConnection, frames: FrameCount[], now: number): void {
    if (frames.length === 0) return;
    for (const f of frames) {
      this.o.spool.settle(f.seq);
      this.count.messages += f.messages;
      this.count.bytes += f.bytes;
    }
    this.link.confirmed();
    this.stall.progressed(c, now, this.isWaiting());
  }

  private isWaiting(): boolean {
    const c = this.link.current;
    return this.holding || (!!c && !c.closed && c.frames > 0);
  }

  private onTick(): void {
    const now = Date.now();
    const c = this.link.current;
    if (c && !c.closed) {
      if (c.frames > 0) this.settle(c, drainConfirmed(c, now, this.o.peerReceiveBufferBytes, now - c.progressAt >= this.stall.tearDownMs), now);
      if (this.stall.isStalledOut(c, now)) this.stall.tearDown(c, now);
      else {
        const reason = tailCloseReason(c, now, { ...this.tail, anyTail: this.stall.isStalled });
        if (reason) void c.close(reason);
      }
    }
    this.stall.check(now, this.isWaiting(), !!c && !c.closed, this.link.lastCause);
  }

  async stop(deadlineAtMs: number): Promise<void> {
    if (this.abort.signal.aborted && !this.loop) return; // stopped already
    this.drainUntil = deadlineAtMs - Math.min(CLOSE_RESERVE_MS, (deadlineAtMs - Date.now()) / 2);
    this.abort.abort();
    const left = (): number => Math.max(0, deadlineAtMs - Date.now());
    if (this.loop) await Promise.race([this.loop, sleep(Math.max(0, this.drainUntil - Date.now()))]);
    const c = this.link.current;
    if (c && !c.closed) {
      // A clean close confirms only on a connection older than PROVE_MS: wait for that.
      const young = c.openedAt + PROVE_MS - Date.now();
      if (young > 0 && c.frames > 0) await sleep(Math.min(young, left()));
      await c.close('shutdown', left());
    }
    if (this.tick) clearInterval(this.tick);
    this.tick = null;
    this.loop = null;
  }
}

export function createStreamSender(opts: StreamSenderOptions): Sender {
  return new StreamSender(opts);
}
