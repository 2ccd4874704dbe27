/**
 * A sender that drains a spool into one stream connection (TLS or plain TCP; the connector
 * decides). Frames go out in spool order; `write() === false` waits for 'drain'.
 *
 * When is a frame "sent"? Devo's syslog protocol has no application ack. A write callback only
 * says the bytes reached *our* kernel, and bytes the peer's kernel acknowledged may still sit
 * unread in its receive buffer (a Devo endpoint whose process stopped reading keeps acknowledging
 * up to that buffer, several MB, and loses it all when it is reset). So a frame is *confirmed*
 * (settled: checkpointed, forgotten) only when
 *  - the drain rule holds: the bytes the peer's kernel acknowledged reach past the frame's end by
 *    more than the peer's receive buffer (`peerReceiveBufferBytes`, config
 *    `peer_receive_buffer_in_mb`, default 8 MiB): the peer's process must then have read the frame,
 *    since its kernel cannot hold more than that buffer unread. Acknowledged bytes = bytes whose
 *    write completed (in our kernel) minus our socket's unacknowledged send queue: the better of
 *    two lower bounds, minus the most the queue can hold (tcp_wmem's maximum, `sendQueueBound`),
 *    and minus the measured `tx_queue` (tcp-queue.ts), read only when it could confirm what the
 *    first cannot and at most every TX_QUEUE_POLL_MS (one read walks the kernel's whole connection
 *    table: ~4 ms on a large host). One formula; without /proc only the first term is there. For
 *    TLS the counts are plaintext bytes against a ciphertext queue: each record's ciphertext is
 *    longer than its plaintext, so the difference only under-counts (a record straddling the
 *    boundary is within the margin);
 *  - or the connection closed cleanly: our end() (FIN after every byte), then the peer's FIN back
 *    (it read everything before ours) with no error seen, on a connection older than PROVE_MS (a
 *    server that rejects our client certificate accepts the TLS 1.3 handshake first).
 * Everything else written on a connection that errors, resets, is closed by the peer or is torn
 * down is released back to the spool and re-sent, in order, on the next connection.
 *
 * The tail: after a burst the last `peerReceiveBufferBytes` can never satisfy the drain rule, so a
 * connection with at least QUIET_CLOSE_MIN_BYTES (64 KiB) unconfirmed is closed cleanly once nothing
 * was written for `quietMs` (default 1 s), or once its oldest unconfirmed frame is
 * `confirmWithinMs` old (a steady stream never goes quiet): one TLS handshake per quiet period,
 * and the tail is confirmed within about a round trip. A smaller tail (a few log lines: the
 * internal group would otherwise reconnect for its own connection lines forever) waits for more
 * data or the idle close (`idleReconnectMs`, 30 s, also clean). During a burst the drain rule
 * confirms continuously.
 *
 * Stall: a connection holding unconfirmed or unwritten frames on which for `stallTimeoutMs`
 * nothing is confirmed, no further byte is acknowledged and no clean close starts (the peer accepts
 * TLS and never reads: its buffers fill; or its kernel took everything and it never answers our
 * FIN) is torn down (ERROR OutputError(405)), its frames are released and the next connection
 * follows the usual backoff. `health()` is `stalled` from such a teardown until the next
 * confirmation (while stalled any tail is closed for, since its confirmation is what shows the
 * peer is back), and also when data has waited the bound with no connection to send it on; `ok`
 * when nothing waits.
 *
 * Shutdown drains what is ready until the last CLOSE_RESERVE_MS (1.5 s, at most half the time
 * left) and then closes cleanly, so what it sent is confirmed.
 *
 * After a crash of this process (kill -9), recovery resumes after the confirmed prefix (the
 * spool's resume record): what our kernel still held is sent again, because a stalled peer could
 * have lost it. Bound on duplicates per crash or per failed connection: the unconfirmed frames,
 * i.e. at most `peerReceiveBufferBytes` + our send queue + the writes of one TX_QUEUE_POLL_MS during a
 * burst, and after a burst only what was written since the last quiet close.
 *
 * Memory: once a frame is in the kernel we keep only its seq, size and stream offset, never its
 * payload (a release re-reads it from the spool).
 */
