/**
 * The input's typed client of the batch lane (common/src/ipc/lane.ts), the only way batches leave
 * this process, and the BatchSink the pullers hand them to.
 *
 * `request` is one round trip: the batch goes out (its batchId is the request id) and the output's
 * answer for it comes back on the same connection; when the connection closes first (the output
 * died or was replaced) the request is rejected with LaneClosedError. `send` (BatchSink) owns
 * delivery on top of it and resolves only on an ack, so nothing is dropped: `batch-rejected`
 * (OutputError 402, a full disk) re-sends the same batch after a backoff; LaneClosedError waits for
 * the next lane (`connect`, on `output-restarted`) and re-sends it there marked `replay` (it may
 * have been durable with only the ack lost: the output's delivery ledger drops those records).
 * Batches waiting for a lane resume in the order they were sent. No timeout on a request: an output
 * whose spool is full answers late on purpose (backpressure), and re-sending would only duplicate.
 */
import net from 'node:net';
import { backoffDelayMs, createLogger, decodeLaneAck, formatError, LaneReader, laneFrame, sleep, type BackoffPolicy, type EventBatch, type LaneAck } from '@devo-collector/common';
import type { BatchSink } from './batch-sink.js';

/** The lane closed (or was never open) before the output answered the request. */
class LaneClosedError extends Error {
  override readonly name = 'LaneClosedError';
}

interface Lane {
  socket: net.Socket;
  inflight: Map<string, { resolve: (a: LaneAck) => void; reject: (e: LaneClosedError) => void }>;
  closed: boolean;
}

interface LaneClientOptions {
  /**
   * A refused batch (the output's disk is full: OutputError(402)) is re-sent within 5 s of the
   * disk having room again; a longer cap left whole windows waiting up to 30 s after the spool
   * was writable. A retry costs one batch frame (and, while the disk stays full, one statfs in
   * the output): no tight loop.
   */
  retry?: BackoffPolicy;
  /** A lane that closed is dialled again this often until it answers or a new one is named. */
  redialMs?: number;
  /**
   * Rejections are logged at most this often (10 s), with the count of those not logged: a full
   * disk refuses every batch in flight again at each retry, a line each was ~14 lines a second.
   */
  rejectLogEveryMs?: number;
}

export class LaneClient implements BatchSink {
  private current: Lane | null = null;
  private path: string | null = null;
  private closed = false;
  private waiters: Array<(lane: Lane) => void> = [];
  private unacked = 0;
  private rejectLog = { atMs: 0, more: 0 };
  private readonly log = createLogger('MainThread');
  private readonly retry: BackoffPolicy;

  constructor(private readonly o: LaneClientOptions = {}) {
    this.retry = o.retry ?? { baseMs: 1000, capMs: 5_000 };
  }

  /** Batches handed to `send` and not acknowledged yet. */
  get pendingCount(): number {
    return this.unacked;
  }

  get connected(): boolean {
    return this.current !== null;
  }

  /**
   * Uses the lane at `path` from now on (the one in flight on the previous lane are sent again
   * here). Resolves once connected; rejects with the first attempt's error, and keeps dialling.
   */
  connect(path: string): Promise<void> {
    this.path = path;
    const old = this.current;
    this.current = null;
    old?.socket.destroy();
    return this.dial(path);
  }

  async send(batch: EventBatch): Promise<void> {
    this.unacked++;
    try {
      let b = batch;
      let rejections = 0;
      let last: Lane | null = null;
      for (;;) {
        const lane = await this.lane();
        if (last && last !== lane && !b.replay) b = { ...b, replay: true };
        last = lane;
        let answer: LaneAck;
        try {
          answer = await this.request(lane, b);
        } catch (err) {
          if (err instanceof LaneClosedError) continue;
          throw err;
        }
        if (answer.type === 'batch-ack') return;
        const delay = backoffDelayMs(rejections++, this.retry);
        this.logRejected(answer, delay);
        await sleep(delay);
      }
    } finally {
      this.unacked--;
    }
  }

  /** One batch, one answer; LaneClosedError if the lane closes first. */
  private request(lane: Lane, batch: EventBatch): Promise<LaneAck> {
    return new Promise<LaneAck>((resolve, reject) => {
      if (lane.closed) return reject(new LaneClosedError(`batch lane closed before batch ${batch.batchId} was sent`));
      lane.inflight.set(batch.batchId, { resolve, reject });
      lane.socket.cork();
      for (const part of laneFrame(batch)) lane.socket.write(part);
      lane.socket.uncork();
    });
  }

  /** Stops dialling and closes the lane; batches not acknowledged stay unacknowledged (pulled again). */
  close(): void {
    this.closed = true;
    this.current?.socket.destroy();
  }

  /** The open lane, or the next one. */
  private lane(): Promise<Lane> {
    const open = this.current;
    return open ? Promise.resolve(open) : new Promise((resolve) => this.waiters.push(resolve));
  }

  private dial(path: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const socket = net.createConnection(path);
      const lane: Lane = { socket, inflight: new Map(), closed: false };
      const reader = new LaneReader();
      let opened = false;
      let failure: Error | null = null;
      socket.once('connect', () => {
        opened = true;
        // Named away meanwhile, or a second dial of the same lane won: this connection is not needed.
        if (this.closed || this.path !== path || this.current) {
          socket.destroy();
          return resolve();
        }
        this.current = lane;
        const w = this.waiters;
        this.waiters = [];
        for (const wake of w) wake(lane);
        resolve();
      });
      socket.on('data', (chunk: Buffer) => reader.push(chunk, (body) => this.answer(lane, decodeLaneAck(body))));
      socket.on('error', (err) => {
        failure = err;
        this.log.debug(`Batch lane ${path}: ${err.message}`);
      });
      socket.on('close', () => {
        lane.closed = true;
        if (this.current === lane) this.current = null;
        for (const r of lane.inflight.values()) r.reject(new LaneClosedError(`batch lane ${path} closed`));
        lane.inflight.clear();
        if (!opened) reject(failure ?? new LaneClosedError(`batch lane ${path} closed`));
        // The output may only have dropped the connection: dial again until a new lane is named.
        if (!this.closed && this.path === path) {
          const t = setTimeout(() => {
            if (!this.closed && this.path === path && !this.current) this.dial(path).catch(() => undefined);
          }, this.o.redialMs ?? 1_000);
          t.unref();
        }
      });
    });
  }

  private answer(lane: Lane, a: LaneAck): void {
    const r = lane.inflight.get(a.batchId);
    if (!r) return;
    lane.inflight.delete(a.batchId);
    r.resolve(a);
  }

  private logRejected(a: Extract<LaneAck, { type: 'batch-rejected' }>, delayMs: number): void {
    const now = Date.now();
    if (now - this.rejectLog.atMs < (this.o.rejectLogEveryMs ?? 10_000)) {
      this.rejectLog.more += 1;
      return;
    }
    const more = this.rejectLog.more > 0 ? ` (and ${this.rejectLog.more} more rejections since the last such line)` : '';
    this.log.warn(`Batch ${a.batchId} rejected by the output (${formatError(a.error)}); re-sending in ${delayMs} ms${more}`);
    this.rejectLog = { atMs: now, more: 0 };
  }
}
