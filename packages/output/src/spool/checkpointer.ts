/**
 * When a spool's checkpoint is written: at most every `checkpointIntervalMs` once the settled
 * position moved, and at close. It need not be frequent: the resume record survives a crash at once,
 * the checkpoint only moves the settled position (segment deletion, the fallback after a reboot).
 * A failed write (a full disk) is logged once as OutputError(410) and retried every second.
 */
import { OUTPUT_ERROR } from '../errors.js';
import type { SpoolCoreOptions, StoredFrame } from './types.js';

export class Checkpointer {
  private settled: StoredFrame | null = null;
  private dirty = false;
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();
  /** The checkpoint write is failing (logged once per episode). */
  private failing = false;
  private closed = false;

  constructor(private readonly o: SpoolCoreOptions) {}

  /** The settled prefix now ends with `settled`. */
  moved(settled: StoredFrame): void {
    this.settled = settled;
    this.dirty = true;
    this.schedule(this.o.checkpointIntervalMs ?? 200);
  }

  private schedule(delayMs: number): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, delayMs);
    this.timer.unref();
  }

  /** Writes the checkpoint now if it moved. */
  flush(): Promise<void> {
    this.chain = this.chain.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      try {
        await this.o.store.checkpoint(this.settled);
        if (this.failing) this.o.logger.info(`Spool ${this.o.name}: the checkpoint is written again`);
        this.failing = false;
      } catch (err) {
        // Sent segments are deleted before the checkpoint is written, so a full disk frees space first.
        if (!this.failing) {
          this.o.logger.error(`OutputError(${OUTPUT_ERROR.checkpointWrite}): Spool ${this.o.name}: cannot write the checkpoint: ${(err as Error).message}; retrying`);
        }
        this.failing = true;
        this.dirty = true;
        this.schedule(1_000);
      }
    });
    return this.chain;
  }

  /** No more timers; writes a moved checkpoint one last time. */
  close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer ?? undefined);
    return this.flush();
  }
}
