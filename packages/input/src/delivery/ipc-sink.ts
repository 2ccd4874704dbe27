/**
 * BatchSink over the worker's IPC channel: sends `{type:'packed-batch'}` (packed-batch.ts) and
 * resolves on `batch-ack`.
 * `batch-rejected` re-sends that batch (same id, same content) after a backoff; `output-restarted`
 * re-sends every unacked batch. Nothing is dropped: a batch leaves `pending` only when acked.
 */
import { backoffDelayMs, createLogger, formatError, packBatch, sendTo, type BackoffPolicy, type EventBatch, type IpcPeer, type SerializedError } from '@devo-collector/common';
import type { BatchSink } from './batch-sink.js';

const REJECT_LOG_EVERY_MS = 10_000;

interface Pending {
  batch: EventBatch;
  resolve: () => void;
  rejections: number;
  timer: NodeJS.Timeout | null;
}

export class IpcBatchSink implements BatchSink {
  private readonly pending = new Map<string, Pending>();
  private readonly log = createLogger('MainThread');
  /**
   * Rejections are logged at most every 10 s, with the count of those not logged: a full disk
   * refuses every batch in flight again at each retry, a line each was ~14 lines a second.
   */
  private rejectLog = { atMs: 0, more: 0 };

  constructor(
    private readonly peer: IpcPeer,
    /**
     * A refused batch (the output's disk is full: OutputError(402)) is re-sent within 5 s of the
     * disk having room again; a longer cap left whole windows waiting up to 30 s after the spool
     * was writable. A retry costs one batch message (and, while the disk stays full, one statfs in
     * the output): no tight loop.
     */
    private readonly retry: BackoffPolicy = { baseMs: 1000, capMs: 5_000 },
  ) {}

  get pendingCount(): number {
    return this.pending.size;
  }

  send(batch: EventBatch): Promise<void> {
    return new Promise<void>((resolve) => {
      this.pending.set(batch.batchId, { batch, resolve, rejections: 0, timer: null });
      void sendTo(this.peer, { type: 'packed-batch', ...packBatch(batch) });
    });
  }

  ack(batchId: string): void {
    const p = this.pending.get(batchId);
    if (!p) return; // a duplicate ack after a re-send: already resolved
    if (p.timer) clearTimeout(p.timer);
    this.pending.delete(batchId);
    p.resolve();
  }

  reject(batchId: string, error: SerializedError): void {
    const p = this.pending.get(batchId);
    if (!p) return;
    const delay = backoffDelayMs(p.rejections, this.retry);
    p.rejections += 1;
    const now = Date.now();
    if (now - this.rejectLog.atMs >= REJECT_LOG_EVERY_MS) {
      const more = this.rejectLog.more > 0 ? ` (and ${this.rejectLog.more} more rejections since the last such line)` : '';
      this.log.warn(`Batch ${batchId} rejected by the output (${formatError(error)}); re-sending in ${delay} ms${more}`);
      this.rejectLog = { atMs: now, more: 0 };
    } else {
      this.rejectLog.more += 1;
    }
    if (p.timer) clearTimeout(p.timer);
    p.timer = setTimeout(() => {
      p.timer = null;
      if (this.pending.has(batchId)) void sendTo(this.peer, { type: 'packed-batch', ...packBatch(p.batch) });
    }, delay);
    p.timer.unref();
  }

  /**
   * The output lost whatever it had not acked: send it all again, in the original order. Some of
   * it may have been durable with only the ack lost: marked `replay`, the output's delivery ledger
   * drops those records instead of spooling them twice.
   */
  resendAll(): void {
    if (this.pending.size > 0) this.log.info(`Output restarted: re-sending ${this.pending.size} unacknowledged batches`);
    for (const p of this.pending.values()) {
      if (p.timer) {
        clearTimeout(p.timer);
        p.timer = null;
      }
      p.batch = { ...p.batch, replay: true };
      void sendTo(this.peer, { type: 'packed-batch', ...packBatch(p.batch) });
    }
  }

  close(): void {
    for (const p of this.pending.values()) if (p.timer) clearTimeout(p.timer);
  }
}