import type net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelayMs, OutputError, type Logger } from '@devo-collector/common';
import { OUTPUT_ERROR } from '../errors.js';
import type { Spool, SpoolFrame } from '../spool.js';
import { type BackoffPolicy, DEFAULT_BACKOFF, type DeliveryResult, deliveryResult, describeSocketError } from './delivery.js';
import { readTxQueue, sendQueueBound, tcpRowOf, type TcpRow } from './tcp-queue.js';
import type { Sender, SenderCounters, SenderHealth, SenderStatus } from './types.js';

export type Connector = (timeoutMs: number) => Promise<net.Socket>;

/** How often the send queue is read while something is unconfirmed. */
const TX_QUEUE_POLL_MS = 250;
/** How often the sender checks its connection (confirmations, stall, quiet close). */
const TICK_MS = 100;
/** How long nothing must wait before a stall is over without a confirmation (a few ticks). */
const NOTHING_WAITS_MS = 1_000;
/** A clean close confirms only on a connection at least this old (see the header). */
const PROVE_MS = 1_000;
const DEFAULT_QUIET_MS = 1_000;
/** The least unconfirmed bytes worth a clean close before the idle close (see onTick). */
const QUIET_CLOSE_MIN_BYTES = 64 * 1024;
/**
 * At shutdown, the last part of the time left (at most this) is kept for the clean close that
 * confirms what was sent: draining a backlog until the deadline and then destroying the
 * connection would confirm nothing (everything re-sent at the next start).
 */
const CLOSE_RESERVE_MS = 1_500;

export interface StreamSenderOptions {
  name: string;
  /** `host:port`, for log lines. */
  target: string;
  spool: Spool;
  connect: Connector;
  logger: Logger;
  connectTimeoutMs: number;
  idleReconnectMs: number;
  maxConnectionAgeMs: number;
  /** No confirmation for this long while data waits: stalled (OutputConfig.stallTimeoutMs). */
  stallTimeoutMs: number;
  /** The drain rule's margin (OutputConfig.peerReceiveBufferBytes). */
  peerReceiveBufferBytes: number;
  /** Close cleanly after this long without writes while frames are unconfirmed (default 1 s). */
  quietMs?: number;
  backoff?: BackoffPolicy;
}

/** A frame in the kernel, not yet confirmed: no payload (at 30 MiB/s, 2 s of payloads are 60 MB). */
interface Unconfirmed {
  seq: number;
  messages: number;
  bytes: number;
  /** Stream offset (bytes written on this connection) just after the frame. */
  end: number;
  writtenAt: number;
}

interface Conn {
  socket: net.Socket;
  row: TcpRow | null;
  openedAt: number;
  lastWriteAt: number;
  /** Bytes whose write completed (in our kernel). */
  done: number;
  /** Bytes handed to socket.write (done + those still in Node's buffer). */
  handed: number;
  /** Lower bound of the bytes the peer's kernel acknowledged. */
  acked: number;
  /** When tx_queue was last read, and the acknowledged bytes it showed (null: not yet read). */
  polledAt: number;
  measuredAcked: number | null;
  /** `done` at the last check. */
  doneSeen: number;
  /**
   * The connection's stall clock: the last confirmation, advance of `acked`, start of a clean close,
   * or when data started waiting on it.
   */
  progressAt: number;
  inflight: Map<number, SpoolFrame>;
  unconfirmed: Unconfirmed[];
  ending: boolean;
  /** The peer's FIN arrived after our end(). */
  peerEnded: boolean;
  closed: boolean;
  error: unknown;
  whenClosed: Promise<void>;
}

