/**
 * Commits windows strictly in window order, each once all its batches are acked: the cursor never
 * passes a window that is not fully acked. A failed commit stops the chain for good (the puller
 * ends its loop; the cursor stays where it is).
 */
import type { Logger } from '@devo-collector/common';
import type { StateStore } from '../state/state-store.js';
import { formatSlotTime } from '../time-format.js';
import type { TimeSlot } from './time-slot.js';

export class CommitChain {
  private chain: Promise<void> = Promise.resolve();
  /** The state write carrying the latest commit. */
  private lastWrite: Promise<void> = Promise.resolve();
  private failure: unknown = null;

  constructor(
    private readonly store: StateStore,
    private readonly log: Logger,
  ) {}

  get failed(): boolean {
    return this.failure !== null;
  }

  /**
   * Commits `slot` after every earlier slot and once `acked` resolves; then `release`s its response:
   * every batch cut from it is acked (`send` re-sends nothing after its ack), so no view is read again.
   */
  add(slot: TimeSlot, maxTimeMs: number | null, acked: Promise<unknown>, release?: () => void): void {
    this.chain = this.chain
      .then(() => acked)
      .then(() => {
        this.commit(slot, maxTimeMs);
        release?.();
      })
      .catch((err: unknown) => {
        // Keep the cursor where it is: nothing after this slot may be committed.
        this.fail(slot, err);
        throw err;
      });
    this.chain.catch(() => undefined);
  }

  /** Every commit so far applied and written (never rejects). */
  committed(): Promise<void> {
    return this.chain.then(() => this.lastWrite).catch(() => undefined);
  }

  /**
   * Runs after every batch of the slot was acked, so its records are already among the seen ids;
   * the store copies them into the document right before the write.
   */
  private commit(slot: TimeSlot, maxTimeMs: number | null): void {
    const written = this.store.update((doc) => {
      doc.cursor_ms = Math.max(doc.cursor_ms ?? slot.endMs, slot.endMs);
      if (maxTimeMs !== null) doc.last_record_time_ms = Math.max(doc.last_record_time_ms ?? maxTimeMs, maxTimeMs);
    });
    // The document moves now, in window order; the disk write is not awaited here: while one write
    // runs, the commits of the next windows ride on the one queued write (the store coalesces and
    // writes the latest document), so many small windows cost a few writes of the seen list
    // instead of one each. The end of a cycle and the stop wait for the last write.
    this.lastWrite = written;
    written.catch((err: unknown) => this.fail(slot, err));
  }

  private fail(slot: TimeSlot, err: unknown): void {
    if (this.failure === null) this.log.error(`Could not commit time slot ${formatSlotTime(slot.startMs)}: ${String(err)}`);
    this.failure = err;
  }
}
