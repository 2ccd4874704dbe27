/**
 * A sender that drains a spool into one stream connection (TLS or plain TCP; the connector
 * decides). Frames go out in spool order; `write() === false` waits for 'drain'.
 *
 * When is a frame "sent"? Devo's syslog protocol has no application ack, and a write callback only
 * says the bytes reached the local kernel. So a frame is *settled* (may be checkpointed and
 * forgotten) only when either the connection is closed cleanly by us (end -> peer's close: the peer
 * read everything before our FIN), or the connection stayed healthy for `settleMs` after the bytes
 * were flushed. A clean close only counts once the connection has lived `settleMs` (a server that
 * rejects our client certificate accepts the TLS 1.3 handshake, reads, then drops us; that must not
 * look like delivery). If the connection errors, resets or is closed by the peer, every frame written on it
 * and not yet settled is released back to the spool and re-sent in order on the next connection.
 * Bound on duplicates: after a connection failure, the frames flushed in the last `settleMs`.
 * After a crash of this process (kill -9), the kernel still delivers what a healthy connection had
 * in its send buffer. We write only to connections that have proven themselves (open `proveMs`,
 * 1 s, without error), mark each frame handed to the kernel as written the moment we know the
 * kernel has it (the spool records that synchronously), and recovery resumes after the written
 * prefix: only a frame whose write had not completed is sent again. The price: if the receiver
 * fails in the same instant as our crash, what its connection still buffered is lost.
 *
 * Memory: once a frame is in the kernel we keep only its seq, size and time for the settle window,
 * never its payload (a release re-reads it from the spool).
 */
import type net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@devo-collector/common';
import type { Spool, SpoolFrame } from '../spool.js';
import { type BackoffPolicy, backoffMs, DEFAULT_BACKOFF, type DeliveryResult, deliveryResult, describeSocketError } from './delivery.js';
import type { Sender, SenderCounters, SenderHealth, SenderStatus } from './types.js';

export type Connector = (timeoutMs: number) => Promise<net.Socket>;

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
  settleMs?: number;
  backoff?: BackoffPolicy;
}

/** A frame in the kernel, waiting to settle: no payload (at 30 MiB/s, 2 s of payloads are 60 MB). */
interface Written {
  seq: number;
  messages: number;
  bytes: number;
  flushedAt: number;
}

interface Conn {
  socket: net.Socket;
  openedAt: number;
  /** Open for proveMs without an error; only then written to, so its kernel buffer survives our crash. */
  proven: boolean;
  lastWriteAt: number;
  inflight: Map<number, SpoolFrame>;
  written: Written[];
  ending: boolean;
  closed: boolean;
  error: unknown;
  whenClosed: Promise<void>;
}

class StreamSender implements Sender {
  readonly name: string;
  private readonly o: Required<Omit<StreamSenderOptions, 'backoff'>> & { backoff: BackoffPolicy };
  private readonly log: Logger;
  private conn: Conn | null = null;
  private stopping = false;
  private readonly abort = new AbortController();
  private loop: Promise<void> | null = null;
  private tick: NodeJS.Timeout | null = null;
  private attempt = 0;
  private reconnectDelayMs = 0;
  private shutdownAttempted = false;
  private lastCause = '';
  private readonly count: SenderCounters = { messages: 0, bytes: 0, writeMs: 0 };

  constructor(opts: StreamSenderOptions) {
    this.name = opts.name;
    // Explicit `undefined` in opts must not override the defaults (a spread would).
    this.o = { ...opts, settleMs: opts.settleMs ?? 2_000, backoff: opts.backoff ?? DEFAULT_BACKOFF } as StreamSender['o'];
    this.log = opts.logger;
  }

  start(): void {
    if (this.loop) return;
    this.tick = setInterval(() => this.onTick(), Math.max(50, Math.floor(this.o.settleMs / 4)));
    this.tick.unref();
    this.loop = this.run().catch((err: unknown) => this.log.error(`Sender stopped unexpectedly: ${describeSocketError(err)}`));
  }

  status(): SenderStatus {
    const c = this.conn;
    return {
      internal_queue_size: c ? c.inflight.size + c.written.length : 0,
      is_connection_open: !!c && !c.closed && !c.ending,
    };
  }

  counters(): SenderCounters {
    return { ...this.count };
  }

  health(): SenderHealth {
    return { state: 'ok' }; // issue 11: stalled when data waits and the peer accepts nothing
  }

  /**
   * How long a new connection must stay open without error before we write to it: a server that
   * rejects our client certificate does so within a round trip of the handshake. Writing only to
   * proven connections keeps what a crash or a rejection re-sends to almost nothing.
   */
  private get proveMs(): number {
    return Math.min(this.o.settleMs, 1_000);
  }