class StreamSender implements Sender {
  readonly name: string;
  private readonly o: Required<Omit<StreamSenderOptions, 'backoff'>> & { backoff: BackoffPolicy };
  private readonly log: Logger;
  private readonly confirmWithinMs: number;
  /** The stall bound per connection, never shorter than it takes a young connection to close cleanly. */
  private readonly tearDownMs: number;
  private conn: Conn | null = null;
  private stopping = false;
  private readonly abort = new AbortController();
  private loop: Promise<void> | null = null;
  private tick: NodeJS.Timeout | null = null;
  /** The send loop holds a frame it has not written yet (connecting, backing off). */
  private holding = false;
  /** Since when data has waited without a confirmation (null: nothing waits). */
  private waitingSince: number | null = null;
  private stalled: { sinceMs: number; message: string } | null = null;
  /** Since when nothing has waited (see checkHealth), or null while something waits. */
  private idleSince: number | null = null;
  private attempt = 0;
  private reconnectDelayMs = 0;
  private shutdownAttempted = false;
  /** Once stopping: take no more frames after this instant (the rest of the time is the clean close's). */
  private drainUntil = Infinity;
  private lastCause = '';
  private readonly count: SenderCounters = { messages: 0, bytes: 0, writeMs: 0 };

  constructor(opts: StreamSenderOptions) {
    this.name = opts.name;
    // Explicit `undefined` in opts must not override the defaults (a spread would).
    this.o = { ...opts, quietMs: opts.quietMs ?? DEFAULT_QUIET_MS, backoff: opts.backoff ?? DEFAULT_BACKOFF } as StreamSender['o'];
    // A trickle must confirm well within the stall bound, or a healthy peer would look stalled.
    this.confirmWithinMs = Math.min(10_000, Math.max(this.o.quietMs, Math.floor(this.o.stallTimeoutMs / 4)));
    this.tearDownMs = Math.max(this.o.stallTimeoutMs, PROVE_MS + this.o.quietMs + 2 * TICK_MS);
    this.log = opts.logger;
  }

  start(): void {
    if (this.loop) return;
    this.tick = setInterval(() => this.onTick(), TICK_MS);
    this.tick.unref();
    this.loop = this.run().catch((err: unknown) => this.log.error(`Sender stopped unexpectedly: ${describeSocketError(err)}`));
  }

  status(): SenderStatus {
    const c = this.conn;
    return {
      internal_queue_size: c ? c.inflight.size + c.unconfirmed.length : 0,
      is_connection_open: !!c && !c.closed && !c.ending,
    };
  }

  counters(): SenderCounters {
    return { ...this.count };
  }

  health(): SenderHealth {
    return this.stalled ? { state: 'stalled', sinceMs: this.stalled.sinceMs, message: this.stalled.message } : { state: 'ok' };
  }

  private async run(): Promise<void> {
    for (;;) {
      // Once stopping, drain what is ready on the live connection, then leave.
      const draining = this.stopping;
      if (draining && Date.now() >= this.drainUntil) return;
      const frame = draining ? await this.o.spool.nextReady() : await this.o.spool.next(this.abort.signal);
      if (!frame) {
        if (!draining && this.stopping) continue; // woken by stop(): drain what is ready
        return;
      }
      this.holding = true;
      this.waitingSince ??= Date.now();
      try {
        const previous = this.conn;
        const conn = await this.ensureConnection();
        if (!conn) {
          this.o.spool.release(frame.seq);
          return;
        }
        if (conn !== previous) {
          // A new connection: frames of the old one were released meanwhile and are older than the
          // one we hold. Give it back and take the oldest, so the order on the wire holds.
          this.o.spool.release(frame.seq);
          continue;
        }
        await this.write(conn, frame);
      } finally {
        this.holding = false;
      }
    }
  }

