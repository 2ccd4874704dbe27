/**
 * The windows of one cycle, planned lazily: a window gets its bounds only when it is about to be
 * fetched, so it takes the length the WindowSizer holds at that moment (a big window makes the
 * following ones smaller). A window can be replaced by its halves (response over the size limit).
 * Order is the window order: the cursor is committed in this order.
 */
import type { TimeSlot } from './time-slot.js';

export interface QueuedSlot<F> {
  slot: TimeSlot;
  /** The fetch in progress or done, held until the slot is processed. */
  fetch?: F;
}

export class SlotQueue<F> {
  private readonly entries: Array<QueuedSlot<F>> = [];
  private nextStartMs: number;

  constructor(
    /** The first slot of the cycle as planTimeSlots gives it (overlap re-read included), if any. */
    first: TimeSlot | undefined,
    private readonly nowMs: number,
    private readonly lengthMs: () => number,
  ) {
    this.nextStartMs = nowMs;
    if (first) {
      this.entries.push({ slot: first });
      this.nextStartMs = first.endMs;
    }
  }

  /** Slot `i`, planned now if needed; undefined once the cycle reaches `nowMs`. */
  at(i: number): QueuedSlot<F> | undefined {
    while (this.entries.length <= i && this.nextStartMs < this.nowMs) {
      const s = this.nextStartMs;
      const e = Math.min(s + Math.max(1, this.lengthMs()), this.nowMs);
      this.entries.push({ slot: { startMs: s, endMs: e, queryStartMs: s } });
      this.nextStartMs = e;
    }
    return this.entries[i];
  }

  /** Replaces slot `i` (not yet processed) by `parts`, in order; their fetches start afresh. */
  replace(i: number, parts: TimeSlot[]): void {
    this.entries.splice(i, 1, ...parts.map((slot) => ({ slot })));
  }

  /** Slots planned so far plus those left at the current length: for the log lines. */
  estimatedTotal(): number {
    const left = Math.max(0, this.nowMs - this.nextStartMs);
    return this.entries.length + Math.ceil(left / Math.max(1, this.lengthMs()));
  }
}