  /** Resolves true once `c` is proven, false if it closed first. */
  private async whenProven(c: Conn): Promise<boolean> {
    const wait = c.openedAt + this.proveMs - Date.now();
    if (!c.proven && wait > 0) await Promise.race([sleep(wait, undefined, { ref: false }), c.whenClosed]);
    if (c.closed || c.error) {
      // Let the close handler release this connection's frames first: they are older than ours,
      // and releasing ours before them would let it jump the queue.
      await c.whenClosed;
      return false;
    }
    c.proven = true;
    return true;
  }

  private async run(): Promise<void> {
    for (;;) {
      // Once stopping, drain what is ready on the live connection, then leave.
      const draining = this.stopping;
      const frame = draining ? await this.o.spool.nextReady() : await this.o.spool.next(this.abort.signal);
      if (!frame) {
        if (!draining && this.stopping) continue; // woken by stop(): drain what is ready
        return;
      }
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
      if (!(await this.whenProven(conn))) {
        this.o.spool.release(frame.seq); // the connection failed before we wrote: try again
        continue;
      }
      await this.write(conn, frame);
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
      openedAt: now,
      proven: false,
      lastWriteAt: now,
      inflight: new Map(),
      written: [],
      ending: false,
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
      if (!conn.ending) conn.error ??= Object.assign(new Error('closed by the server'), { code: 'ECLOSED' });
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
      ...conn.written,
      ...[...conn.inflight.values()].map((f) => ({ seq: f.seq, messages: f.messages, bytes: f.payload.length })),
    ].sort((a, b) => a.seq - b.seq);
    conn.written = [];
    conn.inflight.clear();
    if (conn.ending && !conn.error && Date.now() - conn.openedAt >= this.o.settleMs) {
      // Clean close of a connection the server kept: the peer read everything up to our FIN.
      for (const f of unsettled) this.settle(f);
      return;
    }
    for (const f of unsettled) this.o.spool.release(f.seq);
    // Back off before reconnecting after a failure; a connection that settled frames reset `attempt`.
    if (conn.error && !this.stopping) this.reconnectDelayMs = backoffMs(++this.attempt, this.o.backoff);
    if (!this.stopping || conn.error) {
      const cause = conn.error ? describeSocketError(conn.error) : 'connection closed';
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

  private async write(conn: Conn, frame: SpoolFrame): Promise<void> {
    if (conn.closed || conn.ending) {
      this.o.spool.release(frame.seq);
      return;
    }
    conn.inflight.set(frame.seq, frame);
    const startedAt = Date.now();
    conn.lastWriteAt = startedAt;
    const written = (): void => {
      if (conn.closed || !conn.inflight.delete(frame.seq)) return;
      const now = Date.now();
      this.count.writeMs += now - startedAt;
      conn.written.push({ seq: frame.seq, messages: frame.messages, bytes: frame.payload.length, flushedAt: now });
      if (conn.proven) this.o.spool.markWritten(frame.seq);
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

  private onTick(): void {
    const c = this.conn;
    if (!c || c.closed) return;
    const now = Date.now();
    while (c.written.length > 0 && (c.written[0] as Written).flushedAt + this.o.settleMs <= now) {
      this.settle(c.written.shift() as Written);
    }
    if (!c.ending && c.inflight.size === 0 && now - c.lastWriteAt > this.o.idleReconnectMs) {
      void this.closeGracefully(c, 'idle connection');
    }
  }

  private async closeGracefully(c: Conn, reason: string, timeoutMs = 5_000): Promise<void> {
    if (c.closed) return;
    if (!c.ending) {
      c.ending = true;
      this.log.debug(`Closing the connection to ${this.o.target}: ${reason}`);
      c.socket.end();
    }
    const t = setTimeout(() => c.socket.destroy(), Math.max(0, timeoutMs));
    t.unref();
    await c.whenClosed;
    clearTimeout(t);
  }

  async stop(deadlineAtMs: number): Promise<void> {
    if (this.stopping && !this.loop) return;
    this.stopping = true;
    this.abort.abort();
    const left = (): number => Math.max(0, deadlineAtMs - Date.now());
    if (this.loop) await Promise.race([this.loop, sleep(left(), undefined, { ref: false })]);
    const c = this.conn;
    if (c && !c.closed) {
      // A clean close counts as delivery only for a connection older than settleMs: wait for that.
      const young = c.openedAt + this.o.settleMs - Date.now();
      if (young > 0) await sleep(Math.min(young, left()), undefined, { ref: false });
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