  private async ensureConnection(): Promise<Conn | null> {
    for (;;) {
      const c = this.conn;
      if (this.stopping) {
        if (c && !c.closed && !c.ending) return c;
        // Draining at shutdown: one connection attempt, no retries (the data stays spooled anyway).
        if (this.shutdownAttempted) return null;
        this.shutdownAttempted = true;
        try {
          return (this.conn = this.attach(await this.o.connect(this.o.connectTimeoutMs)));
        } catch (err) {
          this.log.warn(`Connection to ${this.o.target} failed during shutdown: ${describeSocketError(err)}; data stays in the spool`);
          return null;
        }
      }
      if (c && !c.closed && !c.ending && !c.error) {
        const now = Date.now();
        // (A connection younger than PROVE_MS is kept: its clean close would confirm nothing.)
        if (now - c.openedAt < PROVE_MS) return c;
        if (now - c.openedAt > this.o.maxConnectionAgeMs) await this.closeGracefully(c, 'maximum connection age reached');
        else if (now - c.lastWriteAt > this.o.idleReconnectMs) await this.closeGracefully(c, 'idle connection');
        else return c;
      } else if (c && !c.closed) {
        await c.whenClosed;
      }
      if (this.reconnectDelayMs > 0) {
        const wait = this.reconnectDelayMs;
        this.reconnectDelayMs = 0;
        await sleep(wait, undefined, { signal: this.abort.signal, ref: false }).catch(() => undefined);
        continue;
      }
      try {
        this.conn = this.attach(await this.o.connect(this.o.connectTimeoutMs));
        const proto = (this.conn.socket as net.Socket & { getProtocol?: () => string | null }).getProtocol?.();
        this.log.info(`Connected to ${this.o.target}${proto ? ` (${proto})` : ''}`);
        this.lastCause = '';
      } catch (err) {
        this.attempt++;
        const r = deliveryResult(err, this.attempt, this.o.backoff);
        if (r.kind === 'rejected') {
          this.log.error(`Connection to ${this.o.target} rejected permanently: ${r.cause}; the data stays in the spool`);
          this.stopping = true;
          return null;
        }
        if (r.kind === 'retryable') {
          const line = `Connection to ${this.o.target} failed: ${r.cause}; retrying in ${(r.retryInMs / 1000).toFixed(1)} s (attempt ${this.attempt})`;
          if (r.cause !== this.lastCause) this.log.error(line);
          else this.log.warn(line);
          this.lastCause = r.cause;
          await sleep(r.retryInMs, undefined, { signal: this.abort.signal, ref: false }).catch(() => undefined);
        }
      }
    }
  }

  private attach(socket: net.Socket): Conn {
    let resolveClosed!: () => void;
    const now = Date.now();
    const conn: Conn = {
      socket,
      row: tcpRowOf(socket),
      openedAt: now,
      lastWriteAt: now,
      done: 0,
      handed: 0,
      acked: 0,
      polledAt: 0,
      measuredAcked: null,
      doneSeen: 0,
      progressAt: now,
      inflight: new Map(),
      unconfirmed: [],
      ending: false,
      peerEnded: false,
      closed: false,
      error: undefined,
      whenClosed: new Promise<void>((r) => (resolveClosed = r)),
    };
    socket.setNoDelay(true);
    // The server never sends data; reading lets us see its FIN / RST as soon as it happens.
    socket.on('data', () => undefined);
    socket.on('error', (err) => {
      conn.error ??= err;
    });
    socket.on('end', () => {
      if (conn.ending) conn.peerEnded = true;
      else conn.error ??= Object.assign(new Error('closed by the server'), { code: 'ECLOSED' });
    });
    socket.on('close', () => {
      conn.closed = true;
      this.onClosed(conn);
      resolveClosed();
    });
    return conn;
  }

