/**
 * The frames a spool holds, in order, and who has them: `ready` (to be handed out), `leased` (a
 * sender holds it), `settled` (the receiver confirmed it). The oldest ready frame is leased first;
 * a released frame is ready again and goes out before newer ones; only the longest settled prefix
 * is forgotten, so the resume position at its end never skips an unconfirmed frame.
 *
 * Memory: the payload of a freshly appended frame stays in memory (up to `memoryBytes`) so that the
 * sender does not read it back from the segment it was just written to. It is dropped when the
 * frame is handed out (the sender holds it until its write completes, then keeps none); frames
 * beyond the budget, recovered frames and released frames are read from disk, a run of consecutive
 * frames (up to 1 MiB, which may exceed the budget by that much) per read.
 */
import type { StoredFrame } from './types.js';

export interface Entry {
  seq: number;
  stored: StoredFrame;
  state: 'ready' | 'leased' | 'settled';
  /** The payload while it is worth keeping (see memoryBytes); else it is read from the store. */
  payload?: Buffer;
}

/** Most bytes of consecutive frames read back from a segment at once (see readRun). */
const READ_AHEAD_BYTES = 1024 * 1024;

export class FrameQueue {
  /** Bytes of the payloads kept in entries (Entry.payload). */
  private cachedBytes = 0;
  /** Unsettled entries in seq order from `head`; entries[i].seq === entries[head].seq + i - head. */
  private entries: Entry[] = [];
  private head = 0;
  /** No ready entry before this index. */
  private scanFrom = 0;
  private nextSeq = 0;
  private counts = { pendingMessages: 0, settledMessages: 0, settledBytes: 0 };

  constructor(private readonly memoryBytes: number) {}

  /** Adds a frame at the end; its `payload` is kept while the budget allows (the memory store keeps its own). */
  push(stored: StoredFrame, payload?: Buffer): void {
    const e: Entry = { seq: this.nextSeq++, stored, state: 'ready' };
    if (payload && !stored.payload && this.cachedBytes + payload.length <= this.memoryBytes) this.keep(e, payload);
    this.entries.push(e);
    this.counts.pendingMessages += stored.messages;
  }

  /** The oldest ready frame, now leased; undefined when none is ready. */
  lease(): Entry | undefined {
    for (let i = Math.max(this.scanFrom, this.head); i < this.entries.length; i++) {
      const e = this.entries[i];
      if (e && e.state === 'ready') {
        e.state = 'leased';
        this.scanFrom = i + 1;
        return e;
      }
    }
    this.scanFrom = this.entries.length;
    return undefined;
  }

  /** The payload of a leased frame if it is in memory; the spool keeps no second copy. */
  take(e: Entry): Buffer | undefined {
    const payload = e.payload;
    this.drop(e);
    return payload;
  }

  /**
   * `e` and the ready frames right after it in the same segment whose payload is not in memory, up
   * to READ_AHEAD_BYTES: read back with one read. A batch is several small frames; reading them
   * back one by one cost ~20 times the reads (and ~60 % more output CPU at a burst).
   */
  readRun(e: Entry): Entry[] {
    const run = [e];
    if (e.stored.payload) return run;
    let bytes = e.stored.end - e.stored.offset;
    for (let i = this.indexOf(e.seq) + 1; i < this.entries.length; i++) {
      const x = this.entries[i] as Entry;
      const prev = run[run.length - 1] as Entry;
      if (x.state !== 'ready' || x.payload || x.stored.segment !== prev.stored.segment || x.stored.offset !== prev.stored.end) break;
      bytes += x.stored.end - x.stored.offset;
      if (bytes > READ_AHEAD_BYTES) break;
      run.push(x);
    }
    return run;
  }

  /** The frames read along with `run[0]` keep their payload until they are handed out. */
  keepRead(run: readonly Entry[], payloads: readonly Buffer[]): void {
    run.forEach((x, i) => {
      if (i > 0 && !x.payload && x.state === 'ready') this.keep(x, payloads[i] as Buffer);
    });
  }

  /** Settles a leased frame; returns the settled prefix's new last frame and the bytes it freed, or null if it did not grow. */
  settle(seq: number): { last: StoredFrame; bytes: number } | null {
    const e = this.leased(seq);
    if (!e) return null;
    e.state = 'settled';
    this.drop(e);
    let last: StoredFrame | null = null;
    let bytes = 0;
    while (this.entries[this.head]?.state === 'settled') {
      last = (this.entries[this.head++] as Entry).stored;
      bytes += last.length;
      this.counts.pendingMessages -= last.messages;
      this.counts.settledMessages += last.messages;
      this.counts.settledBytes += last.length;
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.scanFrom = Math.max(0, this.scanFrom - this.head);
      this.head = 0;
    }
    return last ? { last, bytes } : null;
  }

  /** A leased frame is ready again, in order; false if `seq` is not leased. */
  release(seq: number): boolean {
    const e = this.leased(seq);
    if (!e) return false;
    e.state = 'ready';
    this.scanFrom = Math.min(this.scanFrom, this.indexOf(seq));
    return true;
  }

  stats(): { pendingFrames: number; pendingMessages: number; settledMessages: number; settledBytes: number; cachedBytes: number } {
    return { pendingFrames: this.entries.length - this.head, ...this.counts, cachedBytes: this.cachedBytes };
  }

  private leased(seq: number): Entry | undefined {
    const e = this.entries[this.indexOf(seq)];
    return e?.seq === seq && e.state === 'leased' ? e : undefined;
  }

  private indexOf(seq: number): number {
    const first = this.entries[this.head];
    return first ? this.head + (seq - first.seq) : -1;
  }

  private keep(e: Entry, payload: Buffer): void {
    e.payload = payload;
    this.cachedBytes += payload.length;
  }

  private drop(e: Entry): void {
    if (!e.payload) return;
    this.cachedBytes -= e.payload.length;
    e.payload = undefined;
  }
}
