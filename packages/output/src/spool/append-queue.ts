/**
 * The append side of a spool: the byte bound (appends beyond it wait FIFO, never dropped), group
 * commit (the appends of one tick share one store write and one fsync), and the write-blocked
 * state a failed write sets (OutputError 402: a full disk, an I/O error) until a write succeeds.
 */
import { OUTPUT_ERROR } from '../errors.js';
import type { SpoolCoreOptions, SpoolStats, StoredFrame } from './types.js';

/** An append admitted under the bound, waiting for its group's write. */
interface PendingAppend { payload: Buffer; messages: number; onWritten?: () => void; resolve: () => void; reject: (err: unknown) => void }

export class AppendQueue {
  /** Bytes held (unsent + being appended): what the byte bound applies to. */
  private reservedBytes = 0;
  private spaceWaiters: Array<{ bytes: number; go: () => void; fail: (err: Error) => void }> = [];
  private batch: PendingAppend[] = [];
  private writing: Promise<void> | null = null;
  /** Set while writes fail (ENOSPC, EIO): readiness reports it; cleared by the next good write. */
  private writeBlocked: SpoolStats['writeBlocked'] = null;
  private appendedFrames = 0;

  /** `stored`: a group is durable; its frames as stored, in order. */
  constructor(private readonly o: SpoolCoreOptions, private readonly stored: (frames: StoredFrame[], group: readonly PendingAppend[]) => void) {}

  append(payload: Buffer, messages: number, onWritten?: () => void): Promise<void> {
    const bytes = payload.length;
    // FIFO: once someone waits, later appends queue behind it so the order (and ack order) holds.
    // A frame larger than the whole bound still passes when the spool is empty, or it never would.
    const fits = this.spaceWaiters.length === 0 && this.fits(bytes);
    return new Promise<void>((resolve, reject) => {
      const go = (): void => {
        this.reservedBytes += bytes;
        this.batch.push({ payload, messages, onWritten, resolve, reject });
        this.scheduleWrite();
      };
      if (fits) go();
      else this.spaceWaiters.push({ bytes, go, fail: reject });
    });
  }

  /** Recovered frames count against the bound (`bytes` > 0); settled ones free their space (< 0). */
  hold(bytes: number): void {
    this.reservedBytes += bytes;
    while (this.spaceWaiters[0] && this.fits(this.spaceWaiters[0].bytes)) this.spaceWaiters.shift()?.go();
  }

  private fits(bytes: number): boolean {
    return this.reservedBytes === 0 || this.reservedBytes + bytes <= this.o.maxBytes;
  }

  private scheduleWrite(): void {
    if (this.writing) return;
    this.writing = new Promise<void>((done) => setImmediate(done)).then(() => this.writeLoop());
  }

  /**
   * Group commit. A failed store write (a full disk: ENOSPC) rejects the group's appends (their
   * batches answer `batch-failed` and the input re-sends them later: pulling pauses, nothing is
   * lost) and marks the spool write-blocked; frames already spooled keep draining, their
   * segments are deleted as they are sent, and the first write that succeeds clears the block.
   */
  private async writeLoop(): Promise<void> {
    const { name, logger: log } = this.o;
    while (this.batch.length > 0) {
      const group = this.batch;
      this.batch = [];
      try {
        const frames = await this.o.store.write(group, () => this.written(group));
        if (this.writeBlocked) {
          log.info(`Spool ${name}: writing again after ${((Date.now() - this.writeBlocked.sinceMs) / 1000).toFixed(1)} s (${this.writeBlocked.message})`);
          this.writeBlocked = null;
        }
        this.appendedFrames += frames.length;
        for (const p of group) p.resolve();
        this.stored(frames, group);
      } catch (err) {
        const message = (err as Error).message;
        if (!this.writeBlocked) {
          this.writeBlocked = { code: OUTPUT_ERROR.spoolAppend, message, sinceMs: Date.now() };
          log.error(
            `Spool ${name} cannot write (${message}): batches are refused (the input keeps them and re-sends them later) ` +
              'until a write succeeds; what is spooled keeps being sent and frees its space',
          );
        } else {
          this.writeBlocked.message = message;
        }
        for (const p of group) {
          this.reservedBytes -= p.payload.length;
          p.reject(err);
        }
        this.hold(0);
      }
    }
    this.writing = null;
  }

  /** The group is in the store's file (not yet fsynced): tell the appenders that asked. */
  private written(group: readonly PendingAppend[]): void {
    for (const p of group) {
      try {
        p.onWritten?.();
      } catch (err) {
        // The caller's bookkeeping must not turn a good write into a failed one.
        this.o.logger.error(`Spool ${this.o.name}: onWritten failed: ${(err as Error).message}`);
      }
    }
  }

  stats(): Pick<SpoolStats, 'pendingBytes' | 'blockedAppends' | 'writeBlocked' | 'appendedFrames'> {
    const writeBlocked = this.writeBlocked ? { ...this.writeBlocked } : null;
    return { pendingBytes: this.reservedBytes, blockedAppends: this.spaceWaiters.length, writeBlocked, appendedFrames: this.appendedFrames };
  }

  /** Fails the appends waiting for space and waits for the writes under way. */
  async close(): Promise<void> {
    for (const w of this.spaceWaiters.splice(0)) w.fail(new Error(`spool ${this.o.name} closed while waiting for space`));
    while (this.writing) await this.writing;
  }
}