  private onClosed(conn: Conn): void {
    const unsettled: Array<{ seq: number; messages: number; bytes: number }> = [
      ...conn.unconfirmed,
      ...[...conn.inflight.values()].map((f) => ({ seq: f.seq, messages: f.messages, bytes: f.payload.length })),
    ].sort((a, b) => a.seq - b.seq);
    conn.unconfirmed = [];
    conn.inflight.clear();
    if (conn.ending && conn.peerEnded && !conn.error && Date.now() - conn.openedAt >= PROVE_MS) {
      // Clean close: the peer read everything up to our FIN (our FIN follows every written byte).
      for (const f of unsettled) this.settle(f);
      if (unsettled.length > 0) this.progressed(conn, Date.now());
      return;
    }
    for (const f of unsettled) this.o.spool.release(f.seq);
    // Back off before reconnecting after a failure; a confirmation resets `attempt`.
    if (conn.error && !this.stopping) this.reconnectDelayMs = backoffDelayMs(++this.attempt - 1, this.o.backoff);
    if (!this.stopping || conn.error) {
      const cause = conn.error ? describeSocketError(conn.error) : 'connection closed before the peer confirmed it';
      this.log.error(
        `Connection to ${this.o.target} lost: ${cause}` +
          (unsettled.length ? `; ${unsettled.length} unconfirmed frames will be re-sent` : ''),
      );
    }
  }

  private settle(f: { seq: number; messages: number; bytes: number }): void {
    this.o.spool.settle(f.seq);
    this.count.messages += f.messages;
    this.count.bytes += f.bytes;
    this.attempt = 0;
  }

  /** Something was confirmed: the stall clocks restart, a stall is over. */
  private progressed(conn: Conn, now: number): void {
    conn.progressAt = now;
    this.waitingSince = this.isWaiting() ? now : null;
    if (this.stalled) {
      this.log.info(`${this.o.target} accepts data again after ${((now - this.stalled.sinceMs) / 1000).toFixed(0)} s`);
      this.stalled = null;
    }
  }

  private async write(conn: Conn, frame: SpoolFrame): Promise<void> {
    if (conn.closed || conn.ending) {
      this.o.spool.release(frame.seq);
      return;
    }
    const startedAt = Date.now();
    // The stall clock of this connection starts when data starts waiting on it.
    if (conn.inflight.size === 0 && conn.unconfirmed.length === 0) conn.progressAt = startedAt;
    conn.inflight.set(frame.seq, frame);
    conn.lastWriteAt = startedAt;
    conn.handed += frame.payload.length;
    const end = conn.handed;
    const written = (): void => {
      if (conn.closed || !conn.inflight.delete(frame.seq)) return;
      const now = Date.now();
      this.count.writeMs += now - startedAt;
      conn.done = end;
      conn.unconfirmed.push({ seq: frame.seq, messages: frame.messages, bytes: frame.payload.length, end, writtenAt: now });
    };
    const ok = conn.socket.write(frame.payload, (err) => {
      if (!err) written();
    });
    // A plain TCP socket with nothing left in its buffer right after write() has handed every byte
    // to the kernel synchronously: record it now rather than in the callback on the next tick.
    // (A TLS socket always completes later, in the callback.)
    if (ok && conn.socket.writableLength === 0 && !conn.socket.destroyed) written();
    if (!ok && !conn.closed) await this.drained(conn);
  }

