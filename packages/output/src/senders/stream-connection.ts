/**
 * One stream connection (TLS or plain TCP) and the counts every rule of the stream sender reads:
 * bytes handed to the socket, bytes in our kernel (`done`), bytes the peer's kernel acknowledged
 * (`acked`, kept by confirm-rule.ts), the frames in flight and those written but not confirmed.
 * Why its own file: only a write or a socket event changes these counts, and they change here.
 * Memory: once a frame is in the kernel only its seq, size and offset stay, never its payload.
 */
import type net from 'node:net';
import type { Logger } from '@devo-collector/common';
import type { SpoolFrame } from '../spool.js';
import { tcpRowOf, type TcpRow } from './tcp-queue.js';

/** A frame in the kernel, not yet confirmed: no payload (at 30 MiB/s, 2 s of payloads are 60 MB). */
export interface Unconfirmed {
  seq: number;
  messages: number;
  bytes: number;
  /** Stream offset (bytes written on this connection) just after the frame. */
  end: number;
  writtenAt: number;
}

export type FrameCount = Pick<Unconfirmed, 'seq' | 'messages' | 'bytes'>;

export class StreamConnection {
  readonly row: TcpRow | null;
  readonly openedAt = Date.now();
  lastWriteAt = this.openedAt;
  /** Bytes whose write completed (in our kernel). */
  done = 0;
  /** Bytes handed to socket.write (done + those still in Node's buffer). */
  handed = 0;
  /** Lower bound of the bytes the peer's kernel acknowledged. */
  acked = 0;
  /** When tx_queue was last read, the acknowledged bytes it showed (null: not yet read), and `done` at the last check. */
  polledAt = 0;
  measuredAcked: number | null = null;
  doneSeen = 0;
  /** The stall clock: the last confirmation, advance of `acked`, start of a clean close, or when data started waiting. */
  progressAt = this.openedAt;
  readonly inflight = new Map<number, SpoolFrame>();
  unconfirmed: Unconfirmed[] = [];
  ending = false;
  /** The peer's FIN arrived after our end(). */
  peerEnded = false;
  closed = false;
  error: unknown = undefined;
  readonly whenClosed: Promise<void>;

  constructor(readonly socket: net.Socket, private readonly log: Logger, private readonly target: string, onClosed: (c: StreamConnection) => void) {
    this.row = tcpRowOf(socket);
    socket.setNoDelay(true);
    // The server never sends data; reading lets us see its FIN / RST as soon as it happens.
    socket.on('data', () => undefined);
    socket.on('error', (err) => {
      this.error ??= err;
    });
    socket.on('end', () => {
      if (this.ending) this.peerEnded = true;
      else this.error ??= Object.assign(new Error('closed by the server'), { code: 'ECLOSED' });
    });
    this.whenClosed = new Promise<void>((resolve) =>
      socket.on('close', () => {
        this.closed = true;
        onClosed(this);
        resolve();
      }),
    );
  }

  /** Takes writes: not closed and not closing. */
  get usable(): boolean {
    return !this.closed && !this.ending;
  }

  /** Frames handed to it and not confirmed yet. */
  get frames(): number {
    return this.inflight.size + this.unconfirmed.length;
  }

  /**
   * Writes `frame` (the caller checked `usable`); `onWritten(ms)` once it is in our kernel. Resolves
   * when more may be written: at once, or after 'drain' / 'close' when the socket pushed back.
   */
  async write(frame: SpoolFrame, onWritten: (ms: number) => void): Promise<void> {
    const startedAt = Date.now();
    // The stall clock of this connection starts when data starts waiting on it.
    if (this.frames === 0) this.progressAt = startedAt;
    this.inflight.set(frame.seq, frame);
    this.lastWriteAt = startedAt;
    this.handed += frame.payload.length;
    const end = this.handed;
    const written = (): void => {
      if (this.closed || !this.inflight.delete(frame.seq)) return;
      const now = Date.now();
      onWritten(now - startedAt);
      this.done = end;
      this.unconfirmed.push({ seq: frame.seq, messages: frame.messages, bytes: frame.payload.length, end, writtenAt: now });
    };
    const ok = this.socket.write(frame.payload, (err) => {
      if (!err) written();
    });
    // A plain TCP socket with nothing left in its buffer right after write() has handed every byte
    // to the kernel synchronously: record it now rather than in the callback on the next tick.
    // (A TLS socket always completes later, in the callback.)
    if (ok && this.socket.writableLength === 0 && !this.socket.destroyed) written();
    if (!ok && !this.closed) await this.drained();
  }

  /**
   * Waits for 'drain' or 'close'. Both listeners are removed again: a reaction left on
   * `whenClosed` per back-pressured write would keep every such write's frame (payload included)
   * alive until the connection closes, i.e. hundreds of MB at a burst.
   */
  private drained(): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  /** Every frame it held, oldest first; it holds none after (it closed). */
  takeFrames(): FrameCount[] {
    const all: FrameCount[] = [...this.unconfirmed, ...[...this.inflight.values()].map((f) => ({ seq: f.seq, messages: f.messages, bytes: f.payload.length }))];
    this.unconfirmed = [];
    this.inflight.clear();
    return all.sort((a, b) => a.seq - b.seq);
  }

  /** end() (our FIN follows every written byte) and wait for the close; destroyed after `timeoutMs` if given (else the stall rule bounds it). */
  async close(reason: string, timeoutMs?: number): Promise<void> {
    if (this.closed) return;
    if (!this.ending) {
      this.ending = true;
      // The peer now has until the stall bound to read the rest and close: a peer whose kernel took
      // every byte but whose process never reads is torn down then.
      this.progressAt = Date.now();
      this.log.debug(`Closing the connection to ${this.target}: ${reason}`);
      this.socket.end();
    }
    const t = timeoutMs === undefined ? null : setTimeout(() => this.socket.destroy(), Math.max(0, timeoutMs));
    t?.unref();
    await this.whenClosed;
    if (t) clearTimeout(t);
  }
}