  /**
   * Waits for 'drain' or 'close'. Both listeners are removed again: a reaction left on
   * `conn.whenClosed` per back-pressured write would keep every such write's frame (payload
   * included) alive until the connection closes, i.e. hundreds of MB at a burst.
   */
  private drained(conn: Conn): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        conn.socket.off('drain', done);
        conn.socket.off('close', done);
        resolve();
      };
      conn.socket.on('drain', done);
      conn.socket.on('close', done);
    });
  }

  private isWaiting(): boolean {
    const c = this.conn;
    return this.holding || (!!c && !c.closed && (c.inflight.size > 0 || c.unconfirmed.length > 0));
  }

  /**
   * The drain rule: confirms the frames the peer's process must have read. `measure`: read
   * tx_queue whatever the rule below says (before a teardown for a stall).
   */
  private confirm(c: Conn, now: number, measure = false): void {
    // Two lower bounds of what the peer acknowledged, the better one wins: everything written but
    // the most our kernel can hold, and (read only when it could confirm what that cannot, at most
    // every TX_QUEUE_POLL_MS: one read of /proc/net/tcp walks the kernel's whole connection table,
    // ~4 ms on a large host) written minus the measured send queue.
    // Progress (the stall clock): either bound moved past its own previous value (a first reading
    // of tx_queue only shows what was acknowledged at some time before, not that it moves).
    // (`done` moving means our kernel took more: the peer took some, or our buffer had room; once it
    // is full, only the peer's acknowledgements let `done` move.)
    const bound = c.done - sendQueueBound();
    let moved = c.done > c.doneSeen;
    c.doneSeen = c.done;
    let acked = Math.max(c.acked, bound);
    const first = c.unconfirmed[0];
    const margin = this.o.peerReceiveBufferBytes;
    const useful = !!first && c.done - margin >= first.end && acked - margin < first.end && now - c.polledAt >= TX_QUEUE_POLL_MS;
    if (useful || measure) {
      c.polledAt = now;
      const unacked = readTxQueue(c.row);
      if (unacked !== null) {
        const measured = c.done - unacked;
        if (c.measuredAcked !== null && measured > c.measuredAcked) moved = true;
        c.measuredAcked = Math.max(c.measuredAcked ?? 0, measured);
        acked = Math.max(acked, measured);
      }
    }
    c.acked = acked;
    if (moved) c.progressAt = now;
    const upTo = c.acked - this.o.peerReceiveBufferBytes;
    let n = 0;
    while (c.unconfirmed.length > 0 && (c.unconfirmed[0] as Unconfirmed).end <= upTo) {
      this.settle(c.unconfirmed.shift() as Unconfirmed);
      n++;
    }
    if (n > 0) this.progressed(c, now);
  }

  private onTick(): void {
    const now = Date.now();
    const c = this.conn;
    if (c && !c.closed) {
      const busy = c.inflight.size > 0 || c.unconfirmed.length > 0;
      if (busy) this.confirm(c, now, now - c.progressAt >= this.tearDownMs);
      if (busy && now - c.progressAt >= this.tearDownMs) {
        this.tearDown(c, now);
      } else if (c.ending || now - c.openedAt < PROVE_MS) {
        // Closing already, or too young for a clean close to confirm anything.
      } else if (c.inflight.size === 0 && now - c.lastWriteAt > this.o.idleReconnectMs) {
        void this.closeGracefully(c, 'idle connection'); // a clean close: confirms any tail too
      } else if (c.unconfirmed.length > 0) {
        const first = c.unconfirmed[0] as Unconfirmed;
        // A tail worth a TLS handshake (a few log lines are not: the internal group would reconnect
        // for its own connection lines forever); smaller ones wait for more data or the idle close.
        // While stalled, any tail: its confirmation is what shows the receiver is back.
        const worth = !!this.stalled || c.handed - (first.end - first.bytes) >= QUIET_CLOSE_MIN_BYTES;
        const quiet = c.inflight.size === 0 && now - c.lastWriteAt >= this.o.quietMs;
        const old = now - first.writtenAt >= this.confirmWithinMs;
        if (worth && (quiet || old)) void this.closeGracefully(c, quiet ? 'quiet: confirming the tail' : 'confirming the oldest unconfirmed frames');
      }
    }
    this.checkHealth(now);
  }

  /** The peer confirmed nothing for the stall bound: drop the connection, re-send on the next. */
  private tearDown(c: Conn, now: number): void {
    const s = ((now - c.progressAt) / 1000).toFixed(0);
    const unacked = readTxQueue(c.row); // for the figures of the line below
    if (unacked !== null) c.acked = Math.max(c.acked, c.done - unacked);
    const frames = c.inflight.size + c.unconfirmed.length;
    const message =
      `${this.o.target} accepted no data for ${s} s (${frames} frames unconfirmed; its kernel acknowledged ${c.acked} bytes of this connection, ` +
      `${c.handed - c.acked} more wait)`;
    this.log.error(`${new OutputError(OUTPUT_ERROR.stalled, `${message}: closing the connection; the unconfirmed frames are re-sent on the next one`)}`);
    this.stalled ??= { sinceMs: Math.min(this.waitingSince ?? c.progressAt, c.progressAt), message };
    c.error ??= Object.assign(new Error(`stalled: no data accepted for ${s} s`), { code: 'ESTALLED' });
    c.socket.destroy();
  }

  /**
   * Stalled: a connection was torn down for a stall and nothing was confirmed since (set by
   * tearDown), or data has waited the stall bound with no connection to send it on.
   */
  private checkHealth(now: number): void {
    if (!this.isWaiting()) {
      this.waitingSince = null;
      // "Nothing waits" must hold for a while: right after a reconnect the loop gives its frame
      // back and re-leases the oldest one (a disk read), and for that instant it holds nothing.
      this.idleSince ??= now;
      if (this.stalled && now - this.idleSince >= NOTHING_WAITS_MS) {
        this.log.info(`${this.o.target}: nothing waits any more, no longer stalled`);
        this.stalled = null;
      }
      return;
    }
    this.idleSince = null;
    this.waitingSince ??= now;
    const c = this.conn;
    const connected = !!c && !c.closed;
    if (!this.stalled && !connected && now - this.waitingSince >= this.o.stallTimeoutMs) {
      const s = ((now - this.waitingSince) / 1000).toFixed(0);
      const why = this.lastCause ? ` (last connection attempt: ${this.lastCause})` : '';
      const message = `${this.o.target} accepted no data for ${s} s while data waits${why}`;
      this.stalled = { sinceMs: this.waitingSince, message };
      this.log.error(`${new OutputError(OUTPUT_ERROR.stalled, message)}`);
    }
  }

  /** end() and wait for the close; destroyed after `timeoutMs` if given (else the stall rule bounds it). */
  private async closeGracefully(c: Conn, reason: string, timeoutMs?: number): Promise<void> {
    if (c.closed) return;
    if (!c.ending) {
      c.ending = true;
      // The peer now has until the stall bound to read the rest and close: a peer whose kernel took
      // every byte but whose process never reads is torn down then.
      c.progressAt = Date.now();
      this.log.debug(`Closing the connection to ${this.o.target}: ${reason}`);
      c.socket.end();
    }
    const t = timeoutMs === undefined ? null : setTimeout(() => c.socket.destroy(), Math.max(0, timeoutMs));
    t?.unref();
    await c.whenClosed;
    if (t) clearTimeout(t);
  }

  async stop(deadlineAtMs: number): Promise<void> {
    if (this.stopping && !this.loop) return;
    this.stopping = true;
    this.drainUntil = deadlineAtMs - Math.min(CLOSE_RESERVE_MS, (deadlineAtMs - Date.now()) / 2);
    this.abort.abort();
    const left = (): number => Math.max(0, deadlineAtMs - Date.now());
    if (this.loop) await Promise.race([this.loop, sleep(Math.max(0, this.drainUntil - Date.now()), undefined, { ref: false })]);
    const c = this.conn;
    if (c && !c.closed) {
      // A clean close confirms only on a connection older than PROVE_MS: wait for that.
      const young = c.openedAt + PROVE_MS - Date.now();
      if (young > 0 && c.unconfirmed.length + c.inflight.size > 0) await sleep(Math.min(young, left()), undefined, { ref: false });
      await this.closeGracefully(c, 'shutdown', left());
    }
    if (this.tick) clearInterval(this.tick);
    this.tick = null;
    this.loop = null;
  }

  async check(): Promise<DeliveryResult> {
    try {
      const socket = await this.o.connect(this.o.connectTimeoutMs);
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.resume();
        socket.end();
        setTimeout(() => socket.destroy(), 2_000).unref();
      });
      return { kind: 'delivered' };
    } catch (err) {
      return deliveryResult(err, 1, this.o.backoff);
    }
  }
}

export function createStreamSender(opts: StreamSenderOptions): Sender {
  return new StreamSender(opts);
}
